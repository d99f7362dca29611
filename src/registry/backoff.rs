//! Retry delays: exponential backoff with full jitter, and `Retry-After` parsing.
//!
//! Full jitter (a uniform delay in `[0, cap]`) is used because many watchers polling the same
//! registry would otherwise retry in lock-step and hit its rate limit together again.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Exponential backoff policy with full jitter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// A policy whose cap starts at `base` and doubles per attempt up to `max`.
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The ceiling of the delay after failed attempt number `attempt` (0-based).
    pub(crate) fn cap(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A random delay in `[0, cap(attempt)]`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        self.cap(attempt).mul_f64(random_fraction())
    }
}

/// A number in `[0, 1)`. Jitter needs spread, not cryptographic quality, so std's randomly
/// keyed hasher stands in for a `rand` dependency.
fn random_fraction() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date (relative to `now`).
///
/// Dates in the past give a zero delay; anything unparseable gives `None` so the caller falls
/// back to its own backoff instead of failing.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// IMF-fixdate plus the two obsolete forms RFC 9110 still asks recipients to accept.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap()
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(" 120 ", now()), Some(Duration::from_secs(120)));
    }

    #[test]
    fn retry_after_http_dates() {
        let expected = Some(Duration::from_secs(30));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now()), expected);
        assert_eq!(parse_retry_after("Wednesday, 21-Oct-15 07:28:30 GMT", now()), expected);
        assert_eq!(parse_retry_after("Wed Oct 21 07:28:30 2015", now()), expected);
    }

    #[test]
    fn retry_after_in_the_past_is_zero_and_garbage_is_none() {
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn delays_stay_under_a_doubling_capped_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff.cap(0), Duration::from_millis(100));
        assert_eq!(backoff.cap(3), Duration::from_millis(800));
        assert_eq!(backoff.cap(4), Duration::from_secs(1));
        assert_eq!(backoff.cap(200), Duration::from_secs(1));
        for attempt in 0..10 {
            assert!(backoff.delay(attempt) <= backoff.cap(attempt));
        }
    }

    #[test]
    fn jitter_spreads() {
        let samples: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(samples.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(samples.iter().any(|f| *f < 0.5) && samples.iter().any(|f| *f >= 0.5));
    }
}
