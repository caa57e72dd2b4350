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
//! `ops` holds the operations calmctl's commands call (plan, apply, rotate, discover, targeting):
//! each command parses, calls one operation and renders what it returns; nothing here prints.

pub mod apply;
mod connect;
pub mod discover;
mod error;
pub mod ops;
mod read;
mod secrets;

pub use apply::{ApplyEvent, ApplyOptions, ApplyReport, Reporter, TenantStatus, apply};
pub use connect::{AccountConnection, Connections};
pub use error::EngineError;
pub use ops::plan;
pub use read::read_live;
pub use secrets::{EnvLookup, resolve};
