//! Cron timers on the in-process daemon: each occurrence fires once, missed occurrences follow
//! the timer's policy across a restart, disabled timers stay quiet, and a seconds schedule fires
//! on the real clock. Time is a manual clock except in the last test; the scheduler's passes
//! are also driven directly, racing the daemon's own loop, which is what several nodes do.

use crate::helper::daemon::{TestDaemon, inline_task};
use chrono::{DateTime, Utc};
use drydock::clock::ManualClock;
use drydock::triggers::timer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const TASK_FILE: &str = "steps:\n  - cmd: busybox echo fired by {{.Run.ID}}\n";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn start(data: tempfile::TempDir, clock: &Arc<ManualClock>) -> TestDaemon {
    let clock = clock.clone();
    TestDaemon::start_configured(data, move |c| c.clock = clock).await
}

/// One pass of the scheduler, as the daemon's loop does it.
async fn pass(d: &TestDaemon) {
    timer::pass(&d.daemon.as_ref().unwrap().service).await.unwrap();
}

async fn timer_runs(d: &TestDaemon, task: &str) -> Vec<Value> {
    let (_, page) = d.get(&format!("/v1/runs?task={task}&top=100")).await;
    let runs = page["runs"].as_array().cloned().unwrap_or_default();
    runs.into_iter().filter(|r| r["trigger"]["kind"] == "timer").collect()
}

async fn history(d: &TestDaemon, task: &str) -> Vec<Value> {
    let (status, h) = d.get(&format!("/v1/tasks/{task}/timer-events")).await;
    assert_eq!(status, 200, "{h}");
    h.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_occurrence_fires_once_and_missed_ones_follow_the_policy_after_a_restart() {
    let clock = Arc::new(ManualClock::new(at("2026-03-01T09:59:30Z")));
    let d = start(tempfile::tempdir().unwrap(), &clock).await;
    let mut task = inline_task("hourly-patch", TASK_FILE);
    task["timers"] = json!([
        {"name": "skip", "schedule": "0 * * * *"},
        {"name": "catchup", "schedule": "30 * * * *", "missed": "run-once"},
    ]);
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["timers"][0]["next_fire"], "2026-03-01T10:00:00Z");
    pass(&d).await;

    // 10:00 passes: the `skip` timer fires once, however many passes look at it.
    clock.set(at("2026-03-01T10:00:02Z"));
    pass(&d).await;
    pass(&d).await;
    let runs = timer_runs(&d, "hourly-patch").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = d.wait_run(runs[0]["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!(run["trigger"]["name"], "skip", "{run}");
    assert_eq!(run["trigger"]["occurrence"], "2026-03-01T10:00:00Z", "{run}");
    let h = history(&d, "hourly-patch").await;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["outcome"], "fired");
    assert_eq!(h[0]["run_id"], run["id"]);

    // The daemon is down from 10:05 to 12:45: 11:00 and 12:00 (skip) and 10:30, 11:30, 12:30
    // (run-once) pass unseen.
    clock.set(at("2026-03-01T10:05:00Z"));
    pass(&d).await;
    let data = d.stop().await;
    let clock = Arc::new(ManualClock::new(at("2026-03-01T12:45:00Z")));
    let d = start(data, &clock).await;
    pass(&d).await;
    pass(&d).await;

    let runs = timer_runs(&d, "hourly-patch").await;
    assert_eq!(runs.len(), 2, "run-once fired once, skip fired nothing new: {runs:?}");
    let catchup = runs.iter().find(|r| r["trigger"]["name"] == "catchup").expect("run-once fired");
    assert_eq!(catchup["trigger"]["occurrence"], "2026-03-01T12:30:00Z");
    let h = history(&d, "hourly-patch").await;
    let skipped = |timer: &str| h.iter().find(|e| e["timer"] == timer && e["outcome"] == "skipped").cloned();
    let s = skipped("skip").expect("the skip timer's stretch is recorded");
    assert_eq!(
        (s["occurrence"].as_str(), s["last_occurrence"].as_str()),
        (Some("2026-03-01T11:00:00Z"), Some("2026-03-01T12:00:00Z"))
    );
    assert_eq!(s["count"], 2);
    let c = skipped("catchup").expect("run-once records what it did not run");
    assert_eq!(
        (c["occurrence"].as_str(), c["last_occurrence"].as_str()),
        (Some("2026-03-01T10:30:00Z"), Some("2026-03-01T11:30:00Z"))
    );
    assert_eq!(c["count"], 2);
    assert_eq!(h.iter().filter(|e| e["outcome"] == "fired").count(), 2, "{h:?}");
    d.wait_run(catchup["id"].as_str().unwrap()).await;

    // The CLI shows the same history, and the next fire times.
    let o = d.cli(&["timer", "history", "-n", "hourly-patch", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let cli_h: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cli_h.len(), h.len());
    let o = d.cli(&["timer", "list", "-n", "hourly-patch"]).await;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("NEXT FIRE") && text.contains("2026-03-01T13:00:00Z") && text.contains("run-once"), "{text}");
    let o = d.cli(&["timer", "history", "-n", "hourly-patch", "--timer-name", "skip"]).await;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("(2 occurrences)") && text.contains("Skipped") && !text.contains("catchup"), "{text}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_timers_and_tasks_stay_quiet_and_do_not_count_as_missed() {
    let clock = Arc::new(ManualClock::new(at("2026-03-02T08:00:30Z")));
    let d = start(tempfile::tempdir().unwrap(), &clock).await;
    let mut task = inline_task("quiet-timers", TASK_FILE);
    task["timers"] = json!([{"name": "t1", "schedule": "*/10 * * * *", "enabled": false}]);
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    pass(&d).await;
    clock.set(at("2026-03-02T09:00:30Z"));
    pass(&d).await;
    assert!(timer_runs(&d, "quiet-timers").await.is_empty());
    let (_, timers) = d.get("/v1/tasks/quiet-timers/timers").await;
    assert!(timers[0].get("next_fire").is_none(), "a disabled timer has no next fire: {timers}");

    // Enabled again: nothing from the disabled hour is replayed or reported missed.
    let o = d.cli(&["timer", "update", "-n", "quiet-timers", "--timer-name", "t1", "--enabled", "true"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    pass(&d).await;
    assert!(history(&d, "quiet-timers").await.is_empty());
    clock.set(at("2026-03-02T09:10:01Z"));
    pass(&d).await;
    let runs = timer_runs(&d, "quiet-timers").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    d.wait_run(runs[0]["id"].as_str().unwrap()).await;

    // A disabled task's timers do not fire either.
    let r = d.req(reqwest::Method::PATCH, "/v1/tasks/quiet-timers").json(&json!({"status": "Disabled"})).send().await;
    assert_eq!(r.unwrap().status(), 200);
    clock.set(at("2026-03-02T09:20:01Z"));
    pass(&d).await;
    assert_eq!(timer_runs(&d, "quiet-timers").await.len(), 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_own_loop_fires_a_seconds_schedule_on_the_real_clock() {
    let d = TestDaemon::start(2).await;
    let mut task = inline_task("every-2-seconds", TASK_FILE);
    task["timers"] = json!([{"name": "fast", "schedule": "*/2 * * * * *"}]);
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let mut runs = Vec::new();
    for _ in 0..200 {
        runs = timer_runs(&d, "every-2-seconds").await;
        if !runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!runs.is_empty(), "the timer never fired");
    let run = d.wait_run(runs[0]["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!(run["trigger"]["name"], "fast");
    // Occurrences are whole even seconds.
    let occurrence = at(run["trigger"]["occurrence"].as_str().unwrap());
    assert_eq!(occurrence.timestamp() % 2, 0);
    assert_eq!(occurrence.timestamp_subsec_millis(), 0);
    let r = d.req(reqwest::Method::DELETE, "/v1/tasks/every-2-seconds/timers/fast").send().await.unwrap();
    assert_eq!(r.status(), 204);
    d.stop().await;
}
