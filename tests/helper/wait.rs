//! Waiting for what a daemon does in the background, polling every 100 ms up to a limit.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` until it gives something, for up to a minute; panics naming `what` after.
pub async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, probe: impl FnMut() -> F) -> T {
    within(what, Duration::from_secs(60), probe).await
}

/// Polls `check` until it holds, for up to `limit`.
pub async fn until<F: Future<Output = bool>>(what: &str, limit: Duration, mut check: impl FnMut() -> F) {
    within(what, limit, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Polls `probe` until it gives something, for up to `limit`.
pub async fn within<T, F: Future<Output = Option<T>>>(what: &str, limit: Duration, mut probe: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
