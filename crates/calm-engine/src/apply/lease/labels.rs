//! Label IO of the lease: the subaccounts a run leases ([`Place`]), one listing per account to
//! find whose leases are where, and the write of one subaccount's lease label (btp-api.md §3.2).
//!
//! `PUT …/labels` replaces the whole set and the Accounts API has no compare-and-set, so every
//! write reads that subaccount's labels right before it (`GET …/labels`) and puts back all of
//! them with only the lease label changed: a label someone else set since the last listing
//! survives. A set left empty is removed with `DELETE …/labels`, the API's way to remove all
//! labels. A subaccount takes at most 10 label keys (FIDELITY.md §5): one that has 10 and no
//! lease cannot be leased, and is refused by name.

use std::collections::{BTreeMap, HashMap, HashSet};

use calm_btp::accounts::{AccountsClient, SubaccountFilter};
use futures::StreamExt;

use calm_core::live::labels::ONBOARDED;

use super::holder::{Found, LEASE_LABEL, parse};
use crate::{Connections, EngineError};

/// The most label keys a subaccount takes.
pub(super) const MAX_KEYS: usize = 10;

#[derive(Clone)]
pub(super) struct Place {
    /// The account (connection) the subaccount belongs to: labels are listed per account.
    pub(super) account: String,
    pub(super) accounts: AccountsClient,
    pub(super) guid: String,
    /// Its subdomain, to name it in messages.
    pub(super) subdomain: String,
    /// The runtimes of the tenants leased there, for calmctl's mark on the subaccount
    /// ([`calm_core::live::labels::ONBOARDED`]), written with the lease.
    pub(super) marks: Vec<&'static str>,
}

/// Labels per subaccount GUID, as one listing per account returned them.
pub(super) type Labels = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The labels of every place's subaccount: one subaccount listing per account (the Accounts API
/// returns labels with each subaccount), not one read per subaccount.
pub(super) async fn labels_of(places: &[Place]) -> Result<Labels, EngineError> {
    let mut out = Labels::new();
    let mut listed: Vec<&str> = Vec::new();
    for place in places {
        if listed.contains(&place.account.as_str()) {
            continue;
        }
        listed.push(&place.account);
        let all = place
            .accounts
            .list_subaccounts(&SubaccountFilter::default())
            .await
            .map_err(EngineError::api(format!(
                "reading the lease labels of account `{}`",
                place.account
            )))?;
        out.extend(all.into_iter().map(|s| (s.guid, s.labels)));
    }
    Ok(out)
}

/// The refusal for a subaccount whose label keys are all taken by others.
pub(super) fn no_room(place: &Place, labels: usize) -> EngineError {
    EngineError::LeaseNoLabelRoom {
        subaccount: place.subdomain.clone(),
        guid: place.guid.clone(),
        labels,
        max: MAX_KEYS,
    }
}

/// Whether a subaccount with these labels can take a lease label.
pub(super) fn has_room(labels: Option<&BTreeMap<String, Vec<String>>>) -> Result<(), usize> {
    match labels {
        Some(l) if !l.contains_key(LEASE_LABEL) && l.len() >= MAX_KEYS => Err(l.len()),
        _ => Ok(()),
    }
}

/// What [`write`] found and did.
pub(super) enum Written {
    /// The lease label was set (or removed) as asked.
    Done,
    /// Another run's lease that still counts (`live` said so) was there: nothing was written.
    Held(Found),
}

/// Writes the lease label of `place`: `Some(value)` takes it for `holder`, `None` gives it back
/// if it is still `holder`'s. Reads the subaccount's labels first and keeps every other label.
/// `live` tells whether another holder's lease still counts; such a lease is never overwritten.
pub(super) async fn write(
    place: &Place,
    holder: &str,
    value: Option<String>,
    live: impl Fn(&Found) -> bool,
) -> Result<Written, EngineError> {
    let context = |doing: &str| {
        EngineError::api(format!(
            "{doing} the lease label of subaccount `{}` ({})",
            place.subdomain, place.guid
        ))
    };
    let mut labels = place
        .accounts
        .subaccount_labels(&place.guid)
        .await
        .map_err(context("reading"))?;
    let found = parse(&labels);
    // `live` is false for the writer's own lease; a stale lease given back in its holder's
    // name (sweep.rs) is left alone if it counts again.
    if let Some(found) = &found
        && live(found)
    {
        return Ok(Written::Held(found.clone()));
    }
    match value {
        Some(v) => {
            if let Err(count) = has_room(Some(&labels)) {
                return Err(no_room(place, count));
            }
            labels.insert(LEASE_LABEL.to_owned(), vec![v]);
            mark(&mut labels, &place.marks);
        }
        None if found.is_some_and(|f| f.holder == holder) => {
            labels.remove(LEASE_LABEL);
        }
        None => return Ok(Written::Done),
    }
    let result = if labels.is_empty() {
        place.accounts.delete_subaccount_labels(&place.guid).await
    } else {
        place
            .accounts
            .put_subaccount_labels(&place.guid, &labels)
            .await
            .map(|_| ())
    };
    result.map_err(context("writing"))?;
    Ok(Written::Done)
}

/// Adds the runtimes calmctl works in to its mark on the subaccount, in the same write as the
/// lease (no request of its own). A subaccount whose label keys are all taken gets no mark: its
/// removed tenants are then found only where a tenant of the config leads.
fn mark(labels: &mut BTreeMap<String, Vec<String>>, marks: &[&str]) {
    if marks.is_empty() || (!labels.contains_key(ONBOARDED) && labels.len() >= MAX_KEYS) {
        return;
    }
    let values = labels.entry(ONBOARDED.to_owned()).or_default();
    for m in marks {
        if !values.iter().any(|v| v == m) {
            values.push((*m).to_owned());
        }
    }
    values.sort();
}

pub(super) async fn each<T, F, Fut>(places: &[Place], f: F) -> Vec<(Place, T)>
where
    F: Fn(Place) -> Fut,
    Fut: Future<Output = T>,
{
    futures::stream::iter(places.iter().cloned().map(|p| {
        let fut = f(p.clone());
        async move { (p, fut.await) }
    }))
    .buffer_unordered(16)
    .collect()
    .await
}

/// The subaccounts of the targeted tenants, found by GUID or subdomain, and their labels as the
/// same listing returned them (one list per account).
pub(super) async fn places(
    desired: &calm_core::Desired,
    conns: &Connections,
    targets: Option<&std::collections::BTreeSet<String>>,
) -> Result<(Vec<Place>, Labels), EngineError> {
    let mut out: Vec<Place> = Vec::new();
    let mut labels = Labels::new();
    for name in conns.account_names() {
        let conn = conns.account(name)?;
        let tenants: Vec<_> = desired
            .tenants
            .iter()
            .filter(|t| t.account == name && targets.is_none_or(|s| s.contains(&t.name)))
            .collect();
        if tenants.is_empty() {
            continue;
        }
        let all = conn
            .accounts
            .list_subaccounts(&SubaccountFilter::default())
            .await
            .map_err(EngineError::api(format!(
                "listing the subaccounts of account `{name}`"
            )))?;
        // By lowercased GUID or subdomain, GUIDs winning: a scan per tenant cost chunk ×
        // subaccounts comparisons.
        let mut by_reference: HashMap<String, usize> = HashMap::new();
        for (i, s) in all.iter().enumerate().rev() {
            by_reference.insert(s.subdomain.to_ascii_lowercase(), i);
        }
        for (i, s) in all.iter().enumerate().rev() {
            by_reference.insert(s.guid.to_ascii_lowercase(), i);
        }
        let mut taken: HashSet<&str> = HashSet::new();
        for t in tenants {
            let found = by_reference
                .get(&t.subaccount.to_ascii_lowercase())
                .map(|&i| &all[i]);
            // A missing subaccount is reported by the live read that follows.
            let runtime = t.runtime.as_str();
            if let Some(s) = found {
                if taken.insert(&s.guid) {
                    out.push(Place {
                        account: name.to_owned(),
                        accounts: conn.accounts.clone(),
                        guid: s.guid.clone(),
                        subdomain: s.subdomain.clone(),
                        marks: vec![runtime],
                    });
                } else if let Some(p) = out.iter_mut().find(|p| p.guid == s.guid)
                    && !p.marks.contains(&runtime)
                {
                    p.marks.push(runtime);
                }
            }
        }
        labels.extend(all.into_iter().map(|s| (s.guid, s.labels)));
    }
    Ok((out, labels))
}
