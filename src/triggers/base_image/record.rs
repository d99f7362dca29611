//! After a run: what it built from and pushed becomes the task's record, and the tasks that
//! build from an image it pushed are queued at once (the cascade: base → mid → app, each run
//! queued by the push of the one before, with no polling in between).

use super::change::{self, Dependents};
use super::refs::{self, UsedImage};
use crate::api::{ImageRole, Trigger};
use crate::daemon::Service;
use crate::run::RunStatus;
use crate::store::{ImageState, RunRow, StoreResult, TaskImage};
use std::collections::HashSet;
use std::sync::Arc;

/// How far back a cascade chain is followed to find the tasks already in it. Longer chains are
/// not a loop drydock made (each link is one task) but are cut here anyway.
const MAX_CHAIN: usize = 64;

/// Records a finished run's images and queues dependents of what it pushed.
pub async fn run_finished(svc: &Arc<Service>, run_id: &str) -> StoreResult<()> {
    let Some(run) = svc.store().get_run(run_id).await? else { return Ok(()) };
    let Some(task) = run.task.clone() else { return Ok(()) };
    if run.status != RunStatus::Succeeded {
        return Ok(());
    }
    let used = refs::images_of_run(&run.dependencies, &run.output_images);
    let now = svc.clock().now();
    let rows: Vec<TaskImage> = used
        .iter()
        .map(|u| TaskImage {
            task: task.clone(),
            image: u.image.clone(),
            role: u.role,
            digest: u.digest.clone(),
            run_id: run.id.clone(),
            recorded_at: now,
        })
        .collect();
    // Runs may end out of order (a slow one queued first); what a task "uses" is what its newest
    // successful run used, so an older run ending late does not replace a newer run's record.
    if !recorded_by_newer_run(svc, &task, &run).await? {
        svc.store().record_task_images(&task, &rows).await?;
    }
    let pushed: Vec<&UsedImage> = used.iter().filter(|u| u.role == ImageRole::Output).collect();
    if pushed.is_empty() {
        return Ok(());
    }
    let chain = cascade_chain(svc, &run).await?;
    for out in pushed {
        let Some(digest) = &out.digest else { continue };
        let mut state = svc.store().image_state(&out.image).await?.unwrap_or_else(|| ImageState::new(&out.image));
        let before = state.digest.clone();
        change::pushed(&mut state, digest, now);
        svc.store().put_image_state(&state).await?;
        let deps = Dependents::load(svc, &out.image).await?;
        let old = before.filter(|b| b != digest);
        change::queue_dependents(svc, &out.image, &deps, old.as_deref(), digest, Some(&run.id), &chain).await;
    }
    Ok(())
}

/// Whether the task's recorded images come from a run queued after `run`.
async fn recorded_by_newer_run(svc: &Service, task: &str, run: &RunRow) -> StoreResult<bool> {
    let recorded = svc.store().task_images(task).await?;
    let Some(by) = recorded.iter().map(|i| &i.run_id).find(|id| **id != run.id) else { return Ok(false) };
    Ok(svc.store().get_run(by).await?.is_some_and(|r| r.seq > run.seq))
}

/// The tasks of the cascade that led to `run`, `run`'s own task included: none of them may be
/// queued again by it, or a task whose output is (directly or through others) its own base
/// would rebuild forever.
async fn cascade_chain(svc: &Service, run: &RunRow) -> StoreResult<HashSet<String>> {
    let mut chain: HashSet<String> = run.task.iter().cloned().collect();
    let mut trigger = run.trigger.clone();
    for _ in 0..MAX_CHAIN {
        let Trigger::BaseImage { cascade_from: Some(parent), .. } = &trigger else { break };
        let Some(parent) = svc.store().get_run(parent).await? else { break };
        chain.extend(parent.task.clone());
        trigger = parent.trigger;
    }
    Ok(chain)
}
