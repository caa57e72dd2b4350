//! One change of a tenant, carried out through the runtime seam: the same sequence on Cloud
//! Foundry and Service Manager (find what the change needs, do it, remember the new GUID for the
//! steps after it). What differs between the runtimes is in runtime/.

use calm_core::{Action, Change, LiveTenant, Resource, Tenant};

use super::ids::Ids;
use super::run::{Fail, guid_of, instance_of};
use super::runtime::{Client, InstanceUpdate, RoleChange};

/// Carries out one change of a tenant, or of a removed tenant (`t` is `None`: deletions only).
/// A change the acting user has no right to make (read from `lt`'s roles) fails before any
/// request, saying who must do what instead (btp-api.md §2.11).
pub(crate) async fn change(
    run: &super::run::Run<'_>,
    client: &Client,
    t: Option<&Tenant>,
    lt: &LiveTenant,
    ids: &mut Ids,
    c: &Change,
) -> Result<(), Fail> {
    if let Some(blocked) = t.and_then(|t| calm_core::plan::missing_right(t, lt, &c.resource)) {
        return Err(Fail::Other(blocked));
    }
    match (&c.resource, c.action) {
        (Resource::ServiceKey { instance, .. }, Action::Delete | Action::DeleteRetired) => {
            client.delete_key(ids, instance, guid_of(c)?).await
        }
        (Resource::ServiceInstance { .. }, Action::Delete) => {
            client.delete_instance(guid_of(c)?).await
        }
        (_, Action::Delete) => Err(Fail::Other(
            "calmctl never deletes this kind of object".into(),
        )),
        _ => {
            let t = t.ok_or_else(|| Fail::Other("the tenant is not in the config".into()))?;
            upsert(run, client, t, lt.cf_user.as_ref(), ids, c).await
        }
    }
}

async fn upsert(
    run: &super::run::Run<'_>,
    client: &Client,
    t: &Tenant,
    me: Option<&calm_core::CfUser>,
    ids: &mut Ids,
    c: &Change,
) -> Result<(), Fail> {
    match (&c.resource, c.action) {
        (Resource::Space { name, .. }, Action::Create) => {
            let guid = client.create_space(t, ids, name).await?;
            ids.spaces.insert(name.to_ascii_lowercase(), guid);
            Ok(())
        }
        (Resource::Space { .. }, Action::Adopt) => client.adopt_space(t, guid_of(c)?).await,
        (
            Resource::Role {
                space,
                role,
                user,
                origin,
                ..
            },
            Action::Create,
        ) => {
            let change = RoleChange {
                space: space.as_deref(),
                role,
                user,
                origin,
            };
            client.assign_role(ids, me, &change).await
        }
        (Resource::ServiceInstance { space, name }, Action::Create | Action::Replace) => {
            let i = instance_of(t, name)?;
            let guid = client
                .create_instance(run, t, i, space.as_deref(), ids)
                .await?;
            ids.busy.remove(&guid);
            ids.instances.insert(name.clone(), guid);
            Ok(())
        }
        (Resource::ServiceInstance { name, .. }, Action::Update | Action::Adopt) => {
            let i = instance_of(t, name)?;
            let guid = guid_of(c)?.to_owned();
            let update = InstanceUpdate {
                plan: c.fields.iter().any(|f| f.path == "plan"),
                // Only what the plan shows: adopting an instance whose parameters calmctl cannot
                // read writes its labels and nothing else (unknown is not empty).
                parameters: c.fields.iter().any(|f| f.path.starts_with("parameters")),
            };
            client
                .update_instance(run, t, i, ids, &guid, update)
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
                client.wait_instance(&instance_guid).await?;
            }
            let replacing = match c.action {
                Action::Replace => c.observed.as_ref().map(|o| o.guid.as_str()),
                _ => None,
            };
            let calm_name = rotates.as_deref().unwrap_or(name);
            let key = client
                .create_key(t, &instance_guid, name, calm_name, replacing)
                .await?;
            ids.fresh.insert(key.guid.clone());
            if let Some(credentials) = key.credentials {
                ids.credentials.insert(key.guid.clone(), credentials);
            }
            ids.keys
                .insert((instance.clone(), calm_name.to_owned()), key.guid);
            Ok(())
        }
        (Resource::ServiceKey { instance, name, .. }, Action::Adopt) => {
            let guid = guid_of(c)?.to_owned();
            client.adopt_key(t, ids, instance, name, &guid).await?;
            // A key made by hand (perhaps re-created under the name of a deleted one whose
            // credentials the sink still holds) is delivered like a new one.
            ids.fresh.insert(guid.clone());
            ids.keys.insert((instance.clone(), name.clone()), guid);
            Ok(())
        }
        _ => Err(Fail::Other(format!(
            "{} of this object is not supported on {}",
            c.action.verb(),
            client.runtime()
        ))),
    }
}
