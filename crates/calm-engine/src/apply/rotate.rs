//! The second half of a rotation, after cf.rs or sm.rs created the new key: deliver it, verify it,
//! and only then retire the key it replaces. If delivery or verification fails, the new key is
//! deleted, the old key's credentials go back to the sink, and the old key is left as it was.
//!
//! Retirement is a label on the old key (`calmctl.sap/retired-at`, Unix seconds). A Service
//! Manager binding cannot be relabelled after creation (btp-api.md §4.4), so for bindings the mark
//! is `<binding id>@<seconds>` in the `calmctl.sap/retired-bindings` label of their instance.

use calm_btp::cf::{Credentials, MetadataPatch};
use calm_btp::service_manager::{LabelChange, ServiceInstanceUpdate, ServiceManagerClient};
use calm_core::live::labels;
use calm_core::{Change, LiveTenant, Resource, Tenant};
use serde_json::Value;

use super::Run;
use super::deliver;
use super::ids::Ids;
use super::tenant::{Client, Fail, ensure, guid_of};

/// Delivers and verifies the key a Rotate change just created, then retires the old one.
/// Returns a warning when both keys share their secret.
pub(crate) async fn finish(
    run: &Run<'_>,
    t: &Tenant,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    c: &Change,
) -> Result<Option<String>, Fail> {
    let Resource::ServiceKey {
        instance,
        name,
        rotates: Some(key),
    } = &c.resource
    else {
        return Err(Fail::Other("a rotation names no calm.yaml key".into()));
    };
    let old = guid_of(c)?.to_owned();
    let slot = (instance.clone(), key.clone());
    let new = ids
        .keys
        .get(&slot)
        .cloned()
        .ok_or_else(|| Fail::Other(format!("the new key {name} was not created")))?;
    // Delivered here, before the old key is retired, not by the delivery pass at the end.
    ids.fresh.remove(&new);
    let old_credentials = ensure(run, Some(t), lt, ids, client)
        .await?
        .credentials(ids, &old)
        .await
        .ok();
    let new_credentials = ensure(run, Some(t), lt, ids, client)
        .await?
        .credentials(ids, &new)
        .await?;
    if let Err(fail) = deliver::put_and_verify(run, t, key, &new_credentials).await {
        return Err(undo(
            run,
            t,
            lt,
            ids,
            client,
            c,
            &old,
            &new,
            old_credentials,
            fail,
        )
        .await);
    }
    let warning = same_secret(old_credentials.as_ref(), &new_credentials).then(|| {
        format!(
            "{instance}/{key}: the new key has the same client secret as the one it replaces, so \
             rotating changed nothing; the instance uses the `instance-secret` credential type, \
             where all keys share one secret. Set `credential_types: [binding-secret]` on the \
             instance in calm.yaml (xs-security `credential-types: [\"binding-secret\"]`)"
        )
    });
    let client = ensure(run, Some(t), lt, ids, client).await?;
    retire(client, ids, instance, &old, run.options.now_unix).await?;
    Ok(warning)
}

/// The new key failed: delete it, give the sink back the old key, keep the old key untouched.
#[allow(clippy::too_many_arguments)]
async fn undo(
    run: &Run<'_>,
    t: &Tenant,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    c: &Change,
    old: &str,
    new: &str,
    old_credentials: Option<Credentials>,
    fail: Fail,
) -> Fail {
    let Resource::ServiceKey {
        instance,
        rotates: Some(key),
        ..
    } = &c.resource
    else {
        return fail;
    };
    ids.keys
        .insert((instance.clone(), key.clone()), old.to_owned());
    let mut notes = Vec::new();
    if let Ok(client) = ensure(run, Some(t), lt, ids, client).await {
        let deleted = match client {
            Client::Cf(cf) => cf.delete_service_credential_binding(new).await,
            Client::Sm(sm) => sm.delete_service_binding(new).await,
        };
        notes.push(match deleted {
            Ok(()) => "the new key was deleted".to_owned(),
            Err(e) => format!("the new key could not be deleted ({e})"),
        });
    }
    if let Some(credentials) = old_credentials {
        let back = deliver::put(run, t, key, &credentials).await;
        notes.push(match back {
            Ok(()) => "the old key's credentials were delivered again".to_owned(),
            Err(Fail::Api(e)) => {
                format!("the old key's credentials could not be delivered again ({e})")
            }
            Err(Fail::Other(e)) => {
                format!("the old key's credentials could not be delivered again ({e})")
            }
        });
    }
    let message = match fail {
        Fail::Api(e) => e.to_string(),
        Fail::Other(m) => m,
    };
    Fail::Other(format!(
        "{message}; the old key is kept and not retired; {}",
        notes.join("; ")
    ))
}

/// Marks the old key retired as of `now`.
async fn retire(
    client: &Client,
    ids: &Ids,
    instance: &str,
    old: &str,
    now: i64,
) -> Result<(), Fail> {
    match client {
        Client::Cf(cf) => {
            let mut patch = MetadataPatch::default();
            patch
                .labels
                .insert(labels::RETIRED_AT.into(), Some(now.to_string()));
            cf.update_service_credential_binding_metadata(old, &patch)
                .await?;
            Ok(())
        }
        Client::Sm(sm) => {
            let instance_id = ids
                .instances
                .get(instance)
                .ok_or_else(|| Fail::Other(format!("instance {instance} does not exist")))?;
            mark(
                sm,
                instance_id,
                vec![LabelChange::Add {
                    key: labels::RETIRED_BINDINGS.into(),
                    values: vec![format!("{old}@{now}")],
                }],
            )
            .await
        }
    }
}

/// Changes only the labels of a Service Manager instance (no parameters: no broker call).
pub(crate) async fn mark(
    sm: &ServiceManagerClient,
    instance_id: &str,
    labels: Vec<LabelChange>,
) -> Result<(), Fail> {
    sm.update_service_instance(
        instance_id,
        &ServiceInstanceUpdate {
            parameters: None,
            service_plan_id: None,
            labels,
        },
    )
    .await?;
    Ok(())
}

/// Whether both keys have the same client secret. The secrets are compared in memory through
/// their SHA-256 and never kept, printed or logged.
fn same_secret(old: Option<&Credentials>, new: &Credentials) -> bool {
    let digest = |c: &Credentials| {
        let json: Value = serde_json::from_str(c.expose_json()).ok()?;
        let secret = json
            .pointer("/uaa/clientsecret")
            .or_else(|| json.get("clientsecret"))?;
        Some(calm_core::hash::parameters_hash(secret))
    };
    match (old.and_then(digest), digest(new)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}
