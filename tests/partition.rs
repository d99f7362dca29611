//! The network failing between a node and its database, with a proxy the test controls between
//! node B and PostgreSQL (node A talks to it directly; both share the engine).
//!
//! Cut mid-run, B stops its run's containers itself while its lease still holds; A then fails the
//! run "worker lost" with every step settled; after the heal nothing B writes about the run lands,
//! and B takes new work. Cut at a run's end for less than the lease, the run is recorded as it
//! ended. A leader cut off gives its roles up, and another node takes them. A node whose engine
//! (not database) is cut off gives its run up, and removes its containers once the engine is back.

use crate::helper::daemon::{TestDaemon, cluster_node, task_on};
use crate::helper::engines::{self, Engine, Listen};
use crate::helper::postgres;
use crate::helper::proxy::Proxy;
use crate::helper::wait::until;
use drydock::docker::DockerHost;
use drydock::run::RunStatus;
use drydock::store::Store;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Long enough that a busy two-core machine renews well within it.
const LEASE: Duration = Duration::from_secs(15);
const MINUTE: Duration = Duration::from_secs(60);

/// The database's address in `url` (`postgres://user@host:port/db`).
fn database_addr(url: &str) -> SocketAddr {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap().parse().unwrap()
}

/// Node `name` (also its `role` label) on `url`, or through `proxy` to it.
async fn node(url: &str, name: &str, proxy: Option<&Proxy>) -> TestDaemon {
    let through = match proxy {
        Some(p) => url.replace(&database_addr(url).to_string(), &p.addr.to_string()),
        None => url.to_string(),
    };
    cluster_node(url, name, move |c| {
        c.database_url = Some(through);
        c.lease = LEASE;
    })
    .await
}

/// Whether run `id` (Docker object key `key`) has a container on the engine.
async fn has_container(docker: &DockerHost, key: &str) -> bool {
    docker.list_run_objects(&[("drydock.run", key)]).await.unwrap().iter().any(|o| !o.containers.is_empty())
}

/// Waits until run `id` runs on `b` with its container up; returns the container's object key.
async fn running_on(a: &TestDaemon, b: &TestDaemon, docker: &DockerHost, id: &str) -> String {
    until("the run running on B", MINUTE, || async { a.get(&format!("/v1/runs/{id}")).await.1["status"] == "Running" })
        .await;
    assert_eq!(a.get(&format!("/v1/runs/{id}")).await.1["node"], b.node_id().as_str());
    let key = b.daemon.as_ref().unwrap().service.settings().object_key(id);
    until("its container up", MINUTE, || async { has_container(docker, &key).await }).await;
    key
}

/// Waits for run `id` to end Error with `why`, its first step failed and its second skipped.
async fn ends_in_error(a: &TestDaemon, id: &str, why: &str) -> Value {
    let lost = a.wait_run(id).await;
    assert_eq!(lost["status"], "Error", "{lost}");
    assert!(lost["error"].as_str().unwrap().contains(why), "{lost}");
    assert_eq!(
        (lost["steps"][0]["status"].as_str(), lost["steps"][1]["status"].as_str()),
        (Some("Failed"), Some("Skipped")),
        "{lost}"
    );
    lost
}

/// B takes a new run after the heal.
async fn b_takes_new_work(a: &TestDaemon, b: &TestDaemon) {
    let next = a.queue("quick-on-b").await;
    let done = a.wait_run(&next).await;
    assert_eq!(
        (done["status"].as_str(), done["node"].as_str()),
        (Some("Succeeded"), Some(b.node_id().as_str())),
        "{done}"
    );
}

async fn log_of(d: &TestDaemon, id: &str) -> String {
    let r = d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap();
    r.text().await.unwrap()
}

/// The cut mid-run, for either kind of failure.
async fn cut_mid_run(cut: fn(&Proxy)) {
    let Some(url) = postgres::database().await else { return };
    let proxy = Proxy::start(database_addr(&url)).await;
    let a = node(&url, "a", None).await;
    let b = node(&url, "b", Some(&proxy)).await;
    let store = Store::open(&url).await.unwrap();
    let docker = DockerHost::connect(None).await.unwrap();
    let file =
        "steps:\n  - id: long\n    cmd: busybox sleep 300\n  - id: after\n    cmd: busybox true\n    when: [long]\n";
    task_on(&a, "long-on-b", "b", file).await;
    task_on(&a, "quick-on-b", "b", "steps:\n  - cmd: busybox true\n").await;
    let id = a.queue("long-on-b").await;
    let key = running_on(&a, &b, &docker, &id).await;

    cut(&proxy);
    let cut_at = Instant::now();
    // Watched from the database itself: B's containers are gone while its lease still holds,
    // that is, before any node may fail the run.
    let mut lease_until = None;
    loop {
        let row = store.get_run(&id).await.unwrap().unwrap();
        assert_eq!(row.status, RunStatus::Running, "the run was reaped before B stopped its containers: {row:?}");
        lease_until = row.lease_until.or(lease_until);
        if !has_container(&docker, &key).await {
            break;
        }
        assert!(cut_at.elapsed() < MINUTE, "B never stopped its run's containers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = chrono::Utc::now();
    let lease_until = lease_until.unwrap();
    assert!(gone < lease_until, "containers gone at {gone}, after the lease ran out at {lease_until}");
    eprintln!(
        "cut off: B's containers gone {:?} after the cut, {} ms before its lease ran out",
        cut_at.elapsed(),
        (lease_until - gone).num_milliseconds()
    );

    // A fails it, every step settled.
    ends_in_error(&a, &id, "worker lost").await;
    let reaped = store.get_run(&id).await.unwrap().unwrap();
    // B's log is on B, which answers for it without the database: readable through A while B is
    // still cut off.
    let relayed = Instant::now();
    loop {
        let log = log_of(&a, &id).await;
        if log.contains("Stopping the run: this node") {
            break;
        }
        assert!(relayed.elapsed() < MINUTE, "A did not relay B's log while B is cut off: {log}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Healed: B learns it was fenced out, and what it writes late does not land.
    proxy.heal();
    until("B saying it was fenced out", MINUTE, || async { log_of(&b, &id).await.contains("fenced out") }).await;
    let log = log_of(&b, &id).await;
    assert!(log.contains("Stopping the run: this node"), "{log}");
    assert_eq!(store.get_run(&id).await.unwrap().unwrap(), reaped, "a late write of B landed");

    // B rejoins and takes new work; the old run never ran again.
    b_takes_new_work(&a, &b).await;
    assert_eq!(store.get_run(&id).await.unwrap().unwrap(), reaped);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_blackholed_mid_run_stops_its_containers_before_its_lease_runs_out() {
    cut_mid_run(Proxy::blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_connections_are_reset_mid_run_stops_it_and_is_fenced_out() {
    cut_mid_run(Proxy::reset).await;
}

/// The cut at a run's end, shorter than the lease.
async fn cut_at_the_end(cut: fn(&Proxy)) {
    let Some(url) = postgres::database().await else { return };
    let proxy = Proxy::start(database_addr(&url)).await;
    let a = node(&url, "a", None).await;
    let b = node(&url, "b", Some(&proxy)).await;
    let docker = DockerHost::connect(None).await.unwrap();
    task_on(&a, "ends-on-b", "b", "steps:\n  - cmd: busybox sleep 3\n").await;
    let id = a.queue("ends-on-b").await;
    let key = running_on(&a, &b, &docker, &id).await;

    cut(&proxy);
    // The step ends, and B tries to record it, while the database is out of reach.
    until("the step ending", MINUTE, || async { !has_container(&docker, &key).await }).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.heal();
    let run = a.wait_run(&id).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!(run["steps"][0]["status"], "Succeeded", "{run}");
    assert!(run["error"].is_null(), "{run}");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_ending_during_a_short_blackhole_is_recorded_as_it_ended() {
    cut_at_the_end(Proxy::blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_ending_during_a_short_reset_is_recorded_as_it_ended() {
    cut_at_the_end(Proxy::reset).await;
}

async fn leads(d: &TestDaemon) -> Vec<Value> {
    d.get("/v1/info").await.1["leads"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blackholed_leader_gives_up_its_roles_and_another_node_takes_them() {
    let Some(url) = postgres::database().await else { return };
    let proxy = Proxy::start(database_addr(&url)).await;
    // B starts first, so it takes the roles.
    let b = node(&url, "b", Some(&proxy)).await;
    until("B leading", MINUTE, || async { leads(&b).await.len() == 2 }).await;
    let a = node(&url, "a", None).await;
    assert!(leads(&a).await.is_empty());

    proxy.blackhole();
    let cut_at = Instant::now();
    until("A taking the roles", MINUTE * 2, || async { leads(&a).await.len() == 2 }).await;
    eprintln!("the roles moved {:?} after the leader was cut off (lease {LEASE:?})", cut_at.elapsed());
    proxy.heal();
    until("B knowing it no longer leads", MINUTE, || async { leads(&b).await.is_empty() }).await;
    assert_eq!(leads(&a).await.len(), 2, "one leader per role");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_engine_is_cut_off_gives_its_run_up_and_cleans_up_after_the_heal() {
    if let Err(why) = engines::available() {
        assert!(std::env::var("CI").is_err(), "extra engines are required in CI: {why}");
        return;
    }
    let Some(url) = postgres::database().await else { return };
    let engine = Engine::start(Listen::Tcp);
    let proxy = Proxy::start(engine.host.trim_start_matches("tcp://").parse().unwrap()).await;
    let a = node(&url, "a", None).await;
    let through = format!("tcp://{}", proxy.addr);
    let b = cluster_node(&url, "b", move |c| {
        c.docker_host = Some(through);
        c.lease = LEASE;
    })
    .await;
    let store = Store::open(&url).await.unwrap();
    let own = DockerHost::connect(Some(&engine.local())).await.unwrap();
    let file =
        "steps:\n  - id: long\n    cmd: busybox sleep 300\n  - id: after\n    cmd: busybox true\n    when: [long]\n";
    task_on(&a, "long-on-b", "b", file).await;
    task_on(&a, "quick-on-b", "b", "steps:\n  - cmd: busybox true\n").await;
    let id = a.queue("long-on-b").await;
    let key = running_on(&a, &b, &own, &id).await;

    proxy.blackhole();
    ends_in_error(&a, &id, "Docker engine did not answer").await;
    // The engine itself never stopped the container: it is B's to remove once it can.
    assert!(has_container(&own, &key).await);
    let given_up = store.get_run(&id).await.unwrap().unwrap();

    proxy.heal();
    until("B removing the run's objects", MINUTE * 3, || async {
        own.list_run_objects(&[("drydock.run", &key)]).await.unwrap().is_empty()
    })
    .await;
    b_takes_new_work(&a, &b).await;
    assert_eq!(store.get_run(&id).await.unwrap().unwrap(), given_up, "the run was not executed again");
    b.stop().await;
    a.stop().await;
}
