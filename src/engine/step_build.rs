//! `build` steps: resolve the context (workspace path, git URL or tarball), filter it by
//! `.dockerignore`, scan the Dockerfile for base images, and build through the engine's API.

use super::RunSource;
use super::log::StepWriter;
use super::platform::Platform;
use super::platform_bases;
use super::scaffold::WORKSPACE_MOUNT;
use super::step::{Attempt, BuildProduct, StepContext, StepResult, run_policy};
use crate::buildargs::{ContextSource, classify};
use crate::context::archive::ArchiveLimits;
use crate::context::pack::{PackOptions, pack_dir};
use crate::context::volume_tar::{RebaseOptions, read_file, rebase_and_filter};
use crate::context::{ContextError, ContextStream, git, tarball};
use crate::docker::{BuildRequest, DockerError};
use crate::dockerfile::{self, ScanOptions};
use crate::dockerignore::DockerIgnore;
use crate::taskfile::Step;
use crate::taskfile::task::BuildStep;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Name under which a Dockerfile from outside the context is added to it.
const OUTSIDE_DOCKERFILE: &str = ".drydock-dockerfile";
/// Largest Dockerfile or `.dockerignore` read out of a workspace.
const MAX_SMALL_FILE: usize = 4 * 1024 * 1024;

/// Runs a build step.
pub async fn run(ctx: Arc<StepContext>, step: &Step, build: &BuildStep, cancel: &CancellationToken) -> StepResult {
    ctx.log.step_line(
        &step.id,
        &format!(
            "Executing step ID: {}. Timeout(sec): {}, Working directory: '{}'",
            step.id,
            step.timeout,
            step.working_directory.as_deref().unwrap_or(WORKSPACE_MOUNT)
        ),
    );
    run_policy(&ctx, step, cancel, true, |_, writer, token| {
        let ctx = ctx.clone();
        async move {
            tokio::select! {
                a = attempt(&ctx, step, build, writer) => a,
                // Dropping the request closes the connection, and dockerd cancels the build.
                _ = token.cancelled() => Attempt::failed("stopped"),
            }
        }
    })
    .await
}

/// A build context ready to send.
struct Prepared {
    stream: ContextStream,
    /// Path of the Dockerfile inside the context tar.
    dockerfile: String,
    /// Its text, for the dependency scan.
    dockerfile_text: Option<String>,
    git_head: Option<String>,
    /// Keeps a fetched git checkout or tarball on disk until the build has read it.
    _temp: Option<tempfile::TempDir>,
}

async fn attempt(ctx: &StepContext, step: &Step, build: &BuildStep, writer: Arc<Mutex<StepWriter>>) -> Attempt {
    // A step's own --platform wins over the run's (the task's, or `drydock run --platform`).
    let asked = build.spec.platform.as_deref().or(ctx.run_platform.as_deref());
    let platforms = match asked.map(Platform::parse_list).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return Attempt::failed(e),
    };
    let prepared = match prepare(ctx, step, build).await {
        Ok(p) => p,
        Err(e) => return Attempt::failed(e),
    };
    let spec = &build.spec;
    let mut build_args = BTreeMap::new();
    for (name, value) in spec.build_args.iter().chain(&spec.secret_build_args) {
        // `--build-arg NAME` takes the value from the environment of the docker CLI, which in ACR
        // is the step's environment.
        let value = value.clone().or_else(|| env_value(&step.env, name));
        if let Some(v) = value {
            build_args.insert(name.clone(), v);
        }
    }
    let deps = match &prepared.dockerfile_text {
        Some(text) => {
            let opts = ScanOptions { build_args: build_args.clone(), target: spec.target.clone() };
            match dockerfile::scan(text, &opts) {
                Ok(d) => Some(d),
                Err(e) => {
                    ctx.log
                        .step_line(&step.id, &format!("Warning: scanning the Dockerfile for base images failed: {e}"));
                    None
                }
            }
        }
        None => None,
    };
    let pinned = match super::base_policy::check(ctx, step, deps.as_ref()).await {
        Ok(pinned) => pinned,
        Err(refusal) => return Attempt::failed(refusal),
    };
    let git_head = prepared.git_head.clone().or_else(|| ctx.git.commit.clone());
    let mut buildkit = ctx.engine.config().buildkit || step.env.iter().any(|e| e == "DOCKER_BUILDKIT=1");
    // The classic builder defines no `$BUILDPLATFORM`/`$TARGETPLATFORM` (Docker's own classic
    // builder fails on `FROM --platform=$BUILDPLATFORM` with "failed to parse platform"): such a
    // Dockerfile is built with BuildKit, which does.
    let platform_vars =
        deps.as_ref().is_some_and(|d| d.stages.iter().any(|s| s.platform.as_deref().is_some_and(|p| p.contains('$'))));
    if platform_vars && !buildkit {
        ctx.log.step_line(
            &step.id,
            "Using BuildKit: the Dockerfile names $BUILDPLATFORM or $TARGETPLATFORM in a FROM, which only BuildKit defines",
        );
        buildkit = true;
    }
    let plan = BuildPlan { build, build_args, pinned, writer: &writer, buildkit };
    if platforms.is_empty() {
        // A build for another platform in this process may be moving a base's name meanwhile.
        let _names = platform_bases::hold_names(ctx, deps.as_ref(), false).await;
        return match build_once(ctx, step, &plan, prepared, None).await {
            Ok(_) => built(spec, deps, git_head, Vec::new()),
            Err(e) => Attempt::failed(e),
        };
    }
    let native = match platform_bases::engine_platform(ctx).await {
        Ok(n) => n,
        Err(e) => return Attempt::failed(e),
    };
    // The engine's own platform last: the tags then name the native image on this engine, which
    // is what a later `cmd` step or build here expects to find under them.
    let mut order = platforms.clone();
    order.sort_by_key(|p| *p == native);
    let runs_commands = prepared.dockerfile_text.as_deref().is_none_or(platform_bases::runs_commands);
    let several = order.len() > 1;
    let mut images = Vec::new();
    let mut prepared = Some(prepared);
    for (i, platform) in order.iter().enumerate() {
        if several {
            ctx.log.step_line(&step.id, &format!("Building for {platform} ({} of {})", i + 1, order.len()));
        }
        if *platform != native
            && runs_commands
            && let Err(refusal) = platform_bases::check_runnable(ctx, &native, platform)
        {
            return Attempt::failed(refusal);
        }
        let context = match prepared.take() {
            Some(p) => p,
            // Each platform's build reads the context again: the engine consumes the stream.
            None => match prepare(ctx, step, build).await {
                Ok(p) => p,
                Err(e) => return Attempt::failed(e),
            },
        };
        // From moving the bases' names until they are given back, no other build here uses them.
        let _names = platform_bases::hold_names(ctx, deps.as_ref(), true).await;
        let moved = match platform_bases::ensure_bases(ctx, step, platform, &native, deps.as_ref(), plan.buildkit).await
        {
            Ok(m) => m,
            Err(e) => return Attempt::failed(e),
        };
        let result = build_once(ctx, step, &plan, context, Some(platform)).await;
        platform_bases::restore(ctx, step, moved).await;
        match result {
            Ok(id) => images.push(super::PlatformImage { platform: platform.clone(), image_id: id }),
            Err(e) => return Attempt::failed(if several { format!("building for {platform}: {e}") } else { e }),
        }
    }
    if several {
        // Put back in the order asked for: the index lists platforms as the user wrote them.
        images.sort_by_key(|img| platforms.iter().position(|p| *p == img.platform));
        let mut map = ctx.platform_images.lock().unwrap_or_else(|e| e.into_inner());
        for tag in &spec.tags {
            map.insert(super::normal_tag(tag), images.clone());
        }
        let names: Vec<String> = images.iter().map(|i| i.platform.to_string()).collect();
        ctx.log.step_line(&step.id, &format!("Built {} platforms: {}", images.len(), names.join(", ")));
    }
    built(spec, deps, git_head, platforms)
}

/// What every platform's build of one step shares.
struct BuildPlan<'a> {
    build: &'a BuildStep,
    build_args: BTreeMap<String, String>,
    /// Bases were pinned by `--require-signed-base`: do not pull again.
    pinned: bool,
    writer: &'a Arc<Mutex<StepWriter>>,
    /// Build with BuildKit rather than the classic builder.
    buildkit: bool,
}

fn built(
    spec: &crate::buildargs::BuildSpec,
    deps: Option<dockerfile::Dependencies>,
    git_head: Option<String>,
    platforms: Vec<Platform>,
) -> Attempt {
    let built = deps.map(|deps| BuildProduct { tags: spec.tags.clone(), deps, git_head, platforms });
    Attempt { ok: true, built, ..Attempt::default() }
}

/// One build through the engine, for one platform (checked in the image's config afterwards) or
/// the engine's default; the image id.
async fn build_once(
    ctx: &StepContext,
    step: &Step,
    plan: &BuildPlan<'_>,
    prepared: Prepared,
    platform: Option<&Platform>,
) -> Result<String, String> {
    let spec = &plan.build.spec;
    let buildkit = plan.buildkit;
    let mut build_args = plan.build_args.clone();
    if let Some(p) = platform {
        // BuildKit sets these itself; the classic builder does not, and Dockerfiles written for
        // cross builds read them (`ARG TARGETARCH`). A value the user gave wins.
        // Only those the Dockerfile names: the classic builder warns about every unused one.
        let text = prepared.dockerfile_text.as_deref().unwrap_or_default();
        for (k, v) in p.build_args().into_iter().filter(|(k, _)| text.contains(k.as_str())) {
            build_args.entry(k).or_insert(v);
        }
    }
    let req = BuildRequest {
        dockerfile: prepared.dockerfile.clone(),
        tags: spec.tags.clone(),
        build_args,
        target: spec.target.clone(),
        platform: platform.map(Platform::to_string),
        labels: spec.labels.iter().cloned().collect(),
        no_cache: spec.no_cache,
        // Pinned bases were just pulled by their verified digests, and other-platform bases for
        // their platform; pulling by tag again would undo that.
        pull: spec.pull && !plan.pinned && platform.is_none(),
        network_mode: spec.network.clone(),
        buildkit,
        registry_auth: ctx.docker_credentials(),
        secrets: BTreeMap::new(),
    };
    ctx.log.step_line(
        &step.id,
        &format!(
            "Building with {} builder: {}",
            if buildkit { "BuildKit" } else { "the classic" },
            plan.build.raw.trim()
        ),
    );
    let writer = plan.writer;
    let result = ctx
        .engine
        .docker()
        .build_image(req, prepared.stream, |l| {
            if let Ok(mut w) = writer.lock() {
                w.line(&l.line);
            }
        })
        .await;
    if let Ok(mut w) = writer.lock() {
        w.finish();
    }
    let outcome = result.map_err(|e| {
        let text = e.to_string();
        match platform {
            Some(p) if text.contains("exec format error") => format!(
                "{text}. The engine could not run {p} binaries: register QEMU for {p} through binfmt_misc \
                 (qemu-user-static and binfmt-support), or build on a {p} machine"
            ),
            _ => text,
        }
    })?;
    ctx.log.step_line(&step.id, &format!("Image ID: {}", outcome.image_id));
    if let Some(platform) = platform {
        // Never push (or tag on as good) an image of another architecture than asked for.
        let image = ctx
            .engine
            .docker()
            .inspect_image(&outcome.image_id)
            .await
            .map_err(|e| format!("cannot check the built image's platform: {e}"))?;
        platform.check(&image)?;
        ctx.log.step_line(&step.id, &format!("Platform: {platform} (checked in the image's config)"));
    }
    Ok(outcome.image_id)
}

fn env_value(env: &[String], name: &str) -> Option<String> {
    env.iter().rev().find_map(|e| e.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
}

/// Finds the context and the Dockerfile, in the forms ACR allows.
async fn prepare(ctx: &StepContext, step: &Step, build: &BuildStep) -> Result<Prepared, String> {
    if let Some(source) = &ctx.quick_source {
        return prepare_quick(source, build).await;
    }
    match classify(&build.spec.context) {
        ContextSource::Local(path) => prepare_workspace(ctx, step, build, &path).await,
        ContextSource::Git { url, reference, subdir } => {
            let temp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            let spec = git::GitSpec { url: url.clone(), reference, subdir, ..git::GitSpec::default() };
            ctx.log.step_line(&step.id, &format!("Fetching git context {url}"));
            let dest = temp.path().to_path_buf();
            let checkout = tokio::task::spawn_blocking(move || git::fetch(&spec, &dest))
                .await
                .map_err(|e| format!("git fetch stopped: {e}"))?
                .map_err(|e| e.to_string())?;
            let mut prepared = prepare_dir(&checkout.root, build.spec.dockerfile.as_deref())?;
            prepared.git_head = Some(checkout.commit);
            prepared._temp = Some(temp);
            Ok(prepared)
        }
        ContextSource::Tarball(url) => {
            let temp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            ctx.log.step_line(&step.id, &format!("Downloading context {url}"));
            tarball::fetch_tarball(&url, temp.path(), &ArchiveLimits::default()).await.map_err(|e| e.to_string())?;
            let mut prepared = prepare_dir(temp.path(), build.spec.dockerfile.as_deref())?;
            prepared._temp = Some(temp);
            Ok(prepared)
        }
        ContextSource::Oci(url) => Err(format!(
            "build context {url}: oci:// contexts are not supported by drydock yet; use a git URL or an http(s) tarball"
        )),
    }
}

/// A directory on this machine (git checkout, unpacked tarball): the Dockerfile is `-f` relative
/// to it (and must stay inside), or its `Dockerfile`.
fn prepare_dir(root: &Path, dockerfile: Option<&str>) -> Result<Prepared, String> {
    let dockerfile_path = match dockerfile {
        Some(f) if f.split('/').any(|c| c == "..") || Path::new(f).is_absolute() => {
            return Err(format!("Dockerfile `{f}` is outside the build context"));
        }
        Some(f) => root.join(f),
        None => root.join("Dockerfile"),
    };
    pack_host_dir(root, dockerfile_path, false)
}

/// Packs a directory of this machine like the Docker CLI, with the Dockerfile at a host path
/// (which may lie outside the directory).
fn pack_host_dir(root: &Path, dockerfile: PathBuf, exclude_vcs: bool) -> Result<Prepared, String> {
    let text = std::fs::read_to_string(&dockerfile)
        .map_err(|e| format!("cannot read the Dockerfile {}: {e}", dockerfile.display()))?;
    let options =
        PackOptions { dockerfile: Some(dockerfile), apply_dockerignore: true, exclude_vcs, ..PackOptions::default() };
    let packed = pack_dir(root, options).map_err(|e| e.to_string())?;
    Ok(Prepared {
        stream: packed.stream,
        dockerfile: packed.dockerfile,
        dockerfile_text: Some(text),
        git_head: None,
        _temp: None,
    })
}

/// Quick builds read the run's source directly: no copy through the workspace volume.
async fn prepare_quick(source: &RunSource, build: &BuildStep) -> Result<Prepared, String> {
    match source {
        RunSource::Dir(dir) => {
            // The CLI resolved `-f` to a host path; it may lie outside the context. ACR's CLI
            // leaves version-control folders out of uploads.
            let dockerfile =
                build.spec.dockerfile.as_ref().map(PathBuf::from).unwrap_or_else(|| dir.join("Dockerfile"));
            pack_host_dir(dir, dockerfile, true)
        }
        RunSource::Archive(path) => {
            let dockerfile = build.spec.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into());
            let text = read_file(file_stream(path).await?, &dockerfile, MAX_SMALL_FILE)
                .await
                .map_err(|e| e.to_string())?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            Ok(Prepared {
                stream: file_stream(path).await?,
                dockerfile,
                dockerfile_text: text,
                git_head: None,
                _temp: None,
            })
        }
        RunSource::None => Err("a quick build needs a context".into()),
    }
}

async fn file_stream(path: &Path) -> Result<ContextStream, String> {
    let file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)))
}

/// A workspace download as a context stream. Docker reports a missing path only once the body is
/// read, so not-found is carried as `io::ErrorKind::NotFound` for callers that treat it as "absent".
fn volume_stream(
    stream: impl futures_util::Stream<Item = Result<bytes::Bytes, DockerError>> + Send + 'static,
) -> ContextStream {
    Box::pin(futures_util::TryStreamExt::map_err(stream, |e| {
        if e.is_not_found() {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        } else {
            std::io::Error::other(e)
        }
    }))
}

/// Lexically normalises an absolute container path (`/workspace/a/../b` → `/workspace/b`).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A path under `/workspace` as a path inside the workspace volume (`""` for its root).
fn in_workspace(abs: &str) -> Option<String> {
    if abs == WORKSPACE_MOUNT {
        Some(String::new())
    } else {
        abs.strip_prefix(&format!("{WORKSPACE_MOUNT}/")).map(str::to_string)
    }
}

/// A context inside the run's workspace volume: read it back through the archive API (so it also
/// works against a remote engine), re-root it and apply `.dockerignore` while streaming.
async fn prepare_workspace(ctx: &StepContext, step: &Step, build: &BuildStep, path: &str) -> Result<Prepared, String> {
    let docker = ctx.engine.docker();
    let volume = &ctx.scaffold.workspace;
    let workdir = step.working_directory.clone().unwrap_or_else(|| WORKSPACE_MOUNT.to_string());
    let join = |p: &str| if p.starts_with('/') { normalize(p) } else { normalize(&format!("{workdir}/{p}")) };
    let context_abs = join(path);
    let context_rel = in_workspace(&context_abs).ok_or_else(|| {
        format!("build context `{path}` resolves to {context_abs}, outside {WORKSPACE_MOUNT}; build contexts are read from the run workspace")
    })?;
    // The Docker CLI resolves `-f` against its working directory, not the context.
    let dockerfile_abs = match &build.spec.dockerfile {
        Some(f) => join(f),
        None => format!("{context_abs}/Dockerfile"),
    };
    let dockerfile_rel = in_workspace(&dockerfile_abs)
        .ok_or_else(|| format!("Dockerfile {dockerfile_abs} is outside {WORKSPACE_MOUNT}"))?;
    let read_small = |rel: String| async move {
        match docker.download_from_volume(volume, &format!("/{rel}")).await {
            Ok(stream) => {
                let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                match read_file(volume_stream(stream), &name, MAX_SMALL_FILE).await {
                    Ok(found) => Ok(found),
                    Err(ContextError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    };
    let dockerfile_text = read_small(dockerfile_rel.clone())
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or_else(|| format!("no Dockerfile at {dockerfile_abs}; give its path with -f, relative to the step's working directory ({workdir})"))?;

    let inside = dockerfile_abs.strip_prefix(&format!("{context_abs}/")).map(str::to_string);
    let (dockerfile_in_ctx, extra_files) = match inside {
        Some(rel) => (rel, Vec::new()),
        None => (
            OUTSIDE_DOCKERFILE.to_string(),
            vec![(OUTSIDE_DOCKERFILE.to_string(), bytes::Bytes::from(dockerfile_text.clone().into_bytes()), 0o644)],
        ),
    };
    // `<Dockerfile>.dockerignore` wins over the context's `.dockerignore`, as in the Docker CLI.
    let mut ignore_text = read_small(format!("{dockerfile_rel}.dockerignore")).await?;
    if ignore_text.is_none() {
        let root_ignore =
            if context_rel.is_empty() { ".dockerignore".to_string() } else { format!("{context_rel}/.dockerignore") };
        ignore_text = read_small(root_ignore).await?;
    }
    let ignore = match ignore_text {
        Some(t) => Some(
            DockerIgnore::parse(&String::from_utf8_lossy(&t))
                .map_err(|e| format!(".dockerignore: {e}"))?
                .with_build_files(&dockerfile_in_ctx),
        ),
        None => None,
    };
    let download = docker.download_from_volume(volume, &format!("/{context_rel}")).await.map_err(|e| e.to_string())?;
    let download = volume_stream(download);
    let strip_prefix = if context_rel.is_empty() {
        "./".to_string()
    } else {
        format!("{}/", context_rel.rsplit('/').next().unwrap_or(&context_rel))
    };
    let stream = rebase_and_filter(download, RebaseOptions { strip_prefix, ignore, extra_files });
    Ok(Prepared {
        stream,
        dockerfile: dockerfile_in_ctx,
        dockerfile_text: Some(dockerfile_text),
        git_head: None,
        _temp: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_paths_normalise_and_stay_inside() {
        assert_eq!(normalize("/workspace/a/../b/./c"), "/workspace/b/c");
        assert_eq!(in_workspace("/workspace"), Some(String::new()));
        assert_eq!(in_workspace("/workspace/x/y"), Some("x/y".into()));
        assert_eq!(in_workspace("/workspaces"), None);
        assert_eq!(in_workspace(&normalize("/workspace/../etc")), None);
    }
}
