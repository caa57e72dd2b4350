//! How an apply under lease (leased.rs) cuts its tenants into chunks, and how a chunk's read
//! under the lease is held against the plan that was approved.

use std::collections::{BTreeSet, HashMap};

use calm_core::{Action, Change, Live, Plan};
use futures::StreamExt;

use super::entitlements::Gates;
use super::report::Failure;
use super::run::Run;
use super::saved::{Approved, same};
use crate::EngineError;

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
        // A create approved where Service Manager could not be read covers adopting what the
        // read under the lease found of that name (the plan said so), or finding it done.
        let unread = approved
            .live
            .tenants
            .get(name)
            .is_some_and(|lt| lt.service_manager_unread);
        let covers = |a: &Change, f: &Change| {
            same(a, f)
                || (unread
                    && a.action == Action::Create
                    && f.action == Action::Adopt
                    && a.tenant == f.tenant
                    && a.resource == f.resource)
        };
        let unapproved: Vec<&&Change> = now
            .iter()
            .filter(|f| !was.iter().any(|a| covers(a, f)))
            .collect();
        let dropped = was
            .iter()
            .filter(|a| !now.iter().any(|f| covers(a, f)))
            .filter(|a| !(unread && a.action == Action::Create))
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

/// Opens Service Manager (creating its access binding) in the subaccounts of the chunk's tenants
/// whose plan could not read it, so that the read under the lease sees what exists there before
/// anything is created: no create that conflicts with an instance nobody could see.
pub(super) async fn open_unread(
    run: &Run<'_>,
    live: &Live,
    names: &[String],
) -> Result<(), EngineError> {
    let unread: Vec<(&str, &str)> = names
        .iter()
        .filter_map(|n| {
            let lt = live.tenants.get(n).filter(|lt| lt.service_manager_unread)?;
            let t = run.desired.tenants.iter().find(|t| &t.name == n)?;
            Some((t.account.as_str(), lt.subaccount_guid.as_deref()?))
        })
        .collect();
    let opened: Vec<Result<_, EngineError>> = futures::stream::iter(
        unread
            .into_iter()
            .map(|(account, guid)| run.conns.service_manager(account, guid, true)),
    )
    .buffer_unordered(16)
    .collect()
    .await;
    opened.into_iter().try_for_each(|r| r.map(drop))
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
