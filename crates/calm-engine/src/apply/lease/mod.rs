//! A lease per subaccount, so that two `calmctl apply` runs on the same tenants never work at once.
//!
//! The lease is the subaccount label `calmctl.sap/lease` = `["<holder>@<expiry, Unix seconds>"]`,
//! kept with the Accounts API (`GET|PUT /accounts/v1/subaccounts/{guid}/labels`, btp-api.md
//! §3.2). A subaccount label was chosen over a CF org or space annotation because every tenant has
//! a subaccount whatever its runtime, calmctl already talks to the Accounts API with the account's
//! `cis` key, and no object has to be created for it.
//!
//! ```text
//! acquire: read labels ─ held by another, not expired? ─ yes ─▶ wait (progress line) or refuse
//!                       └ no ─▶ PUT ours ─▶ settle ─▶ read back ─ all ours? ─▶ held; renew every ttl/3
//!                                                              └ no: give ours back, retry later
//! release: read labels, drop ours, PUT            (also after a failed run; a killed run's lease
//!                                                  expires, or is taken over on the same host
//!                                                  once its process is gone)
//! ```
//!
//! The Accounts API has no compare-and-set, so acquisition writes, waits `settle` and reads back:
//! of two runs writing at once the later write wins and the other backs off. A run whose lease is
//! taken while it works (only possible after a long stall) finds out at the next renewal and stops
//! starting new steps.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod held;
mod holder;
mod labels;

pub use held::Lease;
use held::release_places;
pub use holder::LEASE_LABEL;
use holder::{Found, alive, holder_id, now, parse};
use labels::{Labels, Place, each, labels_of, places, write};

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
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            ttl: Duration::from_secs(600),
            wait: Duration::from_secs(600),
            settle: Duration::from_secs(2),
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
    let me = holder_id();
    // The listing that found the places is the first round's reading of their labels.
    let (places, listed) = places(desired, conns, targets).await?;
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
            None => {
                let value = format!("{me}@{}", now() + options.ttl.as_secs());
                for (_, r) in each(&places, |p| {
                    let (v, labels) = (value.clone(), &labels);
                    async move { write(&p, labels, Some(v)).await }
                })
                .await
                {
                    r?;
                }
                let (done, ()) = tokio::join!(during(), tokio::time::sleep(options.settle));
                let labels = labels_of(&places).await?;
                match blocked_by(&places, &labels, &me) {
                    None => {
                        let lease = Lease::start(me, places, labels, options.ttl, cancel);
                        return Ok((lease, done));
                    }
                    Some(b) => {
                        // Another run wrote at the same moment: give ours back and try again.
                        release_places(&places, &me).await;
                        contended += 1;
                        b
                    }
                }
            }
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

/// How many subaccounts carry a live lease of another holder, and one such lease.
fn blocked_by(places: &[Place], labels: &Labels, me: &str) -> Option<(usize, Found)> {
    let mut count = 0;
    let mut first = None;
    for place in places {
        if let Some(found) = labels.get(&place.guid).and_then(parse)
            && found.holder != me
            && alive(&found, me)
        {
            count += 1;
            first.get_or_insert(found);
        }
    }
    first.map(|f| (count, f))
}
