//! The trigger flags of `task create` and `task update`: ACR's source and base-image trigger
//! flags, plus branch/tag/path filters, a webhook secret and polling, which ACR lacks.

use super::CliError;
use crate::api::{BaseImageTriggerType, ForkPolicy, SourceEvent, TaskTriggers};
use crate::glob::Filter;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

/// Source and base-image trigger flags.
#[derive(Args, Debug, Clone, Default)]
pub struct TriggerArgs {
    /// Whether git events start runs at all.
    #[arg(long, value_name = "BOOL")]
    pub source_trigger_enabled: Option<bool>,
    /// Run on pushes to a tracked branch (default true).
    #[arg(long, value_name = "BOOL")]
    pub commit_trigger_enabled: Option<bool>,
    /// Run on pull requests opened, updated or reopened against a tracked branch (default false).
    #[arg(long, value_name = "BOOL")]
    pub pull_request_trigger_enabled: Option<bool>,
    /// Run on tags pushed (default false).
    #[arg(long, value_name = "BOOL")]
    pub tag_trigger_enabled: Option<bool>,
    /// Branch filter, exact or glob (`main`, `release/*`); repeatable; `!GLOB` excludes. Default:
    /// the context's `#branch`, else the repository's default branch.
    #[arg(long = "branch", value_name = "GLOB")]
    pub branch: Vec<String>,
    /// Tag filter for tag triggers, exact or glob (`v*`); repeatable. Default: every tag.
    #[arg(long = "tag-filter", value_name = "GLOB")]
    pub tag_filter: Vec<String>,
    /// Path filter: run only when a changed file matches (`src/**`, `!docs/**`); repeatable.
    #[arg(long = "path", value_name = "GLOB")]
    pub path: Vec<String>,
    /// Secret that webhook deliveries are signed with (redacted when shown).
    #[arg(long, value_name = "SECRET")]
    pub webhook_secret: Option<String>,
    /// Also poll the tracked branches every SECONDS (0 turns polling off); catches missed webhooks.
    #[arg(long, value_name = "SECONDS")]
    pub poll_interval: Option<u64>,
    /// What a pull request from a fork may do: approve (wait for `drydock runs approve`, the
    /// default), run-without-secrets, or never.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub fork_pull_requests: Option<ForkPolicy>,
    /// Run pull requests from authors the git server marks as owner, member or collaborator as
    /// if they had pushed, fork or not (GitHub's `author_association`).
    #[arg(long, value_name = "BOOL")]
    pub trust_collaborators: Option<bool>,
    /// Token that may set commit statuses on the git server: with it, runs a push or pull request
    /// started report pending, running and their result to the commit (redacted when shown).
    #[arg(long, value_name = "TOKEN")]
    pub status_token: Option<String>,
    /// The git server's API base URL for commit statuses (default: derived from the context's
    /// repository URL, e.g. `https://api.github.com`, `https://HOST/api/v4` for GitLab).
    #[arg(long, value_name = "URL")]
    pub status_api_url: Option<String>,
    /// Which API commit statuses use: github, gitlab, gitea or forgejo (default: the provider of
    /// the webhook, else the repository's host).
    #[arg(long, value_name = "PROVIDER")]
    pub status_provider: Option<String>,
    /// Whether base-image updates start runs (default true).
    #[arg(long, value_name = "BOOL")]
    pub base_image_trigger_enabled: Option<bool>,
    /// Which base images are watched: Runtime (the final stage's, default) or All.
    #[arg(long, value_enum, ignore_case = true)]
    pub base_image_trigger_type: Option<BaseImageTypeArg>,
    /// Base-image changes within SECONDS of each other fire one run (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub base_image_quiet_period: Option<u64>,
}

/// `--base-image-trigger-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BaseImageTypeArg {
    /// The final stage's base only.
    #[value(name = "Runtime")]
    Runtime,
    /// Every stage's base.
    #[value(name = "All")]
    All,
}

impl From<BaseImageTypeArg> for BaseImageTriggerType {
    fn from(a: BaseImageTypeArg) -> Self {
        match a {
            BaseImageTypeArg::Runtime => BaseImageTriggerType::Runtime,
            BaseImageTypeArg::All => BaseImageTriggerType::All,
        }
    }
}

/// The shortest polling interval accepted: a git server is not a queue.
const MIN_POLL_SECONDS: u64 = 30;

impl TriggerArgs {
    fn event_flags(&self) -> [(Option<bool>, SourceEvent); 3] {
        [
            (self.commit_trigger_enabled, SourceEvent::Commit),
            (self.pull_request_trigger_enabled, SourceEvent::Pullrequest),
            (self.tag_trigger_enabled, SourceEvent::Tag),
        ]
    }

    /// Whether an event flag was given (`task update` then needs the current event list).
    pub fn changes_events(&self) -> bool {
        self.event_flags().iter().any(|(v, _)| v.is_some())
    }

    /// Checks the flags that can be checked here: globs and intervals.
    pub fn check(&self) -> Result<(), CliError> {
        for (flag, globs) in [("--branch", &self.branch), ("--tag-filter", &self.tag_filter), ("--path", &self.path)] {
            Filter::new(globs).map_err(|e| CliError::Invalid(format!("{flag}: {e}")))?;
        }
        if let Some(p) = self.poll_interval
            && p != 0
            && p < MIN_POLL_SECONDS
        {
            return Err(CliError::Invalid(format!(
                "--poll-interval {p} is too short: give at least {MIN_POLL_SECONDS} seconds, or 0 for no polling"
            )));
        }
        if self.webhook_secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(CliError::Invalid("--webhook-secret is empty".into()));
        }
        if self.status_token.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(CliError::Invalid("--status-token is empty".into()));
        }
        if let Some(p) = &self.status_provider
            && !["github", "gitlab", "gitea", "forgejo"].contains(&p.to_ascii_lowercase().as_str())
        {
            return Err(CliError::Invalid(format!(
                "--status-provider {p} is unknown: give github, gitlab, gitea or forgejo"
            )));
        }
        Ok(())
    }

    /// Applies the flags to a new task's triggers.
    pub fn apply(&self, t: &mut TaskTriggers) -> Result<(), CliError> {
        self.check()?;
        let patch = self.patch(&t.source.events)?;
        if let Some(patch) = patch {
            let mut doc = serde_json::to_value(&*t).map_err(|e| CliError::Invalid(e.to_string()))?;
            crate::daemon::tasks::merge_patch(&mut doc, &patch);
            *t = serde_json::from_value(doc).map_err(|e| CliError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// The `triggers` part of a merge patch, given the task's current events; `None` if no
    /// trigger flag was given.
    pub fn patch(&self, current_events: &[SourceEvent]) -> Result<Option<Value>, CliError> {
        self.check()?;
        let mut source = Map::new();
        if let Some(v) = self.source_trigger_enabled {
            source.insert("enabled".into(), json!(v));
        }
        if self.changes_events() {
            // ACR merges event flags with the server's list: only the named events change.
            let mut events: Vec<SourceEvent> = current_events.to_vec();
            for (flag, event) in self.event_flags() {
                match flag {
                    Some(true) if !events.contains(&event) => events.push(event),
                    Some(false) => events.retain(|e| *e != event),
                    _ => {}
                }
            }
            events.sort();
            source.insert("events".into(), json!(events));
        }
        for (key, globs) in [("branches", &self.branch), ("tags", &self.tag_filter), ("paths", &self.path)] {
            if !globs.is_empty() {
                source.insert(key.into(), json!(globs));
            }
        }
        if let Some(s) = &self.webhook_secret {
            source.insert("webhook_secret".into(), json!(s));
        }
        if let Some(p) = self.poll_interval {
            source.insert("poll_interval".into(), if p == 0 { Value::Null } else { json!(p) });
        }
        if let Some(p) = self.fork_pull_requests {
            source.insert("fork_pull_requests".into(), json!(p));
        }
        if let Some(t) = self.trust_collaborators {
            source.insert("trust_collaborators".into(), json!(t));
        }
        let mut status = Map::new();
        for (key, value) in
            [("token", &self.status_token), ("api_url", &self.status_api_url), ("provider", &self.status_provider)]
        {
            if let Some(v) = value {
                status.insert(key.into(), json!(v));
            }
        }
        if !status.is_empty() {
            source.insert("commit_status".into(), Value::Object(status));
        }
        let mut base = Map::new();
        if let Some(v) = self.base_image_trigger_enabled {
            base.insert("enabled".into(), json!(v));
        }
        if let Some(t) = self.base_image_trigger_type {
            base.insert("trigger_type".into(), json!(BaseImageTriggerType::from(t)));
        }
        if let Some(q) = self.base_image_quiet_period {
            base.insert("quiet_period".into(), json!(q));
        }
        let mut triggers = Map::new();
        if !source.is_empty() {
            triggers.insert("source".into(), Value::Object(source));
        }
        if !base.is_empty() {
            triggers.insert("base_image".into(), Value::Object(base));
        }
        Ok((!triggers.is_empty()).then_some(Value::Object(triggers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_flags_make_the_commit_status_setting() {
        let a = TriggerArgs {
            status_token: Some("tok".into()),
            status_provider: Some("gitlab".into()),
            ..Default::default()
        };
        let p = a.patch(&[SourceEvent::Commit]).unwrap().unwrap();
        assert_eq!(p, json!({"source": {"commit_status": {"token": "tok", "provider": "gitlab"}}}));
        let unknown = TriggerArgs { status_provider: Some("svn".into()), ..Default::default() };
        assert!(unknown.patch(&[]).unwrap_err().to_string().contains("github, gitlab, gitea or forgejo"));
    }

    #[test]
    fn no_flags_no_patch() {
        assert_eq!(TriggerArgs::default().patch(&[SourceEvent::Commit]).unwrap(), None);
    }

    #[test]
    fn event_flags_merge_with_the_current_list() {
        let a = TriggerArgs { pull_request_trigger_enabled: Some(true), ..Default::default() };
        let p = a.patch(&[SourceEvent::Commit]).unwrap().unwrap();
        assert_eq!(p, json!({"source": {"events": ["commit", "pullrequest"]}}));
        let a =
            TriggerArgs { commit_trigger_enabled: Some(false), tag_trigger_enabled: Some(true), ..Default::default() };
        let p = a.patch(&[SourceEvent::Commit, SourceEvent::Pullrequest]).unwrap().unwrap();
        assert_eq!(p, json!({"source": {"events": ["pullrequest", "tag"]}}));
    }

    #[test]
    fn filters_secret_polling_and_base_image_flags_map_to_the_api() {
        let a = TriggerArgs {
            branch: vec!["main".into(), "release/*".into()],
            path: vec!["src/**".into(), "!docs/**".into()],
            webhook_secret: Some("s3cret".into()),
            poll_interval: Some(0),
            base_image_trigger_type: Some(BaseImageTypeArg::All),
            base_image_quiet_period: Some(30),
            ..Default::default()
        };
        let p = a.patch(&[]).unwrap().unwrap();
        assert_eq!(
            p,
            json!({
                "source": {"branches": ["main", "release/*"], "paths": ["src/**", "!docs/**"],
                           "webhook_secret": "s3cret", "poll_interval": null},
                "base_image": {"trigger_type": "All", "quiet_period": 30}
            })
        );
        let mut t = TaskTriggers::default();
        TriggerArgs { poll_interval: Some(600), ..a }.apply(&mut t).unwrap();
        assert_eq!(t.source.branches, ["main", "release/*"]);
        assert_eq!(t.source.poll_interval, Some(600));
        assert_eq!(t.base_image.trigger_type, BaseImageTriggerType::All);
        assert_eq!(t.source.events, [SourceEvent::Commit]);
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let a = TriggerArgs { branch: vec!["release/[0-9".into()], ..Default::default() };
        assert!(a.check().unwrap_err().to_string().contains("--branch"));
        let a = TriggerArgs { poll_interval: Some(5), ..Default::default() };
        assert!(a.check().unwrap_err().to_string().contains("at least 30"));
    }
}
