//! Per-registry request rate limiting (token bucket), shared by every clone of a client.
//!
//! Public registries throttle per client IP, so the limit belongs to the registry host, not to
//! a task or a caller. Waiters reserve their slot before sleeping, which keeps concurrent
//! callers in arrival order and makes the total delay predictable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Token buckets keyed by registry host.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    rps: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: each waiter has already taken its token and sleeps off the debt.
    tokens: f64,
    refilled_at: Instant,
    /// Set after a 429 so every caller for that registry honours its `Retry-After`.
    blocked_until: Option<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `rps` requests per second per registry, with a burst of `max(rps, 1)`.
    /// A non-positive or non-finite `rps` disables limiting.
    pub(crate) fn new(rps: f64) -> Self {
        Self { rps, buckets: Arc::default() }
    }

    fn enabled(&self) -> bool {
        self.rps.is_finite() && self.rps > 0.0
    }

    fn burst(&self) -> f64 {
        self.rps.max(1.0)
    }

    /// Waits until a request to `host` is allowed.
    pub(crate) async fn acquire(&self, host: &str) {
        let wait = self.reserve(host, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token for `host` and returns how long the caller must wait before using it.
    fn reserve(&self, host: &str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(host.to_owned()).or_insert(Bucket {
            tokens: self.burst(),
            refilled_at: now,
            blocked_until: None,
        });
        let blocked = bucket.blocked_until.map(|until| until.saturating_duration_since(now)).unwrap_or_default();
        if !self.enabled() {
            return blocked;
        }
        let elapsed = now.saturating_duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rps).min(self.burst());
        bucket.refilled_at = now;
        bucket.tokens -= 1.0;
        let debt =
            if bucket.tokens < 0.0 { Duration::from_secs_f64(-bucket.tokens / self.rps) } else { Duration::ZERO };
        debt.max(blocked)
    }

    /// Holds back every request to `host` until `until` (used for a registry's `Retry-After`).
    pub(crate) fn block_until(&self, host: &str, until: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(host.to_owned()).or_insert(Bucket {
            tokens: self.burst(),
            refilled_at: Instant::now(),
            blocked_until: None,
        });
        bucket.blocked_until = Some(bucket.blocked_until.map_or(until, |b| b.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate_per_host() {
        let limiter = RateLimiter::new(5.0);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..7).map(|_| limiter.reserve("a", now)).collect();
        assert_eq!(waits[..5], [Duration::ZERO; 5]);
        assert_eq!(waits[5], Duration::from_millis(200));
        assert_eq!(waits[6], Duration::from_millis(400));
        // Another registry has its own bucket.
        assert_eq!(limiter.reserve("b", now), Duration::ZERO);
        // After a second, five tokens came back, two of which were owed.
        assert_eq!(limiter.reserve("a", now + Duration::from_secs(1)), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn block_until_applies_to_clones_and_disabled_limiters() {
        let limiter = RateLimiter::new(0.0);
        let clone = limiter.clone();
        let now = Instant::now();
        limiter.block_until("a", now + Duration::from_secs(3));
        assert_eq!(clone.reserve("a", now), Duration::from_secs(3));
        assert_eq!(clone.reserve("b", now), Duration::ZERO);
    }
}
