//! Plans and reports rendered for people: text for terminals and CI logs, Markdown for pull
//! requests. The JSON form is the `Plan` (or the `ApplyReport`) itself, serialised. No renderer
//! sees a secret: plans and reports hold none.

pub(crate) mod markdown;
pub(crate) mod report;
pub(crate) mod retrieved;
pub(crate) mod text;

use std::collections::HashMap;

use calm_core::{Action, Change, Plan};
use serde_json::Value;

/// "3 to create, 1 to update, 0 to delete".
pub(crate) fn summary(plan: &Plan) -> String {
    let parts: Vec<String> = [
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Adopt,
        Action::Delete,
    ]
    .into_iter()
    .map(|a| format!("{} to {}", plan.count(a), a.verb()))
    .chain(
        // Rotation's actions are named only when present, to keep the usual line short.
        [Action::Rotate, Action::DeleteRetired, Action::Deliver]
            .into_iter()
            .filter(|a| plan.count(*a) > 0)
            .map(|a| format!("{} to {}", plan.count(a), a.verb())),
    )
    .collect();
    parts.join(", ")
}

/// The changes grouped by tenant, in one pass: tenants with a destructive change first, the
/// others in plan order.
pub(crate) fn by_tenant(plan: &Plan) -> Vec<(&str, Vec<&Change>)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(&str, Vec<&Change>)> = Vec::new();
    for c in &plan.changes {
        let i = *index.entry(c.tenant.as_str()).or_insert_with(|| {
            groups.push((c.tenant.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(c);
    }
    // A stable sort: the plan's order within each kind.
    groups.sort_by_key(|(_, changes)| !changes.iter().any(|c| c.action.is_destructive()));
    groups
}

/// A JSON value on one line, as short as it can be read.
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Pretty JSON for values long enough to deserve several lines.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
