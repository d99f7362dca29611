//! Timer benchmark (issue 5): how late timers fire on the real clock. Run: `cargo bench --bench timers`.
//!
//! Tasks with a per-second timer (`* * * * * *`) are created on an in-process daemon; every run
//! they queue records its occurrence and its queue time, and the lateness is the difference.
//! The tasks require an agent label no node has, so their runs stay queued: the figure is the
//! scheduler's, not Docker's. Target: under 1 s late; never two runs for one occurrence.

#[path = "support/mod.rs"]
mod support;

use drydock::daemon;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for tasks in [1usize, 100] {
        measure(tasks, Duration::from_secs(10)).await;
    }
}

async fn measure(tasks: usize, window: Duration) {
    let b = support::start(4).await;
    for i in 0..tasks {
        let task = json!({
            "name": format!("tick-{i:04}"),
            "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"},
            "agent_labels": {"bench": "no-such-node"},
            "timers": [{"name": "s", "schedule": "* * * * * *"}],
        });
        b.create_task(task).await;
    }
    tokio::time::sleep(window).await;
    let data = b.stop().await;

    // Read every run back from the store (the API pages at 1000).
    let store = daemon::open_store(data.path(), None).await.unwrap();
    let mut late_ms = Vec::new();
    let mut seen = HashSet::new();
    let mut before: Option<String> = None;
    loop {
        let filter = drydock::api::RunFilter { top: Some(1000), before: before.clone(), ..Default::default() };
        let page = store.list_runs(&filter).await.unwrap();
        if page.is_empty() {
            break;
        }
        for r in &page {
            let run: Value = serde_json::to_value(daemon::runs::to_api(r)).unwrap();
            let occurrence = run["trigger"]["occurrence"].as_str().unwrap();
            let key = format!("{}:{occurrence}", run["task"]);
            assert!(seen.insert(key.clone()), "two runs for {key}");
            let o = chrono::DateTime::parse_from_rfc3339(occurrence).unwrap();
            let q = chrono::DateTime::parse_from_rfc3339(run["queued_at"].as_str().unwrap()).unwrap();
            late_ms.push((q - o).num_milliseconds());
        }
        before = page.last().map(|r| daemon::runs::to_api(r).id);
    }
    late_ms.sort_unstable();
    let pct = |p: f64| late_ms[((late_ms.len() as f64 - 1.0) * p) as usize];
    println!(
        "timers: {tasks} task(s) × per-second timer for {}s: {} runs, no duplicates; lateness p50 {} ms, p99 {} ms, max {} ms (target < 1000 ms)",
        window.as_secs(),
        late_ms.len(),
        pct(0.5),
        pct(0.99),
        late_ms.last().unwrap()
    );
}
