//! The run queue's side of the lifecycle: claiming with a lease, renewing it, and failing the
//! runs of nodes that crashed or stopped renewing.

use super::codec::{col, from_json, json, plus, run_columns, run_from_row};
use super::error::db;
use super::{Dialect, Store};
use crate::run::{StepRecord, settle_steps};
use crate::store::{Claim, Fenced, RunRow, StoreResult};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) async fn claim(
    store: &Store,
    node: &str,
    lease: Duration,
    node_labels: &BTreeMap<String, String>,
) -> StoreResult<Option<RunRow>> {
    let sql = claim_sql(store.dialect, node_labels.len());
    // The SQL has placeholders only; the labels are bound like every other value.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node).bind(millis(lease));
    for (key, value) in node_labels {
        query = query.bind(key).bind(value);
    }
    let row = query.fetch_optional(&store.writer).await.map_err(db("claim a run"))?;
    row.as_ref().map(run_from_row).transpose()
}

/// The database's clock in unix milliseconds, as SQL. Claims and renewals are timed by it, not
/// by the node: a claim delayed on its way (a slow or cut connection) is timed when it lands,
/// so it never starts with a lease that already ran out, and nodes whose clocks disagree still
/// agree on every lease.
pub(super) fn db_now(dialect: Dialect) -> &'static str {
    match dialect {
        // The statement's own time, one value however often the statement names it (a claim's
        // start and lease end must agree to the millisecond); `clock_timestamp()` moves within it.
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
        Dialect::Sqlite => "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)",
    }
}

/// A lease in milliseconds, saturating.
fn millis(lease: Duration) -> i64 {
    plus(0, lease)
}

/// One statement that picks the oldest queued run whose every required label (`run_labels`) is
/// among the node's `labels` pairs, and makes it Running under a new claim epoch. On PostgreSQL
/// `FOR UPDATE SKIP LOCKED` makes concurrent claimers pass over a row another one is taking,
/// instead of waiting for it and then finding it gone; on SQLite the statement runs under the
/// database's single write lock. Parameters: $1 node, $2 lease (ms), then key/value pairs from $3.
fn claim_sql(dialect: Dialect, labels: usize) -> String {
    let unmet = if labels == 0 {
        "NOT EXISTS (SELECT 1 FROM run_labels l WHERE l.run_seq = r.seq)".to_string()
    } else {
        let pairs: Vec<String> =
            (0..labels).map(|i| format!("(l.key = ${} AND l.value = ${})", 3 + 2 * i, 4 + 2 * i)).collect();
        format!("NOT EXISTS (SELECT 1 FROM run_labels l WHERE l.run_seq = r.seq AND NOT ({}))", pairs.join(" OR "))
    };
    let lock = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE OF r SKIP LOCKED",
    };
    format!(
        concat!(
            "UPDATE runs SET status = 'Running', node = $1, started_ms = {now}, lease_until_ms = {now} + $2, ",
            "claim_epoch = claim_epoch + 1, cancel_requested = 0 WHERE status = 'Queued' AND seq = ",
            "(SELECT r.seq FROM runs r WHERE r.status = 'Queued' AND {unmet} ORDER BY r.seq LIMIT 1{lock}) ",
            "RETURNING ",
            run_columns!()
        ),
        now = db_now(dialect),
        unmet = unmet,
        lock = lock
    )
}

/// Extends the claim's lease from the database's clock: `Lost` once the run is no longer the
/// node's under this claim (reaped, ended, taken by another claim).
pub(super) async fn renew_lease(store: &Store, claim: &Claim, lease: Duration) -> StoreResult<Fenced> {
    let sql = format!(
        "UPDATE runs SET lease_until_ms = {} + $4 WHERE id = $1 AND node = $2 AND claim_epoch = $3 \
         AND status IN ('Running', 'AwaitingApproval')",
        db_now(store.dialect)
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&claim.run)
        .bind(&claim.node)
        .bind(claim.epoch)
        .bind(millis(lease))
        .execute(&store.writer)
        .await
        .map_err(db("renew the lease"))?;
    Ok(if done.rows_affected() > 0 { Fenced::Held } else { Fenced::Lost })
}

pub(super) async fn fail_runs_of_node(store: &Store, node: &str, message: &str) -> StoreResult<Vec<String>> {
    let failed = fail_where(store, "node = $3", Bound::Text(node), Utc::now(), message).await?;
    Ok(failed.into_iter().map(|(id, _)| id).collect())
}

pub(super) async fn fail_expired_leases(
    store: &Store,
    now: DateTime<Utc>,
    message: &str,
) -> StoreResult<Vec<(String, String)>> {
    fail_where(store, "lease_until_ms < $3", Bound::Int(now.timestamp_millis()), now, message).await
}

/// The one parameter of a [`fail_where`] condition.
enum Bound<'a> {
    Text(&'a str),
    Int(i64),
}

/// Marks Error the running runs matching `condition` (whose `$3` is `param`), with `message`, and
/// settles their steps (a running step failed, a pending one skipped), in one transaction.
/// Returns (run id, node), oldest first.
async fn fail_where(
    store: &Store,
    condition: &'static str,
    param: Bound<'_>,
    now: DateTime<Utc>,
    message: &str,
) -> StoreResult<Vec<(String, String)>> {
    // Times are stored in milliseconds; the steps' end is the run's end, to the millisecond.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let mut tx = store.begin_write().await?;
    let sql = format!(
        "UPDATE runs SET status = 'Error', error = $1, finished_ms = $2, lease_until_ms = NULL \
         WHERE (status = 'Running' OR (status = 'AwaitingApproval' AND node IS NOT NULL)) AND {condition} \
         RETURNING seq, id, node, steps"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(message).bind(now.timestamp_millis());
    let query = match param {
        Bound::Text(t) => query.bind(t),
        Bound::Int(i) => query.bind(i),
    };
    let rows = query.fetch_all(&mut *tx).await.map_err(db("fail runs"))?;
    let mut failed = Vec::new();
    for row in &rows {
        let id: String = col(row, "id")?;
        let mut steps: Vec<StepRecord> = from_json(&format!("run {id}: steps"), &col::<String>(row, "steps")?)?;
        if settle_steps(&mut steps, now, message) {
            sqlx::query("UPDATE runs SET steps = $2 WHERE id = $1")
                .bind(&id)
                .bind(json("steps", &steps)?)
                .execute(&mut *tx)
                .await
                .map_err(db("settle the steps of a failed run"))?;
        }
        failed.push((col::<i64>(row, "seq")?, id, col::<Option<String>>(row, "node")?));
    }
    tx.commit().await.map_err(db("fail runs"))?;
    // RETURNING has no order; callers and logs read better oldest first.
    failed.sort();
    Ok(failed.into_iter().map(|(_, id, node)| (id, node.unwrap_or_default())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_binds_every_label_pair_and_locks_only_on_postgres() {
        let sql = claim_sql(Dialect::Postgres, 2);
        assert!(sql.contains("(l.key = $3 AND l.value = $4) OR (l.key = $5 AND l.value = $6)"), "{sql}");
        assert!(sql.contains("SKIP LOCKED"));
        assert!(!claim_sql(Dialect::Sqlite, 0).contains("FOR UPDATE"));
    }
}
