//! `drydock runs resume`: a run that failed goes on from its failed step, in the workspace the
//! original left, reusing the steps that succeeded; and the resumes that would not be the same run
//! going on are refused with the reason. Also the run's graph: planned before any node takes it.

use crate::helper::daemon::TestDaemon;
use crate::helper::wait::eventually;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Four steps in sequence: the first writes a token no later run could guess, the second appends
/// to a trail, the third fails unless `mode` is `fixed`, the fourth prints the trail and `.Run.ID`.
const FOUR_STEPS: &str = r#"steps:
  - id: write
    cmd: busybox sh -c 'cat /proc/sys/kernel/random/uuid > /workspace/token'
  - id: two
    cmd: busybox sh -c 'echo two >> /workspace/trail'
  - id: check
    cmd: busybox sh -c 'echo token=$(cat /workspace/token); test "{{.Values.mode}}" = fixed'
  - id: four
    cmd: busybox sh -c 'echo trail=$(cat /workspace/trail | tr "\n" ,) run-id={{.Run.ID}}'
"#;

async fn log_of(d: &TestDaemon, id: &str) -> String {
    d.req(Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap()
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no step {id} in {run}"))
}

async fn volume_exists(name: &str) -> bool {
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker").args(["volume", "inspect", &name]).output().unwrap().status.success()
    })
    .await
    .unwrap()
}

/// Queues the four-step task with `mode` and waits for it to fail at `check`.
async fn failed_run(d: &TestDaemon) -> (String, Value) {
    let (status, run) = d
        .post("/v1/runs", json!({"step": {"kind": "file", "content": FOUR_STEPS}, "values": {"mode": "broken"}}))
        .await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let run = d.wait_run(&id).await;
    assert_eq!(run["status"], "Failed", "{run}");
    assert_eq!(step(&run, "check")["status"], "Failed");
    assert_eq!(step(&run, "four")["status"], "Skipped");
    (id, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_is_resumed_with_an_override_in_the_workspace_the_original_left() {
    let d = TestDaemon::start(1).await;
    let (id, original) = failed_run(&d).await;
    assert!(original["workspace_kept_until"].is_string(), "a failed run keeps its workspace: {original}");
    let first_log = log_of(&d, &id).await;
    let token = first_log.lines().find_map(|l| l.split("token=").nth(1)).expect("the check step printed the token");
    assert!(first_log.contains("drydock runs resume"), "the log says how to resume: {first_log}");

    let out = d.cli(&["runs", "resume", &id, "--set", "mode=fixed", "-o", "json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let queued: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_id = queued["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    let resumed = d.wait_run(&new_id).await;
    assert_eq!(resumed["status"], "Succeeded", "{resumed}\n{}", log_of(&d, &new_id).await);
    assert_eq!(resumed["resumed_from"], json!(id));

    // Steps one and two are not run again: shown Reused, with the original's timing.
    for s in ["write", "two"] {
        assert_eq!(step(&resumed, s)["status"], "Reused", "{resumed}");
        assert_eq!(step(&resumed, s)["started_at"], step(&original, s)["started_at"]);
        assert_eq!(step(&resumed, s)["finished_at"], step(&original, s)["finished_at"]);
    }
    assert_eq!(step(&resumed, "check")["status"], "Succeeded");
    assert_eq!(step(&resumed, "four")["status"], "Succeeded");
    let log = log_of(&d, &new_id).await;
    // The third step reads the file the first step wrote in the original run; the second step's
    // trail has one line, and `.Run.ID` is still the original's.
    assert!(log.contains(&format!("token={token}")), "the original's token {token} is not in:\n{log}");
    assert!(log.contains(&format!("trail=two, run-id={id}")), "{log}");
    assert!(log.contains(&format!("Resuming run {id}: reusing 2 step(s)")), "{log}");

    // Linked both ways; the workspace went to the resume, which succeeded and removed it.
    let (_, shown) = d.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(shown["reruns"], json!([new_id]));
    assert!(shown["workspace_kept_until"].is_null(), "{shown}");
    let workspace = format!("drydock_ws_{}-{id}", d.daemon.as_ref().unwrap().service.settings().instance);
    assert!(!volume_exists(&workspace).await, "the resumed run's end removes the workspace {workspace}");

    // Resuming the original again is refused: its workspace is gone with the resume that took it.
    let (status, again) = d.post(&format!("/v1/runs/{id}/resume"), json!({})).await;
    assert_eq!(status, 409, "{again}");
    let message = again["message"].as_str().unwrap();
    assert!(message.contains(&format!("run {new_id} resumed it")), "{message}");
    // A run that succeeded has nothing to resume.
    let (status, done) = d.post(&format!("/v1/runs/{new_id}/resume"), json!({})).await;
    assert_eq!(status, 409);
    assert!(done["message"].as_str().unwrap().contains("is Succeeded"), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_whose_override_changes_a_step_that_succeeded_is_refused() {
    let d = TestDaemon::start(1).await;
    // `write` renders `mode` too: changing it would make its result stale.
    let task =
        FOUR_STEPS.replace("random/uuid > /workspace/token", "random/uuid > /workspace/token; echo {{.Values.mode}}");
    let (_, run) =
        d.post("/v1/runs", json!({"step": {"kind": "file", "content": task}, "values": {"mode": "broken"}})).await;
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&id).await["status"], "Failed");
    let (status, queued) = d.post(&format!("/v1/runs/{id}/resume"), json!({"values": {"mode": "fixed"}})).await;
    assert_eq!(status, 201, "{queued}");
    let refused = d.wait_run(queued["id"].as_str().unwrap()).await;
    assert_eq!(refused["status"], "Error", "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains("step `write` succeeded in run") && error.contains("renders differently"), "{error}");
    // Nothing ran, and the workspace is still there to resume from without that change.
    assert!(refused["steps"].as_array().unwrap().iter().all(|s| s["status"] != "Succeeded"), "{refused}");
    let (status, again) = d
        .post(&format!("/v1/runs/{}/resume", refused["id"].as_str().unwrap()), json!({"values": {"mode": "broken"}}))
        .await;
    assert_eq!(status, 201, "{again}");
    let last = d.wait_run(again["id"].as_str().unwrap()).await;
    assert_eq!(last["status"], "Failed", "still broken, but resumed: {last}");
    assert_eq!(step(&last, "write")["status"], "Reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_workspace_was_pruned_is_not_resumed_and_says_why() {
    let data = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_configured(data, |c| {
        c.concurrency = 1;
        c.keep_failed_workspace = Duration::from_secs(1);
    })
    .await;
    let (id, _) = failed_run(&d).await;
    let workspace = format!("drydock_ws_{}-{id}", d.daemon.as_ref().unwrap().service.settings().instance);
    assert!(volume_exists(&workspace).await, "kept at first");
    // Past its time the janitor removes it.
    eventually("the janitor removes the expired workspace", || {
        let w = workspace.clone();
        async move { (!volume_exists(&w).await).then_some(()) }
    })
    .await;
    let out = d.cli(&["runs", "resume", &id]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("its workspace was removed") && stderr.contains(&format!("drydock runs rerun {id}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_workspace_kept_a_failed_run_leaves_nothing_and_cannot_be_resumed() {
    let data = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_configured(data, |c| {
        c.concurrency = 1;
        c.keep_failed_workspace = Duration::ZERO;
    })
    .await;
    let (id, run) = failed_run(&d).await;
    assert!(run["workspace_kept_until"].is_null());
    let workspace = format!("drydock_ws_{}-{id}", d.daemon.as_ref().unwrap().service.settings().instance);
    assert!(!volume_exists(&workspace).await);
    let (status, refused) = d.post(&format!("/v1/runs/{id}/resume"), json!({})).await;
    assert_eq!(status, 409);
    assert!(refused["message"].as_str().unwrap().contains("--keep-failed-workspace 0"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_puts_back_the_image_a_reused_build_made_and_restarts_the_detached_service() {
    let d = TestDaemon::start(1).await;
    let task = r#"steps:
  - id: web
    cmd: busybox sh -c 'mkdir -p /www && echo service-up > /www/index.html && httpd -f -p 8080 -h /www'
    detach: true
  - id: image
    build: -t resume-test:{{.Run.ID}} .
  - id: flaky
    cmd: busybox sh -c 'test -f /workspace/second-time || { touch /workspace/second-time; exit 1; }'
  - id: use
    cmd: resume-test:{{.Run.ID}} cat /built
  - id: ping
    cmd: busybox wget -qO- http://web:8080/
"#;
    let upload = d
        .upload(&[("acb.yaml", task), ("Dockerfile", "FROM busybox\nRUN echo built-by-the-original > /built\n")])
        .await;
    let (_, run) = d
        .post("/v1/runs", json!({"context": format!("upload:{upload}"), "step": {"kind": "file", "path": "acb.yaml"}}))
        .await;
    let id = run["id"].as_str().unwrap().to_string();
    let original = d.wait_run(&id).await;
    assert_eq!(original["status"], "Failed", "{original}");
    assert_eq!(step(&original, "flaky")["status"], "Failed");

    // Another run moves the tag meanwhile: the resume must use the image the original built.
    let tag = format!("resume-test:{id}");
    let moved = tokio::task::spawn_blocking({
        let tag = tag.clone();
        move || std::process::Command::new("docker").args(["tag", "busybox", &tag]).status().unwrap()
    })
    .await
    .unwrap();
    assert!(moved.success());

    let (status, queued) = d.post(&format!("/v1/runs/{id}/resume"), json!({})).await;
    assert_eq!(status, 201, "{queued} (the upload is kept while the failed run keeps its workspace)");
    let new_id = queued["id"].as_str().unwrap().to_string();
    let resumed = d.wait_run(&new_id).await;
    let log = log_of(&d, &new_id).await;
    assert_eq!(resumed["status"], "Succeeded", "{resumed}\n{log}");
    assert_eq!(step(&resumed, "image")["status"], "Reused");
    // The detached service went with the original run: it runs again, and the later step reaches it.
    assert_eq!(step(&resumed, "web")["status"], "Succeeded");
    assert!(log.contains("built-by-the-original"), "{log}");
    assert!(log.contains("service-up"), "{log}");
    let _ =
        tokio::task::spawn_blocking(move || std::process::Command::new("docker").args(["rmi", "-f", &tag]).output())
            .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_and_resume_take_a_values_file_and_a_broken_one_is_refused_with_its_line() {
    let d = TestDaemon::start(1).await;
    let task = r#"steps:
  - id: first
    cmd: busybox echo first
  - id: second
    cmd: busybox sh -c 'echo fix={{.Values.fix | default "no"}}; test "{{.Values.fix | default "no"}}" = fixed'
"#;
    let (_, run) = d.post("/v1/runs", json!({"step": {"kind": "file", "content": task}})).await;
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&id).await["status"], "Failed");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "fix: fixed\n  nested: [\n").unwrap();
    let out = d.cli(&["runs", "rerun", &id, "--values", bad.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:2:"), "the error points into the file: {stderr}");

    let good = dir.path().join("fix.yaml");
    std::fs::write(&good, "fix: fixed\n").unwrap();
    let out = d.cli(&["runs", "resume", &id, "--values", good.to_str().unwrap(), "-o", "json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new_id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_string();
    let resumed = d.wait_run(&new_id).await;
    assert_eq!(resumed["status"], "Succeeded", "{resumed}");
    assert_eq!(step(&resumed, "first")["status"], "Reused");
    let out = d.cli(&["runs", "rerun", &id, "--values", good.to_str().unwrap(), "-o", "json"]).await;
    let rerun_id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_string();
    let rerun = d.wait_run(&rerun_id).await;
    assert_eq!(rerun["status"], "Succeeded");
    assert_eq!(step(&rerun, "first")["status"], "Succeeded", "a rerun runs every step again");
    assert!(log_of(&d, &rerun_id).await.contains("fix=fixed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_shows_its_whole_planned_graph_before_any_node_takes_it() {
    let d = TestDaemon::start(1).await;
    // A label no node has keeps the run queued.
    let task = "steps:\n  - id: build\n    cmd: busybox true\n  - id: test\n    cmd: busybox true\n    when: [build]\n  - id: lint\n    cmd: busybox true\n    when: ['-']\n";
    let body = json!({"name": "graph", "step": {"kind": "file", "content": task}, "agent_labels": {"pool": "nowhere"}});
    let (status, created) = d.post("/v1/tasks", body).await;
    assert_eq!(status, 201, "{created}");
    let (status, run) = d.post("/v1/tasks/graph/runs", json!({})).await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap();
    let (_, queued) = d.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(queued["status"], "Queued");
    let steps: Vec<(String, String, Value)> = queued["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string(), s["needs"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("build".into(), "Pending".into(), Value::Null),
            ("test".into(), "Pending".into(), json!(["build"])),
            ("lint".into(), "Pending".into(), Value::Null),
        ],
        "{queued}"
    );
    // Canceled before it ran: its steps never ran.
    let (_, canceled) = d.post(&format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(canceled["status"], "Canceled");
    assert!(canceled["steps"].as_array().unwrap().iter().all(|s| s["status"] == "Skipped"), "{canceled}");
}
