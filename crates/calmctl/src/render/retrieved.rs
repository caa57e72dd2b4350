//! Read-only deliveries (`retrieve:`) in the text plan and in the apply report: existing
//! credentials, SAP's generated ones among them, delivered without creating or changing anything
//! in BTP. Their own line kind (`>`), so a reviewer tells them from calmctl's changes at a glance.

use std::fmt::Write;

use calm_core::Plan;
use calm_core::retrieved::{RetrieveError, RetrieveLine, RetrieveReport};

/// The plan's read-only deliveries and the tenants whose credentials cannot be retrieved.
pub(crate) fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.retrieve.is_empty() {
        let _ = writeln!(
            out,
            "Read-only deliveries of existing credentials (nothing in BTP is created or changed): {}",
            plan.retrieve.len()
        );
        let mut tenant = "";
        for l in &plan.retrieve {
            if l.tenant != tenant {
                tenant = &l.tenant;
                let _ = writeln!(out, "{tenant}");
            }
            let _ = writeln!(out, "    {}", line(l));
        }
        out.push('\n');
    }
    errors(&mut out, &plan.retrieve_errors);
    out
}

/// `> retrieve service_key SAPCloudALM/ABC_100_00 (sub-1) -> credentials/t/ABC_100_00.json (why)`.
fn line(l: &RetrieveLine) -> String {
    format!(
        "> retrieve {} (subaccount {}) -> {} ({})",
        l.label(),
        l.subaccount,
        l.to,
        l.reason
    )
}

fn errors(out: &mut String, errors: &[RetrieveError]) {
    if errors.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Cannot retrieve credentials for {} tenant(s):",
        errors.len()
    );
    for e in errors {
        let _ = writeln!(out, "    {}: {}", e.tenant, e.message);
    }
    out.push('\n');
}

/// The summary word for a plan with only read-only deliveries.
pub(crate) fn summary(plan: &Plan) -> String {
    format!(
        "{} read-only deliver{}",
        plan.retrieve.len(),
        if plan.retrieve.len() == 1 { "y" } else { "ies" }
    )
}

/// What the read-only deliveries of an apply did.
pub(crate) fn report_text(report: &RetrieveReport) -> String {
    let mut out = String::new();
    if report.delivered.is_empty() && report.failed.is_empty() {
        return out;
    }
    for l in &report.delivered {
        let _ = writeln!(
            out,
            "  {}  delivered {} (read-only) to {}",
            l.tenant,
            l.label(),
            l.to
        );
    }
    errors(&mut out, &report.failed);
    let _ = writeln!(
        out,
        "Read-only deliveries: {} delivered, {} tenant(s) failed.",
        report.delivered.len(),
        report.failed.len()
    );
    out
}
