//! The daemon's services: saved tasks, the run queue and its workers, tokens, sealed secrets and
//! run logs, over the store. Nothing here knows HTTP or the triggers: the HTTP layer
//! (`server`) and the triggers call down into [`Service`], and the worker reports finished runs
//! through the [`RunFinished`] it is given. `node` wires it all together.

pub mod logs;
pub mod nodes;
pub mod outgoing;
pub mod prepare;
pub mod resume;
pub mod retention;
pub mod runs;
mod sealing;
pub mod service;
pub mod spec;
pub mod tasks;
pub mod tokens;
pub mod upkeep;
pub mod worker;

pub use service::{Service, ServiceError};
pub use worker::RunFinished;

use crate::store::Store;
use crate::taskfile::ImageAliases;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the service and workers need to know about this node.
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    /// This node's id (stable across restarts).
    pub node_id: String,
    /// A short id of the database (shared by every node on it), which makes Docker object names
    /// unique when daemons with separate databases share an engine.
    pub instance: String,
    /// Registry for `$Registry`.
    pub registry: String,
    /// Concurrent runs.
    pub concurrency: usize,
    /// Node labels, including `os` and `arch`.
    pub labels: BTreeMap<String, String>,
    /// Image aliases.
    pub image_aliases: ImageAliases,
    /// Where uploads go.
    pub uploads_dir: PathBuf,
    /// Upload cap.
    pub max_upload_bytes: u64,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How long an upload that nothing names waits for the run or task that will use it.
    pub upload_grace: Duration,
    /// How long finished runs are kept.
    pub retention: retention::Retention,
    /// New runs and uploads are refused below this much free space (0: never).
    pub min_free_bytes: u64,
    /// How long a run that did not succeed keeps its workspace for a resume (zero: not at all).
    pub keep_failed_workspace: std::time::Duration,
    /// Run events for every run, the retry schedule of outgoing deliveries, the dashboard's URL.
    pub notify: outgoing::NotifySettings,
}

impl DaemonSettings {
    /// The Docker key of run `id`: `<instance>-<id>`.
    pub fn object_key(&self, id: &str) -> String {
        format!("{}-{id}", self.instance)
    }
}

/// Opens the configured store (running migrations): `url`, or SQLite in the data directory.
pub async fn open_store(data_dir: &Path, url: Option<&str>) -> Result<Arc<Store>, crate::store::StoreError> {
    Ok(Arc::new(crate::store::open(url, data_dir).await?))
}
