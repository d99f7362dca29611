//! Cron timers.

use crate::daemon::Service;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The timer scheduler.
pub async fn run(_svc: Arc<Service>, stop: CancellationToken) {
    stop.cancelled().await;
}
