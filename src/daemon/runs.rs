//! Runs: queueing a quick build or run, or a saved task's run (the path every trigger takes,
//! with its dedup key), reading and listing them, and cancelling.

use super::Service;
use super::outgoing::Moment;
use super::service::{Result, ServiceError};
use super::spec::RunSpec;
use crate::api::{self, Approval, Run, RunRequest, RunType, TaskRunRequest, TaskStep, Trigger};
use crate::run::RunStatus;
use crate::store::{Enqueued, NewRun, RunRow};
use std::collections::BTreeMap;

/// The kind a `trigger` filter names ([`api::Trigger::kind_named`]), or a 400 saying which exist.
fn trigger_kind(given: &str) -> Result<String> {
    api::Trigger::kind_named(given).map(str::to_string).ok_or_else(|| {
        ServiceError::invalid(format!("unknown trigger `{given}`: use manual, source, timer or base_image"))
    })
}

impl Service {
    /// Queues a quick build or quick run.
    pub async fn quick_run(&self, mut req: RunRequest) -> Result<Run> {
        let mut git_token = None;
        super::tasks::lift_context_credential(&mut req.context, &mut git_token);
        let timeout = req.timeout.unwrap_or(api::DEFAULT_TIMEOUT);
        if timeout == 0 || timeout > api::MAX_TIMEOUT {
            return Err(ServiceError::invalid(format!("timeout must be 1–{} seconds", api::MAX_TIMEOUT)));
        }
        self.validate_context(req.context.as_deref()).await?;
        let platform = req.platform.clone().or_else(|| req.build.as_ref().and_then(|b| b.platform.clone()));
        let required_labels = platform_labels(platform.as_deref()).map_err(ServiceError::invalid)?;
        let (step, run_type) = match (req.build, req.step) {
            (Some(b), None) => (TaskStep::Docker(b), RunType::QuickBuild),
            (None, Some(s)) => (s, RunType::QuickRun),
            _ => return Err(ServiceError::invalid("give exactly one of `build` and `step`")),
        };
        self.validate_step(&step, req.context.is_some())?;
        check_signing_keys(req.sign_key.as_deref(), &req.require_signed_base)?;
        let spec = RunSpec {
            context: req.context,
            step,
            values: req.values,
            secret_values: req.secret_values,
            timeout,
            git_token,
            credentials: Vec::new(),
            sign_key: req.sign_key,
            require_signed_base: req.require_signed_base,
            task_name: None,
            checkout: None,
            triggered_by: "manual".into(),
            untrusted: None,
            approve_before: Vec::new(),
            approval_timeout: None,
            resume: None,
            values_files: Vec::new(),
            platform,
        };
        let new = NewRun {
            run_type,
            task: None,
            trigger: Trigger::Manual,
            request: serde_json::Value::Null,
            required_labels,
            dedup_key: None,
            awaiting_approval: false,
            rerun_of: None,
            resumed_from: None,
        };
        self.enqueue(spec, new).await
    }

    /// Queues a run of a saved task.
    pub async fn run_task(
        &self,
        name: &str,
        overrides: TaskRunRequest,
        trigger: Trigger,
        dedup_key: Option<String>,
    ) -> Result<Run> {
        self.run_task_as(name, overrides, trigger, dedup_key, Admission::Trusted).await
    }

    /// [`Service::run_task`] for a trigger that may not be trusted (a fork's pull request).
    pub async fn run_task_as(
        &self,
        name: &str,
        overrides: TaskRunRequest,
        trigger: Trigger,
        dedup_key: Option<String>,
        admission: Admission,
    ) -> Result<Run> {
        let task = self.load_task(name).await?;
        if task.status == api::TaskStatus::Disabled {
            return Err(ServiceError::Conflict(format!(
                "task `{name}` is disabled; enable it with `drydock task update -n {name} --status Enabled`"
            )));
        }
        let task = self.unseal_task(task)?;
        let mut values = task.values.clone();
        values.extend(overrides.values.clone());
        let mut secret_values = task.secret_values.clone();
        secret_values.extend(overrides.secret_values.clone());
        let run_type = if matches!(task.step, TaskStep::Docker(_)) { RunType::AutoBuild } else { RunType::AutoRun };
        let checkout = match &trigger {
            Trigger::Source { commit, branch, event, provider, pull_request, .. } => Some(super::spec::Checkout {
                commit: commit.clone(),
                branch: branch.clone().filter(|_| event != "tag"),
                git_tag: branch.clone().filter(|_| event == "tag"),
                pull_ref: pull_request.map(|n| match provider.as_str() {
                    "gitlab" => format!("refs/merge-requests/{n}/head"),
                    _ => format!("refs/pull/{n}/head"),
                }),
            }),
            _ => None,
        };
        let mut spec = RunSpec {
            context: task.context.clone(),
            step: task.step.clone(),
            values,
            secret_values,
            timeout: task.timeout,
            git_token: task.git_token.clone(),
            credentials: task.credentials.clone(),
            sign_key: task.sign_key.clone(),
            require_signed_base: task.require_signed_base.clone(),
            task_name: Some(task.name.clone()),
            checkout,
            triggered_by: trigger.label().to_string(),
            untrusted: None,
            approve_before: task.approve_before.clone(),
            approval_timeout: task.approval_timeout,
            resume: None,
            values_files: Vec::new(),
            platform: task.platform.clone(),
        };
        let mut required_labels = task.agent_labels.clone();
        required_labels.extend(platform_labels(task.platform.as_deref()).map_err(|e| {
            ServiceError::Conflict(format!(
                "task `{name}`: {e}; fix it with `drydock task update -n {name} --platform …`"
            ))
        })?);
        apply_run_overrides(&mut spec, &overrides, name)?;
        if admission == Admission::WithoutSecrets {
            withhold_secrets(&mut spec, &trigger);
        }
        let waits = admission == Admission::AwaitingApproval;
        let run = self
            .enqueue(
                spec,
                NewRun {
                    run_type,
                    task: Some(task.name),
                    trigger: trigger.clone(),
                    request: serde_json::Value::Null,
                    required_labels,
                    dedup_key,
                    awaiting_approval: waits,
                    rerun_of: None,
                    resumed_from: None,
                },
            )
            .await?;
        if waits {
            self.replace_waiting(&run, &trigger).await;
        }
        Ok(run)
    }

    /// A newer commit of a pull request replaces the run still waiting for the older one.
    async fn replace_waiting(&self, run: &Run, trigger: &Trigger) {
        let Trigger::Source { pull_request: Some(number), .. } = trigger else { return };
        let filter = api::RunFilter {
            task: run.task.clone(),
            status: Some(RunStatus::AwaitingApproval),
            top: Some(crate::store::sql::MAX_TOP),
            ..Default::default()
        };
        let Ok(waiting) = self.store.list_runs(&filter).await else { return };
        // Run ids are base36 of an increasing sequence, so shorter-then-smaller is older.
        let before = |id: &str| (id.len(), id.to_string()) < (run.id.len(), run.id.clone());
        for older in waiting.iter().filter(|r| before(&r.id)) {
            if !matches!(&older.trigger, Trigger::Source { pull_request: Some(n), .. } if n == number) {
                continue;
            }
            let reason = format!("replaced by run {} for a newer commit of pull request #{number}", run.id);
            let decision = Approval {
                decision: "replaced".into(),
                by: "drydock".into(),
                at: chrono::Utc::now(),
                step: None,
                reason: Some(reason.clone()),
            };
            match self.store.decide_run(&older.id, &decision, Some(&reason)).await {
                Ok(row) => {
                    self.count_if_ended(&row);
                    self.announce(&older.id, Moment::Finished).await
                }
                Err(e) => tracing::warn!(run = %older.id, error = %e, "replacing a waiting run failed"),
            }
        }
    }

    /// Counts a run that a decision or a cancel ended before any node ran it (a node counts the
    /// end of the runs it executes).
    fn count_if_ended(&self, row: &crate::store::RunRow) {
        if row.status.is_terminal() && row.started_at.is_none() {
            self.metrics().run_finished(row.status.as_str(), row.trigger.kind(), None);
        }
    }

    /// Approves a run waiting for approval or rejects it. Before it ran (a fork's pull request),
    /// approval queues it with the task's secrets and rejection ends it Canceled; paused before a
    /// step, its node goes on or stops it. `by` is the deciding token's name.
    pub async fn decide(&self, id: &str, approve: bool, by: &str, reason: Option<&str>) -> Result<Run> {
        let waiting = self.store.get_run(id).await?.and_then(|r| r.waiting_step);
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        let decision = Approval {
            decision: if approve { "approved" } else { "rejected" }.into(),
            by: by.to_string(),
            at: chrono::Utc::now(),
            step: waiting,
            reason: reason.clone(),
        };
        let why = rejection(&decision);
        let row = self.store.decide_run(id, &decision, (!approve).then_some(why.as_str())).await?;
        self.count_if_ended(&row);
        if approve {
            self.wake.notify_waiters();
        } else if row.status.is_terminal() && row.node.is_none() {
            // Rejected before it ran: no worker tells the outside.
            self.announce(id, Moment::Finished).await;
        }
        Ok(to_api(&row))
    }

    /// Seals `spec` into `new`'s request and queues the run.
    pub(super) async fn enqueue(&self, mut spec: RunSpec, mut new: NewRun) -> Result<Run> {
        self.check_free_space()?;
        let plain = spec.clone();
        self.seal_spec(&mut spec)?;
        new.request = serde_json::to_value(&spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let queued = self.store.enqueue_run(new).await?;
        if let Enqueued::New(run) = &queued
            && let Some(steps) = super::prepare::planned_steps(self, &run.id, &plain)
        {
            // Best effort: the worker records the plan anyway when it starts.
            if let Err(e) = self.store.set_planned_steps(&run.id, &steps).await {
                tracing::warn!(run = %run.id, error = %e, "recording the planned steps failed");
            }
        }
        if let Enqueued::New(run) = &queued {
            self.wake.notify_waiters();
            self.announce(&run.id, Moment::Queued).await;
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

    /// One run as `GET /v1/runs/{id}` shows it: with its reruns. (Kept out of `get_run`, which
    /// log followers call every 250 ms while a run is queued.)
    pub async fn show_run(&self, id: &str) -> Result<Run> {
        let row =
            self.store.get_run(id).await?.ok_or_else(|| ServiceError::NotFound(format!("run `{id}` not found")))?;
        let mut run = to_api(&row);
        if row.status == RunStatus::Queued {
            run.waiting_for = waiting_for(&row.required_labels, &self.nodes().await?);
        }
        run.reruns = self.store.reruns_of(id).await?;
        run.notifications = self.store.list_outgoing(Some(id), crate::store::sql::MAX_TOP).await?;
        Ok(run)
    }

    /// Queues a new run with the inputs of run `id`: its task file or command, its context (the
    /// same commit, or the upload while it is kept), its values with `req`'s over them, its
    /// trigger details and its trust (an untrusted run's rerun is untrusted too). The new run
    /// names the original (`rerun_of`), and the original lists it among its reruns.
    pub async fn rerun(&self, id: &str, req: api::RerunRequest) -> Result<Run> {
        let original =
            self.store.get_run(id).await?.ok_or_else(|| ServiceError::NotFound(format!("run `{id}` not found")))?;
        if original.status == RunStatus::AwaitingApproval && original.node.is_none() {
            return Err(ServiceError::Conflict(format!(
                "run {id} waits for approval and has not run yet; approve or reject it instead"
            )));
        }
        let mut spec: RunSpec = serde_json::from_value(original.request.clone())
            .map_err(|e| ServiceError::Internal(format!("run {id}'s stored request is unreadable: {e}")))?;
        spec.values.extend(req.values);
        spec.values_files.extend(checked_values_file(req.values_file)?);
        // A rerun runs everything again from the original inputs.
        spec.resume = None;
        self.check_upload_kept(id, &spec).await?;
        let new = NewRun {
            run_type: original.run_type,
            task: original.task.clone(),
            trigger: original.trigger.clone(),
            request: serde_json::Value::Null,
            required_labels: original.required_labels.clone(),
            dedup_key: None,
            awaiting_approval: false,
            rerun_of: Some(original.id.clone()),
            resumed_from: None,
        };
        self.enqueue(spec, new).await
    }

    /// The upload a run built must still be there to build it again.
    pub(super) async fn check_upload_kept(&self, id: &str, spec: &RunSpec) -> Result<()> {
        if let Some(upload) = spec.context.as_deref().and_then(|c| c.strip_prefix("upload:"))
            && self.store.get_context(upload).await?.is_none()
        {
            return Err(ServiceError::Conflict(format!(
                "run {id} built an uploaded context that has been removed since (an upload goes when no \
                 task or queued run needs it); start a new run with the context instead"
            )));
        }
        Ok(())
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
        self.count_if_ended(&row);
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
        if row.status.is_terminal() {
            // Ended without a worker: nobody else tells the outside.
            self.announce(id, Moment::Finished).await;
        }
        Ok(to_api(&row))
    }
}

/// `task run`'s choices for one run: another git ref, another task file, a values file.
fn apply_run_overrides(spec: &mut RunSpec, o: &TaskRunRequest, task: &str) -> Result<()> {
    if let Some(reference) = o.git_ref.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        let git = spec
            .context
            .as_deref()
            .is_some_and(|c| matches!(crate::buildargs::classify(c), crate::buildargs::ContextSource::Git { .. }));
        if !git {
            return Err(ServiceError::invalid(format!(
                "task `{task}` has no git context, so --branch/--commit has nothing to choose from"
            )));
        }
        if spec.checkout.is_some() {
            return Err(ServiceError::invalid("a triggered run already names its commit"));
        }
        spec.checkout = Some(super::spec::Checkout { commit: reference.to_string(), ..Default::default() });
    }
    if let Some(file) = o.file.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        match &mut spec.step {
            TaskStep::File { path, content, .. } if spec.context.is_some() => {
                *path = Some(file.to_string());
                *content = None;
            }
            _ => {
                return Err(ServiceError::invalid(format!(
                    "--file names a task file in the context; task `{task}` runs a command, a Dockerfile build \
                     or has no context"
                )));
            }
        }
    }
    spec.values_files.extend(checked_values_file(o.values_file.clone())?);
    Ok(())
}

/// A values file given with a rerun or resume, checked now so that a mistake is a 400 with its
/// line and column rather than a run that fails later.
pub(super) fn checked_values_file(file: Option<api::ValuesFile>) -> Result<Option<api::ValuesFile>> {
    let Some(file) = file else { return Ok(None) };
    if let Err(crate::taskfile::values::ValuesError::File(d)) =
        crate::taskfile::values::merge(&[(file.name.clone(), file.content.clone())], &[])
    {
        return Err(ServiceError::invalid(format!("values file {} is not valid: {d}", file.name)));
    }
    Ok(Some(file))
}

/// The error a rejected (or expired) run ends with.
pub(crate) fn rejection(a: &Approval) -> String {
    let what = match a.decision.as_str() {
        "expired" => "no one approved it in time".to_string(),
        other => format!("{other} by {}", a.by),
    };
    let before = a.step.as_ref().map(|s| format!(" before step `{s}`")).unwrap_or_default();
    match &a.reason {
        Some(r) => format!("{what}{before}: {r}"),
        None => format!("{what}{before}"),
    }
}

/// How a triggered run is let in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Admission {
    /// As the task says: its secrets, logins and pushes.
    #[default]
    Trusted,
    /// Created `AwaitingApproval`; a person's approval queues it with the task's secrets.
    AwaitingApproval,
    /// Runs at once without secrets, registry logins or the engine socket; pushes fail.
    WithoutSecrets,
}

/// Strips what an untrusted run must not see: secret values become empty (so templates still
/// render and print nothing), secret build arguments too, and the task's registry logins go.
/// The git token stays: only drydock's own fetch uses it, never a step.
fn withhold_secrets(spec: &mut RunSpec, trigger: &Trigger) {
    for v in spec.secret_values.values_mut() {
        v.clear();
    }
    if let TaskStep::Docker(d) = &mut spec.step {
        for v in d.secret_build_args.values_mut() {
            v.clear();
        }
    }
    spec.credentials.clear();
    let from = match trigger {
        Trigger::Source { pull_request: Some(n), head_repository: Some(fork), .. } => {
            format!("pull request #{n} comes from the fork {fork}")
        }
        Trigger::Source { pull_request: Some(n), .. } => format!("pull request #{n} comes from a fork"),
        _ => "the trigger is not trusted".into(),
    };
    spec.untrusted = Some(format!("{from} and runs without secrets (--fork-pull-requests run-without-secrets)"));
}

pub(super) fn last_run(r: &RunRow) -> api::LastRun {
    api::LastRun { id: r.id.clone(), status: r.status, queued_at: r.queued_at, finished_at: r.finished_at }
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
        // A run that ended before a node took it (canceled, rejected) never ran its planned steps.
        steps: r
            .steps
            .iter()
            .map(|s| match s.status {
                crate::run::StepStatus::Pending if r.status.is_terminal() => {
                    crate::run::StepRecord { status: crate::run::StepStatus::Skipped, ..s.clone() }
                }
                _ => s.clone(),
            })
            .collect(),
        output_images: r.output_images.clone(),
        dependencies: r.dependencies.clone(),
        error: r.error.clone(),
        node: r.node.clone(),
        approval: r.approval.clone(),
        waiting_step: r.waiting_step.clone(),
        rerun_of: r.rerun_of.clone(),
        resumed_from: r.resumed_from.clone(),
        workspace_kept_until: r.workspace.as_ref().and(r.workspace_until).filter(|t| *t > chrono::Utc::now()),
        reruns: Vec::new(),
        notifications: Vec::new(),
        waiting_for: None,
    }
}

/// Why a queued run with `required` labels waits, when no active node among `nodes` carries them
/// all; `None` when one does (it is only a matter of a free slot).
pub fn waiting_for(required: &BTreeMap<String, String>, nodes: &[api::NodeInfo]) -> Option<String> {
    let active: Vec<&api::NodeInfo> = nodes.iter().filter(|n| n.state == api::NodeState::Active).collect();
    if active.is_empty() {
        return Some("no node is up to take it".into());
    }
    let carries = |n: &api::NodeInfo| required.iter().all(|(k, v)| n.labels.get(k) == Some(v));
    if required.is_empty() || active.iter().any(|n| carries(n)) {
        return None;
    }
    use crate::engine::platform::{LABEL_PREFIX, LABEL_VALUE};
    // The platforms among a set of labels.
    let platforms_of = |labels: &'_ BTreeMap<String, String>| -> Vec<String> {
        labels
            .iter()
            .filter(|(_, v)| *v == LABEL_VALUE)
            .filter_map(|(k, _)| k.strip_prefix(LABEL_PREFIX))
            .map(str::to_string)
            .collect()
    };
    let missing_platforms: Vec<String> = platforms_of(required)
        .into_iter()
        .filter(|p| !active.iter().any(|n| platforms_of(&n.labels).contains(p)))
        .collect();
    if !missing_platforms.is_empty() {
        let mut runnable: Vec<String> = active.iter().flat_map(|n| platforms_of(&n.labels)).collect();
        runnable.sort_unstable();
        runnable.dedup();
        return Some(format!(
            "no node that is up runs {} (they run {}). Register QEMU for it on a node (as root: `apt-get install \
             qemu-user-static binfmt-support`, mount binfmt_misc, `update-binfmts --enable qemu-<arch>`) and restart \
             that node, or start a node of that platform; the run stays queued until one can take it",
            missing_platforms.join(", "),
            runnable.join(", ")
        ));
    }
    let wanted: Vec<String> = required.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some(format!(
        "no node that is up carries all of its labels {}; start one with them (`drydock serve --label K=V`)",
        wanted.join(", ")
    ))
}

/// A quick run's signing key and required base keys parse, or the request is refused now (a 400
/// that names the field) rather than the run failing later.
fn check_signing_keys(sign_key: Option<&str>, required: &[String]) -> Result<()> {
    if let Some(pem) = sign_key {
        crate::registry::keys::SignatureKey::from_pem(pem)
            .map_err(|e| ServiceError::invalid(format!("sign_key: {e}")))?;
    }
    for (i, pem) in required.iter().enumerate() {
        crate::registry::keys::VerificationKey::from_pem(pem)
            .map_err(|e| ServiceError::invalid(format!("require_signed_base[{i}]: {e}")))?;
    }
    Ok(())
}

/// The labels a node must carry to take a run of `platform` (one per platform of the list): a
/// node only claims runs it can execute, and the others wait for one that can.
fn platform_labels(platform: Option<&str>) -> std::result::Result<BTreeMap<String, String>, String> {
    let Some(text) = platform else { return Ok(BTreeMap::new()) };
    let platforms = crate::engine::platform::Platform::parse_list(text)?;
    Ok(platforms.iter().map(|p| (p.label_key(), crate::engine::platform::LABEL_VALUE.to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_run_no_active_node_can_take_says_why_and_what_would_let_one() {
        let node = |labels: &[(&str, &str)], state| api::NodeInfo {
            id: "n".into(),
            url: String::new(),
            version: String::new(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            slots: 1,
            busy: 0,
            runs: 0,
            lease_until: None,
            roles: Vec::new(),
            state,
            started_at: chrono::Utc::now(),
            seen_at: chrono::Utc::now(),
        };
        let amd64 = node(&[("platform:linux/amd64", "yes"), ("platform:linux/386", "yes")], api::NodeState::Active);
        let riscv = platform_labels(Some("linux/riscv64")).unwrap();
        let why = waiting_for(&riscv, std::slice::from_ref(&amd64)).unwrap();
        assert!(why.starts_with("no node that is up runs linux/riscv64 (they run linux/386, linux/amd64)"), "{why}");
        assert!(why.contains("update-binfmts"), "{why}");
        assert_eq!(
            waiting_for(&platform_labels(Some("linux/amd64,linux/386")).unwrap(), std::slice::from_ref(&amd64)),
            None
        );
        let gpu = BTreeMap::from([("gpu".to_string(), "true".to_string())]);
        assert!(waiting_for(&gpu, &[amd64]).unwrap().contains("gpu=true"));
        let lost = node(&[("platform:linux/riscv64", "yes")], api::NodeState::Lost);
        assert_eq!(waiting_for(&riscv, &[lost]).as_deref(), Some("no node is up to take it"));
        assert!(platform_labels(Some("linux")).unwrap_err().contains("os/arch"));
    }
}
