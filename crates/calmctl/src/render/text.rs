//! The text plan: Terraform-style symbols, grouped per tenant, destructive changes first,
//! unchanged tenants collapsed into one count, and a closing summary line.

use std::fmt::Write;

use calm_core::plan::FieldChange;
use calm_core::{Action, Change, Plan};
use similar::{ChangeTag, TextDiff};

use super::{by_tenant, compact, pretty, summary};

/// ANSI colours, or none.
#[derive(Clone, Copy)]
pub(crate) struct Paint(pub(crate) bool);

impl Paint {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }
    fn action(self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update | Action::Deliver => "33",
            Action::Replace | Action::Delete | Action::DeleteRetired => "31",
            Action::Adopt => "36",
            Action::Rotate => "35",
        };
        self.paint(code, text)
    }
    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// Values longer than this are shown as a line diff of their pretty JSON.
const LONG: usize = 60;

pub(crate) fn render(plan: &Plan, paint: Paint) -> String {
    let mut out = String::new();
    if let Some(targets) = &plan.targets {
        let _ = writeln!(
            out,
            "Partial plan: only tenant(s) {}.\n",
            targets.join(", ")
        );
    }
    if !plan.offboarded.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            paint.bold(&format!(
                "Offboarding {}: calmctl's keys, bindings and instances of {} are deleted, so the credentials delivered from them stop working.",
                plan.offboarded.join(", "),
                if plan.offboarded.len() == 1 { "this tenant" } else { "these tenants" }
            ))
        );
    }
    let destructive = plan
        .changes
        .iter()
        .filter(|c| c.action.is_destructive())
        .count();
    if destructive > 0 {
        let _ = writeln!(
            out,
            "{}\n",
            paint.paint(
                "31;1",
                &format!("Destructive changes: {destructive} (listed first).")
            )
        );
    }
    for (tenant, changes) in by_tenant(plan) {
        let _ = writeln!(out, "{}", paint.bold(tenant));
        for change in changes {
            change_lines(&mut out, change, paint);
        }
        out.push('\n');
    }
    if !plan.unchanged_tenants.is_empty() {
        let n = plan.unchanged_tenants.len();
        let _ = writeln!(
            out,
            "{n} tenant{} unchanged.",
            if n == 1 { "" } else { "s" }
        );
    }
    for d in &plan.disagreements {
        let _ = writeln!(out, "note: tenant `{}`: {}", d.tenant, d.message);
    }
    if !plan.not_managed.is_empty() {
        let _ = writeln!(
            out,
            "Not managed by calmctl, left alone: {}",
            plan.not_managed.len()
        );
        for n in &plan.not_managed {
            let _ = writeln!(
                out,
                "    {}  {}  ({})",
                n.tenant,
                n.resource.label(),
                n.reason
            );
        }
    }
    if !plan.protected.is_empty() {
        let _ = writeln!(out, "Protected, never deleted: {}", plan.protected.len());
        for p in &plan.protected {
            let _ = writeln!(out, "    {}  {}", p.tenant, p.resource.label());
        }
    }
    if !plan.withheld_deletes.is_empty() {
        let n = plan.withheld_deletes.len();
        let _ = writeln!(
            out,
            "{n} deletion{} withheld: calmctl manages {} but calm.yaml no longer lists {}; run with --allow-delete to include {}.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "an object" } else { "objects" },
            if n == 1 { "it" } else { "them" },
            if n == 1 { "it" } else { "them" },
        );
    }
    out.push_str(&super::retrieved::plan_text(plan));
    if plan.has_no_work() {
        let _ = writeln!(out, "{}", paint.bold("No changes. BTP matches calm.yaml."));
    } else if plan.is_empty() {
        let _ = writeln!(
            out,
            "{} no change to BTP, {}.",
            paint.bold("Plan:"),
            super::retrieved::summary(plan)
        );
    } else {
        let _ = writeln!(out, "{} {}.", paint.bold("Plan:"), summary(plan));
    }
    out
}

pub(crate) fn change_lines(out: &mut String, change: &Change, paint: Paint) {
    let symbol = change.action.symbol();
    // A delivery changes nothing on the key itself: say what is done to it.
    let verb = if change.action == Action::Deliver {
        "deliver "
    } else {
        ""
    };
    let head = format!("  {symbol:>3} {verb}{}", change.resource.label());
    let _ = write!(out, "{}", paint.action(change.action, &head));
    match &change.reason {
        Some(reason) => {
            let _ = writeln!(out, "  ({reason})");
        }
        None => out.push('\n'),
    }
    for field in &change.fields {
        field_lines(out, field, paint);
    }
}

fn field_lines(out: &mut String, field: &FieldChange, paint: Paint) {
    let indent = "          ";
    match (&field.before, &field.after) {
        (None, Some(after)) if field.unknown_before => {
            let _ = writeln!(
                out,
                "{indent}~ {} = {}  (current value cannot be read)",
                field.path,
                compact(after)
            );
        }
        (None, Some(after)) => {
            let _ = writeln!(
                out,
                "{}",
                paint.action(
                    Action::Create,
                    &format!("{indent}+ {} = {}", field.path, compact(after))
                )
            );
        }
        (Some(before), None) => {
            let _ = writeln!(
                out,
                "{}",
                paint.action(
                    Action::Delete,
                    &format!("{indent}- {} = {}", field.path, compact(before))
                )
            );
        }
        (Some(before), Some(after)) => {
            let (b, a) = (compact(before), compact(after));
            if b.len() + a.len() <= LONG {
                let _ = writeln!(
                    out,
                    "{}",
                    paint.action(
                        Action::Update,
                        &format!("{indent}~ {}: {b} -> {a}", field.path)
                    )
                );
            } else {
                let _ = writeln!(
                    out,
                    "{}",
                    paint.action(Action::Update, &format!("{indent}~ {}:", field.path))
                );
                let (before, after) = (pretty(before), pretty(after));
                for line in TextDiff::from_lines(&before, &after).iter_all_changes() {
                    let (sign, tint) = match line.tag() {
                        ChangeTag::Delete => ("-", Some(Action::Delete)),
                        ChangeTag::Insert => ("+", Some(Action::Create)),
                        ChangeTag::Equal => (" ", None),
                    };
                    let text =
                        format!("{indent}    {sign} {}", line.value().trim_end_matches('\n'));
                    let _ = writeln!(
                        out,
                        "{}",
                        tint.map_or(text.clone(), |t| paint.action(t, &text))
                    );
                }
            }
        }
        (None, None) => {}
    }
}
