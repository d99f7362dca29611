//! The watcher: asks each distinct base image's registry for its tag's digest once per interval
//! (however many tasks build from it), rechecks at once when a registry notification names it,
//! and queues the dependents when a change has waited out its quiet period.
//!
//! Every schedule (`next_check`, the quiet period's `due`) is stored in `image_state` and
//! measured on the hub's clock, so a restart resumes where it stopped and tests move time by hand.

use super::change::{self, Dependents, Observed};
use super::refs;
use crate::api::Task;
use crate::daemon::Service;
use crate::registry::{Credentials, Login, RegistryError};
use crate::store::{ImageState, StoreResult};
use crate::triggers::{Hub, RegistryAccess};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the watcher re-reads the list of base images even when nothing is due, to pick up
/// images that new builds recorded. Real time, not the hub's clock: it is only a database read.
const RESCAN: Duration = Duration::from_secs(2);

/// The watcher loop (while this node leads the watcher role).
pub async fn run(svc: Arc<Service>, hub: Arc<Hub>, registry: RegistryAccess, stop: CancellationToken) {
    let mut recheck = hub.take_recheck();
    let interval = hub.config.watch_interval.max(Duration::from_secs(1));
    watch(&svc, &registry, interval, &stop, &mut recheck).await;
    if let Some(rx) = recheck {
        hub.return_recheck(rx);
    }
}

async fn watch(
    svc: &Arc<Service>,
    registry: &RegistryAccess,
    interval: Duration,
    stop: &CancellationToken,
    recheck: &mut Option<tokio::sync::mpsc::UnboundedReceiver<String>>,
) {
    loop {
        let next = match pass(svc, registry, interval, None).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "base-image watcher pass failed; retrying");
                None
            }
        };
        let clock = svc.clock().clone();
        let wake_at = next.unwrap_or_else(|| clock.now() + chrono::Duration::from_std(interval).unwrap_or_default());
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = clock.sleep_until(wake_at) => {}
            _ = tokio::time::sleep(RESCAN) => {}
            Some(image) = async {
                match recheck.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = recheck_until_seen(svc, registry, interval, &image) => {}
                }
            }
        }
    }
}

/// Waits between rechecks of a notified image whose registry still answers the old digest.
const RECHECK_DELAYS: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Rechecks a notified image (`image@digest`, the digest the notification named) until the
/// registry answers that digest or the retries are used up. A registry sends its push event
/// before it moves the tag, so the first answer can still be the old digest; the digest that
/// counts is always the registry's answer.
async fn recheck_until_seen(svc: &Arc<Service>, registry: &RegistryAccess, interval: Duration, hint: &str) {
    let (image, digest) = match hint.split_once('@') {
        Some((image, digest)) => (image, Some(digest)),
        None => (hint, None),
    };
    for delay in RECHECK_DELAYS {
        tokio::time::sleep(delay).await;
        if let Err(e) = pass(svc, registry, interval, Some(image)).await {
            tracing::warn!(image, error = %e, "recheck after a registry notification failed");
            continue;
        }
        let Some(digest) = digest else { return };
        let seen = match svc.store().image_state(image).await {
            Ok(Some(s)) => s.digest.as_deref() == Some(digest) || s.pending.is_some_and(|p| p.new == digest),
            _ => false,
        };
        if seen {
            return;
        }
    }
    tracing::info!(image, "the registry never answered the notified digest; the regular checks go on");
}

/// Checks run at once in one pass: a registry that hangs until its timeout holds up only its
/// own images (each registry host also has its own rate limit in the client).
const PARALLEL_CHECKS: usize = 8;

/// One pass: schedules new images, checks the due ones (and `now`, when the registry said it
/// changed), and fires changes whose quiet period is over. Returns the next moment something is
/// due.
pub async fn pass(
    svc: &Arc<Service>,
    registry: &RegistryAccess,
    interval: Duration,
    now: Option<&str>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let images: Vec<String> =
        svc.store().base_images().await?.into_iter().filter(|i| refs::trackable(i).is_some()).collect();
    let mut states: HashMap<String, ImageState> =
        svc.store().image_states().await?.into_iter().map(|s| (s.image.clone(), s)).collect();
    let clock_now = svc.clock().now();
    let mut work = Vec::new();
    let mut next: Option<DateTime<Utc>> = None;
    for image in images {
        let mut state = states.remove(&image).unwrap_or_else(|| ImageState::new(&image));
        let forced = now == Some(image.as_str());
        if state.next_check.is_none() && !forced {
            // A new image: spread first checks over the interval so that many new images do
            // not all hit their registries at once.
            state.next_check = Some(clock_now + offset(&image, interval, 1.0));
            svc.store().put_image_state(&state).await?;
        }
        let due_check = forced || state.next_check.is_some_and(|t| t <= clock_now);
        let due_fire = state.pending.as_ref().is_some_and(|p| p.due <= clock_now);
        if due_check || due_fire {
            work.push((image, due_check));
        } else {
            next = earliest(next, &state);
        }
    }
    if work.is_empty() {
        return Ok(next);
    }
    // One read of every task for the whole pass instead of one per user of each image.
    let tasks: HashMap<String, Task> =
        svc.store().list_tasks().await?.into_iter().map(|t| (t.name.clone(), t)).collect();
    let tasks = &tasks;
    let mut results = futures_util::stream::iter(work)
        .map(|(image, due_check)| async move {
            if due_check {
                check(svc, registry, interval, &image, tasks).await?;
            }
            fire_if_due(svc, &image, tasks).await
        })
        .buffer_unordered(PARALLEL_CHECKS);
    while let Some(state) = results.next().await {
        next = earliest(next, &state?);
    }
    Ok(next)
}

fn earliest(next: Option<DateTime<Utc>>, state: &ImageState) -> Option<DateTime<Utc>> {
    [state.next_check, state.pending.as_ref().map(|p| p.due)]
        .into_iter()
        .flatten()
        .fold(next, |n, t| Some(n.map_or(t, |n| n.min(t))))
}

/// Asks the registry and records the answer. A failure (server error, exhausted retries on 429,
/// timeout, refused credentials) is recorded as the image's `error` and never fires.
async fn check(
    svc: &Arc<Service>,
    registry: &RegistryAccess,
    interval: Duration,
    image: &str,
    tasks: &HashMap<String, Task>,
) -> StoreResult<()> {
    let Some((host, repository, tag)) = refs::trackable(image) else { return Ok(()) };
    let deps = Dependents::load_with(svc, image, Some(tasks)).await?;
    let credential = credential_for(svc, registry, &host, &deps);
    let answer = registry.client.manifest_digest(&host, &repository, &tag, credential.as_ref()).await;
    let now = svc.clock().now();
    // Read after the answer: a cascade may have recorded a push while the request was out.
    let mut state = svc.store().image_state(image).await?.unwrap_or_else(|| ImageState::new(image));
    state.next_check = Some(now + offset(image, interval, 0.1) + chrono_of(interval.mul_f64(0.9)));
    match answer {
        Ok(answer) => {
            let used = deps.used_digest();
            let observed = change::observe(&mut state, &answer.digest, used.as_deref(), now, deps.quiet_period());
            // A change is counted when it starts (or extends) a quiet period; a baseline or a revert is not.
            svc.metrics().base_image_checked(if observed == Observed::Pending { "changed" } else { "unchanged" });
            if observed != Observed::Unchanged {
                tracing::info!(image, digest = %answer.digest, ?observed, "base image checked");
            }
        }
        Err(e) => {
            // Said once per distinct failure: an image that can never be checked (imported offline,
            // a registry out of reach) would otherwise warn every interval. `image list` shows it.
            let message = e.to_string();
            if state.error.as_deref() == Some(message.as_str()) {
                tracing::debug!(image, error = %e, "base image check failed again");
            } else {
                tracing::warn!(image, error = %e, "base image check failed; `drydock image list` shows it until it works");
            }
            svc.metrics().base_image_checked("error");
            svc.metrics().registry_error(e.kind());
            if let RegistryError::RateLimited { retry_after: Some(wait) } = &e {
                state.next_check = Some(now + chrono_of(*wait).max(chrono_of(interval)));
            }
            state.checked_at = Some(now);
            state.error = Some(message);
        }
    }
    svc.store().put_image_state(&state).await
}

/// Queues the dependents of a change whose quiet period is over, once; returns the image's
/// state as it is now.
async fn fire_if_due(svc: &Arc<Service>, image: &str, tasks: &HashMap<String, Task>) -> StoreResult<ImageState> {
    let mut state = svc.store().image_state(image).await?.unwrap_or_else(|| ImageState::new(image));
    let Some(change) = change::take_due(&mut state, svc.clock().now()) else { return Ok(state) };
    // Queued before the state is written: after a crash in between, the change fires again
    // and the runs' idempotency keys make it queue nothing twice.
    let deps = Dependents::load_with(svc, image, Some(tasks)).await?;
    let queued =
        change::queue_dependents(svc, image, &deps, change.old.as_deref(), &change.new, None, &HashSet::new()).await;
    svc.store().put_image_state(&state).await?;
    tracing::info!(image, digest = %change.new, runs = queued.len(), "base image change fired");
    Ok(state)
}

/// The daemon-wide login for `host`, else the first login of a dependent task for it.
fn credential_for(svc: &Service, registry: &RegistryAccess, host: &str, deps: &Dependents) -> Option<Login> {
    if let Ok(Some(c)) = registry.credentials.get(host) {
        return Some(c.clone());
    }
    // `Credentials` folds the spellings of a host (`https://…/`, Docker Hub's aliases); inserted
    // in reverse so that the first task's login wins.
    let mut logins = Credentials::new();
    for c in deps.tasks.values().flat_map(|(t, _)| t.credentials.iter()).collect::<Vec<_>>().into_iter().rev() {
        if let Ok(password) = svc.unseal(&c.password) {
            logins.insert(&c.login_server, Login::new(c.username.clone(), password));
        }
    }
    logins.get(host).ok().flatten().cloned()
}

/// A random part of `share` × `interval`: the jitter that keeps images apart. std's randomly
/// keyed hasher stands in for a random number generator (spread is all that is needed).
fn offset(image: &str, interval: Duration, share: f64) -> chrono::Duration {
    let fraction = (std::hash::RandomState::new().hash_one(image) >> 11) as f64 / (1u64 << 53) as f64;
    chrono_of(interval.mul_f64(share * fraction))
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}
