//! `cmd: acr purge …` steps, as ACR's scheduled maintenance tasks are written: run as drydock's
//! own purge with the run's registry logins, without pulling or starting the acr-cli image. The
//! table of what was (or would be) deleted goes to the step's log.

use super::step::{Attempt, StepContext, StepResult, run_policy};
use crate::registry::purge::{self, PurgeArgs};
use crate::taskfile::Step;
use crate::taskfile::task::CmdStep;
use clap::Parser;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The image ACR's `acr` alias names; `acr purge` written with it is built in too.
const ACR_CLI_IMAGE: &str = "mcr.microsoft.com/acr/acr-cli";

/// `acr purge`'s command line.
#[derive(Parser, Debug)]
#[command(name = "acr purge", no_binary_name = true)]
struct AcrPurge {
    /// The registry (default: the run's registry, `.Run.Registry`).
    #[arg(short = 'r', long)]
    registry: Option<String>,
    #[command(flatten)]
    purge: PurgeArgs,
}

/// Whether a cmd step is `acr purge …` (by the `acr` alias or the acr-cli image).
pub fn is_acr_purge(cmd: &CmdStep) -> bool {
    let acr = cmd.raw.split_whitespace().next() == Some("acr") || cmd.image.starts_with(ACR_CLI_IMAGE);
    acr && cmd.args.first().is_some_and(|a| a == "purge")
}

/// Runs an `acr purge` step.
pub async fn run(ctx: Arc<StepContext>, step: &Step, cmd: &CmdStep, cancel: &CancellationToken) -> StepResult {
    ctx.log.step_line(
        &step.id,
        &format!("Executing step ID: {}. Timeout(sec): {}, built-in acr purge (no image)", step.id, step.timeout),
    );
    run_policy(&ctx, step, cancel, false, |_, _, token| {
        let ctx = ctx.clone();
        async move {
            tokio::select! {
                attempt = purge_once(&ctx, step, cmd) => attempt,
                _ = token.cancelled() => Attempt::failed("stopped"),
            }
        }
    })
    .await
}

async fn purge_once(ctx: &StepContext, step: &Step, cmd: &CmdStep) -> Attempt {
    if let Some(why) = &ctx.untrusted {
        return Attempt::failed(format!("deleting from a registry is not allowed: {why}"));
    }
    let parsed = match AcrPurge::try_parse_from(&cmd.args[1..]) {
        Ok(p) => p,
        Err(e) => return Attempt::failed(format!("acr purge: {}", e.render().to_string().trim())),
    };
    let Some(registry) = parsed.registry.or_else(|| Some(ctx.run_registry.clone()).filter(|r| !r.is_empty())) else {
        return Attempt::failed(
            "acr purge: no registry; pass --registry or give the run a registry (--registry on serve)",
        );
    };
    let login = ctx.credentials.get(&registry).ok().flatten();
    match purge::purge(&ctx.engine.registry, &registry, login, &parsed.purge, chrono::Utc::now()).await {
        Ok(report) => {
            for line in report.table_lines() {
                ctx.log.step_line(&step.id, &line);
            }
            Attempt { ok: true, ..Attempt::default() }
        }
        Err(e) => Attempt::failed(format!("acr purge on {registry}: {e}")),
    }
}
