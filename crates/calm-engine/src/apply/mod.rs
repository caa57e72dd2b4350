//! Applying a plan: the changes of [`calm_core::Plan`] carried out with the clients, tenant by
//! tenant, then credential delivery.
//!
//! ```text
//! apply(plan)
//!   ├─ refuse more deletions than max_delete (before any request)
//!   ├─ entitlements.rs  one PUT per global account (all its subaccounts), then wait per subaccount
//!   └─ per tenant, at most `parallelism` at once (tenant.rs):
//!        space → instance (cf.rs / sm.rs: wait for the plan to be visible, then for the job)
//!        → keys or bindings → delivery (deliver.rs: fetch, write to the sink, verify.rs)
//! ```
//!
//! `apply_leased` (leased.rs) wraps this for a run with changes: it takes a lease on the changing
//! tenants' subaccounts (lease/), reads them again under it and applies, chunk by chunk
//! (chunks.rs), so that two runs never work on the same tenant at once and the lease rounds
//! overlap the work.
//!
//! Nothing is remembered between runs except what BTP holds: every object carries the ownership
//! labels when it is created, and delivery is decided from the sink's state (a key whose file is
//! missing is delivered again), so a run killed at any moment is finished by the next one.
//! One tenant's failure never stops another; the [`ApplyReport`] says what happened to each.

mod cf;
mod chunks;
mod deliver;
mod entitlements;
mod ids;
pub mod lease;
mod leased;
mod report;
mod rotate;
mod saved;
mod sm;
mod tenant;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use calm_core::{Action, Desired, Live, Plan};
use futures::StreamExt;

pub use calm_btp::{Event as ClientEvent, Observer};
pub use deliver::Sink;
pub use leased::{Approved, LeasedReport, apply_leased};
pub use report::{ApplyReport, Failure, TenantReport, TenantStatus};
pub use saved::stale_changes;

use crate::{Connections, EngineError};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Tenants worked on at once.
    pub parallelism: usize,
    /// Refuse the whole run if the plan deletes more objects than this.
    pub max_delete: Option<usize>,
    /// Fetch and deliver the credentials of every key, not only new ones.
    pub refresh_credentials: bool,
    /// Get a token with each delivered key before calling it done.
    pub verify: bool,
    /// The tenants the run covers (`None`: all of the config's).
    pub targets: Option<BTreeSet<String>>,
    /// The current time (Unix seconds), written on keys retired by a rotation.
    pub now_unix: i64,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 32,
            max_delete: None,
            refresh_credentials: false,
            verify: true,
            targets: None,
            now_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        }
    }
}

/// Receives progress. Implementations must be cheap: they are called from the tasks doing the
/// work. calmctl draws progress bars or prints lines from these; the engine never prints.
pub trait Reporter: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &ApplyEvent<'_>);
}

/// Something that happened during an apply.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ApplyEvent<'a> {
    /// The run starts with this many tenants.
    Started {
        /// Tenants in the run.
        tenants: usize,
    },
    /// A step of a tenant starts, e.g. `create service_instance calm/calm-api`.
    StepStarted {
        /// The tenant.
        tenant: &'a str,
        /// The step.
        step: &'a str,
    },
    /// A step ended; `error` says why it failed.
    StepFinished {
        /// The tenant.
        tenant: &'a str,
        /// The step.
        step: &'a str,
        /// The failure, if any.
        error: Option<&'a str>,
    },
    /// A tenant is finished.
    TenantFinished {
        /// The tenant.
        tenant: &'a str,
        /// How it ended.
        status: TenantStatus,
    },
    /// A client event: rate limit, retry, polling of a job, token refresh.
    Client(&'a ClientEvent),
    /// Another run holds the lease of some of the run's subaccounts ([`lease`]); waiting.
    LeaseWaiting {
        /// The other run, `<host>-<pid>-<nonce>`.
        holder: &'a str,
        /// Subaccounts it holds that this run needs.
        subaccounts: usize,
        /// When its lease expires unless renewed.
        expires_in_secs: u64,
        /// When this run looks again.
        retry_in: std::time::Duration,
    },
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopReporter;

impl Reporter for NoopReporter {
    fn on_event(&self, _event: &ApplyEvent<'_>) {}
}

/// Forwards the clients' events to a reporter: put it in `ClientConfig::observer`.
pub fn observer(reporter: Arc<dyn Reporter>) -> Arc<dyn Observer> {
    Arc::new(Bridge(reporter))
}

struct Bridge(Arc<dyn Reporter>);

impl Observer for Bridge {
    fn on_event(&self, event: &ClientEvent) {
        self.0.on_event(&ApplyEvent::Client(event));
    }
}

/// What a run works with.
pub(crate) struct Run<'a> {
    pub(crate) desired: &'a Desired,
    pub(crate) conns: &'a Connections,
    pub(crate) options: &'a ApplyOptions,
    pub(crate) reporter: &'a dyn Reporter,
    pub(crate) cancel: &'a AtomicBool,
    pub(crate) sink: Sink,
}

impl Run<'_> {
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Every targeted tenant of the config (delivery may be due without a change), then tenants that
/// only the plan knows (removed from the config: deletions).
fn run_names(desired: &Desired, plan: &Plan, options: &ApplyOptions) -> Vec<String> {
    let mut names: Vec<String> = desired
        .tenants
        .iter()
        .filter(|t| options.targets.as_ref().is_none_or(|s| s.contains(&t.name)))
        .map(|t| t.name.clone())
        .collect();
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    for c in &plan.changes {
        if seen.insert(c.tenant.clone()) {
            names.push(c.tenant.clone());
        }
    }
    names
}

/// Refuses a plan that deletes more objects than `max_delete`, before any request.
fn refuse_too_many_deletes(plan: &Plan, options: &ApplyOptions) -> Result<(), EngineError> {
    let deletes = plan.count(Action::Delete);
    match options.max_delete {
        Some(max) if deletes > max => Err(EngineError::TooManyDeletes { deletes, max }),
        _ => Ok(()),
    }
}

/// Applies `plan`, which was computed from `live`. `cancel` set (Ctrl-C) stops starting new
/// steps; steps under way finish. Returns an error only when the run is refused before any change.
pub async fn apply(
    desired: &Desired,
    conns: &Connections,
    live: &Live,
    plan: &Plan,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
    cancel: &AtomicBool,
) -> Result<ApplyReport, EngineError> {
    refuse_too_many_deletes(plan, options)?;
    let run = Run {
        desired,
        conns,
        options,
        reporter,
        cancel,
        sink: Sink::from(&desired.delivery),
    };
    let names = run_names(desired, plan, options);
    reporter.on_event(&ApplyEvent::Started {
        tenants: names.len(),
    });
    let entitled = entitlements::apply(&run, live, plan).await;
    let reports: BTreeMap<String, TenantReport> = futures::stream::iter(names.iter().map(|name| {
        let run = &run;
        let gate = entitled.get(name).cloned();
        async move {
            let report = tenant::apply(run, name, live, plan, gate).await;
            reporter.on_event(&ApplyEvent::TenantFinished {
                tenant: name,
                status: report.status,
            });
            (name.clone(), report)
        }
    }))
    .buffer_unordered(options.parallelism.max(1))
    .collect()
    .await;
    Ok(ApplyReport {
        tenants: reports.into_values().collect(),
        interrupted: run.cancelled(),
    })
}
