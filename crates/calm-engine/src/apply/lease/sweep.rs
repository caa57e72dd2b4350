//! Stale leases: a lease label of a run that is gone (same host and PID namespace, no such
//! process) or that expired no longer counts, and is removed by the next run that finds it on
//! a subaccount of its accounts, whether or not that run changes anything there. A killed run
//! leaves no label behind for people reading the cockpit after the next run.
//!
//! ```text
//! sweep: one subaccount listing per account (the lease acquisition's listing, labels.rs)
//!        ─▶ per subaccount whose lease no longer counts: read its labels, and if the same stale
//!           lease is still there, put the rest back (DELETE when none is left)
//! ```

use calm_btp::accounts::SubaccountFilter;

use super::holder::{Found, Identity, Me, now, parse};
use super::labels::{Place, Written, each, write};
use crate::{Connections, EngineError};

/// A lease label found on a tenant's subaccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenLease {
    /// The subaccount's subdomain.
    pub subaccount: String,
    /// Who holds it (`<host>-<pid>-<nonce>.<namespace>`).
    pub holder: String,
    /// Seconds until it expires (negative: expired that long ago).
    pub expires_in_secs: i64,
    /// Whether it still counts: not expired and its process not provably gone.
    pub live: bool,
}

/// The leases on the subaccounts of the accounts `conns` connects to, as one listing per account shows them,
/// judged from `identity`.
pub async fn leases(
    conns: &Connections,
    identity: &Identity,
) -> Result<Vec<SeenLease>, EngineError> {
    Ok(found(conns, identity)
        .await?
        .into_iter()
        .map(|(place, lease, live)| SeenLease {
            subaccount: place.subdomain,
            holder: lease.holder,
            expires_in_secs: i64::try_from(lease.expires).unwrap_or(i64::MAX)
                - i64::try_from(now()).unwrap_or(0),
            live,
        })
        .collect())
}

/// Removes the leases in the accounts `conns` connects to that no longer count. Returns how many were
/// removed; a lease that came back to life or was replaced since the listing is left alone.
pub async fn sweep(conns: &Connections, identity: &Identity) -> Result<usize, EngineError> {
    let me = Me::new(identity);
    let stale: Vec<(Place, Found)> = found(conns, identity)
        .await?
        .into_iter()
        .filter(|(_, _, live)| !live)
        .map(|(place, lease, _)| (place, lease))
        .collect();
    let places: Vec<Place> = stale.iter().map(|(p, _)| p.clone()).collect();
    let me = &me;
    let stale = &stale;
    let results = each(&places, |p| async move {
        let Some((_, lease)) = stale.iter().find(|(s, _)| s.guid == p.guid) else {
            return Ok(false);
        };
        // Given back in the stale holder's name: `write` removes the label only while that
        // holder still has it, and leaves a lease that counts again untouched.
        let written = write(&p, &lease.holder, None, |f| me.blocked_by(f)).await?;
        Ok::<bool, EngineError>(matches!(written, Written::Done))
    })
    .await;
    let mut removed = 0;
    for (place, result) in results {
        match result {
            Ok(true) => removed += 1,
            Ok(false) => {}
            // Best effort: a lease that stays expires on its own or is taken over.
            Err(e) => {
                tracing::debug!(subaccount = %place.subdomain, error = %e, "stale lease left")
            }
        }
    }
    Ok(removed)
}

/// Each lease in the accounts `conns` connects to (those of calm.yaml's tenants) (one subaccount listing per account, which
/// returns labels), with whether it still counts for a run of `identity`. Every subaccount of the
/// account is looked at, not only the tenants': a run killed while working on tenants that have
/// since left calm.yaml left its labels there too.
async fn found(
    conns: &Connections,
    identity: &Identity,
) -> Result<Vec<(Place, Found, bool)>, EngineError> {
    let me = Me::new(identity);
    let mut out = Vec::new();
    for name in conns.account_names() {
        let conn = conns.account(name)?;
        let all = conn
            .accounts
            .list_subaccounts(&SubaccountFilter::default())
            .await
            .map_err(EngineError::api(format!(
                "reading the lease labels of account `{name}`"
            )))?;
        for s in all {
            let Some(lease) = parse(&s.labels) else {
                continue;
            };
            let live = me.blocked_by(&lease);
            let place = Place {
                account: name.to_owned(),
                accounts: conn.accounts.clone(),
                guid: s.guid,
                subdomain: s.subdomain,
                marks: Vec::new(),
            };
            out.push((place, lease, live));
        }
    }
    out.sort_by(|a, b| a.0.subdomain.cmp(&b.0.subdomain));
    Ok(out)
}
