//! Dashboard benchmarks (issue 7), in headless Chromium (chromedriver) against a daemon started
//! in this process on the real dockerd. Run: `cargo bench --bench dashboard [log|runs]`.
//!
//! - `log`: the run page of a finished run whose log has 10,000 lines (with ANSI colours) is
//!   loaded afresh ten times; each load is timed in the page, from navigation start until every
//!   line is drawn and the run's end is shown. Target: under 1 s.
//! - `runs`: the runs page with 100,000 runs stored (`DRYDOCK_BENCH_RUNS` to change): the first
//!   page, then 20 clicks on "Older runs" one after another, a page deep in the list, and
//!   filtered pages, each timed in the page until its table is drawn.

#[allow(dead_code)] // the tests use more of it
#[path = "../tests/helper/browser.rs"]
mod browser;
#[path = "support/mod.rs"]
mod support;

use browser::Browser;
use chrono::{Duration as Span, Utc};
use drydock::api::{RunType, Trigger};
use drydock::run::{RunStatus, StepRecord, StepStatus};
use drydock::store::RunRow;
use serde_json::{Value, json};
use support::Bench;

/// Opens `route` afresh and returns the page's own clock (ms since navigation start) when
/// `drawn` (a function body) first holds.
async fn load(browser: &Browser, b: &Bench, route: &str, drawn: &str) -> f64 {
    browser.open_fresh(&format!("{}/{route}", b.url)).await;
    let script = format!(
        "const done = arguments[arguments.length - 1]; const drawn = () => {{ {drawn} }}; \
         (function poll() {{ if (drawn()) done(performance.now()); else setTimeout(poll, 2); }})();"
    );
    browser.eval_async(&script, json!([])).await.as_f64().unwrap()
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!("p50 {:.0} ms, max {:.0} ms (n={})", ms[ms.len() / 2], ms[ms.len() - 1], ms.len())
}

async fn log(browser: &Browser, b: &Bench) {
    // A folded YAML scalar: no YAML escapes, so printf receives `\033` itself.
    let file = "steps:\n  - id: chatty\n    cmd: >-\n      busybox sh -c \"i=0; while [ $i -lt 10000 ]; do \
        printf '\\033[32mok\\033[0m line %d: compiling module %d of the project, with some ordinary build output\\n' $i $i; \
        i=$((i+1)); done\"\n";
    b.create_task(json!({"name": "chatty", "step": {"kind": "file", "content": file}})).await;
    let run = b.post("/v1/tasks/chatty/runs", json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    let run = b.wait(&id).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    let text = b.http.get(format!("{}/v1/runs/{id}/logs", b.url)).bearer_auth(&b.token).send().await.unwrap();
    let text = text.text().await.unwrap();
    let lines = text.lines().count();
    assert!(lines >= 10_000, "{lines} lines");

    let drawn = format!(
        "const log = document.getElementById('log'); \
         return log && log.dataset.complete && log.children.length === {lines}"
    );
    let mut times = Vec::new();
    for _ in 0..10 {
        times.push(load(browser, b, &format!("#/run/{id}"), &drawn).await);
    }
    let heap = browser.eval("return performance.memory.usedJSHeapSize", json!([])).await;
    let coloured = browser.eval("return document.querySelectorAll('#log span[style]').length", json!([])).await;
    println!(
        "log: run page with {lines} log lines ({} KB, {coloured} coloured spans) drawn in {} (target < 1 s); JS heap {:.1} MB",
        text.len() / 1024,
        summary(times),
        heap.as_f64().unwrap_or(0.0) / 1e6
    );
}

/// A finished run as the store keeps it: one step, varied statuses and triggers.
fn stored_run(seq: i64) -> RunRow {
    let (status, step) = match seq % 10 {
        0 => (RunStatus::Failed, StepStatus::Failed),
        1 => (RunStatus::Canceled, StepStatus::Canceled),
        _ => (RunStatus::Succeeded, StepStatus::Succeeded),
    };
    let trigger = match seq % 4 {
        0 => Trigger::Timer { name: "nightly".into(), occurrence: Utc::now() },
        _ => Trigger::Manual,
    };
    let queued = Utc::now() - Span::seconds(1_000_000 - seq);
    let mut record = StepRecord::pending("build");
    record.status = step;
    record.started_at = Some(queued);
    record.finished_at = Some(queued + Span::seconds(3));
    RunRow {
        seq,
        id: drydock::runid::daemon_run_id(seq as u64),
        status,
        run_type: RunType::AutoRun,
        task: Some(format!("task{:03}", seq % 200)),
        trigger,
        request: json!({}),
        required_labels: Default::default(),
        queued_at: queued,
        started_at: Some(queued),
        finished_at: Some(queued + Span::seconds(3)),
        platform: Some("linux/amd64".into()),
        steps: vec![record],
        output_images: Vec::new(),
        dependencies: Vec::new(),
        error: None,
        node: Some("bench".into()),
        lease_until: None,
        cancel_requested: false,
        approval: None,
        waiting_step: None,
        rerun_of: None,
        resumed_from: None,
        workspace: None,
        workspace_until: None,
        resume_state: None,
        epoch: 0,
    }
}

async fn runs(browser: &Browser, b: &Bench) {
    let n: i64 = std::env::var("DRYDOCK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let store = b.d.service.store().clone();
    let t = std::time::Instant::now();
    // After the runs the daemon made itself (the `log` bench's).
    for seq in 100..100 + n {
        store.import_run(&stored_run(seq)).await.unwrap();
    }
    store.finish_import().await.unwrap();
    println!("runs: stored {n} runs in {:.0} s", t.elapsed().as_secs_f64());

    let table = "return document.querySelectorAll('#runs-list tbody tr').length > 0";
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(load(browser, b, "#/runs", table).await);
    }
    println!("runs: first page drawn in {}", summary(first));

    // "Older runs", clicked 20 times: each timed from the click until the next page is drawn.
    let click = "const done = arguments[arguments.length - 1]; \
        const top = () => document.querySelector('#runs-list tbody tr td a')?.innerText; \
        const was = top(); const t0 = performance.now(); document.getElementById('older').click(); \
        (function poll() { const now = top(); if (now && now !== was) done([performance.now() - t0, now]); else setTimeout(poll, 2); })();";
    let mut pages = Vec::new();
    let mut last = Value::Null;
    for _ in 0..20 {
        let r = browser.eval_async(click, json!([])).await;
        pages.push(r[0].as_f64().unwrap());
        last = r[1].clone();
    }
    println!("runs: 20 older pages, one after another (to run {last}): {}", summary(pages));

    for (what, route) in [
        ("deep page (the 50 oldest)", format!("#/runs?before={}", drydock::runid::daemon_run_id(150))),
        ("by trigger timer", "#/runs?trigger=timer".into()),
        ("by status Failed and task", "#/runs?status=Failed&task=task010".into()),
        ("by status Running (no match)", "#/runs?status=Running".into()),
    ] {
        let drawn = "return document.querySelector('#runs-list table, #runs-list p')";
        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(load(browser, b, &route, drawn).await);
        }
        println!("runs: {what} drawn in {}", summary(times));
    }
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-')).unwrap_or_default();
    let want = |n: &str| only.is_empty() || only == n;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let Some(browser) = Browser::start().await else { return };
        let b = support::start(1).await;
        browser.log_in(&b.url, &b.token).await;
        if want("log") {
            log(&browser, &b).await;
        }
        if want("runs") {
            runs(&browser, &b).await;
        }
        drop(browser);
        b.stop().await;
    });
}
