//! Base-image bookkeeping: what each task's builds used and produced, and the watcher's state
//! per distinct image.

use super::Store;
use super::codec::{col, opt_time, time};
use super::error::db;
use crate::api::ImageRole;
use crate::store::{ImageState, PendingChange, StoreError, StoreResult, TaskImage};
use sqlx::any::AnyRow;

const TASK_IMAGE_COLUMNS: &str = "task, image, role, digest, run_id, recorded_ms";
const STATE_COLUMNS: &str =
    "image, digest, checked_ms, changed_ms, error, pending_old, pending_new, pending_due_ms, next_check_ms";

fn task_image(row: &AnyRow) -> StoreResult<TaskImage> {
    let role: String = col(row, "role")?;
    let image: String = col(row, "image")?;
    Ok(TaskImage {
        task: col(row, "task")?,
        role: ImageRole::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("image {image}: unknown role `{role}`")))?,
        digest: col(row, "digest")?,
        run_id: col(row, "run_id")?,
        recorded_at: time(&image, col(row, "recorded_ms")?)?,
        image,
    })
}

fn state(row: &AnyRow) -> StoreResult<ImageState> {
    let image: String = col(row, "image")?;
    let pending_new: Option<String> = col(row, "pending_new")?;
    let pending_due = opt_time(&image, col(row, "pending_due_ms")?)?;
    let pending = match (pending_new, pending_due) {
        (Some(new), Some(due)) => Some(PendingChange { old: col(row, "pending_old")?, new, due }),
        _ => None,
    };
    Ok(ImageState {
        digest: col(row, "digest")?,
        checked_at: opt_time(&image, col(row, "checked_ms")?)?,
        changed_at: opt_time(&image, col(row, "changed_ms")?)?,
        error: col(row, "error")?,
        pending,
        next_check: opt_time(&image, col(row, "next_check_ms")?)?,
        image,
    })
}

pub(super) async fn record(store: &Store, task: &str, images: &[TaskImage]) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM task_images WHERE task = $1")
        .bind(task)
        .execute(&mut *tx)
        .await
        .map_err(db("replace a task's images"))?;
    for i in images {
        // The same image can appear twice in one build (two stages FROM it): keep one row per role.
        sqlx::query(
            "INSERT INTO task_images (task, image, role, digest, run_id, recorded_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (task, image, role) DO UPDATE SET digest = excluded.digest",
        )
        .bind(task)
        .bind(&i.image)
        .bind(i.role.as_str())
        .bind(&i.digest)
        .bind(&i.run_id)
        .bind(i.recorded_at.timestamp_millis())
        .execute(&mut *tx)
        .await
        .map_err(db("record a task's images"))?;
    }
    tx.commit().await.map_err(db("record a task's images"))
}

pub(super) async fn of_task(store: &Store, task: &str) -> StoreResult<Vec<TaskImage>> {
    let sql = format!("SELECT {TASK_IMAGE_COLUMNS} FROM task_images WHERE task = $1 ORDER BY role, image");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(task)
        .fetch_all(&store.reader)
        .await
        .map_err(db("read a task's images"))?;
    rows.iter().map(task_image).collect()
}

pub(super) async fn users(store: &Store, image: &str) -> StoreResult<Vec<TaskImage>> {
    let sql = format!("SELECT {TASK_IMAGE_COLUMNS} FROM task_images WHERE image = $1 ORDER BY task, role");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(image)
        .fetch_all(&store.reader)
        .await
        .map_err(db("read an image's users"))?;
    rows.iter().map(task_image).collect()
}

pub(super) async fn bases(store: &Store) -> StoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT DISTINCT image FROM task_images WHERE role IN ('runtime', 'buildtime') ORDER BY image")
            .fetch_all(&store.reader)
            .await
            .map_err(db("list base images"))?;
    rows.iter().map(|r| col(r, "image")).collect()
}

pub(super) async fn get_state(store: &Store, image: &str) -> StoreResult<Option<ImageState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM image_state WHERE image = $1");
    // From the writer: the watcher reads its own last write back.
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(image)
        .fetch_optional(&store.writer)
        .await
        .map_err(db("read an image's state"))?;
    row.as_ref().map(state).transpose()
}

pub(super) async fn states(store: &Store) -> StoreResult<Vec<ImageState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM image_state ORDER BY image");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&store.reader).await.map_err(db("list image states"))?;
    rows.iter().map(state).collect()
}

pub(super) async fn put_state(store: &Store, s: &ImageState) -> StoreResult<()> {
    let ms = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_millis());
    sqlx::query(
        "INSERT INTO image_state (image, digest, checked_ms, changed_ms, error, pending_old, pending_new, \
         pending_due_ms, next_check_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (image) DO UPDATE SET digest = excluded.digest, checked_ms = excluded.checked_ms, \
         changed_ms = excluded.changed_ms, error = excluded.error, pending_old = excluded.pending_old, \
         pending_new = excluded.pending_new, pending_due_ms = excluded.pending_due_ms, \
         next_check_ms = excluded.next_check_ms",
    )
    .bind(&s.image)
    .bind(&s.digest)
    .bind(ms(s.checked_at))
    .bind(ms(s.changed_at))
    .bind(&s.error)
    .bind(s.pending.as_ref().and_then(|p| p.old.clone()))
    .bind(s.pending.as_ref().map(|p| p.new.clone()))
    .bind(ms(s.pending.as_ref().map(|p| p.due)))
    .bind(ms(s.next_check))
    .execute(&store.writer)
    .await
    .map_err(db("write an image's state"))?;
    Ok(())
}
