//! `drydock runs list|show`, `drydock logs` and `drydock cancel`: runs on the daemon (ACR's
//! `az acr task list-runs|show-run|logs|cancel-run`).

use super::CliError;
use super::client::{Client, ServerArgs};
use super::follow::{RetryPolicy, follow_logs};
use super::output::{Format, clock_duration, print_json, status_colour, stderr_colour, stdout_colour, timestamp};
use super::table::{Cell, Table};
use super::watch::{closing_line, outcome, summary};
use crate::api::{Run, RunFilter};
use crate::run::RunStatus;
use clap::{Args, Subcommand};

/// The `runs` verbs.
#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List runs, newest first.
    List(ListArgs),
    /// Show one run with its steps and images.
    Show(ShowArgs),
    /// Approve a run waiting for approval (a fork's pull request): it is queued and runs with
    /// the task's secrets.
    Approve(DecideArgs),
    /// Reject a run waiting for approval: it ends Canceled without running.
    Reject(RejectArgs),
    /// Queue a new run with the inputs of an earlier one: the same task file or command, the same
    /// commit or upload, its values (with `--set` over them) and trigger details.
    Rerun(RerunArgs),
    /// Go on from where a run that failed, timed out, was canceled or errored stopped: the steps
    /// that succeeded are reused (shown `Reused`), the others run in the workspace exactly as the
    /// original left it, with `.Run.ID` and the other run variables unchanged. The daemon keeps a
    /// failed run's workspace for `--keep-failed-workspace` (4 h by default).
    Resume(ResumeArgs),
}

/// `runs resume`.
#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// Run id.
    pub run: String,
    /// Value that replaces or adds to the original run's, `NAME=VALUE`; repeatable. A step that
    /// already succeeded must render as it did, or the resume is refused.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// A values file (YAML) merged over the task's own; `--set` values, the original's included,
    /// still win.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<std::path::PathBuf>,
    /// Render with the new run's id as `.Run.ID` instead of the original's.
    #[arg(long)]
    pub new_id: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: the new run).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `runs rerun`.
#[derive(Args, Debug)]
pub struct RerunArgs {
    /// Run id.
    pub run: String,
    /// Value that replaces or adds to the original run's, `NAME=VALUE`; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// A values file (YAML) merged over the task's own; `--set` values, the original's included,
    /// still win.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: the new run).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `runs approve`.
#[derive(Args, Debug)]
pub struct DecideArgs {
    /// Run id.
    pub run: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: the run after the decision).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `runs reject`.
#[derive(Args, Debug)]
pub struct RejectArgs {
    #[command(flatten)]
    pub decide: DecideArgs,
    /// Why, kept on the run.
    #[arg(long)]
    pub reason: Option<String>,
}

/// `runs list` filters.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only runs of this task.
    #[arg(short = 'n', long)]
    pub task: Option<String>,
    /// Only runs with this status: AwaitingApproval, Queued, Running, Succeeded, Failed, Canceled,
    /// Timeout, Error.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<RunStatus>,
    /// Only runs that pushed this image (`repo:tag` or `registry/repo:tag`).
    #[arg(long)]
    pub image: Option<String>,
    /// Only runs started this way: manual, source, timer, base_image.
    #[arg(long, value_parser = ["manual", "source", "timer", "base_image"])]
    pub trigger: Option<String>,
    /// At most this many (1–1000; the daemon's default is 15).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub top: Option<u32>,
    /// Only runs older than this run id (the next page).
    #[arg(long, value_name = "RUN")]
    pub before: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: the page, `{"runs":[…],"next":…}`).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `runs show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Run id.
    pub run: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `logs`.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Run id (default: the newest run, of --task if given).
    pub run: Option<String>,
    /// With no run id: the newest run of this task.
    #[arg(short = 'n', long, conflicts_with = "run")]
    pub task: Option<String>,
    /// Keep streaming until the run ends, then exit with its outcome (0 only if it succeeded).
    #[arg(short = 'f', long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `cancel`.
#[derive(Args, Debug)]
pub struct CancelArgs {
    /// Run id.
    pub run: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: the run after cancelling).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `runs` verb.
pub async fn run(command: RunsCommand) -> Result<(), CliError> {
    match command {
        RunsCommand::List(a) => {
            let filter = RunFilter {
                task: a.task.clone(),
                status: a.status,
                image: a.image.clone(),
                trigger: a.trigger.clone(),
                top: a.top,
                before: a.before.clone(),
            };
            let page = Client::from_args(&a.server)?.list_runs(&filter).await?;
            // Every listing prints a bare JSON array, as `az` does; the next page's cursor goes
            // to stderr in both forms.
            let printed = match a.output {
                Format::Json => print_json(&page.runs),
                Format::Text => {
                    print!("{}", run_table(&page.runs).render(stdout_colour()));
                    Ok(())
                }
            };
            if let Some(next) = &page.next {
                eprintln!("More runs: add --before {next}");
            }
            printed
        }
        RunsCommand::Approve(a) => {
            let run = Client::from_args(&a.server)?.decide_run(&a.run, true, None).await?;
            decided(&run, a.output)
        }
        RunsCommand::Reject(a) => {
            let run =
                Client::from_args(&a.decide.server)?.decide_run(&a.decide.run, false, a.reason.as_deref()).await?;
            decided(&run, a.decide.output)
        }
        RunsCommand::Rerun(a) => {
            let req = crate::api::RerunRequest {
                values: super::pairs::parse_map(&a.set, "--set")?,
                values_file: values_file(a.values.as_deref())?,
            };
            let run = Client::from_args(&a.server)?.rerun_run(&a.run, &req).await?;
            match a.output {
                Format::Json => print_json(&run),
                Format::Text => {
                    eprintln!(
                        "Queued run {} (a rerun of {}); follow it with `drydock logs {} --follow`",
                        run.id, a.run, run.id
                    );
                    Ok(())
                }
            }
        }
        RunsCommand::Resume(a) => {
            let req = crate::api::ResumeRequest {
                values: super::pairs::parse_map(&a.set, "--set")?,
                new_id: a.new_id,
                values_file: values_file(a.values.as_deref())?,
            };
            let run = Client::from_args(&a.server)?.resume_run(&a.run, &req).await?;
            match a.output {
                Format::Json => print_json(&run),
                Format::Text => {
                    eprintln!(
                        "Queued run {}, resuming {}; follow it with `drydock logs {} --follow`",
                        run.id, a.run, run.id
                    );
                    Ok(())
                }
            }
        }
        RunsCommand::Show(a) => {
            let run = Client::from_args(&a.server)?.get_run(&a.run).await?;
            match a.output {
                Format::Json => print_json(&run),
                Format::Text => {
                    print!("{}", run_details(&run, stdout_colour()));
                    Ok(())
                }
            }
        }
    }
}

/// The `--values` file of a rerun or resume, read here and sent to the daemon.
pub(super) fn values_file(path: Option<&std::path::Path>) -> Result<Option<crate::api::ValuesFile>, CliError> {
    let Some(path) = path else { return Ok(None) };
    let content =
        std::fs::read_to_string(path).map_err(|e| CliError::Invalid(format!("--values {}: {e}", path.display())))?;
    Ok(Some(crate::api::ValuesFile { name: path.display().to_string(), content }))
}

/// `drydock logs`: the log so far, or (`--follow`) everything until the run ends.
pub async fn logs(a: LogsArgs) -> Result<(), CliError> {
    let client = Client::from_args(&a.server)?;
    let id = match a.run {
        Some(id) => id,
        None => {
            let filter = RunFilter { task: a.task.clone(), top: Some(1), ..RunFilter::default() };
            let page = client.list_runs(&filter).await?;
            let newest = page.runs.into_iter().next().ok_or_else(|| {
                CliError::Failed(match &a.task {
                    Some(t) => format!("task {t} has no runs"),
                    None => "there are no runs".into(),
                })
            })?;
            newest.id
        }
    };
    if !a.follow {
        print!("{}", client.log_text(&id).await?);
        return Ok(());
    }
    let run = follow_logs(&client, &id, &mut std::io::stdout(), RetryPolicy::default()).await?;
    eprintln!("{}", closing_line(&run, stderr_colour()));
    outcome(&run)
}

/// What `runs approve` and `runs reject` print.
fn decided(run: &Run, output: Format) -> Result<(), CliError> {
    match output {
        Format::Json => print_json(run),
        Format::Text => {
            let by = run.approval.as_ref().map(|a| format!(" ({} by {})", a.decision, a.by)).unwrap_or_default();
            eprintln!("Run {}: {}{by}", run.id, run.status.as_str());
            Ok(())
        }
    }
}

/// `drydock cancel`.
pub async fn cancel(a: CancelArgs) -> Result<(), CliError> {
    let run = Client::from_args(&a.server)?.cancel_run(&a.run).await?;
    match a.output {
        Format::Json => print_json(&run),
        Format::Text => {
            eprintln!("Run {}: {}", run.id, run.status.as_str());
            Ok(())
        }
    }
}

fn parse_status(s: &str) -> Result<RunStatus, String> {
    RunStatus::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a run status (AwaitingApproval, Queued, Running, Succeeded, Failed, Canceled, Timeout, Error)"
        )
    })
}

/// `runs list`, like ACR's `list-runs`: RUN ID, TASK, PLATFORM, STATUS, TRIGGER, STARTED, DURATION.
pub fn run_table(runs: &[Run]) -> Table {
    let mut table = Table::new(&["RUN ID", "TASK", "PLATFORM", "STATUS", "TRIGGER", "STARTED", "DURATION"]);
    for r in runs {
        table.row(vec![
            r.id.clone().into(),
            r.task.clone().unwrap_or_default().into(),
            r.platform.clone().unwrap_or_default().into(),
            Cell::coloured(r.status.as_str(), status_colour(r.status)),
            r.trigger.label().into(),
            timestamp(r.started_at).into(),
            clock_duration(r.started_at, r.finished_at).into(),
        ]);
    }
    table
}

/// `runs show`: the run's properties, then its steps and images as in the end-of-run summary.
pub fn run_details(run: &Run, colour: bool) -> String {
    let status = Cell::coloured(run.status.as_str(), status_colour(run.status)).paint(colour);
    let mut rows: Vec<(&str, String)> = vec![
        ("RUN ID", run.id.clone()),
        ("STATUS", status),
        ("TYPE", format!("{:?}", run.run_type)),
        ("TASK", run.task.clone().unwrap_or_default()),
        ("TRIGGER", trigger_text(&run.trigger)),
        ("PLATFORM", run.platform.clone().unwrap_or_default()),
        ("NODE", run.node.clone().unwrap_or_default()),
        ("QUEUED", timestamp(Some(run.queued_at))),
        ("STARTED", timestamp(run.started_at)),
        ("FINISHED", timestamp(run.finished_at)),
        ("DURATION", clock_duration(run.started_at, run.finished_at)),
        ("APPROVAL", approval_text(run)),
        ("RERUN OF", run.rerun_of.clone().unwrap_or_default()),
        ("RERUNS", run.reruns.join(", ")),
        ("NOTIFIED", notifications_text(run)),
        ("WAITING FOR", run.waiting_for.clone().unwrap_or_default()),
    ];
    rows.retain(|(_, v)| !v.is_empty());
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out: String = rows.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect();
    if run.status.is_terminal() {
        out.push_str(&summary(run, colour));
    } else if let Some(e) = &run.error {
        out.push_str(&format!("Error: {e}\n"));
    }
    out
}

/// What became of the commit statuses and run events sent about the run: counts by state, and
/// each failure with its last answer (`drydock hook outgoing list --run ID` has the rest).
fn notifications_text(run: &Run) -> String {
    use crate::api::OutgoingState;
    let count = |state| run.notifications.iter().filter(|n| n.state == state).count();
    let mut parts: Vec<String> = [
        (OutgoingState::Delivered, "delivered"),
        (OutgoingState::Pending, "pending"),
        (OutgoingState::Superseded, "superseded"),
    ]
    .into_iter()
    .filter(|(state, _)| count(*state) > 0)
    .map(|(state, name)| format!("{} {name}", count(state)))
    .collect();
    for failed in run.notifications.iter().filter(|n| n.state == OutgoingState::Failed) {
        let answer = match (failed.status_code, &failed.answer) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(why)) => why.clone(),
            (None, None) => "no answer".into(),
        };
        parts.push(format!("FAILED {} {} ({answer})", failed.event, failed.url));
    }
    parts.join(", ")
}

/// A waiting run's next move, else the last decision on it.
fn approval_text(run: &Run) -> String {
    let next = format!("`drydock runs approve|reject {}`", run.id);
    match (&run.waiting_step, run.status, &run.approval) {
        (Some(step), _, _) => format!("waiting before step `{step}`: {next}"),
        (None, RunStatus::AwaitingApproval, _) => format!("waiting: {next}"),
        (None, _, Some(a)) => {
            let step = a.step.as_ref().map(|s| format!(" before step `{s}`")).unwrap_or_default();
            format!("{}{step} by {} at {}", a.decision, a.by, timestamp(Some(a.at)))
        }
        _ => String::new(),
    }
}

/// The trigger with its details: `Timer t1 (2024-05-01T03:00:00Z)`, `Commit abc123 on main`.
fn trigger_text(t: &crate::api::Trigger) -> String {
    use crate::api::Trigger;
    match t {
        Trigger::Manual => "Manual".into(),
        Trigger::Source { commit, branch, repository, from_fork, head_repository, .. } => {
            let on = branch.as_deref().map(|b| format!(" on {b}")).unwrap_or_default();
            let fork = match (from_fork, head_repository) {
                (true, Some(f)) => format!(", from the fork {f}"),
                (true, None) => ", from a deleted fork".into(),
                _ => String::new(),
            };
            format!("{} {commit}{on} ({repository}{fork})", t.label())
        }
        Trigger::Timer { name, occurrence } => format!("Timer {name} ({})", timestamp(Some(*occurrence))),
        Trigger::BaseImage { image, new_digest, .. } => format!("Image Update {image} → {new_digest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{RunType, Trigger};
    use chrono::TimeZone;

    fn run(id: &str, task: Option<&str>, status: RunStatus, trigger: Trigger) -> Run {
        let t = |s| chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, s).unwrap();
        Run {
            id: id.into(),
            status,
            run_type: RunType::AutoRun,
            task: task.map(str::to_string),
            trigger,
            queued_at: t(0),
            started_at: Some(t(1)),
            finished_at: status.is_terminal().then(|| t(53)),
            platform: Some("linux/amd64".into()),
            steps: vec![],
            output_images: vec![],
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
    fn runs_table_has_acrs_columns() {
        let occurrence = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let runs = [
            run("00d2", Some("nightly-maint"), RunStatus::Running, Trigger::Timer { name: "t1".into(), occurrence }),
            run("00d1", None, RunStatus::Succeeded, Trigger::Manual),
        ];
        assert_eq!(
            run_table(&runs).render(false),
            "\
RUN ID  TASK           PLATFORM     STATUS     TRIGGER  STARTED               DURATION
------  -------------  -----------  ---------  -------  --------------------  --------
00d2    nightly-maint  linux/amd64  Running    Timer    2024-05-01T12:00:01Z
00d1                   linux/amd64  Succeeded  Manual   2024-05-01T12:00:01Z  00:00:52
"
        );
    }

    #[test]
    fn statuses_parse_case_insensitively() {
        assert_eq!(parse_status("failed"), Ok(RunStatus::Failed));
        assert!(parse_status("Started").is_err());
    }

    #[test]
    fn details_show_trigger_and_summary() {
        let r = run("00d1", Some("build-app"), RunStatus::Failed, Trigger::Manual);
        let text = run_details(&r, false);
        assert!(
            text.starts_with("RUN ID    00d1\nSTATUS    Failed\nTYPE      AutoRun\nTASK      build-app\n"),
            "{text}"
        );
        assert!(text.ends_with("Run ID: 00d1 failed after 52s\n"), "{text}");
    }
}
