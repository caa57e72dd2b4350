//! calm-core: the pure model of calmctl.
//!
//! Data flows through calmctl like this:
//!
//! ```text
//! calm.yaml ──calm-config──▶ Desired ─┐
//!                                     ├─▶ plan(desired, live) ─▶ Plan ─▶ apply (calm-engine)
//! BTP APIs ──calm-btp──▶ Live* ───────┘
//! ```
//!
//! This crate holds the nouns of that flow and nothing that does IO: no files, no network, no
//! terminal. That keeps the diff a plain function that tests can call with plain values.

pub mod delivered;
pub mod desired;
pub mod hash;
pub mod live;
pub mod plan;
pub mod retrieved;

pub use desired::{
    Account, CfLogin, DEFAULT_EXEC_TIMEOUT_SECS, DEFAULT_RETIRE_AFTER_SECS, Delivery, Desired,
    Entitlement, ExecDelivery, Instance, Key, Retrieve, Runtime, SecretRef, SpaceRole,
    SpaceRoleType, Tenant,
};

pub use live::{
    CfLocation, CfUser, LastOperation, Live, LiveEntitlement, LiveInstance, LiveKey, LiveRole,
    LiveSpace, LiveTenant, Ownership,
};
pub use plan::{Action, Change, Plan, PlanOptions, PlanSource, Resource, SavedPlan, plan};

/// `<SID>_<client>_<system number>`, e.g. `ABC_100_00`: the names SAP Cloud ALM gives the
/// credentials it creates by itself. calmctl never touches them and never uses such a name.
pub fn looks_generated(name: &str) -> bool {
    let parts: Vec<&str> = name.split('_').collect();
    let [sid, client, number] = parts.as_slice() else {
        return false;
    };
    sid.len() == 3
        && sid.as_bytes()[0].is_ascii_alphabetic()
        && sid.bytes().all(|c| c.is_ascii_alphanumeric())
        && client.len() == 3
        && client.bytes().all(|c| c.is_ascii_digit())
        && number.len() == 2
        && number.bytes().all(|c| c.is_ascii_digit())
}

/// The Cloud ALM API service offering's technical name.
pub const SERVICE_OFFERING: &str = "SAPCloudALMAPIs";
/// The plan used unless a config says otherwise.
pub const DEFAULT_PLAN: &str = "standard";

/// A byte range in a source file: where a user wrote a name.
///
/// `Span::default()` (offset 0, length 0) stands for "no source", for values made in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}
