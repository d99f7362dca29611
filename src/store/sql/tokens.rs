//! API tokens: only their hashes are stored; a use is recorded at most once a minute.

use super::Store;
use super::codec::{col, now_ms, opt_time, time};
use super::error::{db, is_unique_violation};
use crate::api::TokenInfo;
use crate::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;

/// How stale `last_used` may get: authenticating must not cost a write on every request.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn from_row(row: &AnyRow) -> StoreResult<TokenInfo> {
    let id: String = col(row, "id")?;
    let what = format!("token {id}");
    Ok(TokenInfo {
        name: col(row, "name")?,
        created_at: time(&what, col(row, "created_ms")?)?,
        last_used_at: opt_time(&what, col(row, "last_used_ms")?)?,
        revoked: col::<i64>(row, "revoked")? != 0,
        id,
    })
}

pub(super) async fn insert(store: &Store, info: &TokenInfo, hash: &str) -> StoreResult<()> {
    let result = sqlx::query(
        "INSERT INTO tokens (id, name, hash, created_ms, last_used_ms, revoked) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&info.id)
    .bind(&info.name)
    .bind(hash)
    .bind(info.created_at.timestamp_millis())
    .bind(info.last_used_at.map(|t| t.timestamp_millis()))
    .bind(i64::from(info.revoked))
    .execute(&store.writer)
    .await;
    match result {
        Ok(_) => Ok(()),
        // The id or the hash is taken; the message names the id only, never the hash.
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict { what: "token", name: info.id.clone() }),
        Err(e) => Err(db("store the token")(e)),
    }
}

pub(super) async fn list(store: &Store) -> StoreResult<Vec<TokenInfo>> {
    let rows = sqlx::query("SELECT id, name, created_ms, last_used_ms, revoked FROM tokens ORDER BY created_ms, id")
        .fetch_all(&store.reader)
        .await
        .map_err(db("list the tokens"))?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn revoke(store: &Store, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = $1")
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(db("revoke the token"))?;
    Ok(done.rows_affected() > 0)
}

/// Every unrevoked token's hash and name.
pub(super) async fn valid_hashes(store: &Store) -> StoreResult<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT hash, name FROM tokens WHERE revoked = 0")
        .fetch_all(&store.reader)
        .await
        .map_err(db("list the tokens"))?;
    rows.iter().map(|row| Ok((col(row, "hash")?, col(row, "name")?))).collect()
}

pub(super) async fn use_token(store: &Store, hash: &str) -> StoreResult<Option<TokenInfo>> {
    let row =
        sqlx::query("SELECT id, name, created_ms, last_used_ms, revoked FROM tokens WHERE hash = $1 AND revoked = 0")
            .bind(hash)
            .fetch_optional(&store.reader)
            .await
            .map_err(db("check the token"))?;
    let Some(mut token) = row.as_ref().map(from_row).transpose()? else { return Ok(None) };
    let now = now_ms();
    let stale = token.last_used_at.is_none_or(|t| now - t.timestamp_millis() >= LAST_USED_RESOLUTION_MS);
    if stale {
        // Conditional, so that concurrent requests with one token write once between them.
        sqlx::query(
            "UPDATE tokens SET last_used_ms = $2 WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms <= $3)",
        )
        .bind(&token.id)
        .bind(now)
        .bind(now - LAST_USED_RESOLUTION_MS)
        .execute(&store.writer)
        .await
        .map_err(db("record the token's use"))?;
        token.last_used_at = Some(time("token use", now)?);
    }
    Ok(Some(token))
}
