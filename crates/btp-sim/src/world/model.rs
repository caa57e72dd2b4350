//! The nouns of the simulated world, as plain serde data.
//!
//! Every type here is part of the world file format (`btp-sim --world FILE`, `Sim::export_world`),
//! so fields carry `#[serde(default)]` wherever a hand-written file may leave them out. Times are
//! epoch milliseconds: that survives export and import unchanged and renders into every API's own
//! date format (RFC 3339 for CF and SM, epoch ms for Accounts and Entitlements, btp-api.md §3.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// CF metadata: labels and annotations (btp-api.md §2.3 "Metadata").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Labels, usable in `label_selector`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations, never used for selection.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A UAA user: one who may use the password grant (and the jwt-bearer grant via an assertion),
/// or, without a password, a person of an identity provider who only receives roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Password for the password grant; empty: the user cannot log in with one.
    #[serde(default)]
    pub password: String,
    /// Identity provider origin; a `login_hint` naming another origin is refused.
    #[serde(default = "default_origin")]
    pub origin: String,
    /// The user's GUID (UAA `user_id`, CF user GUID, what roles name); when a file leaves it
    /// out, the one [`User::derived_id`] gives.
    #[serde(default)]
    pub guid: String,
    /// Labels and annotations of the CF user.
    #[serde(default)]
    pub metadata: Metadata,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
}

fn default_origin() -> String {
    "uaa".to_owned()
}

impl User {
    /// The user's UAA id (the `user_id` and `sub` of their tokens, and its Cloud Foundry user
    /// GUID): the stored `guid`, else [`User::derived_id`].
    pub fn user_id(&self) -> String {
        if self.guid.is_empty() {
            self.derived_id()
        } else {
            self.guid.clone()
        }
    }

    /// A GUID derived from the origin and name, so that it is the same in every world and after
    /// an export and import.
    pub fn derived_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut b: [u8; 32] = Sha256::digest(format!("{}\0{}", self.origin, self.username)).into();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(&b[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// A global account, with its Cloud Management (`cis`, plan `central`) client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalAccount {
    /// GUID.
    pub guid: String,
    /// Subdomain (used in the `cis` key's `uaa.url` on real BTP).
    pub subdomain: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Region of the `cis` instance.
    #[serde(default = "default_region")]
    pub region: String,
    /// Entitlement quotas the global account can distribute to its subaccounts.
    #[serde(default)]
    pub quotas: Vec<Quota>,
    /// Client id of the `cis` key of plan `central` and grant type `user_token` that every
    /// global account has (the key `Sim::cis_key` returns).
    pub cis_client_id: String,
    /// Client secret of that key.
    pub cis_client_secret: String,
    /// Further `cis` keys, of either plan and grant type (see `world/cis.rs`).
    #[serde(default)]
    pub cis_keys: Vec<super::CisKey>,
    /// Users holding only the *Global Account Viewer* role collection here; every other user of
    /// the world is a *Global Account Administrator*. Their tokens through a `central` key carry
    /// only the read scopes.
    #[serde(default)]
    pub viewers: Vec<String>,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
}

pub(crate) fn default_region() -> String {
    "eu10".to_owned()
}

/// How much of one service plan a global account holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    /// Technical service name, e.g. `SAPCloudALMAPIs`.
    pub service: String,
    /// Plan name, e.g. `standard`.
    pub plan: String,
    /// Total amount; `None` means unlimited.
    #[serde(default)]
    pub amount: Option<u32>,
}

/// A subaccount (Accounts service `SubaccountResponseObject`, btp-api.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subaccount {
    /// GUID.
    pub guid: String,
    /// GUID of the global account.
    pub global_account: String,
    /// Subdomain (immutable, unique).
    pub subdomain: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Region, e.g. `eu10`.
    #[serde(default = "default_region")]
    pub region: String,
    /// Directory GUID, when the subaccount sits in a directory.
    #[serde(default)]
    pub directory: Option<String>,
    /// Accounts labels: `{"key": ["v1", ...]}`.
    #[serde(default)]
    pub labels: BTreeMap<String, Vec<String>>,
    /// `usedForProduction` value.
    #[serde(default = "default_production")]
    pub used_for_production: String,
    /// `state` value (`OK` for a usable subaccount).
    #[serde(default = "default_state_ok")]
    pub state: String,
    /// Entitlement assignments of this subaccount.
    #[serde(default)]
    pub entitlements: Vec<Assignment>,
    /// The Service Manager binding made via `serviceManagementBinding`, if any.
    #[serde(default)]
    pub service_manager_binding: Option<ClientCredentials>,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub modified_ms: u64,
}

fn default_production() -> String {
    "UNSET".to_owned()
}

fn default_state_ok() -> String {
    "OK".to_owned()
}

/// A client id and secret of an XSUAA OAuth client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCredentials {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

/// One entitlement assignment of a service plan to a subaccount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// Technical service name.
    pub service: String,
    /// Plan name.
    pub plan: String,
    /// Assigned amount (an `enable: true` assignment counts as 1).
    pub amount: u32,
    /// `STARTED`, `PROCESSING`, `PROCESSING_FAILED` or `OK` (btp-api.md §3.3 `entityState`).
    #[serde(default = "default_state_ok")]
    pub state: String,
    /// `stateMessage`.
    #[serde(default)]
    pub state_message: String,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub modified_ms: u64,
}

/// An async entitlement change, polled at `/jobs-management/v1/jobs/{id}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementJob {
    /// Numeric job id as a string (observed `{"jobId":"53873672"}`).
    pub id: String,
    /// The changes the job applies: subaccount GUID, service, plan, new amount.
    pub changes: Vec<EntitlementChange>,
    /// When the job finishes (epoch ms).
    pub due_ms: u64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Why the job failed, if it is going to (the first failing change's reason).
    #[serde(default)]
    pub failure: Option<String>,
}

/// One subaccount/plan change inside an entitlement job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementChange {
    /// Subaccount GUID.
    pub subaccount: String,
    /// Service name.
    pub service: String,
    /// Plan name.
    pub plan: String,
    /// New amount; 0 removes the assignment.
    pub amount: u32,
    /// Why this subaccount's part fails, if it is going to. Each subaccount of a batch succeeds
    /// or fails on its own; the job fails when any part does (the assignment's `entityState`
    /// says which, btp-api.md §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// A Cloud Foundry organization, tied to the subaccount whose CF environment it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    /// GUID.
    pub guid: String,
    /// Name (unique, case-insensitive).
    pub name: String,
    /// GUID of the subaccount whose entitlements make plans visible here. An org with a
    /// subaccount is that subaccount's Cloud Foundry environment instance (`landscapes.rs`).
    #[serde(default)]
    pub subaccount: Option<String>,
    /// The Cloud Foundry landscape serving the org, e.g. `eu10-004` or `cn20`; empty: the
    /// subaccount's region (or `eu10` without a subaccount).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub landscape: String,
    /// `suspended` flag.
    #[serde(default)]
    pub suspended: bool,
    /// Quota GUID shown in `relationships.quota`.
    #[serde(default)]
    pub quota_guid: String,
    /// Labels and annotations.
    #[serde(default)]
    pub metadata: Metadata,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

/// A Cloud Foundry space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// GUID.
    pub guid: String,
    /// Name (unique per org, case-insensitive).
    pub name: String,
    /// Org GUID.
    pub org: String,
    /// Labels and annotations.
    #[serde(default)]
    pub metadata: Metadata,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

/// A Cloud Foundry role type (`type` of `/v3/roles`, btp-api.md §2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleType {
    /// `organization_user`: member of the org; needed before any space role there.
    OrganizationUser,
    /// `organization_auditor`.
    OrganizationAuditor,
    /// `organization_manager`: creates spaces, assigns roles, reads every space of the org.
    OrganizationManager,
    /// `organization_billing_manager`.
    OrganizationBillingManager,
    /// `space_auditor`.
    SpaceAuditor,
    /// `space_developer`: creates, changes and deletes service instances and keys, reads keys'
    /// credentials.
    SpaceDeveloper,
    /// `space_manager`: assigns space roles.
    SpaceManager,
    /// `space_supporter`.
    SpaceSupporter,
}

/// A role of a user in an org (org role types) or in a space (space role types).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// GUID.
    pub guid: String,
    /// The role type.
    #[serde(rename = "type")]
    pub kind: RoleType,
    /// The user's GUID.
    pub user: String,
    /// The org GUID, for an org role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The space GUID, for a space role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
}

/// How the credentials of an offering's keys look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialsStyle {
    /// `{"endpoints":{"Api"},"uaa":{...}}`: a Cloud ALM API key (btp-api.md §5.4).
    #[default]
    CloudAlm,
    /// The xsuaa fields at top level, as recorded for `xsuaa` keys
    /// (cassette `resource_service_credential_binding_managed_service_key.yaml`).
    Xsuaa,
}

/// A service offering, shared by the CF and Service Manager catalogs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offering {
    /// CF GUID.
    pub guid: String,
    /// Service Manager id (`broker_catalog.metadata.sm_offering_id` on CF).
    pub sm_id: String,
    /// Technical name, e.g. `SAPCloudALMAPIs`.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Broker catalog id.
    #[serde(default)]
    pub catalog_id: String,
    /// Broker catalog metadata (free-form, as the broker sends it).
    #[serde(default)]
    pub catalog_metadata: Value,
    /// Whether `/parameters` works for instances (false: 400 120004).
    #[serde(default)]
    pub instances_retrievable: bool,
    /// Whether `/parameters` works for bindings (false: 400 90007).
    #[serde(default)]
    pub bindings_retrievable: bool,
    /// Shape of the credentials of keys and bindings.
    #[serde(default)]
    pub credentials_style: CredentialsStyle,
    /// `documentation_url`.
    #[serde(default)]
    pub documentation_url: Option<String>,
    /// GUID of the service broker that offers it.
    #[serde(default)]
    pub broker_guid: String,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
}

/// A service plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// CF GUID.
    pub guid: String,
    /// Service Manager id (`broker_catalog.metadata.sm_plan_id` on CF).
    pub sm_id: String,
    /// Plan name, e.g. `standard`.
    pub name: String,
    /// CF GUID of the offering.
    pub offering: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Free plan?
    #[serde(default = "default_true")]
    pub free: bool,
    /// Visible without an entitlement (`visibility_type: public`). BTP plans are `organization`
    /// plans that become visible once the subaccount holds the entitlement (btp-api.md §2.6).
    #[serde(default)]
    pub public: bool,
    /// Broker catalog id.
    #[serde(default)]
    pub catalog_id: String,
    /// Broker catalog metadata.
    #[serde(default)]
    pub catalog_metadata: Value,
    /// JSON schemas of the parameters (`schemas` on CF); empty schemas when null.
    #[serde(default)]
    pub schemas: Value,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
}

impl Plan {
    /// The plan's parameter schemas, or empty ones (CF and SM render the same structure).
    pub fn schemas_or_default(&self) -> Value {
        if self.schemas.is_null() {
            serde_json::json!({
                "service_instance": {"create": {"parameters": {}}, "update": {"parameters": {}}},
                "service_binding": {"create": {"parameters": {}}},
            })
        } else {
            self.schemas.clone()
        }
    }
}

fn default_true() -> bool {
    true
}

/// `last_operation` of an instance or key (btp-api.md §2.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastOperation {
    /// `create`, `update` or `delete`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `initial`, `in progress`, `succeeded` or `failed`.
    pub state: String,
    /// Broker's description; `None` renders as `null` (recorded for keys and some instances).
    #[serde(default)]
    pub description: Option<String>,
    /// Start (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

impl LastOperation {
    /// A finished operation.
    pub fn succeeded(kind: &str, now: u64) -> Self {
        Self::new(kind, "succeeded", now)
    }

    /// An operation in a given state.
    pub fn new(kind: &str, state: &str, now: u64) -> Self {
        LastOperation {
            kind: kind.to_owned(),
            state: state.to_owned(),
            description: Some(String::new()),
            created_ms: now,
            updated_ms: now,
        }
    }

    /// True while a broker operation runs; CF refuses other operations meanwhile.
    pub fn in_progress(&self) -> bool {
        self.state == "in progress" || self.state == "initial"
    }
}
