//! Following a log over SSE: a dropped connection is resumed with `Last-Event-ID`, and no line
//! is lost or printed twice.

use super::fake::{FakeDaemon, RUN_ID, Script};
use super::{cli, text};
use drydock::run::RunStatus;

#[test]
fn follow_resumes_after_a_dropped_connection_without_loss_or_repeats() {
    let fake = FakeDaemon::start(Script { drop_after: Some(2), ..Script::default() });
    let out = cli(&fake, &["logs", RUN_ID, "--follow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected: String = (1..=5).map(|i| format!("[build] line {i}\n")).collect();
    assert_eq!(text(&out.stdout), expected);
    assert!(text(&out.stderr).contains("Run ID: 00a1 was successful after 42s"));
    let ids = fake.recorded().last_event_ids.clone();
    assert_eq!(ids, [None, Some(fake.offset_after(2).to_string())], "resumed after the last event received");
}

#[test]
fn follow_exits_with_the_runs_outcome() {
    let fake = FakeDaemon::start(Script { final_status: RunStatus::Timeout, ..Script::default() });
    let out = cli(&fake, &["logs", RUN_ID, "-f"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Run ID: 00a1 timed out after 42s"), "{}", text(&out.stderr));
}

#[test]
fn build_streams_through_a_drop_too() {
    let fake = FakeDaemon::start(Script { drop_after: Some(3), ..Script::default() });
    let out = cli(&fake, &["run", "--cmd", "busybox echo"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("[build] line").count(), 5, "{err}");
}

#[test]
fn logs_without_follow_print_the_text_so_far() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["logs", RUN_ID]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("[build] line 1\n[build] line 2\n"));
    assert!(fake.recorded().last_event_ids.is_empty());
}
