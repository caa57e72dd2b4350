//! What `discover` found in one subaccount.

use calm_btp::accounts::Subaccount;
use calm_core::{LiveEntitlement, LiveInstance, LiveKey, Runtime};

/// What exists in one subaccount.
#[derive(Debug, Clone)]
pub struct Found {
    /// The subaccount as the Accounts service lists it.
    pub subaccount: Subaccount,
    /// Its Cloud ALM entitlement.
    pub entitlement: Option<LiveEntitlement>,
    /// Its Cloud Foundry org (guid, name), as its Cloud Foundry environment instance names it.
    pub org: Option<(String, String)>,
    /// The Cloud Foundry API of its org's landscape, as its environment instance names it.
    pub cf_api: Option<String>,
    /// Where its `SAPCloudALMAPIs` instances are.
    pub runtime: Option<Runtime>,
    /// The instances, each with the name of its space (Cloud Foundry).
    pub instances: Vec<(LiveInstance, Option<String>)>,
    /// Keys or bindings of those instances (names and labels only).
    pub keys: Vec<LiveKey>,
    /// Keys named like SAP's generated ones whose credentials calmctl's user cannot read: it is
    /// not a Space Developer of their space (Cloud Foundry).
    pub unreadable_keys: Vec<String>,
    /// Its Service Manager could not be read (no access binding yet, and discover creates
    /// none): what it holds is unknown, and the first apply reads it before creating anything.
    pub service_manager_unread: bool,
}
