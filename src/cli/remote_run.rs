//! `drydock build` and `drydock run` sent to a daemon (ACR's `az acr build` / `az acr run`):
//! pack and upload the local context, queue the run, then watch it like `task run`.

use super::client::{Client, ServerArgs};
use super::context_arg::{ContextArg, upload_dir};
use super::pairs::{parse_build_args, parse_map};
use super::progress::ProgressMode;
use super::run::{BuildArgs, EngineArgs, RunArgs, resolve_dockerfile};
use super::task_spec::check_timeout;
use super::taskfile_args::{RunVarArgs, TaskFileArgs, resolve_in_context};
use super::watch::{WaitArgs, watch};
use super::{CliError, output::Format};
use crate::api::{DockerBuild, RunRequest, TaskStep};
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags of `run`/`build` that send the work to a daemon.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// The daemon to send a run to: `--server`/`DRYDOCK_SERVER` unless `--local`. `None` means run
/// here, which is also what happens with neither (and then nothing extra is printed).
pub fn daemon_for(engine: &EngineArgs, remote: &RemoteArgs) -> Result<Option<Client>, CliError> {
    let waiting_flag = remote.wait.no_wait || remote.wait.no_logs;
    if engine.local {
        if waiting_flag {
            return Err(CliError::Invalid("--no-wait and --no-logs are for runs on a daemon, not --local".into()));
        }
        return Ok(None);
    }
    match remote.server.server_url() {
        Some(_) => Ok(Some(Client::from_args(&remote.server)?)),
        None if waiting_flag => {
            Err(CliError::Invalid("--no-wait and --no-logs need a daemon: set --server or DRYDOCK_SERVER".into()))
        }
        None => Ok(None),
    }
}

/// Remote `drydock build`.
pub async fn build(args: &BuildArgs, client: &Client) -> Result<(), CliError> {
    reject_local_only(&args.engine, &args.vars, &[])?;
    let mut request = build_request(args)?;
    let context = ContextArg::parse(&args.context.to_string_lossy())?;
    let format = args.engine.output;
    match context {
        ContextArg::None => return Err(CliError::Invalid("a build needs a context, not /dev/null".into())),
        ContextArg::Remote(url) => request.context = Some(url),
        ContextArg::Dir(dir) => {
            let dockerfile = resolve_dockerfile(args)?;
            let uploaded = upload_dir(client, &dir, Some(dockerfile), progress_mode(format)).await?;
            request.context = Some(uploaded.context());
            if let Some(build) = &mut request.build {
                build.dockerfile = Some(uploaded.dockerfile);
            }
        }
    }
    if args.image.is_empty() && format == Format::Text {
        eprintln!("warning: no -t given: the image is built but not tagged or pushed");
    }
    let queued = client.create_run(&request).await?;
    watch(client, queued, &args.remote.wait, format).await
}

/// The quick-build request before the context is known (`-f` as given, for URL contexts).
pub fn build_request(args: &BuildArgs) -> Result<RunRequest, CliError> {
    let registry = args.vars.registry.clone().unwrap_or_default();
    let images = args.image.iter().map(|t| crate::reference::prefix_registry(t, &registry)).collect();
    let env = |k: &str| std::env::var(k).ok();
    let build = DockerBuild {
        dockerfile: args.file.clone(),
        images,
        build_args: parse_build_args(&args.build_arg, "--build-arg", env)?,
        secret_build_args: parse_build_args(&args.secret_build_arg, "--secret-build-arg", env)?,
        target: args.target.clone(),
        platform: args.platform.clone(),
        no_push: args.no_push,
        no_cache: false,
    };
    let mut request =
        RunRequest { build: Some(build), timeout: Some(check_timeout(args.engine.timeout)?), ..RunRequest::default() };
    signing(&args.engine, &mut request)?;
    Ok(request)
}

/// `--sign-key` and `--require-signed-base` travel with the request: the daemon seals the key.
fn signing(engine: &EngineArgs, request: &mut RunRequest) -> Result<(), CliError> {
    request.sign_key =
        engine.sign_key.as_deref().map(super::signing::read_private_key).transpose()?.map(|(pem, _)| pem);
    request.require_signed_base = super::signing::read_public_key_pems(&engine.require_signed_base)?;
    Ok(())
}

/// Remote `drydock run`.
pub async fn run(args: &RunArgs, client: &Client) -> Result<(), CliError> {
    let f = &args.file;
    let file_flags = [
        (!f.secret.is_empty(), "--secret"),
        (f.strict, "--strict"),
        (f.allow_unknown_properties, "--allow-unknown-properties"),
        (!f.image_alias.is_empty(), "--image-alias"),
        (f.alias_http.is_some(), "--alias-http"),
    ];
    reject_local_only(&args.engine, &args.vars, &file_flags)?;
    let context = run_context(args)?;
    precheck(args, &context, client).await?;
    let mut request = RunRequest {
        values: parse_map(&f.set, "--set")?,
        secret_values: parse_map(&f.set_secret, "--set-secret")?,
        timeout: Some(check_timeout(args.engine.timeout)?),
        step: Some(run_step(args, &context)?),
        platform: args.platform.clone(),
        ..RunRequest::default()
    };
    signing(&args.engine, &mut request)?;
    let format = args.engine.output;
    request.context = match context {
        ContextArg::None => None,
        ContextArg::Remote(url) => Some(url),
        ContextArg::Dir(dir) => Some(upload_dir(client, &dir, None, progress_mode(format)).await?.context()),
    };
    let queued = client.create_run(&request).await?;
    watch(client, queued, &args.remote.wait, format).await
}

/// Checks a local task file before anything is uploaded, so that a broken file fails at once with
/// exit 2 (the daemon would only find out after queueing the run). Secrets the daemon holds are
/// unknown here, so a missing secret is not held against the file.
async fn precheck(args: &RunArgs, context: &ContextArg, client: &Client) -> Result<(), CliError> {
    if args.cmd.is_some() || args.file.file == "-" || matches!(context, ContextArg::Remote(_)) {
        return Ok(());
    }
    let mut file = args.file.clone();
    if let ContextArg::None = context {
        file.context = std::path::PathBuf::from("/dev/null");
    }
    check_local_task_file(&file, &args.vars, client).await
}

/// Loads a task file that is on this machine as the daemon will, with the registry it uses for
/// `$Registry`; fails with the diagnostics (exit 2) unless the only trouble is a secret that the
/// daemon holds and this machine does not.
pub async fn check_local_task_file(file: &TaskFileArgs, vars: &RunVarArgs, client: &Client) -> Result<(), CliError> {
    let mut vars = vars.clone();
    if vars.registry.is_none() {
        vars.registry = Some(client.info().await?.registry);
    }
    let input = super::taskfile_args::load_input(file, &vars, "0000")?;
    match crate::taskfile::load(&input.request(chrono::Utc::now())) {
        Ok(_) => Ok(()),
        Err(d) if d.errors().all(|e| e.code == "missing-secret") => Ok(()),
        Err(d) => Err(CliError::Diagnostics(d)),
    }
}

/// The context of a remote run; like a local one, `--cmd` with the default context uses none
/// (rather than uploading the current directory for a single command).
fn run_context(args: &RunArgs) -> Result<ContextArg, CliError> {
    let ctx = &args.file.context;
    if args.cmd.is_some() && ctx == Path::new(".") && !Path::new("acb.yaml").exists() {
        return Ok(ContextArg::None);
    }
    ContextArg::parse(&ctx.to_string_lossy())
}

/// What a quick run runs: the command, a task file inside the context (by path), or a task
/// file sent as text (no context, stdin, or a file outside the context).
pub fn run_step(args: &RunArgs, context: &ContextArg) -> Result<TaskStep, CliError> {
    let values_file = match args.file.values.as_slice() {
        [] => None,
        [one] => Some(one.as_str()),
        _ => return Err(CliError::Invalid("a run on a daemon takes one --values file (a path in the context)".into())),
    };
    if let Some(cmd) = &args.cmd {
        if values_file.is_some() {
            return Err(CliError::Invalid("--values is for task files, not --cmd; use --set".into()));
        }
        return Ok(TaskStep::Cmd { cmd: cmd.clone() });
    }
    let file = args.file.file.as_str();
    let inline = |values_file: Option<String>| -> Result<TaskStep, CliError> {
        Ok(TaskStep::File { path: None, content: Some(read_local(file)?), values_file })
    };
    match context {
        ContextArg::None => {
            if values_file.is_some() {
                return Err(CliError::Invalid("--values needs a context on a daemon (it is a path in it)".into()));
            }
            inline(None)
        }
        ContextArg::Remote(_) if file == "-" => inline(values_file.map(str::to_string)),
        ContextArg::Remote(_) => Ok(TaskStep::File {
            path: Some(file.to_string()),
            content: None,
            values_file: values_file.map(str::to_string),
        }),
        ContextArg::Dir(dir) => {
            let values_file = values_file
                .map(|v| {
                    inside(dir, &resolve_in_context(dir, v)).ok_or_else(|| {
                        CliError::Invalid(format!("values file {v} must be inside the context {}", dir.display()))
                    })
                })
                .transpose()?;
            if file == "-" {
                return inline(values_file);
            }
            let path = resolve_in_context(dir, file);
            if !path.is_file() {
                return Err(CliError::Invalid(format!(
                    "task file {} not found; give one with -f, or put acb.yaml in the context",
                    path.display()
                )));
            }
            match inside(dir, &path) {
                Some(rel) => Ok(TaskStep::File { path: Some(rel), content: None, values_file }),
                // A task file outside the context cannot travel in it: send its text.
                None => {
                    Ok(TaskStep::File { path: None, content: Some(read_local(&path.to_string_lossy())?), values_file })
                }
            }
        }
    }
}

/// `path` relative to `dir` with `/` separators, when it lies inside it.
fn inside(dir: &Path, path: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let path: PathBuf = path.canonicalize().ok()?;
    let rel = path.strip_prefix(&dir).ok()?;
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

fn read_local(file: &str) -> Result<String, CliError> {
    let read = if file == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(file) };
    read.map_err(|e| CliError::Invalid(format!("cannot read task file {file}: {e}")))
}

/// Flags that configure this machine's engine make no sense for a daemon's; saying so beats
/// silently ignoring them.
fn reject_local_only(engine: &EngineArgs, vars: &RunVarArgs, more: &[(bool, &'static str)]) -> Result<(), CliError> {
    let given: Vec<&str> = [
        (engine.allow_privileged, "--allow-privileged"),
        (engine.no_docker_socket, "--no-docker-socket"),
        (engine.buildkit, "--buildkit"),
        (engine.unique_container_names, "--unique-container-names"),
        (!engine.registry_login.is_empty(), "--registry-login"),
        (engine.docker_config.is_some(), "--docker-config"),
        (vars.run_id.is_some(), "--run-id"),
        (vars.commit.is_some(), "--commit"),
        (vars.branch.is_some(), "--branch"),
        (vars.task_name.is_some(), "--task-name"),
    ]
    .iter()
    .chain(more)
    .filter_map(|(on, flag)| on.then_some(*flag))
    .collect();
    if given.is_empty() {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "{} only apply to runs on this machine: add --local, or leave them out for the daemon",
            given.join(", ")
        )))
    }
}

fn progress_mode(format: Format) -> ProgressMode {
    ProgressMode::detect(format == Format::Json)
}

#[cfg(test)]
#[path = "remote_run_tests.rs"]
mod tests;
