//! Request statistics for `GET /_sim/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::settings::Api;

/// Counters shared by every request.
#[derive(Debug, Default)]
pub struct Stats {
    total: AtomicU64,
    throttled: AtomicU64,
    faults: AtomicU64,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    routes: Mutex<BTreeMap<String, u64>>,
    throttled_by_api: Mutex<BTreeMap<Api, u64>>,
    timeline: Mutex<Vec<BTreeMap<Api, Second>>>,
    started: Option<Instant>,
}

/// What one API answered during one second of the simulator's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Requests answered (429s included).
    pub requests: u64,
    /// Of those, 429s.
    pub throttled: u64,
}

/// A snapshot of [`Stats`], as served by `/_sim/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Requests served (all APIs, `/_sim` excluded).
    pub total: u64,
    /// Requests per route, keyed `METHOD /path/{param}`.
    pub routes: BTreeMap<String, u64>,
    /// 429 responses sent (rate limits and injected).
    pub throttled: u64,
    /// The same, per API.
    #[serde(default)]
    pub throttled_by_api: BTreeMap<Api, u64>,
    /// Injected faults other than 429s (5xx, resets, slow answers).
    pub faults: u64,
    /// Highest number of requests in flight at once.
    pub peak_concurrency: usize,
    /// Per second since the simulator started: requests and 429s per API. Shows which API is
    /// busy when, which totals cannot.
    #[serde(default)]
    pub timeline: Vec<BTreeMap<Api, Second>>,
}

/// Decrements the in-flight count when a request ends, however it ends.
pub struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Stats {
    /// Counters whose timeline starts now.
    pub fn new() -> Stats {
        Stats {
            started: Some(Instant::now()),
            ..Stats::default()
        }
    }

    /// Count a request to `api` in the current second of the timeline.
    pub fn answered(&self, api: Api, throttled: bool) {
        let Some(started) = self.started else { return };
        let second = started.elapsed().as_secs() as usize;
        if let Ok(mut timeline) = self.timeline.lock() {
            if timeline.len() <= second {
                timeline.resize_with(second + 1, BTreeMap::new);
            }
            let entry = timeline[second].entry(api).or_default();
            entry.requests += 1;
            entry.throttled += u64::from(throttled);
        }
    }

    /// Count a request on a route and mark it in flight.
    pub fn begin(&self, route: String) -> InFlight<'_> {
        self.total.fetch_add(1, Ordering::Relaxed);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        if let Ok(mut routes) = self.routes.lock() {
            *routes.entry(route).or_default() += 1;
        }
        InFlight(self)
    }

    /// Count a 429 sent by `api`.
    pub fn throttled(&self, api: Api) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut by_api) = self.throttled_by_api.lock() {
            *by_api.entry(api).or_default() += 1;
        }
    }

    /// Count another injected fault.
    pub fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    /// Read all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            total: self.total.load(Ordering::Relaxed),
            routes: self.routes.lock().map(|r| r.clone()).unwrap_or_default(),
            throttled: self.throttled.load(Ordering::Relaxed),
            throttled_by_api: self
                .throttled_by_api
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            faults: self.faults.load(Ordering::Relaxed),
            peak_concurrency: self.peak.load(Ordering::SeqCst),
            timeline: self.timeline.lock().map(|t| t.clone()).unwrap_or_default(),
        }
    }
}
