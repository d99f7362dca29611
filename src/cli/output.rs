//! How remote commands print: `-o text` (tables and summaries for people) or `-o json`
//! (the API objects, one compact JSON document on stdout, for scripts).

use super::CliError;
use crate::run::RunStatus;
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::Serialize;
use std::io::IsTerminal;

/// The `-o/--output` choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: tables, summaries, colours on a terminal.
    #[default]
    Text,
    /// For scripts: the API object as JSON on stdout.
    Json,
}

/// Prints `value` as one line of JSON on stdout. The field names are the API's, so scripts
/// written against `-o json` keep working as long as the API does.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string(value).map_err(|e| CliError::Failed(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Prints a listing: `value` as JSON, or the table `table` makes of it for people.
pub fn print_table<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    table: impl FnOnce(&T) -> super::table::Table,
) -> Result<(), CliError> {
    match format {
        Format::Json => print_json(value),
        Format::Text => {
            print!("{}", table(value).render(stdout_colour()));
            Ok(())
        }
    }
}

/// Whether to colour what goes to stdout (a terminal, and NO_COLOR unset).
pub fn stdout_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether to colour what goes to stderr (same rule as [`super::paint`]).
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The ANSI colour of a run status: green for success, red for failures, yellow for cancelled.
pub fn status_colour(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "32",
        RunStatus::Failed | RunStatus::Error | RunStatus::Timeout => "31",
        RunStatus::Canceled => "33",
        RunStatus::Queued | RunStatus::Running => "36",
        RunStatus::AwaitingApproval => "35",
    }
}

/// A timestamp as ACR lists it: `2024-05-01T12:00:00Z`.
pub fn timestamp(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// A duration column as ACR lists it: `00:01:05`.
pub fn clock_duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(a), Some(b)) => {
            let s = (b - a).num_seconds().max(0);
            format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
        _ => String::new(),
    }
}

/// A duration in a sentence, as Go prints it in ACR's summaries: `52s`, `1m5s`, `2h0m1s`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_read_like_acr() {
        let a = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2024, 5, 1, 13, 2, 5).unwrap();
        assert_eq!(clock_duration(Some(a), Some(b)), "01:02:05");
        assert_eq!(clock_duration(Some(a), None), "");
        assert_eq!(timestamp(Some(a)), "2024-05-01T12:00:00Z");
        assert_eq!(human_duration(52), "52s");
        assert_eq!(human_duration(65), "1m5s");
        assert_eq!(human_duration(7201), "2h0m1s");
    }
}
