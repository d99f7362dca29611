//! The outbox of commit statuses and run events: each delivery is a row before its first attempt,
//! claimed by one sender at a time (a conditional update that moves its next attempt past the
//! sender's timeout), and keeps the answer of its last attempt.

use super::Store;
use super::codec::{col, now_ms, opt_time, plus, time};
use super::error::db;
use crate::api::{OutgoingDelivery, OutgoingKind, OutgoingState};
use crate::store::{DueDelivery, NewDelivery, StoreError, StoreResult};
use sqlx::any::AnyRow;
use std::time::Duration;

const COLUMNS: &str = "id, run_id, task, kind, event, url, state, attempts, created_ms, next_ms, last_ms, \
                       status_code, answer";

fn kind_name(kind: OutgoingKind) -> &'static str {
    match kind {
        OutgoingKind::Webhook => "webhook",
        OutgoingKind::CommitStatus => "commit_status",
    }
}

fn kind_of(what: &str, name: &str) -> StoreResult<OutgoingKind> {
    match name {
        "webhook" => Ok(OutgoingKind::Webhook),
        "commit_status" => Ok(OutgoingKind::CommitStatus),
        _ => Err(StoreError::Corrupt(format!("{what}: unknown kind `{name}`"))),
    }
}

fn from_row(row: &AnyRow) -> StoreResult<OutgoingDelivery> {
    let id: String = col(row, "id")?;
    let what = format!("outgoing delivery {id}");
    let state: String = col(row, "state")?;
    Ok(OutgoingDelivery {
        run_id: col(row, "run_id")?,
        task: col(row, "task")?,
        kind: kind_of(&what, &col::<String>(row, "kind")?)?,
        event: col(row, "event")?,
        url: col(row, "url")?,
        state: OutgoingState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("{what}: unknown state `{state}`")))?,
        attempts: u32::try_from(col::<i64>(row, "attempts")?).unwrap_or(u32::MAX),
        created_at: time(&what, col(row, "created_ms")?)?,
        last_attempt_at: opt_time(&what, col(row, "last_ms")?)?,
        next_attempt_at: opt_time(&what, col(row, "next_ms")?)?,
        status_code: col::<Option<i64>>(row, "status_code")?.and_then(|c| u16::try_from(c).ok()),
        answer: col(row, "answer")?,
        id,
    })
}

/// Stores each delivery unless one with its dedup key exists. A commit status replaces the
/// statuses of the same run and URL still pending: only the newest state of a commit matters, and
/// an older one delivered after it would undo it. Returns how many were new.
pub(super) async fn queue(store: &Store, deliveries: &[NewDelivery]) -> StoreResult<u64> {
    let mut tx = store.begin_write().await?;
    let mut added = 0;
    let now = now_ms();
    for d in deliveries {
        let done = sqlx::query(
            "INSERT INTO outgoing (id, dedup_key, run_id, task, kind, provider, event, url, body, credential, \
             state, attempts, created_ms, next_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $11) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.dedup_key)
        .bind(&d.run_id)
        .bind(&d.task)
        .bind(kind_name(d.kind))
        .bind(&d.provider)
        .bind(&d.event)
        .bind(&d.url)
        .bind(&d.body)
        .bind(&d.credential)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("queue an outgoing delivery"))?;
        if done.rows_affected() == 0 {
            continue;
        }
        added += 1;
        if d.kind == OutgoingKind::CommitStatus {
            sqlx::query(
                "UPDATE outgoing SET state = 'superseded', next_ms = NULL WHERE run_id = $1 AND url = $2 \
                 AND kind = 'commit_status' AND state = 'pending' AND id <> $3",
            )
            .bind(&d.run_id)
            .bind(&d.url)
            .bind(&d.id)
            .execute(&mut *tx)
            .await
            .map_err(db("supersede older commit statuses"))?;
        }
    }
    tx.commit().await.map_err(db("queue outgoing deliveries"))?;
    Ok(added)
}

/// Takes up to `limit` deliveries that are due, oldest first, each after the older ones of its run
/// to the same URL: each is this caller's until `hold` has passed (then another sender may try
/// it), and counts an attempt.
pub(super) async fn claim_due(store: &Store, limit: u32, hold: Duration) -> StoreResult<Vec<DueDelivery>> {
    let now = now_ms();
    // A run's deliveries to one URL go in order: none is due while an older one is pending (a
    // retry of `run.started` comes before `run.finished`, on any node).
    let rows = sqlx::query(
        "SELECT o.id, o.next_ms FROM outgoing o WHERE o.state = 'pending' AND o.next_ms <= $1 \
         AND NOT EXISTS (SELECT 1 FROM outgoing p WHERE p.run_id = o.run_id AND p.url = o.url \
         AND p.state = 'pending' AND p.seq < o.seq) ORDER BY o.seq LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.writer)
    .await
    .map_err(db("list due outgoing deliveries"))?;
    let mut claimed = Vec::new();
    for row in &rows {
        let id: String = col(row, "id")?;
        let due: i64 = col(row, "next_ms")?;
        // Only if nobody took it since: the next attempt time is the claim.
        let taken = sqlx::query(
            "UPDATE outgoing SET next_ms = $3, attempts = attempts + 1 WHERE id = $1 AND next_ms = $2 \
             AND state = 'pending' RETURNING id, run_id, kind, provider, event, url, body, credential, attempts",
        )
        .bind(&id)
        .bind(due)
        .bind(plus(now, hold))
        .fetch_optional(&store.writer)
        .await
        .map_err(db("claim an outgoing delivery"))?;
        let Some(r) = taken else { continue };
        let what = format!("outgoing delivery {id}");
        claimed.push(DueDelivery {
            run_id: col(&r, "run_id")?,
            kind: kind_of(&what, &col::<String>(&r, "kind")?)?,
            provider: col(&r, "provider")?,
            event: col(&r, "event")?,
            url: col(&r, "url")?,
            body: col(&r, "body")?,
            credential: col(&r, "credential")?,
            attempts: u32::try_from(col::<i64>(&r, "attempts")?).unwrap_or(u32::MAX),
            id,
        });
    }
    Ok(claimed)
}

/// Records the answer of an attempt: delivered, failed for good, or due again at `retry_at`.
pub(super) async fn record(
    store: &Store,
    id: &str,
    state: OutgoingState,
    retry_in: Option<Duration>,
    status_code: Option<u16>,
    answer: Option<&str>,
) -> StoreResult<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE outgoing SET state = $2, next_ms = $3, last_ms = $4, status_code = $5, answer = $6 \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(retry_in.map(|d| plus(now, d)))
    .bind(now)
    .bind(status_code.map(i64::from))
    .bind(answer)
    .execute(&store.writer)
    .await
    .map_err(db("record an outgoing delivery's answer"))?;
    Ok(())
}

/// Deliveries newest first, all or of one run.
pub(super) async fn list(store: &Store, run_id: Option<&str>, top: u32) -> StoreResult<Vec<OutgoingDelivery>> {
    let filter = if run_id.is_some() { "WHERE run_id = $2" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM outgoing {filter} ORDER BY seq DESC LIMIT $1");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(top));
    if let Some(run) = run_id {
        query = query.bind(run);
    }
    let rows = query.fetch_all(&store.reader).await.map_err(db("list outgoing deliveries"))?;
    rows.iter().map(from_row).collect()
}
