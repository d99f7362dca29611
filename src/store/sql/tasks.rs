//! Tasks: one row each, the task's stored form ([`TaskRecord`]) as JSON in `body` and its times
//! in columns.

use super::Store;
use super::codec::{col, from_json, json, now_ms, time};
use super::error::{db, is_unique_violation};
use crate::api::Task;
use crate::store::task_record::TaskRecord;
use crate::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;

/// The task as stored: its record (times live in their own columns, not in the body).
fn body(task: &Task) -> StoreResult<String> {
    json("task", &TaskRecord::from(task))
}

fn from_row(row: &AnyRow) -> StoreResult<Task> {
    let name: String = col(row, "name")?;
    let what = format!("task {name}");
    let record: TaskRecord = from_json(&what, &col::<String>(row, "body")?)?;
    let mut task = Task::from(record);
    task.created_at = Some(time(&what, col(row, "created_ms")?)?);
    task.updated_at = Some(time(&what, col(row, "updated_ms")?)?);
    Ok(task)
}

pub(super) async fn insert(store: &Store, task: &Task) -> StoreResult<()> {
    let now = now_ms();
    let result = sqlx::query("INSERT INTO tasks (name, body, created_ms, updated_ms) VALUES ($1, $2, $3, $3)")
        .bind(&task.name)
        .bind(body(task)?)
        .bind(now)
        .execute(&store.writer)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict { what: "task", name: task.name.clone() }),
        Err(e) => Err(db("create the task")(e)),
    }
}

pub(super) async fn update(store: &Store, task: &Task) -> StoreResult<()> {
    let done = sqlx::query("UPDATE tasks SET body = $2, updated_ms = $3 WHERE name = $1")
        .bind(&task.name)
        .bind(body(task)?)
        .bind(now_ms())
        .execute(&store.writer)
        .await
        .map_err(db("update the task"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "task", name: task.name.clone() });
    }
    Ok(())
}

pub(super) async fn get(store: &Store, name: &str) -> StoreResult<Option<Task>> {
    let row = sqlx::query("SELECT name, body, created_ms, updated_ms FROM tasks WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.reader)
        .await
        .map_err(db("read the task"))?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(store: &Store) -> StoreResult<Vec<Task>> {
    let rows = sqlx::query("SELECT name, body, created_ms, updated_ms FROM tasks ORDER BY name")
        .fetch_all(&store.reader)
        .await
        .map_err(db("list the tasks"))?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn delete(store: &Store, name: &str) -> StoreResult<bool> {
    let mut tx = store.begin_write().await?;
    let done = sqlx::query("DELETE FROM tasks WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db("delete the task"))?;
    // Its trigger state goes with it; its runs and timer history stay, like its logs.
    for sql in ["DELETE FROM task_images WHERE task = $1", "DELETE FROM timer_state WHERE task = $1"] {
        sqlx::query(sql).bind(name).execute(&mut *tx).await.map_err(db("delete the task's trigger state"))?;
    }
    tx.commit().await.map_err(db("delete the task"))?;
    Ok(done.rows_affected() > 0)
}
