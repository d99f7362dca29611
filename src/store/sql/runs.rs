//! Queuing runs, and reading them back one at a time or as a filtered, newest-first page.

use super::Store;
use super::codec::{col, json, now_ms, run_columns, run_from_row, run_type_name, time, trigger_json, trigger_kind};
use super::error::db;
use crate::api::{RunFilter, Trigger};
use crate::run::RunStatus;
use crate::runid::daemon_run_id;
use crate::store::{Enqueued, NewRun, RunRow, StoreError, StoreResult};
use sqlx::{Any, Transaction};

/// Runs per page when the filter does not say (ACR's default).
pub const DEFAULT_TOP: u32 = 15;
/// The most runs one page may hold.
pub const MAX_TOP: u32 = 1000;

pub(super) async fn enqueue(store: &Store, run: NewRun) -> StoreResult<Enqueued> {
    let mut tx = store.begin_write().await?;
    // A cheap look-up first, so that the usual duplicate (N schedulers firing one timer) does not
    // consume a sequence value; the UNIQUE constraint below is what decides under a race.
    if let Some(key) = &run.dedup_key
        && let Some(existing) = by_dedup_key(&mut tx, key).await?
    {
        tx.commit().await.map_err(db("queue the run"))?;
        return Ok(Enqueued::Existing(existing));
    }
    let queued_ms = now_ms();
    let status = if run.awaiting_approval { RunStatus::AwaitingApproval } else { RunStatus::Queued };
    let inserted = sqlx::query(
        "INSERT INTO runs (status, run_type, task, trigger_kind, trigger, request, required_labels, queued_ms, \
         dedup_key, rerun_of, resumed_from) VALUES ($9, $1, $2, $3, $4, $5, $6, $7, $8, $10, $11) \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING seq",
    )
    .bind(run_type_name(run.run_type)?)
    .bind(&run.task)
    .bind(trigger_kind(&run.trigger)?)
    .bind(trigger_json(&run.trigger)?)
    .bind(json("request", &run.request)?)
    .bind(json("required labels", &run.required_labels)?)
    .bind(queued_ms)
    .bind(&run.dedup_key)
    .bind(status.as_str())
    .bind(&run.rerun_of)
    .bind(&run.resumed_from)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("queue the run"))?;
    let Some(inserted) = inserted else {
        // Another node queued the same key after our look-up; its run is the one.
        let key = run.dedup_key.as_deref().unwrap_or_default();
        let existing = by_dedup_key(&mut tx, key)
            .await?
            .ok_or_else(|| StoreError::Database("a run conflicted on its dedup key, but no run has that key".into()))?;
        tx.commit().await.map_err(db("queue the run"))?;
        return Ok(Enqueued::Existing(existing));
    };
    let seq: i64 = col(&inserted, "seq")?;
    let id = daemon_run_id(u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("run seq {seq} < 0")))?);
    sqlx::query("UPDATE runs SET id = $2 WHERE seq = $1")
        .bind(seq)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(db("name the run"))?;
    if status == RunStatus::Queued {
        super::cluster::notify_queued(store, &mut tx).await?;
    }
    insert_labels(&mut tx, seq, &run.required_labels).await?;
    tx.commit().await.map_err(db("queue the run"))?;
    Ok(Enqueued::New(RunRow {
        seq,
        id,
        status,
        run_type: run.run_type,
        task: run.task,
        trigger: run.trigger,
        request: run.request,
        required_labels: run.required_labels,
        queued_at: time("queued time", queued_ms)?,
        started_at: None,
        finished_at: None,
        platform: None,
        steps: Vec::new(),
        output_images: Vec::new(),
        dependencies: Vec::new(),
        error: None,
        node: None,
        lease_until: None,
        cancel_requested: false,
        approval: None,
        waiting_step: None,
        rerun_of: run.rerun_of,
        resumed_from: run.resumed_from,
        workspace: None,
        workspace_until: None,
        resume_state: None,
        epoch: 0,
    }))
}

/// Indexes the labels a node must have to claim run `seq` (queued here, or imported).
pub(super) async fn insert_labels(
    tx: &mut Transaction<'static, Any>,
    seq: i64,
    labels: &std::collections::BTreeMap<String, String>,
) -> StoreResult<()> {
    for (key, value) in labels {
        sqlx::query("INSERT INTO run_labels (run_seq, key, value) VALUES ($1, $2, $3)")
            .bind(seq)
            .bind(key)
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(db("record the run's labels"))?;
    }
    Ok(())
}

async fn by_dedup_key(tx: &mut Transaction<'static, Any>, key: &str) -> StoreResult<Option<RunRow>> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE dedup_key = $1"))
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("look up the run's dedup key"))?;
    row.as_ref().map(run_from_row).transpose()
}

pub(super) async fn get(store: &Store, id: &str) -> StoreResult<Option<RunRow>> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&store.reader)
        .await
        .map_err(db("read the run"))?;
    row.as_ref().map(run_from_row).transpose()
}

/// The ids of the reruns of run `id`, oldest first.
pub(super) async fn reruns(store: &Store, id: &str) -> StoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT id FROM runs WHERE (rerun_of = $1 OR resumed_from = $1) AND id IS NOT NULL ORDER BY seq")
            .bind(id)
            .fetch_all(&store.reader)
            .await
            .map_err(db("list the run's reruns"))?;
    rows.iter().map(|r| col(r, "id")).collect()
}

/// The newest run of each task: a correlated MAX per saved task, which the (task, seq) index
/// answers with one seek each, rather than a GROUP BY over every run.
pub(super) async fn last_of_each_task(store: &Store) -> StoreResult<Vec<RunRow>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE seq IN (SELECT (SELECT MAX(r.seq) FROM runs r WHERE r.task = t.name) FROM tasks t)"
    ))
    .fetch_all(&store.reader)
    .await
    .map_err(db("read the tasks' last runs"))?;
    rows.iter().map(run_from_row).collect()
}

/// How many runs wait or execute, by status and trigger kind: one pass over the status index's
/// few active entries, however many finished runs the table holds.
pub(super) async fn active_counts(store: &Store) -> StoreResult<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT status, trigger_kind, COUNT(*) AS n FROM runs \
         WHERE status IN ('Queued', 'Running', 'AwaitingApproval') GROUP BY status, trigger_kind",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(db("count the active runs"))?;
    rows.iter().map(|r| Ok((col(r, "status")?, col(r, "trigger_kind")?, col(r, "n")?))).collect()
}

/// A value bound to a list query's placeholder.
enum Param {
    Text(String),
    Int(i64),
}

pub(super) async fn list(store: &Store, filter: &RunFilter) -> StoreResult<Vec<RunRow>> {
    let mut params = Vec::new();
    let mut next = |p: Param| {
        params.push(p);
        format!("${}", params.len())
    };
    // With an image filter the page is read from run_images' (image, run_seq) index backwards,
    // which stays fast whether the image matches two runs or half of them.
    let (mut sql, seq) = match &filter.image {
        Some(image) => (
            format!(
                concat!(
                    "SELECT ",
                    run_columns!(),
                    " FROM run_images i JOIN runs ON seq = i.run_seq WHERE i.image = {}"
                ),
                next(Param::Text(image.clone()))
            ),
            "i.run_seq",
        ),
        None => (concat!("SELECT ", run_columns!(), " FROM runs WHERE 1 = 1").to_string(), "seq"),
    };
    if let Some(task) = &filter.task {
        sql += &format!(" AND task = {}", next(Param::Text(task.clone())));
    }
    if let Some(status) = filter.status {
        sql += &format!(" AND status = {}", next(Param::Text(status.as_str().into())));
    }
    if let Some(trigger) = &filter.trigger {
        // A name that is no kind matches nothing (the API refuses it before it gets here).
        let kind = Trigger::kind_named(trigger).map_or_else(|| trigger.clone(), str::to_string);
        sql += &format!(" AND trigger_kind = {}", next(Param::Text(kind)));
    }
    if let Some(before) = &filter.before {
        let before_seq = seq_of(store, before).await?;
        sql += &format!(" AND {seq} < {}", next(Param::Int(before_seq)));
    }
    let top = i64::from(filter.top.unwrap_or(DEFAULT_TOP).min(MAX_TOP));
    sql += &format!(" ORDER BY {seq} DESC LIMIT {}", next(Param::Int(top)));

    // The SQL is assembled from the fixed fragments above only; every value is a bound parameter.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in params {
        query = match p {
            Param::Text(s) => query.bind(s),
            Param::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(&store.reader).await.map_err(db("list runs"))?;
    rows.iter().map(run_from_row).collect()
}

/// The seq of a run id given as a page cursor.
async fn seq_of(store: &Store, id: &str) -> StoreResult<i64> {
    let row = sqlx::query("SELECT seq FROM runs WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.reader)
        .await
        .map_err(db("read the run"))?;
    match row {
        Some(row) => col(&row, "seq"),
        None => Err(StoreError::NotFound { what: "run", name: id.to_string() }),
    }
}
