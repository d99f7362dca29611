//! Cron schedules as ACR writes them: five fields in UTC (minute hour day month weekday), or six
//! with seconds first. The API checks them when a timer is saved; the timer scheduler and task
//! reads compute occurrences from them.

use chrono::{DateTime, Utc};

/// A schedule that does not parse, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

/// Parses a timer schedule: 5-field cron in UTC, or 6 fields with seconds.
pub fn parse(schedule: &str) -> Result<croner::Cron, ScheduleError> {
    let fields = schedule.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(ScheduleError(format!(
            "schedule `{schedule}` has {fields} fields; write 5 (minute hour day month weekday, UTC) or 6 (with seconds first)"
        )));
    }
    croner::parser::CronParser::builder()
        .seconds(if fields == 6 { croner::parser::Seconds::Required } else { croner::parser::Seconds::Disallowed })
        .build()
        .parse(schedule)
        .map_err(|e| ScheduleError(format!("schedule `{schedule}`: {e}")))
}

/// The first occurrence strictly after `at`.
pub fn next_after(cron: &croner::Cron, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&at, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_take_five_or_six_fields() {
        assert!(parse("30 9 * * 1-5").is_ok());
        assert!(parse("0 30 9 * * 1-5").is_ok());
        assert!(parse("* * *").is_err());
        assert!(parse("61 * * * *").is_err());
    }
}
