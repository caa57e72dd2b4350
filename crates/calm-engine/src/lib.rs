//! calm-engine: calmctl's operations over the BTP clients.
//!
//! ```text
//! Desired ──┐
//!           ├─ read_live (read/: bulk list calls per account and region) ─▶ Live
//! Connections (connect.rs: one client per identity, secrets resolved at the edge)
//!           ├─ plan = calm_core::plan(desired, live, options)
//!           └─ apply (apply/: entitlements per account, tenants concurrently, delivery)
//! ```
//!
//! `discover` (discover/) reads what exists in a global account and drafts a calm.yaml from it.
//!
//! Commands in `calmctl` call these functions and render what they return; nothing here prints.

pub mod apply;
mod connect;
pub mod discover;
mod error;
mod read;
mod secrets;
mod sm_labels;

use calm_core::{Desired, Plan, PlanOptions};

pub use apply::{ApplyEvent, ApplyOptions, ApplyReport, Reporter, TenantStatus, apply};
pub use connect::{AccountConnection, Connections};
pub use error::EngineError;
pub use read::read_live;
pub use secrets::{EnvLookup, resolve};

/// Reads live state for the targeted tenants and computes the plan.
pub async fn plan(
    desired: &Desired,
    conns: &Connections,
    options: &PlanOptions,
) -> Result<(calm_core::Live, Plan), EngineError> {
    let live = read_live(desired, conns, options.targets.as_ref()).await?;
    let plan = calm_core::plan(desired, &live, options);
    Ok((live, plan))
}
