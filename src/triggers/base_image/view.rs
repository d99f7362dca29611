//! What `drydock task deps` and `drydock image list` show: the recorded images joined with the
//! watcher's state of each.

use super::change::watches;
use crate::api::{
    ImageCheck, ImageDependency, ImageRole, ImageUser, PendingImageChange, Task, TaskDependencies, WatchedImage,
};
use crate::daemon::{Service, ServiceError};
use crate::store::{ImageState, PendingChange};
use std::collections::{BTreeSet, HashMap};

fn check(state: &ImageState) -> ImageCheck {
    let pending = state.pending.as_ref().map(|p: &PendingChange| PendingImageChange {
        old_digest: p.old.clone(),
        new_digest: p.new.clone(),
        due: p.due,
    });
    ImageCheck {
        checked_at: state.checked_at,
        changed_at: state.changed_at,
        error: state.error.clone(),
        pending,
        next_check: state.next_check,
    }
}

/// A task's recorded images with the watcher's view of each, and the tasks building from what it
/// pushes.
pub async fn task_dependencies(svc: &Service, name: &str) -> Result<TaskDependencies, ServiceError> {
    let task = svc.get_task(name, false).await?;
    let mut images = Vec::new();
    let mut dependents = BTreeSet::new();
    for i in svc.store().task_images(name).await? {
        let state = svc.store().image_state(&i.image).await?.unwrap_or_else(|| ImageState::new(&i.image));
        if i.role == ImageRole::Output {
            for u in svc.store().image_users(&i.image).await? {
                if u.role != ImageRole::Output && u.task != name {
                    dependents.insert(u.task);
                }
            }
        }
        images.push(ImageDependency {
            watched: watches(&task, i.role) && super::refs::trackable(&i.image).is_some(),
            current_digest: state.pending.as_ref().map(|p| p.new.clone()).or(state.digest.clone()),
            check: check(&state),
            image: i.image,
            role: i.role,
            digest: i.digest,
            run_id: i.run_id,
            recorded_at: i.recorded_at,
        });
    }
    Ok(TaskDependencies { task: task.name, images, dependents: dependents.into_iter().collect() })
}

/// Every base image some task builds from, its users, and the watcher's state.
pub async fn watched_images(svc: &Service) -> Result<Vec<WatchedImage>, ServiceError> {
    let tasks: HashMap<String, Task> =
        svc.store().list_tasks().await?.into_iter().map(|t| (t.name.clone(), t)).collect();
    let states: HashMap<String, ImageState> =
        svc.store().image_states().await?.into_iter().map(|s| (s.image.clone(), s)).collect();
    let mut out = Vec::new();
    for image in svc.store().base_images().await? {
        let (outputs, bases): (Vec<_>, Vec<_>) =
            svc.store().image_users(&image).await?.into_iter().partition(|u| u.role == ImageRole::Output);
        let mut producers: Vec<String> = outputs.into_iter().map(|u| u.task).collect();
        producers.sort();
        producers.dedup();
        let users = bases
            .into_iter()
            .map(|u| ImageUser {
                watched: tasks.get(&u.task).is_some_and(|t| watches(t, u.role)),
                task: u.task,
                role: u.role,
                digest: u.digest,
            })
            .collect();
        let state = states.get(&image).cloned().unwrap_or_else(|| ImageState::new(&image));
        out.push(WatchedImage { image, users, producers, digest: state.digest.clone(), check: check(&state) });
    }
    Ok(out)
}
