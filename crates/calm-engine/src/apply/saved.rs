//! Saved plans: before applying a plan made earlier, the objects it touches are read again and
//! compared with what the plan observed. A reviewer approved *those* changes to *those* objects;
//! if either moved, the plan is refused rather than applied to something nobody reviewed.

use calm_core::{Change, Live, Plan};

/// What a run was approved to do.
pub struct Approved<'a> {
    /// The plan shown (or saved) and approved.
    pub plan: &'a Plan,
    /// The live state that plan was computed from.
    pub live: &'a Live,
    /// A saved plan: a tenant whose changes differ in any way under the lease fails.
    pub saved: bool,
}

/// The changes of `saved` that a fresh plan (same config, same options) no longer contains
/// unchanged, as human labels: each names an object that changed since the plan was made (or a
/// change that is no longer needed). Empty when the saved plan is still exact.
pub fn stale_changes(saved: &Plan, fresh: &Plan) -> Vec<String> {
    saved
        .changes
        .iter()
        .filter(|s| !fresh.changes.iter().any(|f| same(s, f)))
        .map(|s| {
            let why = match fresh
                .changes
                .iter()
                .find(|f| f.tenant == s.tenant && f.resource == s.resource)
            {
                Some(f) if f.action != s.action => {
                    format!(
                        "now needs {} instead of {}",
                        f.action.verb(),
                        s.action.verb()
                    )
                }
                Some(_) => "changed since the plan was made".to_owned(),
                None => "no longer needs this change".to_owned(),
            };
            format!("{}: {} ({why})", s.tenant, s.resource.label())
        })
        .collect()
}

/// The same change to the same object, as observed then.
pub(super) fn same(a: &Change, b: &Change) -> bool {
    a.tenant == b.tenant
        && a.resource == b.resource
        && a.action == b.action
        && a.observed == b.observed
}

#[cfg(test)]
mod tests {
    use calm_core::plan::Observed;
    use calm_core::{Action, Resource};

    use super::*;

    fn change(version: &str) -> Change {
        Change {
            tenant: "acme".into(),
            resource: Resource::ServiceInstance {
                space: None,
                name: "calm-api".into(),
            },
            action: Action::Update,
            reason: None,
            fields: Vec::new(),
            observed: Some(Observed {
                guid: "g1".into(),
                version: version.into(),
                metadata_sha256: "m".into(),
            }),
        }
    }

    #[test]
    fn an_object_changed_since_the_plan_is_named() {
        let saved = Plan {
            changes: vec![change("v1")],
            ..Plan::default()
        };
        assert!(stale_changes(&saved, &saved.clone()).is_empty());
        let fresh = Plan {
            changes: vec![change("v2")],
            ..Plan::default()
        };
        assert_eq!(
            stale_changes(&saved, &fresh),
            vec!["acme: service_instance calm-api (changed since the plan was made)"]
        );
        assert_eq!(
            stale_changes(&saved, &Plan::default()),
            vec!["acme: service_instance calm-api (no longer needs this change)"]
        );
    }
}
