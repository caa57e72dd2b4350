//! Plans and reports rendered for people: text for terminals and CI logs, Markdown for pull
//! requests. The JSON form is the `Plan` (or the `ApplyReport`) itself, serialised. No renderer
//! sees a secret: plans and reports hold none.

pub(crate) mod markdown;
pub(crate) mod report;
pub(crate) mod text;

use calm_core::{Action, Plan};
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
        [Action::Rotate, Action::DeleteRetired]
            .into_iter()
            .filter(|a| plan.count(*a) > 0)
            .map(|a| format!("{} to {}", plan.count(a), a.verb())),
    )
    .collect();
    parts.join(", ")
}

/// Tenants with changes, in plan order, destructive ones first.
pub(crate) fn tenants(plan: &Plan) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for c in &plan.changes {
        if !names.contains(&c.tenant.as_str()) {
            names.push(&c.tenant);
        }
    }
    let destructive = |t: &str| {
        plan.changes
            .iter()
            .any(|c| c.tenant == t && c.action.is_destructive())
    };
    names.sort_by_key(|t| !destructive(t));
    names
}

/// A JSON value on one line, as short as it can be read.
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Pretty JSON for values long enough to deserve several lines.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
