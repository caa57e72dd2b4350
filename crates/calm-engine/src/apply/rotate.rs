//! The second half of a rotation, after cf.rs or sm.rs created the new key: deliver it, verify it,
//! and only then retire the key it replaces. If delivery or verification fails, the new key is
//! deleted, the old key's credentials go back to the sink, and the old key is left as it was.
//!
//! Retirement is a mark the runtime keeps (runtime/cf.rs and runtime/sm.rs say where).

use calm_btp::cf::Credentials;
use calm_core::{Change, LiveTenant, Resource, Tenant};
use serde_json::Value;

use super::deliver;
use super::ids::Ids;
use super::run::{Fail, Run, guid_of};
use super::runtime::{Client, ensure};

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
    ensure(run, Some(t), lt, ids, client)
        .await?
        .retire_key(ids, instance, &old, run.options.now_unix)
        .await?;
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
        notes.push(match client.delete_key(ids, instance, new).await {
            Ok(()) => "the new key was deleted".to_owned(),
            Err(e) => format!("the new key could not be deleted ({})", e.message()),
        });
    }
    if let Some(credentials) = old_credentials {
        let back = deliver::put(run, t, key, &credentials).await;
        notes.push(match back {
            Ok(()) => "the old key's credentials were delivered again".to_owned(),
            Err(e) => format!(
                "the old key's credentials could not be delivered again ({})",
                e.message()
            ),
        });
    }
    Fail::Other(format!(
        "{}; the old key is kept and not retired; {}",
        fail.message(),
        notes.join("; ")
    ))
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
