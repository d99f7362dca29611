//! Retention: which finished runs a policy lets go, and deleting them with their index rows.
//! Several nodes may do this at once: both statements only ever touch finished runs, and
//! deleting a run twice deletes it once.

use super::Store;
use super::codec::time;
use super::error::db;
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::HashSet;

/// Why a finished run may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiredBy {
    /// It finished before the age limit.
    Age,
    /// Its task has at least `keep_runs` newer runs.
    Count,
}

/// A finished run that the policy lets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredRun {
    /// Run id.
    pub id: String,
    /// Its task; none for quick runs (which count as one group).
    pub task: Option<String>,
    /// Its final status.
    pub status: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Why it may go.
    pub by: ExpiredBy,
}

/// Placeholders `$first..` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The oldest `limit` finished runs beyond the newest `keep_runs` of their task or finished
/// before `finished_before`. A run that records what a task's images were last built from
/// (`task_images`) stays: the base-image triggers and `task deps` point at it.
pub(super) async fn expired(
    store: &Store,
    keep_runs: Option<u32>,
    finished_before: Option<DateTime<Utc>>,
    limit: u32,
) -> StoreResult<Vec<ExpiredRun>> {
    let keep = keep_runs.map_or(i64::MAX, i64::from);
    let before_ms = finished_before.map_or(i64::MIN, |t| t.timestamp_millis());
    let rows = sqlx::query(
        "SELECT id, task, status, finished_ms FROM (\
           SELECT seq, id, task, status, finished_ms, \
                  ROW_NUMBER() OVER (PARTITION BY task ORDER BY seq DESC) AS newer \
           FROM runs) r \
         WHERE finished_ms IS NOT NULL AND id IS NOT NULL AND (newer > $1 OR finished_ms < $2) \
           AND id NOT IN (SELECT run_id FROM task_images) \
         ORDER BY seq LIMIT $3",
    )
    .bind(keep)
    .bind(before_ms)
    .bind(i64::from(limit))
    .fetch_all(&store.reader)
    .await
    .map_err(db("find the runs past retention"))?;
    rows.iter()
        .map(|row| {
            let finished_ms: i64 = row.try_get("finished_ms").map_err(db("read a run"))?;
            Ok(ExpiredRun {
                id: row.try_get("id").map_err(db("read a run"))?,
                task: row.try_get("task").map_err(db("read a run"))?,
                status: row.try_get("status").map_err(db("read a run"))?,
                finished_at: time("finished_ms", finished_ms)?,
                by: if finished_ms < before_ms { ExpiredBy::Age } else { ExpiredBy::Count },
            })
        })
        .collect()
}

/// Deletes the finished runs among `ids` with their labels and image index rows; returns the ids
/// it deleted (a run another node deleted first, or one not finished, is not among them).
pub(super) async fn delete(store: &Store, ids: &[String]) -> StoreResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin_write().await?;
    let select =
        format!("SELECT seq, id FROM runs WHERE finished_ms IS NOT NULL AND id IN ({})", placeholders(1, ids.len()));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(select));
    for id in ids {
        query = query.bind(id.as_str());
    }
    let rows = query.fetch_all(&mut *tx).await.map_err(db("find the runs to delete"))?;
    let mut seqs = Vec::with_capacity(rows.len());
    let mut deleted = Vec::with_capacity(rows.len());
    for row in &rows {
        seqs.push(row.try_get::<i64, _>("seq").map_err(db("read a run"))?);
        deleted.push(row.try_get::<String, _>("id").map_err(db("read a run"))?);
    }
    if !seqs.is_empty() {
        for table in ["run_labels", "run_images"] {
            let sql = format!("DELETE FROM {table} WHERE run_seq IN ({})", placeholders(1, seqs.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for seq in &seqs {
                query = query.bind(*seq);
            }
            query.execute(&mut *tx).await.map_err(db("delete a run's index rows"))?;
        }
        let sql = format!("DELETE FROM runs WHERE seq IN ({})", placeholders(1, seqs.len()));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for seq in &seqs {
            query = query.bind(*seq);
        }
        query.execute(&mut *tx).await.map_err(db("delete runs"))?;
        // What was sent about them goes too; what is still being sent stays until it is.
        let sql =
            format!("DELETE FROM outgoing WHERE state <> 'pending' AND run_id IN ({})", placeholders(1, deleted.len()));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &deleted {
            query = query.bind(id.as_str());
        }
        query.execute(&mut *tx).await.map_err(db("delete the outgoing deliveries of runs"))?;
    }
    tx.commit().await.map_err(db("delete runs"))?;
    Ok(deleted)
}

/// Which of `ids` name a run that exists.
pub(super) async fn existing(store: &Store, ids: &[String]) -> StoreResult<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!("SELECT id FROM runs WHERE id IN ({})", placeholders(1, ids.len()));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.as_str());
    }
    let rows = query.fetch_all(&store.reader).await.map_err(db("look up runs"))?;
    rows.iter().map(|row| row.try_get::<String, _>("id").map_err(db("read a run"))).collect()
}
