//! The stored form of a saved task: the JSON in the `tasks.body` column. It has types of its own,
//! so that the API can rename or reshape its wire types without changing stored data, and stored
//! data can change (with a migration) without changing the API. The conversions at the bottom are
//! the only place the two meet. The JSON is the one tasks were first stored with (the API's then),
//! so existing databases read unchanged; `tests::stored_json_is_pinned` holds it still.
//!
//! Response-only fields of the API (`created_at`/`updated_at`, kept in columns; `last_run`,
//! `next_fire`, `last_poll_error`, computed for each read) have no place here.

use crate::api;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A saved task as stored. Secret fields hold sealed values (the services seal before storing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    step: StoredStep,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    values: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    secret_values: BTreeMap<String, String>,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default)]
    status: StoredStatus,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    agent_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    git_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    require_signed_base: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<StoredLogin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    timers: Vec<StoredTimer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approve_before: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approval_timeout: Option<u64>,
    #[serde(default)]
    triggers: StoredTriggers,
    #[serde(default, skip_serializing_if = "StoredNotify::is_empty")]
    notify: StoredNotify,
}

/// Run events sent out (`--notify-url`); the secret sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredNotify {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl StoredNotify {
    fn is_empty(&self) -> bool {
        self.urls.is_empty() && self.secret.is_none()
    }
}

/// Commit statuses reported back; the token sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredCommitStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_url: Option<String>,
    token: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum StoredStatus {
    #[default]
    Enabled,
    Disabled,
}

/// What a task runs, as stored (in a task, and in each queued run's spec).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredStep {
    File {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        values_file: Option<String>,
    },
    Cmd {
        cmd: String,
    },
    Docker(StoredBuild),
}

/// A Dockerfile build, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBuild {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dockerfile: Option<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    build_args: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    secret_build_args: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
    #[serde(default)]
    no_push: bool,
    #[serde(default)]
    no_cache: bool,
}

/// A registry login, as stored (its password sealed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLogin {
    login_server: String,
    username: String,
    password: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredTimer {
    name: String,
    schedule: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default, skip_serializing_if = "StoredMissed::is_skip")]
    missed: StoredMissed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StoredMissed {
    #[default]
    Skip,
    RunOnce,
}

impl StoredMissed {
    fn is_skip(&self) -> bool {
        *self == StoredMissed::Skip
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredTriggers {
    #[serde(default)]
    source: StoredSource,
    #[serde(default)]
    base_image: StoredBaseImage,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSource {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "commit_only")]
    events: Vec<StoredEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    branches: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    poll_interval: Option<u64>,
    #[serde(default, skip_serializing_if = "StoredForkPolicy::is_default")]
    fork_pull_requests: StoredForkPolicy,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    trust_collaborators: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit_status: Option<StoredCommitStatus>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StoredForkPolicy {
    #[default]
    Approve,
    RunWithoutSecrets,
    Never,
}

impl StoredForkPolicy {
    fn is_default(&self) -> bool {
        *self == StoredForkPolicy::Approve
    }
}

impl Default for StoredSource {
    fn default() -> Self {
        StoredSource {
            enabled: true,
            events: commit_only(),
            branches: Vec::new(),
            tags: Vec::new(),
            paths: Vec::new(),
            webhook_secret: None,
            poll_interval: None,
            fork_pull_requests: StoredForkPolicy::Approve,
            trust_collaborators: false,
            commit_status: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredEvent {
    Commit,
    Pullrequest,
    Tag,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredBaseImage {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    trigger_type: StoredBaseImageType,
    #[serde(default = "ten")]
    quiet_period: u64,
}

impl Default for StoredBaseImage {
    fn default() -> Self {
        StoredBaseImage { enabled: true, trigger_type: StoredBaseImageType::Runtime, quiet_period: ten() }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum StoredBaseImageType {
    #[default]
    Runtime,
    All,
}

fn yes() -> bool {
    true
}

fn default_timeout() -> u64 {
    api::DEFAULT_TIMEOUT
}

fn ten() -> u64 {
    10
}

fn commit_only() -> Vec<StoredEvent> {
    vec![StoredEvent::Commit]
}

// ---- the only place stored and wire types meet -------------------------------------------------

impl From<&api::TaskStep> for StoredStep {
    fn from(step: &api::TaskStep) -> Self {
        match step {
            api::TaskStep::File { path, content, values_file } => {
                StoredStep::File { path: path.clone(), content: content.clone(), values_file: values_file.clone() }
            }
            api::TaskStep::Cmd { cmd } => StoredStep::Cmd { cmd: cmd.clone() },
            api::TaskStep::Docker(b) => StoredStep::Docker(StoredBuild {
                dockerfile: b.dockerfile.clone(),
                images: b.images.clone(),
                build_args: b.build_args.clone(),
                secret_build_args: b.secret_build_args.clone(),
                target: b.target.clone(),
                platform: b.platform.clone(),
                no_push: b.no_push,
                no_cache: b.no_cache,
            }),
        }
    }
}

impl From<StoredStep> for api::TaskStep {
    fn from(step: StoredStep) -> Self {
        match step {
            StoredStep::File { path, content, values_file } => api::TaskStep::File { path, content, values_file },
            StoredStep::Cmd { cmd } => api::TaskStep::Cmd { cmd },
            StoredStep::Docker(b) => api::TaskStep::Docker(api::DockerBuild {
                dockerfile: b.dockerfile,
                images: b.images,
                build_args: b.build_args,
                secret_build_args: b.secret_build_args,
                target: b.target,
                platform: b.platform,
                no_push: b.no_push,
                no_cache: b.no_cache,
            }),
        }
    }
}

impl From<&api::Credential> for StoredLogin {
    fn from(c: &api::Credential) -> Self {
        StoredLogin { login_server: c.login_server.clone(), username: c.username.clone(), password: c.password.clone() }
    }
}

impl From<StoredLogin> for api::Credential {
    fn from(c: StoredLogin) -> Self {
        api::Credential { login_server: c.login_server, username: c.username, password: c.password }
    }
}

impl From<&api::Task> for TaskRecord {
    fn from(t: &api::Task) -> Self {
        TaskRecord {
            name: t.name.clone(),
            context: t.context.clone(),
            step: StoredStep::from(&t.step),
            values: t.values.clone(),
            secret_values: t.secret_values.clone(),
            timeout: t.timeout,
            status: match t.status {
                api::TaskStatus::Enabled => StoredStatus::Enabled,
                api::TaskStatus::Disabled => StoredStatus::Disabled,
            },
            agent_labels: t.agent_labels.clone(),
            platform: t.platform.clone(),
            git_token: t.git_token.clone(),
            sign_key: t.sign_key.clone(),
            require_signed_base: t.require_signed_base.clone(),
            credentials: t.credentials.iter().map(StoredLogin::from).collect(),
            approve_before: t.approve_before.clone(),
            approval_timeout: t.approval_timeout,
            timers: t
                .timers
                .iter()
                .map(|x| StoredTimer {
                    name: x.name.clone(),
                    schedule: x.schedule.clone(),
                    enabled: x.enabled,
                    missed: match x.missed {
                        api::MissedPolicy::Skip => StoredMissed::Skip,
                        api::MissedPolicy::RunOnce => StoredMissed::RunOnce,
                    },
                })
                .collect(),
            triggers: StoredTriggers {
                source: {
                    let s = &t.triggers.source;
                    StoredSource {
                        enabled: s.enabled,
                        events: s
                            .events
                            .iter()
                            .map(|e| match e {
                                api::SourceEvent::Commit => StoredEvent::Commit,
                                api::SourceEvent::Pullrequest => StoredEvent::Pullrequest,
                                api::SourceEvent::Tag => StoredEvent::Tag,
                            })
                            .collect(),
                        branches: s.branches.clone(),
                        tags: s.tags.clone(),
                        paths: s.paths.clone(),
                        webhook_secret: s.webhook_secret.clone(),
                        poll_interval: s.poll_interval,
                        fork_pull_requests: match s.fork_pull_requests {
                            api::ForkPolicy::Approve => StoredForkPolicy::Approve,
                            api::ForkPolicy::RunWithoutSecrets => StoredForkPolicy::RunWithoutSecrets,
                            api::ForkPolicy::Never => StoredForkPolicy::Never,
                        },
                        trust_collaborators: s.trust_collaborators,
                        commit_status: s.commit_status.as_ref().map(|c| StoredCommitStatus {
                            provider: c.provider.clone(),
                            api_url: c.api_url.clone(),
                            token: c.token.clone(),
                        }),
                    }
                },
                base_image: {
                    let b = &t.triggers.base_image;
                    StoredBaseImage {
                        enabled: b.enabled,
                        trigger_type: match b.trigger_type {
                            api::BaseImageTriggerType::Runtime => StoredBaseImageType::Runtime,
                            api::BaseImageTriggerType::All => StoredBaseImageType::All,
                        },
                        quiet_period: b.quiet_period,
                    }
                },
            },
            notify: StoredNotify { urls: t.notify.urls.clone(), secret: t.notify.secret.clone() },
        }
    }
}

impl From<TaskRecord> for api::Task {
    fn from(r: TaskRecord) -> Self {
        api::Task {
            name: r.name,
            context: r.context,
            step: r.step.into(),
            values: r.values,
            secret_values: r.secret_values,
            timeout: r.timeout,
            status: match r.status {
                StoredStatus::Enabled => api::TaskStatus::Enabled,
                StoredStatus::Disabled => api::TaskStatus::Disabled,
            },
            agent_labels: r.agent_labels,
            platform: r.platform,
            git_token: r.git_token,
            sign_key: r.sign_key,
            require_signed_base: r.require_signed_base,
            credentials: r.credentials.into_iter().map(api::Credential::from).collect(),
            approve_before: r.approve_before,
            approval_timeout: r.approval_timeout,
            timers: r
                .timers
                .into_iter()
                .map(|x| api::Timer {
                    name: x.name,
                    schedule: x.schedule,
                    enabled: x.enabled,
                    missed: match x.missed {
                        StoredMissed::Skip => api::MissedPolicy::Skip,
                        StoredMissed::RunOnce => api::MissedPolicy::RunOnce,
                    },
                    next_fire: None,
                })
                .collect(),
            triggers: api::TaskTriggers {
                source: api::SourceTrigger {
                    enabled: r.triggers.source.enabled,
                    events: r
                        .triggers
                        .source
                        .events
                        .into_iter()
                        .map(|e| match e {
                            StoredEvent::Commit => api::SourceEvent::Commit,
                            StoredEvent::Pullrequest => api::SourceEvent::Pullrequest,
                            StoredEvent::Tag => api::SourceEvent::Tag,
                        })
                        .collect(),
                    branches: r.triggers.source.branches,
                    tags: r.triggers.source.tags,
                    paths: r.triggers.source.paths,
                    webhook_secret: r.triggers.source.webhook_secret,
                    poll_interval: r.triggers.source.poll_interval,
                    last_poll_error: None,
                    fork_pull_requests: match r.triggers.source.fork_pull_requests {
                        StoredForkPolicy::Approve => api::ForkPolicy::Approve,
                        StoredForkPolicy::RunWithoutSecrets => api::ForkPolicy::RunWithoutSecrets,
                        StoredForkPolicy::Never => api::ForkPolicy::Never,
                    },
                    trust_collaborators: r.triggers.source.trust_collaborators,
                    commit_status: r.triggers.source.commit_status.map(|c| api::CommitStatus {
                        provider: c.provider,
                        api_url: c.api_url,
                        token: c.token,
                    }),
                },
                base_image: api::BaseImageTrigger {
                    enabled: r.triggers.base_image.enabled,
                    trigger_type: match r.triggers.base_image.trigger_type {
                        StoredBaseImageType::Runtime => api::BaseImageTriggerType::Runtime,
                        StoredBaseImageType::All => api::BaseImageTriggerType::All,
                    },
                    quiet_period: r.triggers.base_image.quiet_period,
                },
            },
            notify: api::RunNotify { urls: r.notify.urls, secret: r.notify.secret },
            created_at: None,
            updated_at: None,
            last_run: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every field set, as a body written before the stored types existed (the API's JSON).
    fn full_body() -> serde_json::Value {
        json!({
            "name": "web-app",
            "context": "https://git.test/o/r.git#main",
            "step": {"kind": "docker", "dockerfile": "Dockerfile.prod", "images": ["app:{{.Run.ID}}"],
                     "build_args": {"A": "1"}, "secret_build_args": {"T": "sealed:v1:x"},
                     "target": "final", "platform": "linux/amd64", "no_push": true, "no_cache": true},
            "values": {"env": "prod"},
            "secret_values": {"pw": "sealed:v1:y"},
            "timeout": 600,
            "status": "Disabled",
            "agent_labels": {"os": "linux"},
            "platform": "linux/amd64",
            "git_token": "sealed:v1:z",
            "credentials": [{"login_server": "reg.test", "username": "u", "password": "sealed:v1:p"}],
            "timers": [{"name": "t1", "schedule": "0 3 * * *", "enabled": false, "missed": "run-once"},
                       {"name": "t2", "schedule": "0 4 * * *", "enabled": true}],
            "triggers": {
                "source": {"enabled": false, "events": ["commit", "pullrequest", "tag"], "branches": ["main"],
                           "tags": ["v*"], "paths": ["src/**"], "webhook_secret": "sealed:v1:w",
                           "poll_interval": 60},
                "base_image": {"enabled": false, "trigger_type": "All", "quiet_period": 30}
            }
        })
    }

    #[test]
    fn stored_json_is_pinned() {
        let record: TaskRecord = serde_json::from_value(full_body()).unwrap();
        let task = api::Task::from(record.clone());
        assert_eq!(TaskRecord::from(&task), record);
        // Written back exactly as it was read: the stored format did not move.
        assert_eq!(serde_json::to_value(TaskRecord::from(&task)).unwrap(), full_body());
    }

    #[test]
    fn the_api_reads_what_the_store_kept() {
        let task = api::Task::from(serde_json::from_value::<TaskRecord>(full_body()).unwrap());
        // The API's JSON of the same task is what was stored (plus nothing response-only).
        assert_eq!(serde_json::to_value(&task).unwrap(), full_body());
        let minimal: TaskRecord = serde_json::from_value(
            json!({"name": "small", "step": {"kind": "cmd", "cmd": "busybox true"}, "timeout": 3600}),
        )
        .unwrap();
        let task = api::Task::from(minimal);
        assert_eq!(task.triggers, api::TaskTriggers::default());
        assert_eq!(task.status, api::TaskStatus::Enabled);
    }
}
