//! What drydock sends out, against the in-process daemon: commit statuses to stand-ins for the
//! GitHub, GitLab and Gitea status APIs (paths, authorization headers and bodies as each documents
//! them) for runs a signed push started, retried when the server fails; and signed run events to
//! `--notify-url` receivers, delivered at least once, again after a 500, and after a restart.

use crate::helper::daemon::TestDaemon;
use crate::helper::docker::unique;
use crate::helper::git::GitServer;
use crate::helper::receiver::{Hit, Receiver};
use crate::helper::wait::eventually;
use crate::triggers_source::{commit, github};
use drydock::triggers::source::signature::verify_hmac;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Short waits between attempts, so that retries happen while the test watches.
fn quick_retries(config: &mut drydock::node::NodeConfig) {
    config.notify.retry = vec![Duration::from_millis(200); 20];
}

fn push_event(url: &str, sha: &str) -> Value {
    json!({"ref": "refs/heads/main", "before": "1".repeat(40), "after": sha, "deleted": false,
           "head_commit": {"id": sha},
           "repository": {"clone_url": url, "html_url": url.trim_end_matches(".git"), "default_branch": "main"},
           "commits": [{"id": sha, "added": ["msg"], "modified": [], "removed": []}]})
}

fn task_with(name: &str, context: &str, file: &str, source: Value) -> Value {
    json!({"name": name, "context": context, "step": {"kind": "file", "content": file},
           "triggers": {"source": source}})
}

/// The outgoing deliveries of run `id` once none is pending.
async fn settled(d: &TestDaemon, id: &str) -> Vec<Value> {
    eventually(&format!("the deliveries of run {id} to settle"), || async {
        let (status, list) = d.get(&format!("/v1/hooks/outgoing?run={id}")).await;
        assert_eq!(status, 200, "{list}");
        let list = list.as_array().cloned().unwrap_or_default();
        (!list.is_empty() && list.iter().all(|x| x["state"] != "pending")).then_some(list)
    })
    .await
}

/// The daemon's SQLite database as SQL text.
fn database_dump(d: &TestDaemon) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(d.data.path().join("drydock.db"))
        .arg(".dump")
        .output()
        .expect("sqlite3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The states each status request carried, in the order they arrived.
fn states(hits: &[Hit], path_part: &str) -> Vec<String> {
    hits.iter()
        .filter(|h| h.path.contains(path_part))
        .map(|h| h.json()["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_commit_gets_pending_then_its_result_on_github_gitlab_and_gitea() {
    let git = GitServer::start();
    let (url, work) = git.repo("acme/app", &[("msg", "first\n")]);
    // The GitLab stand-in fails the first success status once: the sender tries again.
    let failed_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = failed_once.clone();
    let server = Receiver::with_policy(Arc::new(move |hit: &Hit, _: &[Hit]| {
        let success = hit.path.starts_with("/gitlab/") && hit.json()["state"] == "success";
        if success && !flag.swap(true, std::sync::atomic::Ordering::SeqCst) { 500 } else { 201 }
    }))
    .await;
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.concurrency = 3;
        quick_retries(c);
    })
    .await;
    let ok = "steps:\n  - cmd: busybox echo fine\n";
    let failing = "steps:\n  - cmd: busybox false\n";
    let tasks = [
        (unique("st-gh"), ok, json!({"token": "ghp-secret-1", "api_url": format!("{}/github", server.url)})),
        (
            unique("st-gl"),
            ok,
            json!({"token": "glpat-secret-2", "provider": "gitlab", "api_url": format!("{}/gitlab/api/v4", server.url)}),
        ),
        (
            unique("st-gt"),
            failing,
            json!({"token": "gitea-secret-3", "provider": "forgejo", "api_url": format!("{}/gitea/api/v1", server.url)}),
        ),
    ];
    for (name, file, status) in &tasks {
        let source = json!({"webhook_secret": "k", "commit_status": status});
        let (code, created) = d.post("/v1/tasks", task_with(name, &format!("{url}#main"), file, source)).await;
        assert_eq!(code, 201, "{created}");
        // The token is sealed and never shown.
        assert_eq!(created["triggers"]["source"]["commit_status"]["token"], "***", "{created}");
    }
    // Mistakes are refused when the task is saved, saying what to give.
    let bad = json!({"webhook_secret": "k", "commit_status": {"token": "t", "provider": "svn"}});
    let (code, refused) = d.post("/v1/tasks", task_with(&unique("st-bad"), &format!("{url}#main"), ok, bad)).await;
    assert_eq!(code, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("github, gitlab, gitea or forgejo"), "{refused}");
    let sha = commit(&work, "main", "msg", "second\n");
    let (code, answer) = github(&d, "k", "push", &unique("push"), &push_event(&url, &sha)).await;
    assert_eq!(code, 202, "{answer}");
    let ids: Vec<String> = answer["runs"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 3, "{answer}");
    let mut run_of = std::collections::HashMap::new();
    for id in &ids {
        let run = d.wait_run(id).await;
        run_of.insert(run["task"].as_str().unwrap().to_string(), run.clone());
        settled(&d, id).await;
    }
    let hits = server.hits();
    let link = |task: &str| format!("{}/#/run/{}", d.url, run_of[task]["id"].as_str().unwrap());

    // GitHub: POST /repos/{owner}/{repo}/statuses/{sha}, a bearer token, pending then success.
    let gh: Vec<&Hit> = hits.iter().filter(|h| h.path.starts_with("/github/")).collect();
    assert!(!gh.is_empty());
    for h in &gh {
        assert_eq!(h.path, format!("/github/repos/acme/app/statuses/{sha}"));
        assert_eq!(h.header("authorization"), "Bearer ghp-secret-1");
        let body = h.json();
        assert_eq!(body["context"], format!("drydock/{}", tasks[0].0), "{body}");
        assert_eq!(body["target_url"], link(&tasks[0].0), "{body}");
        assert!(body["description"].is_string(), "{body}");
    }
    let gh_states = states(&hits, "/github/");
    assert_eq!(gh_states.last().unwrap(), "success", "{gh_states:?}");
    assert!(gh_states[..gh_states.len() - 1].iter().all(|s| s == "pending"), "{gh_states:?}");
    assert!(gh_states.len() >= 2, "no pending status before the result: {gh_states:?}");

    // GitLab: the project path URL-encoded, PRIVATE-TOKEN, `name` for the context, `running`.
    let gl: Vec<&Hit> = hits.iter().filter(|h| h.path.starts_with("/gitlab/")).collect();
    for h in &gl {
        assert_eq!(h.path, format!("/gitlab/api/v4/projects/acme%2Fapp/statuses/{sha}"));
        assert_eq!(h.header("private-token"), "glpat-secret-2");
        assert_eq!(h.json()["name"], format!("drydock/{}", tasks[1].0));
        assert_eq!(h.json()["target_url"], link(&tasks[1].0));
    }
    let gl_states = states(&hits, "/gitlab/");
    let order = ["pending", "running", "success"];
    let ranks: Vec<usize> = gl_states.iter().map(|s| order.iter().position(|o| o == s).unwrap()).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "out of order: {gl_states:?}");
    // The 500 was answered, and the same status came again and was taken.
    assert_eq!(&gl_states[gl_states.len() - 2..], ["success", "success"], "{gl_states:?}");
    let gl_run = run_of[&tasks[1].0]["id"].as_str().unwrap().to_string();
    assert_eq!(run_of[&tasks[1].0]["status"], "Succeeded");
    let (_, shown) = d.get(&format!("/v1/runs/{gl_run}")).await;
    let final_status = shown["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["event"] == "success")
        .cloned()
        .unwrap_or_else(|| panic!("no success status on {shown}"));
    assert_eq!(final_status["attempts"], 2, "{final_status}");
    assert_eq!(final_status["state"], "delivered", "{final_status}");
    assert_eq!(final_status["status_code"], 201, "{final_status}");

    // Gitea/Forgejo: `Authorization: token`, and `failure` for the run that failed.
    let gt: Vec<&Hit> = hits.iter().filter(|h| h.path.starts_with("/gitea/")).collect();
    for h in &gt {
        assert_eq!(h.path, format!("/gitea/api/v1/repos/acme/app/statuses/{sha}"));
        assert_eq!(h.header("authorization"), "token gitea-secret-3");
        assert_eq!(h.json()["context"], format!("drydock/{}", tasks[2].0));
    }
    assert_eq!(run_of[&tasks[2].0]["status"], "Failed");
    assert_eq!(states(&hits, "/gitea/").last().unwrap(), "failure");

    // No token in any listing or log.
    let (_, all) = d.get("/v1/hooks/outgoing?top=100").await;
    let text = all.to_string();
    for id in &ids {
        let log = crate::triggers_source::log_of(&d, id).await;
        for secret in ["ghp-secret-1", "glpat-secret-2", "gitea-secret-3"] {
            assert!(!text.contains(secret) && !log.contains(secret), "{secret} shown");
        }
    }
    // Sealed at rest: in the task and in each delivery that carries it.
    let dump = database_dump(&d);
    assert!(dump.contains("INSERT INTO outgoing"), "the dump holds the deliveries");
    for secret in ["ghp-secret-1", "glpat-secret-2", "gitea-secret-3"] {
        assert!(!dump.contains(secret), "{secret} in the database dump");
    }
    let out = d.cli(&["hook", "outgoing", "list", "--run", &gl_run, "-o", "json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(listed.as_array().unwrap().iter().all(|x| x["run_id"] == gl_run.as_str()), "{listed}");
    assert!(listed.as_array().unwrap().iter().any(|x| x["kind"] == "commit_status"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_events_are_signed_and_a_500_gets_the_same_delivery_again() {
    // The task's receiver fails the first run.finished once.
    let receiver = Receiver::with_policy(Arc::new(|hit: &Hit, before: &[Hit]| {
        let first_finish = hit.header("x-drydock-event") == "run.finished"
            && !before.iter().any(|b| b.header("x-drydock-event") == "run.finished");
        if first_finish { 500 } else { 200 }
    }))
    .await;
    let everything = Receiver::start().await;
    let daemon_url = format!("{}/all", everything.url);
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |c| {
        quick_retries(c);
        c.notify.urls = vec![daemon_url.clone()];
        c.notify.secret = Some(drydock::secrets::Secret::new("daemon-key"));
    })
    .await;
    let name = unique("events");
    let task = json!({"name": name, "step": {"kind": "file", "content": "steps:\n  - cmd: busybox echo hi\n"},
                      "notify": {"urls": [format!("{}/task", receiver.url)], "secret": "task-key"}});
    let (code, created) = d.post("/v1/tasks", task).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["notify"]["secret"], "***", "{created}");
    let bad = json!({"name": unique("events-bad"), "step": {"kind": "cmd", "cmd": "busybox true"},
                     "notify": {"urls": ["ftp://example.com/x"]}});
    let (code, refused) = d.post("/v1/tasks", bad).await;
    assert_eq!(code, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("is not an http(s) URL"), "{refused}");
    let (code, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(code, 201, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let run = d.wait_run(&id).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    let deliveries = settled(&d, &id).await;
    assert!(deliveries.iter().all(|x| x["state"] == "delivered"), "{deliveries:?}");

    let hits = receiver.hits();
    for h in &hits {
        assert_eq!(h.path, "/task");
        assert!(verify_hmac("task-key", &h.body, &h.header("x-drydock-signature")), "bad signature on {h:?}");
        assert!(h.header("x-drydock-signature").starts_with("sha256="));
        assert_eq!(h.json()["delivery"], h.header("x-drydock-delivery"));
    }
    let events: Vec<String> = hits.iter().map(|h| h.header("x-drydock-event")).collect();
    assert_eq!(events, ["run.started", "run.finished", "run.finished"], "{events:?}");
    // Redelivered after the 500: the same id and the same signed body.
    assert_eq!(hits[1].answered, 500);
    assert_eq!(hits[1].header("x-drydock-delivery"), hits[2].header("x-drydock-delivery"));
    assert_eq!(hits[1].body, hits[2].body);
    assert_ne!(hits[0].header("x-drydock-delivery"), hits[1].header("x-drydock-delivery"));
    let finished = hits[2].json();
    assert_eq!(finished["event"], "run.finished");
    assert_eq!(finished["run"]["id"], id.as_str());
    assert_eq!(finished["run"]["task"], name.as_str());
    assert_eq!(finished["run"]["status"], "Succeeded");
    assert_eq!(finished["run"]["trigger"]["kind"], "manual");
    assert!(finished["run"]["output_images"].is_array(), "{finished}");
    assert!(finished["run"]["duration_seconds"].as_f64().is_some_and(|s| s >= 0.0), "{finished}");
    assert_eq!(hits[0].json()["run"]["status"], "Running");
    let retried = deliveries.iter().find(|x| x["id"] == hits[1].header("x-drydock-delivery").as_str()).unwrap();
    assert_eq!((retried["attempts"].as_u64(), retried["status_code"].as_u64()), (Some(2), Some(200)), "{retried}");

    // The daemon's own receiver hears every run, signed with the daemon's key.
    let all = everything.hits();
    let events: Vec<String> = all.iter().map(|h| h.header("x-drydock-event")).collect();
    assert_eq!(events, ["run.started", "run.finished"]);
    assert!(all.iter().all(|h| verify_hmac("daemon-key", &h.body, &h.header("x-drydock-signature"))));

    let dump = database_dump(&d);
    assert!(dump.contains("INSERT INTO outgoing") && !dump.contains("task-key") && !dump.contains("daemon-key"));
    let out = d.cli(&["runs", "show", &id]).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.lines().any(|l| l.starts_with("NOTIFIED") && l.ends_with("4 delivered")), "{shown}");
    let out = d.cli(&["hook", "outgoing", "list"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("run.finished") && table.contains("delivered"), "{table}");
    assert!(!table.contains("task-key") && !table.contains("daemon-key"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_pending_when_the_daemon_stops_is_delivered_once_after_a_restart() {
    // Down for the end of the run only (run.finished waits behind a run.started being retried).
    let receiver =
        Receiver::with_policy(Arc::new(
            |hit: &Hit, _: &[Hit]| {
                if hit.header("x-drydock-event") == "run.started" { 200 } else { 503 }
            },
        ))
        .await;
    let target = format!("{}/hook", receiver.url);
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), quick_retries).await;
    let name = unique("restart-ev");
    let task = json!({"name": name, "step": {"kind": "file", "content": "steps:\n  - cmd: busybox echo hi\n"},
                      "notify": {"urls": [target], "secret": "s"}});
    let (code, created) = d.post("/v1/tasks", task).await;
    assert_eq!(code, 201, "{created}");
    let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&id).await["status"], "Succeeded");
    // The receiver is down: the end of the run was tried and is still pending.
    let finished_id = eventually("an attempt at run.finished", || async {
        receiver
            .hits()
            .iter()
            .find(|h| h.header("x-drydock-event") == "run.finished")
            .map(|h| h.header("x-drydock-delivery"))
    })
    .await;
    let data = d.stop().await;
    let store = drydock::daemon::open_store(data.path(), None).await.unwrap();
    let pending = store.list_outgoing(Some(id.as_str()), 100).await.unwrap();
    drop(store);
    let finished = pending.iter().find(|x| x.id == finished_id).expect("the delivery is stored");
    assert_eq!(finished.state, drydock::api::OutgoingState::Pending, "{finished:?}");
    assert!(finished.attempts >= 1 && finished.status_code == Some(503), "{finished:?}");

    receiver.set_policy(Arc::new(|_: &Hit, _: &[Hit]| 200));
    let d = TestDaemon::start_configured(data, quick_retries).await;
    let deliveries = settled(&d, &id).await;
    let done = deliveries.iter().find(|x| x["id"] == finished_id.as_str()).unwrap();
    assert_eq!(done["state"], "delivered", "{done}");
    let taken: Vec<Hit> = receiver
        .hits()
        .into_iter()
        .filter(|h| h.header("x-drydock-delivery") == finished_id && h.answered == 200)
        .collect();
    assert_eq!(taken.len(), 1, "delivered more than once: {taken:?}");
    assert!(verify_hmac("s", &taken[0].body, &taken[0].header("x-drydock-signature")));
    assert_eq!(taken[0].json()["run"]["id"], id.as_str());
}
