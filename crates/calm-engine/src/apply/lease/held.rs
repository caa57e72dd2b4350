//! A lease while it is held: renewed every ttl/3 by a task of its own, given back subaccount by
//! subaccount as their tenants finish, and whatever is left at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::holder::{alive, now, parse};
use super::labels::{Labels, Place, each, labels_of, write};

/// The leases of one run. Give subaccounts back as their tenants finish
/// ([`Lease::release_subaccount`]) and the rest with [`Lease::release`] at the end.
pub struct Lease {
    holder: String,
    held: Arc<Mutex<Vec<Place>>>,
    /// The last listing of the held subaccounts' labels, and when it was made: releasing a
    /// subaccount rewrites its other labels as listed, so a listing older than [`FRESH`] is
    /// made again first.
    listed: Arc<tokio::sync::Mutex<(tokio::time::Instant, Labels)>>,
    /// The task renewing the lease every ttl/3, and how to stop it between two writes.
    renewer: Mutex<Option<(tokio::task::JoinHandle<()>, Arc<tokio::sync::Notify>)>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// How old a listing of labels may be when a release rewrites them.
const FRESH: Duration = Duration::from_secs(30);

/// One renewal round: every place still held gets a new expiry, 16 writes at a time. A place
/// given back while its write was under way (`Lease::release_subaccount` removes it from `held`
/// before its own PUT) is cleared again, since that PUT may have landed before this one. A place
/// that another live run holds now means the lease was lost: `cancel` stops new steps.
async fn renew(
    places: &[Place],
    labels: &Labels,
    holder: &str,
    ttl: Duration,
    held: &Mutex<Vec<Place>>,
    lost: &Mutex<Option<String>>,
    cancel: &AtomicBool,
) {
    let value = format!("{holder}@{}", now() + ttl.as_secs());
    let is_held = |guid: &str| held.lock().is_ok_and(|h| h.iter().any(|p| p.guid == guid));
    each(places, |place| {
        let value = value.clone();
        async move {
            match labels.get(&place.guid).and_then(parse) {
                Some(found) if found.holder != holder && alive(&found, holder) => {
                    cancel.store(true, Ordering::SeqCst);
                    if let Ok(mut l) = lost.lock() {
                        *l = Some(found.holder);
                    }
                }
                _ if is_held(&place.guid) => {
                    let _ = write(&place, labels, Some(value)).await;
                    if !is_held(&place.guid) {
                        let _ = write(&place, labels, None).await;
                    }
                }
                _ => {}
            }
        }
    })
    .await;
}

impl Lease {
    pub(super) fn start(
        holder: String,
        held: Vec<Place>,
        labels: Labels,
        ttl: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Lease {
        let lost = Arc::new(Mutex::new(None));
        let held = Arc::new(Mutex::new(held));
        let listed = Arc::new(tokio::sync::Mutex::new((
            tokio::time::Instant::now(),
            labels,
        )));
        let stop = Arc::new(tokio::sync::Notify::new());
        let renewer = tokio::spawn({
            let (holder, held, listed, lost, stop) = (
                holder.clone(),
                held.clone(),
                listed.clone(),
                lost.clone(),
                stop.clone(),
            );
            async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(ttl / 3) => {}
                        () = stop.notified() => return,
                    }
                    let places = held.lock().map(|h| h.clone()).unwrap_or_default();
                    let Ok(labels) = labels_of(&places).await else {
                        continue;
                    };
                    renew(&places, &labels, &holder, ttl, &held, &lost, &cancel).await;
                    *listed.lock().await = (tokio::time::Instant::now(), labels);
                }
            }
        });
        Lease {
            holder,
            held,
            listed,
            renewer: Mutex::new(Some((renewer, stop))),
            lost,
        }
    }

    /// Who this run is in the lease labels.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The run that took over one of this run's leases, if any.
    pub fn lost_to(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// Gives back the lease of one subaccount (by GUID) before the others, when its tenants are
    /// done; one PUT, with a listing of its account's labels only when the last is older than
    /// [`FRESH`]. Returns false if its label could not be removed (it expires on its own).
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
        let mut listed = self.listed.lock().await;
        if listed.0.elapsed() > FRESH || !listed.1.contains_key(&place.guid) {
            match labels_of(std::slice::from_ref(&place)).await {
                Ok(labels) => *listed = (tokio::time::Instant::now(), labels),
                Err(_) => return false,
            }
        }
        let labels = listed.1.clone();
        drop(listed);
        match labels.get(&place.guid).and_then(parse) {
            Some(found) if found.holder == self.holder => {
                write(&place, &labels, None).await.is_ok()
            }
            _ => true,
        }
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
        release_places(&places, &self.holder).await
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
pub(super) async fn release_places(places: &[Place], me: &str) -> usize {
    let Ok(labels) = labels_of(places).await else {
        return places.len();
    };
    let results = each(places, |p| {
        let labels = &labels;
        async move {
            match labels.get(&p.guid).and_then(parse) {
                Some(found) if found.holder == me => write(&p, labels, None).await,
                _ => Ok(()),
            }
        }
    })
    .await;
    results.iter().filter(|(_, r)| r.is_err()).count()
}
