//! `--require-signed-base`: before a build step builds, every base image its Dockerfile names must
//! carry a cosign-style signature that one of the required keys verifies. Checked before the build
//! starts, so an unsigned base costs no build and never reaches a pushed image.

use super::step::StepContext;
use crate::dockerfile::Dependencies;
use crate::reference::ImageRef;
use crate::registry::RepoAccess;
use crate::registry::signature;
use crate::taskfile::Step;

/// Checks every base image of `deps`; `Err` says which one is not signed, and why.
pub async fn check(ctx: &StepContext, step: &Step, deps: Option<&Dependencies>) -> Result<(), String> {
    if ctx.require_signed_base.is_empty() {
        return Ok(());
    }
    let Some(deps) = deps else {
        return Err("refusing to build: the Dockerfile's base images could not be read, so their signatures \
                    (--require-signed-base) cannot be checked"
            .into());
    };
    for image in deps.runtime.iter().chain(&deps.buildtime).filter(|i| !i.is_scratch()) {
        let digest = verified_digest(ctx, image).await?;
        ctx.log.step_line(&step.id, &format!("Base image {} ({digest}) is signed by a required key", image.familiar()));
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
