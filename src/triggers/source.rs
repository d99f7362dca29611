//! Git source triggers: webhook receivers (GitHub, GitLab, Gitea/Forgejo, generic HMAC; each
//! provider's headers, signature and payloads in `provider`) and the poller that catches pushes
//! no webhook reported.
//!
//! A delivery goes: payload read → tasks building its repository found → signature checked
//! with each one's webhook secret → stored in the inbox (`received`) → runs queued → outcome
//! recorded. Storing comes before any 2xx answer, so a crash between storing and queueing is
//! repaired at start-up (`run` re-processes `received` deliveries). Runs carry the key
//! `src:<task>:<ref>:<commit>`: a redelivery, a second delivery of the same push, or the poller
//! seeing the same commit queue nothing new.

pub mod event;
mod generic;
mod gitea;
mod github;
mod gitlab;
pub mod poll;
pub mod provider;
pub mod signature;

pub use provider::Provider;

use crate::api::{Delivery, DeliveryOutcome, ForkPolicy, SourceEvent, Task, TaskStatus, Trigger};
use crate::daemon::runs::Admission;
use crate::daemon::{Service, ServiceError};
use crate::glob::Filter;
use crate::repository::{GitContext, normalize as normalize_repository};
use event::{GitEvent, Parsed};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A webhook request, as the HTTP layer hands it over.
#[derive(Debug)]
pub struct Incoming {
    /// Sender.
    pub provider: &'static dyn Provider,
    /// The event header's value.
    pub event: Option<String>,
    /// The signature or token header's value.
    pub signature: Option<String>,
    /// The delivery id header's value.
    pub delivery_id: Option<String>,
    /// The task named in the path (a provider that [`Provider::names_its_task`]).
    pub task: Option<String>,
    /// The raw body (signatures are over these bytes).
    pub body: bytes::Bytes,
}

impl Incoming {
    /// A delivery whose headers are read with `header` (by name, case-insensitive), each from the
    /// first of the provider's header names that is present.
    pub fn new(
        provider: &'static dyn Provider,
        header: impl Fn(&str) -> Option<String>,
        task: Option<String>,
        body: bytes::Bytes,
    ) -> Incoming {
        let first = |names: &[&str]| names.iter().find_map(|n| header(n));
        Incoming {
            provider,
            event: first(provider.event_headers()),
            signature: first(provider.signature_headers()),
            delivery_id: first(provider.delivery_headers()),
            task: task.filter(|_| provider.names_its_task()),
            body,
        }
    }
}

/// What the receiver answers.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// A signed ping: the hook is set up right.
    Pong,
    /// The request is malformed.
    BadRequest(String),
    /// Refused before any task's secret verified it: an unknown task, an unknown repository and a
    /// bad or missing signature all get this one answer ([`REFUSED`]), so that a stranger learns
    /// nothing about tasks or repositories; the reason is in the deliveries log.
    Refused,
    /// A signed delivery for the generic receiver that cannot start anything (its task has no git
    /// context, or builds another repository); the sender proved it holds the secret.
    NotFound(String),
    /// A delivery id seen before: its stored outcome, nothing queued.
    Redelivered(Delivery),
    /// Processed: queued runs or ignored, with per-task reasons.
    Handled(Handled),
    /// The delivery could not be stored or processed; the sender should retry.
    Unavailable(String),
}

/// The outcome of processing one delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handled {
    /// Queued, ignored or failed.
    pub outcome: DeliveryOutcome,
    /// All reasons in one line (what is stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why each task that did not run did not.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
    /// Runs queued (or found queued already for the same commit).
    pub runs: Vec<String>,
}

/// What the inbox keeps of a delivery (its `event`): enough to process it again after a crash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The tasks whose webhook secret the delivery was signed with.
    pub tasks: Vec<String>,
    /// The event, when it is one that can start runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<GitEvent>,
    /// Why it cannot start runs, when it cannot (a closed pull request, an issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// Webhook bodies larger than this are refused (GitHub caps payloads at 25 MB, but a push
/// payload that large lists thousands of commits no filter needs).
pub const MAX_HOOK_BODY: usize = 5 << 20;

/// The task's git context, if it has one.
pub fn git_context(task: &Task) -> Option<GitContext> {
    crate::repository::git_context(task.context.as_deref()?)
}

/// Stored webhook deliveries, newest first (`GET /v1/hooks/deliveries`).
pub async fn deliveries(
    svc: &Service,
    top: u32,
    before: Option<chrono::DateTime<chrono::Utc>>,
) -> crate::store::StoreResult<Vec<crate::api::Delivery>> {
    svc.store().list_deliveries(top, before).await
}

/// The one answer to every delivery refused before a secret verified it.
pub const REFUSED: &str = "refused: the delivery is not signed with the webhook secret of a task that builds its \
     repository (or of the task its URL names); check the webhook's URL and secret (`drydock hook url -n TASK` \
     shows both); `drydock hook deliveries` says why a delivery was refused";

/// Refused deliveries kept in the deliveries log (anyone can send them, so the log is capped).
pub const MAX_REFUSED_KEPT: u32 = 1_000;

/// Handles one webhook request, and counts it by receiver and outcome.
pub async fn receive(svc: &Arc<Service>, inc: Incoming) -> Answer {
    let provider = inc.provider.name();
    let answer = answer(svc, inc).await;
    let outcome = match &answer {
        Answer::Pong => "pong",
        Answer::BadRequest(_) => "bad_request",
        Answer::Refused => "refused",
        Answer::NotFound(_) => "not_found",
        Answer::Redelivered(_) => "redelivered",
        Answer::Handled(h) => h.outcome.as_str(),
        Answer::Unavailable(_) => "unavailable",
    };
    svc.metrics().webhook_delivery(provider, outcome);
    answer
}

async fn answer(svc: &Arc<Service>, inc: Incoming) -> Answer {
    let provider = inc.provider;

    // 1. What it is and which tasks build its repository. Until a task's secret verifies the
    // delivery, every refusal is the same `Refused`: what exists is nobody else's business.
    let (parsed, candidates, accepted) = if provider.names_its_task() {
        let name = inc.task.clone().unwrap_or_default();
        let task = match svc.store().get_task(&name).await {
            Ok(Some(t)) => t,
            Ok(None) => return refuse(svc, &inc, format!("there is no task `{name}`")).await,
            Err(e) => return Answer::Unavailable(e.to_string()),
        };
        let accepted = match accepting_tasks(svc, provider, &inc, std::slice::from_ref(&task)) {
            Ok(a) => a,
            Err(why) => return refuse(svc, &inc, why).await,
        };
        let Some(ctx) = git_context(&task) else {
            return Answer::NotFound(format!(
                "task `{name}` has no git context, so there is no commit to build; give it one with \
                 `drydock task update -n {name} --context https://host/repo.git#branch`"
            ));
        };
        // Deliveries and run records are shown to API users, and this answer to anyone: never
        // the credentials a context URL may carry.
        let shown_url = crate::context::error::redact_url(&ctx.url);
        let parsed = match provider.parse("", &inc.body, &shown_url) {
            Ok(p) => p,
            Err(e) => return Answer::BadRequest(e.to_string()),
        };
        if let Parsed::Event(e) = &parsed
            && !e.is_repository(&ctx.key)
        {
            return Answer::NotFound(format!(
                "task `{name}` builds {}, not {}; post to the task that builds it, or leave `repository` out",
                shown_url, e.repository
            ));
        }
        (parsed, vec![task], accepted)
    } else {
        let Some(event_name) = inc.event.as_deref().map(str::trim) else {
            return Answer::BadRequest(format!(
                "the request has no {} header; is this a {} webhook?",
                provider.event_headers().first().unwrap_or(&"event"),
                provider.name()
            ));
        };
        let parsed = match provider.parse(event_name, &inc.body, "") {
            Ok(p) => p,
            Err(e) => return Answer::BadRequest(e.to_string()),
        };
        let urls = parsed.repository_urls();
        let keys: Vec<String> = urls.iter().map(|u| normalize_repository(u)).collect();
        let tasks = match svc.store().list_tasks().await {
            Ok(t) => t,
            Err(e) => return Answer::Unavailable(e.to_string()),
        };
        let candidates: Vec<Task> =
            tasks.into_iter().filter(|t| git_context(t).is_some_and(|c| keys.contains(&c.key))).collect();
        if candidates.is_empty() {
            let repo = urls.first().cloned().unwrap_or_else(|| "(the payload names no repository)".into());
            let why = format!(
                "no task builds the repository {repo}; point a task at it with \
                 `drydock task create -n NAME -c {repo}#BRANCH --webhook-secret SECRET ...` \
                 (or `task update --context`), using the secret this webhook is configured with"
            );
            return refuse(svc, &inc, why).await;
        }
        // 2. Whose secret signed it.
        let accepted = match accepting_tasks(svc, provider, &inc, &candidates) {
            Ok(a) => a,
            Err(why) => return refuse(svc, &inc, why).await,
        };
        (parsed, candidates, accepted)
    };

    let stored = match parsed {
        Parsed::Ping { .. } => return Answer::Pong,
        Parsed::Event(e) => StoredEvent { tasks: accepted, event: Some(e), ignored: None },
        Parsed::Ignored { reason, .. } => StoredEvent { tasks: accepted, event: None, ignored: Some(reason) },
    };

    // 3. Into the inbox before anything is answered.
    let delivery_id = inc
        .delivery_id
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&inc.body))));
    let delivery = Delivery {
        provider: provider.name().to_string(),
        delivery_id: delivery_id.clone(),
        received_at: svc.clock().now(),
        task: inc.task.clone(),
        repository: stored.event.as_ref().map(|e| e.repository.clone()),
        event: serde_json::to_value(&stored).unwrap_or_default(),
        outcome: DeliveryOutcome::Received,
        reason: None,
        runs: Vec::new(),
    };
    match svc.store().insert_delivery(&delivery).await {
        Err(e) => return Answer::Unavailable(format!("the delivery could not be stored: {e}")),
        // A delivery left `received` (its first processing failed or crashed) is processed
        // again; the run keys keep that from queuing anything twice.
        Ok(Some(existing)) if existing.outcome != DeliveryOutcome::Received => return Answer::Redelivered(existing),
        Ok(_) => {}
    }

    // 4. Runs.
    match process_and_record(svc, provider.name(), &delivery_id, &stored, &candidates).await {
        Ok(handled) => Answer::Handled(handled),
        Err(e) => Answer::Unavailable(e),
    }
}

/// Records why a delivery was refused in the deliveries log (readable with a token only) and
/// answers [`Answer::Refused`]. The record gets an id of its own, never the one the sender claimed,
/// so a forged delivery cannot take the id of a real one and make it look like a redelivery.
async fn refuse(svc: &Service, inc: &Incoming, why: String) -> Answer {
    let provider = inc.provider.name();
    tracing::info!(provider, delivery = ?inc.delivery_id, "webhook refused: {why}");
    let mut raw = [0u8; 8];
    let _ = getrandom::fill(&mut raw);
    let claimed = inc.delivery_id.as_deref().map_or_else(|| "none".to_string(), |d| format!("`{}`", d.trim()));
    let record = Delivery {
        provider: provider.to_string(),
        delivery_id: format!("refused-{}", hex::encode(raw)),
        received_at: svc.clock().now(),
        task: inc.task.clone(),
        repository: None,
        event: serde_json::Value::Null,
        outcome: DeliveryOutcome::Refused,
        reason: Some(format!("{why} (delivery id {claimed})")),
        runs: Vec::new(),
    };
    let store = svc.store();
    if let Err(e) = store.insert_delivery(&record).await {
        tracing::warn!(error = %e, "recording a refused delivery failed");
    } else if let Err(e) = store.prune_refused_deliveries(MAX_REFUSED_KEPT).await {
        tracing::warn!(error = %e, "pruning refused deliveries failed");
    }
    Answer::Refused
}

/// The candidates whose webhook secret verifies the request, or why none does (for the log).
fn accepting_tasks(
    svc: &Service,
    provider: &dyn Provider,
    inc: &Incoming,
    candidates: &[Task],
) -> Result<Vec<String>, String> {
    let Some(signature) = inc.signature.as_deref().filter(|s| !s.trim().is_empty()) else {
        let header = provider.signature_headers().first().unwrap_or(&"signature");
        return Err(format!(
            "the request carries no {header} header; configure the webhook with the task's webhook secret"
        ));
    };
    let names: Vec<String> = candidates.iter().map(|t| t.name.clone()).collect();
    let mut accepted = Vec::new();
    let mut with_secret = 0;
    for task in candidates {
        let Some(sealed) = &task.triggers.source.webhook_secret else { continue };
        with_secret += 1;
        let secret = match svc.unseal(sealed) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(task = %task.name, error = %e, "the task's webhook secret cannot be decrypted");
                continue;
            }
        };
        if provider.verify(&secret, &inc.body, signature) {
            accepted.push(task.name.clone());
        }
    }
    if accepted.is_empty() {
        tracing::info!(provider = provider.name(), tasks = ?names, with_secret, "no task's webhook secret verifies the delivery");
        return Err(if with_secret == 0 {
            format!(
                "the tasks building this repository ({}) have no webhook secret, and a task without one \
                 accepts no webhook; set one with `drydock task update -n NAME --webhook-secret SECRET` and \
                 configure the same secret in the webhook",
                names.join(", ")
            )
        } else {
            format!(
                "the signature matches the webhook secret of no task building this repository ({}); \
                 configure the webhook with the task's secret (`drydock hook url -n NAME` shows whether one \
                 is set)",
                names.join(", ")
            )
        });
    }
    Ok(accepted)
}

/// Processes a stored delivery and records its outcome. `Err` leaves it `received`, to be
/// processed again by a redelivery or at the next start.
async fn process_and_record(
    svc: &Arc<Service>,
    provider: &str,
    delivery_id: &str,
    stored: &StoredEvent,
    loaded: &[Task],
) -> Result<Handled, String> {
    let handled = process(svc, provider, Some(delivery_id), stored, loaded).await?;
    if let Err(e) = svc
        .store()
        .finish_delivery(provider, delivery_id, handled.outcome, handled.reason.as_deref(), &handled.runs)
        .await
    {
        // The runs are queued; the record says `received` until it is processed again,
        // which queues nothing new.
        tracing::warn!(provider, delivery = delivery_id, error = %e, "recording a delivery's outcome failed");
    }
    Ok(handled)
}

/// Queues the runs an event calls for.
async fn process(
    svc: &Arc<Service>,
    provider: &str,
    delivery_id: Option<&str>,
    stored: &StoredEvent,
    loaded: &[Task],
) -> Result<Handled, String> {
    let mut handled =
        Handled { outcome: DeliveryOutcome::Ignored, reason: None, reasons: BTreeMap::new(), runs: Vec::new() };
    let Some(event) = &stored.event else {
        handled.reason = stored.ignored.clone().or_else(|| Some("the delivery starts no runs".into()));
        return Ok(handled);
    };
    for name in &stored.tasks {
        // The receiver has just read the tasks; recovery reads them now.
        let found = match loaded.iter().find(|t| &t.name == name) {
            Some(t) => Ok(Some(t.clone())),
            None => svc.store().get_task(name).await,
        };
        let task = match found {
            Ok(Some(t)) => t,
            Ok(None) => {
                handled.reasons.insert(name.clone(), "the task no longer exists".into());
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Err(reason) = decide(&task, event) {
            handled.reasons.insert(name.clone(), reason);
            continue;
        }
        match queue(svc, name, provider, delivery_id, event, admission(&task, event)).await {
            Ok(run) => handled.runs.push(run),
            // Disabled between the check and the queueing.
            Err(ServiceError::Conflict(msg)) => {
                handled.reasons.insert(name.clone(), msg);
            }
            Err(e) => return Err(format!("queueing a run of task `{name}`: {e}")),
        }
    }
    if !handled.runs.is_empty() {
        handled.outcome = DeliveryOutcome::Queued;
    }
    if !handled.reasons.is_empty() {
        let all: Vec<String> = handled.reasons.iter().map(|(t, r)| format!("task `{t}`: {r}")).collect();
        handled.reason = Some(all.join("; "));
    }
    Ok(handled)
}

/// Queues (or finds, by its key) the run of `task` for `event`; returns its id.
async fn queue(
    svc: &Arc<Service>,
    task: &str,
    provider: &str,
    delivery_id: Option<&str>,
    event: &GitEvent,
    admission: Admission,
) -> Result<String, ServiceError> {
    let trigger = Trigger::Source {
        provider: provider.to_string(),
        event: event.kind.as_str().to_string(),
        delivery_id: delivery_id.map(str::to_string),
        commit: event.commit.clone(),
        branch: event.run_branch(),
        pull_request: event.pull_request,
        repository: event.repository.clone(),
        from_fork: event.fork.is_some(),
        head_repository: event.fork.as_ref().and_then(|f| f.repository.clone()),
    };
    let run = svc.run_task_as(task, Default::default(), trigger, Some(event.dedup_key(task)), admission).await?;
    Ok(run.id)
}

/// How a run for `event` is let in: a pull request from a fork brings its author's task file and
/// steps, so under the task's `fork_pull_requests` it waits for a person or goes without secrets
/// (`never` is refused earlier, in [`decide`]). Authors the provider marks as collaborators count
/// as having pushed when the task says so.
fn admission(task: &Task, event: &GitEvent) -> Admission {
    let s = &task.triggers.source;
    if event.fork.is_none() || (s.trust_collaborators && event.author_trusted) {
        return Admission::Trusted;
    }
    match s.fork_pull_requests {
        ForkPolicy::RunWithoutSecrets => Admission::WithoutSecrets,
        ForkPolicy::Approve | ForkPolicy::Never => Admission::AwaitingApproval,
    }
}

/// Whether `task` fires for `event`; `Err` says why not.
pub fn decide(task: &Task, event: &GitEvent) -> Result<(), String> {
    let s = &task.triggers.source;
    if task.status == TaskStatus::Disabled {
        return Err("the task is disabled".into());
    }
    if !s.enabled {
        return Err("its source trigger is disabled".into());
    }
    if !s.events.contains(&event.kind) {
        let fires: Vec<&str> = s.events.iter().map(SourceEvent::as_str).collect();
        return Err(format!("it does not fire on {} events (it fires on: {})", event.kind.as_str(), fires.join(", ")));
    }
    if event.deleted {
        return Err(format!("`{}` was deleted", event.run_ref()));
    }
    if let Some(fork) = &event.fork
        && s.fork_pull_requests == ForkPolicy::Never
        && !(s.trust_collaborators && event.author_trusted)
    {
        return Err(format!(
            "pull request #{} comes from the fork {} and the task runs no fork's pull requests \
             (--fork-pull-requests never)",
            event.pull_request.unwrap_or_default(),
            fork.repository.as_deref().unwrap_or("(deleted)")
        ));
    }
    match event.kind {
        SourceEvent::Commit | SourceEvent::Pullrequest => {
            let branch = event.branch.as_deref().unwrap_or_default();
            if let Err(tracked) = branch_tracked(task, event, branch) {
                return Err(match event.kind {
                    SourceEvent::Pullrequest => format!(
                        "pull request #{} targets branch `{branch}`, which it does not track ({tracked})",
                        event.pull_request.unwrap_or_default()
                    ),
                    _ => format!("branch `{branch}` is not tracked ({tracked})"),
                });
            }
        }
        SourceEvent::Tag => {
            let tag = event.tag.as_deref().unwrap_or_default();
            let filter = Filter::new(&s.tags).map_err(|e| format!("tag filter: {e}"))?;
            if !filter.allows(tag) {
                return Err(format!("tag `{tag}` matches no tag filter ({})", s.tags.join(" ")));
            }
        }
    }
    if !s.paths.is_empty()
        && let Some(files) = event.changed_files.as_ref().filter(|f| !f.is_empty())
    {
        let filter = Filter::new(&s.paths).map_err(|e| format!("path filter: {e}"))?;
        if !files.iter().any(|f| filter.allows(f)) {
            let shown: Vec<&str> = files.iter().take(5).map(String::as_str).collect();
            let more = if files.len() > 5 { format!(" and {} more", files.len() - 5) } else { String::new() };
            return Err(format!(
                "no changed file matches the path filters ({}); changed: {}{more}",
                s.paths.join(" "),
                shown.join(", ")
            ));
        }
    }
    Ok(())
}

/// Whether the task tracks `branch`: its branch filters; without any, the context's `#branch`;
/// without that, the repository's default branch (any branch when that is unknown, which only
/// the generic receiver can leave it). `Err` describes what is tracked.
fn branch_tracked(task: &Task, event: &GitEvent, branch: &str) -> Result<(), String> {
    let s = &task.triggers.source;
    if !s.branches.is_empty() {
        let filter = Filter::new(&s.branches).map_err(|e| format!("branch filter: {e}"))?;
        return if filter.allows(branch) { Ok(()) } else { Err(format!("branches: {}", s.branches.join(" "))) };
    }
    let context_branch =
        git_context(task).and_then(|c| c.reference).map(|r| r.trim_start_matches("refs/heads/").to_string());
    match (context_branch, &event.default_branch) {
        (Some(b), _) if b == branch => Ok(()),
        (Some(b), _) => Err(format!("it tracks `{b}`, the branch of its context; add --branch filters for more")),
        (None, Some(d)) if d == branch => Ok(()),
        (None, Some(d)) => {
            Err(format!("it tracks `{d}`, the repository's default branch; add --branch filters for more"))
        }
        (None, None) => Ok(()),
    }
}

/// Processes the deliveries a crash left stored but not processed, then polls.
pub async fn run(svc: Arc<Service>, stop: CancellationToken) {
    recover(&svc, None).await;
    poll::run(svc, stop).await;
}

/// A delivery still `received` this long after it arrived was left by a node that died while
/// processing it (processing takes milliseconds); the node running the poller takes it over.
pub const STALE_DELIVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How many unprocessed deliveries one start-up looks at.
const RECOVER_LIMIT: u32 = 10_000;

/// Re-processes `received` deliveries: all of them at start-up, later those received before
/// `older_than` (another node's, left by its crash). One that fails again stays `received`.
pub async fn recover(svc: &Arc<Service>, older_than: Option<chrono::DateTime<chrono::Utc>>) {
    let pending = match svc.store().unprocessed_deliveries(RECOVER_LIMIT).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "listing unprocessed webhook deliveries failed");
            return;
        }
    };
    for d in pending.into_iter().filter(|d| older_than.is_none_or(|t| d.received_at < t)) {
        let stored: StoredEvent = match serde_json::from_value(d.event.clone()) {
            Ok(s) => s,
            Err(e) => {
                let reason = format!("the stored delivery is unreadable: {e}");
                let _ = svc
                    .store()
                    .finish_delivery(&d.provider, &d.delivery_id, DeliveryOutcome::Failed, Some(&reason), &[])
                    .await;
                continue;
            }
        };
        match process_and_record(svc, &d.provider, &d.delivery_id, &stored, &[]).await {
            Ok(h) => tracing::info!(provider = %d.provider, delivery = %d.delivery_id, outcome = h.outcome.as_str(),
                "processed a webhook delivery left over by a stopped daemon"),
            Err(e) => tracing::warn!(provider = %d.provider, delivery = %d.delivery_id, error = %e,
                "processing a left-over webhook delivery failed; it stays for the next start"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SourceTrigger;

    fn task(context: &str, source: SourceTrigger) -> Task {
        let mut t: Task = serde_json::from_value(serde_json::json!({
            "name": "t1", "context": context, "step": {"kind": "file", "content": "steps: []"}
        }))
        .unwrap();
        t.triggers.source = source;
        t
    }

    fn push(branch: &str, files: Option<Vec<&str>>) -> GitEvent {
        event::Push {
            reference: format!("refs/heads/{branch}"),
            commit: "abc1234".into(),
            deleted: false,
            urls: vec!["https://h/r.git".into()],
            default_branch: Some("main".into()),
            changed_files: files.map(|f| f.into_iter().map(String::from).collect()),
        }
        .into_event()
        .unwrap()
    }

    #[test]
    fn branches_default_to_the_context_branch_then_the_default_branch() {
        let with_branch = task("https://h/r.git#release", SourceTrigger::default());
        assert!(decide(&with_branch, &push("release", None)).is_ok());
        assert!(
            decide(&with_branch, &push("main", None)).unwrap_err().contains("`release`, the branch of its context")
        );
        let plain = task("https://h/r.git", SourceTrigger::default());
        assert!(decide(&plain, &push("main", None)).is_ok());
        assert!(decide(&plain, &push("dev", None)).unwrap_err().contains("default branch"));
        let globbed =
            task("https://h/r.git", SourceTrigger { branches: vec!["feature/*".into()], ..Default::default() });
        assert!(decide(&globbed, &push("feature/x", None)).is_ok());
        assert!(decide(&globbed, &push("main", None)).unwrap_err().contains("branches: feature/*"));
    }

    #[test]
    fn events_paths_status_and_deletions() {
        let t = task("https://h/r.git", SourceTrigger { paths: vec!["src/**".into()], ..Default::default() });
        assert!(decide(&t, &push("main", Some(vec!["src/a.rs"]))).is_ok());
        assert!(decide(&t, &push("main", Some(vec!["docs/a.md"]))).unwrap_err().contains("path filters"));
        assert!(decide(&t, &push("main", None)).is_ok(), "unknown files do not hold a push back");
        let mut tag = push("main", None);
        tag.kind = SourceEvent::Tag;
        tag.tag = Some("v1".into());
        assert!(decide(&t, &tag).unwrap_err().contains("does not fire on tag"));
        let mut deleted = push("main", None);
        deleted.deleted = true;
        assert!(decide(&t, &deleted).unwrap_err().contains("deleted"));
        let mut disabled = t.clone();
        disabled.status = TaskStatus::Disabled;
        assert!(decide(&disabled, &push("main", None)).unwrap_err().contains("disabled"));
        let mut off = t.clone();
        off.triggers.source.enabled = false;
        assert!(decide(&off, &push("main", None)).unwrap_err().contains("trigger is disabled"));
        let tags = task(
            "https://h/r.git",
            SourceTrigger { events: vec![SourceEvent::Tag], tags: vec!["v*".into()], ..Default::default() },
        );
        assert!(decide(&tags, &tag).is_ok());
        tag.tag = Some("nightly".into());
        assert!(decide(&tags, &tag).unwrap_err().contains("matches no tag filter"));
    }
}
