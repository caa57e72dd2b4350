//! The apply operation: check a saved plan, read and plan, have the plan approved, then apply it:
//! under lease when it changes anything, with Ctrl-C stopping new steps. `calmctl apply` and
//! `calmctl rotate` are this operation with different requests.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use calm_core::{Desired, Plan, PlanOptions, PlanSource, SavedPlan};

use crate::apply::lease::LeaseOptions;
use crate::apply::{
    ApplyEvent, ApplyOptions, Approved, LeasedReport, Reporter, apply_leased, stale_changes,
};
use crate::{Connections, EngineError};

/// A plan saved by `calmctl plan --out`, and what it must still match.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The plan as it was saved.
    pub plan: SavedPlan,
    /// SHA-256 of what the config is made from now: calmctl's version, calm.yaml and every
    /// inventory file (it must be what the plan was made from).
    pub config_sha256: String,
    /// The files the config is made from now, to name the one that changed.
    pub sources: Vec<PlanSource>,
    /// The oldest a saved plan may be, in seconds.
    pub max_age_secs: i64,
}

/// What to apply.
pub struct ApplyRequest<'a> {
    /// The config.
    pub desired: &'a Desired,
    /// A saved plan to apply instead of a fresh one.
    pub saved: Option<Saved>,
    /// The tenants the run covers (`None`: all); a saved plan's own targets win.
    pub targets: Option<BTreeSet<String>>,
    /// Include deletions (a saved plan says for itself).
    pub allow_delete: bool,
    /// Keys to rotate whatever their age (`calmctl rotate`).
    pub rotate: BTreeSet<(String, String)>,
    /// Overwrite parameters calmctl could not read (a saved plan says for itself).
    pub enforce_parameters: bool,
    /// Tenants to offboard (`calmctl offboard`): all their objects are deleted (a saved plan says
    /// for itself).
    pub offboard: BTreeSet<String>,
    /// How to apply.
    pub options: ApplyOptions,
    /// How to lease.
    pub lease: LeaseOptions,
}

/// How an apply ended.
pub enum ApplyOutcome {
    /// The plan was shown and not approved: nothing was changed.
    Declined,
    /// The plan was applied (or had nothing to do); the report says how each tenant ended.
    Applied(LeasedReport),
}

/// Runs an apply. `approve` sees the plan (the saved one, or the fresh one) before anything is
/// changed and says whether to go on. Returns an error only when the run is refused before any
/// change (a saved plan that no longer fits, a failed read, too many deletions, a held lease).
pub async fn apply(
    conns: &Connections,
    request: ApplyRequest<'_>,
    approve: impl FnOnce(&Plan) -> bool,
    reporter: Arc<dyn Reporter>,
) -> Result<ApplyOutcome, EngineError> {
    if let Some(saved) = &request.saved {
        check_saved(saved, request.options.now_unix)?;
    }
    let saved_plan = request.saved.as_ref().map(|s| &s.plan);
    // A saved plan is checked as of when it was made: the keys it rotates and the stamps in
    // their names are the ones the reviewer saw.
    let plan_options = PlanOptions {
        allow_delete: saved_plan.map_or(request.allow_delete, |s| s.allow_delete),
        targets: saved_plan
            .and_then(|s| s.plan.targets.clone())
            .map(|t| t.into_iter().collect())
            .or(request.targets),
        now_unix: saved_plan.map_or(request.options.now_unix, |s| s.created_at),
        rotate: request.rotate,
        enforce_parameters: saved_plan.map_or(request.enforce_parameters, |s| s.enforce_parameters),
        offboard: match saved_plan {
            Some(s) => s.plan.offboarded.iter().cloned().collect(),
            None => request.offboard,
        },
    };
    let options = ApplyOptions {
        targets: plan_options.targets.clone(),
        offboard: plan_options.offboard.clone(),
        ..request.options
    };
    let (live, fresh) = crate::plan(request.desired, conns, &plan_options).await?;
    let mut plan = match saved_plan {
        Some(saved) => {
            let changes = stale_changes(&saved.plan, &fresh);
            if !changes.is_empty() {
                return Err(EngineError::StalePlan { changes });
            }
            saved.plan.clone()
        }
        None => fresh,
    };
    // --refresh-credentials delivers retrieved credentials again whether the sink has them or not.
    if options.refresh_credentials {
        let (lines, errors) =
            crate::retrieve::plan(request.desired, conns, plan_options.targets.as_ref(), true)
                .await?;
        plan.retrieve = lines;
        plan.retrieve_errors = errors;
    }
    // A read-only Cloud Management key plans as usual but cannot write: stop before asking.
    if !plan.is_empty() {
        crate::check_write_access(request.desired, conns, &plan).await?;
    }
    if !approve(&plan) {
        return Ok(ApplyOutcome::Declined);
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(cancel_on_ctrl_c(
        cancel.clone(),
        conns.btp().config().cancel.clone(),
        reporter.clone(),
    ));
    // A run that changes nothing takes no lease and writes nothing (delivery may still be due);
    // otherwise the changing tenants are leased, read again and applied in chunks, so that two
    // runs never work on one tenant at once and a concurrent run's work is seen.
    let result = if plan.is_empty() {
        crate::apply(
            request.desired,
            conns,
            &live,
            &plan,
            &options,
            reporter.as_ref(),
            &cancel,
        )
        .await
        .map(|report| LeasedReport {
            report,
            lost_to: None,
            unreleased: 0,
            retrieved: Default::default(),
        })
    } else {
        let approved = Approved {
            plan: &plan,
            live: &live,
            saved: saved_plan.is_some(),
        };
        apply_leased(
            request.desired,
            conns,
            approved,
            &plan_options,
            &options,
            &request.lease,
            reporter.as_ref(),
            cancel.clone(),
        )
        .await
    };
    // Read-only deliveries last: they write nothing to BTP, so they need no lease.
    let result = match result {
        Ok(mut leased) if !cancel.load(Ordering::SeqCst) => {
            leased.retrieved = crate::retrieve::deliver(
                request.desired,
                conns,
                &plan.retrieve,
                &options.exec,
                options.verify,
                options.parallelism,
            )
            .await;
            leased
                .retrieved
                .failed
                .extend(plan.retrieve_errors.iter().cloned());
            leased.retrieved.failed.sort();
            Ok(leased)
        }
        other => other,
    };
    watcher.abort();
    // Leases of runs that are gone (killed) or expired are removed from the accounts'
    // subaccounts, also where this run changed nothing: none is left for people to wonder about.
    // Best effort: one that stays expires, or the next run takes it over.
    let identity = &request.lease.identity;
    match crate::apply::lease::sweep(conns, identity).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "stale leases removed"),
        Err(e) => tracing::debug!(error = %e, "stale leases not removed"),
    }
    result.map(ApplyOutcome::Applied)
}

/// Refuses a saved plan made from another config, or older than allowed.
fn check_saved(saved: &Saved, now_unix: i64) -> Result<(), EngineError> {
    if let Some(message) = changed_since(&saved.plan, &saved.config_sha256, &saved.sources) {
        return Err(EngineError::SavedPlan(message));
    }
    let age = now_unix - saved.plan.created_at;
    if age > saved.max_age_secs {
        return Err(EngineError::SavedPlan(format!(
            "the plan is {} h old, older than --max-plan-age {} h; make a new plan",
            age / 3600,
            saved.max_age_secs / 3600
        )));
    }
    Ok(())
}

/// Why a saved plan no longer matches what it was made from: another calmctl version, or a changed
/// calm.yaml or inventory file (named). `None` when everything is as it was. `sha256` and
/// `sources` describe the config now (`calm_config::Loaded`).
pub fn changed_since(plan: &SavedPlan, sha256: &str, sources: &[PlanSource]) -> Option<String> {
    let version = env!("CARGO_PKG_VERSION");
    if plan.calmctl_version != version {
        return Some(format!(
            "the plan was made by calmctl {}, this is calmctl {version}; make a new plan",
            plan.calmctl_version
        ));
    }
    if plan.config_sha256 == sha256 {
        return None;
    }
    let unchanged = |s: &PlanSource, list: &[PlanSource]| {
        list.iter()
            .any(|o| o.path == s.path && o.sha256 == s.sha256)
    };
    let mut changed: Vec<&str> = sources
        .iter()
        .filter(|s| !unchanged(s, &plan.sources))
        .map(|s| s.path.as_str())
        .collect();
    changed.extend(
        plan.sources
            .iter()
            .filter(|s| !sources.iter().any(|o| o.path == s.path))
            .map(|s| s.path.as_str()),
    );
    if changed.is_empty() {
        changed.push("calm.yaml or inventory");
    }
    Some(format!(
        "the plan was made from a different {}; make a new plan",
        changed.join(", ")
    ))
}

/// Ctrl-C stops starting new steps and ends every wait for a job at once; the requests under way
/// finish, leases are given back.
async fn cancel_on_ctrl_c(
    cancel: Arc<AtomicBool>,
    waits: calm_btp::Cancel,
    reporter: Arc<dyn Reporter>,
) {
    if tokio::signal::ctrl_c().await.is_ok() {
        cancel.store(true, Ordering::SeqCst);
        waits.cancel();
        reporter.on_event(&ApplyEvent::Interrupted);
    }
}
