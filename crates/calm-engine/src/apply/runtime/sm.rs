//! The Service Manager side of the runtime seam: instances and bindings of one subaccount
//! (btp-api.md §4). Bindings cannot be relabelled after their creation (no PATCH for bindings,
//! btp-api.md §4.4), so what calmctl knows about an adopted or retired binding is recorded in
//! labels of its instance.

use std::collections::BTreeMap;

use calm_btp::Api;
use calm_btp::service_manager::{
    LabelChange, NewServiceBinding, NewServiceInstance, PlanChoice, ServiceInstanceUpdate,
    ServiceManagerClient, SmLabels,
};
use calm_core::live::labels;
use calm_core::{Instance, SERVICE_OFFERING, Tenant};

use super::{InstanceUpdate, NewKey};
use crate::apply::ids::{Ids, key_labels, ownership_labels, parameter_marks};
use crate::apply::run::{Fail, Run, until_visible};
use crate::read::PLAN_LABEL;

/// Whether creating by plan name failed because the plan is not (yet) visible: the simulator
/// answers 404 (not the Cloud Foundry router's: that one is no answer of Service Manager);
/// btp-api.md §4.3 lists 400 and 422 for a create, so those count too when they name the plan.
fn plan_not_found(e: &calm_btp::Error) -> bool {
    match e {
        calm_btp::Error::Api(api) => {
            let names_plan = matches!(&api.body, calm_btp::ErrorBody::ServiceManager { description, .. }
                if description.to_ascii_lowercase().contains("plan"));
            e.is_not_found() || (matches!(api.status, 400 | 422) && names_plan)
        }
        _ => false,
    }
}

pub(super) async fn create_instance(
    run: &Run<'_>,
    sm: &ServiceManagerClient,
    t: &Tenant,
    i: &Instance,
) -> Result<String, Fail> {
    let what = format!("plan {SERVICE_OFFERING}/{} in {}", i.plan, t.name);
    let new = NewServiceInstance {
        name: i.name.clone(),
        plan: PlanChoice::Names {
            offering: SERVICE_OFFERING.to_owned(),
            plan: i.plan.clone(),
        },
        parameters: Some(i.parameters.clone()),
        labels: instance_labels(t, i),
    };
    // Created by offering and plan name: no catalog reads. Right after the entitlement the plan
    // may not be visible to the subaccount yet (404): wait and try again.
    let created = until_visible(run, Api::ServiceManager, &what, || async {
        match sm.create_service_instance(&new).await {
            Ok(created) => Ok(Some(created)),
            Err(e) if plan_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await?;
    Ok(created.id)
}

pub(super) async fn update_instance(
    run: &Run<'_>,
    sm: &ServiceManagerClient,
    t: &Tenant,
    i: &Instance,
    ids: &Ids,
    guid: &str,
    update: InstanceUpdate,
) -> Result<(), Fail> {
    let service_plan_id = if update.plan {
        let what = format!("plan {SERVICE_OFFERING}/{} in {}", i.plan, t.name);
        let plan = until_visible(run, Api::ServiceManager, &what, || {
            sm.find_plan(SERVICE_OFFERING, &i.plan)
        })
        .await?;
        Some(plan.id)
    } else {
        None
    };
    // A changed mark is removed with the update and added again once it succeeded: one request
    // never removes and adds the same key (crate::sm_labels).
    let drop: &[&str] = if t.protect { &[] } else { &[labels::PROTECT] };
    let mut marks = instance_marks(t, i);
    if !update.parameters {
        // The parameter marks say what calmctl wrote: only with the parameters themselves.
        for mark in parameter_marks(i).keys() {
            marks.remove(mark);
        }
    }
    let (removals, additions) = crate::sm_labels::changes(ids.metadata.get(guid), &marks, drop);
    sm.update_service_instance(
        guid,
        &ServiceInstanceUpdate {
            parameters: update.parameters.then(|| i.parameters.clone()),
            service_plan_id,
            labels: removals,
        },
    )
    .await?;
    if !additions.is_empty() {
        mark(sm, guid, additions).await?;
    }
    Ok(())
}

pub(super) async fn create_key(
    sm: &ServiceManagerClient,
    t: &Tenant,
    instance_id: &str,
    name: &str,
    calm_name: &str,
    replacing: Option<&str>,
) -> Result<NewKey, Fail> {
    if let Some(failed) = replacing {
        // A binding whose create failed keeps its name (409 on a new create): remove it.
        match sm.delete_service_binding(failed).await {
            Err(e) if !e.is_not_found() => return Err(e.into()),
            _ => {}
        }
    }
    let binding = sm
        .create_service_binding(&NewServiceBinding {
            name: name.to_owned(),
            service_instance_id: instance_id.to_owned(),
            parameters: None,
            labels: lists(key_labels(t, calm_name)),
        })
        .await?;
    Ok(NewKey {
        guid: binding.id,
        credentials: binding.credentials,
    })
}

pub(super) async fn adopt_key(
    sm: &ServiceManagerClient,
    ids: &mut Ids,
    instance: &str,
    id: &str,
) -> Result<(), Fail> {
    let instance_id = instance_id(ids, instance)?;
    if ids.busy.remove(&instance_id) {
        sm.wait_for_service_instance(&instance_id).await?;
    }
    let add = LabelChange::Add {
        key: labels::ADOPTED_BINDINGS.into(),
        values: vec![id.to_owned()],
    };
    // An adopted binding is a new binding to calmctl: its delivery is pending.
    let pending = LabelChange::Add {
        key: labels::DELIVERED_BINDINGS.into(),
        values: vec![format!("{id}@{}", calm_core::delivered::PENDING)],
    };
    mark(sm, &instance_id, vec![add, pending]).await?;
    ids.records
        .insert(id.to_owned(), calm_core::delivered::PENDING.to_owned());
    Ok(())
}

/// A delivery record is `<binding id>@<record>` in the `calmctl.sap/delivered-bindings` label of
/// the binding's instance, replacing the binding's earlier record.
pub(super) async fn record_delivery(
    sm: &ServiceManagerClient,
    ids: &Ids,
    instance: &str,
    id: &str,
    record: &str,
) -> Result<(), Fail> {
    let instance_id = instance_id(ids, instance)?;
    let old = ids.records.get(id);
    if old.is_some_and(|old| old == record) {
        // Service Manager stores adds before removes: removing and adding one value in one
        // request would leave none (btp-api.md §10 item 2). Nothing changes anyway.
        return Ok(());
    }
    let mut changes = Vec::new();
    if let Some(old) = old {
        changes.push(LabelChange::Remove {
            key: labels::DELIVERED_BINDINGS.into(),
            values: vec![format!("{id}@{old}")],
        });
    }
    changes.push(LabelChange::Add {
        key: labels::DELIVERED_BINDINGS.into(),
        values: vec![format!("{id}@{record}")],
    });
    mark(sm, &instance_id, changes).await
}

/// Retirement is `<binding id>@<seconds>` in the `calmctl.sap/retired-bindings` label of the
/// binding's instance.
pub(super) async fn retire_key(
    sm: &ServiceManagerClient,
    ids: &Ids,
    instance: &str,
    id: &str,
    now: i64,
) -> Result<(), Fail> {
    let instance_id = instance_id(ids, instance)?;
    let add = LabelChange::Add {
        key: labels::RETIRED_BINDINGS.into(),
        values: vec![format!("{id}@{now}")],
    };
    mark(sm, &instance_id, vec![add]).await
}

pub(super) async fn delete_key(
    sm: &ServiceManagerClient,
    ids: &Ids,
    instance: &str,
    id: &str,
) -> Result<(), calm_btp::Error> {
    sm.delete_service_binding(id).await?;
    forget(sm, ids, instance, id).await;
    Ok(())
}

/// Removes what the instance recorded about a deleted binding. Best effort: a mark left behind
/// names a binding that no longer exists and is ignored.
async fn forget(sm: &ServiceManagerClient, ids: &Ids, instance: &str, id: &str) {
    let Some(instance_id) = ids.instances.get(instance) else {
        return;
    };
    let mut changes = vec![LabelChange::Remove {
        key: labels::ADOPTED_BINDINGS.into(),
        values: vec![id.to_owned()],
    }];
    if let Some(at) = ids.retired.get(id) {
        changes.push(LabelChange::Remove {
            key: labels::RETIRED_BINDINGS.into(),
            values: vec![format!("{id}@{at}")],
        });
    }
    if let Some(record) = ids.records.get(id) {
        changes.push(LabelChange::Remove {
            key: labels::DELIVERED_BINDINGS.into(),
            values: vec![format!("{id}@{record}")],
        });
    }
    let _ = mark(sm, instance_id, changes).await;
}

fn instance_id(ids: &Ids, instance: &str) -> Result<String, Fail> {
    ids.instances
        .get(instance)
        .cloned()
        .ok_or_else(|| Fail::Other(format!("instance {instance} does not exist")))
}

/// Changes only the labels of an instance (no parameters: no broker call, nothing to wait for).
async fn mark(
    sm: &ServiceManagerClient,
    instance_id: &str,
    labels: Vec<LabelChange>,
) -> Result<(), Fail> {
    sm.update_service_instance_labels(instance_id, &labels)
        .await?;
    Ok(())
}

/// Ownership, parameter marks and the plan name (Service Manager returns only the plan id).
fn instance_marks(t: &Tenant, i: &Instance) -> BTreeMap<String, String> {
    let mut all = ownership_labels(t);
    all.extend(parameter_marks(i));
    all.insert(PLAN_LABEL.into(), i.plan.clone());
    all
}

/// [`instance_marks`] as labels, the parameters split into parts of at most 255 bytes.
fn instance_labels(t: &Tenant, i: &Instance) -> SmLabels {
    crate::sm_labels::write(instance_marks(t, i))
}

fn lists(labels: BTreeMap<String, String>) -> SmLabels {
    labels.into_iter().map(|(k, v)| (k, vec![v])).collect()
}

#[cfg(test)]
mod tests {
    use calm_btp::{Api, ApiError, Error, ErrorBody, RequestContext};

    use super::plan_not_found;

    fn sm_error(status: u16, description: &str) -> Error {
        Error::Api(Box::new(ApiError {
            context: RequestContext {
                api: Api::ServiceManager,
                method: "POST".into(),
                host: "sm.example".into(),
                path: "/v1/service_instances".into(),
            },
            status,
            body: ErrorBody::ServiceManager {
                error: "NotFound".into(),
                description: description.into(),
            },
            request_id: None,
        }))
    }

    #[test]
    fn an_invisible_plan_is_waited_for_and_other_errors_are_not() {
        assert!(plan_not_found(&sm_error(
            404,
            "could not find such service_plan"
        )));
        assert!(plan_not_found(&sm_error(
            400,
            "service plan standard not found"
        )));
        assert!(!plan_not_found(&sm_error(400, "invalid parameters")));
        assert!(!plan_not_found(&sm_error(
            409,
            "found conflicting service plan"
        )));
        assert!(!plan_not_found(&sm_error(500, "plan")));
        let Error::Api(mut routed) = sm_error(404, "") else {
            unreachable!()
        };
        routed.body = ErrorBody::Router {
            error: "unknown_route".into(),
            message: "404 Not Found: Requested route ('sm.example') does not exist.".into(),
        };
        assert!(
            !plan_not_found(&Error::Api(routed)),
            "the router's 404 is not Service Manager's"
        );
    }
}
