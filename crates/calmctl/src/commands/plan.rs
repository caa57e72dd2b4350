//! `calmctl plan`: read live state in bulk, diff it against calm.yaml, print the plan.

use std::io::Write;

use calm_btp::ClientConfig;
use calm_core::{PlanOptions, SavedPlan};
use calm_engine::ops;

use crate::cli::{Format, PlanArgs};
use crate::commands::session::{Session, fail, load_config};
use crate::render::{markdown, text};
use crate::{Context, Status, output};

pub(crate) fn plan(args: &PlanArgs, ctx: &Context) -> Status {
    let Some(loaded) = load_config(&args.config.file, ctx) else {
        return Status::Failure;
    };
    let targets = match ops::select(&loaded.desired, &args.targets.tenants, &args.targets.select) {
        Ok(t) => t,
        Err(e) => return fail(&e.to_string()),
    };
    let offboard: std::collections::BTreeSet<String> = args.offboard.iter().cloned().collect();
    // Offboarding plans only the tenants it names, and any others targeted.
    let targets = match (targets, offboard.is_empty()) {
        (targets, true) => targets,
        (None, false) => Some(offboard.clone()),
        (Some(t), false) => Some(t.into_iter().chain(offboard.iter().cloned()).collect()),
    };
    crate::runtime::block_on(async {
        let config = ClientConfig::default();
        let session = match Session::open(&loaded.desired, ctx, &args.sandbox, config).await {
            Ok(s) => s,
            Err(message) => return fail(&message),
        };
        let options = PlanOptions {
            allow_delete: args.allow_delete,
            targets,
            now_unix: ctx.now_unix,
            rotate: Default::default(),
            enforce_parameters: args.enforce_parameters,
            offboard,
        };
        let status = match ops::plan(&session.desired, &session.connections, &options).await {
            Ok((live, plan)) => {
                output::stderr(&output::render_problems(ctx, &located(&loaded, &live)));
                let identity = calm_engine::apply::lease::Identity::of_this_process();
                let conns = &session.connections;
                // Leases are told, not planned: a failure to list them only loses the note.
                if let Ok(held) = calm_engine::apply::lease::leases(conns, &identity).await {
                    output::stderr(&leases_note(&held));
                }
                print(args, ctx, &loaded, plan).unwrap_or_else(|m| fail(&m))
            }
            Err(e) => {
                output::stderr(&output::render_error(&e));
                Status::Failure
            }
        };
        session.close().await;
        status
    })
}

fn print(
    args: &PlanArgs,
    ctx: &Context,
    loaded: &calm_config::Loaded,
    plan: calm_core::Plan,
) -> Result<Status, String> {
    let status = if !plan.retrieve_errors.is_empty() {
        // Credentials to retrieve are missing or refused: an error for those tenants.
        Status::Failure
    } else if plan.has_no_work() {
        Status::Success
    } else {
        Status::Changes
    };
    match args.format {
        Format::Text => write_stdout(&text::render(&plan, text::Paint(ctx.stdout_color)))?,
        Format::Json => write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?
        ))?,
        Format::Markdown => {
            let parts = markdown::render(&plan, markdown::GITHUB_LIMIT);
            match &args.out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                    for (i, part) in parts.iter().enumerate() {
                        let path = dir.join(format!("plan-{}.md", i + 1));
                        std::fs::write(&path, part)
                            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                        output::stderr(&format!("wrote {}\n", path.display()));
                    }
                }
                None => write_stdout(&parts.join("\n"))?,
            }
        }
    }
    if let Some(path) = &args.out {
        let saved = SavedPlan {
            format_version: calm_core::plan::PLAN_FORMAT_VERSION,
            calmctl_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: ctx.now_unix,
            config_sha256: loaded.sha256.clone(),
            sources: loaded
                .sources
                .iter()
                .map(|s| calm_core::PlanSource {
                    path: s.name.clone(),
                    sha256: s.sha256.clone(),
                })
                .collect(),
            allow_delete: args.allow_delete,
            enforce_parameters: args.enforce_parameters,
            plan,
        };
        let json = serde_json::to_string_pretty(&saved).map_err(|e| e.to_string())?;
        let mut file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        file.write_all(json.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        output::stderr(&format!(
            "saved the plan to {}; apply it with `calmctl apply {}`\n",
            path.display(),
            path.display()
        ));
    }
    Ok(status)
}

/// The leases found on the tenants' subaccounts: who holds each and for how long yet, and which
/// no longer count (their run is gone or they expired), which the next apply removes.
fn leases_note(held: &[calm_engine::apply::lease::SeenLease]) -> String {
    let mut out = String::new();
    if held.is_empty() {
        return out;
    }
    out.push_str(&format!("Leases held on {} subaccount(s):\n", held.len()));
    for l in held {
        let state = if l.live {
            format!("expires in {} s", l.expires_in_secs)
        } else if l.expires_in_secs <= 0 {
            format!(
                "expired {} s ago: the next apply removes it",
                -l.expires_in_secs
            )
        } else {
            "its run is gone: the next apply removes it".to_owned()
        };
        out.push_str(&format!(
            "    {}  held by {}  {state}\n",
            l.subaccount, l.holder
        ));
    }
    out
}

fn write_stdout(text: &str) -> Result<(), String> {
    output::stdout(text).map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Tenants whose Cloud Foundry org could not be located, reported at their place in calm.yaml
/// (or the inventory): the tenant's `org` when that is what was not found, else its name.
fn located(loaded: &calm_config::Loaded, live: &calm_core::Live) -> Vec<calm_config::Problem> {
    loaded
        .desired
        .tenants
        .iter()
        .filter_map(|t| {
            let cf = live.tenants.get(&t.name)?.cf.as_ref()?;
            let problem = cf.problem.as_ref()?;
            let (span, label) = match t.org_span {
                Some(span) if cf.org_not_found => (span, "not on the org's landscape"),
                _ => (t.span, "this tenant"),
            };
            Some(loaded.files.error(
                "calm::cf_location",
                problem.clone(),
                span,
                label,
                "the plan blocks this tenant's Cloud Foundry changes until it is fixed; the other \
                 tenants are planned as usual",
            ))
        })
        .collect()
}
