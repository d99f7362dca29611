//! The git poller: for tasks whose source trigger has a `poll_interval`, lists the
//! repository's refs every interval (jittered, so many tasks do not poll in step) and queues a
//! run for each tracked ref whose commit changed. The first look at a repository only records
//! its heads. Runs carry the key a webhook for the same commit would, so a push reported by
//! both queues one run. Every `RESCAN` the loop also takes over deliveries another node stored
//! but did not process (it died in between).

use super::event::{GitEvent, is_zero_commit};
use super::{decide, git_context, queue};
use crate::api::{SourceEvent, Task};
use crate::context::git::{GitSpec, RemoteHeads, remote_heads};
use crate::daemon::Service;
use crate::daemon::runs::Admission;
use crate::repository::normalize as normalize_repository;
use crate::secrets::Secret;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the task list is read again (new or changed polling tasks are picked up then).
const RESCAN: Duration = Duration::from_secs(30);

/// One repository polled for some tasks.
struct Target {
    /// The URL to list (the first polling task's context URL).
    url: String,
    /// That task's git token, for private repositories.
    token: Option<String>,
    /// The shortest interval among the tasks.
    interval: Duration,
    /// The tasks polling it (secrets opened).
    tasks: Vec<Task>,
}

/// Polls until `stop`.
pub async fn run(svc: Arc<Service>, stop: CancellationToken) {
    let clock = svc.clock().clone();
    let mut due: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut failing: HashMap<String, bool> = HashMap::new();
    let jitter = std::collections::hash_map::RandomState::new();
    let mut swept = clock.now();
    loop {
        let now = clock.now();
        if now - swept >= chrono::Duration::from_std(RESCAN).unwrap_or_default() {
            swept = now;
            let stale = chrono::Duration::from_std(super::STALE_DELIVERY).unwrap_or_default();
            super::recover(&svc, Some(now - stale)).await;
        }
        let targets = targets(&svc).await;
        due.retain(|k, _| targets.contains_key(k));
        for (key, target) in &targets {
            // A repository seen for the first time is looked at now (which records only).
            let at = due.entry(key.clone()).or_insert(now);
            if *at > now {
                continue;
            }
            let ok = poll(&svc, key, target).await;
            // A repository that recovers gets its kept error cleared.
            let was_failing = failing.insert(key.clone(), !ok).unwrap_or(false);
            if ok && was_failing {
                let _ = crate::store::facts::set_poll_error(svc.store().as_ref(), key, None).await;
            }
            // ±10 %, so tasks created together do not poll together forever.
            let spread = (jitter.hash_one((key, now.timestamp_millis())) % 2001) as f64 / 10_000.0 + 0.9;
            let next = target.interval.mul_f64(spread);
            *at = now + chrono::Duration::from_std(next).unwrap_or(chrono::Duration::seconds(60));
        }
        let rescan = now + chrono::Duration::from_std(RESCAN).unwrap_or_default();
        let next = due.values().copied().min().map_or(rescan, |d| d.min(rescan));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = clock.sleep_until(next) => {}
        }
    }
}

/// The repositories to poll, by normalised URL.
async fn targets(svc: &Service) -> BTreeMap<String, Target> {
    let tasks = match svc.store().list_tasks().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "the git poller could not list tasks");
            return BTreeMap::new();
        }
    };
    let mut out: BTreeMap<String, Target> = BTreeMap::new();
    for mut task in tasks {
        let Some(secs) = task.triggers.source.poll_interval.filter(|s| *s > 0) else { continue };
        if !task.triggers.source.enabled {
            continue;
        }
        let Some(ctx) = git_context(&task) else { continue };
        let name = task.name.clone();
        task = match svc.unseal_task(task) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(task = %name, error = %e, "the task's secrets cannot be decrypted; not polling it");
                continue;
            }
        };
        let interval = Duration::from_secs(secs);
        let target = out.entry(ctx.key).or_insert_with(|| Target {
            url: ctx.url.clone(),
            token: task.git_token.clone(),
            interval,
            tasks: Vec::new(),
        });
        target.interval = target.interval.min(interval);
        target.tasks.push(task);
    }
    out
}

/// Looks at one repository; whether the look worked.
async fn poll(svc: &Arc<Service>, key: &str, target: &Target) -> bool {
    let spec = GitSpec {
        url: target.url.clone(),
        reference: None,
        subdir: None,
        token: target.token.clone().map(Secret::new),
        pull_ref: None,
    };
    let listed = tokio::task::spawn_blocking(move || remote_heads(&spec)).await;
    let heads = match listed {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            record_error(svc, key, &e.to_string()).await;
            return false;
        }
        Err(e) => {
            record_error(svc, key, &format!("listing stopped: {e}")).await;
            return false;
        }
    };
    let stored = match svc.store().source_heads(key).await {
        Ok(s) => s,
        Err(e) => {
            record_error(svc, key, &e.to_string()).await;
            return false;
        }
    };
    let first_look = stored.is_empty();
    let default_branch =
        heads.default_branch.as_deref().and_then(|d| d.strip_prefix("refs/heads/")).map(str::to_string);
    for (reference, commit) in tracked_refs(&heads) {
        if stored.get(&reference) == Some(&commit) {
            continue;
        }
        if !first_look && !fire(svc, target, &reference, &commit, default_branch.clone()).await {
            // Not recorded: the next look tries again.
            continue;
        }
        if let Err(e) = svc.store().put_source_head(key, &reference, &commit).await {
            tracing::warn!(repository = %key, error = %e, "recording a polled head failed");
        }
    }
    true
}

/// Branches and tags with their commits (annotated tags peeled).
fn tracked_refs(heads: &RemoteHeads) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, oid) in &heads.refs {
        if let Some(tag) = name.strip_suffix("^{}") {
            out.insert(tag.to_string(), oid.clone());
        } else if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            out.entry(name.clone()).or_insert_with(|| oid.clone());
        }
    }
    out
}

/// Queues the runs a changed ref calls for; whether nothing went wrong.
async fn fire(
    svc: &Arc<Service>,
    target: &Target,
    reference: &str,
    commit: &str,
    default_branch: Option<String>,
) -> bool {
    let Ok((kind, name)) = super::event::split_ref(reference) else { return true };
    if is_zero_commit(commit) {
        return true;
    }
    let event = GitEvent {
        kind,
        branch: (kind == SourceEvent::Commit).then(|| name.clone()),
        tag: (kind == SourceEvent::Tag).then_some(name),
        head_branch: None,
        pull_request: None,
        commit: commit.to_string(),
        // Run records are shown to API users: never the credentials a context URL may carry.
        repository: crate::context::error::redact_url(&target.url),
        repository_urls: Vec::new(),
        default_branch,
        // Listing refs says nothing about files: path filters do not hold polled commits back.
        changed_files: None,
        deleted: false,
        fork: None,
        author_trusted: false,
    };
    let mut ok = true;
    for task in &target.tasks {
        if decide(task, &event).is_err() {
            continue;
        }
        match queue(svc, &task.name, "poll", None, &event, Admission::Trusted).await {
            Ok(run) => tracing::info!(task = %task.name, run = %run, reference, commit, "polling found a new commit"),
            Err(crate::daemon::ServiceError::Conflict(_)) => {}
            Err(e) => {
                tracing::warn!(task = %task.name, error = %e, "queueing a polled commit failed; retrying at the next look");
                ok = false;
            }
        }
    }
    ok
}

async fn record_error(svc: &Service, key: &str, error: &str) {
    tracing::warn!(repository = %key, error, "polling the repository failed");
    let failure = crate::store::facts::PollError { at: svc.clock().now(), error: error.to_string() };
    if let Err(e) = crate::store::facts::set_poll_error(svc.store().as_ref(), key, Some(&failure)).await {
        tracing::warn!(error = %e, "recording a poll error failed");
    }
}

/// The repository key polled heads are stored under for a task context URL.
pub fn heads_key(url: &str) -> String {
    normalize_repository(url)
}
