//! Cancelling waits: a run that is interrupted (Ctrl-C) must not sit out a job stuck in
//! `PROCESSING` until the operation timeout. Every poll of an asynchronous operation waits on
//! [`Cancel`] as well as on its timer, and ends with [`Error::Cancelled`](crate::Error) at once
//! when it is set. Requests themselves are not cut: they are bounded by the request timeout, and a
//! request cut half way would leave its outcome unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A shared flag that ends every wait for an asynchronous operation. Cloning is cheap; all clones
/// share one flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    set: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Sets the flag and wakes every wait.
    pub fn cancel(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// Completes when the flag is set (at once if it is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps for `wait`, or less if the flag is set first; returns whether it was set.
    pub async fn cancelled_during(&self, wait: std::time::Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => self.is_cancelled(),
            () = self.cancelled() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Cancel;

    #[tokio::test]
    async fn a_cancel_ends_a_long_sleep_at_once() {
        let cancel = Cancel::new();
        let waiter = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.cancelled_during(Duration::from_secs(3600)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        cancel.cancel();
        let cut = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the sleep ends")
            .expect("the task runs");
        assert!(cut && started.elapsed() < Duration::from_secs(1));
        assert!(
            cancel.cancelled_during(Duration::from_secs(3600)).await,
            "set already"
        );
    }
}
