//! The Service Manager runtime: instances and bindings of one subaccount (btp-api.md §4).

use std::collections::BTreeMap;

use calm_btp::Api;
use calm_btp::service_manager::{
    LabelChange, NewServiceBinding, NewServiceInstance, PlanChoice, ServiceInstanceUpdate,
    ServiceManagerClient, SmLabels,
};
use calm_core::live::labels;
use calm_core::{Action, Change, Resource, SERVICE_OFFERING, Tenant};

use super::Run;
use super::ids::{Ids, key_labels, ownership_labels, parameter_marks};
use super::rotate::mark;
use super::tenant::{Fail, guid_of, instance_of, until_visible};
use crate::read::PLAN_LABEL;

/// Whether creating by plan name failed because the plan is not (yet) visible: the simulator
/// answers 404; btp-api.md §4.3 lists 400 and 422 for a create, so those count too when they
/// name the plan.
fn plan_not_found(e: &calm_btp::Error) -> bool {
    match e {
        calm_btp::Error::Api(api) => {
            let names_plan = matches!(&api.body, calm_btp::ErrorBody::ServiceManager { description, .. }
                if description.to_ascii_lowercase().contains("plan"));
            api.status == 404 || (matches!(api.status, 400 | 422) && names_plan)
        }
        _ => false,
    }
}

/// Carries out one change of a Service Manager tenant.
pub(crate) async fn change(
    run: &Run<'_>,
    sm: &ServiceManagerClient,
    t: &Tenant,
    ids: &mut Ids,
    c: &Change,
) -> Result<(), Fail> {
    match (&c.resource, c.action) {
        (Resource::ServiceKey { instance, .. }, Action::Delete | Action::DeleteRetired) => {
            let id = guid_of(c)?;
            sm.delete_service_binding(id).await?;
            forget(sm, ids, instance, id).await;
            Ok(())
        }
        (Resource::ServiceInstance { .. }, Action::Delete) => {
            Ok(sm.delete_service_instance(guid_of(c)?).await?)
        }
        (Resource::ServiceInstance { name, .. }, Action::Create | Action::Replace) => {
            let i = instance_of(t, name)?;
            let what = format!("plan {SERVICE_OFFERING}/{} in {}", i.plan, t.name);
            let new = NewServiceInstance {
                name: name.clone(),
                plan: PlanChoice::Names {
                    offering: SERVICE_OFFERING.to_owned(),
                    plan: i.plan.clone(),
                },
                parameters: Some(i.parameters.clone()),
                labels: instance_labels(t, i),
            };
            // Created by offering and plan name: no catalog reads. Right after the entitlement
            // the plan may not be visible to the subaccount yet (404): wait and try again.
            let created = until_visible(run, Api::ServiceManager, &what, || async {
                match sm.create_service_instance(&new).await {
                    Ok(created) => Ok(Some(created)),
                    Err(e) if plan_not_found(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
            ids.busy.remove(&created.id);
            ids.instances.insert(name.clone(), created.id);
            Ok(())
        }
        (Resource::ServiceInstance { name, .. }, Action::Update | Action::Adopt) => {
            let i = instance_of(t, name)?;
            let id = guid_of(c)?.to_owned();
            let plan_changed = c.fields.iter().any(|f| f.path == "plan");
            let service_plan_id = if plan_changed {
                let what = format!("plan {SERVICE_OFFERING}/{} in {}", i.plan, t.name);
                let plan = until_visible(run, Api::ServiceManager, &what, || {
                    sm.find_plan(SERVICE_OFFERING, &i.plan)
                })
                .await?;
                Some(plan.id)
            } else {
                None
            };
            // A changed mark is removed with the update and added again once it succeeded: one
            // request never removes and adds the same key (crate::sm_labels).
            let drop: &[&str] = if t.protect { &[] } else { &[labels::PROTECT] };
            let (removals, additions) =
                crate::sm_labels::changes(ids.metadata.get(&id), &instance_marks(t, i), drop);
            sm.update_service_instance(
                &id,
                &ServiceInstanceUpdate {
                    parameters: Some(i.parameters.clone()),
                    service_plan_id,
                    labels: removals,
                },
            )
            .await?;
            if !additions.is_empty() {
                mark(sm, &id, additions).await?;
            }
            ids.busy.remove(&id);
            ids.instances.insert(name.clone(), id);
            Ok(())
        }
        (
            Resource::ServiceKey {
                instance,
                name,
                rotates,
            },
            Action::Create | Action::Replace | Action::Rotate,
        ) => {
            let instance_id = ids
                .instances
                .get(instance)
                .cloned()
                .ok_or_else(|| Fail::Other(format!("instance {instance} does not exist")))?;
            if ids.busy.remove(&instance_id) {
                sm.wait_for_service_instance(&instance_id).await?;
            }
            if c.action == Action::Replace
                && let Some(failed) = &c.observed
            {
                // A binding whose create failed keeps its name (409 on a new create): remove it.
                match sm.delete_service_binding(&failed.guid).await {
                    Err(e) if !e.is_not_found() => return Err(e.into()),
                    _ => {}
                }
            }
            let calm_name = rotates.as_deref().unwrap_or(name);
            let binding = sm
                .create_service_binding(&NewServiceBinding {
                    name: name.clone(),
                    service_instance_id: instance_id,
                    parameters: None,
                    labels: lists(key_labels(t, calm_name)),
                })
                .await?;
            ids.fresh.insert(binding.id.clone());
            if let Some(credentials) = binding.credentials {
                ids.credentials.insert(binding.id.clone(), credentials);
            }
            ids.keys
                .insert((instance.clone(), calm_name.to_owned()), binding.id);
            Ok(())
        }
        (Resource::ServiceKey { instance, name, .. }, Action::Adopt) => {
            // A binding cannot be relabelled after its creation (no PATCH for bindings,
            // btp-api.md §4.4): its ownership is recorded on its managed instance instead.
            let id = guid_of(c)?.to_owned();
            let instance_id = ids
                .instances
                .get(instance)
                .cloned()
                .ok_or_else(|| Fail::Other(format!("instance {instance} does not exist")))?;
            if ids.busy.remove(&instance_id) {
                sm.wait_for_service_instance(&instance_id).await?;
            }
            let add = LabelChange::Add {
                key: labels::ADOPTED_BINDINGS.into(),
                values: vec![id.clone()],
            };
            mark(sm, &instance_id, vec![add]).await?;
            ids.keys.insert((instance.clone(), name.clone()), id);
            Ok(())
        }
        _ => Err(Fail::Other(format!(
            "{} of this object is not supported on Service Manager",
            c.action.verb()
        ))),
    }
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
    let _ = mark(sm, instance_id, changes).await;
}

/// Ownership, parameter marks and the plan name (Service Manager returns only the plan id).
fn instance_marks(t: &Tenant, i: &calm_core::Instance) -> BTreeMap<String, String> {
    let mut all = ownership_labels(t);
    all.extend(parameter_marks(i));
    all.insert(PLAN_LABEL.into(), i.plan.clone());
    all
}

/// [`instance_marks`] as labels, the parameters split into parts of at most 255 bytes.
fn instance_labels(t: &Tenant, i: &calm_core::Instance) -> SmLabels {
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
    }
}
