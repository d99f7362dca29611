//! `push` steps: each image pushed with three attempts and backoff (ACR's fixed policy), then its
//! digest read from the registry with a HEAD request and recorded.

use super::step::{Attempt, StepContext, StepResult, run_policy, sleep_or_cancel};
use crate::docker::RegistryCredential;
use crate::reference::ImageRef;
use crate::run::OutputImage;
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
    }
    Ok(OutputImage { registry: r.registry, repository: r.repository, tag, digest })
}
