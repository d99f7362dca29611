//! Remote `drydock build` / `drydock run`: context packing and upload with progress, the
//! request on the wire, streamed logs and the exit code from the run's status.

use super::fake::{FakeDaemon, RUN_ID, Script};
use super::{cli, cli_stdin, text};
use drydock::api::TaskStep;
use drydock::engine::record::RunStatus;
use std::io::Read;

/// A context with an ignored file and a `.git`, and a Dockerfile outside it.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join(".git")).unwrap();
    std::fs::write(ctx.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(ctx.join("app.txt"), "hello\n".repeat(50_000)).unwrap();
    std::fs::write(ctx.join("secret.env"), "TOKEN=x\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "secret.env\n").unwrap();
    std::fs::write(dir.path().join("Dockerfile.prod"), "FROM busybox\nCOPY app.txt /\n").unwrap();
    dir
}

fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut sink = Vec::new();
            e.read_to_end(&mut sink).unwrap();
            name
        })
        .collect()
}

#[test]
fn build_uploads_the_context_streams_the_log_and_exits_0() {
    let fake = FakeDaemon::start(Script::default());
    let dir = project();
    let dockerfile = dir.path().join("Dockerfile.prod");
    let ctx = dir.path().join("ctx");
    let out =
        cli(&fake, &["build", "-t", "app:{{.Run.ID}}", "-f", dockerfile.to_str().unwrap(), ctx.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Plain progress lines because stderr is not a terminal here.
    assert!(err.contains("Uploading: "), "{err}");
    assert!(err.contains("Uploaded "), "{err}");
    assert!(err.contains(&format!("Queued a run with ID: {RUN_ID}")), "{err}");
    let log: Vec<&str> = err.lines().filter(|l| l.starts_with("[build] line")).collect();
    assert_eq!(log, ["[build] line 1", "[build] line 2", "[build] line 3", "[build] line 4", "[build] line 5"]);
    assert!(err.contains(&format!("Run ID: {RUN_ID} was successful after 42s")), "{err}");

    let rec = fake.recorded();
    assert_eq!(rec.chunked, [true], "the context is streamed, not buffered");
    let names = tar_names(&rec.uploads[0]);
    assert!(names.contains(&"app.txt".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("secret.env")), ".dockerignore honoured: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with(".git/") || n == ".git"), "VCS left out: {names:?}");
    let req = &rec.run_requests[0];
    assert_eq!(req.context.as_deref(), Some("upload:ctx1"));
    let build = req.build.as_ref().unwrap();
    let df = build.dockerfile.as_deref().unwrap();
    assert!(names.iter().any(|n| n == df), "the Dockerfile from outside travels as {df}: {names:?}");
    assert_eq!(build.images, ["app:{{.Run.ID}}"]);
    assert_eq!(req.timeout, Some(3600));
}

#[test]
fn a_failed_run_exits_1_with_acrs_summary() {
    let fake = FakeDaemon::start(Script { final_status: RunStatus::Failed, ..Script::default() });
    let dir = project();
    let dockerfile = dir.path().join("Dockerfile.prod");
    let out = cli(&fake, &["build", "-f", dockerfile.to_str().unwrap(), dir.path().join("ctx").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Run ID: 00a1 failed after 42s. Error: step build exited with 1"), "{err}");
    assert!(err.contains("build  Failed"), "{err}");
}

#[test]
fn json_output_is_the_final_run_and_shows_no_progress() {
    let fake = FakeDaemon::start(Script::default());
    let dir = project();
    let dockerfile = dir.path().join("Dockerfile.prod");
    let out = cli(
        &fake,
        &["build", "-o", "json", "-f", dockerfile.to_str().unwrap(), dir.path().join("ctx").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run: drydock::api::Run = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((run.id.as_str(), run.status), (RUN_ID, RunStatus::Succeeded));
    let err = text(&out.stderr);
    assert!(!err.contains("Upload"), "{err}");
    assert!(err.contains("[build] line 5"), "logs still go to stderr: {err}");
}

#[test]
fn no_wait_prints_the_id_or_the_queued_run() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["run", "--cmd", "busybox echo hi", "--no-wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{RUN_ID}\n"));
    let out = cli(&fake, &["run", "--cmd", "busybox echo hi", "--no-wait", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "Queued");
    let rec = fake.recorded();
    assert_eq!(rec.run_requests[0].context, None, "--cmd without a context uploads nothing");
    assert_eq!(rec.run_requests[0].step, Some(TaskStep::Cmd { cmd: "busybox echo hi".into() }));
    assert!(rec.uploads.is_empty());
    assert!(rec.last_event_ids.is_empty(), "no log stream with --no-wait");
}

#[test]
fn no_logs_polls_until_the_end_and_prints_the_summary() {
    let fake = FakeDaemon::start(Script::default());
    let out =
        cli_stdin(&fake, &["run", "-f", "-", "--no-logs", "--set", "a=1", "/dev/null"], "steps:\n  - cmd: busybox\n");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("[build] line"), "{err}");
    assert!(err.contains("Run ID: 00a1 was successful"), "{err}");
    let rec = fake.recorded();
    assert!(rec.run_polls >= 2, "polled until terminal");
    let req = &rec.run_requests[0];
    assert_eq!(req.values["a"], "1");
    assert!(matches!(&req.step, Some(TaskStep::File { content: Some(c), path: None, .. }) if c.contains("busybox")));
}

#[test]
fn a_rejected_task_file_exits_2_with_the_daemons_diagnostics() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli_stdin(&fake, &["run", "-f", "-", "/dev/null"], "steps:\n  - cmd: x\n    wehn: [a]\n");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("error: the task file has errors"), "{err}");
    assert!(err.contains("acb.yaml:3:5: error[unknown-property]: unknown step property `wehn`"), "{err}");
}

#[test]
fn local_only_flags_are_refused_before_anything_is_sent() {
    let fake = FakeDaemon::start(Script::default());
    let out = cli(&fake, &["run", "--cmd", "busybox", "--allow-privileged"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--allow-privileged only apply to runs on this machine"));
    assert!(fake.recorded().run_requests.is_empty());
}
