//! Service instances, keys, bindings and the async operations that change them.
//!
//! A CF service instance and a Service Manager instance are separate records (they live in different
//! APIs with different ids), but both carry the same OAuth client material, so keys of either kind
//! render the same credentials and can log in at `/oauth/token`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{LastOperation, Metadata};

/// The OAuth client a service instance's broker created (xsuaa: one client per instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceClient {
    /// `clientid` shared by every key of the instance.
    pub client_id: String,
    /// `xsappname` with the broker's suffix.
    pub xsappname: String,
    /// The instance-level secret, used by keys whose credential type is `instance-secret`.
    pub instance_secret: String,
}

/// A managed (or user-provided) CF service instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInstance {
    /// GUID.
    pub guid: String,
    /// Name (unique per space, case-sensitive).
    pub name: String,
    /// Space GUID.
    pub space: String,
    /// Plan GUID (`None` for user-provided instances).
    #[serde(default)]
    pub plan: Option<String>,
    /// `managed` or `user-provided`.
    #[serde(default = "default_managed")]
    pub instance_type: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Parameters as last accepted by the broker.
    #[serde(default)]
    pub parameters: Value,
    /// Labels and annotations.
    #[serde(default)]
    pub metadata: Metadata,
    /// `last_operation`.
    pub last_operation: LastOperation,
    /// The broker's OAuth client.
    pub client: InstanceClient,
    /// `dashboard_url` given by the broker.
    #[serde(default)]
    pub dashboard_url: Option<String>,
    /// `maintenance_info` given by the broker (`{}` when it has none).
    #[serde(default)]
    pub maintenance_info: Value,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

fn default_managed() -> String {
    "managed".to_owned()
}

/// A CF service credential binding of type `key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceKey {
    /// GUID.
    pub guid: String,
    /// Name (unique per instance).
    pub name: String,
    /// Instance GUID.
    pub instance: String,
    /// Parameters given at creation.
    #[serde(default)]
    pub parameters: Value,
    /// Labels and annotations.
    #[serde(default)]
    pub metadata: Metadata,
    /// `last_operation` (`create` or `delete`).
    pub last_operation: LastOperation,
    /// The secret of this key (for `binding-secret`; equals the instance secret otherwise).
    pub client_secret: String,
    /// `binding-secret` or `instance-secret`.
    pub credential_type: String,
    /// The `uaa.identityzone` its credentials carry when it is not the subaccount's (credentials
    /// issued for another tenant: a world for Landscape Management's identity-zone rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_zone: Option<String>,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

/// What a CF job does when it finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobEffect {
    /// `service_instance.create`.
    InstanceCreate {
        /// Instance GUID.
        instance: String,
    },
    /// `service_instance.update`: the new parameters/plan take effect on success.
    InstanceUpdate {
        /// Instance GUID.
        instance: String,
        /// New parameters, if given.
        parameters: Option<Value>,
        /// New plan, if given.
        plan: Option<String>,
    },
    /// `service_instance.delete`.
    InstanceDelete {
        /// Instance GUID.
        instance: String,
    },
    /// `service_keys.create`.
    KeyCreate {
        /// Key GUID.
        key: String,
    },
    /// `service_keys.delete`.
    KeyDelete {
        /// Key GUID.
        key: String,
    },
    /// `space.delete` (recursive).
    SpaceDelete {
        /// Space GUID.
        space: String,
    },
    /// `role.delete` (observed, cassette `resource_space_role.yaml`).
    RoleDelete {
        /// Role GUID.
        role: String,
    },
}

impl JobEffect {
    /// The job's `operation` name (btp-api.md §2.9, observed names).
    pub fn operation(&self) -> &'static str {
        match self {
            JobEffect::InstanceCreate { .. } => "service_instance.create",
            JobEffect::InstanceUpdate { .. } => "service_instance.update",
            JobEffect::InstanceDelete { .. } => "service_instance.delete",
            JobEffect::KeyCreate { .. } => "service_keys.create",
            JobEffect::KeyDelete { .. } => "service_keys.delete",
            JobEffect::SpaceDelete { .. } => "space.delete",
            JobEffect::RoleDelete { .. } => "role.delete",
        }
    }
}

/// A CF v3 job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// GUID.
    pub guid: String,
    /// What happens at the end.
    pub effect: JobEffect,
    /// Start (epoch ms).
    pub created_ms: u64,
    /// From this time the job reports `POLLING` (the broker was called).
    pub polling_ms: u64,
    /// From this time the job is finished.
    pub due_ms: u64,
    /// When set, the job ends `FAILED` with this broker message.
    #[serde(default)]
    pub failure: Option<String>,
    /// `None` while running; `COMPLETE` or `FAILED` once finished.
    #[serde(default)]
    pub finished: Option<String>,
    /// Job errors (`{"detail","title","code"}`), filled when it fails.
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// Service Manager labels: `{"key": ["v1", ...]}` (btp-api.md §4.3).
pub type SmLabels = BTreeMap<String, Vec<String>>;

/// A Service Manager service instance (no CF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmInstance {
    /// Id.
    pub id: String,
    /// Name (unique per subaccount).
    pub name: String,
    /// Subaccount GUID.
    pub subaccount: String,
    /// SM plan id.
    pub plan: String,
    /// Parameters.
    #[serde(default)]
    pub parameters: Value,
    /// Labels.
    #[serde(default)]
    pub labels: SmLabels,
    /// `ready`.
    #[serde(default)]
    pub ready: bool,
    /// `usable`.
    #[serde(default)]
    pub usable: bool,
    /// Id of the last operation.
    #[serde(default)]
    pub last_operation: Option<String>,
    /// The broker's OAuth client.
    pub client: InstanceClient,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

/// A Service Manager binding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmBinding {
    /// Id.
    pub id: String,
    /// Name (unique per instance).
    pub name: String,
    /// Instance id.
    pub instance: String,
    /// Subaccount GUID.
    pub subaccount: String,
    /// Parameters.
    #[serde(default)]
    pub parameters: Value,
    /// Labels.
    #[serde(default)]
    pub labels: SmLabels,
    /// `ready`.
    #[serde(default)]
    pub ready: bool,
    /// Id of the last operation.
    #[serde(default)]
    pub last_operation: Option<String>,
    /// Secret of this binding.
    pub client_secret: String,
    /// `binding-secret` or `instance-secret`.
    pub credential_type: String,
    /// The `uaa.identityzone` its credentials carry when it is not the subaccount's (credentials
    /// issued for another tenant: a world for Landscape Management's identity-zone rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_zone: Option<String>,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}

/// A Service Manager operation (btp-api.md §4.3 "Operation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmOperation {
    /// Id.
    pub id: String,
    /// `create`, `update` or `delete` (lowercase, as observed).
    #[serde(rename = "type")]
    pub kind: String,
    /// `in progress`, `succeeded` or `failed`.
    pub state: String,
    /// `service_instances` or `service_bindings`.
    pub resource_kind: String,
    /// Id of the instance or binding.
    pub resource_id: String,
    /// Subaccount GUID.
    pub subaccount: String,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: String,
    /// Description (the broker's message when it failed).
    #[serde(default)]
    pub description: String,
    /// For updates: the parameters that take effect on success.
    #[serde(default)]
    pub new_parameters: Option<Value>,
    /// When set, the operation fails with this message.
    #[serde(default)]
    pub failure: Option<String>,
    /// Start (epoch ms).
    pub created_ms: u64,
    /// End (epoch ms).
    pub due_ms: u64,
    /// Last change (epoch ms).
    #[serde(default)]
    pub updated_ms: u64,
}
