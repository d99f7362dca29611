//! A claimed run's progress and end: steps as they go, the platform, the final result, cancels.

use super::Store;
use super::codec::{col, from_json, json, now_ms, run_columns, run_from_row};
use super::error::db;
use crate::api::Approval;
use crate::run::{OutputImage, RunStatus, StepRecord};
use crate::store::{Claim, Fenced, RunResult, RunRow, StoreError, StoreResult};
use std::collections::BTreeSet;

/// The error of a run cancelled before a node claimed it.
pub const CANCELED_BEFORE_START: &str = "canceled before it started";

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound { what: "run", name: id.to_string() }
}

/// Read-modify-write of the steps array in one transaction. Steps may start out of order (the
/// plan is a DAG), so a gap before `index` is filled with pending placeholders (empty id) that
/// later calls overwrite. A run that already ended keeps the steps it ended with: a worker that
/// lost its lease must not rewrite the record the reaper closed. With a `claim`, the write lands
/// only while the run is still the claim's (`Lost` otherwise).
pub(super) async fn save_step(
    store: &Store,
    id: &str,
    claim: Option<&Claim>,
    index: usize,
    step: &StepRecord,
) -> StoreResult<Fenced> {
    let mut tx = store.begin_write().await?;
    let select = format!("SELECT status, steps, node, claim_epoch FROM runs WHERE id = $1{}", store.lock_clause());
    let row = sqlx::query(sqlx::AssertSqlSafe(select))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("read the run's steps"))?
        .ok_or_else(|| not_found(id))?;
    let status: String = col(&row, "status")?;
    if RunStatus::parse(&status).is_none_or(RunStatus::is_terminal) || !holds(&row, claim)? {
        return Ok(Fenced::Lost);
    }
    let mut steps: Vec<StepRecord> = from_json(&format!("run {id}: steps"), &col::<String>(&row, "steps")?)?;
    if steps.len() <= index {
        steps.resize(index + 1, StepRecord::pending(""));
    }
    steps[index] = step.clone();
    sqlx::query("UPDATE runs SET steps = $2 WHERE id = $1")
        .bind(id)
        .bind(json("steps", &steps)?)
        .execute(&mut *tx)
        .await
        .map_err(db("save the step"))?;
    tx.commit().await.map_err(db("save the step"))?;
    Ok(Fenced::Held)
}

/// Whether the run read in `row` is still `claim`'s (always, without a claim).
fn holds(row: &sqlx::any::AnyRow, claim: Option<&Claim>) -> StoreResult<bool> {
    let Some(claim) = claim else { return Ok(true) };
    let node: Option<String> = col(row, "node")?;
    Ok(node.as_deref() == Some(claim.node.as_str()) && col::<i64>(row, "claim_epoch")? == claim.epoch)
}

pub(super) async fn set_platform(store: &Store, claim: &Claim, platform: &str) -> StoreResult<Fenced> {
    let done = sqlx::query(
        "UPDATE runs SET platform = $4 WHERE id = $1 AND node = $2 AND claim_epoch = $3 \
         AND status IN ('Running', 'AwaitingApproval')",
    )
    .bind(&claim.run)
    .bind(&claim.node)
    .bind(claim.epoch)
    .bind(platform)
    .execute(&store.writer)
    .await
    .map_err(db("record the platform"))?;
    Ok(if done.rows_affected() == 0 { Fenced::Lost } else { Fenced::Held })
}

/// Records the end of run `id`. Only a run still under way changes: one cancelled while queued
/// (or reaped) keeps its end. With a `claim`, only while the run is still the claim's.
pub(super) async fn finish(store: &Store, id: &str, claim: Option<&Claim>, result: &RunResult) -> StoreResult<Fenced> {
    if !result.status.is_terminal() {
        return Err(StoreError::State(format!("run {id} cannot finish as {}", result.status.as_str())));
    }
    let mut tx = store.begin_write().await?;
    let fence = if claim.is_some() { " AND node = $11 AND claim_epoch = $12" } else { "" };
    let sql = format!(
        "UPDATE runs SET status = $2, steps = $3, output_images = $4, dependencies = $5, error = $6, \
         finished_ms = $7, lease_until_ms = NULL, waiting_step = NULL, workspace = $8, workspace_until_ms = $9, \
         resume_state = $10 WHERE id = $1 AND status IN ('Queued', 'Running', 'AwaitingApproval'){fence} RETURNING seq"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(result.status.as_str())
        .bind(json("steps", &result.steps)?)
        .bind(json("output images", &result.output_images)?)
        .bind(json("dependencies", &result.dependencies)?)
        .bind(&result.error)
        .bind(result.finished_at.timestamp_millis())
        .bind(result.resume.as_ref().and_then(|(r, _)| r.workspace.clone()))
        .bind(result.resume.as_ref().map(|(_, until)| until.timestamp_millis()))
        .bind(result.resume.as_ref().map(|(r, _)| json("resume state", r)).transpose()?);
    if let Some(claim) = claim {
        query = query.bind(&claim.node).bind(claim.epoch);
    }
    let finished = query.fetch_optional(&mut *tx).await.map_err(db("record the run's end"))?;
    let Some(finished) = finished else {
        let exists = sqlx::query("SELECT seq FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("read the run"))?;
        return if exists.is_some() { Ok(Fenced::Lost) } else { Err(not_found(id)) };
    };
    let seq: i64 = col(&finished, "seq")?;
    index_images(&mut tx, seq, &result.output_images).await?;
    tx.commit().await.map_err(db("record the run's end"))?;
    Ok(Fenced::Held)
}

/// Indexes run `seq` under every name of each image it pushed (see [`image_forms`]).
pub(super) async fn index_images(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    seq: i64,
    images: &[OutputImage],
) -> StoreResult<()> {
    for image in image_forms(images) {
        sqlx::query("INSERT INTO run_images (image, run_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(image)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(db("index the run's images"))?;
    }
    Ok(())
}

/// Every name a user may filter a run's image by: `repo`, `repo:tag`, `registry/repo` and
/// `registry/repo:tag`, plus the short `name[:tag]` of an official Docker Hub image
/// (`docker.io`, `library/name`), as people write it.
pub(super) fn image_forms(images: &[OutputImage]) -> BTreeSet<String> {
    let mut forms = BTreeSet::new();
    for image in images {
        let mut names = vec![image.repository.clone()];
        if !image.registry.is_empty() {
            names.push(format!("{}/{}", image.registry, image.repository));
        }
        if image.registry == "docker.io"
            && let Some(short) = image.repository.strip_prefix("library/")
        {
            names.push(short.to_string());
        }
        for name in names {
            if !image.tag.is_empty() {
                forms.insert(format!("{name}:{}", image.tag));
            }
            forms.insert(name);
        }
    }
    forms
}

/// Records a decision on a run waiting for approval. Before it ran (a fork's pull request, no
/// node yet): approved, it is queued (and the nodes woken); otherwise it ends Canceled with
/// `reason`. Paused before a step (`--approve-before`, its node holding it): it goes back to
/// Running either way, and its node reads the decision and goes on or stops. `State` if it no
/// longer waits.
pub(super) async fn decide(store: &Store, id: &str, approval: &Approval, reason: Option<&str>) -> StoreResult<RunRow> {
    let approved = approval.decision == "approved";
    let mut tx = store.begin_write().await?;
    let paused = sqlx::query(concat!(
        "UPDATE runs SET status = 'Running', approval = $2, waiting_step = NULL ",
        "WHERE id = $1 AND status = 'AwaitingApproval' AND node IS NOT NULL RETURNING ",
        run_columns!()
    ))
    .bind(id)
    .bind(json("approval", approval)?)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("record the decision"))?;
    let row = match paused {
        Some(row) => Some(row),
        None if approved => sqlx::query(concat!(
            "UPDATE runs SET status = 'Queued', approval = $2 ",
            "WHERE id = $1 AND status = 'AwaitingApproval' AND node IS NULL RETURNING ",
            run_columns!()
        ))
        .bind(id)
        .bind(json("approval", approval)?)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("record the decision"))?,
        None => sqlx::query(concat!(
            "UPDATE runs SET status = 'Canceled', approval = $2, finished_ms = $3, error = $4 ",
            "WHERE id = $1 AND status = 'AwaitingApproval' AND node IS NULL RETURNING ",
            run_columns!()
        ))
        .bind(id)
        .bind(json("approval", approval)?)
        .bind(now_ms())
        .bind(reason.unwrap_or("rejected"))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("record the decision"))?,
    };
    let Some(row) = row else {
        tx.rollback().await.map_err(db("record the decision"))?;
        return match super::runs::get(store, id).await? {
            Some(run) => Err(StoreError::State(format!(
                "run {id} is {}, not waiting for approval; only AwaitingApproval runs are approved or rejected",
                run.status.as_str()
            ))),
            None => Err(not_found(id)),
        };
    };
    let run = run_from_row(&row)?;
    if approved && run.node.is_none() {
        super::cluster::notify_queued(store, &mut tx).await?;
    }
    tx.commit().await.map_err(db("record the decision"))?;
    Ok(run)
}

/// A running run of the claim's node stops before step `step` until a person decides: AwaitingApproval,
/// keeping its node, lease and containers. Whether it was still running there.
pub(super) async fn pause(store: &Store, claim: &Claim, step: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE runs SET status = 'AwaitingApproval', waiting_step = $4 \
         WHERE id = $1 AND node = $2 AND claim_epoch = $3 AND status = 'Running' AND cancel_requested = 0",
    )
    .bind(&claim.run)
    .bind(&claim.node)
    .bind(claim.epoch)
    .bind(step)
    .execute(&store.writer)
    .await
    .map_err(db("pause the run"))?;
    Ok(done.rows_affected() == 1)
}

/// Queued → Canceled at once; Running → `cancel_requested` for its worker; otherwise `State`.
/// Each step is a conditional update, so a run that moves on between them (claimed, finished) is
/// handled by the next step rather than overwritten.
pub(super) async fn cancel(store: &Store, id: &str) -> StoreResult<RunRow> {
    let queued = sqlx::query(concat!(
        "UPDATE runs SET status = 'Canceled', finished_ms = $2, error = $3 WHERE id = $1 ",
        "AND (status = 'Queued' OR (status = 'AwaitingApproval' AND node IS NULL)) ",
        "RETURNING ",
        run_columns!()
    ))
    .bind(id)
    .bind(now_ms())
    .bind(CANCELED_BEFORE_START)
    .fetch_optional(&store.writer)
    .await
    .map_err(db("cancel the run"))?;
    if let Some(row) = queued {
        return run_from_row(&row);
    }
    let running = sqlx::query(concat!(
        "UPDATE runs SET cancel_requested = 1, status = 'Running', waiting_step = NULL WHERE id = $1 ",
        "AND (status = 'Running' OR (status = 'AwaitingApproval' AND node IS NOT NULL)) RETURNING ",
        run_columns!()
    ))
    .bind(id)
    .fetch_optional(&store.writer)
    .await
    .map_err(db("cancel the run"))?;
    if let Some(row) = running {
        return run_from_row(&row);
    }
    match super::runs::get(store, id).await? {
        Some(run) => Err(StoreError::State(format!(
            "run {id} already ended ({}); only queued or running runs can be canceled",
            run.status.as_str()
        ))),
        None => Err(not_found(id)),
    }
}

/// The steps a queued run will have, recorded before any node claims it (a node's own records
/// win: once it runs, this changes nothing).
pub(super) async fn set_planned(store: &Store, id: &str, steps: &[StepRecord]) -> StoreResult<()> {
    sqlx::query(
        "UPDATE runs SET steps = $2 WHERE id = $1 AND status IN ('Queued', 'AwaitingApproval') AND node IS NULL",
    )
    .bind(id)
    .bind(json("steps", steps)?)
    .execute(&store.writer)
    .await
    .map_err(db("record the planned steps"))?;
    Ok(())
}

/// A resume takes the workspace run `id` kept: whether it was still there to take (kept, not
/// expired, not taken by another resume). One statement, so two resumes cannot both take it.
pub(super) async fn take_workspace(store: &Store, id: &str, volume: &str) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE runs SET workspace = NULL WHERE id = $1 AND workspace = $2 AND workspace_until_ms > $3")
            .bind(id)
            .bind(volume)
            .bind(now_ms())
            .execute(&store.writer)
            .await
            .map_err(db("take the run's workspace"))?;
    Ok(done.rows_affected() == 1)
}

/// The workspace volumes runs keep now, for the janitor to leave alone.
pub(super) async fn kept_workspaces(store: &Store) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT workspace FROM runs WHERE workspace IS NOT NULL AND workspace_until_ms > $1")
        .bind(now_ms())
        .fetch_all(&store.reader)
        .await
        .map_err(db("list kept workspaces"))?;
    rows.iter().map(|r| col::<String>(r, "workspace")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_found_by_every_name() {
        let image = OutputImage {
            registry: "reg.example:5000".into(),
            repository: "team/app".into(),
            tag: "v1".into(),
            digest: None,
            signature: None,
            platforms: Vec::new(),
        };
        let forms: Vec<String> = image_forms(&[image]).into_iter().collect();
        assert_eq!(forms, ["reg.example:5000/team/app", "reg.example:5000/team/app:v1", "team/app", "team/app:v1"]);

        let hub = OutputImage {
            registry: "docker.io".into(),
            repository: "library/busybox".into(),
            tag: "1.36".into(),
            digest: None,
            signature: None,
            platforms: Vec::new(),
        };
        let forms = image_forms(&[hub]);
        assert!(forms.contains("busybox:1.36") && forms.contains("busybox"), "{forms:?}");
    }
}
