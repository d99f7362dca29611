//! `drydock timer add|update|remove|list`: the cron timers of a saved task (ACR's
//! `az acr task timer`).

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_table};
use super::table::{Cell, Table};
use super::task_spec::{check_cron, check_name, is_timer_name};
use crate::api::{MissedPolicy, Timer, TimerEvent, TimerOutcome};
use clap::{Args, Subcommand};

/// The `timer` verbs.
#[derive(Subcommand, Debug)]
pub enum TimerCommand {
    /// Add a timer to a task.
    Add(TimerArgs),
    /// Change a timer's schedule and/or whether it is enabled.
    Update(TimerArgs),
    /// Remove a timer.
    Remove(TimerArgs),
    /// List a task's timers, with when each fires next.
    List(TimerListArgs),
    /// What a task's timers did: fired occurrences with their runs, skipped stretches, failures.
    History(TimerHistoryArgs),
}

/// `--missed`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MissedArg {
    /// Record missed occurrences as skipped.
    Skip,
    /// Run once for the latest missed occurrence.
    RunOnce,
}

impl From<MissedArg> for MissedPolicy {
    fn from(m: MissedArg) -> Self {
        match m {
            MissedArg::Skip => MissedPolicy::Skip,
            MissedArg::RunOnce => MissedPolicy::RunOnce,
        }
    }
}

/// `timer history`.
#[derive(Args, Debug)]
pub struct TimerHistoryArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    /// Only this timer.
    #[arg(long = "timer-name")]
    pub timer_name: Option<String>,
    /// How many entries, newest first.
    #[arg(long, default_value_t = 20)]
    pub top: u32,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Which timer, and what it should be.
#[derive(Args, Debug)]
pub struct TimerArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    /// Timer name, unique within the task.
    #[arg(long = "timer-name")]
    pub timer_name: String,
    /// Cron schedule: 5 fields (minute hour day month weekday), in UTC.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Whether the timer fires.
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,
    /// What to do about occurrences missed while no daemon ran: skip them (default), or run
    /// once for the latest.
    #[arg(long, value_enum)]
    pub missed: Option<MissedArg>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `timer list`.
#[derive(Args, Debug)]
pub struct TimerListArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `timer` verb.
pub async fn run(command: TimerCommand) -> Result<(), CliError> {
    match command {
        TimerCommand::Add(a) => {
            check(&a)?;
            let schedule =
                a.schedule.clone().ok_or_else(|| CliError::Invalid("give the cron with --schedule".into()))?;
            let timer = Timer {
                name: a.timer_name.clone(),
                schedule,
                enabled: a.enabled.unwrap_or(true),
                missed: a.missed.map(MissedPolicy::from).unwrap_or_default(),
                next_fire: None,
            };
            Client::from_args(&a.server)?.add_timer(&a.task, &timer).await?;
            eprintln!("Added timer {} to task {}", a.timer_name, a.task);
            Ok(())
        }
        TimerCommand::Update(a) => {
            check(&a)?;
            if a.schedule.is_none() && a.enabled.is_none() && a.missed.is_none() {
                return Err(CliError::Invalid("nothing to update: give --schedule, --enabled or --missed".into()));
            }
            let client = Client::from_args(&a.server)?;
            // PUT replaces the timer, so start from what the daemon has.
            let mut timer = client
                .list_timers(&a.task)
                .await?
                .into_iter()
                .find(|t| t.name == a.timer_name)
                .ok_or_else(|| CliError::Failed(format!("task {} has no timer named {}", a.task, a.timer_name)))?;
            if let Some(s) = &a.schedule {
                timer.schedule = s.clone();
            }
            if let Some(e) = a.enabled {
                timer.enabled = e;
            }
            if let Some(m) = a.missed {
                timer.missed = m.into();
            }
            client.put_timer(&a.task, &timer).await?;
            eprintln!("Updated timer {} of task {}", a.timer_name, a.task);
            Ok(())
        }
        TimerCommand::Remove(a) => {
            check(&a)?;
            Client::from_args(&a.server)?.remove_timer(&a.task, &a.timer_name).await?;
            eprintln!("Removed timer {} from task {}", a.timer_name, a.task);
            Ok(())
        }
        TimerCommand::List(a) => {
            check_name(&a.task)?;
            let timers = Client::from_args(&a.server)?.list_timers(&a.task).await?;
            print_table(a.output, timers.as_slice(), timer_table)
        }
        TimerCommand::History(a) => {
            check_name(&a.task)?;
            let mut events = Client::from_args(&a.server)?.timer_events(&a.task, a.top).await?;
            if let Some(name) = &a.timer_name {
                events.retain(|e| &e.timer == name);
            }
            print_table(a.output, events.as_slice(), history_table)
        }
    }
}

/// TIMER, OCCURRENCE, OUTCOME, RUN.
pub fn history_table(events: &[TimerEvent]) -> Table {
    let mut table = Table::new(&["TIMER", "OCCURRENCE", "OUTCOME", "RUN"]);
    for e in events {
        let when = if e.count > 1 {
            format!("{} … {} ({} occurrences)", time(e.occurrence), time(e.last_occurrence), e.count)
        } else {
            time(e.occurrence)
        };
        let outcome = match e.outcome {
            TimerOutcome::Fired => Cell::coloured("Fired", "32"),
            TimerOutcome::Skipped => Cell::coloured("Skipped", "33"),
            TimerOutcome::Failed => Cell::coloured("Failed", "31"),
        };
        table.row(vec![e.timer.clone().into(), when.into(), outcome, e.run_id.clone().unwrap_or_default().into()]);
    }
    table
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn check(a: &TimerArgs) -> Result<(), CliError> {
    check_name(&a.task)?;
    if !is_timer_name(&a.timer_name) {
        return Err(CliError::Invalid(format!(
            "timer name `{}` must be 1–50 letters, digits, `-` and `_`",
            a.timer_name
        )));
    }
    a.schedule.as_deref().map(check_cron).transpose().map(drop)
}

/// NAME, SCHEDULE, STATUS, MISSED, NEXT FIRE.
pub fn timer_table(timers: &[Timer]) -> Table {
    let mut table = Table::new(&["NAME", "SCHEDULE", "STATUS", "MISSED", "NEXT FIRE"]);
    for t in timers {
        let status = if t.enabled { Cell::coloured("Enabled", "32") } else { Cell::coloured("Disabled", "33") };
        let missed = match t.missed {
            MissedPolicy::Skip => "skip",
            MissedPolicy::RunOnce => "run-once",
        };
        let next = t.next_fire.map(time).unwrap_or_default();
        table.row(vec![t.name.clone().into(), t.schedule.clone().into(), status, missed.into(), next.into()]);
    }
    table
}
