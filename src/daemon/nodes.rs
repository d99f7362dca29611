//! This node in the node list (`drydock node list`): it reports itself every few seconds, and
//! learns through its report that someone asked it to drain (`drydock node drain`, through any
//! node's API).

use super::service::{Result, Service, ServiceError};
use crate::api::{NodeInfo, NodeState};
use crate::store::NodeReport;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a node reports itself.
const REPORT_EVERY: Duration = Duration::from_secs(2);
/// A node silent this long (and holding no run) leaves the node list.
const FORGET_NODES_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);
/// Reports between two refreshes of the tokens this node knows (about a minute).
const TOKENS_EVERY_REPORTS: u32 = 30;
/// Reports between two prunes of the node list (about an hour).
const PRUNE_EVERY_REPORTS: u32 = 1800;

impl Service {
    /// Every node that reported, with the leases it holds; one silent for longer than a lease is
    /// Lost.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        Ok(self.store.list_nodes(self.settings.lease).await?)
    }

    /// Asks node `id` to drain: it stops claiming, lets its runs finish within its grace
    /// period, and leaves. The node reads the request within a few seconds.
    pub async fn drain_node(&self, id: &str) -> Result<NodeInfo> {
        if !self.store.request_drain(id).await? {
            return Err(ServiceError::NotFound(format!(
                "no node `{id}` ever reported; `drydock node list` lists them"
            )));
        }
        let nodes = self.nodes().await?;
        nodes.into_iter().find(|n| n.id == id).ok_or_else(|| ServiceError::NotFound(format!("node `{id}`")))
    }

    /// Runs this node executes now.
    pub fn busy(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }
}

/// What this node says of itself, shared by the report loop and the composition root.
pub struct Presence {
    svc: Arc<Service>,
    url: String,
    roles: Box<dyn Fn() -> Vec<String> + Send + Sync>,
    state: Mutex<NodeState>,
}

impl Presence {
    /// `roles` tells which cluster-wide roles the node leads at the moment.
    pub fn new(svc: Arc<Service>, url: String, roles: Box<dyn Fn() -> Vec<String> + Send + Sync>) -> Presence {
        Presence { svc, url, roles, state: Mutex::new(NodeState::Active) }
    }

    /// From now on the node says it drains (or has left).
    pub fn set(&self, state: NodeState) {
        if let Ok(mut s) = self.state.lock() {
            *s = state;
        }
    }

    /// Writes the node's report; whether a drain is asked of it.
    pub async fn report(&self, starting: bool) -> crate::store::StoreResult<bool> {
        let settings = self.svc.settings();
        let report = NodeReport {
            id: settings.node_id.clone(),
            url: self.url.clone(),
            version: crate::version::LONG.to_string(),
            labels: settings.labels.clone(),
            slots: u32::try_from(settings.concurrency).unwrap_or(u32::MAX),
            busy: u32::try_from(self.svc.busy()).unwrap_or(u32::MAX),
            roles: (self.roles)(),
            state: self.state.lock().map(|s| *s).unwrap_or(NodeState::Active),
        };
        self.svc.store().report_node(&report, starting).await
    }

    /// Reports every few seconds until `stop`; cancels `drain` when a drain is asked.
    pub async fn report_loop(self: Arc<Self>, drain: CancellationToken, stop: CancellationToken) {
        let mut reports: u32 = 0;
        loop {
            if reports.is_multiple_of(TOKENS_EVERY_REPORTS)
                && let Err(e) = self.svc.refresh_known_tokens().await
            {
                tracing::debug!(error = %e, "refreshing the known tokens failed");
            }
            if reports.is_multiple_of(PRUNE_EVERY_REPORTS) {
                match self.svc.store().prune_nodes(FORGET_NODES_AFTER).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(nodes = n, "forgot nodes silent for a week"),
                    Err(e) => tracing::warn!(error = %e, "pruning the node list failed"),
                }
            }
            reports = reports.wrapping_add(1);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(REPORT_EVERY) => {}
            }
            match tokio::time::timeout(REPORT_EVERY, self.report(false)).await {
                Ok(Ok(true)) if !drain.is_cancelled() => {
                    tracing::info!("a drain was asked of this node: it takes no new runs and leaves once its runs end");
                    drain.cancel();
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "reporting this node failed"),
                Err(_) => tracing::warn!("reporting this node timed out"),
            }
        }
    }
}
