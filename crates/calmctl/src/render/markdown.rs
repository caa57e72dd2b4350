//! The Markdown plan, for a pull-request comment: a summary table, destructive changes flagged
//! at the top, one collapsible section per changed tenant, and parts that each stay under
//! GitHub's 65,536-character comment limit; when it takes several, the first is a summary of
//! bounded size whatever the number of tenants.

use std::fmt::Write;

use calm_core::{Action, Change, Plan, Resource};

use super::text::{self, Paint};
use super::{by_tenant, summary};

/// GitHub rejects comments longer than this (characters).
pub(crate) const GITHUB_LIMIT: usize = 65_536;

/// Room kept for the part header and footer.
const MARGIN: usize = 400;

/// How many tenant names the summary lists (targets, destructive changes) before it counts.
const NAMES_LISTED: usize = 25;

/// Renders the plan as one or more Markdown documents, each under `limit` characters. When the
/// plan does not fit one comment, the first part is a compact summary of bounded size (counts per
/// object and action, destructive changes named first, unchanged tenants counted) and the
/// tenants' details follow in parts 2, 3, ….
pub(crate) fn render(plan: &Plan, limit: usize) -> Vec<String> {
    let groups = by_tenant(plan);
    let head = head(plan, &groups);
    let tail = tail(plan);
    let sections: Vec<String> = groups
        .iter()
        .map(|(t, changes)| {
            let body = tenant_body(changes);
            let count = counts(changes);
            format!("<details><summary><code>{t}</code>: {count}</summary>\n\n```diff\n{body}```\n\n</details>\n\n")
        })
        .collect();
    paginate(&head, &sections, &tail, limit)
}

/// The summary: bounded whatever the plan's size.
fn head(plan: &Plan, groups: &[(&str, Vec<&Change>)]) -> String {
    // The marker lets a CI job find and replace the comments of an earlier run.
    let mut head = String::from("<!-- calmctl plan -->\n## calmctl plan\n\n");
    if let Some(targets) = &plan.targets {
        let _ = writeln!(
            head,
            "_Partial plan: only {} tenant(s): {}._\n",
            targets.len(),
            listed(targets.iter().map(|t| format!("`{t}`")))
        );
    }
    if !plan.offboarded.is_empty() {
        let _ = writeln!(
            head,
            "**Offboarding {} tenant(s): {}.** calmctl's keys, bindings and instances of these tenants are deleted: the credentials delivered from them stop working.\n",
            plan.offboarded.len(),
            listed(plan.offboarded.iter().map(|t| format!("`{t}`")))
        );
    }
    let destructive: Vec<String> = groups
        .iter()
        .filter_map(|(t, changes)| {
            let n = changes.iter().filter(|c| c.action.is_destructive()).count();
            (n > 0).then(|| format!("`{t}` ({n})"))
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
            "> [!WARNING]\n> **{n} destructive change(s)** (delete or replace) in {} tenant(s): {}\n",
            destructive.len(),
            listed(destructive.into_iter())
        );
    }
    if plan.is_empty() {
        head.push_str("**No changes.** BTP matches calm.yaml.\n");
        return head;
    }
    let _ = writeln!(head, "**{}**\n", summary(plan));
    // Rotation's and delivery's columns appear only when the plan has such changes.
    let mut columns = vec![
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Adopt,
        Action::Delete,
    ];
    columns.extend(
        [Action::Rotate, Action::DeleteRetired, Action::Deliver]
            .into_iter()
            .filter(|a| plan.count(*a) > 0),
    );
    let names: Vec<&str> = columns.iter().map(|a| a.verb()).collect();
    let _ = writeln!(
        head,
        "| object | {} |\n|---|{}",
        names.join(" | "),
        "---:|".repeat(columns.len())
    );
    for kind in KINDS {
        let row: Vec<usize> = columns
            .iter()
            .map(|a| {
                plan.changes
                    .iter()
                    .filter(|c| c.action == *a && kind_of(&c.resource) == kind)
                    .count()
            })
            .collect();
        if row.iter().any(|n| *n > 0) {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            let _ = writeln!(head, "| {kind} | {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(
        head,
        "\n{} tenant(s) change, {} unchanged.\n",
        groups.len(),
        plan.unchanged_tenants.len()
    );
    head
}

/// What follows the tenants: withheld deletions and objects left alone.
fn tail(plan: &Plan) -> String {
    let mut tail = String::new();
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
    tail
}

/// The first [`NAMES_LISTED`] names, then how many more.
fn listed(names: impl Iterator<Item = String>) -> String {
    let names: Vec<String> = names.collect();
    let mut out = names
        .iter()
        .take(NAMES_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_LISTED {
        let _ = write!(out, " and {} more", names.len() - NAMES_LISTED);
    }
    out
}

/// The rows of the summary table.
const KINDS: [&str; 5] = [
    "entitlement",
    "space",
    "Cloud Foundry role",
    "service instance",
    "key or binding",
];

fn kind_of(resource: &Resource) -> &'static str {
    match resource {
        Resource::Entitlement { .. } => KINDS[0],
        Resource::Space { .. } => KINDS[1],
        Resource::Role { .. } => KINDS[2],
        Resource::ServiceInstance { .. } => KINDS[3],
        Resource::ServiceKey { .. } => KINDS[4],
    }
}

/// "2 to create, 1 to delete" for one tenant's changes.
fn counts(changes: &[&Change]) -> String {
    let mut per: Vec<(Action, usize)> = Vec::new();
    for c in changes {
        match per.iter_mut().find(|(a, _)| *a == c.action) {
            Some((_, n)) => *n += 1,
            None => per.push((c.action, 1)),
        }
    }
    per.sort();
    per.iter()
        .map(|(a, n)| format!("{n} to {}", a.verb()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many objects that calmctl leaves alone the Markdown plan names.
const NOT_MANAGED_LISTED: usize = 50;

/// The plain-text lines of one tenant, with the `+`/`-`/`~` symbols GitHub's diff colouring uses.
fn tenant_body(changes: &[&Change]) -> String {
    let mut full = String::new();
    for c in changes {
        text::change_lines(&mut full, c, Paint(false));
    }
    let mut body = String::new();
    for line in full.lines() {
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
    let whole = head.len() + tail.len() + sections.iter().map(String::len).sum::<usize>();
    if whole <= budget {
        return vec![format!("{head}{}{tail}", sections.concat())];
    }
    // Too large for one comment: the summary is part 1 on its own, the tenants follow.
    let mut parts: Vec<String> = vec![head.to_owned(), String::new()];
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
        if !last.is_empty() && last.len() + section.len() > budget {
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
    parts[0].push_str(&format!(
        "_The tenants' changes follow in parts 2 to {total}._\n"
    ));
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

#[cfg(test)]
mod tests {
    use calm_core::{Action, Change, Plan, Resource};

    use super::{GITHUB_LIMIT, render};

    fn change(tenant: &str, resource: Resource, action: Action) -> Change {
        Change {
            tenant: tenant.to_owned(),
            resource,
            action,
            reason: None,
            fields: Vec::new(),
            observed: None,
        }
    }

    /// 10,000 tenants: every part fits a GitHub comment, the summary stays small, and each
    /// tenant is in exactly one part.
    #[test]
    fn ten_thousand_tenants_fit_and_part_one_is_a_short_summary() {
        let mut plan = Plan::default();
        for i in 0..10_000 {
            let t = format!("tenant-{i:05}");
            let instance = Resource::ServiceInstance {
                space: Some("calm".into()),
                name: "calm-api".into(),
            };
            let key = Resource::ServiceKey {
                instance: "calm-api".into(),
                name: "calm-key".into(),
                rotates: None,
            };
            if i % 100 == 0 {
                plan.changes.push(change(&t, key, Action::Delete));
            } else {
                plan.changes.push(change(&t, instance, Action::Create));
                plan.changes.push(change(&t, key, Action::Create));
            }
        }
        plan.unchanged_tenants = (0..5_000).map(|i| format!("quiet-{i}")).collect();
        let parts = render(&plan, GITHUB_LIMIT);
        assert!(parts.len() > 2, "{} parts", parts.len());
        for (i, part) in parts.iter().enumerate() {
            assert!(
                part.chars().count() < GITHUB_LIMIT,
                "part {} is {}",
                i + 1,
                part.len()
            );
        }
        let first = &parts[0];
        assert!(
            first.chars().count() < 8_000,
            "part 1 is {} characters",
            first.len()
        );
        assert!(first.contains("**100 destructive change(s)**"), "{first}");
        assert!(
            first.contains("`tenant-00000` (1)"),
            "destructive tenants are named first"
        );
        assert!(first.contains("and 75 more"), "{first}");
        assert!(
            first.contains("10000 tenant(s) change, 5000 unchanged."),
            "{first}"
        );
        assert!(!first.contains("<details>"), "part 1 holds no tenant");
        let sections: usize = parts
            .iter()
            .map(|p| p.matches("<details><summary><code>").count())
            .sum();
        assert_eq!(sections, 10_000);
        // Destructive tenants come first in the details too.
        assert!(parts[1].find("tenant-00000") < parts[1].find("tenant-00001"));
    }

    #[test]
    fn a_small_plan_is_one_comment() {
        let mut plan = Plan::default();
        plan.changes.push(change(
            "alpha",
            Resource::Space {
                org: "alpha".into(),
                name: "calm".into(),
            },
            Action::Create,
        ));
        let parts = render(&plan, GITHUB_LIMIT);
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0].contains("| space | 1 | 0 | 0 | 0 | 0 |"),
            "{}",
            parts[0]
        );
        assert!(
            parts[0].contains("<code>alpha</code>: 1 to create"),
            "{}",
            parts[0]
        );
    }

    /// Ten tenants, as one comment and split at a small limit: the summary (counts per action and
    /// runtime, destructive changes first, unchanged tenants counted) and the part links.
    #[test]
    fn ten_tenants_snapshot() {
        let mut plan = Plan::default();
        for i in 0..10 {
            let t = format!("tenant-{i:02}");
            let key = Resource::ServiceKey {
                instance: "calm-api".into(),
                name: "calm-key".into(),
                rotates: None,
            };
            if i == 3 {
                plan.changes.push(change(&t, key, Action::Delete));
                continue;
            }
            plan.changes.push(change(
                &t,
                Resource::ServiceInstance {
                    space: (i % 2 == 0).then(|| "calm".to_owned()),
                    name: "calm-api".into(),
                },
                Action::Create,
            ));
            plan.changes.push(change(&t, key, Action::Create));
        }
        plan.unchanged_tenants = vec!["quiet-a".into(), "quiet-b".into()];
        let whole = render(&plan, GITHUB_LIMIT);
        assert_eq!(whole.len(), 1);
        let split = render(&plan, 1_200);
        assert!(split.len() > 2, "{} parts", split.len());
        insta::assert_snapshot!(format!(
            "{}\n===== split at 1,200 characters =====\n{}",
            whole[0],
            split.join("\n===== next part =====\n")
        ));
    }
}
