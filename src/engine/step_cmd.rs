//! `cmd` steps: `docker run IMAGE ARGS` with ACR's wiring (workspace, home, network alias, env).

use super::ContainerNaming;
use super::log::StepWriter;
use super::platform::Platform;
use super::platform_bases;
use super::scaffold::{HOME_MOUNT, WORKSPACE_MOUNT};
use super::step::{Attempt, StepContext, StepResult, run_policy, sleep_or_cancel};
use crate::docker::{ContainerSpec, DockerHost, Mount, MountSource, RegistryCredential};
use crate::reference::ImageRef;
use crate::taskfile::Step;
use crate::taskfile::task::CmdStep;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Grace period for a container asked to stop by a cancel or timeout.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs a cmd step to its end.
pub async fn run(ctx: Arc<StepContext>, step: &Step, cmd: &CmdStep, cancel: &CancellationToken) -> StepResult {
    let name = container_name(&ctx, step);
    ctx.log.step_line(
        &step.id,
        &format!(
            "Executing step ID: {}. Timeout(sec): {}, Working directory: '{}', Network: '{}'",
            step.id,
            step.timeout,
            step.working_directory.as_deref().unwrap_or(""),
            network_of(&ctx, step).unwrap_or_default()
        ),
    );
    let image = match prepare(&ctx, step, cmd, cancel).await {
        Ok(image) => image,
        Err(e) => {
            ctx.log.step_line(&step.id, &e);
            return run_policy(&ctx, step, cancel, false, |_, _, _| {
                let e = e.clone();
                async move { Attempt::failed(e) }
            })
            .await;
        }
    };
    run_policy(&ctx, step, cancel, true, |n, writer, token| {
        let ctx = ctx.clone();
        let name = name.clone();
        let image = image.clone();
        async move { attempt(&ctx, step, cmd, &image, &name, n, writer, token).await }
    })
    .await
}

/// Checks what can be checked before the first container, and pulls the image when needed; the
/// image to create containers from (the step's, or its id for another platform).
async fn prepare(ctx: &StepContext, step: &Step, cmd: &CmdStep, cancel: &CancellationToken) -> Result<String, String> {
    check(ctx, step)?;
    if let Some(id) = platform_image(ctx, step, cmd).await? {
        return Ok(id);
    }
    pull(ctx, step, cmd, cancel).await?;
    Ok(cmd.image.clone())
}

/// For a run of one platform other than the engine's: the id of the step image's image for that
/// platform. Containers are created from the id, because the image's name is given back to the
/// image it named before at once (see `platform_bases`).
async fn platform_image(ctx: &StepContext, step: &Step, cmd: &CmdStep) -> Result<Option<String>, String> {
    let Some(text) = ctx.run_platform.as_deref() else { return Ok(None) };
    let platforms = Platform::parse_list(text)?;
    let [platform] = platforms.as_slice() else {
        ctx.log.step_line(&step.id, &format!("The run builds for {text}; cmd steps run on the engine's own platform"));
        return Ok(None);
    };
    let native = platform_bases::engine_platform(ctx).await?;
    if *platform == native {
        return Ok(None);
    }
    platform_bases::check_runnable(ctx, &native, platform)?;
    let image = ImageRef::parse(&cmd.image).map_err(|e| format!("image `{}`: {e}", cmd.image))?;
    let _name = platform_bases::hold(ctx, vec![image.familiar()], true).await;
    let moved = platform_bases::ensure_image(ctx, step, &image, platform).await?;
    let id = match &moved {
        Some(m) => m.image_id().to_string(),
        None => ctx.engine.docker().inspect_image(&image.familiar()).await.map_err(|e| e.to_string())?.id,
    };
    platform_bases::restore(ctx, step, moved.into_iter().collect()).await;
    ctx.log.step_line(&step.id, &format!("Platform: {platform} (image {id} of {})", cmd.image));
    Ok(Some(id))
}

/// What is refused before any container.
fn check(ctx: &StepContext, step: &Step) -> Result<(), String> {
    if step.privileged
        && let Some(why) = &ctx.untrusted
    {
        return Err(format!("step `{}` asks for a privileged container, which is refused: {why}", step.id));
    }
    if step.privileged && !ctx.engine.config().allow_privileged {
        return Err(format!(
            "step `{}` asks for a privileged container; drydock refuses that unless the run is started with --allow-privileged",
            step.id
        ));
    }
    if step.isolation.is_some() {
        ctx.log.step_line(&step.id, "Warning: `isolation` is ignored on Linux engines");
    }
    Ok(())
}

/// Pulls the step's image when it is missing or the step asks for a fresh pull.
async fn pull(ctx: &StepContext, step: &Step, cmd: &CmdStep, cancel: &CancellationToken) -> Result<(), String> {
    let docker = ctx.engine.docker();
    if !step.pull && ctx.images_present.lock().is_ok_and(|known| known.contains(&cmd.image)) {
        return Ok(());
    }
    let present = docker.image_exists(&cmd.image).await.map_err(|e| e.to_string())?;
    if present && !step.pull {
        if let Ok(mut known) = ctx.images_present.lock() {
            known.insert(cmd.image.clone());
        }
        return Ok(());
    }
    let creds = ctx.docker_credentials();
    let cred = RegistryCredential::matching(&cmd.image, &creds);
    let tries = if step.pull { step.cmd_download_retries + 1 } else { 1 };
    let mut last = String::new();
    for n in 1..=tries {
        ctx.log.step_line(&step.id, &format!("Pulling image {}, attempt {n}", cmd.image));
        match docker.pull_image(&cmd.image, cred, |_| {}).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        if n < tries && !sleep_or_cancel(Duration::from_secs(step.cmd_download_retry_delay), cancel).await {
            return Err("cancelled while pulling".into());
        }
    }
    if present {
        ctx.log.step_line(&step.id, &format!("Warning: pull failed ({last}); using the local image"));
        return Ok(());
    }
    Err(format!("image `{}` is not on the engine and could not be pulled: {last}", cmd.image))
}

/// ACR names the container after the step (so `docker logs <id>` works); per-run naming adds the
/// run id so concurrent runs can share an engine.
pub fn container_name(ctx: &StepContext, step: &Step) -> String {
    // Docker's rule, `[a-zA-Z0-9][a-zA-Z0-9_.-]+`: a one-character id is not a valid name.
    let valid = step.id.len() > 1
        && step.id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && step.id.starts_with(|c: char| c.is_ascii_alphanumeric());
    match ctx.engine.config().naming {
        ContainerNaming::StepId if valid => step.id.clone(),
        _ => {
            let safe: String =
                step.id.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect();
            format!("{}-{}", safe.trim_start_matches(['_', '.', '-']), ctx.object_key)
        }
    }
}

/// The Docker network a step joins.
pub fn network_of(ctx: &StepContext, step: &Step) -> Option<String> {
    match &step.network {
        Some(n) => Some(ctx.scaffold.network(n)),
        None if ctx.scaffold.alone.contains(&step.id) => None,
        None => ctx.scaffold.default_network.clone(),
    }
}

/// Mounts every build and cmd container gets: the workspace, the home volume, task volumes, and
/// the Docker socket when allowed.
pub fn mounts(ctx: &StepContext, step: &Step) -> Vec<Mount> {
    let mut m = vec![
        Mount {
            source: MountSource::Volume(ctx.scaffold.workspace.clone()),
            target: WORKSPACE_MOUNT.into(),
            read_only: false,
        },
        Mount { source: MountSource::Volume(ctx.scaffold.home.clone()), target: HOME_MOUNT.into(), read_only: false },
    ];
    for vm in &step.volume_mounts {
        if let Some(actual) = ctx.scaffold.volumes.get(&vm.name) {
            m.push(Mount {
                source: MountSource::Volume(actual.clone()),
                target: vm.mount_path.clone(),
                read_only: true,
            });
        }
    }
    if let Some(sock) = ctx.engine.config().docker_socket.as_ref().filter(|_| ctx.untrusted.is_none()) {
        m.push(Mount {
            source: MountSource::BindHostPath(sock.clone()),
            target: "/var/run/docker.sock".into(),
            read_only: false,
        });
    }
    m
}

fn spec(ctx: &StepContext, step: &Step, cmd: &CmdStep, image: &str, name: &str) -> Result<ContainerSpec, String> {
    let mut s = ContainerSpec::new(name, image, ctx.engine.labels(&ctx.object_key).with("drydock.step", &step.id));
    s.cmd = (!cmd.args.is_empty()).then(|| cmd.args.clone());
    s.entrypoint = step.entry_point.as_ref().map(|e| vec![e.clone()]);
    // ACR sets HOME first so that a step's own env can override it.
    s.env = std::iter::once(format!("HOME={HOME_MOUNT}")).chain(step.env.iter().cloned()).collect();
    s.working_dir = step.working_directory.clone();
    s.user = step.user.clone();
    s.mounts = mounts(ctx, step);
    s.network = network_of(ctx, step);
    // Docker only allows aliases on user-defined networks.
    if s.network.as_deref().is_some_and(|n| !matches!(n, "host" | "bridge" | "none" | "default")) {
        s.network_aliases = vec![step.id.clone()];
    }
    s.ports = step.ports.clone();
    s.expose = step.expose.clone();
    s.privileged = step.privileged;
    s.cpus = match &step.cpus {
        Some(c) => {
            Some(c.trim().parse::<f64>().map_err(|_| format!("step `{}`: cpus `{c}` is not a number", step.id))?)
        }
        None => None,
    };
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    ctx: &StepContext,
    step: &Step,
    cmd: &CmdStep,
    image: &str,
    name: &str,
    attempt_no: u32,
    writer: Arc<Mutex<StepWriter>>,
    token: CancellationToken,
) -> Attempt {
    let docker = ctx.engine.docker();
    // A container kept by an earlier attempt (keep: true) still holds the name.
    if attempt_no > 1 {
        let _ = docker.remove_container(name, true).await;
    }
    let spec = match spec(ctx, step, cmd, image, name) {
        Ok(s) => s,
        Err(e) => return Attempt::failed(e),
    };
    ctx.log.step_line(&step.id, &format!("Launching container with name: {name}"));
    let id = match docker.create_container(&spec).await {
        Ok(id) => id,
        Err(e) if e.is_conflict() => {
            return Attempt::failed(format!(
                "a container named `{name}` already exists on the engine (another run with the same step ids?); \
                 use per-run container names or remove it"
            ));
        }
        Err(e) => return Attempt::failed(e.to_string()),
    };
    if let Err(e) = docker.start_container(&id).await {
        let _ = docker.remove_container(&id, true).await;
        return Attempt::failed(format!("container {name} did not start: {e}"));
    }
    let pump = pump_logs(docker.clone(), id.clone(), writer.clone());
    if step.detach {
        // Detached: the step is done once the container runs; its output keeps flowing into the
        // log until the run removes it.
        let writer = writer.clone();
        tokio::spawn(async move {
            pump.await;
            if let Ok(mut w) = writer.lock() {
                w.finish();
            }
        });
        ctx.log.step_line(&step.id, &format!("Successfully started detached container: {name}"));
        return Attempt { ok: true, ..Attempt::default() };
    }
    let pump = tokio::spawn(pump);
    let exit = tokio::select! {
        code = docker.wait_container(&id) => code,
        _ = token.cancelled() => {
            let _ = docker.stop_container(&id, STOP_GRACE).await;
            let _ = pump.await;
            let _ = docker.remove_container(&id, true).await;
            return Attempt { ok: false, error: Some("stopped".into()), ..Attempt::default() };
        }
    };
    let delivered = pump.await.unwrap_or(0);
    if exit.is_ok() {
        catch_up_logs(docker, &id, delivered, &writer).await;
    }
    if let Ok(mut w) = writer.lock() {
        w.finish();
    }
    if !step.keep && step.repeat == 0 && matches!(exit, Ok(0)) {
        // Removed beside the steps after this one: nothing reads an exited container, and its
        // removal takes the engine about 50 ms, more when several steps end together. (A step
        // that repeats needs the name again at once.)
        let (docker, id) = (docker.clone(), id.clone());
        ctx.finish_later(async move {
            if let Err(e) = docker.remove_container(&id, true).await {
                tracing::debug!(container = id, error = %e, "removing a finished step's container failed; teardown retries");
            }
        });
    } else if !step.keep {
        // The next attempt (a retry, a repeat) takes the same name: gone before it.
        let _ = docker.remove_container(&id, true).await;
    }
    match exit {
        Ok(0) => {
            ctx.log.step_line(&step.id, &format!("Successfully executed container: {name}"));
            Attempt { ok: true, exit_code: Some(0), ..Attempt::default() }
        }
        Ok(code) => Attempt {
            ok: false,
            exit_code: Some(code),
            error: Some(format!("container {name} exited with code {code}")),
            ..Attempt::default()
        },
        Err(e) => Attempt::failed(format!("lost track of container {name}: {e}")),
    }
}

/// Copies a container's output into the step's log until the container ends; returns how many
/// bytes it delivered.
async fn pump_logs(docker: DockerHost, id: String, writer: Arc<Mutex<StepWriter>>) -> u64 {
    let mut delivered = 0u64;
    let mut logs = Box::pin(docker.logs(&id, true));
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(c) => {
                delivered += c.bytes.len() as u64;
                if let Ok(mut w) = writer.lock() {
                    w.write(&c.bytes);
                }
            }
            Err(_) => break,
        }
    }
    delivered
}

/// Above this many bytes the followed stream evidently worked, and re-reading the log would cost
/// more than it could save.
const CATCH_UP_LIMIT: u64 = 8 << 20;

/// dockerd 20.10 sometimes ends a followed log stream of a container that exits within
/// milliseconds before sending what it printed. Once the container has exited its log file is
/// complete, so read it again and deliver whatever the follow missed (same byte order).
async fn catch_up_logs(docker: &DockerHost, id: &str, delivered: u64, writer: &Arc<Mutex<StepWriter>>) {
    if delivered > CATCH_UP_LIMIT {
        return;
    }
    let mut seen = 0u64;
    let mut logs = Box::pin(docker.logs(id, false));
    while let Some(Ok(chunk)) = logs.next().await {
        let len = chunk.bytes.len() as u64;
        let skip = delivered.saturating_sub(seen).min(len) as usize;
        seen += len;
        if skip < chunk.bytes.len()
            && let Ok(mut w) = writer.lock()
        {
            w.write(&chunk.bytes[skip..]);
        }
    }
}
