//! What happens after a run is queued (remote `build`, `run`, `task run`): say so, then return
//! (`--no-wait`), wait quietly (`--no-logs`) or stream the log, and finish with ACR's summary
//! and an exit code from the run's status.

use super::CliError;
use super::client::Client;
use super::follow::{RetryPolicy, follow_logs, wait_for_end};
use super::output::{Format, human_duration, print_json, status_colour};
use super::table::{Cell, Table};
use crate::api::Run;
use crate::run::{RunStatus, StepStatus};
use clap::Args;

/// How to wait for a queued run.
#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    /// Return as soon as the run is queued; print its id (the run object with `-o json`).
    #[arg(long)]
    pub no_wait: bool,
    /// Do not stream the log: wait for the end and print the summary.
    #[arg(long, conflicts_with = "no_wait")]
    pub no_logs: bool,
}

/// Reports a queued run and waits for it as asked; `Ok` only when it succeeded.
pub async fn watch(client: &Client, queued: Run, wait: &WaitArgs, format: Format) -> Result<(), CliError> {
    if format == Format::Text {
        eprintln!("Queued a run with ID: {}", queued.id);
    }
    if wait.no_wait {
        return match format {
            Format::Json => print_json(&queued),
            Format::Text => {
                println!("{}", queued.id);
                eprintln!("Follow it with: drydock logs {} --follow", queued.id);
                Ok(())
            }
        };
    }
    let waiting = async {
        if wait.no_logs {
            wait_for_end(client, &queued.id, RetryPolicy::default()).await
        } else {
            let queued_now = format == Format::Text && queued.status == RunStatus::Queued;
            if queued_now {
                eprintln!("Waiting for an agent...");
            }
            let mut stderr = std::io::stderr();
            let follow = follow_logs(client, &queued.id, &mut stderr, RetryPolicy::default());
            tokio::pin!(follow);
            // A run no node can take (its platform, its labels) would wait here silently: after a
            // moment, say why, once, and go on following.
            let explain = async {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                if let Ok(run) = client.get_run(&queued.id).await
                    && run.status == RunStatus::Queued
                    && let Some(why) = run.waiting_for
                {
                    eprintln!("Still queued: {why}");
                }
            };
            if queued_now {
                tokio::select! {
                    finished = &mut follow => return finished,
                    () = explain => {}
                }
            }
            follow.await
        }
    };
    // Ctrl-C stops watching, not the run (it is the daemon's now, as with `az acr run`): say so,
    // and how to get back to it or stop it.
    let finished = tokio::select! {
        finished = waiting => finished?,
        _ = tokio::signal::ctrl_c() => {
            let id = &queued.id;
            eprintln!(
                "\nDetached: run {id} goes on on the daemon. Follow it with `drydock logs {id} --follow`; \
                 stop it with `drydock cancel {id}`."
            );
            return Err(CliError::Silent(130));
        }
    };
    match format {
        Format::Json => print_json(&finished)?,
        Format::Text => eprint!("{}", summary(&finished, super::output::stderr_colour())),
    }
    outcome(&finished)
}

/// The exit code of a finished run: 0 when it succeeded, 1 otherwise (already reported).
pub fn outcome(run: &Run) -> Result<(), CliError> {
    match run.status {
        RunStatus::Succeeded => Ok(()),
        _ => Err(CliError::Silent(1)),
    }
}

/// The end-of-run summary: a step table, the pushed images, and ACR's closing sentence.
pub fn summary(run: &Run, colour: bool) -> String {
    let mut out = String::new();
    if !run.steps.is_empty() {
        let mut table = Table::new(&["STEP", "STATUS", "DURATION", "ATTEMPTS"]);
        for s in &run.steps {
            let secs = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => format!("{:.1}s", (b - a).num_milliseconds() as f64 / 1000.0),
                _ => "-".into(),
            };
            let colour = match s.status {
                StepStatus::Succeeded => "32",
                StepStatus::Skipped | StepStatus::Pending => "0",
                StepStatus::Canceled => "33",
                _ => "31",
            };
            table.row(vec![
                s.id.clone().into(),
                Cell::coloured(format!("{:?}", s.status), colour),
                secs.into(),
                s.attempts.to_string().into(),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render(colour));
    }
    for img in &run.output_images {
        let digest = img.digest.as_deref().unwrap_or("(digest unknown)");
        out.push_str(&format!("Pushed {}/{}:{} {digest}\n", img.registry, img.repository, img.tag));
    }
    out.push_str(&closing_line(run, colour));
    out.push('\n');
    out
}

/// `Run ID: X was successful after 52s`, or how it ended otherwise, with the error.
pub fn closing_line(run: &Run, colour: bool) -> String {
    let after = match (run.started_at.or(Some(run.queued_at)), run.finished_at) {
        (Some(a), Some(b)) => format!(" after {}", human_duration((b - a).num_seconds())),
        _ => String::new(),
    };
    let how = match run.status {
        RunStatus::Succeeded => "was successful",
        RunStatus::Failed => "failed",
        RunStatus::Canceled => "was canceled",
        RunStatus::Timeout => "timed out",
        RunStatus::Error => "ended with an error",
        RunStatus::Queued | RunStatus::Running => "is still going",
        RunStatus::AwaitingApproval => "is waiting for approval (`drydock runs approve`)",
    };
    let how = if colour { format!("\x1b[{}m{how}\x1b[0m", status_colour(run.status)) } else { how.to_string() };
    let mut line = format!("Run ID: {} {how}{after}", run.id);
    if let Some(e) = &run.error {
        line.push_str(&format!(". Error: {e}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{RunType, Trigger};
    use crate::run::{OutputImage, StepRecord};
    use chrono::TimeZone;

    pub(crate) fn finished_run(status: RunStatus) -> Run {
        let t = |s| chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, s).unwrap();
        Run {
            id: "00cf".into(),
            status,
            run_type: RunType::QuickBuild,
            task: None,
            trigger: Trigger::Manual,
            queued_at: t(0),
            started_at: Some(t(1)),
            finished_at: Some(t(53)),
            platform: Some("linux/amd64".into()),
            steps: vec![StepRecord {
                status: StepStatus::Succeeded,
                attempts: 1,
                started_at: Some(t(1)),
                finished_at: Some(t(50)),
                ..StepRecord::pending("build")
            }],
            output_images: vec![OutputImage {
                registry: "reg.io".into(),
                repository: "app".into(),
                tag: "1".into(),
                digest: Some("sha256:ab".into()),
                signature: None,
                platforms: Vec::new(),
            }],
            dependencies: vec![],
            error: None,
            node: None,
            approval: None,
            waiting_step: None,
            rerun_of: None,
            resumed_from: None,
            workspace_kept_until: None,
            reruns: Vec::new(),
            notifications: Vec::new(),
            waiting_for: None,
        }
    }

    #[test]
    fn summary_reads_like_acr() {
        let text = summary(&finished_run(RunStatus::Succeeded), false);
        assert_eq!(
            text,
            "\nSTEP   STATUS     DURATION  ATTEMPTS\n-----  ---------  --------  --------\nbuild  Succeeded  49.0s     1\nPushed reg.io/app:1 sha256:ab\nRun ID: 00cf was successful after 52s\n"
        );
        let mut failed = finished_run(RunStatus::Failed);
        failed.error = Some("step build exited with 1".into());
        assert!(summary(&failed, false).ends_with("Run ID: 00cf failed after 52s. Error: step build exited with 1\n"));
        assert_eq!(outcome(&failed).unwrap_err().exit_code(), 1);
        assert!(outcome(&finished_run(RunStatus::Succeeded)).is_ok());
    }
}
