//! Runs the steps of a plan in parallel as their dependencies finish (Kahn's algorithm over the
//! plan), failing fast: the first failed step stops the running ones and skips the rest.

use super::log::RunLog;
use super::scaffold::Scaffold;
use super::step::{BuildProduct, StepContext, StepResult};
use super::{Engine, Execution, RunObserver, step_build, step_cmd, step_purge, step_push};
use crate::run::{OutputImage, RunRecord, RunStatus, StepStatus};
use crate::taskfile::StepKind;
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How the steps ended, as a whole.
pub struct Outcome {
    /// The run's status.
    pub status: RunStatus,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// What each step that ran built and pushed, by step index.
    pub products: BTreeMap<usize, (Option<BuildProduct>, Vec<OutputImage>)>,
}

impl Outcome {
    /// What build steps built, in file order.
    pub fn builds(&self) -> Vec<BuildProduct> {
        self.products.values().filter_map(|(b, _)| b.clone()).collect()
    }
}

/// Executes every step it can and fills in `record.steps` and `record.output_images`. Steps
/// marked in `reused` (a resume's) count as done from the start and do not run.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    engine: &Engine,
    req: &Execution,
    reused: &[bool],
    scaffold: Scaffold,
    log: &RunLog,
    observer: &dyn RunObserver,
    cancel: &CancellationToken,
    mut deadline: Instant,
    record: &mut RunRecord,
) -> Outcome {
    let ctx = Arc::new(StepContext {
        engine: engine.clone(),
        object_key: req.object_key.clone(),
        task: req.task.clone(),
        scaffold,
        log: log.clone(),
        quick_source: req.quick_build.then(|| req.source.clone()),
        git: req.git.clone(),
        images_present: Default::default(),
        credentials: engine.credentials_for(req),
        untrusted: req.untrusted.clone(),
        run_registry: req.registry.clone(),
        require_signed_base: req.require_signed_base.clone(),
        sign_key: req.sign_key.clone().filter(|_| req.untrusted.is_none()),
        signatures: Default::default(),
        platform_images: Default::default(),
        run_platform: req.platform.clone(),
        finishing: Default::default(),
    });
    let n = req.task.steps.len();
    let mut waiting: Vec<usize> = (0..n).map(|i| req.plan.dependencies(i).len()).collect();
    let stop_steps = cancel.child_token();
    let mut running: JoinSet<(usize, StepResult)> = JoinSet::new();
    let mut products: BTreeMap<usize, (Option<BuildProduct>, Vec<OutputImage>)> = BTreeMap::new();
    // Steps that succeeded, whose dependents are released at the top of the loop. A reused step
    // joins them once its own dependencies are done, without running: so a step after a reused
    // one still waits for everything before it (a service started again, say).
    let mut succeeded: Vec<usize> = Vec::new();
    let mut failure: Option<(RunStatus, String)> = None;

    let start = |i: usize, running: &mut JoinSet<(usize, StepResult)>, record: &mut RunRecord| {
        let s = &mut record.steps[i];
        s.status = StepStatus::Running;
        s.started_at = Some(Utc::now());
        observer.step_updated(s);
        let ctx = ctx.clone();
        let token = stop_steps.child_token();
        running.spawn(async move {
            let step = &ctx.task.steps[i];
            let result = match &step.kind {
                StepKind::Cmd(c) if step_purge::is_acr_purge(c) => step_purge::run(ctx.clone(), step, c, &token).await,
                StepKind::Cmd(c) => step_cmd::run(ctx.clone(), step, c, &token).await,
                StepKind::Build(b) => step_build::run(ctx.clone(), step, b, &token).await,
                StepKind::Push(p) => step_push::run(ctx.clone(), step, p, &token).await,
            };
            (i, result)
        });
    };
    // Steps that wait for a person first (`--approve-before`): the wait runs beside the other
    // steps, and the run's timeout stops counting while anyone is asked.
    let gated: Vec<bool> = req.task.steps.iter().map(|s| req.approve_before.contains(&s.id)).collect();
    let mut gates: JoinSet<(usize, Result<(), String>)> = JoinSet::new();
    let mut asking_since: Option<Instant> = None;
    let begin = |i: usize,
                 running: &mut JoinSet<(usize, StepResult)>,
                 gates: &mut JoinSet<(usize, Result<(), String>)>,
                 record: &mut RunRecord| {
        if !gated[i] {
            return start(i, running, record);
        }
        let id = req.task.steps[i].id.clone();
        let gate = req.gate.clone();
        gates.spawn(async move {
            let decision = match gate {
                Some(g) => g.approve_before(&id).await,
                None => Err(format!("step `{id}` needs an approval, and nobody can give one here")),
            };
            (i, decision)
        });
    };
    for (i, w) in waiting.iter().enumerate() {
        if *w == 0 {
            if reused[i] {
                succeeded.push(i);
            } else {
                begin(i, &mut running, &mut gates, record);
            }
        }
    }

    while !running.is_empty() || !gates.is_empty() || !succeeded.is_empty() {
        while let Some(i) = succeeded.pop() {
            if failure.is_some() {
                break;
            }
            for d in req.plan.dependents(i) {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    if reused[d] {
                        succeeded.push(d);
                    } else {
                        begin(d, &mut running, &mut gates, record);
                    }
                }
            }
        }
        succeeded.clear();
        if running.is_empty() && gates.is_empty() {
            break;
        }
        if failure.is_some() {
            // Nobody needs to decide on a step that will not run.
            gates.abort_all();
        }
        if !gates.is_empty() {
            asking_since.get_or_insert_with(Instant::now);
        } else if let Some(since) = asking_since.take() {
            deadline += since.elapsed();
        }
        tokio::select! {
            biased;
            decided = gates.join_next(), if !gates.is_empty() => {
                match decided {
                    Some(Ok((i, Ok(())))) if failure.is_none() => start(i, &mut running, record),
                    Some(Ok((_, Ok(())))) | None => {}
                    Some(Ok((_, Err(why)))) => {
                        if failure.is_none() {
                            log.run_line(&format!("Stopping: {why}"));
                            failure = Some((RunStatus::Canceled, why));
                            stop_steps.cancel();
                        }
                    }
                    Some(Err(e)) if e.is_cancelled() => {}
                    Some(Err(e)) => {
                        failure.get_or_insert((RunStatus::Error, format!("internal error waiting for approval: {e}")));
                        stop_steps.cancel();
                    }
                }
            }
            joined = running.join_next(), if !running.is_empty() => {
                let Some(joined) = joined else { break };
                let (i, result) = match joined {
                    Ok(x) => x,
                    Err(e) => {
                        // A step task panicked: an engine bug, not a step failure.
                        failure.get_or_insert((RunStatus::Error, format!("internal error in a step: {e}")));
                        stop_steps.cancel();
                        continue;
                    }
                };
                let ok = result.status == StepStatus::Succeeded;
                let s = &mut record.steps[i];
                s.status = result.status;
                s.exit_code = result.exit_code;
                s.attempts = result.attempts;
                s.finished_at = Some(Utc::now());
                s.error = result.error.clone();
                observer.step_updated(s);
                record.output_images.extend(result.pushed.iter().cloned());
                products.insert(i, (result.built, result.pushed));
                if ok {
                    if failure.is_none() {
                        succeeded.push(i);
                    }
                } else if failure.is_none() {
                    let step = &req.task.steps[i];
                    let why = result.error.unwrap_or_else(|| format!("{:?}", result.status));
                    failure = Some((RunStatus::Failed, format!("step `{}` failed: {why}", step.id)));
                    stop_steps.cancel();
                }
            }
            _ = cancel.cancelled(), if failure.is_none() => {
                log.run_line("Cancel requested: stopping running steps");
                failure = Some((RunStatus::Canceled, "the run was canceled".into()));
                stop_steps.cancel();
            }
            _ = tokio::time::sleep_until(deadline), if failure.is_none() && gates.is_empty() => {
                log.run_line("The run timeout expired: stopping running steps");
                failure = Some((RunStatus::Timeout, "the run timed out".into()));
                stop_steps.cancel();
            }
        }
    }
    let mut finishing = std::mem::take(&mut *ctx.finishing.lock().unwrap_or_else(|e| e.into_inner()));
    while finishing.join_next().await.is_some() {}
    record.signatures.extend(std::mem::take(&mut *ctx.signatures.lock().unwrap_or_else(|e| e.into_inner())));
    record.attach_signatures();
    for s in &mut record.steps {
        if s.status == StepStatus::Pending {
            s.status = StepStatus::Skipped;
            observer.step_updated(s);
        }
    }
    match failure {
        None => Outcome { status: RunStatus::Succeeded, error: None, products },
        Some((status, error)) => Outcome { status, error: Some(error), products },
    }
}
