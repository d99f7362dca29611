//! Nodes with engines of their own: each node drives its own dockerd (one over tcp+TLS with
//! certificates the test made, one over ssh through a local sshd), and a run labelled for a node
//! executes on that node's engine.

use crate::helper::daemon::{cluster_node, shared_key, task_on};
use crate::helper::engines::{self, Engine, Listen};
use crate::helper::postgres;
use crate::helper::serve::{free_port, serve_with};
use crate::helper::sshd::{self, Sshd};
use crate::helper::wait::until;
use drydock::docker::DockerHost;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// Whether `engine` has a container of the run whose objects are keyed `key`.
async fn runs_on(engine: &DockerHost, key: &str) -> bool {
    engine.list_run_objects(&[("drydock.run", key)]).await.unwrap().iter().any(|o| !o.containers.is_empty())
}

fn skip_without_engines() -> bool {
    match engines::available() {
        Ok(()) => false,
        Err(why) if std::env::var("CI").is_ok() => panic!("extra engines are required in CI: {why}"),
        Err(why) => {
            eprintln!("skipping: {why}");
            true
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_node_runs_its_steps_on_its_own_engine_one_of_them_over_tls() {
    if skip_without_engines() {
        return;
    }
    let Some(url) = postgres::database().await else { return };
    let (own, tls) = (Engine::start(Listen::Unix), Engine::start(Listen::Tls));
    let main = DockerHost::connect(None).await.unwrap();
    let a = cluster_node(&url, "a", |_| {}).await;
    let host = own.host.clone();
    let b = cluster_node(&url, "b", move |c| c.docker_host = Some(host)).await;
    // The TLS node is a process of its own: the certificates come from its environment, as the
    // Docker CLI's do.
    let data = tempfile::tempdir().unwrap();
    let (key, certs) = (shared_key(&url), tls.cert_path.clone().unwrap());
    let args =
        ["--concurrency", "1", "--label", "role=c", "--database", &url, "--secret-key-file", key.to_str().unwrap()];
    let env =
        [("DOCKER_HOST", tls.host.as_str()), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", certs.to_str().unwrap())];
    let _c = serve_with(data.path(), free_port(), &args, &env).await;

    let engines = [
        ("a", main.clone()),
        ("b", DockerHost::connect(Some(&own.local())).await.unwrap()),
        ("c", DockerHost::connect(Some(&tls.local())).await.unwrap()),
    ];
    for (role, _) in &engines {
        task_on(&a, &format!("sleep-on-{role}"), role, "steps:\n  - cmd: busybox sleep 2\n").await;
    }
    for (role, engine) in &engines {
        let id = a.queue(&format!("sleep-on-{role}")).await;
        let key = a.daemon.as_ref().unwrap().service.settings().object_key(&id);
        until(&format!("run {id} on {role}'s engine"), MINUTE, || async { runs_on(engine, &key).await }).await;
        for (other, elsewhere) in &engines {
            if other != role {
                assert!(!runs_on(elsewhere, &key).await, "run {id} for {role} has a container on {other}'s engine");
            }
        }
        let run = a.wait_run(&id).await;
        assert_eq!(run["status"], "Succeeded", "{run}");
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_reaches_its_engine_over_ssh() {
    if let Err(why) = sshd::available() {
        assert!(std::env::var("CI").is_err(), "sshd is required in CI: {why}");
        eprintln!("skipping: {why}");
        return;
    }
    let Some(url) = postgres::database().await else { return };
    let server = Sshd::start();
    let a = cluster_node(&url, "a", |_| {}).await;
    // A node process whose engine is `ssh://drydock-test`: its ssh runs `docker system
    // dial-stdio` on the far side (here the machine's own engine, through sshd).
    let data = tempfile::tempdir().unwrap();
    let key = shared_key(&url);
    let args =
        ["--concurrency", "1", "--label", "role=ssh", "--database", &url, "--secret-key-file", key.to_str().unwrap()];
    let host = format!("ssh://{}", sshd::HOST);
    let path = server.path();
    let node = serve_with(data.path(), free_port(), &args, &[("DOCKER_HOST", &host), ("PATH", &path)]).await;
    task_on(&a, "over-ssh", "ssh", "steps:\n  - cmd: busybox echo reached over ssh\n").await;
    let id = a.queue("over-ssh").await;
    let run = a.wait_run(&id).await;
    assert_eq!(run["status"], "Succeeded", "{run}\nsshd: {}", server.log());
    assert_ne!(run["node"], a.node_id().as_str(), "{run}");
    let log = a.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("reached over ssh"), "{log}");
    // Killed (SIGKILL), the node leaves nothing running on either side: no ssh client of this
    // server's, no `docker system dial-stdio` of its sessions.
    drop(node);
    let config = server.client_config().display().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = processes_with(&[&config, "dial-stdio"]);
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still running after the node was killed: {left:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    a.stop().await;
}

/// Command lines of the processes whose command line contains any of `needles`.
fn processes_with(needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if needles.iter().any(|n| line.contains(n)) {
            found.push(format!("{}: {}", entry.file_name().to_string_lossy(), line.trim()));
        }
    }
    found
}
