//! Service Manager wire types, private to this module (btp-api.md §4, the SM spec in
//! `docs/specs`, and the SM objects relayed in `btp-cli-terraform/` cassettes).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::types;
use crate::cf::Credentials;
use crate::operation::{LastOperation, OperationState, OperationType};

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(super) struct Page<T> {
    #[serde(default)]
    pub(super) token: Option<String>,
    #[serde(default = "Vec::new")]
    pub(super) items: Vec<T>,
}

/// Labels: `{"k":["v1","v2"]}` on the REST API; the BTP CLI server relays them as one string
/// `"k = v"` (btp-api.md §6), so both are accepted.
#[derive(Deserialize, Default)]
#[serde(untagged)]
pub(super) enum Labels {
    Map(BTreeMap<String, Vec<String>>),
    Text(String),
    #[default]
    Missing,
}

impl Labels {
    fn into_map(self) -> BTreeMap<String, Vec<String>> {
        match self {
            Labels::Map(map) => map,
            Labels::Text(text) => {
                let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for part in text.split(['\n', ';']) {
                    if let Some((key, value)) = part.split_once('=') {
                        map.entry(key.trim().to_owned())
                            .or_default()
                            .extend(value.split(',').map(|v| v.trim().to_owned()));
                    }
                }
                map
            }
            Labels::Missing => BTreeMap::new(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Offering {
    id: String,
    name: String,
    #[serde(default)]
    catalog_name: Option<String>,
    #[serde(default)]
    broker_id: Option<String>,
    #[serde(default)]
    instances_retrievable: bool,
    #[serde(default)]
    bindings_retrievable: bool,
}

impl From<Offering> for types::Offering {
    fn from(w: Offering) -> Self {
        types::Offering {
            catalog_name: w.catalog_name.unwrap_or_else(|| w.name.clone()),
            id: w.id,
            name: w.name,
            broker_id: w.broker_id,
            instances_retrievable: w.instances_retrievable,
            bindings_retrievable: w.bindings_retrievable,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Plan {
    id: String,
    name: String,
    #[serde(default)]
    catalog_name: Option<String>,
    #[serde(default)]
    service_offering_id: String,
    #[serde(default)]
    free: Option<bool>,
}

impl From<Plan> for types::Plan {
    fn from(w: Plan) -> Self {
        types::Plan {
            catalog_name: w.catalog_name.unwrap_or_else(|| w.name.clone()),
            id: w.id,
            name: w.name,
            service_offering_id: w.service_offering_id,
            free: w.free.unwrap_or(false),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Operation {
    #[serde(default)]
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    errors: Option<Value>,
}

impl From<Operation> for types::Operation {
    fn from(w: Operation) -> Self {
        // `errors` is loosely typed (sap-btp-service-operator keeps it raw): keep its text.
        let errors = w.errors.filter(|e| !e.is_null()).map(|e| match e {
            Value::String(text) => text,
            other => other.to_string(),
        });
        types::Operation {
            id: w.id,
            kind: OperationType::parse(&w.kind),
            state: OperationState::parse(&w.state),
            description: w.description.filter(|d| !d.is_empty()),
            resource_id: w.resource_id,
            resource_type: w.resource_type,
            errors,
            updated_at: w.updated_at,
        }
    }
}

impl From<Operation> for LastOperation {
    fn from(w: Operation) -> Self {
        LastOperation {
            kind: OperationType::parse(&w.kind),
            state: OperationState::parse(&w.state),
            description: w.description.filter(|d| !d.is_empty()),
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Instance {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    service_plan_id: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    usable: Option<bool>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    last_operation: Option<Operation>,
    #[serde(default)]
    subaccount_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<Instance> for types::ServiceInstance {
    fn from(w: Instance) -> Self {
        types::ServiceInstance {
            id: w.id,
            name: w.name,
            service_plan_id: w.service_plan_id,
            ready: w.ready,
            usable: w.usable.unwrap_or(w.ready),
            labels: w.labels.into_map(),
            last_operation: w.last_operation.map(Into::into),
            subaccount_id: w.subaccount_id,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Binding {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    service_instance_id: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    last_operation: Option<Operation>,
    #[serde(default)]
    credentials: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<Binding> for types::ServiceBinding {
    fn from(w: Binding) -> Self {
        types::ServiceBinding {
            id: w.id,
            name: w.name,
            service_instance_id: w.service_instance_id,
            ready: w.ready,
            labels: w.labels.into_map(),
            last_operation: w.last_operation.map(Into::into),
            credentials: w
                .credentials
                .filter(|c| !c.is_null())
                .map(|c| Credentials::from_json_value(&c)),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}
