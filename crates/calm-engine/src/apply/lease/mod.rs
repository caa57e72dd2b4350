//! A lease per subaccount, so that two `calmctl apply` runs never work on the same tenants at
//! once.
//!
//! The lease is the subaccount label `calmctl.sap/lease` = `["<holder>@<expiry, Unix seconds>"]`,
//! kept with the Accounts API (`GET|PUT|DELETE /accounts/v1/subaccounts/{guid}/labels`, btp-api.md
//! §3.2). A subaccount label was chosen over a CF org or space annotation because every tenant has
//! a subaccount whatever its runtime, calmctl already talks to the Accounts API with the account's
//! `cis` key, and no object has to be created for it. The value fits the API's 63 characters on
//! any host name, and the holder names its run unmistakably (holder.rs).
//!
//! ```text
//! acquire: list labels ─ no label key free? ─▶ refuse, naming the subaccount
//!          └ held by another, still counting? ─ yes ─▶ wait (progress line) or refuse
//!            └ no ─▶ per subaccount: read its labels, put them back with ours ─▶ settle
//!                    ─▶ list again ─ all ours? ─▶ held; renewed every ttl/3 (read, put)
//!                                  └ no: give ours back, retry later
//! release: per subaccount: read its labels, drop ours, put the rest back (DELETE when none is
//!          left)                  (also after a failed run; a killed run's lease expires, or is
//!                                  taken over by a run in its own PID namespace once its
//!                                  process is gone)
//! ```
//!
//! Every write reads that subaccount's labels right before it and keeps every label the lease did
//! not set (labels.rs). The Accounts API has no compare-and-set, so acquisition writes, waits
//! `settle` and reads back: of two runs writing at once the later write wins and the other backs
//! off. A run whose lease is taken while it works (only possible after a long stall) finds out at
//! the next renewal and stops starting new steps.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod held;
mod holder;
mod labels;
mod sweep;

pub use held::Lease;
use held::release_places;
use holder::{Found, Me, now, parse};
pub use holder::{Identity, LEASE_LABEL};
use labels::{Labels, Place, Written, each, has_room, labels_of, no_room, places, write};
pub use sweep::{SeenLease, leases, sweep};

use super::events::{ApplyEvent, Reporter};
use crate::{Connections, EngineError};

/// How long leases last and how long to wait for one.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// Lifetime of a lease without renewal.
    pub ttl: Duration,
    /// How long to wait for leases held by another run (zero: refuse at once).
    pub wait: Duration,
    /// Pause between writing a lease and reading it back.
    pub settle: Duration,
    /// Where this run runs, as its lease names it ([`Identity::of_this_process`] by default).
    pub identity: Identity,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            ttl: Duration::from_secs(600),
            wait: Duration::from_secs(600),
            settle: Duration::from_secs(2),
            identity: Identity::of_this_process(),
        }
    }
}

/// Takes the lease of every targeted tenant's subaccount, waiting up to `options.wait` for
/// leases of other runs. `cancel` is set if the lease is lost while the run works.
pub async fn acquire(
    desired: &calm_core::Desired,
    conns: &Connections,
    targets: Option<&std::collections::BTreeSet<String>>,
    options: &LeaseOptions,
    reporter: &dyn Reporter,
    cancel: Arc<AtomicBool>,
) -> Result<Lease, EngineError> {
    let during = || async {};
    let (lease, ()) =
        acquire_with(desired, conns, targets, options, reporter, cancel, during).await?;
    Ok(lease)
}

/// [`acquire`], running `during` while the written lease settles, and returning its result with
/// the lease. `during` runs again if the lease has to be taken again, so its result is always
/// from after this run's lease was written: a read done there sees what any run that held these
/// subaccounts before did.
pub async fn acquire_with<T, F, Fut>(
    desired: &calm_core::Desired,
    conns: &Connections,
    targets: Option<&std::collections::BTreeSet<String>>,
    options: &LeaseOptions,
    reporter: &dyn Reporter,
    cancel: Arc<AtomicBool>,
    mut during: F,
) -> Result<(Lease, T), EngineError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let me = Me::new(&options.identity);
    // The listing that found the places is the first round's reading of their labels.
    let (places, listed) = places(desired, conns, targets).await?;
    // A subaccount without a free label key can never be leased: refused before any write.
    for place in &places {
        if let Err(count) = has_room(listed.get(&place.guid)) {
            return Err(no_room(place, count));
        }
    }
    let mut listed = Some(listed);
    let started = tokio::time::Instant::now();
    let mut contended = 0;
    loop {
        let labels = match listed.take() {
            Some(labels) => labels,
            None => labels_of(&places).await?,
        };
        let blocking = match blocked_by(&places, &labels, &me) {
            Some(b) => b,
            None => match take(&places, &me, options.ttl).await? {
                Some(b) => {
                    contended += 1;
                    b
                }
                None => {
                    let (done, ()) = tokio::join!(during(), tokio::time::sleep(options.settle));
                    let labels = labels_of(&places).await?;
                    match blocked_by(&places, &labels, &me) {
                        None => {
                            let lease = Lease::start(me, places, options.ttl, cancel);
                            return Ok((lease, done));
                        }
                        Some(b) => {
                            // Another run wrote at the same moment: give ours back, try again.
                            release_places(&places, &me).await;
                            contended += 1;
                            b
                        }
                    }
                }
            },
        };
        let waited = started.elapsed();
        // Runs that wrote at the same moment retry a few times even when told not to wait.
        let contention_retry =
            contended > 0 && contended < 5 && waited < options.wait.max(options.settle * 8);
        if waited >= options.wait && !contention_retry {
            return Err(EngineError::LeaseHeld {
                holder: blocking.1.holder.clone(),
                subaccounts: blocking.0,
                expires_in_secs: blocking.1.expires.saturating_sub(now()),
                waited_secs: waited.as_secs(),
            });
        }
        let jitter = Duration::from_millis(u64::from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_millis()),
        ));
        let pause = (Duration::from_secs(1) + jitter).min(
            options
                .wait
                .saturating_sub(waited)
                .max(Duration::from_millis(200)),
        );
        reporter.on_event(&ApplyEvent::LeaseWaiting {
            holder: &blocking.1.holder,
            subaccounts: blocking.0,
            expires_in_secs: blocking.1.expires.saturating_sub(now()),
            retry_in: pause,
        });
        tokio::time::sleep(pause).await;
    }
}

/// Writes this run's lease on every place, each after reading its labels. Returns a lease of
/// another run found by those reads (this run's leases given back), or the first error (likewise).
async fn take(
    places: &[Place],
    me: &Me,
    ttl: Duration,
) -> Result<Option<(usize, Found)>, EngineError> {
    let value = me.value(ttl);
    let results = each(places, |p| {
        let value = value.clone();
        async move { write(&p, &me.holder, Some(value), |f| me.blocked_by(f)).await }
    })
    .await;
    let mut held = 0;
    let mut first_held = None;
    let mut first_error = None;
    for (_, result) in results {
        match result {
            Ok(Written::Done) => {}
            Ok(Written::Held(found)) => {
                held += 1;
                first_held.get_or_insert(found);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if first_error.is_some() || first_held.is_some() {
        release_places(places, me).await;
    }
    match (first_error, first_held) {
        (Some(e), _) => Err(e),
        (None, held_by) => Ok(held_by.map(|f| (held, f))),
    }
}

/// How many subaccounts carry a lease of another holder that still counts, and one such lease.
fn blocked_by(places: &[Place], labels: &Labels, me: &Me) -> Option<(usize, Found)> {
    let mut count = 0;
    let mut first = None;
    for place in places {
        if let Some(found) = labels.get(&place.guid).and_then(parse)
            && me.blocked_by(&found)
        {
            count += 1;
            first.get_or_insert(found);
        }
    }
    first.map(|f| (count, f))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_lease_label_round_trips_and_expires() {
        let mut labels = BTreeMap::new();
        labels.insert(
            LEASE_LABEL.to_owned(),
            vec!["ci-7-1-00ff@4102444800".to_owned()],
        );
        let found = parse(&labels).expect("a lease");
        assert_eq!(found.holder, "ci-7-1-00ff");
        let me = Me::new(&Identity {
            host: "elsewhere".into(),
            namespace: Some("0123abcd".into()),
        });
        assert!(me.blocked_by(&found), "another host's lease counts");
        let old = Found {
            holder: found.holder.clone(),
            expires: 1,
        };
        assert!(!me.blocked_by(&old), "an expired lease does not");
        let mine = Found {
            holder: me.holder.clone(),
            expires: now() + 600,
        };
        assert!(!me.blocked_by(&mine), "nor this run's own");
        labels.insert(LEASE_LABEL.to_owned(), vec!["no expiry".to_owned()]);
        assert_eq!(parse(&labels), None);
    }
}
