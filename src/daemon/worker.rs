//! The run queue's consumer: claims runs up to the concurrency limit, executes them on this node's
//! engine, keeps their lease alive, notices cancels, and records every step and the end.

use super::Service;
use super::outgoing::Moment;
use super::prepare::prepare;
use crate::engine::log::{LogSink, RunLog};
use crate::engine::{Engine, Gate, RunObserver};
use crate::metrics::{SlotInUse, WorkerSlots};
use crate::run::{RunStatus, StepRecord, StepStatus};
use crate::store::{Claim, Fenced, RunResult, RunRow};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// How long a claim holds without renewal. A node that dies loses its runs after this.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running run's lease is renewed and its cancel flag checked (more often with a
/// lease short enough to need it: at least four renewals per lease).
const HEARTBEAT: Duration = Duration::from_secs(2);
/// How often an idle worker looks for work when nothing woke it.
const POLL: Duration = Duration::from_secs(2);

/// Why a run is being stopped by the node itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopReason {
    None,
    Shutdown,
    /// A write about the run matched nothing: the reaper or another claim has it now.
    FencedOut,
    /// No renewal got through for most of a lease: the node stops the run itself before the
    /// others fail it, so that its containers are gone by the time they do.
    CutOff,
    /// The node's Docker engine stopped answering: the run is recorded Error at once (nothing it
    /// runs can be watched or stopped meanwhile), and its objects go when the engine is back.
    EngineLost,
}

impl StopReason {
    /// The run's error for a run stopped for this reason.
    fn error(self, lease: Duration) -> String {
        match self {
            StopReason::Shutdown => "the daemon shut down before the run finished".into(),
            StopReason::FencedOut => "this node was fenced out: the run was failed or taken over by another node \
                 while this node could not reach the database, so this node stopped it"
                .into(),
            StopReason::CutOff => format!(
                "this node could not renew its claim on the run for {} s (the database did not answer), \
                 so it stopped the run before its {} s lease ran out",
                cut_off_after(lease).as_secs(),
                lease.as_secs()
            ),
            StopReason::EngineLost => format!(
                "the Docker engine did not answer for {} s, so this node gave the run up; its containers \
                 are removed when the engine answers again",
                cut_off_after(lease).as_secs()
            ),
            StopReason::None => String::new(),
        }
    }
}

/// How long a node goes on without a renewal before stopping its runs: half the lease, which
/// leaves the other half for stopping containers before any other node may reap the run.
fn cut_off_after(lease: Duration) -> Duration {
    lease / 2
}

/// How long one renewal, cancel check or step record may take: no more than a beat, so a hung
/// connection cannot stall the heartbeat past the lease.
fn beat(lease: Duration) -> Duration {
    HEARTBEAT.min(lease / 4)
}

/// The longest wait between attempts at recording a run's end.
const FINISH_RETRY_MAX: Duration = Duration::from_secs(5);

/// Told after a run's final record is written. The worker knows nothing of what follows a run
/// (base-image bookkeeping, cascades); the composition root hands it the layer that does.
#[async_trait::async_trait]
pub trait RunFinished: Send + Sync {
    /// Run `run_id` has ended and its record is final.
    async fn run_finished(&self, run_id: &str);
}

/// Claims and executes runs until `stop` fires; then waits for the runs in flight (which the
/// caller stops after its grace period through `abort`).
pub async fn run_workers(
    svc: Arc<Service>,
    engine: Engine,
    finished: Arc<dyn RunFinished>,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(svc.settings.concurrency.max(1)));
    let in_use = svc.metrics().worker_slots();
    let mut tasks = tokio::task::JoinSet::new();
    // The engine's health is the node's, not a run's: one pinger, read by every run's watchdog.
    let liveness = Arc::new(EngineLiveness::new());
    let pinger = tokio::spawn(ping_engine(engine.docker().clone(), svc.settings.lease, liveness.clone()));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.cancelled() => break,
        };
        // Register interest before claiming, so a run queued in between still wakes us.
        let notified = svc.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let Some(row) = try_claim(&svc).await else {
            // Idle, the loop holds no slot: a run resuming after an approval may need it.
            drop(permit);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.cancelled() => break,
            }
            continue;
        };
        if let Some(started) = row.started_at {
            svc.metrics().run_started((started - row.queued_at).to_std().unwrap_or_default());
        }
        let (svc, engine, finished, abort) = (svc.clone(), engine.clone(), finished.clone(), abort.clone());
        let liveness = liveness.clone();
        let held = Some((permit, in_use.take()));
        let slot =
            Arc::new(Slot { permits: permits.clone(), in_use: in_use.clone(), held: tokio::sync::Mutex::new(held) });
        tasks.spawn(async move {
            execute(svc, engine, finished.as_ref(), row, abort, slot, liveness).await;
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    pinger.abort();
}

/// One attempt at claiming a run this node can execute.
async fn try_claim(svc: &Service) -> Option<RunRow> {
    match svc.store.claim_run(&svc.settings.node_id, svc.settings.lease, &svc.settings.labels).await {
        Ok(row) => row,
        Err(e) => {
            tracing::warn!(error = %e, "claiming a run failed");
            None
        }
    }
}

/// Persists step updates in the order they happen, off the engine's path, and keeps the latest
/// of each (the record of a run given up without the engine's own).
struct StoreObserver {
    tx: mpsc::UnboundedSender<(usize, StepRecord)>,
    index: std::collections::HashMap<String, usize>,
    latest: std::sync::Mutex<Vec<StepRecord>>,
}

impl RunObserver for StoreObserver {
    fn step_updated(&self, step: &StepRecord) {
        if let Some(i) = self.index.get(&step.id) {
            if let Ok(mut latest) = self.latest.lock()
                && let Some(slot) = latest.get_mut(*i)
            {
                *slot = step.clone();
            }
            let _ = self.tx.send((*i, step.clone()));
        }
    }
}

/// A run's share of the node's concurrency: given back while the run waits for a person.
struct Slot {
    permits: Arc<Semaphore>,
    in_use: WorkerSlots,
    held: tokio::sync::Mutex<Option<(OwnedSemaphorePermit, SlotInUse)>>,
}

/// How often a run paused for approval looks for the decision.
const APPROVAL_POLL: Duration = Duration::from_secs(1);

/// `--approve-before` over the store: the run is marked AwaitingApproval (its containers, lease
/// and heartbeat stay), its worker slot is given back, and the decision, from any node's API, is
/// read back from the run's record.
struct ApprovalGate {
    svc: Arc<Service>,
    claim: Claim,
    timeout: Duration,
    slot: Arc<Slot>,
    log: Arc<crate::daemon::logs::LiveLog>,
}

#[async_trait::async_trait]
impl Gate for ApprovalGate {
    async fn approve_before(&self, step: &str) -> Result<(), String> {
        let (svc, id) = (&self.svc, self.claim.run.as_str());
        match svc.store.pause_run(&self.claim, step).await {
            Ok(true) => {}
            Ok(false) => return Err(format!("the run was stopped before step `{step}`")),
            Err(e) => return Err(format!("cannot record the wait for approval: {e}")),
        }
        self.log.line(
            None,
            &format!(
                "Step `{step}` waits for approval: `drydock runs approve {id}` (or `reject`); \
                 without one within {} it is canceled",
                for_people(self.timeout)
            ),
        );
        drop(self.slot.held.lock().await.take());
        let deadline = tokio::time::Instant::now() + self.timeout;
        let decision = loop {
            tokio::time::sleep(APPROVAL_POLL).await;
            let row = match svc.store.get_run(id).await {
                Ok(Some(row)) => row,
                Ok(None) => break Err("the run record is gone".to_string()),
                Err(e) => {
                    tracing::warn!(run = id, error = %e, "reading the approval failed");
                    continue;
                }
            };
            if row.status == RunStatus::AwaitingApproval {
                if tokio::time::Instant::now() >= deadline {
                    let expired = crate::api::Approval {
                        decision: "expired".into(),
                        by: "drydock".into(),
                        at: chrono::Utc::now(),
                        step: Some(step.to_string()),
                        reason: Some(format!("--approval-timeout of {} s passed", self.timeout.as_secs())),
                    };
                    let _ = svc.store.decide_run(id, &expired, None).await;
                }
                continue;
            }
            match row.approval {
                Some(a) if a.step.as_deref() == Some(step) && a.decision == "approved" => break Ok(a.by),
                Some(a) if a.step.as_deref() == Some(step) => break Err(super::runs::rejection(&a)),
                // Canceled meanwhile: the heartbeat stops the run.
                _ => break Err(format!("the run was canceled before step `{step}`")),
            }
        };
        match decision {
            Ok(by) => {
                // Back in line for a slot: a busy node finishes what it runs first.
                let permit = self.slot.permits.clone().acquire_owned().await.map_err(|e| e.to_string())?;
                *self.slot.held.lock().await = Some((permit, self.slot.in_use.take()));
                self.log.line(None, &format!("Step `{step}` approved by {by}"));
                Ok(())
            }
            Err(why) => Err(why),
        }
    }
}

/// `24 h`, `5 min`, `90 s`.
fn for_people(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

async fn execute(
    svc: Arc<Service>,
    engine: Engine,
    finished: &dyn RunFinished,
    row: RunRow,
    abort: CancellationToken,
    slot: Arc<Slot>,
    liveness: Arc<EngineLiveness>,
) {
    let id = row.id.clone();
    let claim = Claim::of(&row, &svc.settings.node_id);
    let live = match svc.logs.open(&id) {
        Ok(l) => l,
        Err(e) => {
            let error = Some(format!("cannot open the run log: {e}"));
            finish(&svc, &row, &claim, RunStatus::Error, error, None, &abort).await;
            return;
        }
    };
    let cancel = CancellationToken::new();
    if let Ok(mut m) = svc.running.lock() {
        m.insert(id.clone(), cancel.clone());
    }
    let reason = Arc::new(std::sync::Mutex::new(StopReason::None));
    let done = CancellationToken::new();
    let stopper = Stopper {
        cancel: cancel.clone(),
        reason: reason.clone(),
        done: done.clone(),
        engine_lost: CancellationToken::new(),
        log: live.clone(),
    };
    let heartbeat = tokio::spawn(heartbeat(svc.clone(), claim.clone(), stopper.clone(), abort.clone()));
    let engine_watch = tokio::spawn(engine_watch(liveness, svc.settings.lease, stopper.clone()));

    let info = engine.docker().info().await.ok();
    // A run of a platform of its own (the task's, or `--platform`) shows that one, not the
    // engine's, as ACR's PLATFORM column does.
    let requested = row.request.get("platform").and_then(|p| p.as_str()).map(str::to_string);
    if let Some(platform) = requested.or_else(|| info.as_ref().map(|i| format!("{}/{}", i.os, i.arch)))
        && let Ok(Ok(Fenced::Lost)) =
            tokio::time::timeout(beat(svc.settings.lease), svc.store.set_platform(&claim, &platform)).await
    {
        stopper.stop(StopReason::FencedOut);
    }
    live.line(None, &format!("Run ID: {id} started on node {}", svc.settings.node_id));
    svc.announce(&id, Moment::Started).await;
    let info = info.unwrap_or(crate::docker::EngineInfo {
        server_version: String::new(),
        os: "linux".into(),
        arch: "amd64".into(),
        api_version: String::new(),
    });
    let gate = |timeout: Duration| -> Arc<dyn Gate> {
        Arc::new(ApprovalGate {
            svc: svc.clone(),
            claim: claim.clone(),
            timeout,
            slot: slot.clone(),
            log: live.clone(),
        })
    };
    match prepare(&svc, &row, &info, &gate).await {
        Err(e) => {
            for d in &e.diagnostics.0 {
                for l in d.to_string().lines() {
                    live.line(None, l);
                }
            }
            live.line(None, &format!("Error: {}", e.message));
            live.flush();
            let status = if e.diagnostics.has_errors() { RunStatus::Failed } else { RunStatus::Error };
            done.cancel();
            finish(&svc, &row, &claim, status, Some(e.message), Some(live.as_ref()), &abort).await;
        }
        Ok(prepared) => {
            for w in &prepared.warnings.0 {
                for l in w.to_string().lines() {
                    live.line(None, l);
                }
            }
            let (tx, mut rx) = mpsc::unbounded_channel();
            let index = prepared.request.task.steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
            let kinds: HashMap<String, &'static str> =
                prepared.request.task.steps.iter().map(|s| (s.id.clone(), s.kind.name())).collect();
            let (store, held, stop, wait) =
                (svc.store.clone(), claim.clone(), stopper.clone(), beat(svc.settings.lease));
            let saver = tokio::spawn(async move {
                while let Some((i, step)) = rx.recv().await {
                    // A step record that does not get through is not retried: the run's end
                    // records every step again.
                    match tokio::time::timeout(wait, store.save_claimed_step(&held, i, &step)).await {
                        Ok(Ok(Fenced::Held)) => {}
                        Ok(Ok(Fenced::Lost)) => stop.stop(StopReason::FencedOut),
                        Ok(Err(e)) => tracing::warn!(run = %held.run, error = %e, "recording a step failed"),
                        Err(_) => tracing::warn!(run = %held.run, "recording a step timed out"),
                    }
                }
            });
            let latest = prepared.request.task.steps.iter().map(|s| StepRecord::pending(&s.id)).collect();
            let observer = Arc::new(StoreObserver { tx, index, latest: std::sync::Mutex::new(latest) });
            let log = RunLog::new(prepared.masker, live.clone());
            let workspace = prepared.request.workspace_volume.clone();
            if let Ok(mut w) = svc.workspaces.lock() {
                w.insert(workspace.clone());
            }
            let rendered = prepared.rendered;
            let record = tokio::select! {
                record = engine.run(prepared.request, log, observer.clone(), cancel.clone()) => record,
                _ = stopper.engine_lost.cancelled() => given_up(&id, &observer, &stopper.reason().error(svc.settings.lease)),
            };
            done.cancel();
            drop(observer);
            // Step records still on their way are superseded by the end's; over a cut network
            // they would only hold the end back.
            if tokio::time::timeout(beat(svc.settings.lease), &mut Box::pin(saver)).await.is_err() {
                tracing::warn!(run = %id, "step records did not get through; the run's end records them");
            }
            let mut status = record.status;
            let mut error = record.error.clone();
            let why = stopper.reason();
            if status == RunStatus::Canceled && why != StopReason::None {
                // Stopped by the node, not by a user: that is an infrastructure failure.
                status = RunStatus::Error;
                error = Some(why.error(svc.settings.lease));
                live.line(None, &format!("Error: {}", error.clone().unwrap_or_default()));
            }
            let result = RunResult {
                status,
                steps: record.steps,
                output_images: record.output_images,
                dependencies: record.dependencies,
                error,
                finished_at: record.finished_at.unwrap_or_else(chrono::Utc::now),
                resume: record.resume.map(|mut point| {
                    point.task_hash = rendered.task_hash;
                    point.commit = rendered.commit;
                    point.run_id = rendered.run_id;
                    point.date = rendered.date;
                    let keep =
                        chrono::Duration::from_std(svc.settings.keep_failed_workspace).unwrap_or(chrono::Duration::MAX);
                    (point, chrono::Utc::now() + keep)
                }),
            };
            // Whoever sees the run ended may read its log at once: all of it is out first.
            live.flush();
            record_end(&svc, &claim, &result, Some(live.as_ref()), &abort).await;
            count_finished(&svc, &row, &result, &kinds);
            svc.announce(&id, Moment::Finished).await;
            // Recorded as kept (or removed): the janitor may judge it now.
            if let Ok(mut w) = svc.workspaces.lock() {
                w.remove(&workspace);
            }
            finished.run_finished(&id).await;
        }
    }
    heartbeat.abort();
    engine_watch.abort();
    if let Ok(mut m) = svc.running.lock() {
        m.remove(&id);
    }
    svc.logs.close(&id);
    // After the log closes, so followers do not wait on this bookkeeping.
    if let Err(e) = svc.release_upload(&row).await {
        tracing::warn!(run = %id, error = %e, "releasing the run's upload failed");
    }
}

async fn finish(
    svc: &Service,
    row: &RunRow,
    claim: &Claim,
    status: RunStatus,
    error: Option<String>,
    log: Option<&dyn LogSink>,
    abort: &CancellationToken,
) {
    let result = RunResult {
        status,
        // The steps planned when it was queued, none of which ran.
        steps: row
            .steps
            .iter()
            .cloned()
            .map(|mut s| {
                if !s.status.is_terminal() {
                    s.status = StepStatus::Skipped;
                }
                s
            })
            .collect(),
        output_images: Vec::new(),
        dependencies: Vec::new(),
        error,
        finished_at: chrono::Utc::now(),
        resume: None,
    };
    record_end(svc, claim, &result, log, abort).await;
    count_finished(svc, row, &result, &HashMap::new());
    svc.announce(&row.id, Moment::Finished).await;
}

/// Counts a run's end in the metrics: its status, how long it executed, and each step that ran
/// (`kinds`: step id → `cmd`, `build` or `push`).
fn count_finished(svc: &Service, row: &RunRow, result: &RunResult, kinds: &HashMap<String, &'static str>) {
    let ran = row.started_at.and_then(|s| (result.finished_at - s).to_std().ok());
    svc.metrics().run_finished(result.status.as_str(), row.trigger.kind(), ran);
    for step in &result.steps {
        if let (Some(kind), Some(start), Some(end)) = (kinds.get(&step.id), step.started_at, step.finished_at)
            && step.status.is_terminal()
            && step.status != crate::run::StepStatus::Reused
        {
            svc.metrics().step_finished(kind, step.status.as_str(), (end - start).to_std().unwrap_or_default());
        }
    }
}

/// Records a run's end, retrying while the database does not answer (a blip must not lose a
/// result that is in hand), until it is written or the node learns it was fenced out (the run was
/// reaped meanwhile: its record stays as the reaper wrote it). Gives up only when the daemon is
/// aborting and an attempt failed.
async fn record_end(
    svc: &Service,
    claim: &Claim,
    result: &RunResult,
    log: Option<&dyn LogSink>,
    abort: &CancellationToken,
) {
    let mut wait = Duration::from_millis(250);
    loop {
        let why =
            match tokio::time::timeout(beat(svc.settings.lease).max(wait), svc.store.finish_claimed(claim, result))
                .await
            {
                Ok(Ok(Fenced::Held)) => return,
                Ok(Ok(Fenced::Lost)) => {
                    if let Some(log) = log {
                        log.line(
                            None,
                            &format!(
                                "This node was fenced out: the run's record was closed by another node while this one \
                             could not reach the database; its end here ({}) was not recorded",
                                result.status.as_str()
                            ),
                        );
                    }
                    tracing::warn!(run = %claim.run, "fenced out: the run's end was not recorded");
                    return;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "the database did not answer".to_string(),
            };
        if abort.is_cancelled() {
            tracing::error!(run = %claim.run, error = %why, "recording the end of a run failed; the reaper will mark it lost");
            return;
        }
        tracing::warn!(run = %claim.run, error = %why, "recording the end of a run failed; retrying");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = abort.cancelled() => {}
        }
        wait = (wait * 2).min(FINISH_RETRY_MAX);
    }
}

/// The record of a run given up while the engine hangs: the steps as last seen, settled.
fn given_up(id: &str, observer: &StoreObserver, why: &str) -> crate::run::RunRecord {
    let now = chrono::Utc::now();
    let mut steps = observer.latest.lock().map(|l| l.clone()).unwrap_or_default();
    crate::run::settle_steps(&mut steps, now, why);
    crate::run::RunRecord {
        id: id.to_string(),
        status: RunStatus::Canceled,
        steps,
        output_images: Vec::new(),
        dependencies: Vec::new(),
        error: Some(why.to_string()),
        started_at: None,
        finished_at: Some(now),
        platform: None,
        resume: None,
        signatures: Vec::new(),
    }
}

/// When the node's engine last answered a ping.
struct EngineLiveness(std::sync::Mutex<tokio::time::Instant>);

impl EngineLiveness {
    fn new() -> EngineLiveness {
        EngineLiveness(std::sync::Mutex::new(tokio::time::Instant::now()))
    }

    fn answered(&self) {
        if let Ok(mut at) = self.0.lock() {
            *at = tokio::time::Instant::now();
        }
    }

    fn last(&self) -> tokio::time::Instant {
        self.0.lock().map(|at| *at).unwrap_or_else(|_| tokio::time::Instant::now())
    }
}

/// Pings the node's engine every beat, for as long as the workers run.
async fn ping_engine(docker: crate::docker::DockerHost, lease: Duration, liveness: Arc<EngineLiveness>) {
    loop {
        tokio::time::sleep(beat(lease)).await;
        if let Ok(Ok(())) = tokio::time::timeout(beat(lease), docker.ping()).await {
            liveness.answered();
        }
    }
}

/// Gives the run up ([`StopReason::EngineLost`]) once the engine has not answered for half a lease.
async fn engine_watch(liveness: Arc<EngineLiveness>, lease: Duration, stopper: Stopper) {
    loop {
        let due = liveness.last() + cut_off_after(lease);
        if tokio::time::Instant::now() >= due {
            tracing::error!("the Docker engine does not answer; giving the run up");
            stopper.stop(StopReason::EngineLost);
            return;
        }
        tokio::time::sleep_until(due).await;
    }
}

/// What stops a run from outside the engine: the cancel token, why it was pulled, and the log
/// that says so. `done` once the engine has returned (a late stop then changes nothing).
#[derive(Clone)]
struct Stopper {
    cancel: CancellationToken,
    reason: Arc<std::sync::Mutex<StopReason>>,
    done: CancellationToken,
    /// Fired with [`StopReason::EngineLost`]: the run is not waited for.
    engine_lost: CancellationToken,
    log: Arc<crate::daemon::logs::LiveLog>,
}

impl Stopper {
    /// Stops the run for `why`, once: the first reason is the one recorded.
    fn stop(&self, why: StopReason) {
        if self.done.is_cancelled() {
            return;
        }
        let Ok(mut reason) = self.reason.lock() else { return };
        if *reason != StopReason::None {
            return;
        }
        *reason = why;
        if why == StopReason::EngineLost {
            self.engine_lost.cancel();
        }
        let notice = match why {
            StopReason::FencedOut => {
                "this node was fenced out (the run was failed or taken over while this node \
                 could not reach the database)"
            }
            StopReason::CutOff => {
                "this node cannot reach the database to renew its claim, and another node \
                 fails the run as lost once the lease runs out"
            }
            StopReason::EngineLost => "the Docker engine does not answer",
            StopReason::Shutdown | StopReason::None => "",
        };
        if !notice.is_empty() {
            self.log.line(None, &format!("Stopping the run: {notice}"));
        }
        self.cancel.cancel();
    }

    fn reason(&self) -> StopReason {
        self.reason.lock().map(|r| *r).unwrap_or(StopReason::None)
    }
}

/// Renews the lease, relays cancel requests from any node, and stops the run when the daemon
/// aborts, when the node is fenced out, or when no renewal got through for half a lease.
async fn heartbeat(svc: Arc<Service>, claim: Claim, stopper: Stopper, abort: CancellationToken) {
    let lease = svc.settings.lease;
    let renewed = std::sync::Mutex::new(tokio::time::Instant::now());
    let last_renewal = || renewed.lock().map(|at| *at).unwrap_or_else(|_| tokio::time::Instant::now());
    let renewals = async {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(beat(lease)) => {}
                _ = abort.cancelled() => {
                    stopper.stop(StopReason::Shutdown);
                    return;
                }
            }
            // Timed from before the attempt: the database may take the renewal late, never early.
            let attempt = tokio::time::Instant::now();
            match tokio::time::timeout(beat(lease), svc.store.renew_lease(&claim, lease)).await {
                Ok(Ok(Fenced::Held)) => {
                    if let Ok(mut at) = renewed.lock() {
                        *at = attempt;
                    }
                }
                Ok(Ok(Fenced::Lost)) => {
                    stopper.stop(StopReason::FencedOut);
                    return;
                }
                Ok(Err(e)) => tracing::warn!(run = %claim.run, error = %e, "lease renewal failed"),
                Err(_) => tracing::warn!(run = %claim.run, "lease renewal timed out"),
            }
            if let Ok(Ok(Some(row))) = tokio::time::timeout(beat(lease), svc.store.get_run(&claim.run)).await
                && row.cancel_requested
            {
                stopper.cancel.cancel();
            }
        }
    };
    // Apart from the renewals, so that a renewal hanging until its timeout cannot delay the stop.
    // Renewals go on after it: a run that already ended is being recorded, and a lease that holds
    // again lets that record land.
    let watchdog = async {
        loop {
            let due = last_renewal() + cut_off_after(lease);
            if tokio::time::Instant::now() >= due {
                if !stopper.done.is_cancelled() {
                    tracing::error!(run = %claim.run, "no lease renewal got through; stopping the run before it is reaped");
                    stopper.stop(StopReason::CutOff);
                }
                return std::future::pending::<()>().await;
            }
            tokio::time::sleep_until(due).await;
        }
    };
    tokio::select! {
        _ = renewals => {}
        _ = watchdog => {}
    }
}
