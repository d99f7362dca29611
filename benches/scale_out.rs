//! Scale-out benchmark (issue 6): queue throughput of 3 nodes against 1 on one PostgreSQL
//! database, and how long a queued run waits to be claimed. Run: `cargo bench --bench scale_out
//! [trivial|latency|engines]`.
//!
//! `engines` (issue 18): runs bound by waiting (one step, `sleep 2`), one worker slot per node,
//! each node with a dockerd of its own: 3 nodes against 1, the ratio of their throughputs.
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

#[path = "../tests/helper/engines.rs"]
#[allow(dead_code)]
mod engines;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Bench;

const RUNS: usize = 120;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-')).unwrap_or_default();
    let want = |name: &str| only.is_empty() || only == name;
    let server = postgres::server().expect("PostgreSQL binaries");
    if want("trivial") {
        let one = throughput(&server.new_database().await.unwrap(), 1).await;
        let three = throughput(&server.new_database().await.unwrap(), 3).await;
        println!(
            "scale_out: {RUNS} trivial runs: 1 node {one:.2} runs/s, 3 nodes {three:.2} runs/s ({:.2}×)",
            three / one
        );
    }
    if want("latency") {
        claim_latency(&server.new_database().await.unwrap()).await;
    }
    if want("engines") {
        own_engines(server).await;
    }
}

/// Waiting-bound runs queued at once in the `engines` case.
const WAITING_RUNS: usize = 15;

/// 1 node against 3, each node with one slot and an engine of its own, over `rounds` rounds.
async fn own_engines(server: &postgres::PgServer) {
    engines::available().expect("extra dockerd instances");
    let pool: Vec<engines::Engine> = (0..3).map(|_| engines::Engine::start(engines::Listen::Unix)).collect();
    let mut ratios = Vec::new();
    for round in 0..3 {
        let one = waiting_throughput(&server.new_database().await.unwrap(), &pool[..1]).await;
        let three = waiting_throughput(&server.new_database().await.unwrap(), &pool).await;
        println!(
            "scale_out engines round {round}: {WAITING_RUNS} runs of `sleep 2`, 1 slot per node: 1 node {one:.3} runs/s, \
             3 nodes with 3 engines {three:.3} runs/s ({:.2}×)",
            three / one
        );
        ratios.push(three / one);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "scale_out engines: 3 nodes / 1 node, median {:.2}× (min {:.2}×, max {:.2}×; target ≥ 2.7×)",
        ratios[1], ratios[0], ratios[2]
    );
}

async fn waiting_throughput(db: &str, engines: &[engines::Engine]) -> f64 {
    let key = std::env::temp_dir().join(format!("drydock-bench-{}.key", std::process::id()));
    let mut nodes = Vec::new();
    for engine in engines {
        let (db, key, host) = (db.to_string(), key.clone(), engine.host.clone());
        nodes.push(
            support::start_with(1, move |c| {
                c.database_url = Some(db);
                c.secret_key_file = Some(key);
                c.docker_host = Some(host);
            })
            .await,
        );
    }
    let task = json!({"name": "waiting", "step": {"kind": "file", "content": "steps:\n  - cmd: busybox sleep 2\n"}});
    nodes[0].create_task(task).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..WAITING_RUNS {
        let run = nodes[i % nodes.len()].post("/v1/tasks/waiting/runs", json!({})).await;
        ids.push(run["id"].as_str().unwrap().to_string());
    }
    wait_all(&nodes[0], &ids).await;
    let rate = WAITING_RUNS as f64 / started.elapsed().as_secs_f64();
    for node in nodes {
        node.stop().await;
    }
    rate
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
