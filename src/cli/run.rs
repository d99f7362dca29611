//! `drydock run` and `drydock build` on this machine's Docker engine (`--local`): the task-file
//! pipeline, then the engine, with the log on stderr and the run record on stdout. With
//! `--server`/`DRYDOCK_SERVER` (and no `--local`) they go to a daemon instead: [`super::remote_run`].

use super::remote_run::{self, RemoteArgs, daemon_for};
use super::taskfile_args::{RunVarArgs, TaskFileArgs, TaskInput, load_input, resolve_in_context};
use super::{CliError, paint, print_diagnostics};
use crate::docker::DockerHost;
use crate::engine::log::{ConsoleSink, RunLog};
use crate::engine::network_pool::NetworkPool;
use crate::engine::prepare::{self, RunTarget};
use crate::engine::{ContainerNaming, Engine, EngineConfig, GitInfo, NoObserver, RunSource, janitor};
use crate::registry::keys::SignatureKey;
use crate::registry::{ClientConfig, Credentials, RegistryClient};
use crate::run::{RunRecord, RunStatus, StepStatus};
use crate::runid;
use crate::taskfile::synth;
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Engine options shared by `run` and `build`.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Run on this machine's Docker engine (DOCKER_HOST or the local socket), with no daemon,
    /// even when DRYDOCK_SERVER is set.
    #[arg(long, conflicts_with = "server")]
    pub local: bool,
    /// Run timeout in seconds (ACR's default 3600; 300–28800 on ACR, any positive value here).
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Allow steps with `privileged: true`.
    #[arg(long)]
    pub allow_privileged: bool,
    /// Do not mount the Docker socket into steps. By default local runs mount it, as ACR does, so
    /// `cmd: docker …` works; that gives every step full control of the engine.
    #[arg(long)]
    pub no_docker_socket: bool,
    /// Build every image with BuildKit (otherwise only steps with DOCKER_BUILDKIT=1).
    #[arg(long)]
    pub buildkit: bool,
    /// Name containers `<step>-<run id>` so that concurrent runs can share the engine (ACR names
    /// them after the step id only).
    #[arg(long)]
    pub unique_container_names: bool,
    #[command(flatten)]
    pub network_pool: NetworkPoolArgs,
    /// Registry login `host=user:password`; repeatable. Also read: the Docker config.json.
    #[arg(long = "registry-login", value_name = "HOST=USER:PASSWORD")]
    pub registry_login: Vec<String>,
    /// Docker config.json with registry logins (default $DOCKER_CONFIG/config.json or ~/.docker/config.json).
    #[arg(long)]
    pub docker_config: Option<PathBuf>,
    /// Sign every image the run pushes with this private key (`cosign.key` from `drydock key
    /// generate`, a PKCS#8 PEM), stored as cosign stores signatures; `drydock verify` and `cosign
    /// verify --key cosign.pub` check them. Local runs only.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Public key file (`cosign.pub`); repeatable. Every base image a build step uses must carry a
    /// signature one of them verifies, or the build fails before it starts. Local runs only.
    #[arg(long, value_name = "PUB")]
    pub require_signed_base: Vec<PathBuf>,
    /// `json` prints the final run record on stdout (logs stay on stderr).
    #[arg(long, short = 'o', value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
}

/// Output of `run` and `build`: `text` (logs and a summary) or `json` (the run record on stdout).
pub use super::output::Format as RunOutput;

/// The idle networks runs take instead of making their own (local runs and `drydock serve` alike).
#[derive(Args, Debug, Clone)]
pub struct NetworkPoolArgs {
    /// Networks kept idle between runs whose steps overlap, shared by every drydock that uses the
    /// engine; a run takes one instead of making and removing its own (0: every such run makes
    /// its own).
    #[arg(long, env = "DRYDOCK_IDLE_NETWORKS", value_name = "N", default_value_t = crate::engine::network_pool::DEFAULT_IDLE)]
    pub idle_networks: usize,
    /// The pool of idle networks to use; runs share the networks of one pool on an engine.
    #[arg(long, env = "DRYDOCK_NETWORK_POOL", value_name = "NAME", default_value = crate::engine::network_pool::DEFAULT_POOL)]
    pub network_pool: String,
}

impl NetworkPoolArgs {
    /// The pool, or none for `--idle-networks 0`.
    pub fn pool(&self) -> Option<NetworkPool> {
        NetworkPool::new(&self.network_pool, self.idle_networks)
    }
}

/// Arguments of `drydock run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: TaskFileArgs,
    #[command(flatten)]
    pub vars: RunVarArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Run one command instead of a task file: `IMAGE ARGS` (ACR's `az acr run --cmd`).
    #[arg(long, conflicts_with = "file")]
    pub cmd: Option<String>,
    /// Platform of the run, `os/arch[/variant]`: build steps without their own `--platform` build
    /// for it, and cmd steps run as it (through QEMU when it is not the machine's). A list
    /// (`linux/amd64,linux/arm64`) makes build steps multi-platform; cmd steps then run natively.
    #[arg(long)]
    pub platform: Option<String>,
}

/// Arguments of `drydock build` (ACR's quick build).
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Image to build and push, `name:tag`; repeatable. Without a registry, `--registry` is
    /// prefixed. Run variables work: `app:{{.Run.ID}}`.
    #[arg(short = 't', long = "image")]
    pub image: Vec<String>,
    /// Dockerfile, relative to the current directory (it may live outside the context).
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Build argument `NAME=VALUE`; repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_arg: Vec<String>,
    /// Build argument whose value is secret (masked in logs); repeatable.
    #[arg(long = "secret-build-arg", value_name = "K=V")]
    pub secret_build_arg: Vec<String>,
    /// Stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Platform, `os/arch[/variant]` (e.g. linux/arm64, linux/arm/v7), or several comma-separated
    /// for one multi-platform image pushed as an OCI index (e.g. linux/amd64,linux/arm64).
    #[arg(long)]
    pub platform: Option<String>,
    /// Build only; do not push.
    #[arg(long)]
    pub no_push: bool,
    #[command(flatten)]
    pub vars: RunVarArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Build context: a directory (packed with .dockerignore); on a daemon also a git or tarball URL.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
}

/// `drydock run`.
pub async fn run(args: RunArgs) -> Result<(), CliError> {
    if let Some(client) = daemon_for(&args.engine, &args.remote)? {
        return remote_run::run(&args, &client).await;
    }
    let run_id = args.vars.run_id.clone().unwrap_or_else(runid::local_run_id);
    let mut file = args.file.clone();
    let input = match &args.cmd {
        None => load_input(&file, &args.vars, &run_id)?,
        Some(cmd) => {
            // No context unless one is given; ACR writes /dev/null for that.
            if file.context == Path::new(".") && !Path::new("acb.yaml").exists() {
                file.context = PathBuf::from("/dev/null");
            }
            let mut input = synthesized_input(&file, &args.vars, &run_id, &synth::cmd_task(cmd))?;
            input.file_name = "--cmd".into();
            input
        }
    };
    execute(input, &args.engine, run_id, source_of(&file.context), false, args.platform.clone()).await
}

/// `drydock build`.
pub async fn build(args: BuildArgs) -> Result<(), CliError> {
    if let Some(client) = daemon_for(&args.engine, &args.remote)? {
        return remote_run::build(&args, &client).await;
    }
    if !args.context.is_dir() {
        return Err(CliError::Invalid(format!("build context {} is not a directory", args.context.display())));
    }
    let run_id = args.vars.run_id.clone().unwrap_or_else(runid::local_run_id);
    let registry = args.vars.registry.clone().unwrap_or_default();
    let tags: Vec<String> = args.image.iter().map(|t| crate::reference::prefix_registry(t, &registry)).collect();
    let dockerfile = resolve_dockerfile(&args)?;
    if tags.is_empty() {
        eprintln!("warning: no -t given: the image is built but not tagged or pushed");
    }
    if let Some(why) = synth::unintended_hub_push(&tags, &registry, args.no_push) {
        return Err(CliError::Invalid(why));
    }
    let source = synth::build_task(&synth::BuildTask {
        tags: tags.clone(),
        dockerfile: dockerfile.display().to_string(),
        build_args: args.build_arg.clone(),
        secret_build_args: args.secret_build_arg.clone(),
        target: args.target.clone(),
        platform: args.platform.clone(),
        no_cache: false,
        no_push: args.no_push,
        timeout: args.engine.timeout,
    });
    let file = TaskFileArgs { context: args.context.clone(), ..TaskFileArgs::default() };
    let mut input = synthesized_input(&file, &args.vars, &run_id, &source)?;
    input.file_name = "drydock build".into();
    input
        .secret_values
        .extend(args.secret_build_arg.iter().filter_map(|a| a.split_once('=').map(|(_, v)| v.to_string())));
    execute(input, &args.engine, run_id, RunSource::Dir(args.context.clone()), true, None).await
}

/// The Dockerfile of `build` as an absolute host path: `-f` relative to the current directory
/// (it may live outside the context), else in the context; default `<context>/Dockerfile`.
pub fn resolve_dockerfile(args: &BuildArgs) -> Result<PathBuf, CliError> {
    let dockerfile = match &args.file {
        Some(f) => {
            let p = if Path::new(f).exists() { PathBuf::from(f) } else { resolve_in_context(&args.context, f) };
            std::path::absolute(&p).map_err(|e| CliError::Invalid(format!("Dockerfile {f}: {e}")))?
        }
        None => std::path::absolute(args.context.join("Dockerfile"))
            .map_err(|e| CliError::Invalid(format!("Dockerfile: {e}")))?,
    };
    if !dockerfile.is_file() {
        return Err(CliError::Invalid(format!("Dockerfile {} not found; give it with -f", dockerfile.display())));
    }
    Ok(dockerfile)
}

fn synthesized_input(
    file: &TaskFileArgs,
    vars: &RunVarArgs,
    run_id: &str,
    source: &str,
) -> Result<TaskInput, CliError> {
    // Load a real file first for values, secrets and options, then swap in the generated text.
    let dir = tempfile::tempdir().map_err(|e| CliError::Failed(format!("temporary directory: {e}")))?;
    let path = dir.path().join("acb.yaml");
    std::fs::write(&path, source).map_err(|e| CliError::Failed(format!("temporary task file: {e}")))?;
    let mut args = file.clone();
    args.file = path.display().to_string();
    let context = args.context.clone();
    if !context.is_dir() {
        args.context = dir.path().to_path_buf();
    }
    let mut input = load_input(&args, vars, run_id)?;
    if !context.is_dir() {
        input.run = super::taskfile_args::run_vars(vars, None, run_id);
    }
    Ok(input)
}

fn source_of(context: &Path) -> RunSource {
    if context == Path::new("/dev/null") || !context.is_dir() {
        RunSource::None
    } else {
        RunSource::Dir(context.to_path_buf())
    }
}

/// Loads, runs and reports.
async fn execute(
    input: TaskInput,
    eargs: &EngineArgs,
    run_id: String,
    source: RunSource,
    quick: bool,
    platform: Option<String>,
) -> Result<(), CliError> {
    if !runid::is_valid(&run_id) {
        return Err(CliError::Invalid(format!("run id `{run_id}` is not 1–32 lowercase letters and digits")));
    }
    let git = match &source {
        RunSource::Dir(d) => GitInfo { commit: crate::context::git_head::git_head(d).map(|h| h.0) },
        _ => GitInfo::default(),
    };
    let target = RunTarget {
        object_key: run_id.clone(),
        run_id,
        source,
        timeout: Duration::from_secs(eargs.timeout.max(1)),
        quick_build: quick,
        git,
        // Local logins are the engine's own (below).
        credentials: Credentials::new(),
        sign_key: sign_key(eargs)?,
        require_signed_base: super::signing::read_public_keys(&eargs.require_signed_base)?,
        untrusted: None,
        // Local runs have no one to ask: the daemon's tasks carry approval gates.
        approve_before: Vec::new(),
        gate: None,
        keep_workspace: false,
        resume: None,
        platform,
    };
    let prepared = prepare::prepare(&input.request(chrono::Utc::now()), target, input.secret_values.clone())
        .map_err(CliError::Diagnostics)?;
    print_diagnostics(&prepared.warnings);

    let docker = DockerHost::connect(None).await.map_err(|e| CliError::Failed(e.to_string()))?;
    // Leftovers of killed runs are removed beside this run, not before it: they carry another
    // process's id, which this run's objects never do, so the two cannot touch each other.
    let sweep = tokio::spawn({
        let docker = docker.clone();
        async move { janitor::sweep_dead_local_runs(&docker).await }
    });
    let credentials = credentials(eargs)?;
    let socket = if eargs.no_docker_socket { None } else { docker.socket_path().map(str::to_string) };
    let config = EngineConfig {
        allow_privileged: eargs.allow_privileged,
        docker_socket: socket,
        buildkit: eargs.buildkit,
        naming: if eargs.unique_container_names { ContainerNaming::PerRun } else { ContainerNaming::StepId },
        labels: janitor::local_run_labels(),
        credentials,
        network_pool: eargs.network_pool.pool(),
    };
    let registry = RegistryClient::new(ClientConfig::default()).map_err(|e| CliError::Failed(e.to_string()))?;
    let engine = Engine::new(docker, registry, config);

    let log = RunLog::new(prepared.masker, Arc::new(ConsoleSink::default()));
    let cancel = CancellationToken::new();
    let watcher = tokio::spawn(cancel_on_ctrl_c(cancel.clone()));
    let record = engine.run(prepared.request, log, Arc::new(NoObserver), cancel).await;
    watcher.abort();
    match sweep.await {
        Ok(Ok(removed)) if !removed.is_empty() => {
            eprintln!("Removed leftovers of interrupted runs: {}", removed.join(", "))
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("warning: could not look for leftovers of earlier runs: {e}"),
        Err(e) => eprintln!("warning: the look for leftovers of earlier runs stopped: {e}"),
    }
    report(&record, eargs.output);
    match record.status {
        RunStatus::Succeeded => Ok(()),
        _ => Err(CliError::Silent(1)),
    }
}

/// The first Ctrl-C cancels the run (steps stop, everything is cleaned up); a second one exits at
/// once and leaves the cleanup to the janitor of the next run.
async fn cancel_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("\nCancelling: stopping steps and cleaning up (Ctrl-C again to quit at once)");
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    }
}

/// The `--sign-key` key, read before anything runs so that a bad key costs no build.
fn sign_key(eargs: &EngineArgs) -> Result<Option<SignatureKey>, CliError> {
    eargs.sign_key.as_deref().map(|path| super::signing::read_private_key(path).map(|(_, key)| key)).transpose()
}

fn credentials(eargs: &EngineArgs) -> Result<Credentials, CliError> {
    super::registry_args::load_credentials(eargs.docker_config.as_deref(), &eargs.registry_login)
}

fn report(record: &RunRecord, output: RunOutput) {
    if output == RunOutput::Json {
        println!("{}", record_json(record));
        return;
    }
    eprintln!("\n{:<24} {:<10} {:>9} {:>8}", "STEP", "STATUS", "DURATION", "ATTEMPTS");
    for s in &record.steps {
        let secs = match (s.started_at, s.finished_at) {
            (Some(a), Some(b)) => format!("{:.1}s", (b - a).num_milliseconds() as f64 / 1000.0),
            _ => "-".into(),
        };
        let status = format!("{:?}", s.status);
        let colored = match s.status {
            StepStatus::Succeeded => paint(&status, "32"),
            StepStatus::Skipped => status.clone(),
            _ => paint(&status, "31"),
        };
        eprintln!("{:<24} {colored:<10} {secs:>9} {:>8}", s.id, s.attempts);
    }
    for img in &record.output_images {
        eprintln!(
            "Pushed {}/{}:{} {}",
            img.registry,
            img.repository,
            img.tag,
            img.digest.as_deref().unwrap_or("(digest unknown)")
        );
    }
    for s in &record.signatures {
        eprintln!("Signed {}@{}: {} {}", s.image, s.digest, s.signature_tag, s.signature_digest);
    }
    if let Some(e) = &record.error {
        eprintln!("{} {e}", paint("Run failed:", "31"));
    }
}

/// The documented `--output json` record: `{"id","status","steps":[…],"output_images":[…],"dependencies":[…]}`.
pub fn record_json(record: &RunRecord) -> String {
    let steps: Vec<serde_json::Value> = record
        .steps
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id, "status": s.status, "exit_code": s.exit_code, "attempts": s.attempts,
                "started_at": s.started_at, "finished_at": s.finished_at,
            })
        })
        .collect();
    // Each image as the daemon's records show it: with its platforms' digests when it is an index.
    let images: Vec<serde_json::Value> =
        record.output_images.iter().filter_map(|i| serde_json::to_value(i).ok()).collect();
    let mut json = serde_json::json!({
        "id": record.id, "status": record.status, "steps": steps,
        "output_images": images, "signatures": record.signatures, "dependencies": record.dependencies,
    });
    if let Some(p) = &record.platform {
        json["platform"] = serde_json::Value::String(p.clone());
    }
    json.to_string()
}
