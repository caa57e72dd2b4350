//! `calmctl apply`: plan and apply in one go (asking first on a terminal), or apply a saved plan
//! after checking that nothing it touches changed since it was made.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use calm_btp::ClientConfig;
use calm_core::{Plan, PlanOptions, SavedPlan};
use calm_engine::apply::lease::LeaseOptions;
use calm_engine::apply::{ApplyOptions, Approved, LeasedReport, Sink, apply_leased, stale_changes};
use calm_engine::{ApplyReport, Reporter};

use super::apply_report;
use crate::cli::ApplyArgs;
use crate::commands::session::{Session, load_config, targets};
use crate::progress::{Bars, Lines};
use crate::render::text;
use crate::{Context, Status, output};

fn fail(message: &str) -> Status {
    output::stderr(&format!("error: {message}\n"));
    Status::Failure
}

pub(crate) fn apply(args: &ApplyArgs, ctx: &Context) -> Status {
    match load_config(&args.file, ctx) {
        Some(loaded) => run(args, ctx, &loaded, BTreeSet::new()),
        None => Status::Failure,
    }
}

/// Plans (with `rotate`: these keys are rotated whatever their age) and applies.
pub(crate) fn run(
    args: &ApplyArgs,
    ctx: &Context,
    loaded: &calm_config::Loaded,
    rotate: BTreeSet<(String, String)>,
) -> Status {
    let saved = match args.saved_plan.as_deref().map(read_saved) {
        None => None,
        Some(Ok(saved)) => Some(saved),
        Some(Err(message)) => return fail(&message),
    };
    if let Some(saved) = &saved {
        if saved.config_sha256 != loaded.sha256 {
            return fail(&format!(
                "the plan was made from a different {}; make a new plan",
                args.file.display()
            ));
        }
        let age = ctx.now_unix - saved.created_at;
        let max = i64::try_from(args.max_plan_age.saturating_mul(3600)).unwrap_or(i64::MAX);
        if age > max {
            return fail(&format!(
                "the plan is {} h old, older than --max-plan-age {} h; make a new plan",
                age / 3600,
                args.max_plan_age
            ));
        }
    }
    let mut targets = match targets(&loaded.desired, &args.tenants, &[]) {
        Ok(t) => t,
        Err(message) => return fail(&message),
    };
    if let Some(saved_targets) = saved.as_ref().and_then(|s| s.plan.targets.clone()) {
        targets = Some(saved_targets.into_iter().collect());
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if saved.is_none() && !args.auto_approve && !interactive {
        return fail(
            "no terminal to ask for confirmation: review with `calmctl plan`, then run `calmctl apply --auto-approve`",
        );
    }
    let bars =
        (!args.no_progress && std::io::stderr().is_terminal()).then(|| Arc::new(Bars::new()));
    let reporter: Arc<dyn Reporter> = match &bars {
        Some(bars) => bars.clone(),
        None => Arc::new(Lines),
    };
    let config = ClientConfig {
        observer: calm_engine::apply::observer(reporter.clone()),
        ..ClientConfig::default()
    };
    let max_delete = args
        .max_delete
        .or_else(|| (ctx.env)("CI").filter(|v| !v.is_empty()).map(|_| 0));
    let options = ApplyOptions {
        parallelism: args.parallelism,
        max_delete,
        refresh_credentials: args.refresh_credentials,
        verify: !args.no_verify,
        targets: targets.clone(),
        now_unix: ctx.now_unix,
    };
    let allow_delete = saved.as_ref().map_or(args.allow_delete, |s| s.allow_delete);
    crate::runtime::block_on(async {
        let session = match Session::open_with(
            &loaded.desired,
            ctx,
            args.sandbox,
            args.sandbox_state.as_deref(),
            config,
        )
        .await
        {
            Ok(s) => s,
            Err(message) => return fail(&message),
        };
        // A saved plan is checked as of when it was made: the keys it rotates and the stamps in
        // their names are the ones the reviewer saw.
        let plan_options = PlanOptions {
            allow_delete,
            targets,
            now_unix: saved.as_ref().map_or(ctx.now_unix, |s| s.created_at),
            rotate,
        };
        // Read and plan; the tenants that change are then leased, read again and applied in
        // chunks (calm_engine::apply_leased), so that two runs never work on one tenant at once
        // and a concurrent run's work is seen. A run that changes nothing takes no lease and
        // writes nothing.
        let cancel = Arc::new(AtomicBool::new(false));
        let (live, fresh) =
            match calm_engine::plan(&session.desired, &session.connections, &plan_options).await {
                Ok(read) => read,
                Err(e) => {
                    output::stderr(&output::render_error(&e));
                    let _ = session.close().await;
                    return Status::Failure;
                }
            };
        let plan = match &saved {
            Some(saved) => {
                let stale = stale_changes(&saved.plan, &fresh);
                if !stale.is_empty() {
                    let list: String = stale.iter().map(|s| format!("  {s}\n")).collect();
                    output::stderr(&format!(
                        "error: refusing the saved plan: {} object(s) changed since it was made:\n{list}  help: make a new plan with `calmctl plan --out`\n",
                        stale.len()
                    ));
                    let _ = session.close().await;
                    return Status::Failure;
                }
                saved.plan.clone()
            }
            None => fresh,
        };
        let rendered = text::render(&plan, text::Paint(ctx.stderr_color));
        match &bars {
            Some(bars) => bars.print(&rendered),
            None => output::stderr(&rendered),
        }
        if saved.is_none() && !args.auto_approve && !plan.is_empty() && !confirm(&plan) {
            output::stderr("apply cancelled; nothing was changed\n");
            let _ = session.close().await;
            return Status::Failure;
        }
        let watcher = tokio::spawn({
            let cancel = cancel.clone();
            async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.store(true, Ordering::SeqCst);
                    output::stderr(
                        "interrupted: no new steps are started; waiting for the steps under way\n",
                    );
                }
            }
        });
        let result = if plan.is_empty() {
            calm_engine::apply(
                &session.desired,
                &session.connections,
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
            })
        } else {
            let mut lease_options = LeaseOptions {
                wait: Duration::from_secs(args.lease_wait),
                ttl: Duration::from_secs(args.lease_ttl.max(1)),
                ..LeaseOptions::default()
            };
            if let Some(host) = &args.lease_host {
                lease_options.identity.host = host.clone();
            }
            if let Some(namespace) = &args.lease_namespace {
                lease_options.identity.namespace = (namespace != "none").then(|| namespace.clone());
            }
            let approved = Approved {
                plan: &plan,
                live: &live,
                saved: saved.is_some(),
            };
            apply_leased(
                &session.desired,
                &session.connections,
                approved,
                &plan_options,
                &options,
                &lease_options,
                reporter.as_ref(),
                cancel.clone(),
            )
            .await
        };
        watcher.abort();
        if let Some(bars) = &bars {
            bars.finish();
        }
        let status = match result {
            Ok(leased) => {
                let status = finish(args, &session, &leased.report);
                if leased.unreleased > 0 {
                    output::stderr(
                        "warning: some lease labels could not be removed; they expire on their own\n",
                    );
                }
                match leased.lost_to {
                    Some(other) => fail(&format!(
                        "another calmctl run ({other}) took over the lease during this run; no new steps were started after that"
                    )),
                    None => status,
                }
            }
            Err(e) => {
                output::stderr(&output::render_error(&e));
                Status::Failure
            }
        };
        let _ = session.close().await;
        status
    })
}

fn finish(args: &ApplyArgs, session: &Session, report: &ApplyReport) -> Status {
    let sink = Sink::from(&session.desired.delivery);
    output::stderr(&apply_report::text(report, &sink));
    if let Some(path) = &args.report {
        let written = serde_json::to_string_pretty(report)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, format!("{json}\n")).map_err(|e| e.to_string()));
        if let Err(e) = written {
            output::stderr(&format!("error: cannot write {}: {e}\n", path.display()));
            return Status::Failure;
        }
    }
    if report.converged() {
        Status::Success
    } else {
        Status::Failure
    }
}

fn read_saved(path: &Path) -> Result<SavedPlan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: SavedPlan = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a saved plan: {e}", path.display()))?;
    if saved.format_version != calm_core::plan::PLAN_FORMAT_VERSION {
        return Err(format!(
            "{} has plan format {}, this calmctl reads {}",
            path.display(),
            saved.format_version,
            calm_core::plan::PLAN_FORMAT_VERSION
        ));
    }
    Ok(saved)
}

/// Asks on the terminal; only `yes` applies.
fn confirm(plan: &Plan) -> bool {
    output::stderr(&format!(
        "\nApply {} change(s)? Only 'yes' is accepted: ",
        plan.changes.len()
    ));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}
