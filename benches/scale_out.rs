//! Scale-out benchmark (issue 6): queue throughput of 3 nodes against 1 on one PostgreSQL
//! database, and how long a queued run waits to be claimed. Run: `cargo bench --bench scale_out`.
//!
//! Each node is a daemon in this process with its own data directory and 4 workers, all on this
//! machine's dockerd; the runs are trivial (`busybox true`), so the figure is drydock's and
//! dockerd's overhead per run. Claim latency is `started_at - queued_at` of runs queued one at
//! a time to idle nodes (the LISTEN/NOTIFY wake-up path).

#[path = "../src/store/tests/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use drydock::daemon::{self, DaemonConfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const RUNS: usize = 120;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = postgres::server().expect("PostgreSQL binaries");
    let one = throughput(&server.new_database().await.unwrap(), 1).await;
    let three = throughput(&server.new_database().await.unwrap(), 3).await;
    println!("scale_out: {RUNS} trivial runs: 1 node {one:.2} runs/s, 3 nodes {three:.2} runs/s ({:.2}×)", three / one);
    claim_latency(&server.new_database().await.unwrap()).await;
}

struct Node {
    d: daemon::Daemon,
    url: String,
    _data: tempfile::TempDir,
}

async fn nodes(db: &str, n: usize) -> (Vec<Node>, String) {
    let mut out = Vec::new();
    for _ in 0..n {
        let data = tempfile::tempdir().unwrap();
        let mut config = DaemonConfig::new(data.path().to_path_buf());
        config.registry = "127.0.0.1:5000".into();
        config.database_url = Some(db.to_string());
        config.concurrency = 4;
        config.secret_key_file = Some(std::env::temp_dir().join(format!("drydock-bench-{}.key", std::process::id())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = daemon::start(config, listener).await.unwrap();
        let url = format!("http://{}", d.addr);
        out.push(Node { d, url, _data: data });
    }
    let token = daemon::service::create_token(out[0].d.service.store.as_ref(), "bench").await.unwrap().token;
    (out, token)
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap().json().await.unwrap()
}

async fn wait_all(node: &Node, token: &str, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        loop {
            let run = call(reqwest::Method::GET, format!("{}/v1/runs/{id}", node.url), token, None).await;
            if !matches!(run["status"].as_str(), Some("Queued" | "Running")) {
                assert_eq!(run["status"], "Succeeded", "{run}");
                out.push(run);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    out
}

async fn throughput(db: &str, n: usize) -> f64 {
    let (nodes, token) = nodes(db, n).await;
    let task = json!({"name": "trivial", "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"}});
    call(reqwest::Method::POST, format!("{}/v1/tasks", nodes[0].url), &token, Some(task)).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..RUNS {
        let run =
            call(reqwest::Method::POST, format!("{}/v1/tasks/trivial/runs", nodes[i % n].url), &token, Some(json!({})))
                .await;
        ids.push(run["id"].as_str().unwrap().to_string());
    }
    wait_all(&nodes[0], &token, &ids).await;
    let rate = RUNS as f64 / started.elapsed().as_secs_f64();
    for node in nodes {
        node.d.shutdown.cancel();
        node.d.wait().await;
    }
    rate
}

async fn claim_latency(db: &str) {
    let (nodes, token) = nodes(db, 3).await;
    let task = json!({"name": "trivial", "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"}});
    call(reqwest::Method::POST, format!("{}/v1/tasks", nodes[0].url), &token, Some(task)).await;
    let mut waits = Vec::new();
    for i in 0..40 {
        // Queued on one node, claimed by whichever idle node hears of it first.
        let run =
            call(reqwest::Method::POST, format!("{}/v1/tasks/trivial/runs", nodes[i % 3].url), &token, Some(json!({})))
                .await;
        let id = run["id"].as_str().unwrap().to_string();
        let done = wait_all(&nodes[0], &token, &[id]).await;
        let q = chrono::DateTime::parse_from_rfc3339(done[0]["queued_at"].as_str().unwrap()).unwrap();
        let s = chrono::DateTime::parse_from_rfc3339(done[0]["started_at"].as_str().unwrap()).unwrap();
        waits.push((s - q).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    waits.sort_by(f64::total_cmp);
    println!(
        "scale_out: claim latency (queued → claimed, 3 idle nodes, 40 runs): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        waits[waits.len() / 2],
        waits[waits.len() * 9 / 10],
        waits[waits.len() - 1]
    );
    for node in nodes {
        node.d.shutdown.cancel();
        node.d.wait().await;
    }
}
