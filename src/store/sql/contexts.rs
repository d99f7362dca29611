//! Uploaded context archives: where each is stored, its digest and size.

use super::Store;
use super::codec::{col, now_ms};
use super::error::{db, is_unique_violation};
use crate::api::ContextInfo;
use crate::store::{StoreError, StoreResult};

pub(super) async fn insert(store: &Store, info: &ContextInfo, path: &str) -> StoreResult<()> {
    let size =
        i64::try_from(info.size).map_err(|_| StoreError::State(format!("context size {} is too large", info.size)))?;
    let result = sqlx::query("INSERT INTO contexts (id, digest, size, path, created_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(&info.id)
        .bind(&info.digest)
        .bind(size)
        .bind(path)
        .bind(now_ms())
        .execute(&store.writer)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict { what: "context", name: info.id.clone() }),
        Err(e) => Err(db("record the context")(e)),
    }
}

pub(super) async fn get(store: &Store, id: &str) -> StoreResult<Option<(ContextInfo, String)>> {
    let row = sqlx::query("SELECT id, digest, size, path FROM contexts WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.reader)
        .await
        .map_err(db("read the context"))?;
    let Some(row) = row else { return Ok(None) };
    let size: i64 = col(&row, "size")?;
    let info = ContextInfo {
        id: col(&row, "id")?,
        digest: col(&row, "digest")?,
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("context {id}: size {size} < 0")))?,
    };
    Ok(Some((info, col(&row, "path")?)))
}

/// Whether a queued or running run's spec names `context` (an `upload:<id>` string).
pub(super) async fn needed_by_a_run(store: &Store, context: &str) -> StoreResult<bool> {
    // The spec is JSON with no spaces: `"context":"upload:<hex id>"`; hex ids hold no LIKE wildcards.
    let pattern = format!("%\"context\":\"{context}\"%");
    // A run that keeps its workspace for a resume needs it too: the resume reads its task file there.
    let row = sqlx::query(
        "SELECT 1 AS one FROM runs WHERE (status IN ('AwaitingApproval', 'Queued', 'Running') \
         OR (workspace IS NOT NULL AND workspace_until_ms > $2)) AND request LIKE $1 LIMIT 1",
    )
    .bind(pattern)
    .bind(super::codec::now_ms())
    .fetch_optional(&store.writer)
    .await
    .map_err(db("look for runs that need the context"))?;
    Ok(row.is_some())
}

/// Uploaded contexts recorded before `before`: their ids.
pub(super) async fn older_than(store: &Store, before: chrono::DateTime<chrono::Utc>) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM contexts WHERE created_ms < $1 ORDER BY created_ms")
        .bind(before.timestamp_millis())
        .fetch_all(&store.reader)
        .await
        .map_err(db("list old uploads"))?;
    rows.iter().map(|r| col(r, "id")).collect()
}

/// Forgets an uploaded context; returns where its archive is stored, if it was recorded.
pub(super) async fn delete(store: &Store, id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("DELETE FROM contexts WHERE id = $1 RETURNING path")
        .bind(id)
        .fetch_optional(&store.writer)
        .await
        .map_err(db("forget the context"))?;
    row.as_ref().map(|r| col(r, "path")).transpose()
}
