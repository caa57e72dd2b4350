//! The operations calmctl's commands run, one function each over [`Connections`] and a request:
//! the commands parse arguments, call one of these and render what comes back.
//!
//! - [`plan`]: read live state in bulk and compute the plan.
//! - [`apply()`]: check a saved plan, plan, have it approved, apply under lease, handle Ctrl-C;
//!   `rotate` is an apply whose request names keys to rotate ([`rotation_keys`]).
//! - [`discover`](crate::discover::discover): read what a global account holds.
//! - [`select`]: the tenants `--tenant` and `--select` choose, the same for every command;
//!   [`offboard_targets`] and [`check_offboard`] for `calmctl offboard`, which is an apply whose
//!   request names tenants whose objects are all deleted.

mod apply;
mod targets;

pub use apply::{ApplyOutcome, ApplyRequest, Saved, apply, changed_since};
pub use targets::{check_offboard, offboard_targets, rotation_keys, select};

use calm_core::{Desired, Live, Plan, PlanOptions};

use crate::{Connections, EngineError, read_live};

/// Reads live state for the targeted tenants and computes the plan.
pub async fn plan(
    desired: &Desired,
    conns: &Connections,
    options: &PlanOptions,
) -> Result<(Live, Plan), EngineError> {
    let live = read_live(desired, conns, options.targets.as_ref()).await?;
    check_offboard(desired, &live, &options.offboard)?;
    let plan = calm_core::plan(desired, &live, options);
    Ok((live, plan))
}
