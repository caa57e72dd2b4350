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
//! labels when it is created, and every key its delivery record (calm_core::delivered: pending,
//! failed, unverified or what was delivered where), so a delivery that failed or was cut short is
//! due in the next plan, and a run killed at any moment is finished by the next one.
//! One tenant's failure never stops another; the [`ApplyReport`] says what happened to each.

// Layers, bottom to top; a module imports only from layers below it (checked by
// tests/layers.rs):
//   base:    events, report, run, ids, exec, sink, verify, saved, lease/
//   runtime: runtime/ (the Cloud Foundry / Service Manager seam)
//   steps:   steps, deliver, rotate, entitlements
//   driver:  tenant, chunks, leased, and `apply` below
mod chunks;
mod deliver;
mod entitlements;
mod events;
mod exec;
mod ids;
pub mod lease;
mod leased;
mod report;
mod rotate;
mod run;
mod runtime;
mod saved;
mod sink;
mod steps;
mod tenant;
mod verify;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use calm_core::{Desired, Live, Plan};
use futures::StreamExt;

pub use events::{ApplyEvent, ClientEvent, NoopReporter, Observer, Reporter, observer};
pub use exec::{ExecSetup, guard_main};
pub use leased::{LeasedReport, apply_leased};
pub use report::{ApplyReport, Failure, TenantReport, TenantStatus};
pub use run::ApplyOptions;
pub use saved::{Approved, stale_changes};
pub use sink::Sink;
pub(crate) use verify::token as verify_token;

use crate::{Connections, EngineError};
use run::Run;

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
    run::refuse_too_many_deletes(plan, options)?;
    let run = Run {
        desired,
        conns,
        options,
        reporter,
        cancel,
        sink: Sink::from(&desired.delivery),
    };
    let names = run::run_names(desired, plan, options);
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
