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

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Bench;

const RUNS: usize = 120;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = postgres::server().expect("PostgreSQL binaries");
    let one = throughput(&server.new_database().await.unwrap(), 1).await;
    let three = throughput(&server.new_database().await.unwrap(), 3).await;
    println!("scale_out: {RUNS} trivial runs: 1 node {one:.2} runs/s, 3 nodes {three:.2} runs/s ({:.2}×)", three / one);
    claim_latency(&server.new_database().await.unwrap()).await;
}

/// `n` nodes on database `db`, 4 workers each, sharing one secret key.
async fn nodes(db: &str, n: usize) -> Vec<Bench> {
    let key = std::env::temp_dir().join(format!("drydock-bench-{}.key", std::process::id()));
    let mut out = Vec::new();
    for _ in 0..n {
        let (db, key) = (db.to_string(), key.clone());
        out.push(
            support::start_with(4, move |c| {
                c.database_url = Some(db);
                c.secret_key_file = Some(key);
            })
            .await,
        );
    }
    out
}

/// Waits for each run (polling every 50 ms) and checks it succeeded.
async fn wait_all(node: &Bench, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        loop {
            let run = node.get(&format!("/v1/runs/{id}")).await;
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

fn trivial_task() -> Value {
    json!({"name": "trivial", "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"}})
}

async fn throughput(db: &str, n: usize) -> f64 {
    let nodes = nodes(db, n).await;
    nodes[0].create_task(trivial_task()).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..RUNS {
        let run = nodes[i % n].post("/v1/tasks/trivial/runs", json!({})).await;
        ids.push(run["id"].as_str().unwrap().to_string());
    }
    wait_all(&nodes[0], &ids).await;
    let rate = RUNS as f64 / started.elapsed().as_secs_f64();
    for node in nodes {
        node.stop().await;
    }
    rate
}

async fn claim_latency(db: &str) {
    let nodes = nodes(db, 3).await;
    nodes[0].create_task(trivial_task()).await;
    let mut waits = Vec::new();
    for i in 0..40 {
        // Queued on one node, claimed by whichever idle node hears of it first.
        let run = nodes[i % 3].post("/v1/tasks/trivial/runs", json!({})).await;
        let id = run["id"].as_str().unwrap().to_string();
        let done = wait_all(&nodes[0], &[id]).await;
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
        node.stop().await;
    }
}
