//! calm-engine: calmctl's operations over the BTP clients.
//!
//! ```text
//! ops/        what the commands call: plan, apply (saved-plan checks, approval, Ctrl-C, lease),
//!   │         rotate (apply with keys to rotate), offboard (apply deleting named tenants'
//!   │         objects), targeting; discover/ for discover
//!   ├─ read/      bulk list calls per account and region ─▶ Live
//!   ├─ calm_core::plan(desired, live, options) ─▶ Plan
//!   └─ apply/     entitlements per account, tenants concurrently under a lease, delivery
//!   (access.rs: before the first write, may each account's cis token make it?)
//! connect.rs  one client per identity, secrets resolved at the edge (secrets.rs)
//! ```
//!
//! Every operation takes [`Connections`] and a request and returns data or an [`EngineError`];
//! nothing here prints. calmctl renders what comes back.

mod access;
pub mod apply;
mod connect;
pub mod discover;
mod error;
pub mod ops;
mod read;
mod secrets;
mod sm_labels;

pub use access::check_write_access;
pub use apply::{ApplyEvent, ApplyOptions, ApplyReport, Reporter, TenantStatus, apply};
pub use connect::{AccountConnection, Connections};
pub use error::EngineError;
pub use ops::plan;
pub use read::read_live;
pub use secrets::{EnvLookup, resolve};
