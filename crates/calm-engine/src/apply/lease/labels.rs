//! Label IO of the lease: the subaccounts a run leases ([`Place`]), one listing per account to
//! read their labels, and one PUT per subaccount to write them (btp-api.md §3.2).

use std::collections::{BTreeMap, HashMap, HashSet};

use calm_btp::accounts::{AccountsClient, SubaccountFilter};
use futures::StreamExt;

use super::holder::LEASE_LABEL;
use crate::{Connections, EngineError};

#[derive(Clone)]
pub(super) struct Place {
    /// The account (connection) the subaccount belongs to: labels are listed per account.
    pub(super) account: String,
    pub(super) accounts: AccountsClient,
    pub(super) guid: String,
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

/// Writes the lease label of `place` (`None` removes it), keeping its other labels as `labels`
/// last listed them.
pub(super) async fn write(
    place: &Place,
    labels: &Labels,
    value: Option<String>,
) -> Result<(), EngineError> {
    let mut labels = labels.get(&place.guid).cloned().unwrap_or_default();
    match value {
        Some(v) => labels.insert(LEASE_LABEL.to_owned(), vec![v]),
        None => labels.remove(LEASE_LABEL),
    };
    place
        .accounts
        .put_subaccount_labels(&place.guid, &labels)
        .await
        .map(|_| ())
        .map_err(EngineError::api(format!(
            "writing the lease label of subaccount {}",
            place.guid
        )))
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
            if let Some(s) = found
                && taken.insert(&s.guid)
            {
                out.push(Place {
                    account: name.to_owned(),
                    accounts: conn.accounts.clone(),
                    guid: s.guid.clone(),
                });
            }
        }
        labels.extend(all.into_iter().map(|s| (s.guid, s.labels)));
    }
    Ok((out, labels))
}
