//! Cloud Foundry v3 wire types, private to this module. Field sets follow the recorded responses
//! in `tests/fixtures/recorded/cf-terraform/` and btp-api.md §2; everything not needed is ignored
//! and everything that real responses sometimes omit or null is optional.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types;
use crate::Labels;
use crate::operation::{LastOperation, OperationState, OperationType};

#[derive(Deserialize)]
pub(super) struct Link {
    pub(super) href: String,
}

#[derive(Deserialize)]
pub(super) struct Root {
    pub(super) links: RootLinks,
}

#[derive(Deserialize)]
pub(super) struct RootLinks {
    #[serde(default)]
    pub(super) uaa: Option<Link>,
    #[serde(default)]
    pub(super) login: Option<Link>,
    #[serde(default)]
    pub(super) cloud_controller_v3: Option<V3Link>,
}

#[derive(Deserialize)]
pub(super) struct V3Link {
    #[serde(default)]
    pub(super) meta: Option<V3Meta>,
}

#[derive(Deserialize)]
pub(super) struct V3Meta {
    #[serde(default)]
    pub(super) version: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Page<T> {
    pub(super) pagination: Pagination,
    pub(super) resources: Vec<T>,
}

#[derive(Deserialize)]
pub(super) struct Pagination {
    #[serde(default)]
    pub(super) next: Option<Link>,
}

#[derive(Deserialize, Default)]
pub(super) struct Metadata {
    #[serde(default)]
    labels: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, Option<String>>>,
}

fn flatten(map: Option<BTreeMap<String, Option<String>>>) -> Labels {
    map.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

impl From<Metadata> for types::Metadata {
    fn from(wire: Metadata) -> Self {
        types::Metadata {
            labels: flatten(wire.labels),
            annotations: flatten(wire.annotations),
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Relationship {
    #[serde(default)]
    data: Option<RelationshipData>,
}

#[derive(Deserialize)]
struct RelationshipData {
    guid: String,
}

impl Relationship {
    fn guid(self) -> Option<String> {
        self.data.map(|d| d.guid)
    }
}

#[derive(Deserialize)]
pub(super) struct Organization {
    guid: String,
    name: String,
    #[serde(default)]
    suspended: bool,
    #[serde(default)]
    metadata: Metadata,
}

impl From<Organization> for types::Organization {
    fn from(w: Organization) -> Self {
        types::Organization {
            guid: w.guid,
            name: w.name,
            suspended: w.suspended,
            metadata: w.metadata.into(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Space {
    guid: String,
    name: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    relationships: SpaceRelationships,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize)]
struct SpaceRelationships {
    organization: Relationship,
}

impl From<Space> for types::Space {
    fn from(w: Space) -> Self {
        types::Space {
            guid: w.guid,
            name: w.name,
            organization_guid: w.relationships.organization.guid().unwrap_or_default(),
            metadata: w.metadata.into(),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServiceOffering {
    guid: String,
    name: String,
    #[serde(default)]
    available: Option<bool>,
    #[serde(default)]
    broker_catalog: Option<BrokerCatalog>,
}

#[derive(Deserialize)]
struct BrokerCatalog {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    features: Option<Value>,
}

fn text_at(value: Option<&Value>, key: &str) -> Option<String> {
    value
        .and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn flag_at(value: Option<&Value>, key: &str) -> Option<bool> {
    value.and_then(|v| v.get(key)).and_then(Value::as_bool)
}

impl From<ServiceOffering> for types::ServiceOffering {
    fn from(w: ServiceOffering) -> Self {
        let catalog = w.broker_catalog.as_ref();
        let metadata = catalog.and_then(|c| c.metadata.as_ref());
        let features = catalog.and_then(|c| c.features.as_ref());
        types::ServiceOffering {
            guid: w.guid,
            name: w.name,
            available: w.available.unwrap_or(true),
            sm_offering_id: text_at(metadata, "sm_offering_id"),
            instances_retrievable: flag_at(features, "instances_retrievable").unwrap_or(false),
            bindings_retrievable: flag_at(features, "bindings_retrievable").unwrap_or(false),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServicePlan {
    guid: String,
    name: String,
    #[serde(default)]
    visibility_type: Option<String>,
    #[serde(default)]
    available: Option<bool>,
    #[serde(default)]
    broker_catalog: Option<BrokerCatalog>,
    relationships: PlanRelationships,
}

#[derive(Deserialize)]
struct PlanRelationships {
    #[serde(default)]
    service_offering: Relationship,
}

impl From<ServicePlan> for types::ServicePlan {
    fn from(w: ServicePlan) -> Self {
        let metadata = w.broker_catalog.as_ref().and_then(|c| c.metadata.as_ref());
        types::ServicePlan {
            service_offering_guid: w.relationships.service_offering.guid().unwrap_or_default(),
            sm_plan_id: text_at(metadata, "sm_plan_id"),
            guid: w.guid,
            name: w.name,
            available: w.available.unwrap_or(true),
            visibility_type: w.visibility_type.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PlanVisibility {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    organizations: Vec<OrgRef>,
}

#[derive(Deserialize)]
struct OrgRef {
    guid: String,
}

impl From<PlanVisibility> for types::PlanVisibility {
    fn from(w: PlanVisibility) -> Self {
        types::PlanVisibility {
            visibility_type: w.kind,
            organization_guids: w.organizations.into_iter().map(|o| o.guid).collect(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LastOperationWire {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<LastOperationWire> for LastOperation {
    fn from(w: LastOperationWire) -> Self {
        LastOperation {
            kind: OperationType::parse(&w.kind),
            state: OperationState::parse(&w.state),
            // Keys have `null`, instances `""` when there is nothing to say (btp-api.md §2.8).
            description: w.description.filter(|d| !d.is_empty()),
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServiceInstance {
    guid: String,
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    last_operation: Option<LastOperationWire>,
    relationships: InstanceRelationships,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct InstanceRelationships {
    #[serde(default)]
    space: Relationship,
    #[serde(default)]
    service_plan: Relationship,
}

impl From<ServiceInstance> for types::ServiceInstance {
    fn from(w: ServiceInstance) -> Self {
        types::ServiceInstance {
            guid: w.guid,
            name: w.name,
            instance_type: w.kind,
            space_guid: w.relationships.space.guid().unwrap_or_default(),
            service_plan_guid: w.relationships.service_plan.guid(),
            tags: w.tags,
            last_operation: w.last_operation.map(Into::into),
            metadata: w.metadata.into(),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ServiceCredentialBinding {
    guid: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    last_operation: Option<LastOperationWire>,
    relationships: BindingRelationships,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct BindingRelationships {
    #[serde(default)]
    service_instance: Relationship,
}

impl From<ServiceCredentialBinding> for types::ServiceCredentialBinding {
    fn from(w: ServiceCredentialBinding) -> Self {
        types::ServiceCredentialBinding {
            guid: w.guid,
            name: w.name.unwrap_or_default(),
            binding_type: w.kind,
            service_instance_guid: w.relationships.service_instance.guid().unwrap_or_default(),
            last_operation: w.last_operation.map(Into::into),
            metadata: w.metadata.into(),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct BindingDetails {
    pub(super) credentials: Value,
}

#[derive(Deserialize)]
pub(super) struct Job {
    guid: String,
    #[serde(default)]
    operation: String,
    state: String,
    #[serde(default)]
    errors: Value,
    #[serde(default)]
    warnings: Vec<Warning>,
    #[serde(default)]
    links: BTreeMap<String, Option<Link>>,
}

#[derive(Deserialize)]
struct Warning {
    #[serde(default)]
    detail: String,
}

impl From<Job> for types::Job {
    fn from(w: Job) -> Self {
        // The link naming the object differs per operation: `service_instances` (plural) for
        // instances, `service_credential_binding` (singular) for keys (btp-api.md §2.9).
        let resource = w.links.into_iter().find_map(|(name, link)| {
            let link = link?;
            if name == "self" {
                return None;
            }
            let guid = link
                .href
                .trim_end_matches('/')
                .rsplit('/')
                .next()?
                .to_owned();
            Some(types::JobResource {
                link_name: name,
                guid,
            })
        });
        types::Job {
            guid: w.guid,
            operation: w.operation,
            state: types::JobState::parse(&w.state),
            errors: crate::http::error_body::cf_entries(w.errors),
            warnings: w.warnings.into_iter().map(|x| x.detail).collect(),
            resource,
        }
    }
}

/// Request bodies.
#[derive(Serialize)]
pub(super) struct MetadataBody<'a> {
    pub(super) labels: &'a BTreeMap<String, Option<String>>,
    pub(super) annotations: &'a BTreeMap<String, Option<String>>,
}

#[derive(Serialize)]
pub(super) struct ToOne<'a> {
    pub(super) data: Guid<'a>,
}

#[derive(Serialize)]
pub(super) struct Guid<'a> {
    pub(super) guid: &'a str,
}

pub(super) fn to_one(guid: &str) -> ToOne<'_> {
    ToOne {
        data: Guid { guid },
    }
}
