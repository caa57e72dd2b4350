//! The operations calmctl's commands run, one function each over [`Connections`] and a request:
//! the commands parse arguments, call one of these and render what comes back.
//!
//! - [`plan`]: read live state in bulk and compute the plan.
//! - [`apply()`]: check a saved plan, plan, have it approved, apply under lease, handle Ctrl-C;
//!   `rotate` is an apply whose request names keys to rotate ([`rotation_keys`]).
//! - [`discover`](crate::discover::discover): read what a global account holds.
//! - [`select`]: the tenants `--tenant` and `--select` choose, the same for every command.

mod apply;
mod targets;

pub use apply::{ApplyOutcome, ApplyRequest, Saved, apply};
pub use targets::{rotation_keys, select};

use calm_core::{Desired, Live, Plan, PlanOptions};

use crate::{Connections, EngineError, read_live};

/// Reads live state for the targeted tenants and computes the plan.
pub async fn plan(
    desired: &Desired,
    conns: &Connections,
    options: &PlanOptions,
) -> Result<(Live, Plan), EngineError> {
    let live = read_live(desired, conns, options.targets.as_ref()).await?;
    let plan = calm_core::plan(desired, &live, options);
    Ok((live, plan))
}
