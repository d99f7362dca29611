//! Base-image triggers: recording what builds used, the watcher, registry notifications and
//! cascades.

use crate::daemon::Service;
use crate::store::StoreResult;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The watcher loop.
pub async fn run(_svc: Arc<Service>, _registry: super::RegistryAccess, stop: CancellationToken) {
    stop.cancelled().await;
}

/// Records a finished run's images and queues dependents of what it pushed.
pub async fn run_finished(_svc: &Arc<Service>, _run_id: &str) -> StoreResult<()> {
    Ok(())
}
