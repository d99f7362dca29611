//! What every step shares: its context, its result, and ACR's policy around attempts
//! (startDelay, timeout, retries with retryDelay and retryOnErrors, repeat, ignoreErrors).

use super::log::{RunLog, StepWriter};
use super::scaffold::Scaffold;
use super::{Engine, GitInfo, RunSource};
use crate::dockerfile::Dependencies;
use crate::run::{OutputImage, StepStatus};
use crate::taskfile::{Step, TaskFile};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What a step runner needs, shared by all steps of a run.
pub struct StepContext {
    /// The engine.
    pub engine: Engine,
    /// Key of the run's Docker objects.
    pub object_key: String,
    /// The task.
    pub task: TaskFile,
    /// Created objects.
    pub scaffold: Scaffold,
    /// The log.
    pub log: RunLog,
    /// For quick builds: the source the build step reads directly.
    pub quick_source: Option<RunSource>,
    /// Facts about the source repository.
    pub git: GitInfo,
    /// Registry logins for this run (engine's and the run's; none for an untrusted run).
    pub credentials: crate::registry::Credentials,
    /// Why the run is untrusted (no socket, no privileged steps, no pushes), if it is.
    pub untrusted: Option<String>,
    /// Images known to be on the engine, so that each is looked up once per run.
    pub images_present: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The run's registry, for `acr purge` steps.
    pub run_registry: String,
    /// Keys every base image must be signed with (none: no policy).
    pub require_signed_base: Vec<crate::registry::keys::VerificationKey>,
    /// The key that signs every image the run pushes, if any.
    pub sign_key: Option<crate::registry::keys::SignatureKey>,
    /// Signatures written so far, for the run record.
    pub signatures: std::sync::Mutex<Vec<crate::run::ImageSignature>>,
    /// The run's platform(s) (`--platform` of `drydock run`, or the task's): the default of build
    /// steps without their own, and the platform cmd steps run (when it is one).
    pub run_platform: Option<String>,
    /// Multi-platform builds by tag ([`super::normal_tag`]): each platform's image, for the push
    /// step that pushes them and their index.
    pub platform_images: std::sync::Mutex<std::collections::HashMap<String, Vec<super::PlatformImage>>>,
    /// What is left of steps that succeeded, going on beside the steps after them
    /// ([`StepContext::finish_later`]).
    pub finishing: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// An image a build step produced, for the dependency JSON.
#[derive(Clone, Debug)]
pub struct BuildProduct {
    /// `-t` tags as written.
    pub tags: Vec<String>,
    /// Base images found in the Dockerfile.
    pub deps: Dependencies,
    /// Commit of a git context, else of the run source.
    pub git_head: Option<String>,
    /// The platforms it was built for, when a platform was asked for.
    pub platforms: Vec<super::platform::Platform>,
}

/// The end of a step.
#[derive(Debug)]
pub struct StepResult {
    /// Final status.
    pub status: StepStatus,
    /// Exit code of the last container.
    pub exit_code: Option<i64>,
    /// Attempts made.
    pub attempts: u32,
    /// Why it failed (or what was ignored).
    pub error: Option<String>,
    /// Images pushed by a push step.
    pub pushed: Vec<OutputImage>,
    /// What a build step built.
    pub built: Option<BuildProduct>,
}

/// The outcome of one attempt (one container, one build, one push).
#[derive(Debug, Default)]
pub struct Attempt {
    /// Whether it succeeded.
    pub ok: bool,
    /// Container exit code, if any.
    pub exit_code: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Images pushed.
    pub pushed: Vec<OutputImage>,
    /// What was built.
    pub built: Option<BuildProduct>,
}

impl Attempt {
    /// A failed attempt with a message.
    pub fn failed(error: impl Into<String>) -> Self {
        Attempt { ok: false, error: Some(error.into()), ..Attempt::default() }
    }
}

/// Sleeps unless cancelled; returns false when cancelled.
pub async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = cancel.cancelled() => false,
    }
}

/// Runs `attempt` under ACR's step policy. `attempt` gets the attempt number, the step's output
/// writer and a token it must watch: when the token fires it stops its container and returns.
pub async fn run_policy<F, Fut>(
    ctx: &StepContext,
    step: &Step,
    cancel: &CancellationToken,
    retryable: bool,
    mut attempt: F,
) -> StepResult
where
    F: FnMut(u32, Arc<std::sync::Mutex<StepWriter>>, CancellationToken) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let log = &ctx.log;
    let started = Instant::now();
    let mut result = StepResult {
        status: StepStatus::Running,
        exit_code: None,
        attempts: 0,
        error: None,
        pushed: Vec::new(),
        built: None,
    };
    if step.start_delay > 0 {
        log.step_line(&step.id, &format!("Waiting {}s before starting (startDelay)", step.start_delay));
        if !sleep_or_cancel(Duration::from_secs(step.start_delay), cancel).await {
            result.status = StepStatus::Canceled;
            return result;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(step.timeout);
    let writer = Arc::new(std::sync::Mutex::new(log.step_writer(&step.id)));
    let (retries, iterations) = if retryable { (step.retries, step.repeat + 1) } else { (0, 1) };
    let mut failures: Vec<String> = Vec::new();

    'iterations: for iteration in 0..iterations {
        if iteration > 0 {
            log.step_line(&step.id, &format!("Repeating the step ({} of {})", iteration + 1, iterations));
        }
        let mut tries = 0;
        loop {
            tries += 1;
            result.attempts += 1;
            if let Ok(mut w) = writer.lock() {
                w.reset_tail();
            }
            let token = cancel.child_token();
            let fut = attempt(result.attempts, writer.clone(), token.clone());
            tokio::pin!(fut);
            let a = tokio::select! {
                a = &mut fut => a,
                _ = tokio::time::sleep_until(deadline) => {
                    token.cancel();
                    let a = fut.await;
                    result.exit_code = a.exit_code;
                    result.status = StepStatus::Timeout;
                    result.error = Some(format!("step `{}` timed out after {}s", step.id, step.timeout));
                    break 'iterations;
                }
                _ = cancel.cancelled() => {
                    let a = fut.await;
                    result.exit_code = a.exit_code;
                    result.status = StepStatus::Canceled;
                    result.error = Some("stopped".into());
                    return finish(ctx, step, result, started);
                }
            };
            result.exit_code = a.exit_code;
            result.pushed.extend(a.pushed);
            if a.built.is_some() {
                result.built = a.built;
            }
            if a.ok {
                break;
            }
            let message = a.error.unwrap_or_else(|| "failed".into());
            let output_matches = step.retry_on_errors.is_empty()
                || writer.lock().is_ok_and(|w| w.tail_contains_any(&step.retry_on_errors))
                || step.retry_on_errors.iter().any(|e| message.contains(e.as_str()));
            if tries <= retries && output_matches {
                log.step_line(
                    &step.id,
                    &format!("Step failed ({message}), waiting {} seconds before retrying...", step.retry_delay),
                );
                if !sleep_or_cancel(Duration::from_secs(step.retry_delay), cancel).await {
                    result.status = StepStatus::Canceled;
                    return finish(ctx, step, result, started);
                }
                continue;
            }
            if tries <= retries {
                log.step_line(&step.id, "Not retrying: the output contains none of retryOnErrors");
            }
            log.step_line(&step.id, &format!("Error: {message}"));
            failures.push(message);
            break;
        }
    }
    if result.status == StepStatus::Running {
        result.status = if failures.is_empty() { StepStatus::Succeeded } else { StepStatus::Failed };
        if !failures.is_empty() {
            result.error = Some(failures.join("; "));
        }
    }
    if result.status != StepStatus::Succeeded && step.ignore_errors {
        let why = result.error.take().unwrap_or_default();
        log.step_line(&step.id, &format!("Step failed but ignoreErrors is set: {why}"));
        result.error = Some(format!("ignored: {why}"));
        result.status = StepStatus::Succeeded;
    }
    finish(ctx, step, result, started)
}

impl StepContext {
    /// The run's logins in the Docker layer's form.
    pub fn docker_credentials(&self) -> Vec<crate::docker::RegistryCredential> {
        super::docker_credentials(&self.credentials)
    }

    /// Runs what is left of a step that succeeded (its container's removal) beside the steps
    /// after it; the scheduler waits for all of it before the run's teardown.
    pub fn finish_later(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.finishing.lock().unwrap_or_else(|e| e.into_inner()).spawn(work);
    }
}

fn finish(ctx: &StepContext, step: &Step, result: StepResult, started: Instant) -> StepResult {
    let marked = match result.status {
        StepStatus::Succeeded => "successful",
        StepStatus::Failed => "failed",
        StepStatus::Timeout => "timed out",
        StepStatus::Canceled => "canceled",
        _ => "finished",
    };
    ctx.log.step_line(
        &step.id,
        &format!(
            "Step ID: {} marked as {marked} (elapsed time in seconds: {:.3})",
            step.id,
            started.elapsed().as_secs_f64()
        ),
    );
    result
}
