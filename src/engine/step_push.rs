//! `push` steps: each image pushed with three attempts and backoff (ACR's fixed policy), then its
//! digest read from the registry with a HEAD request and recorded, and signed when the run has a
//! signing key.

use super::platform_bases::{self, Moved};
use super::step::{Attempt, StepContext, StepResult, run_policy, sleep_or_cancel};
use super::{PlatformImage, normal_tag};
use crate::docker::RegistryCredential;
use crate::reference::ImageRef;
use crate::registry::index::{self, PlatformManifest};
use crate::registry::keys::SignatureKey;
use crate::registry::signature;
use crate::registry::{RepoAccess, StoredManifest};
use crate::run::{ImageSignature, OutputImage, PlatformDigest};
use crate::taskfile::Step;
use crate::taskfile::task::PushStep;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// ACR's runner tries each image this many times, whatever `retries` says.
const PUSH_ATTEMPTS: u32 = 3;

/// Runs a push step.
pub async fn run(ctx: Arc<StepContext>, step: &Step, push: &PushStep, cancel: &CancellationToken) -> StepResult {
    ctx.log.step_line(&step.id, &format!("Executing step ID: {}. Timeout(sec): {}", step.id, step.timeout));
    run_policy(&ctx, step, cancel, false, |_, _, token| {
        let ctx = ctx.clone();
        async move {
            if let Some(why) = &ctx.untrusted {
                return Attempt::failed(format!("pushing is not allowed: {why}"));
            }
            let mut pushed = Vec::new();
            for image in &push.images {
                match push_one(&ctx, step, image, &token).await {
                    Ok(out) => pushed.push(out),
                    Err(e) => return Attempt { pushed, ..Attempt::failed(e) },
                }
            }
            Attempt { ok: true, pushed, ..Attempt::default() }
        }
    })
    .await
}

async fn push_one(
    ctx: &StepContext,
    step: &Step,
    image: &str,
    token: &CancellationToken,
) -> Result<OutputImage, String> {
    let platforms = ctx.platform_images.lock().unwrap_or_else(|e| e.into_inner()).get(&normal_tag(image)).cloned();
    if let Some(images) = platforms {
        return push_platforms(ctx, step, image, &images, token).await;
    }
    push_with_retries(ctx, step, image, token).await?;
    digest_of(ctx, step, image).await
}

/// Pushes the local image named `image` through the engine, three times at most.
async fn push_with_retries(
    ctx: &StepContext,
    step: &Step,
    image: &str,
    token: &CancellationToken,
) -> Result<(), String> {
    let docker = ctx.engine.docker();
    let creds = ctx.docker_credentials();
    let cred = RegistryCredential::matching(image, &creds);
    let mut last = String::new();
    for attempt in 1..=PUSH_ATTEMPTS {
        ctx.log.step_line(&step.id, &format!("Pushing image: {image}, attempt {attempt}"));
        let result = tokio::select! {
            r = docker.push_image(image, cred, |_| {}) => r,
            _ = token.cancelled() => return Err("stopped".into()),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        if attempt < PUSH_ATTEMPTS {
            let backoff = Duration::from_secs(1 << attempt);
            ctx.log.step_line(&step.id, &format!("Push failed ({last}); retrying in {}s", backoff.as_secs()));
            if !sleep_or_cancel(backoff, token).await {
                return Err("stopped".into());
            }
        }
    }
    Err(format!("pushing {image} failed after {PUSH_ATTEMPTS} attempts: {last}"))
}

/// A multi-platform image: each platform's image pushed under the tag in turn (so each manifest is
/// in the repository), then an OCI index over them put under the tag. Until the index lands the
/// tag names the last platform pushed; the local name is given back to the image it named before.
async fn push_platforms(
    ctx: &StepContext,
    step: &Step,
    image: &str,
    images: &[PlatformImage],
    token: &CancellationToken,
) -> Result<OutputImage, String> {
    let r = ImageRef::parse(image).map_err(|e| format!("{image}: {e}"))?;
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let docker = ctx.engine.docker();
    // The name moves from platform to platform below: no other build here uses it meanwhile.
    let _name = platform_bases::hold(ctx, vec![normal_tag(image)], true).await;
    let before = docker.inspect_image(image).await.ok().map(|i| i.id);
    let repo = RepoAccess {
        registry: &r.registry,
        repository: &r.repository,
        login: ctx.credentials.get(&r.registry).ok().flatten(),
    };
    let mut manifests = Vec::new();
    let mut pushed = Vec::new();
    let result = async {
        for one in images {
            docker
                .tag_image(&one.image_id, image)
                .await
                .map_err(|e| format!("naming the {} image: {e}", one.platform))?;
            ctx.log.step_line(&step.id, &format!("Pushing {image} for {}", one.platform));
            push_with_retries(ctx, step, image, token).await?;
            let StoredManifest { digest, media_type, bytes } = ctx
                .engine
                .registry
                .pull_manifest(repo, &tag)
                .await
                .map_err(|e| format!("reading back the {} manifest of {image}: {e}", one.platform))?;
            ctx.log.step_line(&step.id, &format!("Pushed {image} for {}: digest {digest}", one.platform));
            pushed.push(PlatformDigest { platform: one.platform.to_string(), digest: digest.clone() });
            manifests.push(PlatformManifest {
                os: one.platform.os().to_string(),
                arch: one.platform.arch().to_string(),
                variant: one.platform.variant().map(str::to_string),
                digest,
                media_type,
                size: bytes.len() as u64,
            });
        }
        index::push_index(&ctx.engine.registry, repo, &tag, &manifests)
            .await
            .map_err(|e| format!("putting the image index of {image}: {e}"))
    }
    .await;
    let last = images.last().map(|i| i.image_id.clone()).unwrap_or_default();
    platform_bases::restore(ctx, step, vec![Moved::new(image.to_string(), before, last)]).await;
    let digest = result?;
    ctx.log.step_line(
        &step.id,
        &format!("Pushed {image}: digest {digest} (an image index over {} platforms)", pushed.len()),
    );
    if let Some(key) = &ctx.sign_key {
        sign(ctx, step, &r, &digest, key).await?;
    }
    Ok(OutputImage {
        registry: r.registry,
        repository: r.repository,
        tag,
        digest: Some(digest),
        signature: None,
        platforms: pushed,
    })
}

/// Asks the registry for the digest of what was just pushed; falls back to the engine's
/// RepoDigests when the registry cannot be asked (it is recorded either way).
async fn digest_of(ctx: &StepContext, step: &Step, image: &str) -> Result<OutputImage, String> {
    let r = ImageRef::parse(image).map_err(|e| format!("{image}: {e}"))?;
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let cred = ctx.credentials.get(&r.registry).ok().flatten();
    let digest = match ctx.engine.registry.manifest_digest(&r.registry, &r.repository, &tag, cred).await {
        Ok(answer) => Some(answer.digest),
        Err(e) => {
            ctx.log.step_line(&step.id, &format!("Warning: could not read the digest from the registry: {e}"));
            ctx.engine
                .docker()
                .repo_digest_for(image)
                .await
                .ok()
                .flatten()
                .and_then(|d| d.split_once('@').map(|(_, d)| d.to_string()))
        }
    };
    if let Some(d) = &digest {
        ctx.log.step_line(&step.id, &format!("Pushed {image}: digest {d}"));
        if let Some(key) = &ctx.sign_key {
            sign(ctx, step, &r, d, key).await?;
        }
    }
    Ok(OutputImage {
        registry: r.registry,
        repository: r.repository,
        tag,
        digest,
        signature: None,
        platforms: Vec::new(),
    })
}

/// Signs the pushed manifest `digest` and remembers the signature for the run record. A run asked
/// to sign that cannot is a failed push: an unsigned image would be refused downstream anyway.
async fn sign(
    ctx: &StepContext,
    step: &Step,
    image: &ImageRef,
    digest: &str,
    key: &SignatureKey,
) -> Result<(), String> {
    let repo = RepoAccess {
        registry: &image.registry,
        repository: &image.repository,
        login: ctx.credentials.get(&image.registry).ok().flatten(),
    };
    let written = signature::sign_image(&ctx.engine.registry, repo, digest, key)
        .await
        .map_err(|e| format!("signing {}/{}@{digest} failed: {e}", image.registry, image.repository))?;
    ctx.log.step_line(
        &step.id,
        &format!("Signed {}/{}@{digest}: {} is {}", image.registry, image.repository, written.tag, written.digest),
    );
    let record = ImageSignature {
        image: format!("{}/{}", image.registry, image.repository),
        digest: digest.to_owned(),
        signature_tag: written.tag,
        signature_digest: written.digest,
    };
    ctx.signatures.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    Ok(())
}
