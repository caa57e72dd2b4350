//! Fixed-window rate limits per API, and the numbers behind CF's `X-RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::settings::{Api, Limit};

/// CF's nominal per-user hourly limit as seen on BTP (`X-Ratelimit-Limit: 20000`, btp-api.md §2.3);
/// used for the headers when no limit is configured.
pub const CF_NOMINAL: Limit = Limit {
    requests: 20_000,
    window_secs: 3_600,
};

/// Window counters per API.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<Api, (u64, u32)>>,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The window's limit.
    pub limit: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// End of the window (epoch seconds).
    pub reset_secs: u64,
    /// True when this request is over the limit.
    pub exceeded: bool,
}

impl RateLimiter {
    /// Count a request against `limit` (whose `exceeded` is only reported when `enforce`).
    pub fn hit(&self, api: Api, limit: &Limit, enforce: bool, now_secs: u64) -> Window {
        let window_secs = limit.window_secs.max(1);
        let start = now_secs - now_secs % window_secs;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = windows.entry(api).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Window {
            limit: limit.requests,
            remaining: limit.requests.saturating_sub(entry.1),
            reset_secs: start + window_secs,
            exceeded: enforce && entry.1 > limit.requests,
        }
    }
}
