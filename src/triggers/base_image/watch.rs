//! The watcher: asks each distinct base image's registry for its tag's digest once per interval
//! (however many tasks build from it), rechecks at once when a registry notification names it,
//! and queues the dependents when a change has waited out its quiet period.
//!
//! Every schedule (`next_check`, the quiet period's `due`) is stored in `image_state` and
//! measured on the hub's clock, so a restart resumes where it stopped and tests move time by hand.

use super::change::{self, Dependents, Observed};
use super::refs;
use crate::daemon::Service;
use crate::registry::{Credential, Credentials, RegistryError};
use crate::store::{ImageState, StoreResult};
use crate::triggers::RegistryAccess;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the watcher re-reads the list of base images even when nothing is due, to pick up
/// images that new builds recorded. Real time, not the hub's clock: it is only a database read.
const RESCAN: Duration = Duration::from_secs(2);

/// The watcher loop.
pub async fn run(svc: Arc<Service>, registry: RegistryAccess, stop: CancellationToken) {
    let mut recheck = svc.triggers.take_recheck();
    let interval = svc.triggers.config.watch_interval.max(Duration::from_secs(1));
    loop {
        let next = match pass(&svc, &registry, None).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "base-image watcher pass failed; retrying");
                None
            }
        };
        let clock = svc.triggers.clock.clone();
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
                if let Err(e) = pass(&svc, &registry, Some(&image)).await {
                    tracing::warn!(image, error = %e, "recheck after a registry notification failed");
                }
            }
        }
    }
}

/// One pass: schedules new images, checks the due ones (and `now`, when the registry said it
/// changed), and fires changes whose quiet period is over. Returns the next moment something is
/// due.
pub async fn pass(
    svc: &Arc<Service>,
    registry: &RegistryAccess,
    now: Option<&str>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let interval = svc.triggers.config.watch_interval.max(Duration::from_secs(1));
    let images: Vec<String> =
        svc.store.base_images().await?.into_iter().filter(|i| refs::trackable(i).is_some()).collect();
    let mut states: HashMap<String, ImageState> =
        svc.store.image_states().await?.into_iter().map(|s| (s.image.clone(), s)).collect();
    let mut next: Option<DateTime<Utc>> = None;
    for image in images {
        let mut state = states.remove(&image).unwrap_or_else(|| ImageState::new(&image));
        let clock_now = svc.triggers.clock.now();
        let forced = now == Some(image.as_str());
        let due_check = state.next_check.is_some_and(|t| t <= clock_now);
        if state.next_check.is_none() && !forced {
            // A new image: spread first checks over the interval so that many new images do
            // not all hit their registries at once.
            state.next_check = Some(clock_now + offset(&image, interval, 1.0));
            svc.store.put_image_state(&state).await?;
        } else if due_check || forced {
            check(svc, registry, &mut state).await?;
        }
        fire_if_due(svc, &image, &mut state).await?;
        for t in [state.next_check, state.pending.as_ref().map(|p| p.due)].into_iter().flatten() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    }
    Ok(next)
}

/// Asks the registry and records the answer. A failure (server error, exhausted retries on 429,
/// timeout, refused credentials) is recorded as the image's `error` and never fires.
async fn check(svc: &Arc<Service>, registry: &RegistryAccess, state: &mut ImageState) -> StoreResult<()> {
    let interval = svc.triggers.config.watch_interval.max(Duration::from_secs(1));
    let Some((host, repository, tag)) = refs::trackable(&state.image) else { return Ok(()) };
    let deps = Dependents::load(svc, &state.image).await?;
    let credential = credential_for(svc, registry, &host, &deps);
    let answer = registry.client.manifest_digest(&host, &repository, &tag, credential.as_ref()).await;
    let now = svc.triggers.clock.now();
    state.next_check = Some(now + offset(&state.image, interval, 0.1) + chrono_of(interval.mul_f64(0.9)));
    match answer {
        Ok(answer) => {
            let used = deps.used_digest();
            let observed = change::observe(state, &answer.digest, used.as_deref(), now, deps.quiet_period());
            if observed != Observed::Unchanged {
                tracing::info!(image = %state.image, digest = %answer.digest, ?observed, "base image checked");
            }
        }
        Err(e) => {
            tracing::warn!(image = %state.image, error = %e, "base image check failed");
            if let RegistryError::RateLimited { retry_after: Some(wait) } = &e {
                state.next_check = Some(now + chrono_of(*wait).max(chrono_of(interval)));
            }
            state.checked_at = Some(now);
            state.error = Some(e.to_string());
        }
    }
    svc.store.put_image_state(state).await
}

/// Queues the dependents of a change whose quiet period is over, once.
async fn fire_if_due(svc: &Arc<Service>, image: &str, state: &mut ImageState) -> StoreResult<()> {
    let Some(change) = change::take_due(state, svc.triggers.clock.now()) else { return Ok(()) };
    // The state is written first: a crash in between loses at most runs whose keys would have
    // deduplicated anyway, instead of firing twice.
    svc.store.put_image_state(state).await?;
    let deps = Dependents::load(svc, image).await?;
    let queued =
        change::queue_dependents(svc, image, &deps, change.old.as_deref(), &change.new, None, &HashSet::new()).await;
    tracing::info!(image, digest = %change.new, runs = queued.len(), "base image change fired");
    Ok(())
}

/// The daemon-wide login for `host`, else the first login of a dependent task for it.
fn credential_for(svc: &Service, registry: &RegistryAccess, host: &str, deps: &Dependents) -> Option<Credential> {
    if let Ok(Some(c)) = registry.credentials.get(host) {
        return Some(c.clone());
    }
    let open = crate::daemon::spec::opener(&svc.cipher);
    // `Credentials` folds the spellings of a host (`https://…/`, Docker Hub's aliases); inserted
    // in reverse so that the first task's login wins.
    let mut logins = Credentials::new();
    for c in deps.tasks.values().flat_map(|(t, _)| t.credentials.iter()).collect::<Vec<_>>().into_iter().rev() {
        if let Ok(password) = open(&c.password) {
            logins.insert(&c.login_server, Credential::new(c.username.clone(), password));
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
