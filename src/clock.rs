//! Where trigger loops get the time from: the system clock in the daemon, a manual clock in
//! tests, so that timers and quiet periods are tested without waiting for them.

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// The time, and a way to wait for a moment.
#[async_trait::async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Returns at `at` or soon after.
    async fn sleep_until(&self, at: DateTime<Utc>);
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The system clock.
pub struct SystemClock;

/// The longest single sleep: the wall clock can be set while we sleep on the monotonic one, so
/// long waits are re-measured.
const MAX_SLEEP: Duration = Duration::from_secs(30);

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let left = at - Utc::now();
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(MAX_SLEEP)).await;
        }
    }
}

/// A clock that moves only when told to.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: Notify,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock { now: Mutex::new(start), moved: Notify::new() }
    }

    /// Moves the clock to `to` (never backwards) and wakes the sleepers that are due.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock()
            && to > *now
        {
            *now = to;
        }
        self.moved.notify_waiters();
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let to = self.now() + chrono::Duration::from_std(by).unwrap_or_default();
        self.set(to);
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().map(|n| *n).unwrap_or_else(|p| *p.into_inner())
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.now() >= at {
                return;
            }
            moved.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_it_reaches_them() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let c = clock.clone();
        let sleeper = tokio::spawn(async move { c.sleep_until(start + chrono::Duration::seconds(60)).await });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(5), sleeper).await.unwrap().unwrap();
        // Never backwards.
        clock.set(start);
        assert_eq!(clock.now(), start + chrono::Duration::seconds(60));
    }

    #[tokio::test]
    async fn the_system_clock_sleeps_until_the_moment() {
        let at = Utc::now() + chrono::Duration::milliseconds(50);
        SystemClock.sleep_until(at).await;
        assert!(Utc::now() >= at);
        // A moment in the past returns at once.
        SystemClock.sleep_until(at - chrono::Duration::hours(1)).await;
    }
}
