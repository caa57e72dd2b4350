//! Credential delivery: the JSON of a key goes to the run's sink (sink.rs) and nowhere else,
//! then a token is requested with it (verify.rs), then the outcome is recorded on the platform
//! (calm_core::delivered): the delivered fingerprint, or `failed` / `unverified`, so that the
//! next plan shows a key whose delivery did not succeed as due, whatever the sink.
//!
//! A key is due when it was created or adopted in this run, when the plan says so (a `deliver`
//! change: its last delivery failed or was cut short, or the sink lost it), when
//! `--refresh-credentials` asks for all, or, for `dir`, when its file is missing.

use calm_btp::cf::Credentials;
use calm_core::delivered::{self, FAILED, UNVERIFIED};
use calm_core::{LiveTenant, Tenant};

use super::events::ApplyEvent;
use super::ids::Ids;
use super::report::{TenantReport, TenantStatus};
use super::run::{Fail, Run};
use super::runtime::{Client, ensure};
use super::verify;

/// One key: where it is in calm.yaml and its GUID.
pub(crate) struct Slot<'a> {
    pub(crate) instance: &'a str,
    pub(crate) key: &'a str,
    pub(crate) guid: &'a str,
}

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
            let name = (i.name.clone(), k.name.clone());
            let Some(guid) = ids.keys.get(&name).cloned() else {
                continue;
            };
            let due = ids.fresh.contains(&guid)
                || ids.due.contains(&name)
                || run.options.refresh_credentials
                || run.sink.missing(t, &i.name, &k.name);
            if !due {
                if let Err(message) = run.sink.protect(t, &i.name, &k.name) {
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
            let slot = Slot {
                instance: &i.name,
                key: &k.name,
                guid: &guid,
            };
            let result = one(run, t, lt, ids, client, &slot).await;
            if result.is_err() && run.cancelled() {
                // Ctrl-C stopped the sink or a wait: the key is recorded as not delivered, and
                // the next run delivers it.
                run.reporter.on_event(&ApplyEvent::StepFinished {
                    tenant: &t.name,
                    step: &step,
                    error: Some("interrupted"),
                });
                report.status = TenantStatus::Pending;
                report.remaining.push(step);
                continue;
            }
            let error = result.as_ref().err().map(Fail::message);
            run.reporter.on_event(&ApplyEvent::StepFinished {
                tenant: &t.name,
                step: &step,
                error: error.as_deref(),
            });
            match result {
                Ok(warning) => {
                    report.done.push(step);
                    report.delivered.push(format!("{}/{}", i.name, k.name));
                    report.warnings.extend(warning);
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
    slot: &Slot<'_>,
) -> Result<Option<String>, Fail> {
    let client = ensure(run, Some(t), lt, ids, client).await?;
    let credentials = client.credentials(ids, slot.guid).await?;
    deliver_and_record(run, client, t, ids, slot, &credentials).await
}

/// Puts a key's credentials into the sink, verifies them, and records the outcome on the key.
/// A delivery that worked but could not be recorded is a warning: the next run delivers it again.
pub(crate) async fn deliver_and_record(
    run: &Run<'_>,
    client: &Client,
    t: &Tenant,
    ids: &mut Ids,
    slot: &Slot<'_>,
    credentials: &Credentials,
) -> Result<Option<String>, Fail> {
    let (record, outcome) = match put(run, t, slot.instance, slot.key, credentials).await {
        Err(fail) => (FAILED.to_owned(), Err(fail)),
        Ok(()) => match verify_key(run, credentials).await {
            Err(fail) => (UNVERIFIED.to_owned(), Err(fail)),
            Ok(()) => (
                delivered::record(&run.desired.delivery, credentials.expose_json()),
                Ok(()),
            ),
        },
    };
    let recorded = client
        .record_delivery(ids, slot.instance, slot.guid, &record)
        .await;
    outcome?;
    Ok(recorded.err().map(|e| {
        format!(
            "{}/{}: delivered, but the delivery could not be recorded ({}); the next run \
             delivers it again",
            slot.instance,
            slot.key,
            e.message()
        )
    }))
}

/// Writes a key's credentials to the sink.
pub(crate) async fn put(
    run: &Run<'_>,
    t: &Tenant,
    instance: &str,
    key: &str,
    credentials: &Credentials,
) -> Result<(), Fail> {
    let cancel = &run.conns.btp().config().cancel;
    run.sink
        .put(&run.options.exec, cancel, t, instance, key, credentials)
        .await
        .map(|_| ())
        .map_err(Fail::Other)
}

/// Gets a token with a key's credentials (unless `--no-verify`).
async fn verify_key(run: &Run<'_>, credentials: &Credentials) -> Result<(), Fail> {
    if run.options.verify {
        verify::token(run.conns.btp(), credentials)
            .await
            .map_err(|e| Fail::Other(format!("delivered, but the key does not work: {e}")))?;
    }
    Ok(())
}
