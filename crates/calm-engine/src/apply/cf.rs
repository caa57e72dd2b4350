//! The Cloud Foundry runtime: spaces, service instances and service keys (btp-api.md §2).

use calm_btp::Api;
use calm_btp::cf::{
    CfClient, Metadata, MetadataPatch, NewServiceInstance, NewServiceKey, NewSpace,
    ServiceInstanceUpdate, ServicePlanFilter,
};
use calm_core::live::labels;
use calm_core::{Action, Change, Resource, SERVICE_OFFERING, Tenant};

use super::Run;
use super::ids::{Ids, key_labels, ownership_labels, parameter_marks};
use super::tenant::{Fail, guid_of, instance_of, until_visible};

/// Carries out one change of a CF tenant (or of a removed tenant: deletions only).
pub(crate) async fn change(
    run: &Run<'_>,
    cf: &CfClient,
    t: Option<&Tenant>,
    ids: &mut Ids,
    c: &Change,
) -> Result<(), Fail> {
    match (&c.resource, c.action) {
        (Resource::ServiceKey { .. }, Action::Delete | Action::DeleteRetired) => {
            Ok(cf.delete_service_credential_binding(guid_of(c)?).await?)
        }
        (Resource::ServiceInstance { .. }, Action::Delete) => {
            Ok(cf.delete_service_instance(guid_of(c)?).await?)
        }
        (_, Action::Delete) => Err(Fail::Other(
            "calmctl never deletes this kind of object".into(),
        )),
        _ => {
            let t = t.ok_or_else(|| Fail::Other("the tenant is not in the config".into()))?;
            upsert(run, cf, t, ids, c).await
        }
    }
}

async fn upsert(
    run: &Run<'_>,
    cf: &CfClient,
    t: &Tenant,
    ids: &mut Ids,
    c: &Change,
) -> Result<(), Fail> {
    match (&c.resource, c.action) {
        (Resource::Space { name, .. }, Action::Create) => {
            let org = ids
                .org
                .clone()
                .ok_or_else(|| Fail::Other(format!("org {:?} was not found", t.org)))?;
            let space = cf
                .create_space(&NewSpace {
                    name: name.clone(),
                    organization_guid: org,
                    metadata: labels_only(ownership_labels(t)),
                })
                .await?;
            ids.spaces.insert(name.to_ascii_lowercase(), space.guid);
            Ok(())
        }
        (Resource::Space { .. }, Action::Adopt) => {
            let patch = MetadataPatch::from(&labels_only(ownership_labels(t)));
            cf.update_space_metadata(guid_of(c)?, &patch).await?;
            Ok(())
        }
        (Resource::ServiceInstance { space, name }, Action::Create | Action::Replace) => {
            let i = instance_of(t, name)?;
            let space = space.as_deref().unwrap_or_default().to_ascii_lowercase();
            let space_guid = ids
                .spaces
                .get(&space)
                .cloned()
                .ok_or_else(|| Fail::Other(format!("space {space} does not exist")))?;
            let plan_guid = visible_plan(run, cf, ids, &t.name, &i.plan).await?;
            let created = cf
                .create_service_instance(&NewServiceInstance {
                    name: name.clone(),
                    space_guid,
                    service_plan_guid: plan_guid,
                    parameters: Some(i.parameters.clone()),
                    tags: Vec::new(),
                    metadata: Metadata {
                        labels: ownership_labels(t),
                        annotations: parameter_marks(i),
                    },
                })
                .await?;
            ids.busy.remove(&created.guid);
            ids.instances.insert(name.clone(), created.guid);
            Ok(())
        }
        (Resource::ServiceInstance { name, .. }, Action::Update | Action::Adopt) => {
            let i = instance_of(t, name)?;
            let guid = guid_of(c)?.to_owned();
            let plan_changed = c.fields.iter().any(|f| f.path == "plan");
            let params_changed = c.action == Action::Adopt
                || c.fields.iter().any(|f| f.path.starts_with("parameters"));
            let service_plan_guid = if plan_changed {
                Some(visible_plan(run, cf, ids, &t.name, &i.plan).await?)
            } else {
                None
            };
            let mut patch = MetadataPatch::from(&Metadata {
                labels: ownership_labels(t),
                annotations: parameter_marks(i),
            });
            if !t.protect {
                patch.labels.insert(labels::PROTECT.into(), None);
            }
            cf.update_service_instance(
                &guid,
                &ServiceInstanceUpdate {
                    parameters: params_changed.then(|| i.parameters.clone()),
                    service_plan_guid,
                    tags: None,
                    metadata: Some(patch),
                },
            )
            .await?;
            ids.busy.remove(&guid);
            ids.instances.insert(name.clone(), guid);
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
            let instance_guid = ids
                .instances
                .get(instance)
                .cloned()
                .ok_or_else(|| Fail::Other(format!("instance {instance} does not exist")))?;
            if ids.busy.remove(&instance_guid) {
                // A key cannot be created while the instance's own operation runs (422).
                cf.wait_for_service_instance(&instance_guid).await?;
            }
            let calm_name = rotates.as_deref().unwrap_or(name);
            let key = cf
                .create_service_key(&NewServiceKey {
                    name: name.clone(),
                    service_instance_guid: instance_guid,
                    parameters: None,
                    metadata: labels_only(key_labels(t, calm_name)),
                })
                .await?;
            ids.fresh.insert(key.guid.clone());
            ids.keys
                .insert((instance.clone(), calm_name.to_owned()), key.guid);
            Ok(())
        }
        (Resource::ServiceKey { instance, name, .. }, Action::Adopt) => {
            let guid = guid_of(c)?.to_owned();
            let patch = MetadataPatch::from(&labels_only(key_labels(t, name)));
            cf.update_service_credential_binding_metadata(&guid, &patch)
                .await?;
            ids.keys.insert((instance.clone(), name.clone()), guid);
            Ok(())
        }
        _ => Err(Fail::Other(format!(
            "{} of this object is not supported on Cloud Foundry",
            c.action.verb()
        ))),
    }
}

/// The plan's GUID once it is visible in the tenant's org: right after an entitlement it can take
/// a while to appear (btp-api.md §3).
async fn visible_plan(
    run: &Run<'_>,
    cf: &CfClient,
    ids: &Ids,
    tenant: &str,
    plan: &str,
) -> Result<String, Fail> {
    let org = ids
        .org
        .clone()
        .ok_or_else(|| Fail::Other("the org was not found".into()))?;
    let filter = ServicePlanFilter {
        names: vec![plan.to_owned()],
        service_offering_names: vec![SERVICE_OFFERING.to_owned()],
        organization_guids: vec![org],
        ..ServicePlanFilter::default()
    };
    let what = format!("plan {SERVICE_OFFERING}/{plan} in the org of {tenant}");
    until_visible(run, Api::CloudFoundry, &what, || async {
        let plans = cf.list_service_plans(&filter).await?;
        Ok(plans
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(plan))
            .map(|p| p.guid))
    })
    .await
}

fn labels_only(labels: calm_btp::Labels) -> Metadata {
    Metadata {
        labels,
        annotations: calm_btp::Labels::new(),
    }
}
