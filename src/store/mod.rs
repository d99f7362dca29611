//! Persistence: one concrete [`Store`] over SQLite (the embedded default) and PostgreSQL (several
//! nodes), its row types and errors, and `facts` (typed access to the key-value table).
//!
//! Only this module writes SQL. The store keeps what it is given: secret fields of tasks and run
//! requests arrive already encrypted by the service layer (`secrets::Cipher`), so a database dump
//! never holds a secret in plain text.

use crate::api::{ImageRole, RunType, Trigger};
use crate::run::{OutputImage, RunStatus, StepRecord};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;

pub mod facts;
pub mod sql;
pub mod task_record;
mod trigger_record;

pub use sql::{Dialect, ExpiredBy, ExpiredRun, Store, sqlite_url};

#[cfg(test)]
mod tests;

/// Opens the daemon's store: `database_url` when given (`postgres://…` to share one database
/// between nodes, or `sqlite://…`), else `drydock.db` in `data_dir` (created if missing).
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> StoreResult<Store> {
    match database_url {
        Some(url) => Store::open(url).await,
        None => {
            // The database holds sealed secrets and token hashes: a private directory, and a file
            // created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
            let private = |e: std::io::Error| {
                StoreError::Database(format!("cannot create the data directory {}: {e}", data_dir.display()))
            };
            crate::datadir::create_dir(data_dir).map_err(private)?;
            crate::datadir::append(&data_dir.join(sql::DATABASE_FILE)).map_err(private)?;
            Store::open(&sqlite_url(data_dir)).await
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
    /// Who approved or rejected it, if it waited for approval.
    pub approval: Option<crate::api::Approval>,
    /// The step it waits before for approval, while it does (mid-run).
    pub waiting_step: Option<String>,
    /// The run it reruns.
    pub rerun_of: Option<String>,
    /// The run it resumes.
    pub resumed_from: Option<String>,
    /// The workspace volume it kept for a resume (until a resume takes it).
    pub workspace: Option<String>,
    /// Until when that workspace is kept.
    pub workspace_until: Option<DateTime<Utc>>,
    /// What a resume of it reuses.
    pub resume_state: Option<crate::run::ResumePoint>,
    /// How many times a node claimed it; the latest claim's fencing token (see [`Claim`]).
    pub epoch: i64,
}

/// A node's hold on a run it claimed. Every write the node makes about the run (renewal, step,
/// platform, end) names it, and lands only while the run is still this node's under this claim.
/// One that matches nothing means the node was fenced out: the reaper failed the run (its lease
/// ran out while the node was cut off), or a resume queued it again and another node took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The run.
    pub run: String,
    /// The node that claimed it.
    pub node: String,
    /// The claim's epoch ([`RunRow::epoch`] as claimed).
    pub epoch: i64,
}

impl Claim {
    /// The claim `node` holds on `row`, which it just claimed.
    pub fn of(row: &RunRow, node: &str) -> Claim {
        Claim { run: row.id.clone(), node: node.to_string(), epoch: row.epoch }
    }
}

/// What a node reports of itself every few seconds (see [`crate::api::NodeInfo`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReport {
    /// The node's id.
    pub id: String,
    /// Where other nodes reach its API.
    pub url: String,
    /// Its drydock version.
    pub version: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Worker slots.
    pub slots: u32,
    /// Slots in use.
    pub busy: u32,
    /// Roles it leads.
    pub roles: Vec<String>,
    /// Active, draining or left.
    pub state: crate::api::NodeState,
}

/// Whether a fenced write landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fenced {
    /// Written: the claim still holds.
    Held,
    /// Nothing written: the node no longer holds the run.
    Lost,
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
    /// Created `AwaitingApproval` instead of `Queued`: no node claims it until it is approved.
    pub awaiting_approval: bool,
    /// The run it reruns.
    pub rerun_of: Option<String>,
    /// The run it resumes.
    pub resumed_from: Option<String>,
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
    /// What a resume of it needs, and until when its workspace is kept.
    pub resume: Option<(crate::run::ResumePoint, DateTime<Utc>)>,
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

/// A commit status or run event to send, as the services queue it.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    /// Its id (sent as `X-Drydock-Delivery`).
    pub id: String,
    /// What makes two queueings one delivery (`<run>:<kind>:<event>:<url>`).
    pub dedup_key: String,
    /// The run it is about.
    pub run_id: String,
    /// The run's task.
    pub task: Option<String>,
    /// Webhook or commit status.
    pub kind: crate::api::OutgoingKind,
    /// For a commit status, the git server's kind (`github`, `gitlab`, `gitea`).
    pub provider: Option<String>,
    /// `run.started`, or the status sent.
    pub event: String,
    /// Where it goes.
    pub url: String,
    /// The JSON body, exactly as sent (and signed).
    pub body: String,
    /// The sealed token or signing secret, if any.
    pub credential: Option<String>,
}

/// A delivery a sender claimed: what it needs to make the attempt.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    /// Its id.
    pub id: String,
    /// The run it is about.
    pub run_id: String,
    /// Webhook or commit status.
    pub kind: crate::api::OutgoingKind,
    /// For a commit status, the git server's kind.
    pub provider: Option<String>,
    /// `run.started`, or the status sent.
    pub event: String,
    /// Where it goes.
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// The sealed token or signing secret, if any.
    pub credential: Option<String>,
    /// Attempts including this one.
    pub attempts: u32,
}
