//! Tasks, runs, tokens: what goes over the wire, tables, `-o json`, and exit codes.

use super::fake::{FakeDaemon, Script, TOKEN};
use super::{cli, text};
use crate::helper::drydock;
use drydock::api::{TaskStatus, TaskStep};

#[test]
fn task_create_uploads_a_local_context_and_sends_the_whole_task() {
    let fake = FakeDaemon::start(Script::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\n").unwrap();
    let out = cli(
        &fake,
        &[
            "task",
            "create",
            "-n",
            "build-app",
            "-c",
            dir.path().to_str().unwrap(),
            "-f",
            "Dockerfile",
            "-t",
            "app:{{.Run.ID}}",
            "--schedule",
            "0 3 * * *",
            "--schedule",
            "weekly:0 4 * * 0",
            "--set-secret",
            "pw=hunter2",
            "--status",
            "Disabled",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["secret_values"]["pw"], "***", "what the daemon returns is printed");
    let rec = fake.recorded();
    let task = &rec.tasks[0];
    assert_eq!(task.context.as_deref(), Some("upload:ctx1"));
    assert_eq!(task.status, TaskStatus::Disabled);
    assert_eq!(task.secret_values["pw"], "hunter2");
    match &task.step {
        TaskStep::Docker(d) => {
            assert_eq!(d.dockerfile.as_deref(), Some("Dockerfile"));
            assert_eq!(d.images, ["app:{{.Run.ID}}"]);
        }
        other => panic!("{other:?}"),
    }
    let timers: Vec<(&str, &str)> = task.timers.iter().map(|t| (t.name.as_str(), t.schedule.as_str())).collect();
    assert_eq!(timers, [("t1", "0 3 * * *"), ("weekly", "0 4 * * 0")]);
}

#[test]
fn task_update_sends_a_merge_patch_of_only_the_given_flags() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["task", "update", "-n", "build-app", "--set", "a=1", "--timeout", "7200"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rec = fake.recorded();
    let (content_type, patch) = &rec.patches[0];
    assert_eq!(content_type, "application/merge-patch+json");
    assert_eq!(patch, &serde_json::json!({"values": {"a": "1"}, "timeout": 7200}));
}

#[test]
fn invalid_input_exits_2_before_calling_the_daemon() {
    let fake = FakeDaemon::start(Script::default());
    for args in [
        &["task", "create", "-n", "bad name", "-c", "/dev/null", "--cmd", "x"][..],
        &["task", "create", "-n", "build-app", "-c", "/dev/null", "--cmd", "x", "--timeout", "100"],
        &["task", "create", "-n", "build-app", "-c", "/dev/null", "--cmd", "x", "--schedule", "* * *"],
        &["task", "update", "-n", "build-app"],
        &["runs", "list", "--status", "Started"],
        &["runs", "list", "--top", "0"],
    ] {
        let out = cli(&fake, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    }
    assert!(fake.recorded().tasks.is_empty() && fake.recorded().patches.is_empty());
}

#[test]
fn task_list_and_show_as_table_and_json() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["task", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "\
NAME       STATUS   CONTEXT                              STEP           TIMEOUT  TRIGGERS
---------  -------  -----------------------------------  -------------  -------  --------
build-app  Enabled  https://github.com/org/app.git#main  file acb.yaml  3600     Timer(1)
"
    );
    let out = cli(&fake, &["task", "list", "-o", "json"]);
    let tasks: Vec<drydock::api::Task> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tasks[0].name, "build-app");
    let out = cli(&fake, &["task", "show", "-n", "build-app", "-o", "json"]);
    let task: drydock::api::Task = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(task.timers[0].name, "t1");
    let out = cli(&fake, &["task", "show", "-n", "no-such-task"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error: no task named no-such-task"));
}

#[test]
fn task_run_sends_per_run_values_and_streams() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["task", "run", "-n", "build-app", "--set", "env=prod", "--set-secret", "k=v"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[build] line 5"));
    let rec = fake.recorded();
    assert_eq!(rec.task_runs[0].values["env"], "prod");
    assert_eq!(rec.task_runs[0].secret_values["k"], "v");
}

#[test]
fn runs_list_filters_table_and_json() {
    let fake = FakeDaemon::start(Script::default());
    let out =
        cli(&fake, &["runs", "list", "-n", "build-app", "--status", "failed", "--top", "5", "--trigger", "timer"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("RUN ID  TASK       PLATFORM     STATUS  TRIGGER  STARTED               DURATION\n"),
        "{table}"
    );
    assert!(
        table.contains("00a1    build-app  linux/amd64  Failed  Manual   2024-05-01T12:00:01Z  00:00:42"),
        "{table}"
    );
    assert!(text(&out.stderr).contains("--before 0099"));
    let out = cli(&fake, &["runs", "list", "-o", "json"]);
    let page: drydock::api::RunPage = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((page.runs.len(), page.next.as_deref()), (1, Some("0099")));
    let q = &fake.recorded().list_queries[0];
    assert_eq!(q["task"], "build-app");
    assert_eq!(q["status"], "Failed");
    assert_eq!(q["top"], "5");
    assert_eq!(q["trigger"], "timer");
}

#[test]
fn runs_show_and_cancel_json() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["runs", "show", "00a1", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let run: drydock::api::Run = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run.id, "00a1");
    let out = cli(&fake, &["cancel", "00a1", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "Canceled");
}

#[test]
fn token_create_prints_the_secret_alone_on_stdout() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["token", "create", "ci"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "ddk_secret\n");
    let out = cli(&fake, &["token", "create", "ci", "--data-dir", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2), "offline creation is not wired yet");
}

#[test]
fn a_wrong_token_and_an_absent_daemon_exit_1_with_advice() {
    let fake = FakeDaemon::start(Script::default());
    let out = drydock().args(["task", "list", "--server", &fake.url, "--token", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the daemon refused the token — set DRYDOCK_TOKEN"), "{}", text(&out.stderr));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let out =
        drydock().args(["runs", "list"]).env("DRYDOCK_SERVER", &url).env("DRYDOCK_TOKEN", TOKEN).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("cannot reach the drydock daemon at {url} — is `drydock serve` running?"))
    );
}
