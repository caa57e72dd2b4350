//! Settings shared by every client of a process.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::http::limiter::LimiterConfig;
use crate::http::retry::RetryPolicy;
use crate::observer::{NoopObserver, Observer};

/// The environment variable the CLI reads into [`ClientConfig::api_url`].
pub const API_URL_ENV: &str = "CALMCTL_API_URL";

/// How the clients talk to BTP.
#[derive(Clone)]
pub struct ClientConfig {
    /// Routes every API (CF, UAA, XSUAA, Accounts, Entitlements, Service Manager) to this base URL,
    /// keeping each request's path. This is how the simulator and the sandbox are reached; the CLI
    /// sets it from [`API_URL_ENV`]. Plain `http://` is accepted only for loopback addresses.
    pub api_url: Option<Url>,
    /// Time allowed for one HTTP request, from sending to the end of the body.
    pub request_timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one asynchronous operation (a CF job, a Service Manager operation, an
    /// entitlement job) to finish.
    pub operation_timeout: Duration,
    /// Wait before the first check of an operation just started (a CF job, a Service Manager
    /// operation, an entitlement job): none is done at once, so checking at once only costs a
    /// request.
    pub poll_first: Duration,
    /// First interval between two checks of an asynchronous operation; it grows by half each time.
    pub poll_initial: Duration,
    /// Longest interval between two checks of an asynchronous operation.
    pub poll_max: Duration,
    /// When and how often requests are repeated.
    pub retry: RetryPolicy,
    /// The per-host rate limiter.
    pub limiter: LimiterConfig,
    /// Receives every wait (rate limit, retry, polling) so the CLI can show it.
    pub observer: Arc<dyn Observer>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Longest URL a list call may build; longer multi-value filters are split over several calls.
    /// CF's gorouter and nginx reject request lines over 8 KiB (btp-api.md §2.3 filters).
    pub max_url_len: usize,
    /// Items per page for Cloud Foundry lists (at most 5000, btp-api.md §2.3 pagination).
    pub cf_per_page: u32,
    /// Largest response body read. A full CF page of 5000 service instances is about 10 MiB; a
    /// larger body is refused ([`Error::BodyTooLarge`](crate::Error::BodyTooLarge)) rather than
    /// read into memory.
    pub max_body_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            api_url: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            operation_timeout: Duration::from_secs(30 * 60),
            // Checks at 0.5 s, 2 s, 4.25 s, 7.6 s, ... after the start: CF jobs observed on BTP
            // took about 6 s (btp-api.md §2.7), the sandbox's take 0.5 s.
            poll_first: Duration::from_millis(500),
            poll_initial: Duration::from_millis(1500),
            poll_max: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            limiter: LimiterConfig::default(),
            observer: Arc::new(NoopObserver),
            user_agent: format!("calmctl/{}", env!("CARGO_PKG_VERSION")),
            max_url_len: 7 * 1024,
            cf_per_page: 5000,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_url", &self.api_url.as_ref().map(Url::as_str))
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("poll_first", &self.poll_first)
            .field("poll_initial", &self.poll_initial)
            .field("poll_max", &self.poll_max)
            .field("retry", &self.retry)
            .field("limiter", &self.limiter)
            .field("user_agent", &self.user_agent)
            .field("max_url_len", &self.max_url_len)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("cf_per_page", &self.cf_per_page)
            .finish_non_exhaustive()
    }
}
