//! Entitlement changes: one PUT per global account carrying all of its subaccounts, then one
//! wait, polling the account's assignments, until every subaccount's assignment is settled. Accounts run concurrently; within one account
//! there is a single request at a time, so calmctl never trips BTP's entitlement lock (30004)
//! on itself. Subaccounts whose assignment job failed are sent again, up to four times in all.
//! A batch BTP refuses for one subaccount's sake is halved until that subaccount is alone
//! (`isolated`), so one tenant asking for more than the account has fails alone.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use calm_btp::entitlements::{PlanAssignment, Quota};
use calm_core::{Action, DEFAULT_PLAN, Live, Plan, Resource, SERVICE_OFFERING};

use super::events::ApplyEvent;
use super::report::Failure;
use super::run::Run;

/// Per tenant with an entitlement change: `Ok(step)` once assigned, or why it failed.
pub(crate) type Gates = HashMap<String, Result<String, Failure>>;

struct Item {
    tenant: String,
    subaccount_guid: String,
    quota: Quota,
    step: String,
}

pub(crate) async fn apply(run: &Run<'_>, live: &Live, plan: &Plan) -> Gates {
    let mut by_account: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    let mut gates = Gates::new();
    for c in &plan.changes {
        let Resource::Entitlement { amount, .. } = &c.resource else {
            continue;
        };
        let step = format!("{} {}", c.action.verb(), c.resource.label());
        if c.action == Action::Delete {
            // The plan never removes entitlements; refuse rather than guess.
            gates.insert(
                c.tenant.clone(),
                Err(Failure::other(
                    &step,
                    "removing entitlements is not supported",
                )),
            );
            continue;
        }
        let tenant = run.desired.tenants.iter().find(|t| t.name == c.tenant);
        let guid = live
            .tenants
            .get(&c.tenant)
            .and_then(|lt| lt.subaccount_guid.clone());
        let (Some(tenant), Some(guid)) = (tenant, guid) else {
            gates.insert(
                c.tenant.clone(),
                Err(Failure::other(&step, "the subaccount was not found")),
            );
            continue;
        };
        let quota = match amount {
            Some(a) => Quota::Amount(f64::from(*a)),
            None => Quota::Enable(true),
        };
        by_account
            .entry(tenant.account.clone())
            .or_default()
            .push(Item {
                tenant: c.tenant.clone(),
                subaccount_guid: guid,
                quota,
                step,
            });
    }
    if run.cancelled() {
        return gates;
    }
    let results = futures::future::join_all(
        by_account
            .into_iter()
            .map(|(account, items)| account_batch(run, account, items)),
    )
    .await;
    for part in results {
        gates.extend(part);
    }
    gates
}

async fn account_batch(run: &Run<'_>, account: String, items: Vec<Item>) -> Gates {
    let mut gates = Gates::new();
    for item in &items {
        run.reporter.on_event(&ApplyEvent::StepStarted {
            tenant: &item.tenant,
            step: &item.step,
        });
    }
    let conn = match run.conns.account(&account) {
        Ok(conn) => conn,
        Err(e) => {
            for item in items {
                let failure = Failure::other(&item.step, e.to_string());
                finish(run, &item, Some(&failure));
                gates.insert(item.tenant, Err(failure));
            }
            return gates;
        }
    };
    let mut pending = items;
    for attempt in 1..=ATTEMPTS {
        let (done, retry) = isolated(run, conn, pending, attempt == ATTEMPTS).await;
        gates.extend(done);
        if retry.is_empty() {
            break;
        }
        // A failed assignment job is BTP's broker failing for that subaccount; the same request
        // usually succeeds a moment later, so it is sent again (only for the failed part).
        tokio::time::sleep(Duration::from_secs(2 * u64::from(attempt))).await;
        pending = retry;
    }
    gates
}

/// Whether BTP refused a batch for what it holds (400 such as "Not enough quota", 404 for an
/// unknown subaccount, btp-api.md §3.3) rather than for the caller or the moment. The router's
/// 404 (no such host) is no answer of the Entitlements service: halving would not help.
fn refused_for_content(e: &calm_btp::Error) -> bool {
    matches!(e.status(), Some(400 | 404 | 422)) && !e.is_router_error()
}

/// [`assign`], where a batch BTP refuses for its content is halved and each half sent on its
/// own, down to the single subaccount BTP refuses, whose tenant fails with BTP's message: one
/// tenant over quota (or naming a subaccount BTP does not know) fails alone and the others
/// converge in the same run. A refused PUT changes nothing, so halving costs one request per
/// level; a batch BTP accepts costs nothing more.
async fn isolated(
    run: &Run<'_>,
    conn: &crate::AccountConnection,
    items: Vec<Item>,
    last: bool,
) -> (Gates, Vec<Item>) {
    let mut gates = Gates::new();
    let mut retry = Vec::new();
    let mut todo = vec![items];
    while let Some(batch) = todo.pop() {
        match assign(run, conn, batch, last).await {
            Assigned::Done(done, again) => {
                gates.extend(done);
                retry.extend(again);
            }
            Assigned::Refused(mut batch, _) if batch.len() > 1 => {
                let second = batch.split_off(batch.len() / 2);
                todo.push(second);
                todo.push(batch);
            }
            Assigned::Refused(batch, e) => {
                for item in batch {
                    let failure = Failure::api(&item.step, &e);
                    finish(run, &item, Some(&failure));
                    gates.insert(item.tenant, Err(failure));
                }
            }
        }
    }
    (gates, retry)
}

/// What one PUT of a batch came to.
enum Assigned {
    /// Finished items, and those worth sending again (their assignment job failed).
    Done(Gates, Vec<Item>),
    /// BTP refused the batch for what it asks (nothing changed): the items and the refusal.
    Refused(Vec<Item>, calm_btp::Error),
}

/// Assignment jobs sent per batch before a failed subaccount is reported.
const ATTEMPTS: u32 = 4;

/// One PUT for `items`, then one wait for all of them. Returns the finished items and, unless
/// `last`, those whose assignment job failed and is worth sending again; or the batch back when
/// BTP refused it for its content.
async fn assign(
    run: &Run<'_>,
    conn: &crate::AccountConnection,
    items: Vec<Item>,
    last: bool,
) -> Assigned {
    let mut gates = Gates::new();
    let mut retry = Vec::new();
    // Enable-type and amount-type changes of the same plan go in one body; BTP takes a list of
    // subaccounts per plan.
    let change = PlanAssignment {
        service_name: SERVICE_OFFERING.into(),
        plan_name: DEFAULT_PLAN.into(),
        plan_unique_identifier: None,
        subaccounts: items
            .iter()
            .map(|i| (i.subaccount_guid.clone(), i.quota))
            .collect(),
    };
    let put = conn
        .entitlements
        .assign(std::slice::from_ref(&change))
        .await;
    let job = match put {
        Ok(job) => job,
        Err(e) if refused_for_content(&e) => return Assigned::Refused(items, e),
        Err(e) => {
            return Assigned::Done(fail_all(run, items, &e), retry);
        }
    };
    // The job (if any) covers the whole batch; the per-subaccount state says which part failed.
    if let Some(job) = &job {
        let _ = conn.entitlements.wait_for_job(job).await;
    }
    // One poll of the account's assignments covers every subaccount of the batch.
    let guids: Vec<String> = items.iter().map(|i| i.subaccount_guid.clone()).collect();
    let waited = conn
        .entitlements
        .wait_for_assignments(&guids, SERVICE_OFFERING, DEFAULT_PLAN)
        .await;
    let outcomes = match waited {
        Ok(outcomes) => outcomes,
        Err(e) => {
            return Assigned::Done(fail_all(run, items, &e), retry);
        }
    };
    for (item, (_, outcome)) in items.into_iter().zip(outcomes) {
        match outcome {
            Ok(_) => {
                finish(run, &item, None);
                gates.insert(item.tenant.clone(), Ok(item.step));
            }
            Err(calm_btp::Error::OperationFailed { .. }) if !last && !run.cancelled() => {
                retry.push(item);
            }
            // Ctrl-C ended the wait: no gate, so the tenant is skipped and the next run
            // assigns (or finds) the entitlement.
            Err(calm_btp::Error::Cancelled { .. }) => {
                run.reporter.on_event(&ApplyEvent::StepFinished {
                    tenant: &item.tenant,
                    step: &item.step,
                    error: Some("interrupted"),
                });
            }
            Err(e) => {
                let failure = Failure::api(&item.step, &e);
                finish(run, &item, Some(&failure));
                gates.insert(item.tenant, Err(failure));
            }
        }
    }
    Assigned::Done(gates, retry)
}

/// Every item of a batch failed with the same error.
fn fail_all(run: &Run<'_>, items: Vec<Item>, e: &calm_btp::Error) -> Gates {
    let mut gates = Gates::new();
    for item in items {
        let failure = Failure::api(&item.step, e);
        finish(run, &item, Some(&failure));
        gates.insert(item.tenant, Err(failure));
    }
    gates
}

fn finish(run: &Run<'_>, item: &Item, failure: Option<&Failure>) {
    run.reporter.on_event(&ApplyEvent::StepFinished {
        tenant: &item.tenant,
        step: &item.step,
        error: failure.map(|f| f.message.as_str()),
    });
}
