//! Date formats of the APIs.

use time::OffsetDateTime;
use time::macros::format_description;

fn datetime(ms: u64) -> OffsetDateTime {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// CF timestamps: RFC 3339 in whole seconds, `2026-07-10T06:49:28Z` (observed).
pub fn cf_time(ms: u64) -> String {
    datetime(ms)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// Service Manager timestamps: microseconds, `2026-07-20T09:27:26.899497Z` (observed via CLI).
pub fn sm_time(ms: u64) -> String {
    datetime(ms)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_recordings() {
        assert_eq!(cf_time(1_783_666_168_000), "2026-07-10T06:49:28Z");
        assert_eq!(sm_time(1_783_666_168_123), "2026-07-10T06:49:28.123000Z");
    }
}
