//! The webhook inbox: deliveries stored before they are answered, and the heads of polled
//! repositories.

use super::Store;
use super::codec::{col, from_json, json, time};
use super::error::db;
use crate::api::{Delivery, DeliveryOutcome};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

const COLUMNS: &str = "provider, delivery_id, received_ms, task, repository, event, outcome, reason, runs";

fn from_row(row: &AnyRow) -> StoreResult<Delivery> {
    let provider: String = col(row, "provider")?;
    let delivery_id: String = col(row, "delivery_id")?;
    let what = format!("delivery {provider}/{delivery_id}");
    let outcome: String = col(row, "outcome")?;
    Ok(Delivery {
        received_at: time(&what, col(row, "received_ms")?)?,
        task: col(row, "task")?,
        repository: col(row, "repository")?,
        event: from_json(&what, &col::<String>(row, "event")?)?,
        outcome: DeliveryOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("{what}: unknown outcome `{outcome}`")))?,
        reason: col(row, "reason")?,
        runs: from_json(&what, &col::<String>(row, "runs")?)?,
        provider,
        delivery_id,
    })
}

async fn get(store: &Store, provider: &str, id: &str) -> StoreResult<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE provider = $1 AND delivery_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(id)
        .fetch_optional(&store.writer)
        .await
        .map_err(db("read a delivery"))?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes refused deliveries beyond the newest `keep`: anyone can send them, so they must not
/// grow without bound.
pub(super) async fn prune_refused(store: &Store, keep: u32) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM deliveries WHERE outcome = 'refused' AND received_ms < (SELECT received_ms FROM deliveries \
         WHERE outcome = 'refused' ORDER BY received_ms DESC LIMIT 1 OFFSET $1)",
    )
    .bind(i64::from(keep))
    .execute(&store.writer)
    .await
    .map_err(db("prune refused deliveries"))?;
    Ok(done.rows_affected())
}

pub(super) async fn insert(store: &Store, d: &Delivery) -> StoreResult<Option<Delivery>> {
    // The primary key decides between two copies of one delivery arriving together.
    let done = sqlx::query(
        "INSERT INTO deliveries (provider, delivery_id, received_ms, task, repository, event, outcome, reason, runs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (provider, delivery_id) DO NOTHING",
    )
    .bind(&d.provider)
    .bind(&d.delivery_id)
    .bind(d.received_at.timestamp_millis())
    .bind(&d.task)
    .bind(&d.repository)
    .bind(json("delivery event", &d.event)?)
    .bind(d.outcome.as_str())
    .bind(&d.reason)
    .bind(json("delivery runs", &d.runs)?)
    .execute(&store.writer)
    .await
    .map_err(db("store a delivery"))?;
    if done.rows_affected() == 1 {
        return Ok(None);
    }
    get(store, &d.provider, &d.delivery_id)
        .await?
        .map(Some)
        .ok_or_else(|| StoreError::Database("a delivery conflicted on its id, but no delivery has that id".into()))
}

pub(super) async fn finish(
    store: &Store,
    provider: &str,
    id: &str,
    outcome: DeliveryOutcome,
    reason: Option<&str>,
    runs: &[String],
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE deliveries SET outcome = $3, reason = $4, runs = $5 WHERE provider = $1 AND delivery_id = $2",
    )
    .bind(provider)
    .bind(id)
    .bind(outcome.as_str())
    .bind(reason)
    .bind(json("delivery runs", runs)?)
    .execute(&store.writer)
    .await
    .map_err(db("record a delivery's outcome"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "delivery", name: format!("{provider}/{id}") });
    }
    Ok(())
}

pub(super) async fn list(store: &Store, top: u32, before: Option<DateTime<Utc>>) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE received_ms < $1 ORDER BY received_ms DESC, delivery_id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(before.map_or(i64::MAX, |b| b.timestamp_millis()))
        .bind(i64::from(top))
        .fetch_all(&store.reader)
        .await
        .map_err(db("list deliveries"))?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn unprocessed(store: &Store, limit: u32) -> StoreResult<Vec<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE outcome = 'received' ORDER BY received_ms LIMIT $1");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(limit))
        .fetch_all(&store.writer)
        .await
        .map_err(db("list unprocessed deliveries"))?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn heads(store: &Store, repository: &str) -> StoreResult<BTreeMap<String, String>> {
    let rows = sqlx::query("SELECT ref, commit_id FROM source_heads WHERE repository = $1")
        .bind(repository)
        .fetch_all(&store.reader)
        .await
        .map_err(db("read the heads of a repository"))?;
    rows.iter().map(|r| Ok((col(r, "ref")?, col(r, "commit_id")?))).collect()
}

pub(super) async fn put_head(store: &Store, repository: &str, reference: &str, commit: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO source_heads (repository, ref, commit_id, seen_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (repository, ref) DO UPDATE SET commit_id = excluded.commit_id, seen_ms = excluded.seen_ms",
    )
    .bind(repository)
    .bind(reference)
    .bind(commit)
    .bind(super::codec::now_ms())
    .execute(&store.writer)
    .await
    .map_err(db("record a head"))?;
    Ok(())
}
