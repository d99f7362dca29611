//! Persistence behind one trait: SQLite (the embedded default) and PostgreSQL (several nodes).
//!
//! Only this module writes SQL. The store keeps what it is given: secret fields of tasks and run
//! requests arrive already encrypted by the service layer (`secrets::Cipher`), so a database dump
//! never holds a secret in plain text.

use crate::api::{
    ContextInfo, Delivery, DeliveryOutcome, ImageRole, RunFilter, RunType, Task, TimerEvent, TokenInfo, Trigger,
};
use crate::run::{OutputImage, RunStatus, StepRecord};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub mod facts;
pub mod sql;

pub use sql::{Dialect, SqlStore, sqlite_url};

#[cfg(test)]
mod tests;

/// Opens the daemon's store: `database_url` when given (`postgres://…` to share one database
/// between nodes, or `sqlite://…`), else `drydock.db` in `data_dir` (created if missing).
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> StoreResult<SqlStore> {
    match database_url {
        Some(url) => SqlStore::open(url).await,
        None => {
            tokio::fs::create_dir_all(data_dir).await.map_err(|e| {
                StoreError::Database(format!("cannot create the data directory {}: {e}", data_dir.display()))
            })?;
            SqlStore::open(&sqlite_url(data_dir)).await
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist.
    #[error("{what} `{name}` not found")]
    NotFound {
        /// Kind of thing (`task`, `run`, …).
        what: &'static str,
        /// Its name or id.
        name: String,
    },
    /// The thing exists already.
    #[error("{what} `{name}` already exists")]
    Conflict {
        /// Kind of thing.
        what: &'static str,
        /// Its name or id.
        name: String,
    },
    /// The operation does not apply in the current state (e.g. cancelling a finished run).
    #[error("{0}")]
    State(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// Result type of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// A run as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRow {
    /// Allocation order; run ids are derived from it.
    pub seq: i64,
    /// Run id (`runid::daemon_run_id(seq)`).
    pub id: String,
    /// Status.
    pub status: RunStatus,
    /// Run type.
    pub run_type: RunType,
    /// Task, for task runs.
    pub task: Option<String>,
    /// What started it.
    pub trigger: Trigger,
    /// Frozen description of what to run (secret fields encrypted by the caller).
    pub request: serde_json::Value,
    /// Labels a node must carry to claim it.
    pub required_labels: BTreeMap<String, String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When a node claimed it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// `os/arch` it ran on.
    pub platform: Option<String>,
    /// Step results.
    pub steps: Vec<StepRecord>,
    /// Pushed images.
    pub output_images: Vec<OutputImage>,
    /// ACR's dependency JSON.
    pub dependencies: Vec<serde_json::Value>,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// Node that claimed it.
    pub node: Option<String>,
    /// Until when the node's claim holds.
    pub lease_until: Option<DateTime<Utc>>,
    /// A cancel was asked for while it ran.
    pub cancel_requested: bool,
}

/// A run to queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    /// Run type.
    pub run_type: RunType,
    /// Task, for task runs.
    pub task: Option<String>,
    /// What started it.
    pub trigger: Trigger,
    /// What to run (secrets encrypted).
    pub request: serde_json::Value,
    /// Labels a node must carry.
    pub required_labels: BTreeMap<String, String>,
    /// Idempotency key (e.g. `timer:<task>:<timer>:<occurrence>`, `git:<provider>:<delivery>`):
    /// a second run with the same key is not created; the first is returned.
    pub dedup_key: Option<String>,
}

/// Whether `enqueue_run` created a run or found the one with the same key.
#[derive(Clone, Debug, PartialEq)]
pub enum Enqueued {
    /// A new run.
    New(RunRow),
    /// The run that already had this key.
    Existing(RunRow),
}

impl Enqueued {
    /// The run either way.
    pub fn run(&self) -> &RunRow {
        match self {
            Enqueued::New(r) | Enqueued::Existing(r) => r,
        }
    }
}

/// The end of a run, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Final status.
    pub status: RunStatus,
    /// Step results.
    pub steps: Vec<StepRecord>,
    /// Pushed images.
    pub output_images: Vec<OutputImage>,
    /// Dependency JSON.
    pub dependencies: Vec<serde_json::Value>,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
}

/// An image a task's last successful build used or produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskImage {
    /// Task.
    pub task: String,
    /// Normalised `registry/repository:tag`.
    pub image: String,
    /// How the build used it.
    pub role: ImageRole,
    /// Digest used or pushed, when known.
    pub digest: Option<String>,
    /// Run that recorded it.
    pub run_id: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// A change of an image's digest waiting out its quiet period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChange {
    /// The digest acted on before the change.
    pub old: Option<String>,
    /// The newest digest seen.
    pub new: String,
    /// When it fires unless another change comes first.
    pub due: DateTime<Utc>,
}

/// What the base-image watcher knows about one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageState {
    /// Normalised `registry/repository:tag`.
    pub image: String,
    /// The digest last acted on (fired for, or first seen).
    pub digest: Option<String>,
    /// When the registry was last asked (successfully or not).
    pub checked_at: Option<DateTime<Utc>>,
    /// When the digest last changed.
    pub changed_at: Option<DateTime<Utc>>,
    /// Why the last check failed.
    pub error: Option<String>,
    /// A change in its quiet period.
    pub pending: Option<PendingChange>,
    /// When the watcher asks next.
    pub next_check: Option<DateTime<Utc>>,
}

impl ImageState {
    /// A state with nothing known yet.
    pub fn new(image: &str) -> Self {
        ImageState {
            image: image.to_string(),
            digest: None,
            checked_at: None,
            changed_at: None,
            error: None,
            pending: None,
            next_check: None,
        }
    }
}

/// Persistence for the daemon. Every method is one transaction.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a task; `Conflict` if the name is taken.
    async fn insert_task(&self, task: &Task) -> StoreResult<()>;
    /// Replaces a task; `NotFound` if there is none.
    async fn update_task(&self, task: &Task) -> StoreResult<()>;
    /// One task.
    async fn get_task(&self, name: &str) -> StoreResult<Option<Task>>;
    /// All tasks, by name.
    async fn list_tasks(&self) -> StoreResult<Vec<Task>>;
    /// Deletes a task (its runs stay); whether it existed.
    async fn delete_task(&self, name: &str) -> StoreResult<bool>;

    /// Queues a run with the next run id, or returns the run that already has `dedup_key`.
    async fn enqueue_run(&self, run: NewRun) -> StoreResult<Enqueued>;
    /// Claims the oldest queued run whose required labels `node_labels` satisfy: it becomes
    /// Running, owned by `node` until now + `lease`. Exactly one claimer wins each run.
    async fn claim_run(
        &self,
        node: &str,
        lease: Duration,
        node_labels: &BTreeMap<String, String>,
    ) -> StoreResult<Option<RunRow>>;
    /// Extends `node`'s lease on a running run; false if the node no longer holds it.
    async fn renew_lease(&self, id: &str, node: &str, lease: Duration) -> StoreResult<bool>;
    /// Records one step's state while the run goes on (`index` is the step's position).
    async fn save_step(&self, id: &str, index: usize, step: &StepRecord) -> StoreResult<()>;
    /// Records the platform a claimed run runs on.
    async fn set_platform(&self, id: &str, platform: &str) -> StoreResult<()>;
    /// Records the end of a run (only if it is still Running or Queued).
    async fn finish_run(&self, id: &str, result: &RunResult) -> StoreResult<()>;
    /// Cancels: a queued run becomes Canceled at once; a running one gets `cancel_requested`.
    /// `State` if the run already ended.
    async fn cancel_run(&self, id: &str) -> StoreResult<RunRow>;
    /// One run.
    async fn get_run(&self, id: &str) -> StoreResult<Option<RunRow>>;
    /// Runs matching the filter, newest first (steps included).
    async fn list_runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRow>>;
    /// The newest run of each saved task that has run (one index seek per task, whatever the
    /// number of runs).
    async fn last_runs(&self) -> StoreResult<Vec<RunRow>>;
    /// Marks every run that `node` was running as Error with `message`, keeping whatever steps
    /// it recorded; returns their ids. Used at start-up after a crash.
    async fn fail_runs_of_node(&self, node: &str, message: &str) -> StoreResult<Vec<String>>;
    /// Marks running runs whose lease expired before `now` as Error with `message`; returns
    /// (run id, node) pairs so that their Docker objects can be removed.
    async fn fail_expired_leases(&self, now: DateTime<Utc>, message: &str) -> StoreResult<Vec<(String, String)>>;

    /// Stores a token's hash.
    async fn insert_token(&self, info: &TokenInfo, hash: &str) -> StoreResult<()>;
    /// All tokens.
    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    /// Revokes a token; whether it existed.
    async fn revoke_token(&self, id: &str) -> StoreResult<bool>;
    /// The unrevoked token with this hash, and records its use.
    async fn use_token(&self, hash: &str) -> StoreResult<Option<TokenInfo>>;

    /// Records an uploaded context archive stored at `path`.
    async fn insert_context(&self, info: &ContextInfo, path: &str) -> StoreResult<()>;
    /// An uploaded context and where it is stored.
    async fn get_context(&self, id: &str) -> StoreResult<Option<(ContextInfo, String)>>;

    /// A small shared key-value area for services (trigger state, leader bookkeeping).
    async fn kv_get(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a key.
    async fn kv_put(&self, key: &str, value: &str) -> StoreResult<()>;
    /// Sets a key unless it is set; returns the value that is stored (the first writer's).
    async fn kv_put_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;

    // ---- webhook inbox ----------------------------------------------------------------------

    /// Stores a delivery unless one with its (provider, id) exists; returns the existing one
    /// when it does (a redelivery).
    async fn insert_delivery(&self, delivery: &Delivery) -> StoreResult<Option<Delivery>>;
    /// Records what became of a delivery.
    async fn finish_delivery(
        &self,
        provider: &str,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        reason: Option<&str>,
        runs: &[String],
    ) -> StoreResult<()>;
    /// Deliveries, newest first; `before` (received time) pages.
    async fn list_deliveries(&self, top: u32, before: Option<DateTime<Utc>>) -> StoreResult<Vec<Delivery>>;
    /// Deliveries stored but never processed (a crash came in between), oldest first.
    async fn unprocessed_deliveries(&self, limit: u32) -> StoreResult<Vec<Delivery>>;

    // ---- polled git heads -------------------------------------------------------------------

    /// The heads last seen in a repository, by full ref name.
    async fn source_heads(&self, repository: &str) -> StoreResult<BTreeMap<String, String>>;
    /// Records a head as seen.
    async fn put_source_head(&self, repository: &str, reference: &str, commit: &str) -> StoreResult<()>;

    // ---- base images ------------------------------------------------------------------------

    /// Replaces what a task's builds used and produced with the images of its latest successful run.
    async fn record_task_images(&self, task: &str, images: &[TaskImage]) -> StoreResult<()>;
    /// A task's images.
    async fn task_images(&self, task: &str) -> StoreResult<Vec<TaskImage>>;
    /// Every task's use of an image.
    async fn image_users(&self, image: &str) -> StoreResult<Vec<TaskImage>>;
    /// Distinct images some task used as a base (runtime or build-time).
    async fn base_images(&self) -> StoreResult<Vec<String>>;
    /// The watcher's state of an image.
    async fn image_state(&self, image: &str) -> StoreResult<Option<ImageState>>;
    /// The watcher's state of every image it knows.
    async fn image_states(&self) -> StoreResult<Vec<ImageState>>;
    /// Writes an image's state.
    async fn put_image_state(&self, state: &ImageState) -> StoreResult<()>;

    // ---- timers -----------------------------------------------------------------------------

    /// A timer's cursor, created at `start` if it has none; returns the stored cursor.
    async fn timer_cursor(&self, task: &str, timer: &str, start: DateTime<Utc>) -> StoreResult<DateTime<Utc>>;
    /// Moves a timer's cursor from `from` to `to`; false when another node moved it first.
    async fn advance_timer(&self, task: &str, timer: &str, from: DateTime<Utc>, to: DateTime<Utc>)
    -> StoreResult<bool>;
    /// Records a fired or skipped occurrence.
    async fn record_timer_event(&self, event: &TimerEvent) -> StoreResult<()>;
    /// A task's timer history, newest first.
    async fn timer_events(&self, task: &str, top: u32) -> StoreResult<Vec<TimerEvent>>;

    // ---- moving between databases ----------------------------------------------------------

    /// Inserts a run exported from another database, keeping its sequence number, id and times.
    async fn import_run(&self, run: &RunRow) -> StoreResult<()>;
    /// Called once after importing runs (moves PostgreSQL's run sequence past them).
    async fn finish_import(&self) -> StoreResult<()>;

    // ---- several nodes ----------------------------------------------------------------------

    /// Wakes `wake` whenever any node queues a run, until `stop`. Returns at once where the
    /// database has no notification channel (SQLite serves one node, whose own wake-up suffices).
    async fn listen_queue(&self, wake: std::sync::Arc<tokio::sync::Notify>, stop: tokio_util::sync::CancellationToken);
    /// Tries to become the one node that performs `role`; `None` when another node holds it.
    async fn try_lead(&self, role: &str) -> StoreResult<Option<Leadership>>;
}

/// Being the node that performs a role. Dropping it gives the role up.
pub struct Leadership {
    lost: tokio_util::sync::CancellationToken,
    release: tokio_util::sync::CancellationToken,
}

impl Leadership {
    pub(crate) fn new(lost: tokio_util::sync::CancellationToken, release: tokio_util::sync::CancellationToken) -> Self {
        Leadership { lost, release }
    }

    /// Fires when the role was lost without being given up (the database connection died).
    pub fn lost(&self) -> tokio_util::sync::CancellationToken {
        self.lost.clone()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.release.cancel();
    }
}
