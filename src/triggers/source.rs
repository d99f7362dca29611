//! Git source triggers: webhook receivers (GitHub, GitLab, Gitea/Forgejo, generic HMAC) and the
//! poller that catches pushes no webhook reported.

use crate::daemon::Service;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The git poller and the recovery of deliveries stored but not processed.
pub async fn run(_svc: Arc<Service>, stop: CancellationToken) {
    stop.cancelled().await;
}
