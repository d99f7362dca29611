//! Resuming a run that did not succeed: its workspace volume is kept, the steps that succeeded are
//! shown `Reused` (with their original timing and outputs) instead of running again, and only the
//! steps that failed or never ran start, in the workspace exactly as the original left it.
//!
//! What makes reuse safe is checked here, before anything runs: each reused step must render
//! exactly as it did (a `--set` that changes it would make its result stale), and the images it
//! built must still be on the engine (their tags are put back, in case another run moved them).
//! A detached step is never reused: its container (a database a later step talks to) went with
//! the original run, so it starts again.

use super::log::RunLog;
use super::step::BuildProduct;
use super::{Engine, Execution};
use crate::run::{BuiltImage, OutputImage, ResumePoint, RunRecord, StepMemo, StepStatus};
use crate::secrets::Masker;
use crate::taskfile::Step;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The run a request resumes, and what its steps left.
#[derive(Clone, Debug)]
pub struct Resume {
    /// Id of the run it resumes.
    pub from_run: String,
    /// Its succeeded steps by id. The workspace is the request's `workspace_volume`, which must
    /// exist: it is not created or seeded again.
    pub steps: BTreeMap<String, StepMemo>,
}

/// The fingerprint of a rendered step: SHA-256 of its JSON with the run's secrets masked, so that
/// a rotated secret does not count as a change, and no secret reaches the store even hashed.
pub fn fingerprint(step: &Step, masker: &Masker) -> String {
    let json = serde_json::to_string(step).unwrap_or_default();
    hex::encode(Sha256::digest(masker.mask(&json).as_bytes()))
}

/// Marks the steps of `req` that its resume reuses as `Reused` (records and pushed images carried
/// over) and returns which they are, by index. Fails, saying why and what to do instead, when a
/// step to reuse renders differently now or the images it built are gone.
pub async fn reuse(
    engine: &Engine,
    req: &Execution,
    record: &mut RunRecord,
    log: &RunLog,
) -> Result<Vec<bool>, String> {
    let mut reused = vec![false; req.task.steps.len()];
    let Some(resume) = &req.resume else { return Ok(reused) };
    let from = &resume.from_run;
    for (i, step) in req.task.steps.iter().enumerate() {
        // A detached step has no memo (see `point`): it starts again, for the steps after it.
        let Some(memo) = resume.steps.get(&step.id) else { continue };
        if fingerprint(step, log.masker()) != memo.fingerprint {
            return Err(format!(
                "step `{}` succeeded in run {from} but renders differently now (a --set or the values changed it), \
                 so its result cannot be reused; resume without that change, or rerun the whole task with \
                 `drydock runs rerun {from}`",
                step.id
            ));
        }
        for image in &memo.images {
            restore_tag(engine, image).await.map_err(|why| {
                format!(
                    "step `{}` of run {from} built {} ({}), {why}; rerun the task with `drydock runs rerun {from}`",
                    step.id, image.tag, image.id
                )
            })?;
        }
        let mut shown = memo.record.clone();
        shown.status = StepStatus::Reused;
        shown.needs = record.steps[i].needs.clone();
        record.steps[i] = shown;
        record.output_images.extend(memo.pushed.iter().cloned());
        reused[i] = true;
    }
    let names: Vec<&str> =
        req.task.steps.iter().zip(&reused).filter(|(_, r)| **r).map(|(s, _)| s.id.as_str()).collect();
    log.run_line(&format!(
        "Resuming run {from}: reusing {} step(s) that succeeded there ({}), in its workspace",
        names.len(),
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    ));
    Ok(reused)
}

/// Points `image.tag` at `image.id` again. The image must still be on the engine.
async fn restore_tag(engine: &Engine, image: &BuiltImage) -> Result<(), String> {
    let docker = engine.docker();
    match docker.inspect_image(&image.tag).await {
        Ok(info) if info.id == image.id => return Ok(()),
        _ => {}
    }
    if !docker.image_exists(&image.id).await.map_err(|e| e.to_string())? {
        return Err("and that image is no longer on the engine".into());
    }
    docker.tag_image(&image.id, &image.tag).await.map_err(|e| format!("and its tag cannot be restored: {e}"))
}

/// The memo of a step that succeeded in this run: its fingerprint, record, the images it built
/// (resolved to ids now), what it pushed and its dependency entries.
pub async fn memo_of(
    engine: &Engine,
    step: &Step,
    record: &crate::run::StepRecord,
    built: Option<&BuildProduct>,
    pushed: &[OutputImage],
    log: &RunLog,
) -> StepMemo {
    let mut images = Vec::new();
    let mut dependencies = Vec::new();
    if let Some(b) = built {
        for tag in &b.tags {
            if let Ok(info) = engine.docker().inspect_image(tag).await {
                images.push(BuiltImage { tag: tag.clone(), id: info.id });
            }
        }
        dependencies = super::deps::collect(engine, std::slice::from_ref(b), pushed, log).await;
    }
    StepMemo {
        fingerprint: fingerprint(step, log.masker()),
        record: record.clone(),
        images,
        pushed: pushed.to_vec(),
        dependencies,
    }
}

/// What a later resume of this run needs: the kept workspace and a memo per step that succeeded,
/// the reused ones carried over from the run it resumed.
pub async fn point(
    engine: &Engine,
    req: &Execution,
    record: &RunRecord,
    products: &BTreeMap<usize, (Option<BuildProduct>, Vec<OutputImage>)>,
    log: &RunLog,
) -> ResumePoint {
    let mut steps = BTreeMap::new();
    for (i, (step, rec)) in req.task.steps.iter().zip(&record.steps).enumerate() {
        let earlier = req.resume.as_ref().and_then(|r| r.steps.get(&step.id)).cloned();
        let memo = match rec.status {
            // Reused, or never started here (a refused resume, or a failure before it): the
            // earlier run's result still stands in the workspace.
            StepStatus::Reused | StepStatus::Pending | StepStatus::Skipped => earlier,
            StepStatus::Succeeded if !step.detach => {
                let (built, pushed) = products.get(&i).map(|(b, p)| (b.as_ref(), p.as_slice())).unwrap_or((None, &[]));
                Some(memo_of(engine, step, rec, built, pushed, log).await)
            }
            _ => None,
        };
        if let Some(m) = memo {
            steps.insert(step.id.clone(), m);
        }
    }
    ResumePoint { workspace: Some(req.workspace_volume.clone()), steps, ..ResumePoint::default() }
}

/// The dependency JSON of a resumed run that succeeded: the reused build steps' entries and the
/// new builds', in file order.
pub fn dependencies_in_order(
    req: &Execution,
    record: &RunRecord,
    new: BTreeMap<usize, Vec<serde_json::Value>>,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for (i, (step, rec)) in req.task.steps.iter().zip(&record.steps).enumerate() {
        if rec.status == StepStatus::Reused
            && let Some(m) = req.resume.as_ref().and_then(|r| r.steps.get(&step.id))
        {
            out.extend(m.dependencies.iter().cloned());
        } else if let Some(d) = new.get(&i) {
            out.extend(d.iter().cloned());
        }
    }
    out
}
