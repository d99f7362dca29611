//! `drydock timer add|update|remove|list`: the cron timers of a saved task (ACR's
//! `az acr task timer`).

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, stdout_colour};
use super::table::{Cell, Table};
use super::task_spec::{check_cron, check_name, is_timer_name};
use crate::api::Timer;
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
    /// List a task's timers.
    List(TimerListArgs),
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
                missed: Default::default(),
                next_fire: None,
            };
            Client::from_args(&a.server)?.add_timer(&a.task, &timer).await?;
            eprintln!("Added timer {} to task {}", a.timer_name, a.task);
            Ok(())
        }
        TimerCommand::Update(a) => {
            check(&a)?;
            if a.schedule.is_none() && a.enabled.is_none() {
                return Err(CliError::Invalid("nothing to update: give --schedule and/or --enabled".into()));
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
            match a.output {
                Format::Json => print_json(&timers),
                Format::Text => {
                    print!("{}", timer_table(&timers).render(stdout_colour()));
                    Ok(())
                }
            }
        }
    }
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

/// NAME, SCHEDULE, STATUS.
pub fn timer_table(timers: &[Timer]) -> Table {
    let mut table = Table::new(&["NAME", "SCHEDULE", "STATUS"]);
    for t in timers {
        let status = if t.enabled { Cell::coloured("Enabled", "32") } else { Cell::coloured("Disabled", "33") };
        table.row(vec![t.name.clone().into(), t.schedule.clone().into(), status]);
    }
    table
}
