//! The store: SQL over sqlx's `Any` driver, for SQLite and PostgreSQL.
//!
//! Queries are written once in the SQL both dialects accept (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT`, integer milliseconds for time, TEXT for JSON, 0/1 for booleans). The few places
//! where the dialects must differ branch on [`Dialect`]:
//!
//! - write transactions on SQLite start with `BEGIN IMMEDIATE`, so a transaction that reads before
//!   it writes takes the write lock up front instead of failing with `SQLITE_BUSY` on upgrade;
//! - PostgreSQL claims with `FOR UPDATE SKIP LOCKED` and locks a run row it reads before writing
//!   (`FOR UPDATE`); SQLite needs neither because it has a single writer;
//! - SQLite gets a writer pool of one connection (our own writers queue in the pool instead of
//!   spinning on the file lock) beside a reader pool, PostgreSQL one pool for both;
//! - each dialect has its own migrations (`migrations/sqlite`, `migrations/postgres`).

mod cluster;
mod codec;
mod connect;
mod contexts;
mod deliveries;
mod error;
mod images;
mod kv;
mod migrations;
mod nodes;
mod outgoing;
mod progress;
mod queue;
mod retention;
mod runs;
mod tasks;
mod timers;
mod tokens;
mod transfer;

pub use progress::CANCELED_BEFORE_START;
pub use retention::{ExpiredBy, ExpiredRun};
pub use runs::{DEFAULT_TOP, MAX_TOP};

use super::{
    Claim, Enqueued, Fenced, ImageState, Leadership, NewRun, RunResult, RunRow, StoreError, StoreResult, TaskImage,
};
use crate::api::{ContextInfo, Delivery, DeliveryOutcome, RunFilter, Task, TimerEvent, TokenInfo};
use crate::run::StepRecord;
use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// An SQLite file (one node).
    Sqlite,
    /// A PostgreSQL server (any number of nodes).
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn of_url(url: &str) -> StoreResult<Dialect> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        match scheme.as_str() {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            _ => Err(StoreError::Database(format!(
                "unsupported database URL `{}`: use sqlite://PATH or postgres://USER@HOST/DB",
                error::redact_url(url)
            ))),
        }
    }
}

/// Persistence for the daemon, over SQLite or PostgreSQL: one concrete type (each query exists
/// once, in the dialect both accept), and every method is one transaction. Cheap to clone (the
/// pools are shared).
#[derive(Clone, Debug)]
pub struct Store {
    dialect: Dialect,
    /// Connections for statements that write.
    writer: AnyPool,
    /// Connections for plain reads (the same pool as `writer` on PostgreSQL).
    reader: AnyPool,
    /// Where it connects (for connections outside the pools: the queue listener, leader locks).
    url: String,
}

/// The SQLite database's file name in a data directory.
pub const DATABASE_FILE: &str = "drydock.db";

/// The SQLite URL of the database file in a data directory (`DATA_DIR/drydock.db`).
pub fn sqlite_url(data_dir: &Path) -> String {
    let path = data_dir.join(DATABASE_FILE);
    // sqlx percent-decodes the path and cuts it at `?`/`#`, so those characters must be escaped.
    let mut escaped = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3F"),
            '#' => escaped.push_str("%23"),
            c => escaped.push(c),
        }
    }
    format!("sqlite://{escaped}")
}

impl Store {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://…` and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Store> {
        let store = connect::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations the database has not seen yet (`drydock migrate`). Safe to run from
    /// several nodes at once: on PostgreSQL the migrator holds an advisory lock while it works.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrations::run(self.dialect, &self.writer).await
    }

    /// The database this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Moves the write-ahead log into the database and empties it (SQLite), so that rows just
    /// overwritten (with `secure_delete` on) survive in no file. PostgreSQL needs nothing here.
    pub async fn forget_overwritten(&self) -> StoreResult<()> {
        if self.dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.writer)
                .await
                .map_err(error::db("checkpoint the write-ahead log"))?;
        }
        Ok(())
    }

    /// A write transaction, begun the way the dialect needs (see the module comment).
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Any>> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.writer.begin().await,
        };
        tx.map_err(error::db("begin a transaction"))
    }

    /// `FOR UPDATE` on PostgreSQL, where it keeps a row read in a transaction from changing before
    /// the transaction writes it; nothing on SQLite, whose `BEGIN IMMEDIATE` already excludes writers.
    fn lock_clause(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }
}

impl Store {
    /// Creates a task; `Conflict` if the name is taken.
    pub async fn insert_task(&self, task: &Task) -> StoreResult<()> {
        tasks::insert(self, task).await
    }
    /// Replaces a task; `NotFound` if there is none.
    pub async fn update_task(&self, task: &Task) -> StoreResult<()> {
        tasks::update(self, task).await
    }
    /// One task.
    pub async fn get_task(&self, name: &str) -> StoreResult<Option<Task>> {
        tasks::get(self, name).await
    }
    /// All tasks, by name.
    pub async fn list_tasks(&self) -> StoreResult<Vec<Task>> {
        tasks::list(self).await
    }
    /// Deletes a task (its runs stay); whether it existed.
    pub async fn delete_task(&self, name: &str) -> StoreResult<bool> {
        tasks::delete(self, name).await
    }

    /// Queues a run with the next run id, or returns the run that already has `dedup_key`.
    pub async fn enqueue_run(&self, run: NewRun) -> StoreResult<Enqueued> {
        runs::enqueue(self, run).await
    }
    /// Claims the oldest queued run whose required labels `node_labels` satisfy: it becomes
    /// Running, owned by `node` until now + `lease`. Exactly one claimer wins each run.
    pub async fn claim_run(
        &self,
        node: &str,
        lease: Duration,
        node_labels: &BTreeMap<String, String>,
    ) -> StoreResult<Option<RunRow>> {
        queue::claim(self, node, lease, node_labels).await
    }
    /// Extends the lease of a claimed run from the database's clock; `Lost` if the node no longer
    /// holds it under this claim.
    pub async fn renew_lease(&self, claim: &Claim, lease: Duration) -> StoreResult<Fenced> {
        queue::renew_lease(self, claim, lease).await
    }
    /// Records one step's state while the run goes on (`index` is the step's position). Unfenced:
    /// for imports and tests; a node executing the run uses [`Store::save_claimed_step`].
    pub async fn save_step(&self, id: &str, index: usize, step: &StepRecord) -> StoreResult<()> {
        progress::save_step(self, id, None, index, step).await.map(drop)
    }
    /// Records one step's state of a claimed run, if the claim still holds.
    pub async fn save_claimed_step(&self, claim: &Claim, index: usize, step: &StepRecord) -> StoreResult<Fenced> {
        progress::save_step(self, &claim.run, Some(claim), index, step).await
    }
    /// Records the platform a claimed run runs on, if the claim still holds.
    pub async fn set_platform(&self, claim: &Claim, platform: &str) -> StoreResult<Fenced> {
        progress::set_platform(self, claim, platform).await
    }
    /// Records the end of a run (only if it is still Running or Queued). Unfenced: a node
    /// executing the run uses [`Store::finish_claimed`].
    pub async fn finish_run(&self, id: &str, result: &RunResult) -> StoreResult<()> {
        progress::finish(self, id, None, result).await.map(drop)
    }
    /// Records the end of a claimed run, if the claim still holds: `Lost` means the run ended
    /// otherwise (reaped, canceled before) and its record stays as it is.
    pub async fn finish_claimed(&self, claim: &Claim, result: &RunResult) -> StoreResult<Fenced> {
        progress::finish(self, &claim.run, Some(claim), result).await
    }
    /// Writes this node's report of itself (`starting`: a new life of the node, which forgets
    /// a drain asked of the previous one); whether a drain is asked of it now.
    pub async fn report_node(&self, node: &super::NodeReport, starting: bool) -> StoreResult<bool> {
        nodes::report(self, node, starting).await
    }
    /// Asks node `id` to drain; false if no node of that id ever reported.
    pub async fn request_drain(&self, id: &str) -> StoreResult<bool> {
        nodes::request_drain(self, id).await
    }
    /// The nodes that reported, with the leases they hold; silent for over `lost_after`: Lost.
    pub async fn list_nodes(&self, lost_after: Duration) -> StoreResult<Vec<crate::api::NodeInfo>> {
        nodes::list(self, lost_after).await
    }
    /// Forgets nodes silent for longer than `older_than` that hold no run; how many.
    pub async fn prune_nodes(&self, older_than: Duration) -> StoreResult<u64> {
        nodes::prune(self, older_than).await
    }
    /// Cancels: a queued run becomes Canceled at once; a running one gets `cancel_requested`.
    /// `State` if the run already ended.
    pub async fn cancel_run(&self, id: &str) -> StoreResult<RunRow> {
        progress::cancel(self, id).await
    }
    /// Pauses a claimed running run before `step` for approval; whether it was running there.
    pub async fn pause_run(&self, claim: &Claim, step: &str) -> StoreResult<bool> {
        progress::pause(self, claim, step).await
    }
    /// Records a decision on a run waiting for approval (see `progress::decide`).
    pub async fn decide_run(
        &self,
        id: &str,
        approval: &crate::api::Approval,
        reason: Option<&str>,
    ) -> StoreResult<RunRow> {
        progress::decide(self, id, approval, reason).await
    }
    /// Records the steps a queued run will have (ignored once a node claimed it).
    pub async fn set_planned_steps(&self, id: &str, steps: &[StepRecord]) -> StoreResult<()> {
        progress::set_planned(self, id, steps).await
    }
    /// Takes the workspace run `id` kept, for a resume: whether it was there to take.
    pub async fn take_workspace(&self, id: &str, volume: &str) -> StoreResult<bool> {
        progress::take_workspace(self, id, volume).await
    }
    /// The workspace volumes kept for resumes now.
    pub async fn kept_workspaces(&self) -> StoreResult<Vec<String>> {
        progress::kept_workspaces(self).await
    }
    /// The ids of the reruns and resumes of run `id`, oldest first.
    pub async fn reruns_of(&self, id: &str) -> StoreResult<Vec<String>> {
        runs::reruns(self, id).await
    }
    /// One run.
    pub async fn get_run(&self, id: &str) -> StoreResult<Option<RunRow>> {
        runs::get(self, id).await
    }
    /// Runs matching the filter, newest first (steps included).
    pub async fn list_runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRow>> {
        runs::list(self, filter).await
    }
    /// Runs waiting or executing (Queued, Running, AwaitingApproval) by status and trigger kind.
    pub async fn active_run_counts(&self) -> StoreResult<Vec<(String, String, i64)>> {
        runs::active_counts(self).await
    }
    /// The newest run of each saved task that has run (one index seek per task, whatever the
    /// number of runs).
    pub async fn last_runs(&self) -> StoreResult<Vec<RunRow>> {
        runs::last_of_each_task(self).await
    }
    /// Marks every run that `node` was running as Error with `message`, keeping whatever steps
    /// it recorded; returns their ids. Used at start-up after a crash.
    pub async fn fail_runs_of_node(&self, node: &str, message: &str) -> StoreResult<Vec<String>> {
        queue::fail_runs_of_node(self, node, message).await
    }
    /// Marks running runs whose lease expired before `now` as Error with `message`; returns
    /// (run id, node) pairs so that their Docker objects can be removed.
    pub async fn fail_expired_leases(&self, now: DateTime<Utc>, message: &str) -> StoreResult<Vec<(String, String)>> {
        queue::fail_expired_leases(self, now, message).await
    }

    /// Stores a token's hash.
    pub async fn insert_token(&self, info: &TokenInfo, hash: &str) -> StoreResult<()> {
        tokens::insert(self, info, hash).await
    }
    /// All tokens.
    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        tokens::list(self).await
    }
    /// Revokes a token; whether it existed.
    pub async fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        tokens::revoke(self, id).await
    }
    /// The unrevoked token with this hash, and records its use.
    pub async fn use_token(&self, hash: &str) -> StoreResult<Option<TokenInfo>> {
        tokens::use_token(self, hash).await
    }
    /// Every unrevoked token's hash and name.
    pub async fn valid_token_hashes(&self) -> StoreResult<Vec<(String, String)>> {
        tokens::valid_hashes(self).await
    }

    /// The oldest `limit` finished runs that a retention policy lets go (see the `retention` module).
    pub async fn expired_runs(
        &self,
        keep_runs: Option<u32>,
        finished_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> StoreResult<Vec<ExpiredRun>> {
        retention::expired(self, keep_runs, finished_before, limit).await
    }
    /// Deletes the finished runs among `ids`; the ids it deleted.
    pub async fn delete_runs(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        retention::delete(self, ids).await
    }
    /// Which of `ids` name a run that exists.
    pub async fn existing_runs(&self, ids: &[String]) -> StoreResult<std::collections::HashSet<String>> {
        retention::existing(self, ids).await
    }

    /// Records an uploaded context archive stored at `path`.
    pub async fn insert_context(&self, info: &ContextInfo, path: &str) -> StoreResult<()> {
        contexts::insert(self, info, path).await
    }
    /// Whether a queued or running run needs the context `context` (`upload:<id>`).
    pub async fn context_needed_by_a_run(&self, context: &str) -> StoreResult<bool> {
        contexts::needed_by_a_run(self, context).await
    }
    /// Ids of the uploaded contexts recorded before `before`.
    pub async fn contexts_older_than(&self, before: DateTime<Utc>) -> StoreResult<Vec<String>> {
        contexts::older_than(self, before).await
    }
    /// Forgets an uploaded context; where its archive was stored.
    pub async fn delete_context(&self, id: &str) -> StoreResult<Option<String>> {
        contexts::delete(self, id).await
    }
    /// An uploaded context and where it is stored.
    pub async fn get_context(&self, id: &str) -> StoreResult<Option<(ContextInfo, String)>> {
        contexts::get(self, id).await
    }

    /// The small key-value table, read and written only through the typed functions of `facts`.
    pub(in crate::store) async fn kv_get(&self, key: &str) -> StoreResult<Option<String>> {
        kv::get(self, key).await
    }
    /// Sets a key.
    pub(in crate::store) async fn kv_put(&self, key: &str, value: &str) -> StoreResult<()> {
        kv::put(self, key, value).await
    }
    /// Sets a key unless it is set; returns the value that is stored (the first writer's).
    pub(in crate::store) async fn kv_put_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        kv::put_if_absent(self, key, value).await
    }

    // ---- webhook inbox ----------------------------------------------------------------------

    /// Queues outgoing deliveries (those whose dedup key is known are skipped); a commit status
    /// supersedes the pending ones of its run and URL. How many were new.
    pub async fn queue_outgoing(&self, deliveries: &[super::NewDelivery]) -> StoreResult<u64> {
        outgoing::queue(self, deliveries).await
    }
    /// Claims up to `limit` due outgoing deliveries for `hold`, counting an attempt on each.
    pub async fn claim_outgoing(&self, limit: u32, hold: Duration) -> StoreResult<Vec<super::DueDelivery>> {
        outgoing::claim_due(self, limit, hold).await
    }
    /// Records the answer to an attempt at an outgoing delivery.
    pub async fn record_outgoing(
        &self,
        id: &str,
        state: crate::api::OutgoingState,
        retry_in: Option<Duration>,
        status_code: Option<u16>,
        answer: Option<&str>,
    ) -> StoreResult<()> {
        outgoing::record(self, id, state, retry_in, status_code, answer).await
    }
    /// Outgoing deliveries, newest first: all, or one run's.
    pub async fn list_outgoing(
        &self,
        run_id: Option<&str>,
        top: u32,
    ) -> StoreResult<Vec<crate::api::OutgoingDelivery>> {
        outgoing::list(self, run_id, top).await
    }
    /// Stores a delivery unless one with its (provider, id) exists; returns the existing one
    /// when it does (a redelivery).
    pub async fn insert_delivery(&self, delivery: &Delivery) -> StoreResult<Option<Delivery>> {
        deliveries::insert(self, delivery).await
    }
    /// Deletes refused deliveries beyond the newest `keep`; how many went.
    pub async fn prune_refused_deliveries(&self, keep: u32) -> StoreResult<u64> {
        deliveries::prune_refused(self, keep).await
    }
    /// Records what became of a delivery.
    pub async fn finish_delivery(
        &self,
        provider: &str,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        reason: Option<&str>,
        runs: &[String],
    ) -> StoreResult<()> {
        deliveries::finish(self, provider, delivery_id, outcome, reason, runs).await
    }
    /// Deliveries, newest first; `before` (received time) pages.
    pub async fn list_deliveries(&self, top: u32, before: Option<DateTime<Utc>>) -> StoreResult<Vec<Delivery>> {
        deliveries::list(self, top, before).await
    }
    /// Deliveries stored but never processed (a crash came in between), oldest first.
    pub async fn unprocessed_deliveries(&self, limit: u32) -> StoreResult<Vec<Delivery>> {
        deliveries::unprocessed(self, limit).await
    }

    // ---- polled git heads -------------------------------------------------------------------

    /// The heads last seen in a repository, by full ref name.
    pub async fn source_heads(&self, repository: &str) -> StoreResult<BTreeMap<String, String>> {
        deliveries::heads(self, repository).await
    }
    /// Records a head as seen.
    pub async fn put_source_head(&self, repository: &str, reference: &str, commit: &str) -> StoreResult<()> {
        deliveries::put_head(self, repository, reference, commit).await
    }

    // ---- base images ------------------------------------------------------------------------

    /// Replaces what a task's builds used and produced with the images of its latest successful run.
    pub async fn record_task_images(&self, task: &str, images: &[TaskImage]) -> StoreResult<()> {
        images::record(self, task, images).await
    }
    /// A task's images.
    pub async fn task_images(&self, task: &str) -> StoreResult<Vec<TaskImage>> {
        images::of_task(self, task).await
    }
    /// Every task's use of an image.
    pub async fn image_users(&self, image: &str) -> StoreResult<Vec<TaskImage>> {
        images::users(self, image).await
    }
    /// Distinct images some task used as a base (runtime or build-time).
    pub async fn base_images(&self) -> StoreResult<Vec<String>> {
        images::bases(self).await
    }
    /// The watcher's state of an image.
    pub async fn image_state(&self, image: &str) -> StoreResult<Option<ImageState>> {
        images::get_state(self, image).await
    }
    /// The watcher's state of every image it knows.
    pub async fn image_states(&self) -> StoreResult<Vec<ImageState>> {
        images::states(self).await
    }
    /// Writes an image's state.
    pub async fn put_image_state(&self, state: &ImageState) -> StoreResult<()> {
        images::put_state(self, state).await
    }

    // ---- timers -----------------------------------------------------------------------------

    /// A timer's cursor, created at `start` if it has none; returns the stored cursor.
    pub async fn timer_cursor(&self, task: &str, timer: &str, start: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
        timers::cursor(self, task, timer, start).await
    }
    /// Moves a timer's cursor from `from` to `to`; false when another node moved it first.
    pub async fn advance_timer(
        &self,
        task: &str,
        timer: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<bool> {
        timers::advance(self, task, timer, from, to).await
    }
    /// Records a fired or skipped occurrence.
    pub async fn record_timer_event(&self, event: &TimerEvent) -> StoreResult<()> {
        timers::record(self, event).await
    }
    /// A task's timer history, newest first.
    pub async fn timer_events(&self, task: &str, top: u32) -> StoreResult<Vec<TimerEvent>> {
        timers::events(self, task, top).await
    }

    // ---- moving between databases ----------------------------------------------------------

    /// Inserts a run exported from another database, keeping its sequence number, id and times.
    pub async fn import_run(&self, run: &RunRow) -> StoreResult<()> {
        transfer::import_run(self, run).await
    }
    /// Called once after importing runs (moves PostgreSQL's run sequence past them).
    pub async fn finish_import(&self) -> StoreResult<()> {
        transfer::finish_import(self).await
    }

    // ---- several nodes ----------------------------------------------------------------------

    /// Wakes `wake` whenever any node queues a run, until `stop`. Returns at once where the
    /// database has no notification channel (SQLite serves one node, whose own wake-up suffices).
    pub async fn listen_queue(
        &self,
        wake: std::sync::Arc<tokio::sync::Notify>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        cluster::listen_queue(self, wake, stop).await
    }
    /// Tries to become the one node that performs `role`; `None` when another node holds it.
    pub async fn try_lead(&self, role: &str) -> StoreResult<Option<Leadership>> {
        cluster::try_lead(self, role).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_dialect() {
        assert_eq!(Dialect::of_url("sqlite:///tmp/x.db").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::of_url("postgres://u@h/db").unwrap(), Dialect::Postgres);
        assert_eq!(Dialect::of_url("postgresql://u@h/db").unwrap(), Dialect::Postgres);
        let err = Dialect::of_url("mysql://u:hunter2@h/db").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn sqlite_url_escapes_what_sqlx_would_decode() {
        assert_eq!(sqlite_url(Path::new("/var/lib/drydock")), "sqlite:///var/lib/drydock/drydock.db");
        assert_eq!(sqlite_url(Path::new("/d/a?b#c%")), "sqlite:///d/a%3Fb%23c%25/drydock.db");
    }
}
