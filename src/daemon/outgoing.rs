//! What drydock tells the outside about runs: commit statuses on the git server for runs a push or
//! pull request started, and signed JSON events (`run.started`, `run.finished`) to the URLs a task
//! or the whole daemon names (`--notify-url`).
//!
//! Every message goes through the store first (an outbox): [`Service::announce`] writes one row
//! per receiver, keyed so that announcing a moment twice queues nothing new, and the sender
//! (`sender::send_loop`) delivers, retries with backoff and records each answer. A delivery thus
//! survives a restart, and a receiver that fails never fails the build. Secrets travel sealed in
//! the row and are opened only for the attempt.

mod event;
pub mod sender;
mod status;

use super::Service;
use super::service::{Result, ServiceError};
use crate::api::{OutgoingDelivery, OutgoingKind, Run, Task, Trigger};
use crate::run::RunStatus;
use crate::store::NewDelivery;
use std::time::Duration;

/// The daemon's own receivers and how deliveries are retried (`drydock serve --notify-url`).
/// `Debug` shows the secret as `***`.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    /// URLs that receive every run's events.
    pub urls: Vec<String>,
    /// Key of their `X-Drydock-Signature`.
    pub secret: Option<crate::secrets::Secret>,
    /// Where people open this daemon's dashboard (the link of a commit status); none: no link.
    pub public_url: Option<String>,
    /// The wait before each attempt after the first; one attempt more than waits in all.
    pub retry: Vec<Duration>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings { urls: Vec::new(), secret: None, public_url: None, retry: DEFAULT_RETRY.to_vec() }
    }
}

/// Five attempts over about six minutes: long enough to ride out a receiver's restart.
pub const DEFAULT_RETRY: [Duration; 4] =
    [Duration::from_secs(2), Duration::from_secs(10), Duration::from_secs(60), Duration::from_secs(300)];

/// A moment in a run's life that the outside hears about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Queued (or waiting for approval): a pending commit status.
    Queued,
    /// A node started it: a running status and `run.started`.
    Started,
    /// It ended: the final status and `run.finished`.
    Finished,
}

impl Service {
    /// Queues the commit statuses and run events of `moment` for run `id`. Never fails the run:
    /// what goes wrong is logged, and a receiver's failures are recorded on its deliveries.
    pub async fn announce(&self, id: &str, moment: Moment) {
        if let Err(e) = self.try_announce(id, moment).await {
            tracing::warn!(run = %id, error = %e, "queueing the run's notifications failed");
        }
    }

    async fn try_announce(&self, id: &str, moment: Moment) -> Result<()> {
        let Some(row) = self.store.get_run(id).await? else { return Ok(()) };
        let run = super::runs::to_api(&row);
        // Only commit statuses report a queued run, and only runs a push or pull request started.
        if moment == Moment::Queued && !matches!(run.trigger, Trigger::Source { .. }) {
            return Ok(());
        }
        // Sealed as stored: the secrets are copied into the deliveries without being opened.
        let task = match &run.task {
            Some(name) => self.store.get_task(name).await?,
            None => None,
        };
        let mut out = Vec::new();
        if moment != Moment::Queued {
            let name = if moment == Moment::Started { "run.started" } else { "run.finished" };
            let daemon_secret = self.settings.notify.secret.as_ref().map(|s| self.seal(s.expose()));
            let mut receivers: Vec<(&str, Option<String>)> =
                self.settings.notify.urls.iter().map(|u| (u.as_str(), daemon_secret.clone())).collect();
            if let Some(t) = &task {
                receivers.extend(t.notify.urls.iter().map(|u| (u.as_str(), t.notify.secret.clone())));
            }
            for (url, credential) in receivers {
                let delivery = new_id();
                let body = event::body(name, &delivery, &run, self.dashboard_link(&run.id).as_deref());
                out.push(NewDelivery {
                    dedup_key: format!("{}:webhook:{name}:{url}", run.id),
                    id: delivery,
                    run_id: run.id.clone(),
                    task: run.task.clone(),
                    kind: OutgoingKind::Webhook,
                    provider: None,
                    event: name.to_string(),
                    url: url.to_string(),
                    body,
                    credential,
                });
            }
        }
        if let (Some(t), Trigger::Source { provider, commit, .. }) = (&task, &run.trigger)
            && let Some(settings) = &t.triggers.source.commit_status
        {
            let link = self.dashboard_link(&run.id);
            match status::request(settings, provider, t, commit, &run, moment, link.as_deref()) {
                Ok(req) => out.push(NewDelivery {
                    // By moment: GitHub's queued and running are both `pending`.
                    dedup_key: format!("{}:commit_status:{moment:?}:{}", run.id, req.url),
                    id: new_id(),
                    run_id: run.id.clone(),
                    task: run.task.clone(),
                    kind: OutgoingKind::CommitStatus,
                    provider: Some(req.provider.as_str().to_string()),
                    event: req.state,
                    url: req.url,
                    body: req.body,
                    credential: Some(settings.token.clone()),
                }),
                Err(why) => tracing::warn!(run = %run.id, task = %t.name, "cannot report a commit status: {why}"),
            }
        }
        if !out.is_empty() && self.store.queue_outgoing(&out).await? > 0 {
            self.outgoing_wake.notify_one();
        }
        Ok(())
    }

    /// The run's page on the dashboard, when this daemon's public URL is known.
    fn dashboard_link(&self, id: &str) -> Option<String> {
        let base = self.settings.notify.public_url.as_deref()?;
        Some(format!("{}/#/run/{id}", base.trim_end_matches('/')))
    }

    /// Outgoing deliveries, newest first: all, or run `run`'s.
    pub async fn outgoing(&self, run: Option<&str>, top: u32) -> Result<Vec<OutgoingDelivery>> {
        Ok(self.store.list_outgoing(run, top).await?)
    }
}

/// Checks a task's commit-status and run-event settings, so that a mistake is a 400 now rather
/// than deliveries that fail later.
pub(super) fn validate(task: &Task) -> Result<()> {
    for url in &task.notify.urls {
        check_url("notify.urls", url)?;
    }
    if task.notify.secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(ServiceError::invalid("notify.secret is empty: give a key to sign run events with, or none"));
    }
    let Some(c) = &task.triggers.source.commit_status else { return Ok(()) };
    if c.token.trim().is_empty() {
        return Err(ServiceError::invalid(
            "commit_status.token is empty: give a token the git server lets set commit statuses",
        ));
    }
    if let Some(p) = &c.provider
        && status::Forge::named(p).is_none()
    {
        return Err(ServiceError::invalid(format!(
            "commit_status.provider `{p}` is unknown: use github, gitlab, gitea or forgejo"
        )));
    }
    if let Some(url) = &c.api_url {
        check_url("commit_status.api_url", url)?;
    }
    Ok(())
}

fn check_url(what: &str, url: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(ServiceError::invalid(format!(
            "{what}: `{url}` is not an http(s) URL; give one such as https://host/path"
        ))),
    }
}

/// A delivery id: random, so that receivers can deduplicate across daemons and databases.
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What a run looks like to the outside at a moment (so that a delivery's body does not depend on
/// how fast the store caught up).
fn shown_status(run: &Run, moment: Moment) -> RunStatus {
    match moment {
        Moment::Queued if run.status == RunStatus::AwaitingApproval => RunStatus::AwaitingApproval,
        Moment::Queued => RunStatus::Queued,
        Moment::Started => RunStatus::Running,
        Moment::Finished => run.status,
    }
}
