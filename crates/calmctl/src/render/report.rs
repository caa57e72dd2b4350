//! The final report of `apply` as text for stderr: one line per tenant that needs attention and a
//! count per status. Holds no secret: keys are named, their credentials are in the sink.

use calm_engine::apply::Sink;
use calm_engine::{ApplyReport, TenantStatus};

pub(crate) fn text(report: &ApplyReport, sink: &Sink) -> String {
    let mut out = String::from("\n");
    tenant_lines(report, &mut out);
    summary(report, sink, &mut out);
    out
}

/// A line per tenant, with what was delivered, the error and the warnings under it.
fn tenant_lines(report: &ApplyReport, out: &mut String) {
    let width = report
        .tenants
        .iter()
        .map(|t| t.tenant.len())
        .max()
        .unwrap_or(0);
    for t in &report.tenants {
        let summary = match t.status {
            TenantStatus::Done if t.done.is_empty() => "no changes".to_owned(),
            TenantStatus::Done => format!("{} step(s)", t.done.len()),
            _ => format!("{} step(s) done, {} left", t.done.len(), t.remaining.len()),
        };
        out.push_str(&format!(
            "  {:width$}  {:8} {summary}\n",
            t.tenant,
            t.status.as_str()
        ));
        if !t.delivered.is_empty() {
            out.push_str(&format!(
                "  {:width$}  {:8} delivered {}\n",
                "",
                "",
                t.delivered.join(", ")
            ));
        }
        if let Some(e) = &t.error {
            out.push_str(&format!("      {}: {}\n", e.step, e.message));
            if let Some(code) = &e.code {
                out.push_str(&format!("      code: {code}\n"));
            }
            if let Some(id) = &e.correlation_id {
                out.push_str(&format!("      correlation id: {id}\n"));
            }
        }
        for w in &t.warnings {
            out.push_str(&format!("      warning: {w}\n"));
        }
    }
}

/// The count per status, where credentials went, and what to do next.
fn summary(report: &ApplyReport, sink: &Sink, out: &mut String) {
    let count = |s: TenantStatus| report.count(s);
    out.push_str(&format!(
        "\nApply {}: {} done, {} failed, {} skipped, {} pending.\n",
        if report.interrupted {
            "interrupted"
        } else if report.converged() {
            "complete"
        } else {
            "incomplete"
        },
        count(TenantStatus::Done),
        count(TenantStatus::Failed),
        count(TenantStatus::Skipped),
        count(TenantStatus::Pending),
    ));
    if report.tenants.iter().any(|t| !t.delivered.is_empty()) {
        match sink {
            Sink::Dir(dir) => out.push_str(&format!(
                "Credentials were written to {}/<tenant>/<key>.json (mode 0600).\n",
                dir.display()
            )),
            Sink::Exec(argv) => out.push_str(&format!(
                "Credentials were passed to `{}`.\n",
                argv.join(" ")
            )),
        }
    }
    if !report.converged() {
        out.push_str(
            "Run `calmctl apply` again to continue; it picks up where this run stopped.\n",
        );
    }
}
