//! Pull requests from forks, with GitHub's payloads against a real git server that keeps the
//! fork's commits only under `refs/pull/N/head`, as GitHub does: they wait for a person, run
//! without secrets, or are ignored, as the task says; a same-repository pull request runs at once.

use crate::helper::daemon::TestDaemon;
use crate::helper::docker::unique;
use crate::helper::git::{GitServer, git_ok};
use crate::triggers_source::{TASK_FILE, commit, github, log_of, only_run, task};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Commits `content` to `msg` on the fork's line of work (a local branch the server never sees)
/// and pushes it to `refs/pull/<n>/head` only, as GitHub keeps a fork's commits in the base
/// repository; returns the sha.
pub(crate) fn fork_commit(work: &Path, n: u64, content: &str) -> String {
    let branch = format!("fork-{n}");
    let exists = crate::helper::git::git(work).args(["rev-parse", "--verify", "-q", &branch]).status().unwrap();
    git_ok(
        work,
        &if exists.success() { vec!["checkout", "-q", &branch] } else { vec!["checkout", "-q", "-b", &branch] },
    );
    std::fs::write(work.join("msg"), content).unwrap();
    git_ok(work, &["commit", "-q", "-am", "from a fork"]);
    git_ok(work, &["push", "-q", "-f", "origin", &format!("HEAD:refs/pull/{n}/head")]);
    let sha = git_ok(work, &["rev-parse", "HEAD"]);
    git_ok(work, &["checkout", "-q", "main"]);
    sha
}

/// A GitHub `pull_request` delivery as GitHub sends it for a pull request from `head_repo` into
/// `team/app` (the fork's own clone URL is not the task's).
pub(crate) fn pull_request(url: &str, n: u64, sha: &str, action: &str, head_repo: &str) -> Value {
    let base = json!({"full_name": "team/app", "clone_url": url, "id": 1});
    let head = json!({"full_name": head_repo, "clone_url": format!("https://github.example/{head_repo}.git"), "id": 2});
    json!({"action": action, "number": n,
           "pull_request": {"number": n, "author_association": "CONTRIBUTOR",
                            "head": {"sha": sha, "ref": "topic", "repo": head},
                            "base": {"ref": "main", "sha": "0".repeat(40), "repo": base}},
           "repository": {"full_name": "team/app", "clone_url": url, "html_url": url.trim_end_matches(".git"),
                          "default_branch": "main"}})
}

async fn run(d: &TestDaemon, id: &str) -> Value {
    d.get(&format!("/v1/runs/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forks_pull_request_waits_for_approval_then_builds_the_forks_commit() {
    let server = GitServer::start();
    let (url, work) = server.repo("app", &[("msg", "base\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("fork");
    let source = json!({"webhook_secret": "k", "events": ["pullrequest"], "branches": ["main"]});
    assert_eq!(d.post("/v1/tasks", task(&name, &url, source)).await.0, 201);

    // A pull request from a branch of the repository itself runs at once, as before.
    let own = commit(&work, "topic", "msg", "from a branch of the repository\n");
    git_ok(&work, &["checkout", "-q", "main"]);
    let (_, answer) =
        github(&d, "k", "pull_request", "own-1", &pull_request(&url, 3, &own, "opened", "team/app")).await;
    let same = d.wait_run(&only_run(&answer)).await;
    assert_eq!(same["status"], "Succeeded", "{same}");
    assert!(same["trigger"].get("from_fork").is_none(), "{same}");

    // From a fork: queued as AwaitingApproval, with the fork named, and nothing runs.
    let first = fork_commit(&work, 9, "from the fork, first\n");
    let (status, answer) =
        github(&d, "k", "pull_request", "fork-1", &pull_request(&url, 9, &first, "opened", "stranger/app")).await;
    assert_eq!((status, &answer["outcome"]), (202, &json!("queued")), "{answer}");
    let id = only_run(&answer);
    let waiting = run(&d, &id).await;
    assert_eq!(waiting["status"], "AwaitingApproval", "{waiting}");
    assert_eq!(
        (&waiting["trigger"]["from_fork"], &waiting["trigger"]["head_repository"]),
        (&json!(true), &json!("stranger/app"))
    );
    // An idle worker would have claimed a queued run long before this.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = run(&d, &id).await;
    assert_eq!(still["status"], "AwaitingApproval", "{still}");
    // Planned (its graph is drawn) but nothing started.
    assert!(still["started_at"].is_null(), "{still}");
    assert!(still["steps"].as_array().unwrap().iter().all(|s| s["status"] == "Pending"), "{still}");
    assert!(log_of(&d, &id).await.is_empty(), "nothing of the fork ran");
    let listed = d.cli(&["runs", "list", "--status", "AwaitingApproval", "-o", "json"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let shown = d.cli(&["runs", "show", &id]).await;
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("from the fork stranger/app") && shown.contains("drydock runs approve"), "{shown}");

    // The fork moves on before anyone looks; the approved run still builds the commit it was
    // created for, which is now only in the history of refs/pull/9/head.
    fork_commit(&work, 9, "from the fork, second\n");
    let approved = d.cli(&["runs", "approve", &id]).await;
    assert!(approved.status.success(), "{approved:?}");
    assert!(String::from_utf8_lossy(&approved.stderr).contains("approved by tests"), "{approved:?}");
    let done = d.wait_run(&id).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!((&done["approval"]["decision"], &done["approval"]["by"]), (&json!("approved"), &json!("tests")));
    let log = log_of(&d, &id).await;
    assert!(log.contains(&format!("built {first}")) && log.contains("from the fork, first"), "{log}");
    assert!(TASK_FILE.contains("cat /workspace/msg"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_commit_replaces_the_waiting_run_and_a_rejected_one_never_runs() {
    let server = GitServer::start();
    let (url, work) = server.repo("app", &[("msg", "base\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("reject");
    let source = json!({"webhook_secret": "k", "events": ["pullrequest"], "branches": ["main"]});
    assert_eq!(d.post("/v1/tasks", task(&name, &url, source)).await.0, 201);
    let one = fork_commit(&work, 4, "one\n");
    let (_, answer) = github(&d, "k", "pull_request", "r-1", &pull_request(&url, 4, &one, "opened", "x/app")).await;
    let older = only_run(&answer);
    let two = fork_commit(&work, 4, "two\n");
    let (_, answer) =
        github(&d, "k", "pull_request", "r-2", &pull_request(&url, 4, &two, "synchronize", "x/app")).await;
    let newer = only_run(&answer);
    let replaced = run(&d, &older).await;
    assert_eq!(replaced["status"], "Canceled", "{replaced}");
    assert!(replaced["error"].as_str().unwrap().contains(&format!("replaced by run {newer}")), "{replaced}");
    assert_eq!(run(&d, &newer).await["status"], "AwaitingApproval");

    let (status, rejected) = d.post(&format!("/v1/runs/{newer}/reject"), json!({"reason": "mines bitcoin"})).await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "Canceled");
    assert_eq!((&rejected["approval"]["decision"], &rejected["approval"]["by"]), (&json!("rejected"), &json!("tests")));
    assert_eq!(rejected["error"], "rejected by tests: mines bitcoin");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = run(&d, &newer).await;
    assert!(after["started_at"].is_null(), "{after}");
    assert!(after["steps"].as_array().unwrap().iter().all(|s| s["status"] == "Skipped"), "{after}");
    // Decided once: approving it now is refused.
    let (status, again) = d.post(&format!("/v1/runs/{newer}/approve"), json!({})).await;
    assert_eq!(status, 409, "{again}");
    assert!(again["message"].as_str().unwrap().contains("not waiting for approval"), "{again}");

    // Under `never`, a fork's pull request is recorded as ignored, with the reason.
    let out = d.cli(&["task", "update", "--name", &name, "--fork-pull-requests", "never"]).await;
    assert!(out.status.success(), "{out:?}");
    let three = fork_commit(&work, 4, "three\n");
    let (_, ignored) =
        github(&d, "k", "pull_request", "r-3", &pull_request(&url, 4, &three, "synchronize", "x/app")).await;
    assert_eq!(ignored["outcome"], "ignored", "{ignored}");
    assert!(ignored["reason"].as_str().unwrap().contains("--fork-pull-requests never"), "{ignored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_secrets_a_forks_steps_see_no_secret_and_cannot_push() {
    let server = GitServer::start();
    let (url, work) = server.repo("app", &[("msg", "base\n"), ("Dockerfile", "FROM busybox\nCOPY msg /msg\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("nosecret");
    let file = "steps:\n  - cmd: busybox sh -c 'echo secret=[{{.Values.token}}]'\n  \
                - build: -t 127.0.0.1:5000/forkpush:{{.Run.ID}} .\n  \
                - push: ['127.0.0.1:5000/forkpush:{{.Run.ID}}']\n";
    let body = json!({"name": name, "context": url, "step": {"kind": "file", "content": file},
        "secret_values": {"token": "fork-must-not-see-77"},
        "credentials": [{"login_server": "127.0.0.1:5000", "username": "ci", "password": "registry-pw-88"}],
        "triggers": {"source": {"webhook_secret": "k", "events": ["pullrequest"], "branches": ["main"],
                                "fork_pull_requests": "run-without-secrets"}}});
    let (status, created) = d.post("/v1/tasks", body).await;
    assert_eq!(status, 201, "{created}");
    let sha = fork_commit(&work, 5, "untrusted\n");
    let (_, answer) = github(&d, "k", "pull_request", "n-1", &pull_request(&url, 5, &sha, "opened", "evil/app")).await;
    let done = d.wait_run(&only_run(&answer)).await;
    assert_eq!(done["status"], "Failed", "{done}");
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(
        (&steps[0]["status"], &steps[1]["status"], &steps[2]["status"]),
        (&json!("Succeeded"), &json!("Succeeded"), &json!("Failed"))
    );
    let push_error = steps[2]["error"].as_str().unwrap_or_default();
    assert!(push_error.contains("pushing is not allowed") && push_error.contains("fork evil/app"), "{done}");
    let log = log_of(&d, done["id"].as_str().unwrap()).await;
    assert!(log.contains("secret=[]"), "{log}");
    for s in ["fork-must-not-see-77", "registry-pw-88"] {
        assert!(!log.contains(s) && !done.to_string().contains(s), "{s} reached the run");
    }
}

/// A test-and-deploy task whose `deploy` step waits for a person. `prep` leaves a file in the
/// workspace and `svc` is a detached service: the deploy step reads both after the pause.
const GATED: &str = "steps:\n  \
    - id: prep\n    cmd: busybox sh -c 'echo prepared-before-the-pause > /workspace/state'\n  \
    - id: svc\n    detach: true\n    cmd: busybox httpd -f -p 7000 -h /workspace\n  \
    - id: deploy\n    when: [prep, svc]\n    \
    cmd: busybox sh -c 'cat /workspace/state; busybox wget -q -O - http://svc:7000/state | busybox sed s/^/via-service:/; echo deployed'\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_pauses_a_run_before_its_step_without_holding_a_slot_and_resumes_on_approval() {
    let d = TestDaemon::start(1).await;
    let name = unique("gated");
    let mut body = crate::helper::daemon::inline_task(&name, GATED);
    body["approve_before"] = json!(["deploy"]);
    assert_eq!(d.post("/v1/tasks", body).await.0, 201);
    let (_, queued) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = queued["id"].as_str().unwrap().to_string();
    crate::helper::wait::until("the run pauses before deploy", Duration::from_secs(60), || async {
        run(&d, &id).await["waiting_step"] == "deploy"
    })
    .await;
    let paused = run(&d, &id).await;
    assert_eq!(paused["status"], "AwaitingApproval", "{paused}");
    let steps = paused["steps"].as_array().unwrap();
    let status_of = |id: &str| steps.iter().find(|s| s["id"] == id).map(|s| s["status"].clone()).unwrap_or(Value::Null);
    assert_eq!(status_of("prep"), json!("Succeeded"), "{paused}");
    assert!(matches!(status_of("deploy").as_str(), None | Some("Pending")), "deploy has not started: {paused}");
    // The node runs one run at a time, yet another run goes through while this one waits.
    let (_, other) =
        d.post("/v1/runs", json!({"step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"}})).await;
    assert_eq!(d.wait_run(other["id"].as_str().unwrap()).await["status"], "Succeeded");
    assert_eq!(run(&d, &id).await["status"], "AwaitingApproval");

    let approved = d.cli(&["runs", "approve", &id]).await;
    assert!(approved.status.success(), "{approved:?}");
    let done = d.wait_run(&id).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!((&done["approval"]["step"], &done["approval"]["by"]), (&json!("deploy"), &json!("tests")));
    let log = log_of(&d, &id).await;
    for want in ["waits for approval", "approved by tests", "via-service:prepared-before-the-pause", "deployed"] {
        assert!(log.contains(want), "`{want}` missing from:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_rejected_or_left_unanswered_cancels_the_run() {
    let d = TestDaemon::start(1).await;
    let name = unique("gated");
    let mut body = crate::helper::daemon::inline_task(&name, GATED);
    body["approve_before"] = json!(["deploy"]);
    body["approval_timeout"] = json!(600);
    assert_eq!(d.post("/v1/tasks", body).await.0, 201);
    let paused = |id: String| {
        let d = &d;
        async move {
            crate::helper::wait::until("the run pauses", Duration::from_secs(60), || async {
                run(d, &id).await["waiting_step"] == "deploy"
            })
            .await
        }
    };
    let (_, queued) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = queued["id"].as_str().unwrap().to_string();
    paused(id.clone()).await;
    let rejected = d.cli(&["runs", "reject", &id, "--reason", "not on a Friday"]).await;
    assert!(rejected.status.success(), "{rejected:?}");
    let done = d.wait_run(&id).await;
    assert_eq!(done["status"], "Canceled", "{done}");
    assert_eq!(done["error"], "rejected by tests before step `deploy`: not on a Friday");
    let deploy = done["steps"].as_array().unwrap().iter().find(|s| s["id"] == "deploy").cloned().unwrap();
    assert_eq!(deploy["status"], "Skipped", "{done}");
    assert!(!log_of(&d, &id).await.contains("deployed"));

    // Nobody answers within the timeout: canceled, saying so.
    let out = d.cli(&["task", "update", "--name", &name, "--approval-timeout", "2"]).await;
    assert!(out.status.success(), "{out:?}");
    let (_, queued) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = queued["id"].as_str().unwrap().to_string();
    let done = d
        .wait_run(&{
            paused(id.clone()).await;
            id.clone()
        })
        .await;
    let done = if done["status"] == "AwaitingApproval" {
        crate::helper::wait::until("the wait expires", Duration::from_secs(30), || async {
            run(&d, &id).await["status"] == "Canceled"
        })
        .await;
        run(&d, &id).await
    } else {
        done
    };
    assert_eq!(done["status"], "Canceled", "{done}");
    assert!(done["error"].as_str().unwrap().contains("no one approved it in time before step `deploy`"), "{done}");
    assert_eq!(done["approval"]["decision"], "expired");
}
