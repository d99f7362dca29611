//! The store's story suite: every scenario is written once, as an `async fn(&Fixture)`, and
//! [`stories!`] runs it against SQLite (a temp file) and PostgreSQL (a throwaway server).
//!
//! When PostgreSQL cannot be started, its half prints why and passes, unless
//! `DRYDOCK_TEST_PG=require` (set by scripts/test.sh) makes that a failure.

mod postgres;

mod listing;
mod outgoing;
mod queue;
mod records;
mod retention;
mod runs;
mod tasks;
mod triggers;

use crate::api::{RunType, Trigger};
use crate::run::{OutputImage, RunStatus, StepRecord, StepStatus};
use crate::store::{NewRun, RunResult, Store};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A database for one test, and the store opened on it.
pub struct Fixture {
    /// The store the story uses.
    pub store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// A fresh SQLite file.
    pub async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::store::sqlite_url(dir.path());
        Fixture { store: Store::open(&url).await.unwrap(), url, _dir: Some(dir) }
    }

    /// A fresh PostgreSQL database, or `None` (after saying why) when there is no server.
    pub async fn postgres() -> Option<Fixture> {
        let url = postgres::database().await?;
        Some(Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None })
    }

    /// Another store on the same database, as a second node (its own pools) would have.
    pub async fn node(&self) -> Store {
        Store::open(&self.url).await.unwrap()
    }
}

/// Runs each named story against both backends: `story::sqlite` and `story::postgres`.
macro_rules! stories {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let fixture = crate::store::tests::Fixture::sqlite().await;
                super::$story(&fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(fixture) = crate::store::tests::Fixture::postgres().await {
                    super::$story(&fixture).await;
                }
            }
        }
    )*};
}
pub(crate) use stories;

/// A manual run of `task` (a quick run when `None`).
pub fn new_run(task: Option<&str>) -> NewRun {
    NewRun {
        run_type: if task.is_some() { RunType::AutoRun } else { RunType::QuickRun },
        task: task.map(str::to_string),
        trigger: Trigger::Manual,
        request: serde_json::json!({ "values": { "a": "b" }, "secret": "enc:v1:xyz" }),
        required_labels: BTreeMap::new(),
        dedup_key: None,
        awaiting_approval: false,
        rerun_of: None,
        resumed_from: None,
    }
}

/// Labels from `key=value` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A step that ended with `status`.
pub fn step(id: &str, status: StepStatus) -> StepRecord {
    StepRecord {
        id: id.into(),
        status,
        exit_code: Some(0),
        attempts: 1,
        started_at: Some(ms(1_700_000_000_000)),
        finished_at: Some(ms(1_700_000_001_000)),
        error: None,
        needs: Vec::new(),
    }
}

/// An output image.
pub fn image(registry: &str, repository: &str, tag: &str) -> OutputImage {
    OutputImage {
        registry: registry.into(),
        repository: repository.into(),
        tag: tag.into(),
        digest: Some(format!("sha256:{}", "a".repeat(64))),
        signature: None,
        platforms: Vec::new(),
    }
}

/// A run's end with `status`, one step, and `images`.
pub fn result(status: RunStatus, images: Vec<OutputImage>) -> RunResult {
    RunResult {
        status,
        steps: vec![step("build", StepStatus::Succeeded)],
        output_images: images,
        dependencies: vec![serde_json::json!({ "image": { "repository": "app" }, "buildtime-dependency": [] })],
        error: None,
        finished_at: ms(1_700_000_002_000),
        resume: None,
    }
}

/// A time from unix milliseconds (what the store keeps).
pub fn ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// The lease the stories claim with.
pub const LEASE: Duration = Duration::from_secs(60);

/// Queues a run and claims it as `node`; the run must be the only claimable one.
pub async fn claimed(store: &Store, task: Option<&str>, node: &str) -> String {
    let id = store.enqueue_run(new_run(task)).await.unwrap().run().id.clone();
    let run = store.claim_run(node, LEASE, &BTreeMap::new()).await.unwrap().unwrap();
    assert_eq!(run.id, id);
    id
}
