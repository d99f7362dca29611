//! Scale-out benchmark (issue 6): queue throughput of 3 nodes against 1 on one PostgreSQL
//! database, and how long a queued run waits to be claimed. Run: `cargo bench --bench scale_out
//! [trivial|latency|engines]`.
//!
//! `engines` (issue 18): runs bound by waiting (one step, `sleep 2`), one worker slot per node,
//! each node with a dockerd of its own: 3 nodes against 1, the ratio of their throughputs.
//!
//! `many` (issue 18): 20 `drydock serve` processes on one database; runs queued at a steady rate
//! to mostly idle nodes: claim latency p50/p99, and the CPU PostgreSQL used meanwhile.
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
    if want("many") {
        many_nodes(&server.new_database().await.unwrap()).await;
    }
}

/// Node processes in the `many` case, and runs queued to them.
const MANY_NODES: usize = 20;
const MANY_RUNS: usize = 100;

/// CPU seconds used so far by every process named `postgres` (the bench's server is the only one).
fn postgres_cpu() -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((name, rest)) = stat.split_once(") ") else { continue };
        if !name.ends_with("(postgres") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
        let (utime, stime): (f64, f64) = (fields[11].parse().unwrap_or(0.0), fields[12].parse().unwrap_or(0.0));
        total += (utime + stime) / tick;
    }
    total
}

async fn many_nodes(db: &str) {
    let key = std::env::temp_dir().join(format!("drydock-bench-many-{}.key", std::process::id()));
    let dirs: Vec<tempfile::TempDir> = (0..MANY_NODES).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut children = Vec::new();
    let mut urls = Vec::new();
    for dir in &dirs {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_drydock"))
            .args(["serve", "--registry", "127.0.0.1:5000", "--concurrency", "1", "--database", db])
            .arg("--secret-key-file")
            .arg(&key)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        children.push(child);
        urls.push(format!("http://127.0.0.1:{port}"));
        // One at a time: the first creates the schema and the secret key's tag.
        wait_ready(urls.last().unwrap()).await;
    }
    let store = drydock::store::Store::open(db).await.unwrap();
    let token = drydock::daemon::tokens::create_token(&store, "bench").await.unwrap().token;
    let http = drydock::tls::client();
    let post = |url: String, body: Value| {
        let (http, token) = (http.clone(), token.clone());
        async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    post(format!("{}/v1/tasks", urls[0]), trivial_task()).await;
    let (cpu_before, started) = (postgres_cpu(), Instant::now());
    let mut ids = Vec::new();
    for i in 0..MANY_RUNS {
        let run = post(format!("{}/v1/tasks/trivial/runs", urls[i % MANY_NODES]), json!({})).await;
        ids.push(run["id"].as_str().unwrap().to_string());
        // A steady 4 runs a second: the nodes are mostly idle, as when waiting for work.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut waits = Vec::new();
    let mut by_node = std::collections::BTreeSet::new();
    for id in &ids {
        let run = loop {
            let run = store.get_run(id).await.unwrap().unwrap();
            if run.status.is_terminal() {
                break run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(run.status, drydock::run::RunStatus::Succeeded, "{run:?}");
        by_node.insert(run.node.clone().unwrap_or_default());
        waits.push((run.started_at.unwrap() - run.queued_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    let (cpu, wall) = (postgres_cpu() - cpu_before, started.elapsed().as_secs_f64());
    let mut slowest: Vec<(f64, usize)> = waits.iter().copied().zip(0..).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("scale_out many: slowest claims (ms, nth run): {:?}", &slowest[..3]);
    waits.sort_by(f64::total_cmp);
    println!(
        "scale_out many: {MANY_NODES} node processes, {MANY_RUNS} trivial runs at 4/s, run by {} nodes: claim latency p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms; PostgreSQL used {:.1} s of CPU in {:.1} s ({:.0}% of one core)",
        by_node.len(),
        waits[waits.len() / 2],
        waits[waits.len() * 99 / 100],
        waits[waits.len() - 1],
        cpu,
        wall,
        cpu / wall * 100.0
    );
    // Idle: what 20 nodes cost the database when no run is queued (polls, presence, roles).
    let (cpu_before, idle) = (postgres_cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(20)).await;
    let cpu = postgres_cpu() - cpu_before;
    println!(
        "scale_out many: {MANY_NODES} idle nodes: PostgreSQL used {:.2} s of CPU in {:.0} s ({:.1}% of one core)",
        cpu,
        idle.elapsed().as_secs_f64(),
        cpu / idle.elapsed().as_secs_f64() * 100.0
    );
    for mut child in children {
        let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
}

async fn wait_ready(url: &str) {
    for _ in 0..300 {
        if drydock::tls::client().get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not become ready");
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
