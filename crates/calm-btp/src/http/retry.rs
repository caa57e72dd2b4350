//! When to retry and how long to wait: `Retry-After` in all three forms the BTP APIs use, and
//! jittered exponential backoff when the server gives no hint.
//!
//! Hand-rolled rather than `backon`: the wait comes from the response (header or backoff), must be
//! reported to the observer and fed to the per-host limiter before sleeping, and a create is only
//! repeated after a lookup. That is a loop with three inputs, not a generic retry combinator.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Limits of the retry loop.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for transient failures (5xx, connection errors), including the first.
    pub max_attempts: u32,
    /// The first backoff delay; it doubles on each attempt.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest a single `Retry-After` is honoured; longer hints are cut to this.
    pub max_retry_after: Duration,
    /// The longest one call keeps retrying, 429s included. 429s are not limited by
    /// `max_attempts`: a rate limit is a reason to slow down, not to give up.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            max_elapsed: Duration::from_secs(900),
        }
    }
}

impl RetryPolicy {
    /// The jittered delay before attempt `attempt + 1` (so `attempt` = 1 after the first failure):
    /// uniformly between half and all of `base * 2^(attempt-1)`, capped at `max_delay`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        let half = ceiling / 2;
        let jitter_ms = half.as_millis().min(u128::from(u64::MAX)) as u64;
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }
}

/// Epoch values above this are milliseconds, below it seconds. 10^11 seconds is the year 5138;
/// 10^11 milliseconds is 1973. CF sends seconds, Accounts/Entitlements milliseconds (btp-api.md §7
/// item 6).
const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// What is left of the rate-limit window and when it resets, from Cloud Foundry's
/// `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds, btp-api.md §2.3 and quirk 6).
pub(crate) fn window_budget(headers: &HeaderMap, now: SystemTime) -> Option<(u64, Duration)> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let remaining = number("x-ratelimit-remaining")?;
    let reset = UNIX_EPOCH.checked_add(Duration::from_secs(number("x-ratelimit-reset")?))?;
    Some((
        remaining,
        reset.duration_since(now).unwrap_or(Duration::ZERO),
    ))
}

/// How long the server asked us to wait, from `Retry-After` (delta seconds or HTTP-date, RFC 9110
/// §10.2.3) or else `X-Ratelimit-Reset` (epoch seconds or milliseconds). `None` if neither header
/// is present or parsable.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(secs) = value.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_secs_f64(secs.min(1e9)));
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            return Some(date.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())?;
    let epoch = reset.trim().parse::<u64>().ok()?;
    let at = if epoch >= MILLIS_THRESHOLD {
        UNIX_EPOCH + Duration::from_millis(epoch)
    } else {
        UNIX_EPOCH + Duration::from_secs(epoch)
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            name,
            HeaderValue::from_str(value).expect("test header value is valid"),
        );
        map
    }

    #[test]
    fn window_budget_reads_cf_headers() {
        let now = UNIX_EPOCH + Duration::from_secs(1_783_667_130);
        let mut h = headers("x-ratelimit-remaining", "18000");
        h.insert("x-ratelimit-reset", "1783667131".parse().unwrap());
        assert_eq!(
            window_budget(&h, now),
            Some((18_000, Duration::from_secs(1)))
        );
        assert_eq!(
            window_budget(&headers("x-ratelimit-remaining", "5"), now),
            None
        );
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            retry_after(&headers("retry-after", "4"), now),
            Some(Duration::from_secs(4))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_783_667_000);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            retry_after(&headers("retry-after", &date), now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            retry_after(&headers("retry-after", &past), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn ratelimit_reset_in_milliseconds_and_seconds() {
        let now = UNIX_EPOCH + Duration::from_secs(1_783_667_000);
        let ms = headers("x-ratelimit-reset", "1783667002500");
        assert_eq!(retry_after(&ms, now), Some(Duration::from_millis(2500)));
        let secs = headers("x-ratelimit-reset", "1783667003");
        assert_eq!(retry_after(&secs, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn garbage_is_ignored() {
        let now = SystemTime::now();
        assert_eq!(retry_after(&headers("retry-after", "soon"), now), None);
        assert_eq!(retry_after(&headers("retry-after", "-3"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for attempt in 1..40 {
            let delay = policy.backoff(attempt);
            assert!(delay <= policy.max_delay, "attempt {attempt}: {delay:?}");
        }
        assert!(policy.backoff(1) <= Duration::from_millis(500));
        assert!(policy.backoff(5) >= Duration::from_secs(4));
    }
}
