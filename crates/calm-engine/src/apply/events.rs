//! What an apply tells its caller while it works: [`ApplyEvent`]s through a [`Reporter`], and the
//! clients' own waits (rate limits, retries, job polling) bridged into the same stream.

use std::sync::Arc;

use super::report::TenantStatus;

pub use calm_btp::{Event as ClientEvent, Observer};

/// Receives progress. Implementations must be cheap: they are called from the tasks doing the
/// work. calmctl draws progress bars or prints lines from these; the engine never prints.
pub trait Reporter: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &ApplyEvent<'_>);
}

/// Something that happened during an apply.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ApplyEvent<'a> {
    /// The run starts with this many tenants.
    Started {
        /// Tenants in the run.
        tenants: usize,
    },
    /// A step of a tenant starts, e.g. `create service_instance calm/calm-api`.
    StepStarted {
        /// The tenant.
        tenant: &'a str,
        /// The step.
        step: &'a str,
    },
    /// A step ended; `error` says why it failed.
    StepFinished {
        /// The tenant.
        tenant: &'a str,
        /// The step.
        step: &'a str,
        /// The failure, if any.
        error: Option<&'a str>,
    },
    /// A tenant is finished.
    TenantFinished {
        /// The tenant.
        tenant: &'a str,
        /// How it ended.
        status: TenantStatus,
    },
    /// A client event: rate limit, retry, polling of a job, token refresh.
    Client(&'a ClientEvent),
    /// Ctrl-C: no new steps are started; the steps under way finish.
    Interrupted,
    /// Another run holds the lease of some of the run's subaccounts ([`lease`]); waiting.
    LeaseWaiting {
        /// The other run, `<host>-<pid>-<nonce>`.
        holder: &'a str,
        /// Subaccounts it holds that this run needs.
        subaccounts: usize,
        /// When its lease expires unless renewed.
        expires_in_secs: u64,
        /// When this run looks again.
        retry_in: std::time::Duration,
    },
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopReporter;

impl Reporter for NoopReporter {
    fn on_event(&self, _event: &ApplyEvent<'_>) {}
}

/// Forwards the clients' events to a reporter: put it in `ClientConfig::observer`.
pub fn observer(reporter: Arc<dyn Reporter>) -> Arc<dyn Observer> {
    Arc::new(Bridge(reporter))
}

struct Bridge(Arc<dyn Reporter>);

impl Observer for Bridge {
    fn on_event(&self, event: &ClientEvent) {
        self.0.on_event(&ApplyEvent::Client(event));
    }
}
