//! `push` steps: each image pushed with three attempts and backoff (ACR's fixed policy), then its
//! digest read from the registry with a HEAD request and recorded, and signed when the run has a
//! signing key.

use super::step::{Attempt, StepContext, StepResult, run_policy, sleep_or_cancel};
use crate::docker::RegistryCredential;
use crate::reference::ImageRef;
use crate::registry::RepoAccess;
use crate::registry::keys::SignatureKey;
use crate::registry::signature;
use crate::run::{ImageSignature, OutputImage};
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
            Ok(()) => return digest_of(ctx, step, image).await,
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
    Ok(OutputImage { registry: r.registry, repository: r.repository, tag, digest, signature: None })
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
