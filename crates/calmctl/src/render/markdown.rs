//! The Markdown plan, for a pull-request comment: a summary table, destructive changes flagged
//! at the top, one collapsible section per changed tenant, and parts that each stay under
//! GitHub's 65,536-character comment limit.

use std::fmt::Write;

use calm_core::{Action, Plan};

use super::text::{self, Paint};
use super::{summary, tenants};

/// GitHub rejects comments longer than this (characters).
pub(crate) const GITHUB_LIMIT: usize = 65_536;

/// Room kept for the part header and footer.
const MARGIN: usize = 400;

/// Renders the plan as one or more Markdown documents, each under `limit` characters.
pub(crate) fn render(plan: &Plan, limit: usize) -> Vec<String> {
    // The marker lets a CI job find and replace the comments of an earlier run.
    let mut head = String::from("<!-- calmctl plan -->\n## calmctl plan\n\n");
    if let Some(targets) = &plan.targets {
        let _ = writeln!(
            head,
            "_Partial plan: only tenant(s) {}._\n",
            targets
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let destructive: Vec<&str> = tenants(plan)
        .into_iter()
        .filter(|t| {
            plan.changes
                .iter()
                .any(|c| c.tenant == *t && c.action.is_destructive())
        })
        .collect();
    if !destructive.is_empty() {
        let n = plan
            .changes
            .iter()
            .filter(|c| c.action.is_destructive())
            .count();
        let _ = writeln!(
            head,
            "> [!WARNING]\n> **{n} destructive change(s)** (delete or replace) in: {}\n",
            destructive
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if plan.is_empty() {
        head.push_str("**No changes.** BTP matches calm.yaml.\n");
    } else {
        let _ = writeln!(head, "**{}**\n", summary(plan));
        // Rotation's columns appear only when the plan rotates or deletes retired keys.
        let mut columns = vec![
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Adopt,
            Action::Delete,
        ];
        columns.extend(
            [Action::Rotate, Action::DeleteRetired]
                .into_iter()
                .filter(|a| plan.count(*a) > 0),
        );
        let names: Vec<&str> = columns.iter().map(|a| a.verb()).collect();
        let _ = writeln!(
            head,
            "| tenant | {} |\n|---|{}",
            names.join(" | "),
            "---:|".repeat(columns.len())
        );
        for t in tenants(plan) {
            let n = |a: &Action| {
                plan.changes
                    .iter()
                    .filter(|c| c.tenant == t && c.action == *a)
                    .count()
                    .to_string()
            };
            let counts: Vec<String> = columns.iter().map(n).collect();
            let _ = writeln!(head, "| `{t}` | {} |", counts.join(" | "));
        }
        head.push('\n');
    }
    let mut tail = String::new();
    if !plan.unchanged_tenants.is_empty() {
        let _ = writeln!(
            tail,
            "{} tenant(s) unchanged.\n",
            plan.unchanged_tenants.len()
        );
    }
    if !plan.withheld_deletes.is_empty() {
        let _ = writeln!(
            tail,
            "{} deletion(s) withheld; run `calmctl plan --allow-delete` to include them.\n",
            plan.withheld_deletes.len()
        );
    }
    if !plan.not_managed.is_empty() {
        // Listed for the reviewer, but bounded: every tenant may carry SAP's generated keys.
        let _ = writeln!(
            tail,
            "<details><summary>{} object(s) not managed by calmctl are left alone</summary>\n",
            plan.not_managed.len()
        );
        for n in plan.not_managed.iter().take(NOT_MANAGED_LISTED) {
            let _ = writeln!(
                tail,
                "- `{}` {}: {}",
                n.tenant,
                n.resource.label(),
                n.reason
            );
        }
        if plan.not_managed.len() > NOT_MANAGED_LISTED {
            let _ = writeln!(
                tail,
                "- and {} more (see the text or JSON plan)",
                plan.not_managed.len() - NOT_MANAGED_LISTED
            );
        }
        let _ = writeln!(tail, "\n</details>\n");
    }
    let sections: Vec<String> = tenants(plan)
        .into_iter()
        .map(|t| {
            let mut one = plan.clone();
            one.changes.retain(|c| c.tenant == t);
            let body = tenant_body(&one, t);
            let count = summary(&one);
            format!("<details><summary><code>{t}</code>: {count}</summary>\n\n```diff\n{body}```\n\n</details>\n\n")
        })
        .collect();
    paginate(&head, &sections, &tail, limit)
}

/// How many objects that calmctl leaves alone the Markdown plan names.
const NOT_MANAGED_LISTED: usize = 50;

/// The plain-text lines of one tenant, with the `+`/`-`/`~` symbols GitHub's diff colouring uses.
fn tenant_body(plan: &Plan, tenant: &str) -> String {
    let full = text::render(plan, Paint(false));
    let mut lines = full.lines().skip_while(|l| *l != tenant).skip(1);
    let mut body = String::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        // GitHub colours a diff line by its first character: move the symbol to the front and
        // keep the indentation after it.
        let trimmed = line.trim_start();
        let indent = " ".repeat(line.len() - trimmed.len());
        let mut chars = trimmed.chars();
        let _ = match chars.next() {
            Some(c @ ('+' | '-' | '~' | '=')) => writeln!(body, "{c}{indent}{}", chars.as_str()),
            _ => writeln!(body, " {indent}{trimmed}"),
        };
    }
    body.replace("```", "'''")
}

fn paginate(head: &str, sections: &[String], tail: &str, limit: usize) -> Vec<String> {
    let budget = limit.saturating_sub(MARGIN).max(1_000);
    let mut parts: Vec<String> = vec![head.to_owned()];
    for section in sections {
        let section = if section.len() > budget {
            // A single tenant larger than a whole comment: cut it, and say so.
            let mut cut = budget - 200;
            while !section.is_char_boundary(cut) {
                cut -= 1;
            }
            format!(
                "{}\n```\n\n_(section cut: run `calmctl plan` for the full text)_\n\n</details>\n\n",
                &section[..cut]
            )
        } else {
            section.clone()
        };
        let last = parts.last_mut().expect("parts is never empty");
        if last.len() + section.len() > budget {
            parts.push(section);
        } else {
            last.push_str(&section);
        }
    }
    let last = parts.last_mut().expect("parts is never empty");
    if last.len() + tail.len() > budget {
        parts.push(tail.to_owned());
    } else {
        last.push_str(tail);
    }
    let total = parts.len();
    if total == 1 {
        return parts;
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "<!-- calmctl plan part {} of {total} -->\n_Part {} of {total}._\n\n{p}",
                i + 1,
                i + 1
            )
        })
        .collect()
}
