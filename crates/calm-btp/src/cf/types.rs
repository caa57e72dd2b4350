//! Public Cloud Foundry types: what calmctl needs of each object, nothing of the wire framing.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::Labels;
use crate::error::CfErrorEntry;
use crate::operation::LastOperation;

/// Labels and annotations of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Labels: selectable with `label_selector`.
    pub labels: Labels,
    /// Annotations: values up to 5000 characters, not selectable.
    pub annotations: Labels,
}

/// A change of labels and annotations: `Some` sets a value, `None` removes the key, keys not
/// listed are kept (CF merges, btp-api.md §2.3 metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataPatch {
    /// Label changes.
    pub labels: BTreeMap<String, Option<String>>,
    /// Annotation changes.
    pub annotations: BTreeMap<String, Option<String>>,
}

impl From<&Metadata> for MetadataPatch {
    fn from(metadata: &Metadata) -> Self {
        let set = |map: &Labels| {
            map.iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect()
        };
        MetadataPatch {
            labels: set(&metadata.labels),
            annotations: set(&metadata.annotations),
        }
    }
}

/// A CF organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// GUID.
    pub guid: String,
    /// Name.
    pub name: String,
    /// Whether the org is suspended.
    pub suspended: bool,
    /// Labels and annotations.
    pub metadata: Metadata,
}

/// A CF space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// GUID.
    pub guid: String,
    /// Name (unique per org, case-insensitively).
    pub name: String,
    /// The org it belongs to.
    pub organization_guid: String,
    /// Labels and annotations.
    pub metadata: Metadata,
    /// Creation time, RFC 3339.
    pub created_at: Option<String>,
    /// Last update, RFC 3339.
    pub updated_at: Option<String>,
}

/// A space to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSpace {
    /// Name.
    pub name: String,
    /// The org.
    pub organization_guid: String,
    /// Labels and annotations to set.
    pub metadata: Metadata,
}

/// A service offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOffering {
    /// GUID.
    pub guid: String,
    /// Technical name, e.g. `SAPCloudALMAPIs`.
    pub name: String,
    /// Whether it can be used.
    pub available: bool,
    /// The Service Manager offering id (`broker_catalog.metadata.sm_offering_id`) on BTP.
    pub sm_offering_id: Option<String>,
    /// Whether `GET /v3/service_instances/:guid/parameters` works.
    pub instances_retrievable: bool,
    /// Whether `GET /v3/service_credential_bindings/:guid/parameters` works.
    pub bindings_retrievable: bool,
}

/// A service plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    /// GUID.
    pub guid: String,
    /// Name, e.g. `standard`.
    pub name: String,
    /// The offering.
    pub service_offering_guid: String,
    /// Whether it can be used.
    pub available: bool,
    /// `public`, `admin`, `organization` or `space`.
    pub visibility_type: String,
    /// The Service Manager plan id (`broker_catalog.metadata.sm_plan_id`) on BTP.
    pub sm_plan_id: Option<String>,
}

/// Who may see a plan (`GET /v3/service_plans/:guid/visibility`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVisibility {
    /// `public`, `admin`, `organization` or `space`.
    pub visibility_type: String,
    /// For `organization` visibility: the orgs that see it.
    pub organization_guids: Vec<String>,
}

/// A service instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInstance {
    /// GUID.
    pub guid: String,
    /// Name (unique per space, case-sensitively).
    pub name: String,
    /// `managed` or `user-provided`.
    pub instance_type: String,
    /// The space.
    pub space_guid: String,
    /// The plan (managed instances).
    pub service_plan_guid: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The last operation; a failed create shows here with the broker's message.
    pub last_operation: Option<LastOperation>,
    /// Labels and annotations.
    pub metadata: Metadata,
    /// Creation time, RFC 3339.
    pub created_at: Option<String>,
    /// Last update, RFC 3339.
    pub updated_at: Option<String>,
}

/// A managed service instance to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceInstance {
    /// Name.
    pub name: String,
    /// The space.
    pub space_guid: String,
    /// The plan.
    pub service_plan_guid: String,
    /// Parameters for the broker, e.g. `{"xs-security":{…}}`.
    pub parameters: Option<Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Labels and annotations.
    pub metadata: Metadata,
}

/// Changes to a service instance. Parameters or plan make the update asynchronous.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceInstanceUpdate {
    /// New parameters.
    pub parameters: Option<Value>,
    /// New plan.
    pub service_plan_guid: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// Label and annotation changes.
    pub metadata: Option<MetadataPatch>,
}

/// A service credential binding; calmctl uses those of type `key` (service keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCredentialBinding {
    /// GUID.
    pub guid: String,
    /// Name (unique per instance for keys).
    pub name: String,
    /// `key` or `app`.
    pub binding_type: String,
    /// The instance.
    pub service_instance_guid: String,
    /// The last operation.
    pub last_operation: Option<LastOperation>,
    /// Labels and annotations.
    pub metadata: Metadata,
    /// Creation time, RFC 3339.
    pub created_at: Option<String>,
    /// Last update, RFC 3339.
    pub updated_at: Option<String>,
}

/// A service key to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceKey {
    /// Name.
    pub name: String,
    /// The instance.
    pub service_instance_guid: String,
    /// Parameters for the broker.
    pub parameters: Option<Value>,
    /// Labels and annotations.
    pub metadata: Metadata,
}

/// The credentials of a key (`GET …/details` → `credentials`), as JSON text. Secret: `Debug`
/// prints `[REDACTED]`; read it with [`Credentials::expose_json`] only to deliver it.
#[derive(Clone)]
pub struct Credentials(SecretString);

impl Credentials {
    pub(crate) fn from_json_value(value: &Value) -> Self {
        Credentials(SecretString::from(value.to_string()))
    }

    /// The credentials JSON exactly as the API returned it (`uaa`, `endpoints`, …).
    pub fn expose_json(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([REDACTED])")
    }
}

/// The state of a CF job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// `PROCESSING`.
    Processing,
    /// `POLLING`: CC polls the broker.
    Polling,
    /// `COMPLETE`.
    Complete,
    /// `FAILED`.
    Failed,
    /// Anything else, as sent.
    Other(String),
}

impl JobState {
    pub(crate) fn parse(value: &str) -> Self {
        match value {
            "PROCESSING" => JobState::Processing,
            "POLLING" => JobState::Polling,
            "COMPLETE" => JobState::Complete,
            "FAILED" => JobState::Failed,
            other => JobState::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobState::Processing => "PROCESSING",
            JobState::Polling => "POLLING",
            JobState::Complete => "COMPLETE",
            JobState::Failed => "FAILED",
            JobState::Other(other) => other,
        })
    }
}

/// The object a job worked on, from its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResource {
    /// The link's name, e.g. `service_instances` or `service_credential_binding`.
    pub link_name: String,
    /// The object's GUID (last path segment of the link).
    pub guid: String,
}

/// A CF job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// GUID.
    pub guid: String,
    /// E.g. `service_instance.create`.
    pub operation: String,
    /// State.
    pub state: JobState,
    /// Errors of a failed job (the broker's message for broker failures).
    pub errors: Vec<CfErrorEntry>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The object the job worked on.
    pub resource: Option<JobResource>,
}
