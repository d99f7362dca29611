//! What a build for another platform needs from the engine before it starts: a machine that can
//! run that platform's binaries (its own, or QEMU registered through binfmt_misc), and every base
//! image present locally *for that platform*. Docker 20.10's classic builder takes a local image of
//! the base's name whatever its platform, so a base left over from another platform would be built
//! on silently; BuildKit looks again at the registry but shares the local name. Bases are therefore
//! pulled for the platform first, and their names given back afterwards, so that the next build
//! without `--platform` on this engine still finds the native image under the name.

use super::platform::Platform;
use super::step::StepContext;
use crate::dockerfile::{Dependencies, StageBase};
use crate::reference::ImageRef;
use crate::taskfile::Step;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// The base-image names builds in this process use, per engine. A build for a platform moves a
/// name to another image for a while, so it holds the name alone; every other build shares it.
/// (Two processes sharing one engine are not covered: see the README.)
static NAMES_IN_USE: LazyLock<std::sync::Mutex<HashMap<String, Arc<RwLock<()>>>>> = LazyLock::new(Default::default);

/// A hold on a base-image name, released when dropped.
#[derive(Debug)]
pub enum NameHold {
    /// A build that leaves the name as it is.
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    /// A build that may move the name to another platform's image.
    Alone(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// Holds every base-image name of `deps` on this engine, alone or shared, in one order (so two
/// builds never wait on each other in a circle).
pub async fn hold_names(ctx: &StepContext, deps: Option<&Dependencies>, alone: bool) -> Vec<NameHold> {
    let Some(deps) = deps else { return Vec::new() };
    let mut names: Vec<String> = bases(deps).map(|(image, _)| image.familiar()).collect();
    names.sort();
    names.dedup();
    hold(ctx, names, alone).await
}

/// How a build uses a base image.
enum BaseUse<'a> {
    /// A stage starts from it, with the `FROM --platform` it wrote, if any.
    Stage(Option<&'a str>),
    /// Only named elsewhere (`COPY --from`, `RUN --mount=from`): it runs on the target platform.
    Other,
}

/// Every base image a build may use: each stage's, then the scan's runtime and build-time
/// images (which name the stages' again). `scratch` is none.
fn bases(deps: &Dependencies) -> impl Iterator<Item = (&ImageRef, BaseUse<'_>)> {
    let stages = deps.stages.iter().filter_map(|s| match &s.base {
        StageBase::Image(image) => Some((image, BaseUse::Stage(s.platform.as_deref()))),
        _ => None,
    });
    let others = deps.buildtime.iter().chain(&deps.runtime).map(|image| (image, BaseUse::Other));
    stages.chain(others).filter(|(image, _)| !image.is_scratch())
}

/// Holds `names` (sorted) on this engine.
pub async fn hold(ctx: &StepContext, names: Vec<String>, alone: bool) -> Vec<NameHold> {
    let engine = ctx.engine.docker().endpoint().to_string();
    let mut holds = Vec::new();
    for name in names {
        let lock = {
            let mut all = NAMES_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
            all.entry(format!("{engine} {name}")).or_default().clone()
        };
        holds.push(if alone {
            NameHold::Alone(lock.write_owned().await)
        } else {
            NameHold::Shared(lock.read_owned().await)
        });
    }
    holds
}

/// Where the kernel lists its registered binary interpreters.
const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// A base image name moved to another platform's image, and the image it named before.
#[derive(Debug)]
pub struct Moved {
    name: String,
    previous: Option<String>,
    /// The id of the platform's image now under the name.
    now: String,
}

impl Moved {
    /// Name `name` moved from image `previous` (if it named one) to image `now`.
    pub fn new(name: String, previous: Option<String>, now: String) -> Moved {
        Moved { name, previous, now }
    }

    /// The id of the platform's image the name was moved to.
    pub fn image_id(&self) -> &str {
        &self.now
    }
}

/// The engine's own platform, from `docker info`.
pub async fn engine_platform(ctx: &StepContext) -> Result<Platform, String> {
    let info = ctx.engine.docker().info().await.map_err(|e| format!("cannot ask the engine its platform: {e}"))?;
    Ok(Platform::native(&info.os, &info.arch))
}

/// Platforms an engine of platform `native` runs: its own, 32-bit x86 on amd64, and, when the
/// engine is on this machine (`here`), every architecture with an enabled QEMU interpreter in
/// binfmt_misc. A remote engine's registrations are not visible from here.
pub fn runnable_platforms(native: &Platform, here: bool) -> Vec<Platform> {
    runnable_with(native, here.then(|| Path::new(BINFMT_DIR)))
}

/// [`runnable_platforms`] with the interpreters registered in `binfmt_dir`, if any is visible.
fn runnable_with(native: &Platform, binfmt_dir: Option<&Path>) -> Vec<Platform> {
    let mut all = vec![native.clone()];
    if native.arch() == "amd64" {
        all.extend(Platform::parse("linux/386"));
    }
    let Some(binfmt_dir) = binfmt_dir else { return all };
    for (interpreter, platforms) in QEMU {
        let enabled = std::fs::read_to_string(binfmt_dir.join(interpreter))
            .is_ok_and(|text| text.lines().next().is_some_and(|l| l.trim() == "enabled"));
        if enabled {
            for p in *platforms {
                if let Ok(p) = Platform::parse(p)
                    && !all.contains(&p)
                {
                    all.push(p);
                }
            }
        }
    }
    all
}

/// QEMU's interpreter names (as `update-binfmts` registers them) and the platforms each runs.
const QEMU: &[(&str, &[&str])] = &[
    ("qemu-aarch64", &["linux/arm64"]),
    ("qemu-arm", &["linux/arm/v7", "linux/arm/v6", "linux/arm"]),
    ("qemu-i386", &["linux/386"]),
    ("qemu-x86_64", &["linux/amd64"]),
    ("qemu-riscv64", &["linux/riscv64"]),
    ("qemu-ppc64le", &["linux/ppc64le"]),
    ("qemu-s390x", &["linux/s390x"]),
    ("qemu-mips64el", &["linux/mips64le"]),
];

/// The interpreter that runs `platform`'s binaries, for the advice in a refusal.
fn interpreter_for(platform: &Platform) -> Option<&'static str> {
    QEMU.iter()
        .find(|(_, platforms)| platforms.iter().any(|p| Platform::parse(p).is_ok_and(|p| p.arch() == platform.arch())))
        .map(|(name, _)| *name)
}

/// Whether this machine's engine can run `platform`'s binaries; `Err` says how to make it so.
/// Only an engine on this machine (reached through a local socket) can be checked: a remote one's
/// binfmt registrations are not visible from here, and its build's own error then says it.
pub fn check_runnable(ctx: &StepContext, native: &Platform, platform: &Platform) -> Result<(), String> {
    if ctx.engine.docker().socket_path().is_none() {
        return Ok(());
    }
    let runnable = runnable_platforms(native, true);
    // A machine that runs an architecture runs every variant of it that it was asked for.
    if runnable.iter().any(|p| Platform::from_parts(p.os(), p.arch(), None).accepts(platform)) {
        return Ok(());
    }
    Err(cannot_run(native, platform, &runnable))
}

/// The refusal for a platform the machine cannot run, with how to enable it.
pub fn cannot_run(native: &Platform, platform: &Platform, runnable: &[Platform]) -> String {
    let list: Vec<String> = runnable.iter().map(Platform::to_string).collect();
    let how = match interpreter_for(platform) {
        Some(interpreter) => format!(
            "register QEMU for it as root: `apt-get install qemu-user-static binfmt-support`, mount binfmt_misc \
             (`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`), then `update-binfmts --enable {interpreter}`"
        ),
        None => "no QEMU interpreter drydock knows of runs it; build on a machine of that platform".to_string(),
    };
    format!(
        "this machine ({native}) cannot run {platform} binaries; it runs {}. To build or run {platform} here, {how}",
        list.join(", ")
    )
}

/// Whether a Dockerfile runs anything during the build (a `RUN`), which another platform then
/// has to execute; a Dockerfile of only `COPY`/`ENV`/… builds for any platform without emulation.
pub fn runs_commands(dockerfile: &str) -> bool {
    dockerfile.lines().any(|l| {
        let l = l.trim_start();
        l.len() > 3 && l[..3].eq_ignore_ascii_case("run") && l[3..].starts_with(char::is_whitespace)
    })
}

/// The platform a stage's `FROM --platform=…` asks for: `$BUILDPLATFORM` is the engine's under
/// BuildKit (`native` is `None` for the classic builder, which does not define it: the stage then
/// builds for the target, emulated), `$TARGETPLATFORM` (or nothing) the build's.
fn stage_platform(written: Option<&str>, target: &Platform, native: Option<&Platform>) -> Platform {
    match written.map(str::trim) {
        None | Some("") => target.clone(),
        Some(w) if w.contains("BUILDPLATFORM") => native.unwrap_or(target).clone(),
        Some(w) if w.contains("TARGETPLATFORM") => target.clone(),
        Some(w) => Platform::parse(w).unwrap_or_else(|_| target.clone()),
    }
}

/// Makes every base image of `deps` present locally for the platform its stage builds on,
/// pulling it for that platform when the local one is of another (or missing). Returns the
/// names it moved, to give back with [`restore`] after the build.
pub async fn ensure_bases(
    ctx: &StepContext,
    step: &Step,
    target: &Platform,
    native: &Platform,
    deps: Option<&Dependencies>,
    buildkit: bool,
) -> Result<Vec<Moved>, String> {
    let Some(deps) = deps else { return Ok(Vec::new()) };
    let mut wanted: Vec<(&ImageRef, Platform)> = Vec::new();
    for (image, used) in bases(deps) {
        let known = wanted.iter_mut().find(|(i, _)| *i == image);
        match (used, known) {
            (BaseUse::Stage(written), known) => {
                let p = stage_platform(written, target, buildkit.then_some(native));
                // The local store holds one platform per name: a name two stages want for two
                // platforms gets the target's (BuildKit resolves the other from the registry).
                match known {
                    Some((_, q)) if p == *target => *q = p,
                    Some(_) => {}
                    None => wanted.push((image, p)),
                }
            }
            (BaseUse::Other, None) => wanted.push((image, target.clone())),
            (BaseUse::Other, Some(_)) => {}
        }
    }
    let mut moved = Vec::new();
    for (image, platform) in wanted {
        moved.extend(ensure_image(ctx, step, image, &platform).await?);
    }
    Ok(moved)
}

/// Makes `image` present locally for `platform`, pulling it for that platform when the local one
/// is of another (or missing); the name it moved, if it moved one.
pub async fn ensure_image(
    ctx: &StepContext,
    step: &Step,
    image: &ImageRef,
    platform: &Platform,
) -> Result<Option<Moved>, String> {
    let docker = ctx.engine.docker();
    let name = image.familiar();
    let local = docker.inspect_image(&name).await.ok();
    if local.as_ref().is_some_and(|i| platform.matches(i)) {
        return Ok(None);
    }
    // An image an earlier step of this run built for several platforms (a base, then an app FROM
    // it): its image for this platform is here, under no name of its own.
    let built_here = ctx
        .platform_images
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&super::normal_tag(&name))
        .and_then(|images| images.iter().find(|i| i.platform == *platform).map(|i| i.image_id.clone()));
    if let Some(id) = built_here {
        docker.tag_image(&id, &name).await.map_err(|e| format!("naming the {platform} image of {name}: {e}"))?;
        ctx.log.step_line(&step.id, &format!("Using {name} for {platform} as an earlier step built it ({id})"));
        return Ok(Some(Moved { name, previous: local.map(|i| i.id), now: id }));
    }
    ctx.log.step_line(&step.id, &format!("Pulling {name} for {platform}"));
    let login = ctx.docker_credentials().into_iter().find(|c| c.server == image.registry);
    let pulled = docker.pull_image_for(&name, Some(&platform.to_string()), login.as_ref(), |_| {}).await;
    if let Err(e) = pulled {
        let here = match &local {
            Some(i) => format!("this engine has {name} only for {}", Platform::of_image(i)),
            None => format!("this engine does not have {name}"),
        };
        return Err(format!(
            "image {name} for {platform}: {here}, and pulling it for {platform} failed: {e}. Push a \
             multi-platform image (an index with a {platform} manifest) under that name, or use a platform it has"
        ));
    }
    let now = docker.inspect_image(&name).await.map_err(|e| format!("inspecting {name} after the pull: {e}"))?;
    if !platform.matches(&now) {
        return Err(format!(
            "image {name} has no {platform} image: the registry gave {}. Push a multi-platform image with a \
             {platform} manifest under that name",
            Platform::of_image(&now)
        ));
    }
    Ok(image.digest.is_none().then(|| Moved { name, previous: local.map(|i| i.id), now: now.id }))
}

/// Gives moved names back to the images they named before the build (or leaves them when there
/// was none). Best effort: a failure only means the next native build pulls again.
pub async fn restore(ctx: &StepContext, step: &Step, moved: Vec<Moved>) {
    let docker = ctx.engine.docker();
    for m in moved {
        if let Some(previous) = m.previous
            && let Err(e) = docker.tag_image(&previous, &m.name).await
        {
            ctx.log.step_line(&step.id, &format!("Warning: could not give the name {} back: {e}", m.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_platforms_come_from_the_machine_and_its_qemu_registrations() {
        let dir = tempfile::tempdir().unwrap();
        let amd64 = Platform::native("linux", "x86_64");
        let names = |d: &Path| runnable_with(&amd64, Some(d)).iter().map(Platform::to_string).collect::<Vec<_>>();
        assert_eq!(names(dir.path()), ["linux/amd64", "linux/386"]);
        std::fs::write(dir.path().join("qemu-aarch64"), "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64\n")
            .unwrap();
        std::fs::write(dir.path().join("qemu-riscv64"), "disabled\n").unwrap();
        assert_eq!(names(dir.path()), ["linux/amd64", "linux/386", "linux/arm64"]);
        let refusal =
            cannot_run(&amd64, &Platform::parse("linux/riscv64").unwrap(), &runnable_with(&amd64, Some(dir.path())));
        assert!(refusal.starts_with("this machine (linux/amd64) cannot run linux/riscv64 binaries"), "{refusal}");
        assert!(refusal.contains("update-binfmts --enable qemu-riscv64"), "{refusal}");
    }

    #[test]
    fn only_dockerfiles_that_run_commands_need_emulation() {
        assert!(runs_commands("FROM x\n  run echo hi\n"));
        assert!(runs_commands("FROM x\nRUN\tuname -m\n"));
        assert!(!runs_commands("FROM x\nCOPY a /a\n# RUN nothing\nRUNNER=1\n"));
    }

    #[test]
    fn stage_platforms_follow_from_platform_flags() {
        let target = Platform::parse("linux/arm64").unwrap();
        let native = Platform::parse("linux/amd64").unwrap();
        assert_eq!(stage_platform(None, &target, Some(&native)), target);
        assert_eq!(stage_platform(Some("$BUILDPLATFORM"), &target, Some(&native)), native);
        assert_eq!(stage_platform(Some("$BUILDPLATFORM"), &target, None), target);
        assert_eq!(stage_platform(Some("${TARGETPLATFORM}"), &target, Some(&native)), target);
        assert_eq!(stage_platform(Some("linux/386"), &target, None).to_string(), "linux/386");
    }
}
