//! How an apply under lease (leased.rs) cuts its tenants into chunks, and how a chunk's read
//! under the lease is held against the plan that was approved.

use std::collections::{BTreeSet, HashMap};

use calm_core::{Change, Plan};

use super::entitlements::Gates;
use super::report::Failure;
use super::saved::{Approved, same};

/// The fresh plan of a chunk, keeping the tenants whose changes are the approved ones (or, unless
/// the plan was saved, some of them: another run did the rest); the others fail with what moved.
pub(super) fn reconcile(
    approved: &Approved<'_>,
    mut fresh: Plan,
    names: &[String],
) -> (Plan, Gates) {
    let mut gates = Gates::new();
    for name in names {
        let was: Vec<&Change> = approved
            .plan
            .changes
            .iter()
            .filter(|c| &c.tenant == name)
            .collect();
        let now: Vec<&Change> = fresh.changes.iter().filter(|c| &c.tenant == name).collect();
        let unapproved: Vec<&&Change> = now
            .iter()
            .filter(|f| !was.iter().any(|a| same(a, f)))
            .collect();
        let dropped = was
            .iter()
            .filter(|a| !now.iter().any(|f| same(a, f)))
            .count();
        if unapproved.is_empty() && (dropped == 0 || !approved.saved) {
            continue;
        }
        let what: Vec<String> = match unapproved.first() {
            Some(c) => vec![format!(
                "{} {} was not in the approved plan",
                c.action.verb(),
                c.resource.label()
            )],
            None => vec![format!("{dropped} approved change(s) are no longer needed")],
        };
        gates.insert(
            name.clone(),
            Err(Failure::other(
                "compare with the approved plan",
                format!(
                    "the tenant changed since the plan was made ({}); run `calmctl plan` again",
                    what.join("; ")
                ),
            )),
        );
    }
    let names: BTreeSet<&String> = names.iter().collect();
    fresh
        .changes
        .retain(|c| names.contains(&c.tenant) && !gates.contains_key(&c.tenant));
    (fresh, gates)
}

/// Splits `names` (in order) into chunks of `first`, then twice, four times … as many names,
/// never separating names with the same `key` (tenants of one subaccount share its lease).
pub(super) fn chunked(
    names: &[String],
    key: impl Fn(&str) -> String,
    first: usize,
) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for name in names {
        let k = key(name);
        match index.get(&k) {
            Some(&i) => groups[i].push(name.clone()),
            None => {
                index.insert(k, groups.len());
                groups.push(vec![name.clone()]);
            }
        }
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = first.max(1);
    let mut current: Vec<String> = Vec::new();
    for group in groups {
        current.extend(group);
        if current.len() >= size {
            out.push(std::mem::take(&mut current));
            size = size.saturating_mul(2);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
