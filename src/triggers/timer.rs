//! Cron timers: fire each occurrence once, across restarts and across nodes.
//!
//! Every (task, timer) has a cursor in the store: the last occurrence handled. A pass of the
//! scheduler looks at the occurrences between the cursor and now:
//! - the ones within [`GRACE`] of now are due and fire;
//! - older ones were missed (no daemon was up) and follow the timer's [`MissedPolicy`]: skipped,
//!   or the latest fired once. Skipped stretches are recorded as one history entry, not one
//!   per occurrence, so a timer that fires every minute and a week of downtime do not flood it.
//!
//! A run is queued with the key `timer:<task>:<timer>:<occurrence>` *before* the cursor moves:
//! a crash in between re-queues the same key on restart, which the store turns into the run
//! already queued. The cursor moves by compare-and-set, so of several nodes exactly one records
//! the history entry.

use crate::api::{MissedPolicy, Task, TaskRunRequest, TaskStatus, Timer, TimerEvent, TimerOutcome, Trigger};
use crate::daemon::Service;
use crate::schedule::{next_after, parse as parse_schedule};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How late an occurrence may be handled and still count as on time (the daemon was busy, the
/// machine slept a little); later than this it was missed. Schedules with seconds that fire
/// more often get their own period as the grace, so a restart does not fire a minute's worth.
pub const GRACE: Duration = Duration::seconds(60);

/// The longest the scheduler sleeps without looking again: tasks changed on another node
/// do not wake this one.
const RESCAN: Duration = Duration::seconds(60);

/// Occurrences counted in one missed stretch at most; a per-second timer down for weeks
/// should not cost a pass millions of iterations.
const MAX_COUNTED: u64 = 100_000;

/// The timer scheduler.
pub async fn run(svc: Arc<Service>, stop: CancellationToken) {
    let clock = svc.clock().clone();
    loop {
        let wake = match pass(&svc).await {
            Ok(next) => next.unwrap_or_else(|| clock.now() + RESCAN),
            Err(e) => {
                tracing::warn!(error = %e, "the timer pass failed; trying again shortly");
                clock.now() + Duration::seconds(5)
            }
        };
        let wake = wake.min(clock.now() + RESCAN);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = clock.sleep_until(wake) => {}
            _ = svc.task_changes().notified() => {}
        }
    }
}

/// One look at every timer; returns when the next occurrence is due.
pub async fn pass(svc: &Service) -> Result<Option<DateTime<Utc>>, crate::store::StoreError> {
    let now = svc.clock().now();
    let mut next: Option<DateTime<Utc>> = None;
    for task in svc.store().list_tasks().await? {
        for timer in &task.timers {
            let Ok(cron) = parse_schedule(&timer.schedule) else { continue };
            let cursor = svc.store().timer_cursor(&task.name, &timer.name, now).await?;
            let live = task.status == TaskStatus::Enabled && timer.enabled;
            let plan = Plan::new(&cron, cursor, now);
            if let Some(last) = plan.last() {
                if live {
                    handle(svc, &task, timer, &cron, cursor, &plan).await?;
                } else {
                    // A disabled timer lets its occurrences pass; enabling it later must not
                    // count them as missed.
                    svc.store().advance_timer(&task.name, &timer.name, cursor, last).await?;
                }
            }
            if live && let Some(n) = next_after(&cron, now) {
                next = Some(next.map_or(n, |m| m.min(n)));
            }
        }
    }
    Ok(next)
}

/// The occurrences between a cursor and now, split into missed and due.
struct Plan {
    /// Missed: first, last and how many.
    missed: Option<(DateTime<Utc>, DateTime<Utc>, u64)>,
    /// Due now, oldest first.
    due: Vec<DateTime<Utc>>,
}

impl Plan {
    fn new(cron: &croner::Cron, cursor: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
        let mut plan = Plan { missed: None, due: Vec::new() };
        let grace = grace(cron, cursor);
        let mut at = cursor;
        let mut counted = 0u64;
        while let Ok(o) = cron.find_next_occurrence(&at, false) {
            if o > now {
                break;
            }
            if now - o > grace {
                counted += 1;
                plan.missed = Some(match plan.missed {
                    None => (o, o, 1),
                    Some((first, _, n)) => (first, o, n + 1),
                });
                if counted >= MAX_COUNTED {
                    // Jump to the start of the grace window; the count says "at least".
                    at = now - grace;
                    continue;
                }
            } else {
                plan.due.push(o);
            }
            at = o;
        }
        plan
    }

    /// The latest occurrence this plan handles.
    fn last(&self) -> Option<DateTime<Utc>> {
        self.due.last().copied().or(self.missed.map(|(_, last, _)| last))
    }
}

/// Fires and records what a plan says, then moves the cursor.
async fn handle(
    svc: &Service,
    task: &Task,
    timer: &Timer,
    cron: &croner::Cron,
    cursor: DateTime<Utc>,
    plan: &Plan,
) -> Result<(), crate::store::StoreError> {
    let mut events = Vec::new();
    let mut skipped = plan.missed;
    // Run-once fires the latest missed occurrence, unless one is due anyway.
    if timer.missed == MissedPolicy::RunOnce
        && plan.due.is_empty()
        && let Some((first, last, n)) = plan.missed
    {
        skipped = (n > 1).then(|| (first, previous(cron, last).unwrap_or(first), n - 1));
        events.push(fire(svc, task, timer, last).await);
    }
    for &o in &plan.due {
        events.push(fire(svc, task, timer, o).await);
    }
    if let Some((first, last, count)) = skipped {
        tracing::info!(task = %task.name, timer = %timer.name, count, "timer occurrences were missed and skipped");
        events.insert(0, event(task, timer, first, last, count, TimerOutcome::Skipped, None));
    }
    let Some(last) = plan.last() else { return Ok(()) };
    // Counted by the node whose cursor move won, like the history, so that several nodes
    // count an occurrence once.
    if svc.store().advance_timer(&task.name, &timer.name, cursor, last).await? {
        for e in &events {
            svc.metrics().timer_occurrences(outcome_name(e.outcome), e.count);
            svc.store().record_timer_event(e).await?;
        }
    }
    Ok(())
}

/// Queues the run of one occurrence.
async fn fire(svc: &Service, task: &Task, timer: &Timer, occurrence: DateTime<Utc>) -> TimerEvent {
    let key = format!("timer:{}:{}:{}", task.name, timer.name, occurrence.timestamp_millis());
    let trigger = Trigger::Timer { name: timer.name.clone(), occurrence };
    match svc.run_task(&task.name, TaskRunRequest::default(), trigger, Some(key)).await {
        Ok(run) => {
            tracing::info!(task = %task.name, timer = %timer.name, run = %run.id, %occurrence, "timer fired");
            event(task, timer, occurrence, occurrence, 1, TimerOutcome::Fired, Some(run.id))
        }
        Err(e) => {
            tracing::warn!(task = %task.name, timer = %timer.name, %occurrence, error = %e, "the timer could not queue a run");
            event(task, timer, occurrence, occurrence, 1, TimerOutcome::Failed, None)
        }
    }
}

fn event(
    task: &Task,
    timer: &Timer,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
    outcome: TimerOutcome,
    run_id: Option<String>,
) -> TimerEvent {
    TimerEvent {
        task: task.name.clone(),
        timer: timer.name.clone(),
        occurrence: first,
        last_occurrence: last,
        count,
        outcome,
        run_id,
        recorded_at: Utc::now(),
    }
}

/// The metrics' name of an occurrence's outcome.
fn outcome_name(outcome: TimerOutcome) -> &'static str {
    match outcome {
        TimerOutcome::Fired => "fired",
        TimerOutcome::Failed => "failed",
        TimerOutcome::Skipped => "skipped",
    }
}

/// [`GRACE`], or the schedule's period when that is shorter.
fn grace(cron: &croner::Cron, from: DateTime<Utc>) -> Duration {
    let mut it = cron.iter_after(from);
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => GRACE.min(b - a),
        _ => GRACE,
    }
}

/// The occurrence before `at`.
fn previous(cron: &croner::Cron, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.iter_from(at, croner::Direction::Backward).find(|o| *o < at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_occurrence_within_the_grace_is_due() {
        let cron = parse_schedule("*/5 * * * *").unwrap();
        let plan = Plan::new(&cron, at("2026-01-01T10:00:00Z"), at("2026-01-01T10:05:30Z"));
        assert_eq!(plan.due, vec![at("2026-01-01T10:05:00Z")]);
        assert!(plan.missed.is_none());
    }

    #[test]
    fn older_occurrences_are_one_missed_stretch() {
        let cron = parse_schedule("0 * * * *").unwrap();
        let plan = Plan::new(&cron, at("2026-01-01T00:00:00Z"), at("2026-01-01T10:00:10Z"));
        assert_eq!(plan.missed, Some((at("2026-01-01T01:00:00Z"), at("2026-01-01T09:00:00Z"), 9)));
        assert_eq!(plan.due, vec![at("2026-01-01T10:00:00Z")]);
        assert_eq!(plan.last(), Some(at("2026-01-01T10:00:00Z")));
    }

    #[test]
    fn nothing_between_cursor_and_now_is_an_empty_plan() {
        let cron = parse_schedule("0 3 * * *").unwrap();
        let plan = Plan::new(&cron, at("2026-01-01T03:00:00Z"), at("2026-01-01T12:00:00Z"));
        assert!(plan.last().is_none());
    }

    #[test]
    fn a_long_outage_of_a_per_second_timer_is_counted_with_a_cap() {
        let cron = parse_schedule("* * * * * *").unwrap();
        let plan = Plan::new(&cron, at("2026-01-01T00:00:00Z"), at("2026-01-10T00:00:00Z"));
        let (_, _, n) = plan.missed.unwrap();
        assert_eq!(n, MAX_COUNTED);
        // The grace is the one-second period: only the latest occurrence is due, not a minute's worth.
        assert_eq!(plan.due, vec![at("2026-01-10T00:00:00Z")]);
    }

    #[test]
    fn previous_occurrence() {
        let hourly = parse_schedule("0 * * * *").unwrap();
        assert_eq!(previous(&hourly, at("2026-01-01T09:00:00Z")), Some(at("2026-01-01T08:00:00Z")));
    }
}
