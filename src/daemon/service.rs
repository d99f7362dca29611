//! The daemon's services, independent of HTTP: `Service` and its state, its error type, and the
//! node-level reads (readiness, where other nodes are). What it does is split by subject:
//! `tasks`, `runs`, `tokens` and `sealing`. Handlers in `server/` stay thin and call it; the
//! trigger loops call it too. It knows neither: it is told nothing about HTTP, and it tells the
//! triggers only through what it exposes (the task-change signal, the clock).

use super::DaemonSettings;
use super::logs::LogStore;
use crate::api;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::secrets::Cipher;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why an API call failed; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input (400), with task-file diagnostics when there are some.
    #[error("{message}")]
    Invalid {
        /// What is wrong and what to do.
        message: String,
        /// Task-file findings.
        diagnostics: Vec<api::WireDiagnostic>,
    },
    /// Not there (404).
    #[error("{0}")]
    NotFound(String),
    /// Exists already, or the state forbids it (409).
    #[error("{0}")]
    Conflict(String),
    /// Too large (413).
    #[error("{0}")]
    TooLarge(String),
    /// The data directory's disk is nearly full (507).
    #[error("{0}")]
    InsufficientStorage(String),
    /// The daemon or its database failed (500).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// Bad input without diagnostics.
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid { message: message.into(), diagnostics: Vec::new() }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ServiceError::NotFound(e.to_string()),
            StoreError::Conflict { .. } | StoreError::State(_) => ServiceError::Conflict(e.to_string()),
            StoreError::Database(_) | StoreError::Corrupt(_) => ServiceError::Internal(e.to_string()),
        }
    }
}

impl From<crate::secrets::CipherError> for ServiceError {
    fn from(e: crate::secrets::CipherError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

/// The daemon's services and their state. The state is private to `daemon/`: everything above
/// (the HTTP layer, the triggers) goes through methods.
pub struct Service {
    /// Persistence.
    pub(super) store: Arc<Store>,
    /// Encrypts secrets at rest.
    pub(super) cipher: Cipher,
    /// Run logs.
    pub(super) logs: Arc<LogStore>,
    /// Settings.
    pub(super) settings: DaemonSettings,
    /// Wakes idle workers when a run is queued.
    pub(super) wake: Arc<Notify>,
    /// Wakes the sender of commit statuses and run events when one is queued.
    pub(super) outgoing_wake: Notify,
    /// Cancel tokens of the runs this node is executing.
    /// Workspace volumes of the runs this node executes (a resume's is its original's), which
    /// the janitor must leave alone.
    pub(super) workspaces: Mutex<std::collections::HashSet<String>>,
    pub(super) running: Mutex<HashMap<String, CancellationToken>>,
    /// The time, for timers' next fire times and for the trigger loops.
    clock: Arc<dyn Clock>,
    /// Signalled whenever a task is created, changed or deleted (the timer scheduler waits on it).
    task_changes: Notify,
    /// This node's metrics.
    metrics: Arc<Metrics>,
    /// Tokens the database confirmed lately, by hash: the name and when (see `caller`).
    pub(super) tokens_seen: Mutex<HashMap<String, (String, std::time::Instant)>>,
}

/// What the services answer.
pub type Result<T> = std::result::Result<T, ServiceError>;

impl Service {
    /// The services over an opened store; `settings.labels` should already carry the engine's
    /// `os` and `arch`. Nothing here touches Docker, so the services run without an engine.
    pub fn new(
        store: Arc<Store>,
        cipher: Cipher,
        logs: Arc<LogStore>,
        settings: DaemonSettings,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Service {
            store,
            cipher,
            logs,
            settings,
            wake: Arc::new(Notify::new()),
            outgoing_wake: Notify::new(),
            running: Default::default(),
            workspaces: Default::default(),
            clock,
            task_changes: Notify::new(),
            metrics,
            tokens_seen: Default::default(),
        }
    }

    /// The store, for the layers above that keep their own records in it (the triggers).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// This node's settings.
    pub fn settings(&self) -> &DaemonSettings {
        &self.settings
    }

    /// Run logs on this node.
    pub fn logs(&self) -> &Arc<LogStore> {
        &self.logs
    }

    /// The time.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This node's metrics, for the layers that count what happens there (triggers, webhooks).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The text of a metrics scrape: this node's counters, and the database's count of runs
    /// waiting and executing.
    pub async fn metrics_text(&self) -> Result<String> {
        let active = self.store.active_run_counts().await?;
        Ok(self.metrics.encode(&active))
    }

    /// Fires whenever a task is created, changed or deleted.
    pub fn task_changes(&self) -> &Notify {
        &self.task_changes
    }

    /// Wakes this node's idle workers (another node queued a run).
    pub fn wake(&self) -> &Arc<Notify> {
        &self.wake
    }

    /// Answers when the database does.
    pub async fn ready(&self) -> Result<()> {
        Ok(crate::store::facts::ping(self.store.as_ref()).await?)
    }

    /// Where node `node` serves the logs of the runs it executes, if it said.
    pub async fn node_url(&self, node: &str) -> Result<Option<String>> {
        Ok(crate::store::facts::node_url(self.store.as_ref(), node).await?)
    }
}
