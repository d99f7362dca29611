//! `drydock prune`: delete finished runs and their logs now, by the daemon's retention policy or
//! by limits given here; `--dry-run` lists what would go.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_table, timestamp};
use super::table::Table;
use crate::api::{PruneReport, PruneRequest};
use clap::Args;

/// `drydock prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Keep the newest N finished runs of each task (default: the daemon's `--keep-runs`).
    #[arg(long, value_name = "N")]
    pub keep_runs: Option<u32>,
    /// Keep runs that finished in the last D days (default: the daemon's `--keep-days`).
    #[arg(long, value_name = "D")]
    pub keep_days: Option<u32>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs `drydock prune`.
pub async fn run(args: PruneArgs) -> Result<(), CliError> {
    let req = PruneRequest { keep_runs: args.keep_runs, keep_days: args.keep_days, dry_run: args.dry_run };
    let report = Client::from_args(&args.server)?.prune(&req).await?;
    print_table(args.output, &report, pruned_table)?;
    if args.output == Format::Text {
        let verb = if report.dry_run { "Would delete" } else { "Deleted" };
        let limits = match (report.keep_runs, report.keep_days) {
            (0, d) => format!("older than {d} days"),
            (n, 0) => format!("beyond the newest {n} of each task"),
            (n, d) => format!("older than {d} days or beyond the newest {n} of each task"),
        };
        eprintln!(
            "{verb} {} finished runs {limits}, and {:.1} MiB of logs on this node.",
            report.runs.len(),
            report.log_bytes as f64 / f64::from(1 << 20)
        );
    }
    Ok(())
}

/// RUN ID, TASK, STATUS, FINISHED, REASON.
fn pruned_table(report: &PruneReport) -> Table {
    let mut table = Table::new(&["RUN ID", "TASK", "STATUS", "FINISHED", "REASON"]);
    for r in &report.runs {
        table.row(vec![
            r.id.clone().into(),
            r.task.clone().unwrap_or_default().into(),
            r.status.clone().into(),
            timestamp(Some(r.finished_at)).into(),
            r.reason.clone().into(),
        ]);
    }
    table
}
