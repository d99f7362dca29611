//! The small shared key-value area (trigger state, leader bookkeeping).

use super::Store;
use super::codec::col;
use super::error::db;
use crate::store::StoreResult;

pub(super) async fn get(store: &Store, key: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT value FROM kv WHERE key = $1")
        .bind(key)
        .fetch_optional(&store.reader)
        .await
        .map_err(db("read a key"))?;
    row.as_ref().map(|row| col(row, "value")).transpose()
}

pub(super) async fn put(store: &Store, key: &str, value: &str) -> StoreResult<()> {
    // An upsert both dialects spell the same way, so concurrent puts never conflict.
    sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&store.writer)
        .await
        .map_err(db("write a key"))?;
    Ok(())
}

pub(super) async fn put_if_absent(store: &Store, key: &str, value: &str) -> StoreResult<String> {
    // The primary key decides a race: the first value stays and everyone reads it back.
    sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(&store.writer)
        .await
        .map_err(db("write a key"))?;
    // Read from the writer: a replica-style reader could lag the insert.
    let row = sqlx::query("SELECT value FROM kv WHERE key = $1")
        .bind(key)
        .fetch_one(&store.writer)
        .await
        .map_err(db("read a key"))?;
    col(&row, "value")
}
