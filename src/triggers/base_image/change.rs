//! Digest changes: the quiet-period bookkeeping (pure, on `ImageState`) and queuing the tasks that
//! build from a changed image.

use crate::api::{BaseImageTriggerType, ImageRole, Task, TaskStatus, Trigger};
use crate::daemon::Service;
use crate::store::{ImageState, PendingChange, StoreResult, TaskImage};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// What a successful registry answer did to an image's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Nothing was known; the digest is now the baseline (never fires).
    Baseline,
    /// The digest is the one already acted on (or already pending).
    Unchanged,
    /// A change started or extended the quiet period.
    Pending,
    /// The tag went back to the digest acted on before the quiet period ended: nothing to do.
    Reverted,
}

/// Applies a registry answer `digest` at `now`. `used` is the digest the dependents' last builds
/// used, the baseline when the watcher has never seen the image: comparing with what was
/// actually built (rather than recording the first answer silently) means a base that moved
/// between a build and the first check still triggers.
pub fn observe(
    state: &mut ImageState,
    digest: &str,
    used: Option<&str>,
    now: DateTime<Utc>,
    quiet: Duration,
) -> Observed {
    state.checked_at = Some(now);
    state.error = None;
    if state.digest.is_none() && state.pending.is_none() {
        match used {
            Some(u) => state.digest = Some(u.to_string()),
            None => {
                state.digest = Some(digest.to_string());
                return Observed::Baseline;
            }
        }
    }
    let acted_on = state.digest.clone();
    let latest = state.pending.as_ref().map(|p| p.new.clone()).or_else(|| acted_on.clone());
    if latest.as_deref() == Some(digest) {
        return Observed::Unchanged;
    }
    if acted_on.as_deref() == Some(digest) {
        state.pending = None;
        state.changed_at = Some(now);
        return Observed::Reverted;
    }
    let old = state.pending.as_ref().map_or(acted_on, |p| p.old.clone());
    let due = now + chrono::Duration::from_std(quiet).unwrap_or_default();
    state.pending = Some(PendingChange { old, new: digest.to_string(), due });
    state.changed_at = Some(now);
    Observed::Pending
}

/// The pending change, if its quiet period is over; it is then taken out of the state and the
/// new digest becomes the one acted on.
pub fn take_due(state: &mut ImageState, now: DateTime<Utc>) -> Option<PendingChange> {
    if state.pending.as_ref().is_none_or(|p| p.due > now) {
        return None;
    }
    let change = state.pending.take()?;
    state.digest = Some(change.new.clone());
    Some(change)
}

/// Records that drydock itself pushed `digest` under `image`: the watcher must not fire for it
/// again, and a pending change to the same digest is settled.
pub fn pushed(state: &mut ImageState, digest: &str, now: DateTime<Utc>) {
    if state.digest.as_deref() != Some(digest) {
        state.changed_at = Some(now);
    }
    state.digest = Some(digest.to_string());
    if state.pending.as_ref().is_some_and(|p| p.new == digest) {
        state.pending = None;
    }
}

/// The tasks that build from an image, with their settings.
pub struct Dependents {
    /// Per task: its settings and its uses of the image (runtime and/or build-time).
    pub tasks: BTreeMap<String, (Task, Vec<TaskImage>)>,
}

impl Dependents {
    /// Loads the users of `image`, each task read on its own (for one image at a time).
    pub async fn load(svc: &Service, image: &str) -> StoreResult<Dependents> {
        Self::load_with(svc, image, None).await
    }

    /// Loads the users of `image`, taking the tasks from `known` (all tasks, read once for a
    /// whole watcher pass) when given.
    pub async fn load_with(
        svc: &Service,
        image: &str,
        known: Option<&HashMap<String, Task>>,
    ) -> StoreResult<Dependents> {
        let mut tasks: BTreeMap<String, (Task, Vec<TaskImage>)> = BTreeMap::new();
        for u in svc.store().image_users(image).await? {
            if u.role == ImageRole::Output {
                continue;
            }
            if let Some((_, uses)) = tasks.get_mut(&u.task) {
                uses.push(u);
                continue;
            }
            let task = match known {
                Some(known) => known.get(&u.task).cloned(),
                None => svc.store().get_task(&u.task).await?,
            };
            if let Some(task) = task {
                tasks.insert(u.task.clone(), (task, vec![u]));
            }
        }
        Ok(Dependents { tasks })
    }

    /// The uses of the image that trigger their task.
    pub fn watched(&self) -> impl Iterator<Item = (&Task, &TaskImage)> {
        self.tasks.values().flat_map(|(t, uses)| uses.iter().filter(|u| watches(t, u.role)).map(move |u| (t, u)))
    }

    /// The longest quiet period of the tasks that watch the image: a burst of changes must fire
    /// once for every one of them.
    pub fn quiet_period(&self) -> Duration {
        Duration::from_secs(self.watched().map(|(t, _)| t.triggers.base_image.quiet_period).max().unwrap_or(0))
    }

    /// The digest the newest build that used the image used.
    pub fn used_digest(&self) -> Option<String> {
        self.tasks
            .values()
            .flat_map(|(_, uses)| uses.iter())
            .filter(|u| u.digest.is_some())
            .max_by_key(|u| u.recorded_at)
            .and_then(|u| u.digest.clone())
    }
}

/// Whether a change of an image `task` uses in `role` triggers it.
pub fn watches(task: &Task, role: ImageRole) -> bool {
    let t = &task.triggers.base_image;
    task.status == TaskStatus::Enabled
        && t.enabled
        && match role {
            ImageRole::Runtime => true,
            ImageRole::Buildtime => t.trigger_type == BaseImageTriggerType::All,
            ImageRole::Output => false,
        }
}

/// The idempotency key of a base-image run.
pub fn dedup_key(task: &str, image: &str, digest: &str) -> String {
    format!("image:{task}:{image}:{digest}")
}

/// Queues every task that watches `image` and has not built from `new` yet, except `skip` (the
/// tasks of a cascade chain, so that a task pushing its own base cannot loop). Returns the
/// queued run ids. A task that cannot be queued is logged and skipped: one broken task must not
/// stop the others.
pub async fn queue_dependents(
    svc: &Arc<Service>,
    image: &str,
    deps: &Dependents,
    old: Option<&str>,
    new: &str,
    cascade_from: Option<&str>,
    skip: &HashSet<String>,
) -> Vec<String> {
    let mut queued = Vec::new();
    for (name, (task, uses)) in &deps.tasks {
        if skip.contains(name) {
            tracing::debug!(task = %name, image, "not cascading into a task of the same chain");
            continue;
        }
        let watched: Vec<&TaskImage> = uses.iter().filter(|u| watches(task, u.role)).collect();
        if watched.is_empty() || watched.iter().all(|u| u.digest.as_deref() == Some(new)) {
            continue;
        }
        let used = watched.iter().find_map(|u| u.digest.clone());
        let trigger = Trigger::BaseImage {
            image: image.to_string(),
            old_digest: old.map(str::to_string).or(used),
            new_digest: new.to_string(),
            cascade_from: cascade_from.map(str::to_string),
        };
        let key = dedup_key(name, image, new);
        match svc.run_task(name, Default::default(), trigger, Some(key)).await {
            Ok(run) => {
                tracing::info!(task = %name, image, digest = new, run = %run.id, "base image changed: run queued");
                queued.push(run.id);
            }
            Err(e) => tracing::warn!(task = %name, image, error = %e, "could not queue a base-image run"),
        }
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }
    const Q: Duration = Duration::from_secs(10);

    #[test]
    fn the_first_answer_is_a_baseline_unless_a_build_used_another_digest() {
        let mut s = ImageState::new("r/a:1");
        assert_eq!(observe(&mut s, "A", None, t(0), Q), Observed::Baseline);
        assert_eq!(s.digest.as_deref(), Some("A"));
        assert!(s.pending.is_none());

        let mut s = ImageState::new("r/a:1");
        assert_eq!(observe(&mut s, "B", Some("A"), t(0), Q), Observed::Pending);
        assert_eq!(s.pending, Some(PendingChange { old: Some("A".into()), new: "B".into(), due: t(10) }));

        let mut s = ImageState::new("r/a:1");
        assert_eq!(observe(&mut s, "A", Some("A"), t(0), Q), Observed::Unchanged);
    }

    #[test]
    fn a_burst_within_the_quiet_period_fires_once_with_first_old_and_last_new() {
        let mut s = ImageState { digest: Some("A".into()), ..ImageState::new("r/a:1") };
        assert_eq!(observe(&mut s, "B", None, t(0), Q), Observed::Pending);
        assert_eq!(take_due(&mut s, t(5)), None);
        assert_eq!(observe(&mut s, "C", None, t(6), Q), Observed::Pending);
        assert_eq!(observe(&mut s, "C", None, t(8), Q), Observed::Unchanged);
        // The second change moved the due time.
        assert_eq!(take_due(&mut s, t(10)), None);
        let fired = take_due(&mut s, t(16)).unwrap();
        assert_eq!((fired.old.as_deref(), fired.new.as_str()), (Some("A"), "C"));
        assert_eq!(s.digest.as_deref(), Some("C"));
        assert_eq!(take_due(&mut s, t(100)), None, "fires once");
        assert_eq!(observe(&mut s, "C", None, t(200), Q), Observed::Unchanged);
    }

    #[test]
    fn a_change_undone_within_the_quiet_period_fires_nothing() {
        let mut s = ImageState { digest: Some("A".into()), ..ImageState::new("r/a:1") };
        observe(&mut s, "B", None, t(0), Q);
        assert_eq!(observe(&mut s, "A", None, t(3), Q), Observed::Reverted);
        assert_eq!(take_due(&mut s, t(100)), None);
    }

    #[test]
    fn a_push_by_drydock_settles_the_state() {
        let mut s = ImageState { digest: Some("A".into()), ..ImageState::new("r/a:1") };
        observe(&mut s, "B", None, t(0), Q);
        pushed(&mut s, "B", t(1));
        assert_eq!((s.digest.as_deref(), s.pending.as_ref()), (Some("B"), None));
        assert_eq!(observe(&mut s, "B", None, t(2), Q), Observed::Unchanged);
    }

    #[test]
    fn trigger_types_choose_the_roles() {
        let mut task: Task = serde_json::from_value(serde_json::json!({
            "name": "app", "step": {"kind": "cmd", "cmd": "x"}
        }))
        .unwrap();
        assert!(watches(&task, ImageRole::Runtime));
        assert!(!watches(&task, ImageRole::Buildtime));
        assert!(!watches(&task, ImageRole::Output));
        task.triggers.base_image.trigger_type = BaseImageTriggerType::All;
        assert!(watches(&task, ImageRole::Buildtime));
        task.triggers.base_image.enabled = false;
        assert!(!watches(&task, ImageRole::Runtime));
        task.triggers.base_image.enabled = true;
        task.status = TaskStatus::Disabled;
        assert!(!watches(&task, ImageRole::Runtime));
    }
}
