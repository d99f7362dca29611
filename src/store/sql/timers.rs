//! Timer cursors (how far each timer's occurrences have been handled) and timer history.

use super::Store;
use super::codec::{col, now_ms, time};
use super::error::db;
use crate::api::{TimerEvent, TimerOutcome};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

pub(super) async fn cursor(store: &Store, task: &str, timer: &str, start: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
    sqlx::query(
        "INSERT INTO timer_state (task, timer, last_ms) VALUES ($1, $2, $3) ON CONFLICT (task, timer) DO NOTHING",
    )
    .bind(task)
    .bind(timer)
    .bind(start.timestamp_millis())
    .execute(&store.writer)
    .await
    .map_err(db("create a timer cursor"))?;
    let row = sqlx::query("SELECT last_ms FROM timer_state WHERE task = $1 AND timer = $2")
        .bind(task)
        .bind(timer)
        .fetch_one(&store.writer)
        .await
        .map_err(db("read a timer cursor"))?;
    time("timer cursor", col(&row, "last_ms")?)
}

pub(super) async fn advance(
    store: &Store,
    task: &str,
    timer: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<bool> {
    // Compare-and-set: of several nodes handling the same occurrences, one moves the cursor.
    let done = sqlx::query("UPDATE timer_state SET last_ms = $4 WHERE task = $1 AND timer = $2 AND last_ms = $3")
        .bind(task)
        .bind(timer)
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .execute(&store.writer)
        .await
        .map_err(db("advance a timer"))?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn record(store: &Store, e: &TimerEvent) -> StoreResult<()> {
    let outcome = match e.outcome {
        TimerOutcome::Fired => "fired",
        TimerOutcome::Skipped => "skipped",
        TimerOutcome::Failed => "failed",
    };
    sqlx::query(
        "INSERT INTO timer_events (task, timer, occurrence_ms, last_ms, count, outcome, run_id, recorded_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.task)
    .bind(&e.timer)
    .bind(e.occurrence.timestamp_millis())
    .bind(e.last_occurrence.timestamp_millis())
    .bind(i64::try_from(e.count).unwrap_or(i64::MAX))
    .bind(outcome)
    .bind(&e.run_id)
    .bind(if e.recorded_at.timestamp_millis() > 0 { e.recorded_at.timestamp_millis() } else { now_ms() })
    .execute(&store.writer)
    .await
    .map_err(db("record a timer event"))?;
    Ok(())
}

fn event(row: &AnyRow) -> StoreResult<TimerEvent> {
    let outcome: String = col(row, "outcome")?;
    let count: i64 = col(row, "count")?;
    Ok(TimerEvent {
        task: col(row, "task")?,
        timer: col(row, "timer")?,
        occurrence: time("timer event", col(row, "occurrence_ms")?)?,
        last_occurrence: time("timer event", col(row, "last_ms")?)?,
        count: u64::try_from(count).unwrap_or(0),
        outcome: match outcome.as_str() {
            "fired" => TimerOutcome::Fired,
            "skipped" => TimerOutcome::Skipped,
            "failed" => TimerOutcome::Failed,
            other => return Err(StoreError::Corrupt(format!("timer event: unknown outcome `{other}`"))),
        },
        run_id: col(row, "run_id")?,
        recorded_at: time("timer event", col(row, "recorded_ms")?)?,
    })
}

pub(super) async fn events(store: &Store, task: &str, top: u32) -> StoreResult<Vec<TimerEvent>> {
    let rows = sqlx::query(
        "SELECT task, timer, occurrence_ms, last_ms, count, outcome, run_id, recorded_ms FROM timer_events \
         WHERE task = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(task)
    .bind(i64::from(top))
    .fetch_all(&store.reader)
    .await
    .map_err(db("list timer events"))?;
    rows.iter().map(event).collect()
}
