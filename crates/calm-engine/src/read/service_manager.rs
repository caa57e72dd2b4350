//! Service Manager state of the service-manager tenants. Service Manager is scoped to one
//! subaccount per credential, so this costs a few requests per tenant; they run concurrently.

use std::collections::BTreeMap;

use calm_btp::service_manager::{ServiceInstance, ServiceManagerClient};
use calm_core::live::{LastOperation as LiveOperation, Metadata, labels};
use calm_core::{Live, LiveInstance, LiveKey, Tenant};
use futures::StreamExt;

use super::shapes::{last_operation, unix_seconds};
use crate::{Connections, EngineError};

/// How many subaccounts are read at once.
const CONCURRENCY: usize = 16;

/// Instances and keys per tenant name.
pub(super) struct SmPart {
    pub(super) instances: Vec<LiveInstance>,
    pub(super) keys: Vec<LiveKey>,
    /// No Service Manager access binding yet: nothing could be read.
    pub(super) unread: bool,
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
                    unread: true,
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
    let what = format!("tenant `{}`", t.name);
    let wanted = |si: &ServiceInstance, labels: &Metadata| {
        t.instances.iter().any(|i| i.name == si.name) || is_managed(labels)
    };
    let (instances, keys) = instances_and_bindings(sm, &what, wanted).await?;
    Ok(SmPart {
        instances,
        keys,
        unread: false,
    })
}

fn is_managed(labels: &Metadata) -> bool {
    labels
        .get(labels::MANAGED_BY)
        .is_some_and(|v| v == labels::MANAGED_BY_VALUE)
}

/// The `SAPCloudALMAPIs` instances (plan `standard`, or labelled by calmctl) of a subaccount and
/// their bindings, for `discover`. `what` names the subaccount in errors.
pub(crate) async fn alm_instances(
    sm: &ServiceManagerClient,
    what: &str,
) -> Result<(Vec<LiveInstance>, Vec<LiveKey>), EngineError> {
    let plan = sm
        .find_plan(calm_core::SERVICE_OFFERING, calm_core::DEFAULT_PLAN)
        .await
        .map_err(EngineError::api(format!(
            "reading the Cloud ALM plan of {what} from Service Manager"
        )))?;
    let plan_id = plan.map(|p| p.id);
    let wanted = |si: &ServiceInstance, labels: &Metadata| {
        plan_id.as_deref() == Some(si.service_plan_id.as_str()) || is_managed(labels)
    };
    instances_and_bindings(sm, what, wanted).await
}

/// Instances that `wanted` picks, and their bindings (names and labels: a list never carries
/// credentials).
pub(super) async fn instances_and_bindings(
    sm: &ServiceManagerClient,
    what: &str,
    wanted: impl Fn(&ServiceInstance, &Metadata) -> bool,
) -> Result<(Vec<LiveInstance>, Vec<LiveKey>), EngineError> {
    let ctx = |part: &str| format!("reading {part} of {what} from Service Manager");
    let all = sm
        .list_service_instances(None, None)
        .await
        .map_err(EngineError::api(ctx("service instances")))?;
    let instances: Vec<LiveInstance> = all
        .iter()
        .map(|si| (si, instance_metadata(&si.labels)))
        .filter(|(si, metadata)| wanted(si, metadata))
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
    let marks = binding_marks(all.iter().map(|si| &si.labels));
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
                metadata: with_marks(first_values(&b.labels), &b.id, &b.name, &marks),
            })
            .collect()
    };
    Ok((instances, keys))
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

/// An instance's labels (the parameters' parts joined, `crate::sm_labels`) without the marks it
/// holds for its bindings.
fn instance_metadata(tags: &BTreeMap<String, Vec<String>>) -> Metadata {
    let mut metadata = crate::sm_labels::read(tags);
    metadata.remove(labels::ADOPTED_BINDINGS);
    metadata.remove(labels::RETIRED_BINDINGS);
    metadata.remove(labels::DELIVERED_BINDINGS);
    metadata
}

/// What calmctl recorded about bindings on their managed instances, by binding id: ownership of
/// adopted bindings, retirement times and delivery records. Bindings cannot be relabelled after creation (btp-api.md
/// §4.4), so these marks live on the instance and are read back as if they were the binding's.
fn binding_marks<'a>(
    instances: impl Iterator<Item = &'a BTreeMap<String, Vec<String>>>,
) -> BTreeMap<String, Metadata> {
    let mut out: BTreeMap<String, Metadata> = BTreeMap::new();
    for tags in instances {
        let one = first_values(tags);
        let Some(tenant) = one.get(labels::TENANT).filter(|_| {
            one.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGED_BY_VALUE)
        }) else {
            continue;
        };
        for id in tags.get(labels::ADOPTED_BINDINGS).into_iter().flatten() {
            let entry = out.entry(id.clone()).or_default();
            entry.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into());
            entry.insert(labels::TENANT.into(), tenant.clone());
        }
        for mark in tags.get(labels::RETIRED_BINDINGS).into_iter().flatten() {
            if let Some((id, at)) = mark.split_once('@') {
                let entry = out.entry(id.to_owned()).or_default();
                entry.insert(labels::RETIRED_AT.into(), at.to_owned());
            }
        }
        for mark in tags.get(labels::DELIVERED_BINDINGS).into_iter().flatten() {
            if let Some((id, record)) = mark.split_once('@') {
                let entry = out.entry(id.to_owned()).or_default();
                entry.insert(labels::DELIVERY.into(), record.to_owned());
            }
        }
    }
    out
}

/// A binding's labels with the marks its instance holds for it. An adopted binding's calm.yaml
/// name is its own name (adoption matches by name).
fn with_marks(
    mut metadata: Metadata,
    id: &str,
    name: &str,
    marks: &BTreeMap<String, Metadata>,
) -> Metadata {
    if let Some(extra) = marks.get(id) {
        if extra.contains_key(labels::MANAGED_BY) {
            metadata
                .entry(labels::KEY.into())
                .or_insert_with(|| name.to_owned());
        }
        for (k, v) in extra {
            metadata.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    metadata
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
