//! `calmctl apply`: plan and apply in one go (asking first on a terminal), or apply a saved plan
//! (`calm_engine::ops::apply` checks that nothing it touches changed since it was made).

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use calm_btp::ClientConfig;
use calm_core::{Delivery, Desired, Plan, SavedPlan};
use calm_engine::apply::lease::LeaseOptions;
use calm_engine::apply::{ApplyOptions, ExecSetup, LeasedReport, Sink};
use calm_engine::ops::{self, ApplyOutcome, ApplyRequest, Saved};
use calm_engine::{ApplyReport, Reporter};

use crate::cli::{ApplyArgs, RunArgs, SandboxArgs};
use crate::commands::session::{Session, fail, load_config};
use crate::progress::{Bars, Lines};
use crate::render::{report, text};
use crate::{Context, Status, output};

pub(crate) fn apply(args: &ApplyArgs, ctx: &Context) -> Status {
    let Some(loaded) = load_config(&args.config.file, ctx) else {
        return Status::Failure;
    };
    let saved = match args.saved_plan.as_deref().map(read_saved) {
        None => None,
        Some(Ok(plan)) => Some(Saved {
            plan,
            config_sha256: loaded.sha256.clone(),
            sources: loaded
                .sources
                .iter()
                .map(|s| calm_core::PlanSource {
                    path: s.name.clone(),
                    sha256: s.sha256.clone(),
                })
                .collect(),
            max_age_secs: i64::try_from(args.max_plan_age.saturating_mul(3600)).unwrap_or(i64::MAX),
        }),
        Some(Err(message)) => return fail(&message),
    };
    if let Some(saved) = &saved
        && let Some(message) = extra_targeting(args, &saved.plan)
    {
        return fail(&message);
    }
    let targets = match ops::select(&loaded.desired, &args.targets.tenants, &args.targets.select) {
        Ok(t) => t,
        Err(e) => return fail(&e.to_string()),
    };
    let request = ApplyRequest {
        desired: &loaded.desired,
        saved,
        targets,
        allow_delete: args.allow_delete,
        rotate: BTreeSet::new(),
        enforce_parameters: args.enforce_parameters,
        offboard: BTreeSet::new(),
        options: ApplyOptions {
            max_delete: args
                .max_delete
                .or_else(|| (ctx.env)("CI").filter(|v| !v.is_empty()).map(|_| 0)),
            refresh_credentials: args.refresh_credentials,
            ..options(&args.run, ctx, &loaded.desired)
        },
        lease: lease_options(&args.run),
    };
    run(request, &args.run, &args.sandbox, ctx)
}

/// The apply options `apply` and `rotate` share.
pub(crate) fn options(run: &RunArgs, ctx: &Context, desired: &Desired) -> ApplyOptions {
    ApplyOptions {
        parallelism: run.parallelism,
        verify: !run.no_verify,
        now_unix: ctx.now_unix,
        exec: exec_setup(desired, ctx),
        ..ApplyOptions::default()
    }
}

/// How `delivery.exec` commands run: under calmctl's own guard (`calmctl __sink-guard`), which
/// kills them if calmctl dies, with `PATH`, `HOME` and the variables `delivery.env` names — and
/// nothing else of calmctl's environment, which holds its credentials.
fn exec_setup(desired: &Desired, ctx: &Context) -> ExecSetup {
    let Delivery::Exec(exec) = &desired.delivery else {
        return ExecSetup::default();
    };
    let names = ["PATH", "HOME"]
        .into_iter()
        .chain(exec.env.iter().map(String::as_str));
    let env = names
        .filter_map(|name| (ctx.env)(name).map(|value| (name.to_owned(), value)))
        .collect();
    let guard = std::env::current_exe()
        .ok()
        .map(|exe| vec![exe.display().to_string(), "__sink-guard".to_owned()]);
    ExecSetup { guard, env }
}

pub(crate) fn lease_options(run: &RunArgs) -> LeaseOptions {
    let mut options = LeaseOptions {
        wait: Duration::from_secs(run.lease_wait),
        ttl: Duration::from_secs(run.lease_ttl.max(1)),
        ..LeaseOptions::default()
    };
    if let Some(host) = &run.lease_host {
        options.identity.host = host.clone();
    }
    if let Some(namespace) = &run.lease_namespace {
        options.identity.namespace = (namespace != "none").then(|| namespace.clone());
    }
    options
}

/// Runs an apply request with progress on stderr, the plan shown (and asked about) first.
pub(crate) fn run(
    request: ApplyRequest<'_>,
    args: &RunArgs,
    sandbox: &SandboxArgs,
    ctx: &Context,
) -> Status {
    let saved = request.saved.is_some();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !saved && !args.auto_approve && !interactive {
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
    let ask = !saved && !args.auto_approve;
    let approve = |plan: &Plan| {
        let rendered = text::render(plan, text::Paint(ctx.stderr_color));
        match &bars {
            Some(bars) => bars.print(&rendered),
            None => output::stderr(&rendered),
        }
        !ask || plan.is_empty() || confirm(plan)
    };
    crate::runtime::block_on(async {
        let session = match Session::open(request.desired, ctx, sandbox, config).await {
            Ok(s) => s,
            Err(message) => return fail(&message),
        };
        let sink = Sink::from(&session.desired.delivery);
        let request = ApplyRequest {
            desired: &session.desired,
            ..request
        };
        let outcome = ops::apply(&session.connections, request, approve, reporter).await;
        if let Some(bars) = &bars {
            bars.finish();
        }
        let status = match outcome {
            Ok(ApplyOutcome::Applied(leased)) => finish(args, &sink, &leased),
            Ok(ApplyOutcome::Declined) => fail("apply cancelled; nothing was changed"),
            Err(e) => {
                output::stderr(&output::render_error(&e));
                Status::Failure
            }
        };
        session.close().await;
        status
    })
}

fn finish(args: &RunArgs, sink: &Sink, leased: &LeasedReport) -> Status {
    let mut status = write_report(args, sink, &leased.report);
    output::stderr(&crate::render::retrieved::report_text(&leased.retrieved));
    if !leased.retrieved.failed.is_empty() {
        status = Status::Failure;
    }
    if leased.unreleased > 0 {
        output::stderr(
            "warning: some lease labels could not be removed; they expire on their own\n",
        );
    }
    match &leased.lost_to {
        Some(other) => fail(&format!(
            "another calmctl run ({other}) took over the lease during this run; no new steps were started after that"
        )),
        None => status,
    }
}

fn write_report(args: &RunArgs, sink: &Sink, report: &ApplyReport) -> Status {
    output::stderr(&report::text(report, sink));
    if let Some(path) = &args.report {
        let written = serde_json::to_string_pretty(report)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, format!("{json}\n")).map_err(|e| e.to_string()));
        if let Err(e) = written {
            return fail(&format!("cannot write {}: {e}", path.display()));
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

/// A saved plan applies exactly what was reviewed: its own tenants and deletions. Targeting given
/// beside it would silently be ignored, so it is a usage error.
fn extra_targeting(args: &ApplyArgs, saved: &SavedPlan) -> Option<String> {
    let mut given = Vec::new();
    if !args.targets.tenants.is_empty() {
        given.push("--tenant");
    }
    if !args.targets.select.is_empty() {
        given.push("--select");
    }
    if args.allow_delete {
        given.push("--allow-delete");
    }
    if given.is_empty() {
        return None;
    }
    let covers = match &saved.plan.targets {
        Some(t) => format!("tenant(s) {}", t.join(", ")),
        None => "every tenant".to_owned(),
    };
    Some(format!(
        "{} cannot be used with a saved plan: it applies what was reviewed ({covers}, deletions {}); drop {}, or make a new plan with them (`calmctl plan ... --out plan.json`)",
        given.join(", "),
        if saved.allow_delete {
            "included"
        } else {
            "withheld"
        },
        if given.len() == 1 { "it" } else { "them" }
    ))
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
