//! One tenant's run: its changes in dependency order, then delivery of the keys that are due.
//! A create whose job fails is tried again (up to four times in all); any other failing step
//! ends the tenant (later steps depend on it); other tenants go on.

use std::time::Duration;

use calm_core::plan::Observed;
use calm_core::{Action, Change, Live, LiveTenant, Plan, Resource, Tenant};

use super::events::ApplyEvent;
use super::ids::Ids;
use super::report::{Failure, TenantReport, TenantStatus};
use super::run::{Fail, Run, step_of};
use super::runtime::{Client, ensure};
use super::{deliver, rotate, steps};

/// Runs one tenant. `gate` is the outcome of its entitlement change, if it had one.
pub(crate) async fn apply(
    run: &Run<'_>,
    name: &str,
    live: &Live,
    plan: &Plan,
    gate: Option<Result<String, Failure>>,
) -> TenantReport {
    // Deliveries are not steps of their own: the delivery pass at the end does them.
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.tenant == name && !matches!(c.resource, Resource::Entitlement { .. }))
        .filter(|c| c.action != Action::Deliver)
        .collect();
    let due: Vec<(String, String)> = plan
        .changes
        .iter()
        .filter(|c| c.tenant == name && c.action == Action::Deliver)
        .filter_map(|c| match &c.resource {
            Resource::ServiceKey { instance, name, .. } => Some((instance.clone(), name.clone())),
            _ => None,
        })
        .collect();
    let steps: Vec<String> = changes.iter().map(|c| step_of(c)).collect();
    let t = run.desired.tenants.iter().find(|t| t.name == name);
    let empty = LiveTenant::default();
    let lt = live
        .tenants
        .get(name)
        .or_else(|| live.orphans.iter().find(|o| o.name == name))
        .unwrap_or(&empty);
    let mut report = TenantReport {
        tenant: name.to_owned(),
        status: TenantStatus::Done,
        done: Vec::new(),
        remaining: Vec::new(),
        delivered: Vec::new(),
        error: None,
        warnings: Vec::new(),
    };
    match gate {
        Some(Err(failure)) => {
            report.status = TenantStatus::Failed;
            report.error = Some(failure);
            report.remaining = steps;
            return report;
        }
        Some(Ok(step)) => report.done.push(step),
        None if run.cancelled() => {
            report.status = TenantStatus::Skipped;
            report.remaining = steps;
            return report;
        }
        None => {}
    }
    let mut ids = Ids::from_live(lt);
    ids.due.extend(due);
    let mut client: Option<Client> = None;
    for (n, c) in changes.iter().enumerate() {
        if run.cancelled() {
            report.status = if report.done.is_empty() {
                TenantStatus::Skipped
            } else {
                TenantStatus::Pending
            };
            report.remaining = steps[n..].to_vec();
            return report;
        }
        let step = &steps[n];
        tracing::debug!(tenant = %name, step = %step, "step started");
        run.reporter
            .on_event(&ApplyEvent::StepStarted { tenant: name, step });
        let mut result = step_once(run, t, lt, &mut ids, &mut client, c, &mut report).await;
        let mut attempt = 1;
        while attempt < STEP_ATTEMPTS && !run.cancelled() {
            let Some(again) = retry_of(c, &result) else {
                break;
            };
            attempt += 1;
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            result = step_once(run, t, lt, &mut ids, &mut client, &again, &mut report).await;
        }
        if let Err(fail) = result {
            if fail.is_cancelled() {
                // Ctrl-C ended a wait: the step is left for the next run, like those after it.
                run.reporter.on_event(&ApplyEvent::StepFinished {
                    tenant: name,
                    step,
                    error: Some("interrupted"),
                });
                report.status = TenantStatus::Pending;
                report.remaining = steps[n..].to_vec();
                return report;
            }
            let failure = fail.named(step);
            tracing::debug!(tenant = %name, step = %step, error = %failure.message, "step failed");
            run.reporter.on_event(&ApplyEvent::StepFinished {
                tenant: name,
                step,
                error: Some(&failure.message),
            });
            report.status = TenantStatus::Failed;
            report.error = Some(failure);
            report.remaining = steps[n + 1..].to_vec();
            return report;
        }
        tracing::debug!(tenant = %name, step = %step, "step done");
        run.reporter.on_event(&ApplyEvent::StepFinished {
            tenant: name,
            step,
            error: None,
        });
        report.done.push(step.clone());
    }
    if let Some(t) = t.filter(|t| !run.options.offboard.contains(&t.name)) {
        deliver::tenant(run, t, lt, &mut ids, &mut client, &mut report).await;
    }
    report
}

/// Times a create whose asynchronous job failed is tried in one run.
const STEP_ATTEMPTS: u32 = 4;

/// The change to try again after `result`, if it is a create (or replacement) of an instance or
/// key whose job or operation failed: the broker failed, not the request, and the same create
/// usually succeeds a moment later. It becomes a replacement of the failed object (a new create
/// replaces a failed record on Cloud Foundry and for Service Manager instances, btp-api.md §2.7;
/// a failed Service Manager binding is deleted first, see sm.rs).
fn retry_of(c: &Change, result: &Result<(), Fail>) -> Option<Change> {
    let failed_id = match result {
        Err(Fail::Api(calm_btp::Error::JobFailed { resource_guid, .. })) => resource_guid.clone(),
        Err(Fail::Api(calm_btp::Error::OperationFailed { resource_id, .. })) => {
            Some(resource_id.clone())
        }
        _ => return None,
    };
    let creates = matches!(c.action, Action::Create | Action::Replace)
        && matches!(
            c.resource,
            Resource::ServiceInstance { .. } | Resource::ServiceKey { .. }
        );
    if !creates {
        return None;
    }
    let mut again = c.clone();
    again.action = Action::Replace;
    again.observed = failed_id.map(|guid| Observed {
        guid,
        version: String::new(),
        metadata_sha256: String::new(),
    });
    Some(again)
}

async fn step_once(
    run: &Run<'_>,
    t: Option<&Tenant>,
    lt: &LiveTenant,
    ids: &mut Ids,
    client: &mut Option<Client>,
    c: &Change,
    report: &mut TenantReport,
) -> Result<(), Fail> {
    let runtime = ensure(run, t, lt, ids, client).await?;
    steps::change(run, runtime, t, lt, ids, c).await?;
    let Resource::ServiceKey {
        instance,
        rotates: Some(key),
        ..
    } = &c.resource
    else {
        return Ok(());
    };
    match (c.action, t) {
        (Action::Rotate, Some(t)) => {
            let warning = rotate::finish(run, t, lt, ids, client, c).await?;
            report.warnings.extend(warning);
            report.delivered.push(format!("{instance}/{key}"));
        }
        (Action::DeleteRetired, _) => {
            // A key left by an interrupted rotation may be what the sink holds: deliver the
            // current key again.
            if let Some(current) = ids.keys.get(&(instance.clone(), key.clone())) {
                ids.fresh.insert(current.clone());
            }
        }
        _ => {}
    }
    Ok(())
}
