//! `--require-signed-base`: before a build step builds, every base image its Dockerfile names must
//! carry a cosign-style signature that one of the required keys verifies. Checked before the build
//! starts, so an unsigned base costs no build and never reaches a pushed image. The verified digest
//! is then pulled and named as the Dockerfile names the base, and the build does not pull again:
//! what the builder uses is what was verified, not a local image of that name nor a tag that moved
//! after the check.

use super::step::StepContext;
use crate::dockerfile::Dependencies;
use crate::reference::ImageRef;
use crate::registry::RepoAccess;
use crate::registry::signature;
use crate::taskfile::Step;

/// Checks every base image of `deps`, and pins each to its verified digest; `Err` says which one is
/// not signed, and why. Returns whether anything was pinned (the build must then not pull).
pub async fn check(ctx: &StepContext, step: &Step, deps: Option<&Dependencies>) -> Result<bool, String> {
    if ctx.require_signed_base.is_empty() {
        return Ok(false);
    }
    let Some(deps) = deps else {
        return Err("refusing to build: the Dockerfile's base images could not be read, so their signatures \
                    (--require-signed-base) cannot be checked"
            .into());
    };
    for image in deps.runtime.iter().chain(&deps.buildtime).filter(|i| !i.is_scratch()) {
        let digest = verified_digest(ctx, image).await?;
        ctx.log.step_line(&step.id, &format!("Base image {} ({digest}) is signed by a required key", image.familiar()));
        pin(ctx, image, &digest).await?;
    }
    Ok(true)
}

/// Pulls `image` by its verified `digest` and gives it the name the Dockerfile uses.
async fn pin(ctx: &StepContext, image: &ImageRef, digest: &str) -> Result<(), String> {
    let by_digest = format!("{}/{}@{digest}", image.registry, image.repository);
    let login = ctx.docker_credentials().into_iter().find(|c| c.server == image.registry);
    let docker = ctx.engine.docker();
    docker
        .pull_image(&by_digest, login.as_ref(), |_| {})
        .await
        .map_err(|e| format!("refusing to build: cannot pull the verified base image {by_digest}: {e}"))?;
    if image.digest.is_none() {
        docker
            .tag_image(&by_digest, &image.familiar())
            .await
            .map_err(|e| format!("refusing to build: cannot name the verified base image {}: {e}", image.familiar()))?;
    }
    Ok(())
}

/// The digest of `image` when a required key verifies one of its signatures.
async fn verified_digest(ctx: &StepContext, image: &ImageRef) -> Result<String, String> {
    let reference = image.digest.clone().or_else(|| image.tag.clone()).unwrap_or_else(|| "latest".into());
    let repo = RepoAccess {
        registry: &image.registry,
        repository: &image.repository,
        login: ctx.credentials.get(&image.registry).ok().flatten(),
    };
    let name = image.familiar();
    let checked = signature::verify_image(&ctx.engine.registry, repo, &reference, &ctx.require_signed_base)
        .await
        .map_err(|e| format!("refusing to build: cannot check the signature of base image {name}: {e}"))?;
    if checked.verified {
        return Ok(checked.digest);
    }
    let why = match checked.signatures.first() {
        None => format!("it has no signature ({})", signature::signature_tag(&checked.digest).unwrap_or_default()),
        Some(s) => s.reason.clone(),
    };
    Err(format!(
        "refusing to build: base image {name} ({}) is not signed by a key of --require-signed-base: {why}",
        checked.digest
    ))
}
