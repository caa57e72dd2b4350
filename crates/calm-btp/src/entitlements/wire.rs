//! Entitlements wire types, private to this module (crossplane's patched spec, btp-api.md §3.3).

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Assignments {
    #[serde(default)]
    pub(crate) assigned_services: Vec<AssignedService>,
    #[serde(default)]
    pub(crate) entitled_services: Vec<EntitledService>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignedService {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) service_plans: Vec<AssignedPlan>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignedPlan {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) unique_identifier: Option<String>,
    #[serde(default)]
    pub(crate) category: Option<String>,
    #[serde(default)]
    pub(crate) assignment_info: Vec<AssignmentInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignmentInfo {
    pub(crate) entity_id: String,
    #[serde(default)]
    pub(crate) entity_type: String,
    #[serde(default)]
    pub(crate) amount: Option<f64>,
    #[serde(default)]
    pub(crate) entity_state: Option<String>,
    #[serde(default)]
    pub(crate) state_message: Option<String>,
    #[serde(default)]
    pub(crate) auto_assigned: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntitledService {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) service_plans: Vec<EntitledPlan>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntitledPlan {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) unique_identifier: Option<String>,
    #[serde(default)]
    pub(crate) category: Option<String>,
    #[serde(default)]
    pub(crate) amount: Option<f64>,
    #[serde(default)]
    pub(crate) remaining_amount: Option<f64>,
    #[serde(default)]
    pub(crate) unlimited: Option<bool>,
}
impl From<Assignments> for super::Assignments {
    fn from(w: Assignments) -> Self {
        super::Assignments {
            assigned_services: w
                .assigned_services
                .into_iter()
                .map(|s| super::AssignedService {
                    name: s.name,
                    service_plans: s
                        .service_plans
                        .into_iter()
                        .map(|p| super::AssignedPlan {
                            name: p.name,
                            unique_identifier: p.unique_identifier,
                            category: p.category,
                            assignments: p
                                .assignment_info
                                .into_iter()
                                .map(|a| super::Assignment {
                                    entity_id: a.entity_id,
                                    entity_type: a.entity_type,
                                    amount: a.amount,
                                    entity_state: a.entity_state,
                                    state_message: a.state_message,
                                    auto_assigned: a.auto_assigned.unwrap_or(false),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            entitled_services: w
                .entitled_services
                .into_iter()
                .map(|s| super::EntitledService {
                    name: s.name,
                    service_plans: s
                        .service_plans
                        .into_iter()
                        .map(|p| super::EntitledPlan {
                            name: p.name,
                            unique_identifier: p.unique_identifier,
                            category: p.category,
                            amount: p.amount,
                            remaining_amount: p.remaining_amount,
                            unlimited: p.unlimited.unwrap_or(false),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Decodes an assignments body (also used by the fixture tests).
pub(crate) fn decode_assignments(body: &[u8]) -> Result<super::Assignments, serde_json::Error> {
    serde_json::from_slice::<Assignments>(body).map(Into::into)
}

/// The job id of a PUT answer: `{"jobId":"53873672"}` (observed through the CLI server in
/// `resource_subaccount_entitlement.dir_hierarchy.yaml`), a number, or a bare JSON string (the
/// spec types the 202 body as a string, btp-api.md §3.3).
pub(crate) fn job_id(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => match map.get("jobId")? {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        },
        Value::String(id) if !id.is_empty() => Some(id),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}
