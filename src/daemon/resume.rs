//! `drydock runs resume`: a run that did not succeed goes on from its failed step. Its node kept
//! the workspace volume (`--keep-failed-workspace`) and recorded what each succeeded step
//! produced; the resume is queued for that node, takes the workspace when it starts, renders the
//! task with the original's run variables, and reuses the succeeded steps (see
//! `engine::resume`).
//!
//! Refused, with the reason, when it would not be the same run going on: the workspace is gone or
//! was taken by another resume, the context moved to another commit, the task file changed, or a
//! `--set` changes a step that already succeeded.

use super::Service;
use super::prepare::PrepareError;
use super::service::{Result, ServiceError};
use super::spec::{Checkout, ResumeOf, RunSpec};
use crate::api::{self, Run};
use crate::engine::resume::Resume;
use crate::run::{ResumePoint, RunStatus};
use crate::store::{NewRun, RunRow};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a run that did not succeed keeps its workspace by default: long enough to look at
/// the failure and fix it, short enough not to fill a disk with workspaces.
pub const DEFAULT_KEEP_FAILED_WORKSPACE: Duration = Duration::from_secs(4 * 3600);

/// The label every node carries with its own id.
pub const NODE_LABEL: &str = "drydock.node";

impl Service {
    /// Queues a resume of run `id`, or says why it cannot be resumed.
    pub async fn resume(&self, id: &str, req: api::ResumeRequest) -> Result<Run> {
        let original =
            self.store.get_run(id).await?.ok_or_else(|| ServiceError::NotFound(format!("run `{id}` not found")))?;
        check_resumable(self, &original).await?;
        let mut spec: RunSpec = serde_json::from_value(original.request.clone())
            .map_err(|e| ServiceError::Internal(format!("run {id}'s stored request is unreadable: {e}")))?;
        spec.values.extend(req.values);
        spec.values_files.extend(super::runs::checked_values_file(req.values_file)?);
        spec.resume = Some(ResumeOf { run: original.id.clone(), new_id: req.new_id });
        let mut required_labels = original.required_labels.clone();
        if let Some(node) = &original.node {
            // The workspace is a volume on that node's engine.
            required_labels.insert(NODE_LABEL.to_string(), node.clone());
        }
        let new = NewRun {
            run_type: original.run_type,
            task: original.task.clone(),
            trigger: original.trigger.clone(),
            request: serde_json::Value::Null,
            required_labels,
            dedup_key: None,
            awaiting_approval: false,
            rerun_of: None,
            resumed_from: Some(original.id.clone()),
        };
        self.enqueue(spec, new).await
    }
}

/// Whether `run` can be resumed now; the error says why not and what to do instead.
async fn check_resumable(svc: &Service, run: &RunRow) -> Result<()> {
    let id = &run.id;
    let rerun = format!("rerun it instead: `drydock runs rerun {id}`");
    if !matches!(run.status, RunStatus::Failed | RunStatus::Timeout | RunStatus::Canceled | RunStatus::Error) {
        return Err(ServiceError::Conflict(format!(
            "run {id} is {}: only a run that failed, timed out, was canceled or ended in error can be resumed",
            run.status.as_str()
        )));
    }
    let Some(state) = &run.resume_state else {
        let why = if svc.settings.keep_failed_workspace.is_zero() {
            "this daemon keeps no workspace (drydock serve --keep-failed-workspace 0)".to_string()
        } else {
            "it kept no workspace (it ended before its steps could start, or before this version of drydock)"
                .to_string()
        };
        return Err(ServiceError::Conflict(format!("run {id} cannot be resumed: {why}; {rerun}")));
    };
    match (&run.workspace, run.workspace_until) {
        (Some(_), Some(until)) if until > chrono::Utc::now() => {}
        (Some(_), until) => {
            let when = until.map(|t| format!(" at {}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
            return Err(ServiceError::Conflict(format!(
                "run {id} cannot be resumed: its workspace was removed{} (a failed run keeps it for \
                 --keep-failed-workspace); {rerun}",
                when.unwrap_or_default()
            )));
        }
        (None, _) => {
            let taken = svc.store.reruns_of(id).await?;
            let by = last_resume(svc, &taken).await;
            return Err(ServiceError::Conflict(match by {
                Some(other) => format!(
                    "run {id} cannot be resumed: run {other} resumed it and took its workspace; resume run {other} \
                     instead (`drydock runs resume {other}`)"
                ),
                None => format!("run {id} cannot be resumed: its workspace is gone; {rerun}"),
            }));
        }
    }
    if state.workspace.is_none() {
        return Err(ServiceError::Conflict(format!("run {id} cannot be resumed: it kept no workspace; {rerun}")));
    }
    let spec: RunSpec = serde_json::from_value(run.request.clone())
        .map_err(|e| ServiceError::Internal(format!("run {id}'s stored request is unreadable: {e}")))?;
    svc.check_upload_kept(id, &spec).await
}

/// The newest of `ids` that is a resume.
async fn last_resume(svc: &Service, ids: &[String]) -> Option<String> {
    for id in ids.iter().rev() {
        if let Ok(Some(r)) = svc.store.get_run(id).await
            && r.resumed_from.is_some()
        {
            return Some(r.id);
        }
    }
    None
}

/// What a starting resume takes from its original: the reused steps, the workspace, and the run
/// variables to render with.
pub struct Resuming {
    /// The engine's side.
    pub resume: Resume,
    /// The workspace volume.
    pub workspace: String,
    /// `.Run.ID`.
    pub run_id: String,
    /// `.Run.Date`.
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    /// The original's record of it all (its task hash and commit, checked after the fetch).
    pub point: ResumePoint,
}

/// Reads what run `of` left for a resume, and pins `spec` to the commit it built, before the
/// context is fetched.
pub async fn load(
    svc: &Service,
    of: &ResumeOf,
    row: &RunRow,
    spec: &mut RunSpec,
) -> std::result::Result<Resuming, PrepareError> {
    let from = &of.run;
    let original =
        svc.store.get_run(from).await.map_err(|e| e.to_string())?.ok_or_else(|| {
            format!("run {from}, which this run resumes, has been deleted since; rerun the task instead")
        })?;
    let point = original.resume_state.clone().ok_or_else(|| format!("run {from} kept nothing to resume"))?;
    let workspace = point.workspace.clone().ok_or_else(|| format!("run {from} kept no workspace"))?;
    if let (Some(commit), true) = (&point.commit, spec.context.as_deref().is_some_and(|c| !c.starts_with("upload:"))) {
        // The same source: the commit it built, wherever its branch is now.
        let mut pinned = spec.checkout.clone().unwrap_or_default();
        pinned.commit = commit.clone();
        spec.checkout = Some(Checkout { commit: commit.clone(), ..pinned });
    }
    Ok(Resuming {
        resume: Resume { from_run: from.clone(), steps: point.steps.clone() },
        workspace,
        run_id: if of.new_id || point.run_id.is_empty() { row.id.clone() } else { point.run_id.clone() },
        date: point.date,
        point,
    })
}

/// After the fetch and before anything runs: the source and task file must be the original's,
/// and the workspace still there to take. Taking it is the last check, so that a refused resume
/// leaves the original resumable.
pub async fn confirm(
    svc: &Service,
    resuming: &Resuming,
    commit: Option<&str>,
    task_hash: &str,
) -> std::result::Result<(), PrepareError> {
    let from = &resuming.resume.from_run;
    let rerun = format!("rerun it instead: `drydock runs rerun {from}`");
    if let Some(was) = &resuming.point.commit
        && commit != Some(was.as_str())
    {
        return Err(format!(
            "cannot resume run {from}: the context moved (run {from} built commit {was}, the context now gives {}); {rerun}",
            commit.unwrap_or("no commit")
        )
        .into());
    }
    if !resuming.point.task_hash.is_empty() && resuming.point.task_hash != task_hash {
        return Err(format!(
            "cannot resume run {from}: its task file changed since it ran, so the steps it reused may not be the \
             ones this file describes; {rerun}"
        )
        .into());
    }
    match svc.store.take_workspace(from, &resuming.workspace).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "cannot resume run {from}: its workspace was taken by another resume, or removed after \
             --keep-failed-workspace; {rerun}"
        )
        .into()),
        Err(e) => Err(format!("cannot take run {from}'s workspace: {e}").into()),
    }
}

/// The hash a resume compares task files by.
pub fn task_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
