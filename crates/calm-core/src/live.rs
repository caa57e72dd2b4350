//! The live state: what BTP holds, as calm-engine read it, in calmctl's own vocabulary.
//!
//! The engine maps every object it read to the desired tenant whose subaccount it lives in. Objects
//! that carry calmctl's labels but belong to no tenant of the config (a tenant was removed) are
//! kept in [`Live::orphans`], so that the plan can offer to delete them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Label and annotation keys calmctl writes on the objects it creates. The live platform is the
/// only record of ownership: there is no state file.
pub mod labels {
    /// Prefix of every key.
    pub const PREFIX: &str = "calmctl.sap/";
    /// `calmctl.sap/managed-by=calmctl` marks an object calmctl created or adopted.
    pub const MANAGED_BY: &str = "calmctl.sap/managed-by";
    /// The value of [`MANAGED_BY`].
    pub const MANAGED_BY_VALUE: &str = "calmctl";
    /// `calmctl.sap/tenant=<name>`: the tenant the object belongs to.
    pub const TENANT: &str = "calmctl.sap/tenant";
    /// `calmctl.sap/protect=true`: never delete, even after the tenant left the config.
    pub const PROTECT: &str = "calmctl.sap/protect";
    /// SHA-256 of the parameters last applied (annotation on CF, label on Service Manager).
    pub const PARAMETERS_SHA256: &str = "calmctl.sap/parameters-sha256";
    /// The parameters last applied, as canonical JSON (no secrets: they are config values).
    pub const PARAMETERS: &str = "calmctl.sap/parameters";
    /// On keys: the key name in calm.yaml (a rotated key is named `<name>-<yyyymmddhhmm>`).
    pub const KEY: &str = "calmctl.sap/key";
    /// On keys: when a rotated-away key was retired (Unix seconds).
    pub const RETIRED_AT: &str = "calmctl.sap/retired-at";
    /// On Service Manager instances: ids of the instance's bindings that calmctl adopted. A
    /// binding cannot be relabelled after its creation (no PATCH for bindings, btp-api.md §4.4),
    /// so its ownership is recorded on its instance, whose labels can change.
    pub const ADOPTED_BINDINGS: &str = "calmctl.sap/adopted-bindings";
    /// On Service Manager instances: `<binding id>@<Unix seconds>` for each retired binding, for
    /// the same reason.
    pub const RETIRED_BINDINGS: &str = "calmctl.sap/retired-bindings";
    /// On keys: the delivery record ([`crate::delivered`]): `pending`, `failed`, `unverified`
    /// or `v1-<sink>-<secret>`. A Service Manager binding's is read from its instance's
    /// [`DELIVERED_BINDINGS`].
    pub const DELIVERY: &str = "calmctl.sap/delivery";
    /// On Service Manager instances: `<binding id>@<record>` for each binding whose delivery was
    /// recorded (bindings cannot be relabelled).
    pub const DELIVERED_BINDINGS: &str = "calmctl.sap/delivered-bindings";
    /// On subaccounts: the runtimes (`cloudfoundry`, `service-manager`) in which calmctl worked
    /// there, written with its first lease. The bulk subaccount list returns it, so that the
    /// objects of a tenant removed from calm.yaml are found in any region and runtime.
    pub const ONBOARDED: &str = "calmctl.sap/onboarded";
}

/// Everything read from BTP for one plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Live {
    /// Live state per desired tenant, by tenant name.
    pub tenants: BTreeMap<String, LiveTenant>,
    /// calmctl-labelled objects whose tenant is not in the config.
    pub orphans: Vec<LiveTenant>,
}

/// What exists for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveTenant {
    /// The tenant name (from the config, or from the `tenant` label for orphans).
    pub name: String,
    /// The subaccount's GUID, when the subaccount was found.
    pub subaccount_guid: Option<String>,
    /// The Cloud ALM entitlement assigned to the subaccount.
    pub entitlement: Option<LiveEntitlement>,
    /// GUID of the Cloud Foundry org (cloudfoundry runtime).
    pub org_guid: Option<String>,
    /// Spaces in the org that the config names, or that calmctl labelled.
    pub spaces: Vec<LiveSpace>,
    /// `SAPCloudALMAPIs` instances (in those spaces, or in the subaccount's Service Manager).
    pub instances: Vec<LiveInstance>,
    /// Keys or bindings of those instances.
    pub keys: Vec<LiveKey>,
    /// Service Manager could not be read (service-manager runtime): the subaccount has no
    /// Service Manager access binding yet, and the plan may not create one. `instances` and
    /// `keys` are then unknown, not empty: apply creates the binding and reads before any
    /// create, adopting what it finds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_manager_unread: bool,
    /// Where a removed tenant's objects were found through calmctl's mark on its subaccount
    /// ([`labels::ONBOARDED`]): the account, the region and the runtime, so that apply reaches
    /// them where no tenant of the config leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<FoundAt>,
    /// The Cloud Foundry user calmctl acts as in the tenant's region (cloudfoundry runtime).
    #[serde(default)]
    pub cf_user: Option<CfUser>,
    /// The Cloud Foundry roles that user and the users `space_roles` names hold in the tenant's
    /// org and spaces.
    #[serde(default)]
    pub roles: Vec<LiveRole>,
    /// For a `dir` delivery: the credentials files that exist, as
    /// [`file_key`](crate::delivered::file_key) → [`file_secret_id`](crate::delivered::file_secret_id)
    /// of their content. Read from the local disk with the live state, so that a plan can tell
    /// a file that is missing or holds other credentials.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Where the tenant's org is (cloudfoundry runtime), as calmctl located it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf: Option<CfLocation>,
}

/// Where a Cloud Foundry tenant's org is: calm.yaml's explicit `cf_api`/`org`, else what the
/// subaccount's Cloud Foundry environment instance says (btp-api.md §3.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CfLocation {
    /// The Cloud Foundry API of the org's landscape, e.g. `https://api.cf.eu10-004.hana.ondemand.com`;
    /// `None` when nothing says where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// The org's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Why Cloud Foundry cannot be used for this tenant (no environment instance, or the org
    /// calm.yaml names is not on the landscape): every Cloud Foundry change is blocked by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The problem is calm.yaml's own `org`, not found on the landscape (reported at `org`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub org_not_found: bool,
    /// Where calm.yaml's explicit values differ from the environment instance (they win).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
}

/// Where a removed tenant's objects live (see [`LiveTenant::found_at`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundAt {
    /// The account (connection) whose subaccount holds them.
    pub account: String,
    /// The subaccount's region.
    pub region: String,
    /// `cloudfoundry` or `service-manager`.
    pub runtime: String,
}

/// A Cloud Foundry user, as its token or calm.yaml names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CfUser {
    /// The user's GUID (`user_id` of its token).
    pub guid: String,
    /// The user name.
    pub username: String,
    /// The identity provider's origin key, e.g. `sap.ids`.
    pub origin: String,
}

/// A role a user holds in the tenant's org or in one of its spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRole {
    /// The role type, e.g. `organization_manager` or `space_developer`.
    pub role: String,
    /// The user name.
    pub username: String,
    /// The user's origin.
    pub origin: String,
    /// The space's GUID for a space role; `None` for an org role.
    pub space_guid: Option<String>,
}

impl LiveTenant {
    /// The org's name: as located, else as calm.yaml names it.
    pub fn org_name<'a>(&'a self, t: &'a crate::Tenant) -> &'a str {
        self.cf
            .as_ref()
            .and_then(|c| c.org.as_deref())
            .or(t.org.as_deref())
            .unwrap_or_default()
    }

    /// Does the user hold the role (in the org when `space_guid` is `None`)?
    pub fn holds(
        &self,
        username: &str,
        origin: &str,
        role: &str,
        space_guid: Option<&str>,
    ) -> bool {
        self.roles.iter().any(|r| {
            r.username == username
                && r.origin == origin
                && r.role == role
                && r.space_guid.as_deref() == space_guid
        })
    }
}

/// An entitlement assignment (`assignmentInfo` of the Entitlements service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEntitlement {
    /// Assigned quota, for plans with a numeric quota.
    pub amount: Option<u32>,
    /// Whether the plan is enabled (plans without quota).
    pub enabled: bool,
    /// `entityState`: `OK`, `STARTED`, `PROCESSING` or `PROCESSING_FAILED`.
    pub state: String,
}

/// Labels and annotations of an object, merged: Service Manager has only labels.
pub type Metadata = BTreeMap<String, String>;

/// A Cloud Foundry space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSpace {
    /// Space GUID.
    pub guid: String,
    /// Space name.
    pub name: String,
    /// `updated_at` as the API returned it.
    pub updated_at: String,
    /// Labels (and annotations).
    pub metadata: Metadata,
}

/// The last operation on an instance or key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastOperation {
    /// `create`, `update` or `delete`.
    pub kind: String,
    /// `initial`, `in progress`, `succeeded` or `failed`.
    pub state: String,
    /// The broker's message, if any.
    pub description: String,
}

impl LastOperation {
    /// A create that failed: the record exists, and a new create of the same name replaces it.
    pub fn create_failed(&self) -> bool {
        self.kind == "create" && self.state == "failed"
    }

    /// An operation still running.
    pub fn in_progress(&self) -> bool {
        self.state == "in progress" || self.state == "initial"
    }
}

/// A service instance of `SAPCloudALMAPIs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveInstance {
    /// Instance GUID (CF) or id (Service Manager).
    pub guid: String,
    /// Instance name.
    pub name: String,
    /// The space GUID (cloudfoundry runtime).
    pub space_guid: Option<String>,
    /// Name of the plan.
    pub plan: String,
    /// `updated_at` as the API returned it.
    pub updated_at: String,
    /// The last operation.
    pub last_operation: Option<LastOperation>,
    /// Labels (and annotations).
    pub metadata: Metadata,
}

/// What calmctl knows of an instance's parameters. Cloud ALM instances do not return them (Cloud
/// Foundry answers 400 code 120004, btp-api.md §2.7), so they are known only when calmctl wrote
/// them itself and recorded their hash; unknown is never taken for empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveParameters {
    /// calmctl never wrote them (made by hand or by SAP, then perhaps adopted): whatever they
    /// are, they stay unless the user asks to enforce calm.yaml's.
    Unknown,
    /// calmctl wrote them: their SHA-256 and, when recorded, their canonical JSON.
    Written {
        /// [`labels::PARAMETERS_SHA256`].
        sha256: String,
        /// [`labels::PARAMETERS`], parsed.
        value: Option<serde_json::Value>,
    },
}

impl LiveInstance {
    /// The instance's parameters as far as calmctl knows them (from its own marks).
    pub fn parameters(&self) -> LiveParameters {
        match self.metadata.get(labels::PARAMETERS_SHA256) {
            None => LiveParameters::Unknown,
            Some(sha256) => LiveParameters::Written {
                sha256: sha256.clone(),
                value: self
                    .metadata
                    .get(labels::PARAMETERS)
                    .and_then(|p| serde_json::from_str(p).ok()),
            },
        }
    }
}

/// A service key or binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveKey {
    /// Key or binding GUID.
    pub guid: String,
    /// Its name.
    pub name: String,
    /// The instance it belongs to.
    pub instance_guid: String,
    /// `created_at` in Unix seconds, for rotation.
    pub created_at: i64,
    /// The last operation.
    pub last_operation: Option<LastOperation>,
    /// Labels (and annotations).
    pub metadata: Metadata,
}

/// Who owns an object, judged from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Created or adopted by calmctl for this tenant.
    Managed {
        /// The `tenant` label.
        tenant: String,
    },
    /// Carries no calmctl label.
    Unmanaged,
}

/// Reads ownership from metadata.
pub fn ownership(metadata: &Metadata) -> Ownership {
    match (
        metadata.get(labels::MANAGED_BY),
        metadata.get(labels::TENANT),
    ) {
        (Some(by), Some(tenant)) if by == labels::MANAGED_BY_VALUE => Ownership::Managed {
            tenant: tenant.clone(),
        },
        _ => Ownership::Unmanaged,
    }
}

/// Whether the object is protected from deletion.
pub fn is_protected(metadata: &Metadata) -> bool {
    metadata.get(labels::PROTECT).is_some_and(|v| v == "true")
}
