//! The Cloud Foundry side of the runtime seam: spaces, service instances and service keys in the
//! tenant's org (btp-api.md §2). Ownership goes into labels, the parameters' marks into
//! annotations (label values are limited to 63 characters, btp-api.md §2.3).

use calm_btp::Api;
use calm_btp::cf::{
    CfClient, Metadata, MetadataPatch, NewRole, NewServiceInstance, NewServiceKey, NewSpace,
    RoleTarget, RoleUser, ServiceInstanceUpdate, ServicePlanFilter,
};
use calm_core::live::labels;
use calm_core::{Instance, SERVICE_OFFERING, Tenant};

use super::{InstanceUpdate, NewKey, RoleChange};
use crate::apply::ids::{Ids, key_labels, ownership_labels, parameter_marks};
use crate::apply::run::{Fail, Run, until_visible};

pub(super) async fn create_space(
    cf: &CfClient,
    t: &Tenant,
    ids: &Ids,
    name: &str,
) -> Result<String, Fail> {
    let org = ids
        .org
        .clone()
        .ok_or_else(|| Fail::Other(org_not_found(t)))?;
    let space = cf
        .create_space(&NewSpace {
            name: name.to_owned(),
            organization_guid: org,
            metadata: labels_only(ownership_labels(t)),
        })
        .await?;
    Ok(space.guid)
}

/// Cloud Foundry lists only the orgs a user has a role in (btp-api.md §2.11).
fn org_not_found(t: &Tenant) -> String {
    format!(
        "org `{}` was not found, or the user calmctl acts as has no role in it (Cloud Foundry \
         lists only the orgs a user has a role in): check the org name, and make the user an Org \
         Manager of it",
        t.org.as_deref().unwrap_or_default()
    )
}

pub(super) async fn adopt_space(cf: &CfClient, t: &Tenant, guid: &str) -> Result<(), Fail> {
    let patch = MetadataPatch::from(&labels_only(ownership_labels(t)));
    cf.update_space_metadata(guid, &patch).await?;
    Ok(())
}

/// Assigns a role: the acting user by its GUID (from its token), anyone else by username and
/// origin, which `POST /v3/roles` accepts, so no user lookup is needed (btp-api.md §2.11).
pub(super) async fn assign_role(
    cf: &CfClient,
    ids: &Ids,
    me: Option<&calm_core::CfUser>,
    role: &RoleChange<'_>,
) -> Result<(), Fail> {
    let target = match role.space {
        Some(space) => RoleTarget::Space(
            ids.spaces
                .get(&space.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| Fail::Other(format!("space {space} does not exist")))?,
        ),
        None => RoleTarget::Organization(
            ids.org
                .clone()
                .ok_or_else(|| Fail::Other("the org was not found".into()))?,
        ),
    };
    let user = match me {
        Some(me) if me.username == role.user && me.origin == role.origin => {
            RoleUser::Guid(me.guid.clone())
        }
        _ => RoleUser::Name {
            username: role.user.to_owned(),
            origin: role.origin.to_owned(),
        },
    };
    cf.create_role(&NewRole {
        kind: role.role.to_owned(),
        target,
        user,
    })
    .await?;
    Ok(())
}

pub(super) async fn create_instance(
    run: &Run<'_>,
    cf: &CfClient,
    t: &Tenant,
    i: &Instance,
    space: Option<&str>,
    ids: &Ids,
) -> Result<String, Fail> {
    let space = space.unwrap_or_default().to_ascii_lowercase();
    let space_guid = ids
        .spaces
        .get(&space)
        .cloned()
        .ok_or_else(|| Fail::Other(format!("space {space} does not exist")))?;
    let plan_guid = visible_plan(run, cf, ids, &t.name, &i.plan).await?;
    let created = cf
        .create_service_instance(&NewServiceInstance {
            name: i.name.clone(),
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
    Ok(created.guid)
}

pub(super) async fn update_instance(
    run: &Run<'_>,
    cf: &CfClient,
    t: &Tenant,
    i: &Instance,
    ids: &Ids,
    guid: &str,
    update: InstanceUpdate,
) -> Result<(), Fail> {
    let service_plan_guid = if update.plan {
        Some(visible_plan(run, cf, ids, &t.name, &i.plan).await?)
    } else {
        None
    };
    // The parameter marks say what calmctl wrote: only with the parameters themselves.
    let mut patch = MetadataPatch::from(&Metadata {
        labels: ownership_labels(t),
        annotations: if update.parameters {
            parameter_marks(i)
        } else {
            Default::default()
        },
    });
    if !t.protect {
        patch.labels.insert(labels::PROTECT.into(), None);
    }
    cf.update_service_instance(
        guid,
        &ServiceInstanceUpdate {
            parameters: update.parameters.then(|| i.parameters.clone()),
            service_plan_guid,
            tags: None,
            metadata: Some(patch),
        },
    )
    .await?;
    Ok(())
}

pub(super) async fn create_key(
    cf: &CfClient,
    t: &Tenant,
    instance_guid: &str,
    name: &str,
    calm_name: &str,
) -> Result<NewKey, Fail> {
    // A failed key of the same name needs no clearing: a new create replaces it (btp-api.md §2.8).
    let key = cf
        .create_service_key(&NewServiceKey {
            name: name.to_owned(),
            service_instance_guid: instance_guid.to_owned(),
            parameters: None,
            metadata: labels_only(pending(key_labels(t, calm_name))),
        })
        .await?;
    Ok(NewKey {
        guid: key.guid,
        credentials: None,
    })
}

pub(super) async fn adopt_key(
    cf: &CfClient,
    t: &Tenant,
    name: &str,
    guid: &str,
) -> Result<(), Fail> {
    // An adopted key is a new key to calmctl (it may have been re-created by hand under the
    // name of one whose credentials the sink holds): its delivery is pending.
    let patch = MetadataPatch::from(&labels_only(pending(key_labels(t, name))));
    cf.update_service_credential_binding_metadata(guid, &patch)
        .await?;
    Ok(())
}

/// `labels` with the delivery record `pending`: a key is created or adopted before it is
/// delivered, and a run cut short in between leaves the record saying so.
fn pending(
    mut labels: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    labels.insert(
        labels::DELIVERY.into(),
        calm_core::delivered::PENDING.into(),
    );
    labels
}

/// The delivery record is a label on the key itself (`calmctl.sap/delivery`).
pub(super) async fn record_delivery(
    cf: &CfClient,
    guid: &str,
    record: &str,
) -> Result<(), calm_btp::Error> {
    let mut patch = MetadataPatch::default();
    patch
        .labels
        .insert(labels::DELIVERY.into(), Some(record.to_owned()));
    cf.update_service_credential_binding_metadata(guid, &patch)
        .await?;
    Ok(())
}

/// Retirement is a label on the key itself (`calmctl.sap/retired-at`, Unix seconds).
pub(super) async fn retire_key(cf: &CfClient, guid: &str, now: i64) -> Result<(), Fail> {
    let mut patch = MetadataPatch::default();
    patch
        .labels
        .insert(labels::RETIRED_AT.into(), Some(now.to_string()));
    cf.update_service_credential_binding_metadata(guid, &patch)
        .await?;
    Ok(())
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
