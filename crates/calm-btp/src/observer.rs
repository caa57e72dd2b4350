//! The caller-supplied observer: every wait the clients make (rate limit, retry, polling, token
//! refresh) is reported here, so that the CLI can show it instead of appearing to hang (a
//! public complaint about the BTP Terraform provider: it "lacks to transparently communicate any
//! backoff times").

use std::fmt;
use std::time::Duration;

use crate::error::Api;

/// Receives events from the clients. Implementations must be cheap and must not block: they are
/// called on the request path.
pub trait Observer: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &Event);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn on_event(&self, _event: &Event) {}
}

/// Why a request is repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered this status (502, 503, 504).
    Status(u16),
    /// The connection failed or broke.
    Connection,
    /// A create failed ambiguously and a lookup by name showed it did not take effect.
    CreateNotApplied,
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryReason::Status(status) => write!(f, "HTTP {status}"),
            RetryReason::Connection => f.write_str("connection failed"),
            RetryReason::CreateNotApplied => f.write_str("create did not take effect"),
        }
    }
}

/// Something the clients want the user to know about.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The server answered 429; the request is repeated after `wait`.
    RateLimited {
        /// The API.
        api: Api,
        /// The host that limited us.
        host: String,
        /// How long until the retry.
        wait: Duration,
        /// The requests per second the limiter allows this host from now on.
        new_rate: f64,
    },
    /// A request failed transiently and is repeated after `wait`.
    Retrying {
        /// The API.
        api: Api,
        /// The host.
        host: String,
        /// Why.
        reason: RetryReason,
        /// How long until the retry.
        wait: Duration,
        /// The attempt number about to be made (2 for the first retry).
        attempt: u32,
    },
    /// A token was obtained or refreshed for a token URL's host.
    TokenRefreshed {
        /// The token endpoint's host.
        host: String,
        /// Seconds until the new token expires.
        expires_in: u64,
    },
    /// An asynchronous operation is still running; the next check is after `wait`.
    Waiting {
        /// The API.
        api: Api,
        /// What is waited for, e.g. `job 1b2c… (service_instance.create)`.
        what: String,
        /// The state reported, e.g. `POLLING`, `in progress`.
        state: String,
        /// How long until the next check.
        wait: Duration,
    },
}

fn seconds(wait: &Duration) -> String {
    let secs = wait.as_secs_f64();
    if secs < 10.0 {
        format!("{:.1} s", secs)
    } else {
        format!("{:.0} s", secs)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::RateLimited {
                api, host, wait, ..
            } => {
                write!(
                    f,
                    "{api}: rate limited on {host}, retrying in {}",
                    seconds(wait)
                )
            }
            Event::Retrying {
                api,
                host,
                reason,
                wait,
                attempt,
            } => write!(
                f,
                "{api}: {reason} on {host}, retrying in {} (attempt {attempt})",
                seconds(wait)
            ),
            Event::TokenRefreshed { host, expires_in } => {
                write!(f, "token from {host} valid for {expires_in} s")
            }
            Event::Waiting {
                api,
                what,
                state,
                wait,
            } => {
                write!(
                    f,
                    "{api}: {what} is {state}, checking again in {}",
                    seconds(wait)
                )
            }
        }
    }
}
