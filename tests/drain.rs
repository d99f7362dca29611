//! The node list and draining: a drained node takes no new run, lets its runs finish, and leaves;
//! the request reaches it through any node of the database.

use crate::helper::daemon::{TestDaemon, cluster_node, inline_task, task_on};
use crate::helper::postgres;
use crate::helper::wait::until;
use serde_json::Value;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

async fn node_of(d: &TestDaemon, id: &str) -> Value {
    let (status, nodes) = d.get("/v1/nodes").await;
    assert_eq!(status, 200, "{nodes}");
    nodes.as_array().unwrap().iter().find(|n| n["id"] == id).cloned().unwrap_or(Value::Null)
}

/// Whether the daemon's API still answers.
async fn answers(d: &TestDaemon) -> bool {
    reqwest::get(format!("{}/healthz", d.url)).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_finishes_its_run_takes_no_other_and_leaves() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.concurrency = 1;
        c.shutdown_grace = MINUTE;
    })
    .await;
    let me = d.node_id();
    for (name, file) in
        [("slow-run", "steps:\n  - cmd: busybox sleep 6\n"), ("quick-run", "steps:\n  - cmd: busybox true\n")]
    {
        let (status, body) = d.post("/v1/tasks", inline_task(name, file)).await;
        assert_eq!(status, 201, "{body}");
    }

    until("the node listed", MINUTE, || async { node_of(&d, &me).await["state"] == "active" }).await;
    let node = node_of(&d, &me).await;
    assert_eq!(
        (node["slots"].as_u64(), node["busy"].as_u64(), node["runs"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{node}"
    );
    assert_eq!(node["url"], d.url.as_str(), "{node}");

    let first = d.queue("slow-run").await;
    until("the run running", MINUTE, || async { d.get(&format!("/v1/runs/{first}")).await.1["status"] == "Running" })
        .await;
    until("the node busy", MINUTE, || async { node_of(&d, &me).await["busy"] == 1 }).await;
    let node = node_of(&d, &me).await;
    assert_eq!(node["runs"], 1, "{node}");
    assert!(node["lease_until"].is_string(), "{node}");

    // Listed by the CLI too, as a table and as JSON.
    let out = d.cli(&["node", "list"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("NODE") && text.contains(&me), "{text}");
    let out = d.cli(&["node", "list", "-o", "json"]).await;
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    let out = d.cli(&["node", "drain", "no-such-node"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no node `no-such-node` ever reported"), "{err}");

    let out = d.cli(&["node", "drain", &me]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second = d.queue("quick-run").await;
    // The run under way ends as it would have; the node leaves after it, without the new one.
    until("the node leaving", MINUTE, || async { !answers(&d).await }).await;
    let data = d.stop().await;
    let again = TestDaemon::start_in(data, 1).await;
    let (_, ended) = again.get(&format!("/v1/runs/{first}")).await;
    assert_eq!(ended["status"], "Succeeded", "{ended}");
    assert_eq!(again.wait_run(&second).await["status"], "Succeeded", "the queued run waited for a node");
    let node = node_of(&again, &me).await;
    assert_eq!(node["state"], "active", "a new life of the node: {node}");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_is_drained_through_another_and_the_list_shows_it_left() {
    let Some(url) = postgres::database().await else { return };
    let start = |role: &'static str| cluster_node(&url, role, |c| c.shutdown_grace = MINUTE);
    let a = start("a").await;
    let b = start("b").await;
    let (a_id, b_id) = (a.node_id(), b.node_id());
    task_on(&a, "slow-on-b", "b", "steps:\n  - cmd: busybox sleep 3\n").await;
    let run = a.queue("slow-on-b").await;
    until("the run running on B", MINUTE, || async {
        a.get(&format!("/v1/runs/{run}")).await.1["status"] == "Running"
    })
    .await;

    // Asked through A, B drains; `--wait` returns once it has left.
    let out = a.cli(&["node", "drain", &b_id, "--wait", "-o", "json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let drained: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((drained["id"].as_str(), drained["state"].as_str()), (Some(b_id.as_str()), Some("left")), "{drained}");
    assert_eq!(a.wait_run(&run).await["status"], "Succeeded");
    assert!(!answers(&b).await, "B's process is gone");
    assert_eq!(node_of(&a, &a_id).await["state"], "active");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_postgres_with_its_key_elsewhere_creates_its_data_dir() {
    let Some(url) = postgres::database().await else { return };
    let keys = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("not/yet/there");
    let (key, dir) = (keys.path().join("secret.key"), data.clone());
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.data_dir = dir;
        c.database_url = Some(url);
        c.secret_key_file = Some(key);
    })
    .await;
    assert!(data.join("node-id").is_file());
    d.stop().await;
}
