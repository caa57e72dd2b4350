//! One AIMD rate limiter per API host, shared by every task of a process.
//!
//! Requests are paced at `rate` per second, after a burst of `burst` requests that an idle host
//! takes at once. Until a host first answers 429 the rate doubles with every second of successes
//! ("slow start", as in TCP, then halved on the first 429), so that a host without a limit is not
//! throttled by calmctl itself. After that, each success raises the rate a little (additive
//! increase, about `increase_per_second` per second of successes); a 429 cuts it (multiplicative
//! decrease) and pauses the host until the server's `Retry-After`. This is TCP's congestion
//! control applied to request rates: many tasks settle just under a server limit instead of
//! hammering it and failing (the most common complaint in the issue trackers of the BTP and CF
//! Terraform providers). A host that states what is left of its
//! window (CF's `X-RateLimit-Remaining`) is paced by that instead: not at all while plenty is
//! left, paused until the reset when the requests on their way would use it up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Settings of the per-host limiters.
#[derive(Debug, Clone)]
pub struct LimiterConfig {
    /// Requests per second allowed to a host before anything is known about it.
    pub initial_rate: f64,
    /// The rate never falls below this.
    pub min_rate: f64,
    /// The rate never rises above this.
    pub max_rate: f64,
    /// How much the rate grows per second of successful requests.
    pub increase_per_second: f64,
    /// The factor the rate is multiplied by on a 429.
    pub decrease_factor: f64,
    /// How many requests may go back to back after the host was idle (a token bucket of this
    /// size, refilled at `rate`). 1 means strict pacing.
    pub burst: f64,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            // 20/s is about Service Manager's 1,000/min and inside CF's burst allowance (20,000/h
            // per user); slow start doubles it every second until the host says stop.
            initial_rate: 20.0,
            min_rate: 0.2,
            max_rate: 500.0,
            increase_per_second: 5.0,
            decrease_factor: 0.7,
            // The first wave of a plan (token, orgs of every region, entitlements, subaccounts)
            // goes out at once instead of trickling out at the initial rate; CF and SM allow such bursts.
            burst: 20.0,
        }
    }
}

/// Growth per success in slow start: the rate doubles with every second of successes.
const SLOW_START_STEP: f64 = 1.0;

/// A burst of 429s from requests that were already in flight is one signal, not many: the rate is
/// cut at most once per this interval.
const DECREASE_INTERVAL: Duration = Duration::from_secs(1);

/// The cut when a window's budget is spent: gentle, because the window says exactly when to go
/// on, so there is nothing to probe for; the pause does the work and no request fails.
const BUDGET_DECREASE_FACTOR: f64 = 0.9;

/// A host whose last answer left more than this many requests in its window, beyond those
/// already on their way, is not paced: pacing guesses at a limit the host does not state, and
/// this one was stated. (CF on BTP: 20,000 an hour per user, so a plan's few dozen reads go out
/// at once; a window of 100 a second, as the benchmark's, stays paced.)
const AMPLE_BUDGET: u64 = 100;

/// A budget that runs out later than this is left to the 429 handling: a host is never held back
/// for long on an estimate (CF's `Remaining` is one, scaled in coarse steps).
const MAX_BUDGET_PAUSE: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct State {
    rate: f64,
    next_slot: Instant,
    paused_until: Option<Instant>,
    last_decrease: Option<Instant>,
    /// No 429 seen yet: grow multiplicatively.
    slow_start: bool,
    /// What the host's last answer said was left in its window (`X-RateLimit-Remaining`).
    remaining: Option<u64>,
}

/// The limiter of one host.
#[derive(Debug)]
pub(crate) struct HostLimiter {
    config: LimiterConfig,
    state: Mutex<State>,
    /// Requests sent and not yet answered ([`Permit`]s alive).
    in_flight: AtomicUsize,
}

/// A request's place in its host's pace, from its slot until its answer has been handled.
#[derive(Debug)]
pub(crate) struct Permit<'a>(&'a HostLimiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HostLimiter {
    fn new(config: LimiterConfig) -> Self {
        let rate = config.initial_rate.clamp(config.min_rate, config.max_rate);
        HostLimiter {
            config,
            state: Mutex::new(State {
                rate,
                next_slot: Instant::now(),
                paused_until: None,
                last_decrease: None,
                slow_start: true,
                remaining: None,
            }),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain numbers, valid after any panic, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this request's slot. A pause that starts while a request waits (a 429, or a
    /// spent window) holds it too: it then takes a new slot after the pause. Dropping the future
    /// gives the slot up (it is not reused, which only makes the limiter slightly more cautious).
    /// Keep the permit until the answer has been handled: it counts the request as in flight.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        loop {
            let slot = {
                let mut state = self.lock();
                let now = Instant::now();
                let on_their_way = self.in_flight.load(Ordering::SeqCst) as u64;
                let ample = state
                    .remaining
                    .is_some_and(|r| r > on_their_way + AMPLE_BUDGET);
                if ample && state.paused_until.is_none_or(|until| until <= now) {
                    state.next_slot = state.next_slot.max(now);
                    self.in_flight.fetch_add(1, Ordering::SeqCst);
                    return Permit(self);
                }
                // Time the host was idle is credited, up to `burst` slots: those go out at once.
                let credit =
                    Duration::from_secs_f64((self.config.burst - 1.0).max(0.0) / state.rate);
                let earliest = now.checked_sub(credit).unwrap_or(now);
                let mut start = state.next_slot.max(earliest);
                if let Some(paused) = state.paused_until {
                    start = start.max(paused);
                }
                state.next_slot = start + Duration::from_secs_f64(1.0 / state.rate);
                start.max(now)
            };
            tokio::time::sleep_until(slot).await;
            let paused = self.lock().paused_until;
            if paused.is_none_or(|until| until <= Instant::now()) {
                self.in_flight.fetch_add(1, Ordering::SeqCst);
                return Permit(self);
            }
        }
    }

    /// A request succeeded: raise the rate a little.
    pub(crate) fn on_success(&self) {
        let mut state = self.lock();
        let rate = state.rate;
        // One success adds 1 in slow start (the rate doubles per second of successes), else
        // `increase_per_second / rate` (the rate grows by `increase_per_second` per second).
        let step = if state.slow_start {
            SLOW_START_STEP
        } else {
            self.config.increase_per_second / rate
        };
        state.rate = (rate + step).min(self.config.max_rate);
    }

    /// The host said how many requests its current window has left and when the window resets
    /// (Cloud Foundry's `X-RateLimit-Remaining`/`-Reset` on every answer, btp-api.md §2.3), to
    /// a request that still holds its permit. When the other requests on their way use up what
    /// is left, that is the same signal as a 429 without its cost: the host is paused until the
    /// reset and the rate cut a little.
    pub(crate) fn on_budget(&self, remaining: u64, reset_in: Duration) {
        let mut state = self.lock();
        state.remaining = Some(remaining);
        let others = self.in_flight.load(Ordering::SeqCst).saturating_sub(1);
        if remaining > others as u64 || reset_in > MAX_BUDGET_PAUSE {
            return;
        }
        let now = Instant::now();
        self.cut(&mut state, now, BUDGET_DECREASE_FACTOR);
        let until = now + reset_in;
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        state.next_slot = state.next_slot.max(until);
    }

    /// Multiplicative decrease, once per [`DECREASE_INTERVAL`]: a burst of signals from requests
    /// that were already in flight is one signal. Ends slow start.
    fn cut(&self, state: &mut State, now: Instant, factor: f64) {
        let recently = state
            .last_decrease
            .is_some_and(|at| now.duration_since(at) < DECREASE_INTERVAL);
        if !recently {
            // Leaving slow start overshot the limit by up to half: halve, as TCP does.
            let factor = if state.slow_start { 0.5 } else { factor };
            state.rate = (state.rate * factor).max(self.config.min_rate);
            state.last_decrease = Some(now);
        }
        state.slow_start = false;
    }

    /// The host answered 429: cut the rate and pause it for `wait`. Returns the new rate.
    pub(crate) fn on_rate_limited(&self, wait: Duration) -> f64 {
        let mut state = self.lock();
        let now = Instant::now();
        self.cut(&mut state, now, self.config.decrease_factor);
        let until = now + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        state.next_slot = state.next_slot.max(until);
        state.rate
    }

    /// The current rate in requests per second.
    #[cfg(test)]
    pub(crate) fn rate(&self) -> f64 {
        self.lock().rate
    }
}

/// The limiters of all hosts.
#[derive(Debug, Default)]
pub(crate) struct Limiters {
    config: LimiterConfig,
    hosts: Mutex<HashMap<String, Arc<HostLimiter>>>,
}

impl Limiters {
    pub(crate) fn new(config: LimiterConfig) -> Self {
        Limiters {
            config,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The limiter for `host` (host and port), created on first use.
    pub(crate) fn for_host(&self, host: &str) -> Arc<HostLimiter> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(HostLimiter::new(self.config.clone())))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_requests_at_the_rate() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 10.0,
            burst: 1.0,
            ..Default::default()
        });
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(1100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_host_takes_a_burst_then_paces() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 10.0,
            burst: 5.0,
            ..Default::default()
        });
        tokio::time::advance(Duration::from_secs(5)).await;
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a burst of 5 waits for nothing"
        );
        for _ in 0..10 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(990),
            "then 10/s: {elapsed:?}"
        );
        assert!(elapsed <= Duration::from_millis(1100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_window_pauses_until_its_reset() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 100.0,
            ..Default::default()
        });
        tokio::time::advance(Duration::from_secs(1)).await;
        let start = Instant::now();
        let mut on_their_way = Vec::new();
        for _ in 0..4 {
            on_their_way.push(limiter.acquire().await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "a burst");
        limiter.on_budget(4, Duration::from_millis(700));
        drop(limiter.acquire().await);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "4 left, 3 others on their way: go"
        );
        limiter.on_budget(3, Duration::from_millis(700));
        drop(on_their_way);
        drop(limiter.acquire().await);
        assert!(
            start.elapsed() >= Duration::from_millis(700),
            "3 left, 3 others on their way: wait for the reset"
        );
        let _answered = limiter.acquire().await;
        limiter.on_budget(0, Duration::from_secs(3_000));
        let before = Instant::now();
        drop(limiter.acquire().await);
        assert!(
            before.elapsed() < Duration::from_secs(1),
            "long windows are left to 429s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_with_plenty_left_is_not_paced() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 10.0,
            burst: 1.0,
            ..Default::default()
        });
        let start = Instant::now();
        let first = limiter.acquire().await;
        limiter.on_budget(19_950, Duration::from_secs(3_000));
        drop(first);
        for _ in 0..50 {
            drop(limiter.acquire().await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "19,950 left: no pacing");
        limiter.on_budget(120, Duration::from_secs(3_000));
        let mut on_their_way = Vec::new();
        for _ in 0..30 {
            on_their_way.push(limiter.acquire().await);
        }
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "120 left, 20 or more on their way: paced again at 10/s ({:?})",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_cuts_once_per_burst_and_pauses() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        let first = limiter.on_rate_limited(Duration::from_secs(2));
        let second = limiter.on_rate_limited(Duration::from_secs(2));
        assert!(
            (first - 5.0).abs() < 1e-9,
            "the first 429 ends slow start by halving: {first}"
        );
        assert!((second - first).abs() < 1e-9, "a burst cut the rate twice");
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[test]
    fn slow_start_grows_the_rate_until_the_first_429() {
        let limiter = HostLimiter::new(LimiterConfig {
            initial_rate: 10.0,
            ..Default::default()
        });
        for _ in 0..10 {
            limiter.on_success();
        }
        assert!((limiter.rate() - 20.0).abs() < 1e-9, "{}", limiter.rate());
        limiter.on_rate_limited(Duration::ZERO);
        let cut = limiter.rate();
        limiter.on_success();
        assert!(limiter.rate() - cut < 1.0, "additive increase after a 429");
    }

    #[test]
    fn successes_raise_the_rate_up_to_the_maximum() {
        let limiter = HostLimiter::new(LimiterConfig {
            max_rate: 12.0,
            ..Default::default()
        });
        limiter.on_rate_limited(Duration::ZERO);
        limiter.lock().rate = 10.0;
        for _ in 0..10 {
            limiter.on_success();
        }
        let rate = limiter.rate();
        assert!(rate > 11.0 && rate <= 12.0, "{rate}");
        for _ in 0..1000 {
            limiter.on_success();
        }
        assert!((limiter.rate() - 12.0).abs() < 1e-9);
    }
}
