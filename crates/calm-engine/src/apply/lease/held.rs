//! A lease while it is held: renewed every ttl/3 by a task of its own, given back subaccount by
//! subaccount as their tenants finish, and whatever is left at the end. Every write reads the
//! subaccount's labels right before it (labels.rs), so no listing is kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::holder::Me;
use super::labels::{Place, Written, each, write};

/// The leases of one run. Give subaccounts back as their tenants finish
/// ([`Lease::release_subaccount`]) and the rest with [`Lease::release`] at the end.
pub struct Lease {
    me: Me,
    held: Arc<Mutex<Vec<Place>>>,
    /// The task renewing the lease every ttl/3, and how to stop it between two writes.
    renewer: Mutex<Option<(tokio::task::JoinHandle<()>, Arc<tokio::sync::Notify>)>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// One renewal round: every place still held gets a new expiry, 16 writes at a time. A place
/// given back while its write was under way (`Lease::release_subaccount` removes it from `held`
/// before its own write) is cleared again, since that write may have landed before this one. A
/// place that another run holds now, by a lease that counts, means the lease was lost: `cancel`
/// stops new steps.
async fn renew(
    places: &[Place],
    me: &Me,
    ttl: Duration,
    held: &Mutex<Vec<Place>>,
    lost: &Mutex<Option<String>>,
    cancel: &AtomicBool,
) {
    let value = me.value(ttl);
    let is_held = |guid: &str| held.lock().is_ok_and(|h| h.iter().any(|p| p.guid == guid));
    each(places, |place| {
        let value = value.clone();
        async move {
            if !is_held(&place.guid) {
                return;
            }
            match write(&place, &me.holder, Some(value), |f| me.blocked_by(f)).await {
                Ok(Written::Held(found)) => {
                    cancel.store(true, Ordering::SeqCst);
                    if let Ok(mut l) = lost.lock() {
                        *l = Some(found.holder);
                    }
                }
                _ if !is_held(&place.guid) => {
                    let _ = write(&place, &me.holder, None, |f| me.blocked_by(f)).await;
                }
                _ => {}
            }
        }
    })
    .await;
}

impl Lease {
    pub(super) fn start(me: Me, held: Vec<Place>, ttl: Duration, cancel: Arc<AtomicBool>) -> Lease {
        let lost = Arc::new(Mutex::new(None));
        let held = Arc::new(Mutex::new(held));
        let stop = Arc::new(tokio::sync::Notify::new());
        let renewer = tokio::spawn({
            let (me, held, lost, stop) = (me.clone(), held.clone(), lost.clone(), stop.clone());
            async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(ttl / 3) => {}
                        () = stop.notified() => return,
                    }
                    let places = held.lock().map(|h| h.clone()).unwrap_or_default();
                    renew(&places, &me, ttl, &held, &lost, &cancel).await;
                }
            }
        });
        Lease {
            me,
            held,
            renewer: Mutex::new(Some((renewer, stop))),
            lost,
        }
    }

    /// Who this run is in the lease labels.
    pub fn holder(&self) -> &str {
        &self.me.holder
    }

    /// The run that took over one of this run's leases, if any.
    pub fn lost_to(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// Gives back the lease of one subaccount (by GUID) before the others, when its tenants are
    /// done: its labels are read and put back without the lease. Returns false if its label could
    /// not be removed (it expires on its own).
    pub async fn release_subaccount(&self, guid: &str) -> bool {
        let place = {
            let Ok(mut held) = self.held.lock() else {
                return false;
            };
            match held.iter().position(|p| p.guid.eq_ignore_ascii_case(guid)) {
                Some(i) => held.swap_remove(i),
                None => return true,
            }
        };
        let me = &self.me;
        write(&place, &me.holder, None, |f| me.blocked_by(f))
            .await
            .is_ok()
    }

    /// Stops renewing and removes the lease labels still held; returns how many could not be
    /// removed (they expire on their own).
    pub async fn release(&self) -> usize {
        // Emptied first: a renewal under way writes no further label, and undoes those it
        // wrote meanwhile (renew); then it is stopped and awaited, not aborted, so that no
        // renewing PUT is left in flight to land after the removal below.
        let places = self
            .held
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default();
        let renewer = self.renewer.lock().ok().and_then(|mut r| r.take());
        if let Some((task, stop)) = renewer {
            stop.notify_one();
            let _ = task.await;
        }
        if places.is_empty() {
            return 0;
        }
        release_places(&places, &self.me).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((task, _)) = self.renewer.lock().ok().and_then(|mut r| r.take()) {
            task.abort();
        }
    }
}

/// Removes this holder's lease label wherever it is still ours; returns how many failed.
pub(super) async fn release_places(places: &[Place], me: &Me) -> usize {
    let results = each(places, |p| async move {
        write(&p, &me.holder, None, |f| me.blocked_by(f)).await
    })
    .await;
    results.iter().filter(|(_, r)| r.is_err()).count()
}
