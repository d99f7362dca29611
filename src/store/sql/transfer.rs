//! Bringing runs from another database in (`drydock import`): rows keep their sequence numbers,
//! ids and times, so run ids, links and log files stay valid.

use super::codec::{json, run_type_name, trigger_json, trigger_kind};
use super::error::db;
use super::{Dialect, Store};
use crate::store::{RunRow, StoreResult};

pub(super) async fn import_run(store: &Store, run: &RunRow) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO runs (seq, id, status, run_type, task, trigger_kind, trigger, request, required_labels, \
         queued_ms, started_ms, finished_ms, platform, steps, output_images, dependencies, error, node, \
         lease_until_ms, cancel_requested, approval, waiting_step, rerun_of, resumed_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24)",
    )
    .bind(run.seq)
    .bind(&run.id)
    .bind(run.status.as_str())
    .bind(run_type_name(run.run_type)?)
    .bind(&run.task)
    .bind(trigger_kind(&run.trigger)?)
    .bind(trigger_json(&run.trigger)?)
    .bind(json("request", &run.request)?)
    .bind(json("required labels", &run.required_labels)?)
    .bind(run.queued_at.timestamp_millis())
    .bind(run.started_at.map(|t| t.timestamp_millis()))
    .bind(run.finished_at.map(|t| t.timestamp_millis()))
    .bind(&run.platform)
    .bind(json("steps", &run.steps)?)
    .bind(json("output images", &run.output_images)?)
    .bind(json("dependencies", &run.dependencies)?)
    .bind(&run.error)
    .bind(&run.node)
    .bind(run.lease_until.map(|t| t.timestamp_millis()))
    .bind(i16::from(run.cancel_requested))
    .bind(run.approval.as_ref().map(|a| json("approval", a)).transpose()?)
    .bind(&run.waiting_step)
    .bind(&run.rerun_of)
    .bind(&run.resumed_from)
    .execute(&mut *tx)
    .await
    .map_err(db("import a run"))?;
    super::runs::insert_labels(&mut tx, run.seq, &run.required_labels).await?;
    super::progress::index_images(&mut tx, run.seq, &run.output_images).await?;
    tx.commit().await.map_err(db("import a run"))
}

/// After explicit sequence numbers were inserted, PostgreSQL's sequence must move past them
/// (SQLite's AUTOINCREMENT follows the largest key by itself).
pub(super) async fn finish_import(store: &Store) -> StoreResult<()> {
    if store.dialect == Dialect::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('runs', 'seq'), (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs), false)",
        )
        .execute(&store.writer)
        .await
        .map_err(db("move the run sequence past the imported runs"))?;
    }
    Ok(())
}
