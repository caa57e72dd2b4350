//! Service Manager state of the service-manager tenants. Service Manager is scoped to one
//! subaccount per credential, so this costs a few requests per tenant; they run concurrently.

use std::collections::BTreeMap;

use calm_btp::service_manager::ServiceManagerClient;
use calm_core::live::{LastOperation as LiveOperation, Metadata, labels};
use calm_core::{Live, LiveInstance, LiveKey, Tenant};
use futures::StreamExt;

use super::{last_operation, unix_seconds};
use crate::{Connections, EngineError};

/// How many subaccounts are read at once.
const CONCURRENCY: usize = 16;

/// Instances and keys per tenant name.
pub(super) struct SmPart {
    pub(super) instances: Vec<LiveInstance>,
    pub(super) keys: Vec<LiveKey>,
}

pub(super) async fn read(
    conns: &Connections,
    tenants: &[&Tenant],
    live: &Live,
) -> Result<BTreeMap<String, SmPart>, EngineError> {
    let results: Vec<Result<(String, SmPart), EngineError>> =
        futures::stream::iter(tenants.iter().map(|t| async move {
            let guid = live
                .tenants
                .get(&t.name)
                .and_then(|lt| lt.subaccount_guid.clone())
                .unwrap_or_default();
            let part = match conns.service_manager(&t.account, &guid, false).await? {
                Some(sm) => tenant_state(&sm, t).await?,
                None => SmPart {
                    instances: Vec::new(),
                    keys: Vec::new(),
                },
            };
            Ok((t.name.clone(), part))
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn tenant_state(sm: &ServiceManagerClient, t: &Tenant) -> Result<SmPart, EngineError> {
    let ctx = |what: &str| format!("reading {what} of tenant `{}` from Service Manager", t.name);
    let all = sm
        .list_service_instances(None, None)
        .await
        .map_err(EngineError::api(ctx("service instances")))?;
    let wanted = |name: &str, labels: &Metadata| {
        t.instances.iter().any(|i| i.name == name)
            || labels
                .get(labels::MANAGED_BY)
                .is_some_and(|v| v == labels::MANAGED_BY_VALUE)
    };
    let instances: Vec<LiveInstance> = all
        .iter()
        .map(|si| (si, first_values(&si.labels)))
        .filter(|(si, metadata)| wanted(&si.name, metadata))
        .map(|(si, metadata)| LiveInstance {
            guid: si.id.clone(),
            name: si.name.clone(),
            space_guid: None,
            plan: plan_name(&si.service_plan_id, &metadata),
            updated_at: si.updated_at.clone().unwrap_or_default(),
            last_operation: si.last_operation.as_ref().map(last_operation),
            metadata,
        })
        .collect();
    let keys = if instances.is_empty() {
        Vec::new()
    } else {
        let ids: Vec<String> = instances
            .iter()
            .map(|i| format!("'{}'", i.guid.replace('\'', "''")))
            .collect();
        let query = format!("service_instance_id in ({})", ids.join(","));
        let bindings = sm
            .list_service_bindings(Some(&query), None)
            .await
            .map_err(EngineError::api(ctx("service bindings")))?;
        bindings
            .iter()
            .map(|b| LiveKey {
                guid: b.id.clone(),
                name: b.name.clone(),
                instance_guid: b.service_instance_id.clone(),
                created_at: unix_seconds(b.created_at.as_deref()),
                last_operation: binding_operation(b),
                metadata: first_values(&b.labels),
            })
            .collect()
    };
    Ok(SmPart { instances, keys })
}

/// A binding that is not ready and has nothing running never became usable (its create failed,
/// then maybe a delete of it failed too): it counts as a failed create, which the plan replaces.
fn binding_operation(b: &calm_btp::service_manager::ServiceBinding) -> Option<LiveOperation> {
    let op = b.last_operation.as_ref().map(last_operation);
    match op {
        Some(op) if !b.ready && !op.in_progress() && !op.create_failed() => Some(LiveOperation {
            description: format!(
                "the binding never became ready (last operation: {} {})",
                op.kind, op.state
            ),
            kind: "create".into(),
            state: "failed".into(),
        }),
        other => other,
    }
}

/// Service Manager labels hold lists; calmctl writes one value per key.
fn first_values(labels: &BTreeMap<String, Vec<String>>) -> Metadata {
    labels
        .iter()
        .filter_map(|(k, v)| v.first().map(|v| (k.clone(), v.clone())))
        .collect()
}

/// The plan name: Service Manager returns only the plan id, so calmctl records the plan name in a
/// label when it creates the instance; unlabelled instances are taken to be on `standard`.
fn plan_name(_plan_id: &str, metadata: &Metadata) -> String {
    metadata
        .get(PLAN_LABEL)
        .cloned()
        .unwrap_or_else(|| calm_core::DEFAULT_PLAN.to_owned())
}

/// Label holding the plan name of a Service Manager instance.
pub(crate) const PLAN_LABEL: &str = "calmctl.sap/plan";
