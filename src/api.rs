//! The daemon's HTTP API types (JSON under `/v1`), shared by the server and the CLI client.
//!
//! Secret fields travel in requests as plain values and come back as `"***"` unless the caller
//! asks for secure properties; they are never stored in plain text.

use crate::run::{OutputImage, RunStatus, StepRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a secret looks like in a response when it is not revealed.
pub const REDACTED: &str = "***";

/// Task names follow ACR: 5–50 characters of `[A-Za-z0-9-_]`.
pub fn valid_task_name(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Run timeout bounds in seconds (ACR's).
pub const MIN_TIMEOUT: u64 = 300;
/// Run timeout upper bound (8 h).
pub const MAX_TIMEOUT: u64 = 28_800;
/// Default run timeout.
pub const DEFAULT_TIMEOUT: u64 = 3_600;

/// Whether a task may run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum TaskStatus {
    /// Runs when asked or triggered.
    #[default]
    Enabled,
    /// Refuses runs and ignores triggers.
    Disabled,
}

/// What a task runs: a task file, one command, or a Dockerfile build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskStep {
    /// A task file: a path inside the context, or the file's text when there is no context.
    File {
        /// Path inside the context (default `acb.yaml`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The task file itself, for tasks without a context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        /// Values file, a path inside the context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        values_file: Option<String>,
    },
    /// One command, `IMAGE ARGS` (ACR's `--cmd`).
    Cmd {
        /// The command.
        cmd: String,
    },
    /// A Dockerfile build (ACR's build task): build, then push unless `no_push`.
    Docker(DockerBuild),
}

/// A Dockerfile build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DockerBuild {
    /// Dockerfile path inside the context (default `Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Images to tag and push; run variables allowed; a name without a registry gets the daemon's.
    #[serde(default)]
    pub images: Vec<String>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Secret build arguments (redacted in responses).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_build_args: BTreeMap<String, String>,
    /// Stage to build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Build but do not push.
    #[serde(default)]
    pub no_push: bool,
    /// Build without the layer cache.
    #[serde(default)]
    pub no_cache: bool,
}

/// A registry login for a task's runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Credential {
    /// Registry host, e.g. `myreg.example.com:5000`.
    pub login_server: String,
    /// User name.
    pub username: String,
    /// Password or token (redacted in responses).
    pub password: String,
}

/// A named cron timer of a task (fired by the trigger service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timer {
    /// Name, unique within the task (`t1`, `t2`, … by default).
    pub name: String,
    /// 5-field cron in UTC (6 fields with seconds are accepted).
    pub schedule: String,
    /// Whether it fires.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What to do about occurrences missed while no daemon was running.
    #[serde(default, skip_serializing_if = "MissedPolicy::is_default")]
    pub missed: MissedPolicy,
    /// When it fires next (responses only; absent when disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_fire: Option<DateTime<Utc>>,
}

/// What a timer does about occurrences that passed while no daemon was up to fire them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MissedPolicy {
    /// Record them as skipped and wait for the next occurrence.
    #[default]
    Skip,
    /// Fire once for the latest missed occurrence; record the others as skipped.
    RunOnce,
}

impl MissedPolicy {
    fn is_default(&self) -> bool {
        *self == MissedPolicy::Skip
    }
}

fn yes() -> bool {
    true
}

/// A git event a source trigger can fire on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceEvent {
    /// A push to a branch.
    Commit,
    /// A pull (merge) request opened, updated or reopened.
    Pullrequest,
    /// A tag pushed.
    Tag,
}

impl SourceEvent {
    /// The name used in run records and flags.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceEvent::Commit => "commit",
            SourceEvent::Pullrequest => "pullrequest",
            SourceEvent::Tag => "tag",
        }
    }
}

fn default_source_events() -> Vec<SourceEvent> {
    vec![SourceEvent::Commit]
}

/// When pushes to the task's git context start runs (webhooks, and optionally polling).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceTrigger {
    /// Whether git events start runs (only tasks with a git context have any).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Events that fire (default: commit).
    #[serde(default = "default_source_events")]
    pub events: Vec<SourceEvent>,
    /// Branch filters, exact or glob (`main`, `release/*`, `**`); commits are matched by the
    /// branch pushed to, pull requests by their target branch. Empty: the context's `#branch`,
    /// else the repository's default branch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    /// Tag filters, exact or glob (default: every tag).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Path filters (globs; `!glob` excludes): fire only when a changed file matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Shared secret that webhook deliveries are signed with (redacted in responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Also compare the tracked branch heads every this many seconds (catches missed webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
    /// Why the last look at the repository failed, with when (responses only; absent once a
    /// look succeeds again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_error: Option<String>,
    /// What a pull request from a fork may do (default, and absent when it is: `approve`).
    #[serde(default, skip_serializing_if = "ForkPolicy::is_default")]
    pub fork_pull_requests: ForkPolicy,
    /// Pull requests whose author the provider marks as owner, member or collaborator (GitHub's
    /// `author_association`) run as if they had pushed, fork or not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trust_collaborators: bool,
    /// Commit statuses reported back to the git server for the runs pushes and pull requests
    /// start (absent: none are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status: Option<CommitStatus>,
}

/// Where and how a task's runs report commit statuses (pending, running, success, failure).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommitStatus {
    /// `github`, `gitlab` or `gitea` (Forgejo too); default: the provider whose webhook started
    /// the run, else the one the repository's host names (github.com, gitlab.com, codeberg.org).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The provider's API base URL (`https://git.example.com/api/v4`); default: derived from the
    /// repository URL (github.com: `https://api.github.com`; GitHub Enterprise `/api/v3`, GitLab
    /// `/api/v4`, Gitea and Forgejo `/api/v1` on the repository's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// A token allowed to set commit statuses (redacted in responses).
    pub token: String,
}

/// Signed JSON events sent when a task's runs start and end (`--notify-url`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunNotify {
    /// Receivers of the events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Key of the events' HMAC-SHA256 `X-Drydock-Signature` (redacted in responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl RunNotify {
    fn is_empty(&self) -> bool {
        self.urls.is_empty() && self.secret.is_none()
    }
}

/// What a pull request from a fork may do: its task file and steps are the fork author's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ForkPolicy {
    /// The run waits (`AwaitingApproval`) until a person approves or rejects it; nothing of the
    /// fork is fetched or run before.
    #[default]
    Approve,
    /// The run goes ahead without the task's secrets, registry logins or the engine's socket;
    /// pushes fail.
    RunWithoutSecrets,
    /// The delivery is recorded as ignored.
    Never,
}

impl ForkPolicy {
    fn is_default(&self) -> bool {
        *self == ForkPolicy::Approve
    }

    /// The name used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ForkPolicy::Approve => "approve",
            ForkPolicy::RunWithoutSecrets => "run-without-secrets",
            ForkPolicy::Never => "never",
        }
    }
}

/// A decision on a run that waited for approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Approval {
    /// `approved`, `rejected`, `replaced` (a newer commit of the pull request) or `expired`
    /// (`--approval-timeout`).
    pub decision: String,
    /// The name of the token that decided (`drydock` for replaced and expired).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The step it waited before (`--approve-before`); none for a fork's pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Why, when the decider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Default for SourceTrigger {
    fn default() -> Self {
        SourceTrigger {
            enabled: true,
            events: default_source_events(),
            branches: Vec::new(),
            tags: Vec::new(),
            paths: Vec::new(),
            webhook_secret: None,
            poll_interval: None,
            last_poll_error: None,
            fork_pull_requests: ForkPolicy::default(),
            trust_collaborators: false,
            commit_status: None,
        }
    }
}

/// Which base images of a task are watched (ACR's base-image trigger type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum BaseImageTriggerType {
    /// Only the final stage's base image.
    #[default]
    Runtime,
    /// Every stage's base image.
    All,
}

fn default_quiet_period() -> u64 {
    10
}

/// Rebuilds when a base image the task built from changes digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaseImageTrigger {
    /// Whether base-image updates start runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Runtime (the default) or All.
    #[serde(default)]
    pub trigger_type: BaseImageTriggerType,
    /// Changes within this many seconds of each other fire one run.
    #[serde(default = "default_quiet_period")]
    pub quiet_period: u64,
}

impl Default for BaseImageTrigger {
    fn default() -> Self {
        BaseImageTrigger {
            enabled: true,
            trigger_type: BaseImageTriggerType::Runtime,
            quiet_period: default_quiet_period(),
        }
    }
}

/// A task's source and base-image triggers (timers are listed separately).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskTriggers {
    /// Git pushes, tags and pull requests.
    #[serde(default)]
    pub source: SourceTrigger,
    /// Base-image updates.
    #[serde(default)]
    pub base_image: BaseImageTrigger,
}

/// A saved task, as sent on create/update and returned by show/list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Task {
    /// Name (5–50 of `[A-Za-z0-9-_]`).
    pub name: String,
    /// Context: a git URL (`https://host/repo.git#branch:folder`), `upload:<context id>`, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// What to run.
    pub step: TaskStep,
    /// Values (`--set`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Secret values (`--set-secret`; redacted in responses).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_values: BTreeMap<String, String>,
    /// Run timeout in seconds, 300–28800.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Enabled or Disabled.
    #[serde(default)]
    pub status: TaskStatus,
    /// Labels a node must have to run this task (`os=linux`, `gpu=true`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_labels: BTreeMap<String, String>,
    /// Platform, e.g. `linux/amd64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Token for a private git context (redacted in responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_token: Option<String>,
    /// Registry logins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Private key (PEM, from `drydock key generate`) that signs every image the task's runs push,
    /// cosign-style (sealed at rest; redacted in responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_key: Option<String>,
    /// Public keys (PEM) one of which must have signed every base image the task builds FROM
    /// (`--require-signed-base`); a build from an unsigned base fails before it starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_signed_base: Vec<String>,
    /// Timers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<Timer>,
    /// Steps (by id) that wait for a person's approval before they start (`--approve-before`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approve_before: Vec<String>,
    /// Seconds a run waits for approval before it ends Canceled (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<u64>,
    /// Source and base-image triggers.
    #[serde(default)]
    pub triggers: TaskTriggers,
    /// Events sent out when its runs start and end.
    #[serde(default, skip_serializing_if = "RunNotify::is_empty")]
    pub notify: RunNotify,
    /// When it was created (responses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed (responses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Its newest run (`GET /v1/tasks` and `GET /v1/tasks/{name}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
}

/// A task's newest run, as task reads show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LastRun {
    /// Run id.
    pub id: String,
    /// Status.
    pub status: RunStatus,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT
}

impl Task {
    /// The same task with every secret replaced by `***`.
    pub fn redacted(&self) -> Task {
        let mut t = self.clone();
        for v in t.secret_values.values_mut() {
            *v = REDACTED.into();
        }
        if t.git_token.is_some() {
            t.git_token = Some(REDACTED.into());
        }
        if t.sign_key.is_some() {
            t.sign_key = Some(REDACTED.into());
        }
        for c in &mut t.credentials {
            c.password = REDACTED.into();
        }
        if t.triggers.source.webhook_secret.is_some() {
            t.triggers.source.webhook_secret = Some(REDACTED.into());
        }
        if let Some(c) = &mut t.triggers.source.commit_status {
            c.token = REDACTED.into();
        }
        if t.notify.secret.is_some() {
            t.notify.secret = Some(REDACTED.into());
        }
        if let TaskStep::Docker(d) = &mut t.step {
            for v in d.secret_build_args.values_mut() {
                *v = REDACTED.into();
            }
        }
        t
    }
}

/// How a run was started; the run type follows ACR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RunType {
    /// `drydock build` without a task.
    QuickBuild,
    /// `drydock run` without a task.
    QuickRun,
    /// A task with a Dockerfile step.
    AutoBuild,
    /// A task with a task file or command.
    AutoRun,
}

/// What started a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A person or script asked for it.
    Manual,
    /// A git push or pull request.
    Source {
        /// `github`, `gitlab`, `gitea`, `generic`, or `poll`.
        provider: String,
        /// `commit`, `pullrequest` or `tag`.
        event: String,
        /// Delivery id from the provider.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery_id: Option<String>,
        /// Commit checked out.
        commit: String,
        /// Branch (or tag).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        /// Pull request number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pull_request: Option<u64>,
        /// Repository URL.
        repository: String,
        /// The pull request comes from another repository (a fork).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        from_fork: bool,
        /// The fork it comes from, when the provider still names it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        head_repository: Option<String>,
    },
    /// A cron timer.
    Timer {
        /// Timer name.
        name: String,
        /// The occurrence it fired for.
        occurrence: DateTime<Utc>,
    },
    /// A base image changed.
    BaseImage {
        /// The image reference.
        image: String,
        /// Digest before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_digest: Option<String>,
        /// Digest after.
        new_digest: String,
        /// The drydock run that pushed the new digest, when this is a cascade.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cascade_from: Option<String>,
    },
}

impl Trigger {
    /// The kind (`manual`, `source`, `timer`, `base_image`) a `trigger` filter names: the kind
    /// itself or the label the TRIGGER column shows (`Commit`, `Image Update`), in any case, with
    /// `-` or a space for `_`, so a filter copied from a listing works. `None` for anything else.
    pub fn kind_named(given: &str) -> Option<&'static str> {
        let key = given.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match key.as_str() {
            "manual" => "manual",
            "timer" => "timer",
            "source" | "commit" | "pull_request" | "pullrequest" | "tag" => "source",
            "base_image" | "image_update" | "baseimage" => "base_image",
            _ => return None,
        })
    }

    /// The kind: `manual`, `source`, `timer` or `base_image`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Source { .. } => "source",
            Trigger::Timer { .. } => "timer",
            Trigger::BaseImage { .. } => "base_image",
        }
    }

    /// The TRIGGER column of run listings, as ACR labels it.
    pub fn label(&self) -> &'static str {
        match self {
            Trigger::Manual => "Manual",
            Trigger::Source { event, .. } if event == "pullrequest" => "Pull Request",
            Trigger::Source { .. } => "Commit",
            Trigger::Timer { .. } => "Timer",
            Trigger::BaseImage { .. } => "Image Update",
        }
    }
}

/// What became of a webhook delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Stored, not processed yet (a crash in between is recovered at start-up).
    Received,
    /// Runs were queued.
    Queued,
    /// No task wanted it; `reason` says why.
    Ignored,
    /// Processing failed; `reason` says why.
    Failed,
    /// Refused before any task's secret verified it (unknown task or repository, bad or missing
    /// signature); `reason` says which, for API users only: the sender got one answer for all.
    Refused,
}

impl DeliveryOutcome {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Received => "received",
            DeliveryOutcome::Queued => "queued",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::Refused => "refused",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => DeliveryOutcome::Received,
            "queued" => DeliveryOutcome::Queued,
            "ignored" => DeliveryOutcome::Ignored,
            "failed" => DeliveryOutcome::Failed,
            "refused" => DeliveryOutcome::Refused,
            _ => return None,
        })
    }
}

/// A webhook delivery in the inbox (`GET /v1/hooks/deliveries`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Delivery {
    /// `github`, `gitlab`, `gitea`, `generic`.
    pub provider: String,
    /// The provider's delivery id (redeliveries repeat it).
    pub delivery_id: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The task it was addressed to (generic receiver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Repository it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The event as drydock understood it.
    pub event: serde_json::Value,
    /// What became of it.
    pub outcome: DeliveryOutcome,
    /// Why it was ignored or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Runs it queued.
    #[serde(default)]
    pub runs: Vec<String>,
}

/// Whether a timer occurrence fired or was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimerOutcome {
    /// A run was queued.
    Fired,
    /// Missed while no daemon ran, and skipped by the timer's policy.
    Skipped,
    /// Due, but the run could not be queued (the daemon's log says why).
    Failed,
}

/// One entry of a timer's history: a fired occurrence, or a stretch of skipped ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimerEvent {
    /// Task.
    pub task: String,
    /// Timer name.
    pub timer: String,
    /// The (first) occurrence.
    pub occurrence: DateTime<Utc>,
    /// The last occurrence of a skipped stretch (equal to `occurrence` for one).
    pub last_occurrence: DateTime<Utc>,
    /// Occurrences in this entry.
    pub count: u64,
    /// Fired or skipped.
    pub outcome: TimerOutcome,
    /// The run it queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// How a task's build used an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageRole {
    /// Base of a final stage.
    Runtime,
    /// Base of another stage.
    Buildtime,
    /// Built and pushed by the task.
    Output,
}

impl ImageRole {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ImageRole::Runtime => "runtime",
            ImageRole::Buildtime => "buildtime",
            ImageRole::Output => "output",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "runtime" => ImageRole::Runtime,
            "buildtime" => ImageRole::Buildtime,
            "output" => ImageRole::Output,
            _ => return None,
        })
    }
}

/// One image a task's last successful build used or produced, with the watcher's view of it
/// (`GET /v1/tasks/{name}/dependencies`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageDependency {
    /// `registry/repository:tag`.
    pub image: String,
    /// Runtime or build-time base, or output.
    pub role: ImageRole,
    /// The digest the build used (or pushed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The run that recorded it.
    pub run_id: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Whether a change of this image triggers the task (its trigger type and status allow it).
    pub watched: bool,
    /// What the tag resolved to when last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_digest: Option<String>,
    /// The watcher's checks of the image.
    #[serde(flatten)]
    pub check: ImageCheck,
}

/// What the base-image watcher knows of an image's tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageCheck {
    /// When it was last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// When its digest last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
    /// Why the last check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A change waiting out its quiet period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingImageChange>,
    /// When the watcher asks the registry next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check: Option<DateTime<Utc>>,
}

/// A digest change of a base image that fires when its quiet period is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingImageChange {
    /// The digest before the first change of the burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_digest: Option<String>,
    /// The newest digest seen.
    pub new_digest: String,
    /// When dependents are queued unless another change comes first.
    pub due: DateTime<Utc>,
}

/// One task's use of a watched image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageUser {
    /// Task.
    pub task: String,
    /// Runtime or build-time base.
    pub role: ImageRole,
    /// The digest the task's last successful build used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Whether a change of the image triggers the task.
    pub watched: bool,
}

/// A base image the watcher tracks, with the tasks that build from it (`GET /v1/images`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WatchedImage {
    /// `registry/repository:tag`.
    pub image: String,
    /// Tasks building from it.
    pub users: Vec<ImageUser>,
    /// Tasks whose last successful run pushed it (a push by one of them cascades to the users).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<String>,
    /// The digest last acted on (fired for, pushed by drydock, or first seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The watcher's checks of the image.
    #[serde(flatten)]
    pub check: ImageCheck,
}

/// A task's image dependencies (`drydock task deps`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskDependencies {
    /// Task.
    pub task: String,
    /// Base images and outputs; empty until a build of the task succeeds.
    pub images: Vec<ImageDependency>,
    /// Tasks that build from an image this task pushes.
    #[serde(default)]
    pub dependents: Vec<String>,
}

/// A quick build or quick run sent to `POST /v1/runs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRequest {
    /// Context: `upload:<context id>` (from `POST /v1/contexts`), a git URL, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A build (quick build) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<DockerBuild>,
    /// ... or a task file / command (quick run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<TaskStep>,
    /// Values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Secret values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_values: BTreeMap<String, String>,
    /// Run timeout in seconds (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// A PEM private key (`cosign.key` from `drydock key generate`) that signs every image the run
    /// pushes. Sealed before it is stored; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_key: Option<String>,
    /// PEM public keys: every base image a build uses must be signed by one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_signed_base: Vec<String>,
    /// The run's platform(s) for a quick run, `os/arch[/variant]` (comma-separated for builds of
    /// several): the default of its build steps, and what its cmd steps run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// Per-run overrides for `POST /v1/tasks/{name}/runs` (ACR's `task run --set`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskRunRequest {
    /// Values merged over the task's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Secret values merged over the task's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_values: BTreeMap<String, String>,
    /// Build this branch, tag or commit of the task's git context instead of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Run this task file (a path in the context) instead of the task's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A values file merged over the task's own; `values` win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<ValuesFile>,
}

/// A run as the API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Run {
    /// Run id (short base36).
    pub id: String,
    /// Status.
    pub status: RunStatus,
    /// Run type.
    pub run_type: RunType,
    /// Task name, for task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// What started it.
    pub trigger: Trigger,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// `os/arch` it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Step results (left out of listings, and until the run is planned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
    /// Pushed images with digests.
    #[serde(default)]
    pub output_images: Vec<OutputImage>,
    /// Base-image dependencies: ACR's dependency JSON, one element per built image (left out of
    /// listings, and when the run built nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<serde_json::Value>,
    /// Why it did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Node that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Who approved or rejected it, for a run that waited for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// The step it waits before for a person's approval, while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_step: Option<String>,
    /// The run this one reruns (`drydock runs rerun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// The run this one resumes (`drydock runs resume`): its steps that succeeded there are
    /// `Reused` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<String>,
    /// Until when it keeps its workspace for a resume (a run that did not succeed, while no resume
    /// has taken it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_kept_until: Option<DateTime<Utc>>,
    /// Its reruns and resumes, oldest first (one run's reads only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reruns: Vec<String>,
    /// The commit statuses and run events sent about it, with their answers (one run's reads
    /// only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<OutgoingDelivery>,
    /// Why a queued run waits: no node that is up can take it (its platform, its labels), and
    /// what would let one. Only in `GET /v1/runs/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

/// What an outgoing delivery carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingKind {
    /// A run event (`run.started`, `run.finished`) to a `--notify-url`.
    Webhook,
    /// A commit status on the git server.
    CommitStatus,
}

/// Where an outgoing delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingState {
    /// Not answered with success yet; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; `answer` says how the last one did.
    Failed,
    /// A newer status of the same run replaced it before it was delivered.
    Superseded,
}

impl OutgoingState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingState::Pending => "pending",
            OutgoingState::Delivered => "delivered",
            OutgoingState::Failed => "failed",
            OutgoingState::Superseded => "superseded",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutgoingState::Pending,
            "delivered" => OutgoingState::Delivered,
            "failed" => OutgoingState::Failed,
            "superseded" => OutgoingState::Superseded,
            _ => return None,
        })
    }
}

/// A commit status or run event drydock sends, with the receiver's answers
/// (`GET /v1/hooks/outgoing`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutgoingDelivery {
    /// Its id (`X-Drydock-Delivery` of a run event): the same on every attempt.
    pub id: String,
    /// The run it is about.
    pub run_id: String,
    /// The run's task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Webhook or commit status.
    pub kind: OutgoingKind,
    /// `run.started`/`run.finished`, or the status sent (`pending`, `running`, `success`, …).
    pub event: String,
    /// Where it goes.
    pub url: String,
    /// Where it stands.
    pub state: OutgoingState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was last tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When it is tried next (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// The start of the last answer's body, or why no answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// `GET /v1/runs` filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunFilter {
    /// Only runs of this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Only runs with this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// Only runs that pushed this image (`repo:tag` or `registry/repo:tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Only runs with this trigger label kind (`manual`, `source`, `timer`, `base_image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// At most this many (default 15, like ACR; at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// Only runs older than this run id (pagination cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// A page of runs; `next` is the cursor for the following page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunPage {
    /// Newest first.
    pub runs: Vec<Run>,
    /// Pass as `before` to get the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// What a daemon says about itself (`GET /v1/info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DaemonInfo {
    /// drydock version.
    pub version: String,
    /// The node that answered.
    pub node: String,
    /// Registry used for `$Registry` and for image names without one.
    pub registry: String,
    /// Labels the node advertises.
    pub labels: BTreeMap<String, String>,
    /// The cluster-wide roles this node performs now (`base-image-watcher`, `git-poller`): one
    /// node at a time holds each.
    #[serde(default)]
    pub leads: Vec<String>,
}

/// Where a node is in its life (`drydock node list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Claims runs.
    Active,
    /// Claims nothing new; its runs go on until they end or the grace period runs out.
    Draining,
    /// Shut down cleanly.
    Left,
    /// Has not reported for longer than a lease: killed, cut off, or hung.
    Lost,
}

impl NodeState {
    /// The name the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Active => "active",
            NodeState::Draining => "draining",
            NodeState::Left => "left",
            NodeState::Lost => "lost",
        }
    }
}

/// A node of the database, as it last reported itself (`GET /v1/nodes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeInfo {
    /// The node's id.
    pub id: String,
    /// Where other nodes reach its API.
    pub url: String,
    /// Its drydock version.
    pub version: String,
    /// The labels runs are matched against.
    pub labels: BTreeMap<String, String>,
    /// Worker slots (`--concurrency`).
    pub slots: u32,
    /// Slots in use at its last report.
    pub busy: u32,
    /// Runs it holds a lease on now (Running, or paused for approval).
    pub runs: u32,
    /// The latest lease among them runs until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// The cluster-wide roles it leads.
    pub roles: Vec<String>,
    /// Active, draining, left or lost.
    pub state: NodeState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last reported.
    pub seen_at: DateTime<Utc>,
}

/// `POST /v1/runs/{id}/rerun`: values merged over the original's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RerunRequest {
    /// Values that replace or add to the original run's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// A values file merged over the task's own (`--values`); `values`, and the original's, win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<ValuesFile>,
}

/// A values file sent with a request (YAML, as ACR's `--values`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValuesFile {
    /// Its name, for error messages.
    pub name: String,
    /// Its text.
    pub content: String,
}

/// `POST /v1/runs/{id}/resume`: values merged over the original's, and whether `.Run.ID` changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResumeRequest {
    /// Values that replace or add to the original run's (`--set`). A step that succeeded must
    /// render as it did, or the resume is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Render with the new run's id as `.Run.ID` (by default the original's, so that tags and
    /// paths made of it still match what the reused steps produced).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_id: bool,
    /// A values file merged over the task's own (`--values`); `values`, and the original's, win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<ValuesFile>,
}

/// `POST /v1/prune`: delete finished runs and their logs now. Limits not given are the daemon's
/// own (`--keep-runs`, `--keep-days`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PruneRequest {
    /// Keep the newest N runs of each task (quick runs count as one group); 0 keeps all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_runs: Option<u32>,
    /// Keep runs that finished in the last D days; 0 keeps all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_days: Option<u32>,
    /// Only say what would go.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a prune deleted, or would delete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PruneReport {
    /// Nothing was deleted.
    pub dry_run: bool,
    /// The limits applied (0: none).
    pub keep_runs: u32,
    /// The limits applied (0: none).
    pub keep_days: u32,
    /// The runs, oldest first.
    pub runs: Vec<PrunedRun>,
    /// Bytes of their logs kept on the node that answered (other nodes remove their own).
    pub log_bytes: u64,
}

/// One run a prune deleted, or would delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PrunedRun {
    /// Run id.
    pub id: String,
    /// Its task; none for quick runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Final status.
    pub status: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// `age` (older than keep-days) or `count` (beyond keep-runs).
    pub reason: String,
}

/// An uploaded context archive (`POST /v1/contexts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContextInfo {
    /// Id to use as `upload:<id>`.
    pub id: String,
    /// sha256 of the uploaded bytes.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

/// An API token as listed (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenInfo {
    /// Token id.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A freshly created token: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewToken {
    /// Its listing entry.
    #[serde(flatten)]
    pub info: TokenInfo,
    /// The bearer token.
    pub token: String,
}

/// `POST /v1/tokens` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateToken {
    /// A name to recognise it by.
    pub name: String,
}

/// Every error response: what went wrong and what to do, with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiError {
    /// Stable kebab-case code (`not-found`, `invalid`, `unauthorized`, `conflict`, …).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Task-file diagnostics, when the error is about a task file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<WireDiagnostic>,
}

/// A task-file diagnostic on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WireDiagnostic {
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// File name.
    pub file: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known (0 = line only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub col: Option<u32>,
    /// What to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The whole diagnostic as drydock prints it (file:line:col, source line, caret, help).
    pub rendered: String,
}

impl From<&crate::taskfile::Diagnostic> for WireDiagnostic {
    fn from(d: &crate::taskfile::Diagnostic) -> Self {
        WireDiagnostic {
            severity: if d.is_error() { "error".into() } else { "warning".into() },
            code: d.code.to_string(),
            message: d.message.clone(),
            file: d.file.clone(),
            line: d.pos.map(|p| p.line),
            col: d.pos.map(|p| p.col),
            help: d.help.clone(),
            rendered: d.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_follow_acr() {
        assert!(valid_task_name("build-app_1"));
        assert!(!valid_task_name("abc"));
        assert!(!valid_task_name("has space"));
        assert!(!valid_task_name(&"a".repeat(51)));
    }

    #[test]
    fn redaction_hides_every_secret() {
        let t = Task {
            name: "hello-task".into(),
            context: None,
            step: TaskStep::Docker(DockerBuild {
                secret_build_args: BTreeMap::from([("TOKEN".into(), "s3cret".into())]),
                ..DockerBuild::default()
            }),
            values: BTreeMap::new(),
            secret_values: BTreeMap::from([("pw".into(), "hunter2".into())]),
            timeout: 3600,
            status: TaskStatus::Enabled,
            agent_labels: BTreeMap::new(),
            platform: None,
            git_token: Some("ghp_x".into()),
            sign_key: Some("-----BEGIN PRIVATE KEY-----".into()),
            require_signed_base: Vec::new(),
            approve_before: Vec::new(),
            approval_timeout: None,
            credentials: vec![Credential { login_server: "r".into(), username: "u".into(), password: "p4ss".into() }],
            timers: vec![],
            triggers: TaskTriggers {
                source: SourceTrigger {
                    webhook_secret: Some("whsec-9".into()),
                    commit_status: Some(CommitStatus { provider: None, api_url: None, token: "ghp-status".into() }),
                    ..SourceTrigger::default()
                },
                ..TaskTriggers::default()
            },
            notify: RunNotify { urls: vec!["https://hooks.example/x".into()], secret: Some("hmac-7".into()) },
            created_at: None,
            updated_at: None,
            last_run: None,
        };
        let text = serde_json::to_string(&t.redacted()).unwrap();
        for secret in ["s3cret", "hunter2", "ghp_x", "BEGIN PRIVATE KEY", "p4ss", "whsec-9", "ghp-status", "hmac-7"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
