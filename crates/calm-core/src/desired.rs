//! The desired state: what `calm.yaml` asks for, with every default already applied.
//!
//! `calm-config` builds these values; nothing here reads files or talks to the network. Every name a
//! user wrote keeps the [`Span`] it came from, so that later stages (plan, apply) can point back at
//! the line that asked for an object.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::Span;

/// Everything one `calm.yaml` asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Desired {
    /// Connections to global accounts, by name.
    pub accounts: Vec<Account>,
    /// Tenants in the order the file lists them.
    pub tenants: Vec<Tenant>,
    /// Where credentials of new or rotated keys are delivered.
    pub delivery: Delivery,
    /// Parameter paths whose values are masked in plan output (for example `xs-security.authorities`).
    pub redact: Vec<String>,
}

/// A global account and how to reach it. Holds references to secrets, never secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// The name other entries use to refer to this account.
    pub name: String,
    /// Where the name was written.
    #[serde(skip)]
    pub span: Span,
    /// Subdomain of the global account.
    pub subdomain: String,
    /// Region of the global account's Cloud Management (`cis`) instance, e.g. `eu10`.
    pub region: String,
    /// The Cloud Management service key (plan `central`), as a JSON document.
    pub cis_key: Option<SecretRef>,
    /// User for the `cis` password grant and, unless `cloudfoundry` says otherwise, for Cloud Foundry.
    pub username: Option<SecretRef>,
    /// Password for `username`.
    pub password: Option<SecretRef>,
    /// How to log in to the Cloud Foundry API of this account's orgs.
    pub cloudfoundry: Option<CfLogin>,
}

/// A Cloud Foundry (UAA) login.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CfLogin {
    /// User name for the password grant.
    pub username: Option<SecretRef>,
    /// Password for the password grant.
    pub password: Option<SecretRef>,
    /// An OIDC token for the jwt-bearer grant, used instead of a password (CI systems).
    pub assertion: Option<SecretRef>,
    /// Origin key of a custom identity provider, sent as `login_hint`.
    pub origin: Option<String>,
}

/// Where a secret can be found. calm.yaml never holds a secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRef {
    /// The value of an environment variable.
    Env(String),
    /// The content of a file (`~` is expanded by the caller that reads it).
    File(PathBuf),
}

/// Which BTP path connects a tenant to Cloud ALM.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// A Cloud Foundry space, a service instance and a service key.
    Cloudfoundry,
    /// A Service Manager instance and binding, without Cloud Foundry (what SAP now recommends).
    ServiceManager,
}

impl Runtime {
    /// The name used in calm.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Cloudfoundry => "cloudfoundry",
            Runtime::ServiceManager => "service-manager",
        }
    }
}

/// One subaccount to connect to Cloud ALM, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    /// Unique name, used in plans and output paths.
    pub name: String,
    /// Where the name was written.
    #[serde(skip)]
    pub span: Span,
    /// The subaccount, as written: a subdomain or a GUID.
    pub subaccount: String,
    /// Name of the account (global account connection) this tenant belongs to.
    pub account: String,
    /// Region of the subaccount, e.g. `eu10`.
    pub region: String,
    /// Which path connects it.
    pub runtime: Runtime,
    /// Cloud Foundry org name as calm.yaml states it (cloudfoundry runtime only); when `None`, the
    /// subaccount's Cloud Foundry environment instance names it.
    pub org: Option<String>,
    /// Where `org` was written.
    #[serde(skip)]
    pub org_span: Option<Span>,
    /// The Cloud Foundry API endpoint of the org's landscape as calm.yaml states it; when `None`,
    /// the environment instance names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cf_api: Option<String>,
    /// Where `cf_api` was written.
    #[serde(skip)]
    pub cf_api_span: Option<Span>,
    /// The Cloud ALM entitlement the subaccount must hold.
    pub entitlement: Entitlement,
    /// Never delete this tenant's objects; written on the live objects too.
    pub protect: bool,
    /// Free-form labels, used by `--select`.
    pub labels: BTreeMap<String, String>,
    /// Service instances (each with its keys or bindings).
    pub instances: Vec<Instance>,
    /// Cloud Foundry roles of other users in every space of the tenant (cloudfoundry runtime;
    /// the user calmctl acts as is always made a Space Developer there).
    pub space_roles: Vec<SpaceRole>,
    /// Existing credentials to deliver without managing them (`retrieve:`): SAP's generated
    /// ones, or keys and bindings named in calm.yaml. calmctl only reads these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retrieve: Vec<Retrieve>,
}

/// Existing credentials a tenant retrieves: read, checked, delivered and verified; never
/// created, relabelled, rotated or deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retrieve {
    /// The credentials SAP Cloud ALM generated: keys or bindings of `SAPCloudALMAPIs`
    /// instances named `<SID>_<client>_<system number>` (`ABC_100_00`, [`crate::looks_generated`]).
    Generated,
    /// A key or binding by name, on any Cloud ALM instance or on the one named.
    Named {
        /// The instance, when calm.yaml names one (`instance/key`).
        instance: Option<String>,
        /// The key or binding.
        key: String,
    },
}

impl std::fmt::Display for Retrieve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retrieve::Generated => f.write_str("generated"),
            Retrieve::Named {
                instance: Some(i),
                key,
            } => write!(f, "{i}/{key}"),
            Retrieve::Named {
                instance: None,
                key,
            } => f.write_str(key),
        }
    }
}

impl Tenant {
    /// A tenant that only retrieves existing credentials: calmctl manages nothing in its
    /// subaccount (no entitlement, space, role, instance or key of its own).
    pub fn retrieve_only(&self) -> bool {
        self.instances.is_empty() && !self.retrieve.is_empty()
    }

    /// The distinct spaces this tenant's instances live in, in first-seen order.
    pub fn spaces(&self) -> Vec<&str> {
        let mut spaces: Vec<&str> = Vec::new();
        for space in self.instances.iter().filter_map(|i| i.space.as_deref()) {
            if !spaces.contains(&space) {
                spaces.push(space);
            }
        }
        spaces
    }
}

/// A Cloud Foundry space role that calm.yaml gives a user in each space of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SpaceRole {
    /// The user's name in its identity provider (usually an e-mail address).
    pub user: String,
    /// The identity provider's origin key, e.g. `sap.ids` or a custom IdP's.
    pub origin: String,
    /// The role.
    pub role: SpaceRoleType,
}

/// The four Cloud Foundry space role types (`type` of `/v3/roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpaceRoleType {
    /// `space_developer`: creates and changes service instances and keys, reads credentials.
    SpaceDeveloper,
    /// `space_manager`: assigns space roles.
    SpaceManager,
    /// `space_auditor`: reads.
    SpaceAuditor,
    /// `space_supporter`: reads, troubleshoots apps.
    SpaceSupporter,
}

impl SpaceRoleType {
    /// Every space role type.
    pub const ALL: [SpaceRoleType; 4] = [
        SpaceRoleType::SpaceDeveloper,
        SpaceRoleType::SpaceManager,
        SpaceRoleType::SpaceAuditor,
        SpaceRoleType::SpaceSupporter,
    ];

    /// The API's name, e.g. `space_developer`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceRoleType::SpaceDeveloper => "space_developer",
            SpaceRoleType::SpaceManager => "space_manager",
            SpaceRoleType::SpaceAuditor => "space_auditor",
            SpaceRoleType::SpaceSupporter => "space_supporter",
        }
    }

    /// The type of an API name.
    pub fn parse(name: &str) -> Option<SpaceRoleType> {
        SpaceRoleType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The entitlement of `SAPCloudALMAPIs` / `standard` for one subaccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entitlement {
    /// A numeric quota.
    Amount(u32),
    /// An on/off plan.
    Enable(bool),
}

/// A service instance of `SAPCloudALMAPIs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Instance name (also the `xsappname`).
    pub name: String,
    /// Where the name was written.
    #[serde(skip)]
    pub span: Span,
    /// Cloud Foundry space (cloudfoundry runtime only).
    pub space: Option<String>,
    /// Service plan, `standard` unless said otherwise.
    pub plan: String,
    /// The parameters sent to the broker, with `xs-security` filled in.
    pub parameters: serde_json::Value,
    /// Whether calm.yaml states parameters for the instance (`authorities`, `credential_types` or
    /// `parameters`, in the instance or in `defaults.instance`): only such parameters may be
    /// enforced on an instance whose own parameters calmctl cannot read.
    pub parameters_stated: bool,
    /// Keys (cloudfoundry) or bindings (service-manager) of this instance.
    pub keys: Vec<Key>,
}

impl Instance {
    /// SHA-256 of the canonical JSON of the parameters, kept on the live object for drift detection.
    pub fn parameters_hash(&self) -> String {
        crate::hash::parameters_hash(&self.parameters)
    }
}

/// A service key or binding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Key {
    /// Key or binding name.
    pub name: String,
    /// Where the name was written.
    #[serde(skip)]
    pub span: Span,
    /// Rotate the key once it is older than this many seconds.
    pub rotate_after_secs: Option<u64>,
    /// Delete a retired key this many seconds after it was retired.
    pub retire_after_secs: u64,
}

/// Where credentials go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// `<dir>/<tenant>/<key>.json` (`<dir>/<tenant>/<instance>/<key>.json` when a tenant has
    /// several instances), mode 0600 in 0700 folders.
    Dir(PathBuf),
    /// A command that receives the credentials JSON on stdin.
    Exec(ExecDelivery),
}

/// A command that receives each key's credentials JSON on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecDelivery {
    /// The program and its arguments (never empty).
    pub command: Vec<String>,
    /// Environment variables passed on to the command besides `PATH`, `HOME` and the `CALMCTL_*`
    /// variables calmctl sets: nothing else of calmctl's environment (which holds its own
    /// credentials) reaches it.
    pub env: Vec<String>,
    /// How long the command may take for one key before it is killed.
    pub timeout_secs: u64,
}

/// How long a delivery command may take for one key unless `delivery.timeout` says otherwise.
pub const DEFAULT_EXEC_TIMEOUT_SECS: u64 = 300;

/// Default grace period for a retired key: 7 days.
pub const DEFAULT_RETIRE_AFTER_SECS: u64 = 7 * 24 * 3600;
