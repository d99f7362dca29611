//! Executes a planned task on a Docker engine: the one code path for local runs and the daemon.
//!
//! A run is: scaffold (networks, the workspace volume seeded with the context, the home volume,
//! secret volumes) → the scheduler runs steps as the plan allows → teardown removes every Docker
//! object labelled with the run id, whatever happened. Progress goes to a [`RunObserver`], output
//! to a [`log::RunLog`].

pub mod deps;
pub mod janitor;
pub mod log;
pub mod network_pool;
pub mod prepare;
pub mod resume;
mod scaffold;
pub use scaffold::WORKSPACE_LABEL;
mod base_policy;
pub mod platform;
mod platform_bases;
pub use platform_bases::runnable_platforms;
mod scheduler;
mod step;
mod step_build;
mod step_cmd;
mod step_purge;
mod step_push;

use crate::docker::{DockerHost, Labels, RegistryCredential};
use crate::registry::{Credentials, RegistryClient};
use crate::run::{RunRecord, RunStatus, StepRecord};
use crate::secrets::Masker;
use crate::taskfile::{Plan, StepKind, TaskFile};
use chrono::Utc;
use log::RunLog;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How step containers are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerNaming {
    /// ACR's rule: the container is named after the step id, so `docker logs <id>` works in later
    /// steps. Two runs with the same step ids cannot share an engine at the same time.
    StepId,
    /// `<step id>-<run id>`: concurrent runs never collide. The step id stays the DNS name.
    PerRun,
}

/// One platform's image of a multi-platform build, kept until a push step pushes the index.
#[derive(Clone, Debug)]
pub struct PlatformImage {
    /// The platform it was built for (checked in its config).
    pub platform: platform::Platform,
    /// Its local image id.
    pub image_id: String,
}

/// A `-t` or `push:` name in one spelling (`app` and `docker.io/library/app:latest` are one), so
/// that a push step finds the platforms a build step made under the name it wrote.
pub(crate) fn normal_tag(name: &str) -> String {
    crate::reference::ImageRef::parse(name).map(|r| r.familiar()).unwrap_or_else(|_| name.to_string())
}

/// Engine settings that do not change between runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Allow `privileged: true` steps.
    pub allow_privileged: bool,
    /// Path of the engine's socket to mount into build and cmd steps at `/var/run/docker.sock`
    /// (ACR does this for every step). `None`: steps get no Docker access.
    pub docker_socket: Option<String>,
    /// Build every image with BuildKit (otherwise only steps with `DOCKER_BUILDKIT=1` in env).
    pub buildkit: bool,
    /// Container naming.
    pub naming: ContainerNaming,
    /// Labels added to every object besides `drydock.run` (owner, node).
    pub labels: BTreeMap<String, String>,
    /// Registry credentials for pulls, builds and pushes.
    pub credentials: Credentials,
    /// Idle networks kept between runs whose steps overlap; `None`: each such run makes its own.
    pub network_pool: Option<network_pool::NetworkPool>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allow_privileged: false,
            docker_socket: None,
            buildkit: false,
            naming: ContainerNaming::PerRun,
            labels: BTreeMap::new(),
            credentials: Credentials::new(),
            network_pool: None,
        }
    }
}

/// Where the run's files come from.
#[derive(Clone, Debug)]
pub enum RunSource {
    /// No context (`/dev/null` in ACR): the workspace starts empty.
    None,
    /// A local directory, packed honouring `.dockerignore`.
    Dir(PathBuf),
    /// A tar archive on disk (plain or compressed), already checked.
    Archive(PathBuf),
}

/// Git facts about the run's source, for `$Commit`-style records and the dependency JSON.
#[derive(Clone, Debug, Default)]
pub struct GitInfo {
    /// Head commit.
    pub commit: Option<String>,
}

/// One run for the engine to execute (the API's quick-run request is `api::RunRequest`).
pub struct Execution {
    /// The run's platform(s), `os/arch[/variant]` comma-separated: the default `--platform` of its
    /// build steps, and the platform its cmd steps run when it is one.
    pub platform: Option<String>,
    /// Run id, as people see it.
    pub run_id: String,
    /// Key of the run's Docker objects (the `drydock.run` label and name suffix). It must be
    /// unique on the engine: daemons with separate databases both have a run `0001`.
    pub object_key: String,
    /// The validated task.
    pub task: TaskFile,
    /// Its plan.
    pub plan: Plan,
    /// The context.
    pub source: RunSource,
    /// Run timeout (the task's `totalTimeout` also applies; the smaller wins).
    pub timeout: Duration,
    /// Quick build: the build step reads its context straight from `source` (no workspace copy).
    pub quick_build: bool,
    /// Facts about the source repository.
    pub git: GitInfo,
    /// Name of the workspace volume (`$SharedVolume`).
    pub workspace_volume: String,
    /// Registry logins of this run (a task's credentials), over the engine's own.
    pub credentials: Credentials,
    /// The run's registry (`.Run.Registry`): where `acr purge` steps purge unless told otherwise.
    pub registry: String,
    /// Signs every image the run pushes (cosign-style), when set; not for untrusted runs.
    pub sign_key: Option<crate::registry::keys::SignatureKey>,
    /// When not empty, every base image a build step uses must carry a signature one of these
    /// keys verifies, or the step fails before it builds.
    pub require_signed_base: Vec<crate::registry::keys::VerificationKey>,
    /// Set (with the reason) for a run whose steps come from someone untrusted (a fork's pull
    /// request): it gets no registry logins, not even the engine's own, no engine socket and no
    /// privileged steps, and its push steps fail with this reason.
    pub untrusted: Option<String>,
    /// Steps (by id) that wait for `gate` before they start.
    pub approve_before: Vec<String>,
    /// Who approves them; without one, such steps are refused.
    pub gate: Option<Arc<dyn Gate>>,
    /// Keep the workspace volume when the run does not succeed, so that it can be resumed
    /// (`record.resume` then says what it kept). Otherwise it goes with the rest.
    pub keep_workspace: bool,
    /// The run this one resumes: `workspace_volume` is its kept workspace, and its steps that
    /// succeeded are reused.
    pub resume: Option<resume::Resume>,
}

/// A person's approval before chosen steps (`--approve-before`). The daemon implements it over
/// the store; the scheduler only waits on it, keeping the run's containers and workspace.
#[async_trait::async_trait]
pub trait Gate: Send + Sync {
    /// Waits until step `step` may start: `Ok` once approved, `Err(why)` when rejected or when
    /// no one approved it in time.
    async fn approve_before(&self, step: &str) -> Result<(), String>;
}

/// Progress reports, for callers that persist or display step state as it changes.
pub trait RunObserver: Send + Sync {
    /// A step changed state.
    fn step_updated(&self, _step: &StepRecord) {}
}

/// An observer that ignores everything.
pub struct NoObserver;
impl RunObserver for NoObserver {}

/// Executes runs on one Docker engine.
#[derive(Clone)]
pub struct Engine {
    docker: DockerHost,
    registry: RegistryClient,
    /// A registry client that gives up at once, for best-effort lookups (base-image digests).
    lookup: RegistryClient,
    config: Arc<EngineConfig>,
}

impl Engine {
    /// An engine over a connected Docker host.
    pub fn new(docker: DockerHost, registry: RegistryClient, config: EngineConfig) -> Self {
        let quick = crate::registry::ClientConfig {
            max_attempts: 1,
            timeout: Duration::from_secs(5),
            ..crate::registry::ClientConfig::default()
        };
        let lookup = RegistryClient::new(quick).unwrap_or_else(|_| registry.clone());
        Engine { docker, registry, lookup, config: Arc::new(config) }
    }

    /// The Docker host.
    pub fn docker(&self) -> &DockerHost {
        &self.docker
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The engine's logins with a run's own over them; none at all for an untrusted run.
    pub(crate) fn credentials_for(&self, req: &Execution) -> Credentials {
        if req.untrusted.is_some() {
            return Credentials::new();
        }
        let mut all = self.config.credentials.clone();
        all.merge(req.credentials.clone());
        all
    }

    /// Labels for an object of the run with Docker key `key`.
    pub(crate) fn labels(&self, key: &str) -> Labels {
        self.config.labels.iter().fold(Labels::for_run(key), |l, (k, v)| l.with(k.clone(), v.clone()))
    }

    /// Executes a run to the end and removes everything it created. Cancelling `cancel` stops the
    /// running steps and skips the rest; the record says `Canceled`.
    pub async fn run(
        &self,
        req: Execution,
        log: RunLog,
        observer: Arc<dyn RunObserver>,
        cancel: CancellationToken,
    ) -> RunRecord {
        let started = Utc::now();
        let steps = planned_steps(&req.task, &req.plan);
        let mut record = RunRecord {
            id: req.run_id.clone(),
            status: RunStatus::Running,
            steps,
            output_images: Vec::new(),
            signatures: Vec::new(),
            dependencies: Vec::new(),
            error: None,
            started_at: Some(started),
            finished_at: None,
            platform: req.platform.clone(),
            resume: None,
        };
        let timeout = match req.task.total_timeout {
            Some(t) => req.timeout.min(Duration::from_secs(t)),
            None => req.timeout,
        };
        let deadline = tokio::time::Instant::now() + timeout;

        // A resume checks what it reuses before it creates anything.
        let reused = resume::reuse(self, &req, &mut record, &log).await;
        // The whole plan is reported up front, pending steps included, so that it can be drawn
        // before anything runs.
        for s in &record.steps {
            observer.step_updated(s);
        }
        let scaffold = match &reused {
            Ok(_) => tokio::select! {
                s = scaffold::Scaffold::create(self, &req, &log) => s,
                _ = cancel.cancelled() => Err("the run was cancelled while it was being set up".to_string()),
                _ = tokio::time::sleep_until(deadline) => Err(format!("the run timed out after {}s while it was being set up", timeout.as_secs())),
            },
            Err(why) => Err(why.clone()),
        };
        // Whether the workspace holds what a resume needs: seeded by this run, or the kept one.
        let mut workspace_ready = req.resume.is_some();
        let mut products = std::collections::BTreeMap::new();
        // A pool network is handed back after the run's containers are gone, below.
        let mut pooled = None;
        match (scaffold, reused) {
            (Ok(mut scaffold), Ok(reused)) => {
                pooled = scaffold.pooled.take();
                workspace_ready = true;
                let outcome = scheduler::execute(
                    self,
                    &req,
                    &reused,
                    scaffold,
                    &log,
                    observer.as_ref(),
                    &cancel,
                    deadline,
                    &mut record,
                )
                .await;
                record.status = outcome.status;
                record.error = outcome.error.clone();
                if record.status == RunStatus::Succeeded {
                    record.dependencies = if req.resume.is_some() {
                        let mut new = std::collections::BTreeMap::new();
                        for (i, (b, _)) in &outcome.products {
                            if let Some(b) = b {
                                new.insert(
                                    *i,
                                    deps::collect(self, std::slice::from_ref(b), &record.output_images, &log).await,
                                );
                            }
                        }
                        resume::dependencies_in_order(&req, &record, new)
                    } else {
                        deps::collect(self, &outcome.builds(), &record.output_images, &log).await
                    };
                    if !record.dependencies.is_empty() {
                        log.run_line("The following dependencies were found:");
                        log.run_line(&serde_json::Value::Array(record.dependencies.clone()).to_string());
                    }
                }
                products = outcome.products;
            }
            (Err(e), _) | (_, Err(e)) => {
                record.status = if cancel.is_cancelled() {
                    RunStatus::Canceled
                } else if tokio::time::Instant::now() >= deadline {
                    RunStatus::Timeout
                } else {
                    RunStatus::Error
                };
                for s in &mut record.steps {
                    if !s.status.is_terminal() {
                        s.status = crate::run::StepStatus::Skipped;
                        observer.step_updated(s);
                    }
                }
                log.run_line(&format!("Error: {e}"));
                record.error = Some(e);
            }
        }
        let keep = req.keep_workspace && workspace_ready && record.status != RunStatus::Succeeded;
        if keep {
            record.resume = Some(resume::point(self, &req, &record, &products, &log).await);
            log.run_line(&format!(
                "The workspace volume {} is kept: `drydock runs resume {}` reruns only the steps that did not succeed",
                req.workspace_volume, req.run_id
            ));
        }
        // The workspace goes with the run's other volumes, unless it is kept for a resume.
        let workspace = (!keep).then_some(req.workspace_volume.as_str());
        scaffold::teardown(self, &req.object_key, workspace, &log).await;
        if let (Some(pool), Some(held)) = (&self.config.network_pool, pooled) {
            let name = held.name.clone();
            if let Err(e) = pool.give_back(&self.docker, held, &self.labels(&req.object_key)).await {
                tracing::warn!(network = %name, error = %e, "handing a network back to the pool failed");
                log.run_line(&format!(
                    "Warning: handing the network {name} back failed ({e}); `docker network prune` removes it"
                ));
            }
        }
        let finished = Utc::now();
        record.finished_at = Some(finished);
        let secs = (finished - started).num_milliseconds() as f64 / 1000.0;
        let verdict = match record.status {
            RunStatus::Succeeded => "was successful",
            RunStatus::Canceled => "was canceled",
            RunStatus::Timeout => "timed out",
            _ => "failed",
        };
        log.run_line(&format!("Run ID: {} {verdict} after {secs:.1}s", req.run_id));
        record
    }
}

/// Every step of a plan, pending, with the steps it waits for: the run's graph before it starts.
pub fn planned_steps(task: &TaskFile, plan: &Plan) -> Vec<StepRecord> {
    task.steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepRecord {
            needs: plan.dependencies(i).into_iter().map(|d| task.steps[d].id.clone()).collect(),
            ..StepRecord::pending(&s.id)
        })
        .collect()
}

/// Registry credentials in the Docker layer's form.
pub(crate) fn docker_credentials(creds: &Credentials) -> Vec<RegistryCredential> {
    creds
        .iter()
        .map(|(host, c)| RegistryCredential {
            server: host.to_string(),
            username: c.username.clone(),
            password: c.password.clone(),
        })
        .collect()
}

/// Every secret value a task carries in plain sight (secret build args), so that callers can add
/// them to the masker before the run starts.
pub fn task_secret_values(task: &TaskFile) -> Vec<String> {
    task.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Build(b) => Some(b.spec.secret_build_args.iter().filter_map(|(_, v)| v.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// A masker for a run: the given secret values plus the task's secret build args.
pub fn masker_for(task: &TaskFile, secrets: impl IntoIterator<Item = String>) -> Masker {
    let mut m = Masker::default();
    for v in secrets.into_iter().chain(task_secret_values(task)) {
        m.add(&v);
    }
    m
}
