//! What the API does, independent of HTTP: validation, sealing secrets, queueing runs,
//! cancelling, and tokens. Handlers in `server/` stay thin and call this.

use super::DaemonSettings;
use super::logs::LogStore;
use super::spec::{RunSpec, map_spec_secrets, map_task_secrets, opener, sealer};
use crate::api::{
    self, ContextInfo, NewToken, Run, RunRequest, RunType, Task, TaskRunRequest, TaskStep, TokenInfo, Trigger,
};
use crate::engine::record::RunStatus;
use crate::secrets::Cipher;
use crate::store::{Enqueued, NewRun, RunRow, Store, StoreError};
use base64::Engine as _;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why an API call failed; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input (400), with task-file diagnostics when there are some.
    #[error("{message}")]
    Invalid {
        /// What is wrong and what to do.
        message: String,
        /// Task-file findings.
        diagnostics: Vec<api::WireDiagnostic>,
    },
    /// Not there (404).
    #[error("{0}")]
    NotFound(String),
    /// Exists already, or the state forbids it (409).
    #[error("{0}")]
    Conflict(String),
    /// Too large (413).
    #[error("{0}")]
    TooLarge(String),
    /// The daemon or its database failed (500).
    #[error("{0}")]
    Internal(String),
}

/// The kind a `trigger` filter names ([`api::Trigger::kind_named`]), or a 400 saying which exist.
fn trigger_kind(given: &str) -> Result<String> {
    api::Trigger::kind_named(given).map(str::to_string).ok_or_else(|| {
        ServiceError::invalid(format!("unknown trigger `{given}`: use manual, source, timer or base_image"))
    })
}

impl ServiceError {
    /// Bad input without diagnostics.
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid { message: message.into(), diagnostics: Vec::new() }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ServiceError::NotFound(e.to_string()),
            StoreError::Conflict { .. } | StoreError::State(_) => ServiceError::Conflict(e.to_string()),
            StoreError::Database(_) | StoreError::Corrupt(_) => ServiceError::Internal(e.to_string()),
        }
    }
}

impl From<crate::secrets::CipherError> for ServiceError {
    fn from(e: crate::secrets::CipherError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

/// The daemon's shared state.
pub struct Service {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Encrypts secrets at rest.
    pub cipher: Cipher,
    /// Run logs.
    pub logs: Arc<LogStore>,
    /// Settings.
    pub settings: DaemonSettings,
    /// Wakes idle workers when a run is queued.
    pub wake: Arc<Notify>,
    /// Cancel tokens of the runs this node is executing.
    pub running: Mutex<HashMap<String, CancellationToken>>,
    /// What the trigger loops share with the API.
    pub triggers: crate::triggers::Hub,
}

type Result<T> = std::result::Result<T, ServiceError>;

/// Hash under which a token is stored (the token itself is never stored).
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl Service {
    // ---- tasks ----------------------------------------------------------------------------

    /// Validates and stores a new task; returns it redacted.
    pub async fn create_task(&self, mut task: Task) -> Result<Task> {
        self.validate_task(&task).await?;
        forget_response_fields(&mut task);
        let now = chrono::Utc::now();
        task.created_at = Some(now);
        task.updated_at = Some(now);
        map_task_secrets(&mut task, &sealer(&self.cipher))?;
        self.store.insert_task(&task).await.map_err(|e| match e {
            StoreError::Conflict { .. } => ServiceError::Conflict(format!(
                "task `{}` already exists; use `drydock task update` to change it",
                task.name
            )),
            other => other.into(),
        })?;
        self.triggers.timers_changed.notify_one();
        Ok(self.response(&task))
    }

    /// A task, with secrets revealed only when asked.
    pub async fn get_task(&self, name: &str, reveal: bool) -> Result<Task> {
        let task = self.load_task(name).await?;
        self.shown(task, reveal).await
    }

    /// A stored task as reads show it: secrets redacted (or opened, when asked), with its timers'
    /// next fire times and the poller's last error.
    async fn shown(&self, mut task: Task, reveal: bool) -> Result<Task> {
        if reveal {
            map_task_secrets(&mut task, &opener(&self.cipher))?;
        } else {
            task = task.redacted();
        }
        crate::triggers::timer::fill_next_fire(&mut task, self.triggers.clock.now());
        self.fill_poll_error(&mut task).await;
        Ok(task)
    }

    /// The poller's last error for the task's repository, when it polls one that is failing.
    async fn fill_poll_error(&self, task: &mut Task) {
        if task.triggers.source.poll_interval.is_none() {
            return;
        }
        let Some(ctx) = crate::triggers::source::git_context(task) else { return };
        let key = crate::triggers::source::poll::error_key(&ctx.key);
        let Ok(Some(stored)) = self.store.kv_get(&key).await else { return };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&stored) else { return };
        if let (Some(at), Some(error)) = (v["at"].as_str(), v["error"].as_str()) {
            task.triggers.source.last_poll_error = Some(format!("{at}: {error}"));
        }
    }

    /// A stored task as the API shows it: redacted, with its timers' next fire times.
    fn response(&self, task: &Task) -> Task {
        let mut out = task.redacted();
        crate::triggers::timer::fill_next_fire(&mut out, self.triggers.clock.now());
        out
    }

    async fn load_task(&self, name: &str) -> Result<Task> {
        self.store.get_task(name).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("task `{name}` not found; `drydock task list` shows the tasks"))
        })
    }

    /// All tasks, redacted.
    pub async fn list_tasks(&self) -> Result<Vec<Task>> {
        let mut last: HashMap<String, api::LastRun> =
            self.store.last_runs().await?.iter().filter_map(|r| Some((r.task.clone()?, last_run(r)))).collect();
        let mut tasks = Vec::new();
        for t in self.store.list_tasks().await? {
            let mut t = self.shown(t, false).await?;
            t.last_run = last.remove(&t.name);
            tasks.push(t);
        }
        Ok(tasks)
    }

    /// A task as `GET /v1/tasks/{name}` shows it: [`Service::get_task`] with its newest run.
    /// (Kept out of `get_task`, whose result is also changed and stored again.)
    pub async fn show_task(&self, name: &str, reveal: bool) -> Result<Task> {
        let mut task = self.get_task(name, reveal).await?;
        let filter = api::RunFilter { task: Some(name.to_string()), top: Some(1), ..api::RunFilter::default() };
        task.last_run = self.store.list_runs(&filter).await?.first().map(last_run);
        Ok(task)
    }

    /// Applies a JSON merge patch (RFC 7386) to a task. Secrets that the patch does not mention
    /// keep their sealed values.
    pub async fn patch_task(&self, name: &str, patch: serde_json::Value) -> Result<Task> {
        let current = self.load_task(name).await?;
        let mut doc = serde_json::to_value(&current).map_err(|e| ServiceError::Internal(e.to_string()))?;
        merge_patch(&mut doc, &patch);
        let mut task: Task = serde_json::from_value(doc)
            .map_err(|e| ServiceError::invalid(format!("the patched task is not valid: {e}")))?;
        if task.name != name {
            return Err(ServiceError::invalid("a task cannot be renamed; create a new one"));
        }
        self.replace_task(task.clone(), current.created_at).await?;
        task.updated_at = Some(chrono::Utc::now());
        Ok(self.response(&task))
    }

    /// Replaces a task with a full new definition.
    pub async fn replace_task(&self, mut task: Task, created: Option<chrono::DateTime<chrono::Utc>>) -> Result<Task> {
        let mut check = task.clone();
        // Sealed values are checked as opaque strings; that is enough for validation.
        map_task_secrets(&mut check, &opener(&self.cipher))?;
        self.validate_task(&check).await?;
        task.created_at = created;
        task.updated_at = Some(chrono::Utc::now());
        forget_response_fields(&mut task);
        map_task_secrets(&mut task, &sealer(&self.cipher))?;
        self.store.update_task(&task).await?;
        self.triggers.timers_changed.notify_one();
        Ok(self.response(&task))
    }

    /// Deletes a task.
    pub async fn delete_task(&self, name: &str) -> Result<()> {
        if self.store.delete_task(name).await? {
            self.triggers.timers_changed.notify_one();
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("task `{name}` not found")))
        }
    }

    async fn validate_task(&self, task: &Task) -> Result<()> {
        if !api::valid_task_name(&task.name) {
            return Err(ServiceError::invalid(format!(
                "invalid task name `{}`: use 5–50 letters, digits, `-` or `_`",
                task.name
            )));
        }
        if !(api::MIN_TIMEOUT..=api::MAX_TIMEOUT).contains(&task.timeout) {
            return Err(ServiceError::invalid(format!(
                "timeout {} is out of range; use {}–{} seconds",
                task.timeout,
                api::MIN_TIMEOUT,
                api::MAX_TIMEOUT
            )));
        }
        self.validate_context(task.context.as_deref()).await?;
        self.validate_step(&task.step, task.context.is_some())?;
        let mut names = std::collections::HashSet::new();
        for t in &task.timers {
            if !names.insert(&t.name) {
                return Err(ServiceError::invalid(format!("timer `{}` is defined twice", t.name)));
            }
            parse_schedule(&t.schedule)?;
        }
        validate_triggers(&task.triggers)?;
        let mut servers = std::collections::HashSet::new();
        for c in &task.credentials {
            if c.login_server.is_empty() || !servers.insert(&c.login_server) {
                return Err(ServiceError::invalid(format!(
                    "credential for `{}` is empty or given twice",
                    c.login_server
                )));
            }
        }
        Ok(())
    }

    async fn validate_context(&self, context: Option<&str>) -> Result<()> {
        let Some(ctx) = context else { return Ok(()) };
        if let Some(id) = ctx.strip_prefix("upload:") {
            if self.store.get_context(id).await?.is_none() {
                return Err(ServiceError::invalid(format!(
                    "context upload `{id}` not found; upload it with POST /v1/contexts first"
                )));
            }
            return Ok(());
        }
        match crate::buildargs::classify(ctx) {
            crate::buildargs::ContextSource::Git { .. } => Ok(()),
            _ => Err(ServiceError::invalid(format!(
                "context `{ctx}` must be a git URL (`https://host/repo.git#branch:folder`) or an upload (`upload:<id>`)"
            ))),
        }
    }

    fn validate_step(&self, step: &TaskStep, has_context: bool) -> Result<()> {
        match step {
            TaskStep::File { path: None, content: None, .. } if !has_context => Err(ServiceError::invalid(
                "a task without a context needs the task file's content (`-f FILE` with `-c /dev/null`)",
            )),
            TaskStep::File { content: Some(text), .. } => self.check_task_file(text),
            TaskStep::Cmd { cmd } if cmd.trim().is_empty() => Err(ServiceError::invalid("`cmd` is empty")),
            TaskStep::Docker(_) if !has_context => {
                Err(ServiceError::invalid("a Dockerfile build needs a context (`-c URL` or a local directory)"))
            }
            _ => Ok(()),
        }
    }

    /// Renders and validates an inline task file with placeholder run variables, so that a broken
    /// file is refused at `task create` rather than at its first run.
    fn check_task_file(&self, text: &str) -> Result<()> {
        let req = crate::taskfile::LoadRequest {
            file_name: "task file",
            source: text,
            values: serde_json::json!({}),
            secrets: BTreeMap::new(),
            run: crate::taskfile::RunVars {
                id: "0000".into(),
                registry: self.settings.registry.clone(),
                ..Default::default()
            },
            now: chrono::Utc::now(),
            alias_loader: &crate::taskfile::alias::NoAliasSources,
            options: crate::taskfile::LoadOptions {
                image_aliases: self.settings.image_aliases.clone(),
                ..Default::default()
            },
        };
        // Secrets and values are only known per run: report only structural errors here.
        match crate::taskfile::render(&req) {
            Ok(_) => Ok(()),
            Err(d) => Err(ServiceError::Invalid {
                message: "the task file is not valid".into(),
                diagnostics: d.errors().map(api::WireDiagnostic::from).collect(),
            }),
        }
    }

    // ---- runs -----------------------------------------------------------------------------

    /// Queues a quick build or quick run.
    pub async fn quick_run(&self, req: RunRequest) -> Result<Run> {
        let timeout = req.timeout.unwrap_or(api::DEFAULT_TIMEOUT);
        if timeout == 0 || timeout > api::MAX_TIMEOUT {
            return Err(ServiceError::invalid(format!("timeout must be 1–{} seconds", api::MAX_TIMEOUT)));
        }
        self.validate_context(req.context.as_deref()).await?;
        let (step, run_type) = match (req.build, req.step) {
            (Some(b), None) => (TaskStep::Docker(b), RunType::QuickBuild),
            (None, Some(s)) => (s, RunType::QuickRun),
            _ => return Err(ServiceError::invalid("give exactly one of `build` and `step`")),
        };
        self.validate_step(&step, req.context.is_some())?;
        let spec = RunSpec {
            context: req.context,
            step,
            values: req.values,
            secret_values: req.secret_values,
            timeout,
            git_token: None,
            credentials: Vec::new(),
            task_name: None,
            checkout: None,
            triggered_by: "manual".into(),
        };
        self.enqueue(spec, run_type, None, Trigger::Manual, BTreeMap::new(), None).await
    }

    /// Queues a run of a saved task.
    pub async fn run_task(
        &self,
        name: &str,
        overrides: TaskRunRequest,
        trigger: Trigger,
        dedup_key: Option<String>,
    ) -> Result<Run> {
        let mut task = self.load_task(name).await?;
        if task.status == api::TaskStatus::Disabled {
            return Err(ServiceError::Conflict(format!(
                "task `{name}` is disabled; enable it with `drydock task update -n {name} --status Enabled`"
            )));
        }
        map_task_secrets(&mut task, &opener(&self.cipher))?;
        let mut values = task.values.clone();
        values.extend(overrides.values);
        let mut secret_values = task.secret_values.clone();
        secret_values.extend(overrides.secret_values);
        let run_type = if matches!(task.step, TaskStep::Docker(_)) { RunType::AutoBuild } else { RunType::AutoRun };
        let checkout = match &trigger {
            Trigger::Source { commit, branch, event, .. } => Some(super::spec::Checkout {
                commit: commit.clone(),
                branch: branch.clone().filter(|_| event != "tag"),
                git_tag: branch.clone().filter(|_| event == "tag"),
            }),
            _ => None,
        };
        let spec = RunSpec {
            context: task.context.clone(),
            step: task.step.clone(),
            values,
            secret_values,
            timeout: task.timeout,
            git_token: task.git_token.clone(),
            credentials: task.credentials.clone(),
            task_name: Some(task.name.clone()),
            checkout,
            triggered_by: trigger.label().to_string(),
        };
        self.enqueue(spec, run_type, Some(task.name), trigger, task.agent_labels, dedup_key).await
    }

    async fn enqueue(
        &self,
        mut spec: RunSpec,
        run_type: RunType,
        task: Option<String>,
        trigger: Trigger,
        required_labels: BTreeMap<String, String>,
        dedup_key: Option<String>,
    ) -> Result<Run> {
        map_spec_secrets(&mut spec, &sealer(&self.cipher))?;
        let request = serde_json::to_value(&spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let queued =
            self.store.enqueue_run(NewRun { run_type, task, trigger, request, required_labels, dedup_key }).await?;
        if matches!(queued, Enqueued::New(_)) {
            self.wake.notify_waiters();
        }
        Ok(to_api(queued.run()))
    }

    /// One run.
    pub async fn get_run(&self, id: &str) -> Result<Run> {
        self.store
            .get_run(id)
            .await?
            .map(|r| to_api(&r))
            .ok_or_else(|| ServiceError::NotFound(format!("run `{id}` not found")))
    }

    /// Runs matching the filter, newest first.
    pub async fn list_runs(&self, filter: &api::RunFilter) -> Result<api::RunPage> {
        let top = filter.top.unwrap_or(15).clamp(1, 1000);
        let mut f = filter.clone();
        f.top = Some(top);
        f.trigger = f.trigger.as_deref().map(trigger_kind).transpose()?;
        let rows = self.store.list_runs(&f).await?;
        let next = (rows.len() == top as usize).then(|| rows.last().map(|r| r.id.clone())).flatten();
        let runs = rows
            .iter()
            .map(|r| {
                let mut run = to_api(r);
                run.steps.clear();
                run.dependencies.clear();
                run
            })
            .collect();
        Ok(api::RunPage { runs, next })
    }

    /// Cancels a run: a queued one at once; a running one is stopped by its node, and its
    /// containers, networks and volumes are removed.
    pub async fn cancel(&self, id: &str) -> Result<Run> {
        let row = self.store.cancel_run(id).await?;
        if row.status == RunStatus::Canceled {
            // Canceled while queued: its log says so.
            if let Ok(live) = self.logs.open(id) {
                crate::engine::log::LogSink::line(live.as_ref(), None, "Run canceled before it started");
                self.logs.close(id);
            }
        }
        if let Some(token) = self.running.lock().ok().and_then(|m| m.get(id).cloned()) {
            token.cancel();
        }
        Ok(to_api(&row))
    }

    // ---- contexts and tokens --------------------------------------------------------------

    /// Records an uploaded context stored at `path`.
    pub async fn record_context(&self, info: &ContextInfo, path: &str) -> Result<()> {
        Ok(self.store.insert_context(info, path).await?)
    }

    /// Creates an API token; the secret is returned once.
    pub async fn create_token(&self, name: &str) -> Result<NewToken> {
        create_token(self.store.as_ref(), name).await
    }

    /// Lists tokens.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(self.store.list_tokens().await?)
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        if self.store.revoke_token(id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("token `{id}` not found")))
        }
    }

    /// Whether a bearer token is valid.
    pub async fn authenticate(&self, token: &str) -> Result<bool> {
        Ok(self.store.use_token(&token_hash(token)).await?.is_some())
    }
}

/// Creates a token in a store (used by the API and, offline, by `drydock token create --data-dir`).
pub async fn create_token(store: &dyn Store, name: &str) -> Result<NewToken> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid("give the token a name of 1–100 characters"));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let token = format!("ddk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    let mut id_raw = [0u8; 6];
    getrandom::fill(&mut id_raw).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let info = TokenInfo {
        id: hex::encode(id_raw),
        name: name.to_string(),
        created_at: chrono::Utc::now(),
        last_used_at: None,
        revoked: false,
    };
    store.insert_token(&info, &token_hash(&token)).await?;
    Ok(NewToken { info, token })
}

/// The shortest git polling interval accepted, seconds.
pub const MIN_POLL_INTERVAL: u64 = 30;
/// The longest base-image quiet period accepted, seconds.
pub const MAX_QUIET_PERIOD: u64 = 3_600;

/// Checks trigger settings: filters compile, intervals are sane.
fn validate_triggers(t: &api::TaskTriggers) -> Result<()> {
    let s = &t.source;
    for (what, globs) in [("branch", &s.branches), ("tag", &s.tags), ("path", &s.paths)] {
        crate::triggers::glob::Filter::new(globs).map_err(|e| ServiceError::invalid(format!("{what} filter: {e}")))?;
    }
    if let Some(p) = s.poll_interval
        && p < MIN_POLL_INTERVAL
    {
        return Err(ServiceError::invalid(format!(
            "poll interval {p}s is too short; give at least {MIN_POLL_INTERVAL} seconds"
        )));
    }
    if s.enabled && s.events.is_empty() {
        return Err(ServiceError::invalid(
            "the source trigger is enabled with no events; enable commit, pullrequest or tag, or disable it",
        ));
    }
    if t.base_image.quiet_period > MAX_QUIET_PERIOD {
        return Err(ServiceError::invalid(format!(
            "base-image quiet period {}s is too long; give at most {MAX_QUIET_PERIOD} seconds",
            t.base_image.quiet_period
        )));
    }
    Ok(())
}

/// `next_fire`, the poll error and the last run are computed for responses; a client that sends
/// them back does not get them stored.
fn forget_response_fields(task: &mut Task) {
    for t in &mut task.timers {
        t.next_fire = None;
    }
    task.triggers.source.last_poll_error = None;
    task.last_run = None;
}

fn last_run(r: &RunRow) -> api::LastRun {
    api::LastRun { id: r.id.clone(), status: r.status, queued_at: r.queued_at, finished_at: r.finished_at }
}

/// Checks a timer schedule: 5-field cron in UTC, or 6 fields with seconds.
pub fn parse_schedule(schedule: &str) -> Result<croner::Cron> {
    let fields = schedule.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(ServiceError::invalid(format!(
            "schedule `{schedule}` has {fields} fields; write 5 (minute hour day month weekday, UTC) or 6 (with seconds first)"
        )));
    }
    croner::parser::CronParser::builder()
        .seconds(if fields == 6 { croner::parser::Seconds::Required } else { croner::parser::Seconds::Disallowed })
        .build()
        .parse(schedule)
        .map_err(|e| ServiceError::invalid(format!("schedule `{schedule}`: {e}")))
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(p) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(Default::default());
            }
            if let serde_json::Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The API form of a stored run.
pub fn to_api(r: &RunRow) -> Run {
    Run {
        id: r.id.clone(),
        status: r.status,
        run_type: r.run_type,
        task: r.task.clone(),
        trigger: r.trigger.clone(),
        queued_at: r.queued_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        platform: r.platform.clone(),
        steps: r.steps.clone(),
        output_images: r.output_images.clone(),
        dependencies: r.dependencies.clone(),
        error: r.error.clone(),
        node: r.node.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(&mut doc, &json!({"a": null, "b": {"c": 5}, "e": [2], "f": "new"}));
        assert_eq!(doc, json!({"b": {"c": 5, "d": 3}, "e": [2], "f": "new"}));
    }

    #[test]
    fn schedules_take_five_or_six_fields() {
        assert!(parse_schedule("30 9 * * 1-5").is_ok());
        assert!(parse_schedule("0 30 9 * * 1-5").is_ok());
        assert!(parse_schedule("* * *").is_err());
        assert!(parse_schedule("61 * * * *").is_err());
    }

    #[test]
    fn trigger_filters_take_kinds_or_the_labels_listings_show() {
        for (given, kind) in [
            ("source", "source"),
            ("Commit", "source"),
            ("Pull Request", "source"),
            ("Image Update", "base_image"),
            ("base-image", "base_image"),
            ("Timer", "timer"),
            ("MANUAL", "manual"),
        ] {
            assert_eq!(trigger_kind(given).unwrap(), kind, "{given}");
        }
        let err = trigger_kind("cron").unwrap_err().to_string();
        assert!(err.contains("unknown trigger `cron`") && err.contains("base_image"), "{err}");
    }
}
