//! Several drydock nodes on one PostgreSQL database and one dockerd: the queue is shared and
//! each run executes once, a killed node's run becomes Error "worker lost" while the others keep
//! draining, its containers are removed, its roles (the base-image watcher, the git poller) move
//! to a live node, and a timer fires once per occurrence with three schedulers running.

use crate::helper::daemon::{TestDaemon, inline_task};
use crate::helper::postgres;
use crate::helper::serve::{Serve, free_port, serve};
use crate::helper::wait::until;
use drydock::clock::ManualClock;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const LEASE_SECS: u64 = 6;
const MINUTE: Duration = Duration::from_secs(60);

/// The secret key every node of a test's database shares (a node with another key refuses to start).
fn key_file(url: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("drydock-test-keys");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(url.rsplit('/').next().unwrap())
}

async fn node(url: &str, concurrency: usize, clock: Option<Arc<ManualClock>>) -> TestDaemon {
    let (url, key) = (url.to_string(), key_file(url));
    TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.database_url = Some(url);
        c.secret_key_file = Some(key);
        c.concurrency = concurrency;
        c.lease = Duration::from_secs(LEASE_SECS);
        if let Some(clock) = clock {
            c.clock = clock;
        }
    })
    .await
}

async fn queue(d: &TestDaemon, task: &str) -> String {
    let (status, run) = d.post(&format!("/v1/tasks/{task}/runs"), json!({})).await;
    assert_eq!(status, 201, "{run}");
    run["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_run_300_queued_runs_exactly_once() {
    let Some(url) = postgres::database().await else { return };
    let nodes = [node(&url, 3, None).await, node(&url, 3, None).await, node(&url, 3, None).await];
    // A secret sealed by one node is opened by every node that runs the task.
    let mut task = inline_task("fan-out", "steps:\n  - cmd: busybox true\n");
    task["secret_values"] = json!({"token": "sealed-by-node-0"});
    let (status, task) = nodes[0].post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{task}");
    // Queued through every node's API.
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(queue(&nodes[i % 3], "fan-out").await);
    }
    let mut by_node: BTreeMap<String, usize> = BTreeMap::new();
    for id in &ids {
        let run = nodes[0].wait_run(id).await;
        assert_eq!(run["status"], "Succeeded", "{run}");
        assert_eq!(run["steps"][0]["attempts"], 1, "{run}");
        *by_node.entry(run["node"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(by_node.values().sum::<usize>(), 300);
    assert_eq!(by_node.len(), 3, "every node took a share: {by_node:?}");

    // A run's log can be read, and followed, through any node: the others relay it from the
    // node that ran it.
    let mine = nodes[0].daemon.as_ref().unwrap().service.settings().node_id.clone();
    let mut elsewhere = None;
    for id in &ids {
        let (_, run) = nodes[0].get(&format!("/v1/runs/{id}")).await;
        if run["node"] != mine.as_str() {
            elsewhere = Some(id.clone());
            break;
        }
    }
    let id = elsewhere.expect("a run of another node");
    let text = nodes[0].req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap();
    assert_eq!(text.status(), 200);
    let text = text.text().await.unwrap();
    assert!(text.contains("Successfully executed container"), "{text}");
    let sse = nodes[0]
        .req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert!(sse.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events =
        tokio::time::timeout(Duration::from_secs(30), sse.text()).await.expect("the relayed follow ends").unwrap();
    assert!(events.contains("Successfully executed container"), "{events}");
    for d in nodes {
        d.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_once_per_occurrence_with_three_nodes() {
    let Some(url) = postgres::database().await else { return };
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
    let clock = Arc::new(ManualClock::new(at("2026-04-01T05:59:50Z")));
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&url, 1, Some(clock.clone())).await);
    }
    let mut task = inline_task("shared-timer", "steps:\n  - cmd: busybox true\n");
    task["timers"] = json!([{"name": "t1", "schedule": "0 6 * * *"}]);
    assert_eq!(nodes[1].post("/v1/tasks", task).await.0, 201);
    for d in &nodes {
        drydock::triggers::timer::pass(&d.daemon.as_ref().unwrap().service).await.unwrap();
    }
    clock.set(at("2026-04-01T06:00:01Z"));
    // Every node's scheduler looks at the same occurrence, at once.
    let passes: Vec<_> = nodes
        .iter()
        .map(|d| {
            let svc = d.daemon.as_ref().unwrap().service.clone();
            tokio::spawn(async move { drydock::triggers::timer::pass(&svc).await.unwrap() })
        })
        .collect();
    for p in passes {
        p.await.unwrap();
    }
    let (_, page) = nodes[2].get("/v1/runs?task=shared-timer").await;
    let runs = page["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{page}");
    let (_, history) = nodes[0].get("/v1/tasks/shared-timer/timer-events").await;
    assert_eq!(history.as_array().unwrap().len(), 1, "one node recorded it: {history}");
    nodes[0].wait_run(runs[0]["id"].as_str().unwrap()).await;
    for d in nodes {
        d.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_that_came_through_another_node_while_the_run_was_queued_gets_its_log() {
    let Some(url) = postgres::database().await else { return };
    // Only node A can run these tasks (they need `pool=a`); B only answers the API.
    let (url_a, key) = (url.clone(), key_file(&url));
    let a = TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.database_url = Some(url_a);
        c.secret_key_file = Some(key);
        c.concurrency = 1;
        c.labels = [("pool".to_string(), "a".to_string())].into_iter().collect();
    })
    .await;
    let b = node(&url, 1, None).await;
    for (name, file) in [
        ("busy-on-a", "steps:\n  - cmd: busybox sleep 3\n"),
        ("late-on-a", "steps:\n  - cmd: busybox sh -c 'echo first line; sleep 1; echo second line'\n"),
    ] {
        let mut task = inline_task(name, file);
        task["agent_labels"] = json!({"pool": "a"});
        assert_eq!(a.post("/v1/tasks", task).await.0, 201);
    }
    // A is busy, so the next run waits in the queue; its follower attaches through B.
    let busy = queue(&a, "busy-on-a").await;
    until("A running the first run", MINUTE, || async {
        a.get(&format!("/v1/runs/{busy}")).await.1["status"] == "Running"
    })
    .await;
    let late = queue(&b, "late-on-a").await;
    assert_eq!(b.get(&format!("/v1/runs/{late}")).await.1["status"], "Queued");
    let out = b.cli(&["logs", &late, "--follow"]).await;
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", String::from_utf8_lossy(&out.stderr));
    // The run went to A after the follow began on B; B handed the follower over, and the lines
    // came through B's relay from A.
    assert!(log.contains("first line") && log.contains("second line"), "{log}");
    let run = b.wait_run(&late).await;
    assert_eq!(run["node"], a.daemon.as_ref().unwrap().service.settings().node_id.as_str());
    a.stop().await;
    b.stop().await;
}

/// `drydock serve` as its own process (so that it can be killed with -9), labelled `role=victim`.
async fn serve_process(url: &str, data: &std::path::Path) -> (Serve, String) {
    let lease = LEASE_SECS.to_string();
    let key = key_file(url);
    let key = key.to_str().unwrap();
    let args = [
        "--concurrency",
        "1",
        "--label",
        "role=victim",
        "--lease",
        &lease,
        "--database",
        url,
        "--secret-key-file",
        key,
    ];
    let s = serve(data, free_port(), &args).await;
    let base = s.url.clone();
    (s, base)
}

async fn info(base: &str, token: &str) -> Value {
    let r = drydock::tls::client().get(format!("{base}/v1/info")).bearer_auth(token).send().await.unwrap();
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_with_9_loses_its_run_and_roles_while_the_others_drain() {
    let Some(url) = postgres::database().await else { return };
    let victim_data = tempfile::tempdir().unwrap();
    // The victim starts first, so it takes the cluster-wide roles.
    let (mut victim, victim_url) = serve_process(&url, victim_data.path()).await;
    let survivor = node(&url, 2, None).await;
    let victim_info = info(&victim_url, &survivor.token).await;
    until("the victim leading", MINUTE, || async {
        info(&victim_url, &survivor.token).await["leads"].as_array().is_some_and(|l| l.len() == 2)
    })
    .await;

    let mut long = inline_task("victim-only", "steps:\n  - cmd: busybox sleep 300\n");
    long["agent_labels"] = json!({"role": "victim"});
    assert_eq!(survivor.post("/v1/tasks", long).await.0, 201);
    assert_eq!(survivor.post("/v1/tasks", inline_task("anywhere", "steps:\n  - cmd: busybox true\n")).await.0, 201);
    let doomed = queue(&survivor, "victim-only").await;
    until("the victim running the long run", MINUTE, || async {
        survivor.get(&format!("/v1/runs/{doomed}")).await.1["status"] == "Running"
    })
    .await;
    let (_, running) = survivor.get(&format!("/v1/runs/{doomed}")).await;
    assert_eq!(running["node"], victim_info["node"], "{running}");
    // Its container runs on the shared engine: something the survivor must clean up.
    let docker = drydock::docker::DockerHost::connect(None).await.unwrap();
    let key = survivor.daemon.as_ref().unwrap().service.settings().object_key(&doomed);
    until("the victim's container running", MINUTE, || async {
        docker.list_run_objects(&[("drydock.run", &key)]).await.unwrap().iter().any(|o| !o.containers.is_empty())
    })
    .await;

    victim.child.kill().unwrap(); // SIGKILL
    victim.child.wait().unwrap();
    let others: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(queue(&survivor, "anywhere").await);
        }
        v
    };
    let lost = survivor.wait_run(&doomed).await;
    assert_eq!(lost["status"], "Error", "{lost}");
    assert!(lost["error"].as_str().unwrap_or_default().contains("worker lost"), "{lost}");
    for id in &others {
        assert_eq!(survivor.wait_run(id).await["status"], "Succeeded");
    }
    // The survivor takes over the roles, and removes the dead node's container from the shared engine.
    until("the survivor taking the roles", MINUTE, || async {
        survivor.get("/v1/info").await.1["leads"].as_array().is_some_and(|l| l.len() == 2)
    })
    .await;
    until("the dead node's objects removed", MINUTE, || async {
        docker.list_run_objects(&[("drydock.run", &key)]).await.unwrap().is_empty()
    })
    .await;
    survivor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_secret_key_refuses_to_start() {
    let Some(url) = postgres::database().await else { return };
    let first = node(&url, 1, None).await;
    let data = tempfile::tempdir().unwrap();
    let mut config = drydock::node::NodeConfig::new(data.path().to_path_buf());
    config.database_url = Some(url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let Err(e) = drydock::node::start(config, listener).await else { panic!("a node with its own key started") };
    let message = e.to_string();
    assert!(message.contains("secret key") && message.contains("--secret-key-file"), "{message}");
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_moves_from_sqlite_to_postgres_with_export_and_import() {
    let Some(url) = postgres::database().await else { return };
    // A single SQLite node with a task whose secret is sealed, and two finished runs.
    let d = TestDaemon::start(2).await;
    let mut task = inline_task("moving-task", "steps:\n  - cmd: busybox echo moved {{.Values.greeting}}\n");
    task["values"] = json!({"greeting": "hello"});
    task["secret_values"] = json!({"token": "sealed-in-sqlite"});
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let first = queue(&d, "moving-task").await;
    let second = queue(&d, "moving-task").await;
    for id in [&first, &second] {
        assert_eq!(d.wait_run(id).await["status"], "Succeeded");
    }
    let old = d.stop().await;
    let archive = old.path().join("export.tar.gz");
    let run =
        |args: Vec<String>| tokio::task::spawn_blocking(move || crate::helper::drydock().args(&args).output().unwrap());
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let o =
        run(vec!["export".into(), "--data-dir".into(), path(old.path()), "-o".into(), path(&archive)]).await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exported 1 tasks, 2 runs and 2 logs"));

    // A new machine: its own data directory with the old key, PostgreSQL as the database.
    let new = tempfile::tempdir().unwrap();
    std::fs::copy(old.path().join("secret.key"), new.path().join("secret.key")).unwrap();
    let import = |dir: &std::path::Path| {
        vec!["import".into(), "--data-dir".into(), path(dir), "--database".into(), url.clone(), path(&archive)]
    };
    let o = run(import(new.path())).await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Importing twice would clash: refused, with what to do.
    let o = run(import(new.path())).await.unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty database"), "{}", String::from_utf8_lossy(&o.stderr));

    let url2 = url.clone();
    let d = TestDaemon::start_configured(new, move |c| c.database_url = Some(url2)).await;
    let (_, page) = d.get("/v1/runs?task=moving-task").await;
    let ids: Vec<&str> = page["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()], "{page}");
    let log =
        d.req(reqwest::Method::GET, &format!("/v1/runs/{first}/logs")).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("moved hello"), "{log}");
    // The task runs on PostgreSQL, its sealed secret opens, and new ids continue after the old ones.
    let third = queue(&d, "moving-task").await;
    assert!(third.len() >= second.len() && third > second, "{third} after {second}");
    assert_eq!(d.wait_run(&third).await["status"], "Succeeded");
    d.stop().await;
}

/// Log files (run ids) in a node's data directory.
fn logs_of(d: &TestDaemon) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(d.data.path().join("logs"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok()?.strip_suffix(".log").map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_runs_of_a_task_across_two_nodes() {
    let Some(url) = postgres::database().await else { return };
    let retaining = |url: &str| {
        let (url, key) = (url.to_string(), key_file(url));
        TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
            c.database_url = Some(url);
            c.secret_key_file = Some(key);
            c.concurrency = 1;
            c.retention = drydock::daemon::retention::Retention { keep_runs: 2, keep_days: 30 };
            c.retention_every = Duration::from_secs(1);
        })
    };
    let nodes = [retaining(&url).await, retaining(&url).await];
    let (status, task) =
        nodes[0].post("/v1/tasks", inline_task("keep-two", "steps:\n  - cmd: busybox echo kept-or-pruned\n")).await;
    assert_eq!(status, 201, "{task}");
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(queue(&nodes[i % 2], "keep-two").await);
    }
    let newest = ids[4..].to_vec();
    // Both nodes apply the policy every second, to the same runs; the four older ones go as
    // soon as they finish, the two newest stay.
    let listed = || async {
        let (_, page) = nodes[1].get("/v1/runs?task=keep-two&top=100").await;
        let runs = page["runs"].as_array().cloned().unwrap_or_default();
        let done = runs.iter().all(|r| r["status"] == "Succeeded");
        (done, runs.iter().map(|r| r["id"].as_str().unwrap().to_string()).rev().collect::<Vec<_>>())
    };
    until("only the two newest runs are left, both finished", 3 * MINUTE, || async {
        let (done, left) = listed().await;
        done && left == newest
    })
    .await;
    let ran_on: Vec<String> = {
        let mut v = Vec::new();
        for id in &newest {
            v.push(nodes[0].get(&format!("/v1/runs/{id}")).await.1["node"].as_str().unwrap().to_string());
        }
        v
    };
    // The log of a run another node pruned is an orphan here; it goes once it is old enough
    // (10 minutes, so that an import writing logs before runs is safe). Age them.
    for d in &nodes {
        let status = std::process::Command::new("find")
            .arg(d.data.path().join("logs"))
            .args(["-name", "*.log", "-exec", "touch", "-d", "1 hour ago", "{}", "+"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    until("each node holds the logs of the kept runs it ran, and no others", MINUTE, || async {
        nodes.iter().all(|d| {
            let me = d.daemon.as_ref().unwrap().service.settings().node_id.clone();
            let expected: std::collections::BTreeSet<String> =
                newest.iter().zip(&ran_on).filter(|(_, node)| **node == me).map(|(id, _)| id.clone()).collect();
            logs_of(d) == expected
        })
    })
    .await;
    for id in &ids[..4] {
        assert_eq!(nodes[0].get(&format!("/v1/runs/{id}")).await.0, 404, "{id} was kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_run_survives_a_restart_and_another_node_approves_it() {
    use crate::triggers_forks::{fork_commit, pull_request};
    use crate::triggers_source::{github, only_run, task};
    let Some(db) = postgres::database().await else { return };
    let server = crate::helper::git::GitServer::start();
    let (url, work) = server.repo("app", &[("msg", "base\n")]);
    let first = node(&db, 1, None).await;
    let second = node(&db, 1, None).await;
    let source = json!({"webhook_secret": "k", "events": ["pullrequest"], "branches": ["main"]});
    assert_eq!(first.post("/v1/tasks", task("fork-gate", &url, source)).await.0, 201);
    let sha = fork_commit(&work, 2, "waited through a restart\n");
    let (_, answer) = github(&first, "k", "pull_request", "g-1", &pull_request(&url, 2, &sha, "opened", "o/app")).await;
    let id = only_run(&answer);
    // The node that received it goes down and comes back: the run still waits.
    let data = first.stop().await;
    let (db2, key) = (db.clone(), key_file(&db));
    let first = TestDaemon::start_configured(data, move |c| {
        c.database_url = Some(db2);
        c.secret_key_file = Some(key);
        c.concurrency = 1;
    })
    .await;
    assert_eq!(first.get(&format!("/v1/runs/{id}")).await.1["status"], "AwaitingApproval");
    // Approved through the other node; some node runs it, with the sealed secrets opened.
    let (status, approved) = second.post(&format!("/v1/runs/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{approved}");
    let done = second.wait_run(&id).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(done["approval"]["by"], "tests");
}
