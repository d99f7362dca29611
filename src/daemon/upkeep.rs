//! The node's upkeep: at start, the runs it was executing when it stopped are failed; then the
//! janitor removes Docker objects no run of this node owns any more, and the lease reaper fails
//! runs whose node stopped renewing their lease.

use super::Service;
use crate::docker::DockerHost;
use crate::engine::janitor;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the node looks for Docker objects of runs it is not executing.
const JANITOR_INTERVAL: Duration = Duration::from_secs(10);

/// Removes this node's Docker objects that belong to no run it is executing.
pub async fn sweep_leftovers(svc: &Service, docker: &DockerHost) {
    let active: std::collections::HashSet<String> =
        svc.running.lock().map(|m| m.keys().map(|id| svc.settings.object_key(id)).collect()).unwrap_or_default();
    // One listing serves both sweeps: this node's leftovers and lost nodes' finished runs.
    let all = match docker.list_run_objects(&[]).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "janitor could not list Docker objects");
            return;
        }
    };
    // Workspaces kept for a resume, or in use by a run here (a resume's is its original's), stay.
    // Unknown (the database is unreachable): every workspace stays until the next sweep.
    let kept: Option<std::collections::HashSet<String>> = svc.store.kept_workspaces().await.ok().map(|k| {
        let mut k: std::collections::HashSet<String> = k.into_iter().collect();
        k.extend(svc.workspaces.lock().map(|w| w.clone()).unwrap_or_default());
        k
    });
    let mut leftovers = Vec::new();
    for run in all {
        if run.labels.contains_key(crate::engine::WORKSPACE_LABEL)
            && kept.as_ref().is_none_or(|k| run.volumes.iter().any(|v| k.contains(v)))
        {
            continue;
        }
        let owner = run.labels.get(janitor::OWNER_LABEL).map(String::as_str).unwrap_or_default();
        let ours = owner == svc.settings.node_id;
        if (ours && !active.contains(&run.run_id)) || (!ours && of_lost_node(svc, owner, &run.run_id).await) {
            leftovers.push(run);
        }
    }
    for run in leftovers {
        match docker.remove_run_objects(&run.run_id).await {
            Ok(report) => {
                tracing::info!(run = %run.run_id, clean = report.is_clean(), "removed leftovers of an interrupted run")
            }
            Err(e) => tracing::warn!(run = %run.run_id, error = %e, "janitor could not remove leftovers"),
        }
    }
}

/// Whether objects another node of this database created belong to a run that is over: that
/// node died (its runs became Error "worker lost") and the engine is shared, so nobody else
/// would remove them until it comes back.
async fn of_lost_node(svc: &Service, owner: &str, key: &str) -> bool {
    let Some(id) = key.strip_prefix(&format!("{}-", svc.settings.instance)) else { return false };
    if owner.is_empty() {
        return false;
    }
    matches!(svc.store.get_run(id).await, Ok(Some(row)) if row.status.is_terminal())
}

/// Sweeps leftover Docker objects and unused uploads every 10 s, for as long as the node runs.
pub async fn janitor_loop(svc: Arc<Service>, docker: DockerHost) {
    loop {
        tokio::time::sleep(JANITOR_INTERVAL).await;
        sweep_leftovers(&svc, &docker).await;
        if let Err(e) = svc.sweep_uploads().await {
            tracing::warn!(error = %e, "sweeping unused uploads failed");
        }
    }
}

/// Marks Error the runs whose node stopped renewing their lease (killed, cut off, its engine
/// hung), so that no run stays Running forever. Every node does it; the update is one statement,
/// so a run is failed once.
pub async fn lease_reaper(svc: Arc<Service>, stop: CancellationToken) {
    let every = (svc.settings.lease / 3).max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let message =
            "worker lost: its node stopped renewing the run's lease (killed, cut off from the database, or hung)";
        match svc.store.fail_expired_leases(chrono::Utc::now(), message).await {
            Ok(failed) => {
                for (id, node) in failed {
                    tracing::warn!(run = %id, %node, "marked Error: worker lost");
                    count_failed(&svc, &id).await;
                    // The log file lives on the lost node when it is another one; note it here if it is ours.
                    if node == svc.settings.node_id
                        && let Ok(live) = svc.logs.open(&id)
                    {
                        crate::engine::log::LogSink::line(live.as_ref(), None, &format!("Error: {message}"));
                        svc.logs.close(&id);
                    }
                    svc.announce(&id, super::outgoing::Moment::Finished).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "looking for lost workers failed"),
        }
    }
}

/// Marks Error the runs this node was executing when it stopped (it restarts now), and notes it
/// in their logs.
pub async fn fail_interrupted_runs(svc: &Service) -> crate::store::StoreResult<()> {
    let (logs, message) = (&svc.logs, "daemon restarted while the run was in progress");
    for id in svc.store.fail_runs_of_node(&svc.settings.node_id, message).await? {
        tracing::warn!(run = %id, "marked Error: the daemon restarted mid-run");
        count_failed(svc, &id).await;
        if let Ok(live) = logs.open(&id) {
            crate::engine::log::LogSink::line(live.as_ref(), None, &format!("Error: {message}"));
            logs.close(&id);
        }
        svc.announce(&id, super::outgoing::Moment::Finished).await;
    }
    Ok(())
}

/// Counts a run the reaper or the restart recovery marked Error (rare: one read each, for its
/// trigger kind).
async fn count_failed(svc: &Service, id: &str) {
    if let Ok(Some(row)) = svc.store.get_run(id).await {
        let ran = row.started_at.zip(row.finished_at).and_then(|(s, f)| (f - s).to_std().ok());
        svc.metrics().run_finished(row.status.as_str(), row.trigger.kind(), ran);
    }
}
