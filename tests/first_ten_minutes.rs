//! A new user's first ten minutes (issue 16): the README's commands run as written, pasted into a
//! shell with `drydock` on PATH; and the rough edges that user met are smooth: a quick build that
//! would push to Docker Hub by accident, a run timeout the log did not tell, Ctrl-C on a remote
//! run, a task file that could not validate being saved, and `task run` overrides.

use crate::helper::daemon::TestDaemon;
use crate::helper::git::{GitServer, git_ok};
use crate::helper::repo_root;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The first ```sh block after `heading` in the README.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = &readme[readme.find(heading).unwrap_or_else(|| panic!("README has no {heading}"))..];
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    after[start..start + after[start..].find("```").unwrap()].to_string()
}

/// A shell as the user's: the repository as working directory, `drydock` on PATH.
fn shell(script: &str, home: &Path) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_drydock")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash")
        .args(["-e", "-x", "-c", script])
        .current_dir(repo_root())
        .env("PATH", path)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("DRYDOCK_SERVER")
        .env_remove("DRYDOCK_TOKEN")
        .env_remove("DRYDOCK_REGISTRY")
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_readme_tour_runs_as_written() {
    let home = tempfile::tempdir().unwrap();
    let out = shell(&readme_block("## A 60-second tour"), home.path());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("acb.yaml: valid"), "validate passes without a registry: {said}");
    assert!(said.contains("note: `$Registry` is not set"), "and says what it checked with: {said}");
    assert!(said.contains("flowchart"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_daemon_section_runs_as_written() {
    // The port the README names, when it is free; on a machine where scripts/run.sh's daemon
    // holds it, another, written into the commands (the only change to them).
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join(".local/share/drydock");
    std::fs::create_dir_all(&data).unwrap();
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:7480").await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let addr = listener.local_addr().unwrap();
    let mut config = drydock::node::NodeConfig::new(data.clone());
    config.registry = "127.0.0.1:5000".into();
    config.concurrency = 2;
    let node = drydock::node::start(config, listener).await.unwrap();
    let token = drydock::daemon::tokens::create_token(node.service.store().as_ref(), "cli").await.unwrap().token;
    std::fs::write(data.join("cli-token"), &token).unwrap();
    let script = readme_block("### With the daemon").replace("127.0.0.1:7480", &addr.to_string());
    let home_path = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || shell(&script, &home_path)).await.unwrap();
    let said = text(&out);
    node.shutdown.cancel();
    node.wait().await;
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Created task hello-task"), "{said}");
    assert!(said.contains("\"task\": \"hello-task\"") || said.contains("\"task\":\"hello-task\""), "{said}");
}

#[test]
fn a_quick_build_refuses_an_accidental_docker_hub_push_and_tells_its_timeout() {
    let out = crate::helper::drydock()
        .args(["build", "--local", "-t", "app:1", "examples/hello"])
        .current_dir(repo_root())
        .env_remove("DRYDOCK_REGISTRY")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("would be pushed to Docker Hub") && said.contains("--registry"), "{said}");

    let out = crate::helper::drydock()
        .args(["build", "--local", "--no-push", "--timeout", "400", "-t", "first-ten:1", "examples/hello"])
        .current_dir(repo_root())
        .env_remove("DRYDOCK_REGISTRY")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Timeout(sec): 400"), "the step says the run's timeout, not 28800: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_remote_run_detaches_and_says_how_to_follow_or_cancel_it() {
    let d = TestDaemon::start(1).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["run", "--cmd", "busybox sleep 30", "/dev/null"])
        .env("DRYDOCK_SERVER", &d.url)
        .env("DRYDOCK_TOKEN", &d.token)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let (id, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut id = None;
        let mut seen = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.strip_prefix("Queued a run with ID: ") {
                id = Some(rest.trim().to_string());
            }
            // The step has started streaming: the run is on the daemon for sure.
            if id.is_some() && line.contains("Launching container") {
                break;
            }
        }
        Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        for line in lines {
            seen.push_str(&line.unwrap());
            seen.push('\n');
        }
        (id.expect("the run was queued"), seen)
    })
    .await
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains(&format!("Detached: run {id} goes on")), "{rest}");
    assert!(rest.contains(&format!("drydock cancel {id}")), "{rest}");
    let (_, run) = d.get(&format!("/v1/runs/{id}")).await;
    assert!(matches!(run["status"].as_str(), Some("Running") | Some("Queued")), "the run goes on: {run}");
    d.post(&format!("/v1/runs/{id}/cancel"), json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_file_that_cannot_validate_is_not_saved_and_task_run_takes_overrides() {
    let d = TestDaemon::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("acb.yaml"), "steps:\n  - cmd: busybox echo {{ .Values.x | nosuchfunc }}\n")
        .unwrap();
    let ctx = dir.path().to_str().unwrap();
    let out = d.cli(&["task", "create", "-n", "broken-task", "-c", ctx]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("acb.yaml:2:"), "{}", text(&out));
    let (_, tasks) = d.get("/v1/tasks").await;
    assert_eq!(tasks.as_array().map(Vec::len), Some(0), "nothing was saved: {tasks}");

    // A valid context with a second task file; `task run` picks it, with a values file and a set.
    std::fs::write(dir.path().join("acb.yaml"), "steps:\n  - cmd: busybox echo main-file\n").unwrap();
    std::fs::write(
        dir.path().join("other.yaml"),
        "steps:\n  - cmd: busybox echo other-file {{.Values.colour}} {{.Values.size}}\n",
    )
    .unwrap();
    let values = dir.path().join("v.yaml");
    std::fs::write(&values, "colour: blue\nsize: small\n").unwrap();
    let out = d.cli(&["task", "create", "-n", "overrides", "-c", ctx]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = d
        .cli(&[
            "task",
            "run",
            "-n",
            "overrides",
            "-f",
            "other.yaml",
            "--values",
            values.to_str().unwrap(),
            "--set",
            "size=large",
        ])
        .await;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("other-file blue large"), "{said}");
    let out = d.cli(&["task", "run", "-n", "overrides", "--branch", "dev"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no git context"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_run_builds_the_branch_or_commit_it_is_given() {
    let d = TestDaemon::start(1).await;
    let git = GitServer::start();
    let (url, work) = git.repo("picks", &[("acb.yaml", "steps:\n  - cmd: busybox echo on-main\n")]);
    let first = git_ok(&work, &["rev-parse", "HEAD"]);
    git_ok(&work, &["checkout", "-q", "-b", "dev"]);
    std::fs::write(work.join("acb.yaml"), "steps:\n  - cmd: busybox echo on-dev\n").unwrap();
    git_ok(&work, &["commit", "-q", "-am", "dev"]);
    git_ok(&work, &["push", "-q", "origin", "dev"]);
    let (status, task) = d
        .post("/v1/tasks", json!({"name": "picks", "context": url, "step": {"kind": "file", "path": "acb.yaml"}}))
        .await;
    assert_eq!(status, 201, "{task}");
    for (args, expect) in [(vec!["--branch", "dev"], "on-dev"), (vec!["--commit", first.as_str()], "on-main")] {
        let mut cli = vec!["task", "run", "-n", "picks", "-o", "json"];
        cli.extend(args);
        let out = d.cli(&cli).await;
        assert!(out.status.success(), "{}", text(&out));
        let run: Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = run["id"].as_str().unwrap();
        let log =
            d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap();
        assert!(log.contains(expect), "{expect}: {log}");
    }
}
