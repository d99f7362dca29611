//! The CLI as a client of the real daemon (in-process, port 0): offline first token, remote
//! build and run with context upload and live logs, the task lifecycle, timers, credentials,
//! runs, logs and cancel.

use crate::helper::daemon::TestDaemon;
use crate::helper::drydock;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// Runs the CLI against the daemon.
async fn cli(d: &TestDaemon, args: &[&str]) -> Output {
    d.cli(args).await
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("not JSON: {}\n{}", out(o), err(o)))
}

fn project(dir: &Path, task: &str) {
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n").unwrap();
    std::fs::write(dir.join("msg"), "hello from the uploaded context\n").unwrap();
    std::fs::write(dir.join("acb.yaml"), task).unwrap();
}

fn unique(prefix: &str) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 100_000_000;
    format!("{prefix}-{t}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_token_is_made_offline_and_works() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let created = tokio::task::spawn_blocking(move || {
        drydock().args(["token", "create", "operator", "--data-dir"]).arg(&dir).output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(created.status.code(), Some(0), "{}", err(&created));
    let token = out(&created).trim().to_string();
    assert!(token.starts_with("ddk_"), "only the secret on stdout: {token}");
    let mut d = TestDaemon::start_in(data, 1).await;
    d.token = token;
    let listed = cli(&d, &["token", "list", "-o", "json"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", err(&listed));
    assert!(json(&listed).as_array().unwrap().iter().any(|t| t["name"] == "operator"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_build_uploads_streams_and_pushes() {
    let d = TestDaemon::start(2).await;
    let ctx = tempfile::tempdir().unwrap();
    project(ctx.path(), "steps: []\n");
    std::fs::write(ctx.path().join("huge.bin"), vec![7u8; 1 << 20]).unwrap();
    std::fs::write(ctx.path().join(".dockerignore"), "huge.bin\n").unwrap();
    let repo = unique("remote/app");
    let tag = format!("{repo}:{{{{.Run.ID}}}}");
    let o = cli(&d, &["build", "-t", &tag, ctx.path().to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let log = err(&o);
    assert!(log.contains("Queued a run with ID:"), "{log}");
    assert!(log.contains("[build] Step 2/3 : COPY msg /msg"), "{log}");
    assert!(log.contains("Pushed 127.0.0.1:5000/remote/app"), "{log}");
    // .dockerignore was applied before the upload: 1 MiB never left the machine.
    let uploaded: u64 =
        std::fs::read_dir(d.data.path().join("uploads")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(uploaded < 100_000, "uploaded {uploaded} bytes");
    // The run in JSON, with the digest the registry reports.
    let runs = json(&cli(&d, &["runs", "list", "-o", "json"]).await);
    let run = &runs[0];
    assert_eq!(run["run_type"], "QuickBuild");
    assert!(run["output_images"][0]["digest"].as_str().unwrap().starts_with("sha256:"));

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("Dockerfile"), "FROM busybox\nRUN exit 3\n").unwrap();
    let o = cli(&d, &["build", "--no-push", "-t", "broken:1", broken.path().to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_run_of_a_task_file_and_a_rejected_one() {
    let d = TestDaemon::start(2).await;
    let ctx = tempfile::tempdir().unwrap();
    project(ctx.path(), "steps:\n  - build: -t ctxapp:{{.Run.ID}} .\n  - cmd: ctxapp:{{.Run.ID}}\n");
    let o = cli(&d, &["run", "-f", "acb.yaml", ctx.path().to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("hello from the uploaded context"), "{}", err(&o));
    std::fs::write(ctx.path().join("bad.yaml"), "steps:\n  - cmd: busybox true\n    retries: -1\n").unwrap();
    let o = cli(&d, &["run", "-f", "bad.yaml", ctx.path().to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("negative"), "the daemon's diagnostics are shown: {}", err(&o));
    // --no-logs waits for the end without streaming, then prints the summary and exits with it.
    let o = cli(&d, &["run", "--no-logs", "--cmd", "busybox sh -c 'echo hidden-output; exit 4'", "/dev/null"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!err(&o).contains("hidden-output"), "{}", err(&o));
    let o = cli(&d, &["run", "--no-wait", "-o", "json", "--cmd", "busybox echo quick", "/dev/null"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let id = json(&o)["id"].as_str().unwrap().to_string();
    let done = d.wait_run(&id).await;
    assert_eq!(done["status"], "Succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_lifecycle_timers_credentials_runs_logs_cancel() {
    let d = TestDaemon::start(2).await;
    let ctx = tempfile::tempdir().unwrap();
    project(ctx.path(), "steps:\n  - cmd: busybox sh -c 'echo greeting={{.Values.greeting}}; sleep {{.Values.nap}}'\n");
    let name = unique("lifecycle");
    let c = ctx.path().to_str().unwrap();
    let o = cli(
        &d,
        &[
            "task",
            "create",
            "-n",
            &name,
            "-c",
            c,
            "-f",
            "acb.yaml",
            "--set",
            "greeting=hi",
            "--set",
            "nap=0",
            "--schedule",
            "0 3 * * *",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let list = json(&cli(&d, &["task", "list", "-o", "json"]).await);
    assert!(list.as_array().unwrap().iter().any(|t| t["name"] == name.as_str()));
    let o = cli(&d, &["task", "update", "-n", &name, "--set", "greeting=hello", "--timeout", "600"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let shown = json(&cli(&d, &["task", "show", "-n", &name, "-o", "json"]).await);
    assert_eq!(shown["values"]["greeting"], "hello");
    assert_eq!(shown["timeout"], 600);
    assert_eq!(shown["timers"][0]["name"], "t1");

    let o = cli(&d, &["task", "run", "-n", &name]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("greeting=hello"), "{}", err(&o));
    let runs = json(&cli(&d, &["runs", "list", "-n", &name, "-o", "json"]).await);
    let id = runs[0]["id"].as_str().unwrap().to_string();
    let logs = cli(&d, &["logs", &id]).await;
    assert!(out(&logs).contains("greeting=hello"), "{}", out(&logs));

    // Timers and credentials.
    assert_eq!(
        cli(&d, &["timer", "add", "-n", &name, "--timer-name", "nightly", "--schedule", "30 2 * * *"])
            .await
            .status
            .code(),
        Some(0)
    );
    let timers = json(&cli(&d, &["timer", "list", "-n", &name, "-o", "json"]).await);
    assert_eq!(timers.as_array().unwrap().len(), 2);
    assert_eq!(
        cli(&d, &["timer", "update", "-n", &name, "--timer-name", "nightly", "--enabled", "false"]).await.status.code(),
        Some(0)
    );
    assert_eq!(cli(&d, &["timer", "remove", "-n", &name, "--timer-name", "t1"]).await.status.code(), Some(0));
    let timers = json(&cli(&d, &["timer", "list", "-n", &name, "-o", "json"]).await);
    assert_eq!(timers[0]["enabled"], false);
    let o = cli(&d, &["timer", "add", "-n", &name, "--timer-name", "bad", "--schedule", "99 * * * *"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert_eq!(
        cli(&d, &["credential", "add", "-n", &name, "--login-server", "reg.example:5000", "-u", "ci", "-p", "pw-123"])
            .await
            .status
            .code(),
        Some(0)
    );
    let creds = cli(&d, &["credential", "list", "-n", &name, "-o", "json"]).await;
    assert!(!out(&creds).contains("pw-123"), "{}", out(&creds));
    assert_eq!(
        cli(&d, &["credential", "remove", "-n", &name, "--login-server", "reg.example:5000"]).await.status.code(),
        Some(0)
    );

    // Cancel a long run.
    assert_eq!(cli(&d, &["task", "update", "-n", &name, "--set", "nap=300"]).await.status.code(), Some(0));
    let o = cli(&d, &["task", "run", "-n", &name, "--no-wait", "-o", "json"]).await;
    let long = json(&o)["id"].as_str().unwrap().to_string();
    let o = cli(&d, &["cancel", &long]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let ended = d.wait_run(&long).await;
    assert_eq!(ended["status"], "Canceled");
    let o = cli(&d, &["task", "delete", "-n", &name]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(cli(&d, &["task", "show", "-n", &name]).await.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_exits_2_and_creates_nothing() {
    let d = TestDaemon::start(1).await;
    for args in [
        &["task", "create", "-n", "bad name", "-c", "/dev/null", "--cmd", "x"][..],
        &["task", "create", "-n", "build-app", "-c", "/dev/null", "--cmd", "x", "--timeout", "100"],
        &["task", "create", "-n", "build-app", "-c", "/dev/null", "--cmd", "x", "--schedule", "* * *"],
        &["task", "update", "-n", "build-app"],
        &["runs", "list", "--status", "Started"],
        &["run", "--cmd", "busybox", "--allow-privileged"],
    ] {
        let o = cli(&d, args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
    }
    assert!(json(&cli(&d, &["task", "list", "-o", "json"]).await).as_array().unwrap().is_empty());
    assert!(json(&cli(&d, &["runs", "list", "-o", "json"]).await).as_array().unwrap().is_empty());
}
