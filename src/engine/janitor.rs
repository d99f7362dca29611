//! Leftovers of runs whose process died (killed, machine rebooted) are found by their labels and
//! removed at the next start.

use crate::docker::{DockerError, DockerHost};
use std::collections::BTreeMap;

/// Who started a run: `local` for CLI runs, the node id for the daemon.
pub const OWNER_LABEL: &str = "drydock.owner";
/// The machine a local run ran on.
pub const HOST_LABEL: &str = "drydock.host";
/// The process that ran a local run.
pub const PID_LABEL: &str = "drydock.pid";

/// This machine's name, for the host label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into())
}

/// Labels that mark an object as belonging to a local run of this process.
pub fn local_run_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (OWNER_LABEL.to_string(), "local".to_string()),
        (HOST_LABEL.to_string(), hostname()),
        (PID_LABEL.to_string(), std::process::id().to_string()),
    ])
}

/// Whether `pid` is a live drydock process on this machine.
fn drydock_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "drydock")
}

/// Removes the objects of local runs on this machine whose drydock process is gone. Returns the
/// run ids cleaned up.
pub async fn sweep_dead_local_runs(docker: &DockerHost) -> Result<Vec<String>, DockerError> {
    let host = hostname();
    let mut removed = Vec::new();
    for run in docker.list_run_objects(&[(OWNER_LABEL, "local"), (HOST_LABEL, &host)]).await? {
        let alive = run.labels.get(PID_LABEL).is_some_and(|pid| drydock_alive(pid));
        if !alive {
            let report = docker.remove_run_objects(&run.run_id).await?;
            if !report.is_clean() {
                tracing::warn!(run = %run.run_id, failures = ?report.failures, "janitor could not remove everything");
            }
            removed.push(run.run_id);
        }
    }
    Ok(removed)
}
