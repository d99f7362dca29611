//! Disk: finished runs and their logs go by the retention policy (`--keep-runs`, `--keep-days`),
//! continuously and on demand (`drydock prune`); and new work is refused while the data
//! directory's disk is nearly full, rather than failing halfway through a build.
//!
//! With several nodes every one applies the policy to the shared database (deleting a run twice
//! deletes it once), and each removes the log files it holds whose run is gone, whichever node
//! deleted the run.

use super::Service;
use super::service::{Result, ServiceError};
use crate::api::{PruneReport, PruneRequest, PrunedRun};
use crate::store::ExpiredBy;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How long finished runs are kept; 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The newest N runs of each task are kept (quick runs count as one group).
    pub keep_runs: u32,
    /// Runs that finished in the last D days are kept.
    pub keep_days: u32,
}

impl Default for Retention {
    /// 30 days, as ACR keeps run logs; no count limit.
    fn default() -> Self {
        Retention { keep_runs: 0, keep_days: 30 }
    }
}

impl Retention {
    fn is_off(&self) -> bool {
        self.keep_runs == 0 && self.keep_days == 0
    }
}

/// Runs deleted per transaction: short enough not to hold the writer long.
const BATCH: u32 = 500;
/// The most runs a dry run lists.
const DRY_RUN_MAX: u32 = 100_000;
/// A log file is only an orphan once this old: an import writes logs before their runs.
const ORPHAN_AGE: Duration = Duration::from_secs(600);
/// How often the policy is applied by default.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(300);
/// Free space kept on the data directory's disk by default.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1 << 30;

impl Service {
    /// `POST /v1/prune`: applies the given limits (the daemon's own where not given) now.
    pub async fn prune(&self, req: PruneRequest) -> Result<PruneReport> {
        let own = self.settings.retention;
        let policy = Retention {
            keep_runs: req.keep_runs.unwrap_or(own.keep_runs),
            keep_days: req.keep_days.unwrap_or(own.keep_days),
        };
        if policy.is_off() {
            return Err(ServiceError::invalid(
                "nothing to prune by: give --keep-runs N or --keep-days D (this daemon keeps every run)",
            ));
        }
        self.apply_retention(policy, req.dry_run).await
    }

    /// Deletes (or, dry, lists) the finished runs past `policy`, oldest first, with the logs
    /// this node holds of them.
    pub async fn apply_retention(&self, policy: Retention, dry_run: bool) -> Result<PruneReport> {
        let keep_runs = (policy.keep_runs > 0).then_some(policy.keep_runs);
        let before =
            (policy.keep_days > 0).then(|| chrono::Utc::now() - chrono::Duration::days(policy.keep_days.into()));
        let mut report =
            PruneReport { dry_run, keep_runs: policy.keep_runs, keep_days: policy.keep_days, ..PruneReport::default() };
        loop {
            let limit = if dry_run { DRY_RUN_MAX } else { BATCH };
            let batch = self.store.expired_runs(keep_runs, before, limit).await?;
            let ids: Vec<String> = batch.iter().map(|r| r.id.clone()).collect();
            let gone: HashSet<String> = if dry_run {
                ids.into_iter().collect()
            } else {
                self.store.delete_runs(&ids).await?.into_iter().collect()
            };
            for run in batch.iter().filter(|r| gone.contains(&r.id)) {
                report.log_bytes += self.drop_log(&run.id, dry_run).await;
                report.runs.push(PrunedRun {
                    id: run.id.clone(),
                    task: run.task.clone(),
                    status: run.status.clone(),
                    finished_at: run.finished_at,
                    reason: match run.by {
                        ExpiredBy::Age => "age".into(),
                        ExpiredBy::Count => "count".into(),
                    },
                });
            }
            // Another node deleting the same runs first leaves `gone` empty: stop, it has them.
            if dry_run || batch.len() < BATCH as usize || gone.is_empty() {
                return Ok(report);
            }
        }
    }

    /// The size of run `id`'s log on this node, removed unless `dry_run`.
    async fn drop_log(&self, id: &str, dry_run: bool) -> u64 {
        let path = self.logs.path(id);
        let size = tokio::fs::metadata(&path).await.map(|m| m.len()).unwrap_or(0);
        if !dry_run
            && let Err(e) = tokio::fs::remove_file(&path).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(run = id, error = %e, "removing a pruned run's log failed");
        }
        size
    }

    /// Removes the log files on this node whose run no longer exists (another node pruned it, or
    /// a crash came between deleting a run and its log). Returns how many went.
    pub async fn sweep_orphan_logs(&self) -> Result<usize> {
        let dir = self.logs.dir().to_path_buf();
        let candidates = tokio::task::spawn_blocking(move || old_log_files(&dir))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut removed = 0;
        for chunk in candidates.chunks(BATCH as usize) {
            let existing = self.store.existing_runs(chunk).await?;
            for id in chunk.iter().filter(|id| !existing.contains(*id)) {
                if tokio::fs::remove_file(self.logs.path(id)).await.is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Refuses new work while the disk of the data directory has less than `--min-free-mib`.
    pub fn check_free_space(&self) -> Result<()> {
        let min = self.settings.min_free_bytes;
        if min == 0 {
            return Ok(());
        }
        let dir = self.logs.dir();
        let Ok(stats) = rustix::fs::statvfs(dir) else { return Ok(()) };
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        if free >= min {
            return Ok(());
        }
        Err(ServiceError::InsufficientStorage(format!(
            "the disk holding {} has {} MiB free, below the {} MiB this daemon keeps free (--min-free-mib); \
             new runs and uploads are refused until there is room: `drydock prune` removes old runs and their logs",
            dir.display(),
            free >> 20,
            min >> 20
        )))
    }
}

/// Ids of the run logs in `dir` last written longer than [`ORPHAN_AGE`] ago.
fn old_log_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let now = SystemTime::now();
    entries
        .filter_map(|e| {
            let entry = e.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let id = name.strip_suffix(".log")?.to_string();
            let modified = entry.metadata().ok()?.modified().ok()?;
            (now.duration_since(modified).unwrap_or_default() >= ORPHAN_AGE).then_some(id)
        })
        .collect()
}

/// Applies the daemon's retention policy every `every` until `stop`, and sweeps orphaned logs.
pub async fn retention_loop(svc: Arc<Service>, every: Duration, stop: CancellationToken) {
    loop {
        let policy = svc.settings.retention;
        if !policy.is_off() {
            match svc.apply_retention(policy, false).await {
                Ok(report) if !report.runs.is_empty() => {
                    tracing::info!(
                        runs = report.runs.len(),
                        log_bytes = report.log_bytes,
                        "pruned runs past retention"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "applying the retention policy failed"),
            }
        }
        if let Err(e) = svc.sweep_orphan_logs().await {
            tracing::warn!(error = %e, "sweeping orphaned logs failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
