//! Runs: queueing a quick build or run, or a saved task's run (the path every trigger takes,
//! with its dedup key), reading and listing them, and cancelling.

use super::Service;
use super::service::{Result, ServiceError};
use super::spec::RunSpec;
use crate::api::{self, Run, RunRequest, RunType, TaskRunRequest, TaskStep, Trigger};
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
            git_token,
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
        let task = self.load_task(name).await?;
        if task.status == api::TaskStatus::Disabled {
            return Err(ServiceError::Conflict(format!(
                "task `{name}` is disabled; enable it with `drydock task update -n {name} --status Enabled`"
            )));
        }
        let task = self.unseal_task(task)?;
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
        self.check_free_space()?;
        self.seal_spec(&mut spec)?;
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
