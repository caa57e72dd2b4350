//! Credential delivery: the JSON of a key goes to the run's sink (sink.rs) and nowhere else,
//! then a token is requested with it (verify.rs).
//!
//! A key is due when it was created in this run, when `--refresh-credentials` asks for all, or,
//! for `dir`, when its file is missing: that is how a key created by a run killed before delivery
//! is delivered by the next run.

use calm_btp::cf::Credentials;
use calm_core::{LiveTenant, Tenant};

use super::events::ApplyEvent;
use super::ids::Ids;
use super::report::{TenantReport, TenantStatus};
use super::run::{Fail, Run};
use super::runtime::{Client, ensure};
use super::verify;

/// Delivers every key of `t` that is due, then verifies it.
pub(crate) async fn tenant(
    run: &Run<'_>,
    t: &Tenant,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    report: &mut TenantReport,
) {
    for i in &t.instances {
        for k in &i.keys {
            let Some(guid) = ids.keys.get(&(i.name.clone(), k.name.clone())).cloned() else {
                continue;
            };
            let due = ids.fresh.contains(&guid)
                || run.options.refresh_credentials
                || run.sink.missing(&t.name, &k.name);
            if !due {
                if let Err(message) = run.sink.protect(&t.name, &k.name) {
                    report.status = TenantStatus::Failed;
                    report.error =
                        Some(Fail::Other(message).named(&format!("protect {}/{}", i.name, k.name)));
                    return;
                }
                continue;
            }
            let step = format!("deliver {}/{}", i.name, k.name);
            if run.cancelled() {
                report.status = TenantStatus::Pending;
                report.remaining.push(step);
                continue;
            }
            run.reporter.on_event(&ApplyEvent::StepStarted {
                tenant: &t.name,
                step: &step,
            });
            let result = one(run, t, lt, ids, client, &k.name, &guid).await;
            let error = result.as_ref().err().map(Fail::message);
            run.reporter.on_event(&ApplyEvent::StepFinished {
                tenant: &t.name,
                step: &step,
                error: error.as_deref(),
            });
            match result {
                Ok(()) => {
                    report.done.push(step);
                    report.delivered.push(format!("{}/{}", i.name, k.name));
                }
                Err(fail) => {
                    report.status = TenantStatus::Failed;
                    report.error = Some(fail.named(&step));
                    return;
                }
            }
        }
    }
}

async fn one(
    run: &Run<'_>,
    t: &Tenant,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    key: &str,
    guid: &str,
) -> Result<(), Fail> {
    let client = ensure(run, Some(t), lt, ids, client).await?;
    let credentials = client.credentials(ids, guid).await?;
    put_and_verify(run, t, key, &credentials).await
}

/// Writes a key's credentials to the sink.
pub(crate) async fn put(
    run: &Run<'_>,
    t: &Tenant,
    key: &str,
    credentials: &Credentials,
) -> Result<(), Fail> {
    run.sink
        .put(&t.name, key, credentials)
        .await
        .map(|_| ())
        .map_err(Fail::Other)
}

/// Writes a key's credentials to the sink, then gets a token with them (unless `--no-verify`).
pub(crate) async fn put_and_verify(
    run: &Run<'_>,
    t: &Tenant,
    key: &str,
    credentials: &Credentials,
) -> Result<(), Fail> {
    put(run, t, key, credentials).await?;
    if run.options.verify {
        verify::token(run.conns.btp(), credentials)
            .await
            .map_err(|e| Fail::Other(format!("delivered, but the key does not work: {e}")))?;
    }
    Ok(())
}
