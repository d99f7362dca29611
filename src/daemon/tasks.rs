//! Saved tasks: create, read, patch, replace and delete, and the edits of their parts (timers,
//! registry logins) without revealing the secrets they keep. Every write validates the whole task
//! (name, timeout, context, step, timers' schedules, trigger filters) and signals the change.

use super::Service;
use super::runs::last_run;
use super::service::{Result, ServiceError};
use crate::api::{self, Task, TaskStep, Timer};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::collections::HashMap;

impl Service {
    /// Validates and stores a new task; returns it redacted.
    pub async fn create_task(&self, mut task: Task) -> Result<Task> {
        lift_context_credential(&mut task.context, &mut task.git_token);
        self.validate_task(&task).await?;
        forget_response_fields(&mut task);
        let now = chrono::Utc::now();
        task.created_at = Some(now);
        task.updated_at = Some(now);
        self.seal_task(&mut task)?;
        self.store.insert_task(&task).await.map_err(|e| match e {
            StoreError::Conflict { .. } => ServiceError::Conflict(format!(
                "task `{}` already exists; use `drydock task update` to change it",
                task.name
            )),
            other => other.into(),
        })?;
        self.task_changes().notify_one();
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
            task = self.unseal_task(task)?;
        } else {
            task = task.redacted();
        }
        fill_next_fire(&mut task, self.clock().now());
        self.fill_poll_error(&mut task).await;
        Ok(task)
    }

    /// The poller's last error for the task's repository, when it polls one that is failing.
    async fn fill_poll_error(&self, task: &mut Task) {
        if task.triggers.source.poll_interval.is_none() {
            return;
        }
        let Some(ctx) = task.context.as_deref().and_then(crate::repository::git_context) else { return };
        if let Ok(Some(failure)) = crate::store::facts::poll_error(self.store.as_ref(), &ctx.key).await {
            let at = failure.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            task.triggers.source.last_poll_error = Some(format!("{at}: {}", failure.error));
        }
    }

    /// A stored task as the API shows it: redacted, with its timers' next fire times.
    fn response(&self, task: &Task) -> Task {
        let mut out = task.redacted();
        fill_next_fire(&mut out, self.clock().now());
        out
    }

    pub(super) async fn load_task(&self, name: &str) -> Result<Task> {
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
        lift_context_credential(&mut task.context, &mut task.git_token);
        // Sealed values are checked as opaque strings; that is enough for validation.
        let check = self.unseal_task(task.clone())?;
        self.validate_task(&check).await?;
        task.created_at = created;
        task.updated_at = Some(chrono::Utc::now());
        forget_response_fields(&mut task);
        self.seal_task(&mut task)?;
        self.store.update_task(&task).await?;
        self.task_changes().notify_one();
        Ok(self.response(&task))
    }

    /// Tasks saved before tokens were lifted out of context URLs kept them there in plain text;
    /// this seals them as [`Service::create_task`] does now. Returns how many tasks changed.
    pub async fn lift_stored_url_credentials(&self) -> Result<usize> {
        let mut changed = 0;
        for mut task in self.store.list_tasks().await? {
            let before = task.context.clone();
            lift_context_credential(&mut task.context, &mut task.git_token);
            if task.context != before {
                self.seal_task(&mut task)?;
                self.store.update_task(&task).await?;
                changed += 1;
            }
        }
        if changed > 0 {
            self.store.forget_overwritten().await?;
        }
        Ok(changed)
    }

    /// Adds a timer to a task (its name must be new); returns it as stored, with its next fire.
    pub async fn add_timer(&self, task: &str, timer: Timer) -> Result<Timer> {
        let stored = self.load_task(task).await?;
        if stored.timers.iter().any(|t| t.name == timer.name) {
            return Err(ServiceError::Conflict(format!(
                "task `{task}` already has a timer `{}`; use `timer update`",
                timer.name
            )));
        }
        let mut timers = stored.timers.clone();
        timers.push(timer.clone());
        self.replace_task(Task { timers, ..stored.clone() }, stored.created_at).await?;
        self.stored_timer(task, timer).await
    }

    /// Replaces a timer's schedule and state.
    pub async fn put_timer(&self, task: &str, name: &str, mut timer: Timer) -> Result<Timer> {
        let stored = self.load_task(task).await?;
        timer.name = name.to_string();
        let mut timers = stored.timers.clone();
        match timers.iter_mut().find(|t| t.name == name) {
            Some(t) => *t = timer.clone(),
            None => return Err(missing_part("timer", name, task)),
        }
        self.replace_task(Task { timers, ..stored.clone() }, stored.created_at).await?;
        self.stored_timer(task, timer).await
    }

    /// Removes a timer.
    pub async fn delete_timer(&self, task: &str, name: &str) -> Result<()> {
        let stored = self.load_task(task).await?;
        let timers: Vec<Timer> = stored.timers.iter().filter(|t| t.name != name).cloned().collect();
        if timers.len() == stored.timers.len() {
            return Err(missing_part("timer", name, task));
        }
        self.replace_task(Task { timers, ..stored.clone() }, stored.created_at).await?;
        Ok(())
    }

    /// A timer as stored, with its next fire time.
    async fn stored_timer(&self, task: &str, timer: Timer) -> Result<Timer> {
        let task = self.get_task(task, false).await?;
        Ok(task.timers.into_iter().find(|t| t.name == timer.name).unwrap_or(timer))
    }

    /// A task's timer history (fired, skipped and failed occurrences), newest first.
    pub async fn timer_events(&self, task: &str, top: Option<u32>) -> Result<Vec<api::TimerEvent>> {
        self.load_task(task).await?;
        Ok(self.store.timer_events(task, top.unwrap_or(50).clamp(1, 1000)).await?)
    }

    /// Adds a registry login to a task (an existing login server is a conflict, as in ACR);
    /// returns it with the password redacted. The task's other secrets stay sealed throughout.
    pub async fn add_credential(&self, task: &str, credential: api::Credential) -> Result<api::Credential> {
        let stored = self.load_task(task).await?;
        if stored.credentials.iter().any(|c| c.login_server == credential.login_server) {
            return Err(ServiceError::Conflict(format!(
                "task `{task}` already has a credential for `{}`; remove it first",
                credential.login_server
            )));
        }
        let mut credentials = stored.credentials.clone();
        credentials.push(credential.clone());
        self.replace_task(Task { credentials, ..stored.clone() }, stored.created_at).await?;
        Ok(api::Credential { password: api::REDACTED.into(), ..credential })
    }

    /// Removes a task's registry login.
    pub async fn delete_credential(&self, task: &str, login_server: &str) -> Result<()> {
        let stored = self.load_task(task).await?;
        let credentials: Vec<api::Credential> =
            stored.credentials.iter().filter(|c| c.login_server != login_server).cloned().collect();
        if credentials.len() == stored.credentials.len() {
            return Err(missing_part("credential", login_server, task));
        }
        self.replace_task(Task { credentials, ..stored.clone() }, stored.created_at).await?;
        Ok(())
    }

    /// Deletes a task.
    pub async fn delete_task(&self, name: &str) -> Result<()> {
        if self.store.delete_task(name).await? {
            self.task_changes().notify_one();
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
        if let Some(bad) = task.approve_before.iter().find(|s| s.trim().is_empty() || s.len() > 100) {
            return Err(ServiceError::invalid(format!(
                "approve_before names a step `{bad}`: give step ids as the task file writes them"
            )));
        }
        if task.approval_timeout == Some(0) {
            return Err(ServiceError::invalid("approval_timeout must be at least 1 second"));
        }
        self.validate_context(task.context.as_deref()).await?;
        self.validate_step(&task.step, task.context.is_some())?;
        let mut names = std::collections::HashSet::new();
        for t in &task.timers {
            if !names.insert(&t.name) {
                return Err(ServiceError::invalid(format!("timer `{}` is defined twice", t.name)));
            }
            crate::schedule::parse(&t.schedule).map_err(|e| ServiceError::invalid(e.to_string()))?;
        }
        validate_triggers(&task.triggers)?;
        super::outgoing::validate(task)?;
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

    pub(super) async fn validate_context(&self, context: Option<&str>) -> Result<()> {
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
                "context `{}` must be a git URL (`https://host/repo.git#branch:folder`) or an upload (`upload:<id>`)",
                crate::context::error::redact_url(ctx)
            ))),
        }
    }

    pub(super) fn validate_step(&self, step: &TaskStep, has_context: bool) -> Result<()> {
        match step {
            TaskStep::File { path: None, content: None, .. } if !has_context => Err(ServiceError::invalid(
                "a task without a context needs the task file's content (`-f FILE` with `-c /dev/null`)",
            )),
            TaskStep::File { content: Some(text), .. } => self.check_task_file(text),
            TaskStep::Cmd { cmd } if cmd.trim().is_empty() => Err(ServiceError::invalid("`cmd` is empty")),
            TaskStep::Docker(_) if !has_context => {
                Err(ServiceError::invalid("a Dockerfile build needs a context (`-c URL` or a local directory)"))
            }
            TaskStep::Docker(b) => {
                match crate::taskfile::synth::unintended_hub_push(&b.images, &self.settings.registry, b.no_push) {
                    // The daemon's registry is its operator's: say which flag sets it.
                    Some(why) => Err(ServiceError::invalid(
                        why.replace("pass --registry", "start drydock serve with --registry"),
                    )),
                    None => Ok(()),
                }
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
        // Secrets and values are only known per run: report only structural errors here, and of
        // the YAML only its budgets (an alias bomb is refused now, not when a worker expands it).
        let invalid = |d: crate::taskfile::Diagnostics| ServiceError::Invalid {
            message: "the task file is not valid".into(),
            diagnostics: d.errors().map(api::WireDiagnostic::from).collect(),
        };
        let rendered = crate::taskfile::render(&req).map_err(invalid)?;
        match crate::taskfile::parse::yaml_tree(&rendered.text, &rendered.map) {
            Err(d) if d.code == "limit" => Err(invalid(crate::taskfile::Diagnostics(vec![d]))),
            _ => Ok(()),
        }
    }
}

/// The shortest git polling interval accepted, seconds.
pub const MIN_POLL_INTERVAL: u64 = 30;
/// The longest base-image quiet period accepted, seconds.
pub const MAX_QUIET_PERIOD: u64 = 3_600;

/// Checks trigger settings: filters compile, intervals are sane.
/// A token written into the context URL (`https://user:token@host/r.git`) becomes the task's git
/// token, sealed like every other secret, so the URL can be stored and shown as it is. It
/// replaces an older token: whoever writes a URL with a token means that one.
pub(super) fn lift_context_credential(context: &mut Option<String>, git_token: &mut Option<String>) {
    // An `upload:<id>` has no user info, so it passes through unchanged.
    let Some(url) = context.as_deref() else { return };
    if let (kept, Some(token)) = crate::repository::lift_credential(url) {
        *context = Some(kept);
        *git_token = Some(token);
    }
}

fn validate_triggers(t: &api::TaskTriggers) -> Result<()> {
    let s = &t.source;
    for (what, globs) in [("branch", &s.branches), ("tag", &s.tags), ("path", &s.paths)] {
        crate::glob::Filter::new(globs).map_err(|e| ServiceError::invalid(format!("{what} filter: {e}")))?;
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

/// A 404 for a part of a task (a timer, a credential).
fn missing_part(what: &str, item: &str, task: &str) -> ServiceError {
    ServiceError::NotFound(format!("task `{task}` has no {what} `{item}`"))
}

/// Fills in when each enabled timer of an enabled task fires next (responses only).
fn fill_next_fire(task: &mut Task, now: chrono::DateTime<chrono::Utc>) {
    let live = task.status == api::TaskStatus::Enabled;
    for t in &mut task.timers {
        t.next_fire = if live && t.enabled {
            crate::schedule::parse(&t.schedule).ok().and_then(|c| crate::schedule::next_after(&c, now))
        } else {
            None
        };
    }
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
    fn next_fire_is_shown_for_enabled_timers_only() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        let mut task: Task = serde_json::from_value(serde_json::json!({
            "name": "nightly", "step": {"kind": "file", "content": "steps: []"}, "timers": [
                {"name": "t1", "schedule": "0 3 * * *"},
                {"name": "t2", "schedule": "0 4 * * *", "enabled": false}
            ]
        }))
        .unwrap();
        fill_next_fire(&mut task, at("2026-01-01T12:00:00Z"));
        assert_eq!(task.timers[0].next_fire, Some(at("2026-01-02T03:00:00Z")));
        assert_eq!(task.timers[1].next_fire, None);
    }
}
