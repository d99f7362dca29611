//! Daemon benchmarks (issue 4), against the real dockerd. Run: `cargo bench --bench daemon [name]`.
//!
//! - `list`: `GET /v1/runs` (default page, and by task/status/image) with 100,000 runs stored;
//!   target p50 under 20 ms; and `GET /v1/tasks` for the 200 tasks those runs belong to.
//! - `drain`: 200 runs queued at once, concurrency 4: every run executes exactly once.
//! - `followers`: 100 concurrent SSE followers of one run printing 10 MB; each must receive every
//!   byte, and the run must not be slower than without followers.
//! - `idle`: RSS of an idle `drydock serve`; target under 50 MB.
//! - `resume` (issue 17): a 10-step run that failed at step 10, resumed (nine steps reused) against
//!   a full rerun, both with the fix as `--set`; steps that work 0 s and 1 s each.

use drydock::api::{RunType, Trigger};
#[path = "support/mod.rs"]
mod support;

use drydock::store::NewRun;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::start;

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

async fn list() {
    let b = start(1).await;
    let store = b.d.service.store().clone();
    let n: usize = std::env::var("DRYDOCK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let t = Instant::now();
    for i in 0..n {
        let run = NewRun {
            run_type: RunType::AutoRun,
            task: Some(format!("task{:03}", i % 200)),
            trigger: Trigger::Manual,
            request: json!({}),
            // A label no node has: the runs stay queued, the bench measures listing, not running.
            required_labels: [("bench".to_string(), "never".to_string())].into_iter().collect(),
            dedup_key: None,
            awaiting_approval: false,
            rerun_of: None,
            resumed_from: None,
        };
        store.enqueue_run(run).await.unwrap();
    }
    println!("list: stored {n} runs in {:.0}s", t.elapsed().as_secs_f64());
    // The 200 tasks those runs belong to: `GET /v1/tasks` carries each one's newest run.
    for i in 0..200 {
        b.create_task(json!({"name": format!("task{i:03}"), "step": {"kind": "cmd", "cmd": "busybox true"}})).await;
    }
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let tasks = b.get("/v1/tasks").await;
        times.push(t.elapsed());
        assert!(tasks.as_array().unwrap().iter().all(|t| t["last_run"]["id"].is_string()));
    }
    println!(
        "list: GET /v1/tasks (200 tasks, each with its last run): p50 {:.2} ms, p99 {:.2} ms",
        pct(times.clone(), 0.5),
        pct(times, 0.99)
    );
    for (what, path) in [
        ("default page", "/v1/runs"),
        ("by task", "/v1/runs?task=task042"),
        ("by status", "/v1/runs?status=Queued"),
        ("by image (no match)", "/v1/runs?image=nothing:1"),
        ("top 100", "/v1/runs?top=100"),
    ] {
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let r = b.get(path).await;
            times.push(t.elapsed());
            assert!(r["runs"].is_array());
        }
        println!(
            "list: GET {path} ({what}): p50 {:.2} ms, p99 {:.2} ms (target p50 < 20 ms)",
            pct(times.clone(), 0.5),
            pct(times, 0.99)
        );
    }
}

async fn drain() {
    let b = start(4).await;
    let name = "drain-task";
    b.post(
        "/v1/tasks",
        json!({"name": name, "step": {"kind": "file", "content": "steps:\n  - cmd: busybox echo ran\n"}}),
    )
    .await;
    let t = Instant::now();
    let path = format!("/v1/tasks/{name}/runs");
    let ids: Vec<String> = futures_util::future::join_all((0..200).map(|_| b.post(&path, json!({}))))
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 200, "every queued run has its own id");
    let mut executions = 0;
    for id in &ids {
        let run = b.wait(id).await;
        assert_eq!(run["status"], "Succeeded", "{run}");
        let log = b
            .http
            .get(format!("{}/v1/runs/{id}/logs", b.url))
            .bearer_auth(&b.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let started = log.matches("started on node").count();
        assert_eq!(started, 1, "run {id} executed {started} times");
        executions += started;
    }
    println!(
        "drain: 200 runs at concurrency 4 drained in {:.1}s ({:.1} runs/s); {executions} executions, none lost or repeated",
        t.elapsed().as_secs_f64(),
        200.0 / t.elapsed().as_secs_f64()
    );
}

async fn followers() {
    let b = start(2).await;
    let name = "chatty-task";
    // 10 MB of output: 125,000 lines of 80 bytes.
    let script = "i=0; while [ $i -lt 125000 ]; do echo \"line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; i=$((i+1)); done | head -c 10000000";
    let file = format!("steps:\n  - cmd: busybox sh -c '{script}'\n");
    b.post("/v1/tasks", json!({"name": name, "step": {"kind": "file", "content": file}})).await;
    let timed_run = |followers: usize, stalled: bool| {
        let b = &b;
        async move {
            let run = b.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
            let id = run["id"].as_str().unwrap().to_string();
            // Followers are separate, low-priority processes that only save the raw stream, so
            // that what is measured is the daemon's cost of serving them, not their parsing.
            let dir = tempfile::tempdir().unwrap();
            let children: Vec<_> = (0..followers)
                .map(|i| {
                    std::process::Command::new("nice")
                        .args(["-n", "19", "curl", "-sN", "-H", "Accept: text/event-stream", "-H"])
                        .arg(format!("Authorization: Bearer {}", b.token))
                        .arg("-o")
                        .arg(dir.path().join(format!("f{i}")))
                        .arg(format!("{}/v1/runs/{id}/logs", b.url))
                        .spawn()
                        .unwrap()
                })
                .collect();
            if stalled {
                // Followers that read nothing: the run must not wait for them.
                for c in &children {
                    std::process::Command::new("kill").args(["-STOP", &c.id().to_string()]).status().unwrap();
                }
            }
            let done = b.wait(&id).await;
            let took = duration_of(&done);
            for mut c in children {
                if stalled {
                    std::process::Command::new("kill").args(["-CONT", &c.id().to_string()]).status().unwrap();
                }
                c.wait().unwrap();
            }
            let full = b
                .http
                .get(format!("{}/v1/runs/{id}/logs", b.url))
                .bearer_auth(&b.token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for i in 0..followers {
                let raw = std::fs::read(dir.path().join(format!("f{i}"))).unwrap();
                let text = sse_text(&raw);
                assert_eq!(text.len(), full.len(), "follower {i} missed bytes");
                assert!(text == full, "follower {i} received different bytes");
            }
            (took, full.len())
        }
    };
    let (alone, size) = timed_run(0, false).await;
    let (followed, _) = timed_run(100, false).await;
    let (stalled, _) = timed_run(100, true).await;
    println!(
        "followers: a run printing {:.1} MB took {alone:.1}s alone, {followed:.1}s with 100 SSE followers reading \
         (each received all {size} bytes; the daemon served {:.2} GB on the same 2 cores), and {stalled:.1}s with 100 \
         stalled followers (which then received everything too)",
        size as f64 / 1e6,
        size as f64 * 100.0 / 1e9
    );
}

fn duration_of(run: &Value) -> f64 {
    let p = |k: &str| chrono::DateTime::parse_from_rfc3339(run[k].as_str().unwrap()).unwrap();
    (p("finished_at") - p("started_at")).num_milliseconds() as f64 / 1000.0
}

/// The log text in a saved SSE stream (the data lines of `log` events, one `\n` after each).
fn sse_text(raw: &[u8]) -> String {
    let mut text = String::new();
    let (mut event, mut data) = (String::new(), Vec::<&str>::new());
    let raw = String::from_utf8_lossy(raw);
    for line in raw.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            if event == "log" || event.is_empty() {
                for d in data.drain(..) {
                    text.push_str(d);
                    text.push('\n');
                }
            }
            data.clear();
            event.clear();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    text
}

fn idle() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: ? kB").to_string();
    let _ = child.kill();
    let _ = child.wait();
    println!("idle: drydock serve after 5 s idle: {} (target < 50 MB)", rss.trim_start_matches("VmRSS:").trim());
}

/// The task of the `resume` bench: nine steps of `work` seconds, then one that fails until `mode`
/// is `fixed`.
fn ten_steps(work: u32) -> String {
    let mut task = String::from("steps:\n");
    for i in 1..10 {
        task.push_str(&format!("  - id: s{i}\n    cmd: busybox sh -c 'echo {i} >> /workspace/trail; sleep {work}'\n"));
    }
    task.push_str("  - id: s10\n    cmd: busybox sh -c 'test \"{{.Values.mode}}\" = fixed'\n");
    task
}

async fn resume() {
    let b = start(1).await;
    let run_time = |r: &Value| {
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(r[k].as_str().unwrap()).unwrap();
        (at("finished_at") - at("queued_at")).num_milliseconds() as f64
    };
    for work in [0, 1] {
        let task = ten_steps(work);
        let (mut resumed, mut rerun) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let failed = b
                .post("/v1/runs", json!({"step": {"kind": "file", "content": task}, "values": {"mode": "broken"}}))
                .await;
            let id = failed["id"].as_str().unwrap().to_string();
            assert_eq!(b.wait(&id).await["status"], "Failed");
            // Interleaved, so that both see the same machine.
            let r = b.post(&format!("/v1/runs/{id}/rerun"), json!({"values": {"mode": "fixed"}})).await;
            let done = b.wait(r["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "Succeeded", "{done}");
            rerun.push(run_time(&done));
            let r = b.post(&format!("/v1/runs/{id}/resume"), json!({"values": {"mode": "fixed"}})).await;
            let done = b.wait(r["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "Succeeded", "{done}");
            assert_eq!(done["steps"][8]["status"], "Reused");
            resumed.push(run_time(&done));
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (res, full) = (median(resumed), median(rerun));
        println!(
            "resume: 10 steps of {work} s, failed at step 10: resume {res:.0} ms, full rerun {full:.0} ms \
             (queued to finished, median of 5): resume takes {:.2}x the rerun's time",
            res / full
        );
    }
    b.stop().await;
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-')).unwrap_or_default();
    let want = |n: &str| only.is_empty() || only == n;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if want("idle") {
        idle();
    }
    if want("drain") {
        rt.block_on(drain());
    }
    if want("followers") {
        rt.block_on(followers());
    }
    if want("list") {
        rt.block_on(list());
    }
    if want("resume") {
        rt.block_on(resume());
    }
}
