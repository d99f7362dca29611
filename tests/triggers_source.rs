//! Source triggers against the in-process daemon, a real git server and the real dockerd:
//! signed webhooks from each provider queue runs that check out the pushed commit; bad
//! signatures, unknown repositories and filtered events say why; redeliveries and the poller
//! never queue a commit twice; a delivery stored before a crash is processed at start-up.

use crate::helper::daemon::TestDaemon;
use crate::helper::docker::unique;
use crate::helper::git::{GitServer, git_ok};
use crate::helper::wait::until;
use drydock::clock::{Clock, ManualClock};
use drydock::triggers::source::signature::sign;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Prints what the run checked out: the template values and a file of the commit.
pub(crate) const TASK_FILE: &str =
    "steps:\n  - cmd: busybox sh -c 'echo built {{.Run.Commit}} on {{.Run.Branch}}; cat /workspace/msg'\n";

pub(crate) fn task(name: &str, context: &str, source: Value) -> Value {
    json!({"name": name, "context": context, "step": {"kind": "file", "content": TASK_FILE},
           "triggers": {"source": source}})
}

/// Commits `msg` on `branch` (created from the current HEAD if new) and pushes; returns the sha.
pub(crate) fn commit(work: &Path, branch: &str, file: &str, content: &str) -> String {
    let current = git_ok(work, &["rev-parse", "--abbrev-ref", "HEAD"]);
    if current != branch {
        let exists = crate::helper::git::git(work).args(["rev-parse", "--verify", "-q", branch]).status().unwrap();
        if exists.success() {
            git_ok(work, &["checkout", "-q", branch]);
        } else {
            git_ok(work, &["checkout", "-q", "-b", branch]);
        }
    }
    let p = work.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    git_ok(work, &["add", "-A"]);
    git_ok(work, &["commit", "-q", "-m", &format!("change {file}")]);
    git_ok(work, &["push", "-q", "origin", branch]);
    git_ok(work, &["rev-parse", "HEAD"])
}

fn github_push(url: &str, branch: &str, sha: &str, files: &[&str]) -> Value {
    json!({"ref": format!("refs/heads/{branch}"), "before": "1".repeat(40), "after": sha, "deleted": false,
           "head_commit": {"id": sha},
           "repository": {"clone_url": url, "html_url": url.trim_end_matches(".git"), "default_branch": "main"},
           "commits": [{"id": sha, "added": files, "modified": [], "removed": []}]})
}

/// POSTs `body` to a hook without the API token (the receivers are public).
pub(crate) async fn hook(d: &TestDaemon, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut r = d.http.post(format!("{}{path}", d.url)).header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let resp = r.body(body.to_vec()).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn github(d: &TestDaemon, secret: &str, event: &str, delivery: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string().into_bytes();
    let headers = [
        ("X-GitHub-Event", event.to_string()),
        ("X-GitHub-Delivery", delivery.to_string()),
        ("X-Hub-Signature-256", format!("sha256={}", sign(secret, &body))),
    ];
    hook(d, "/hooks/github", &headers, &body).await
}

pub(crate) async fn runs_of(d: &TestDaemon, task: &str) -> Vec<Value> {
    let (status, page) = d.get(&format!("/v1/runs?task={task}")).await;
    assert_eq!(status, 200, "{page}");
    page["runs"].as_array().cloned().unwrap_or_default()
}

pub(crate) async fn log_of(d: &TestDaemon, id: &str) -> String {
    d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap()
}

pub(crate) fn only_run(answer: &Value) -> String {
    let runs = answer["runs"].as_array().unwrap_or_else(|| panic!("no runs in {answer}"));
    assert_eq!(runs.len(), 1, "{answer}");
    runs[0].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_github_push_runs_the_pushed_commit_once() {
    let server = GitServer::start();
    let (url, work) = server.repo("gh", &[("msg", "first\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("gh");
    let (status, created) =
        d.post("/v1/tasks", task(&name, &format!("{url}#main"), json!({"webhook_secret": "s3cret"}))).await;
    assert_eq!(status, 201, "{created}");
    let sha = commit(&work, "main", "msg", "second\n");

    // A ping checks the setup.
    let (status, pong) =
        github(&d, "s3cret", "ping", "p-1", &json!({"zen": "x", "repository": {"clone_url": url}})).await;
    assert_eq!((status, &pong["outcome"]), (200, &json!("pong")), "{pong}");

    // Wrong or missing signature: refused with the one answer every refusal gets, nothing
    // processed; why is in the deliveries log, which needs a token.
    let push = github_push(&url, "main", &sha, &["msg"]);
    let (status, refused) = github(&d, "wrong", "push", "bad-1", &push).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["message"], drydock::triggers::source::REFUSED, "{refused}");
    let (status, unsigned) =
        hook(&d, "/hooks/github", &[("X-GitHub-Event", "push".into())], push.to_string().as_bytes()).await;
    assert_eq!((status, &unsigned), (401, &refused));
    let (_, listed) = d.get("/v1/hooks/deliveries").await;
    let listed = listed.as_array().unwrap().clone();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|x| x["outcome"] == "refused"), "{listed:?}");
    let reasons: Vec<&str> = listed.iter().map(|x| x["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("matches the webhook secret of no task") && r.contains("`bad-1`")));
    assert!(reasons.iter().any(|r| r.contains("carries no X-Hub-Signature-256 header")), "{reasons:?}");

    // Signed: queued, and the run checks out that commit.
    let (status, queued) = github(&d, "s3cret", "push", "d-1", &push).await;
    assert_eq!((status, &queued["outcome"]), (202, &json!("queued")), "{queued}");
    let id = only_run(&queued);
    let run = d.wait_run(&id).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    let trigger = &run["trigger"];
    assert_eq!(trigger["kind"], "source");
    assert_eq!(trigger["provider"], "github");
    assert_eq!(trigger["event"], "commit");
    assert_eq!(trigger["delivery_id"], "d-1");
    assert_eq!(trigger["commit"], sha.as_str());
    assert_eq!(trigger["branch"], "main");
    let log = log_of(&d, &id).await;
    assert!(log.contains(&format!("built {sha} on main")), "{log}");
    assert!(log.contains("second"), "{log}");

    // The same delivery again: its stored outcome, nothing new.
    let (status, again) = github(&d, "s3cret", "push", "d-1", &push).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!((&again["outcome"], &again["redelivery"]), (&json!("queued"), &json!(true)));
    assert_eq!(only_run(&again), id);
    // Another delivery of the same push: the same run.
    let (status, second) = github(&d, "s3cret", "push", "d-2", &push).await;
    assert_eq!(status, 202, "{second}");
    assert_eq!(only_run(&second), id);
    assert_eq!(runs_of(&d, &name).await.len(), 1);

    // Another branch: ignored, saying why.
    let dev = commit(&work, "dev", "msg", "dev\n");
    let (status, ignored) = github(&d, "s3cret", "push", "d-3", &github_push(&url, "dev", &dev, &["msg"])).await;
    assert_eq!((status, &ignored["outcome"]), (202, &json!("ignored")), "{ignored}");
    let why = ignored["reasons"][&name].as_str().unwrap();
    assert!(why.contains("branch `dev` is not tracked") && why.contains("`main`"), "{why}");
    // A branch deletion never fires.
    let mut deletion = github_push(&url, "main", &"0".repeat(40), &[]);
    deletion["deleted"] = json!(true);
    let (_, deleted) = github(&d, "s3cret", "push", "d-4", &deletion).await;
    assert_eq!(deleted["outcome"], "ignored", "{deleted}");

    // Unknown repository: the same answer as a bad signature, the repository named in the log only.
    let other = format!("{}/nowhere.git", server.url);
    let (status, err) = github(&d, "s3cret", "push", "d-5", &github_push(&other, "main", &sha, &[])).await;
    assert_eq!((status, &err), (401, &refused));
    let (_, listed) = d.get("/v1/hooks/deliveries?top=2").await;
    assert!(listed.as_array().unwrap().iter().any(|x| x["reason"].as_str().is_some_and(|r| r.contains("nowhere.git"))));

    // Too large. The daemon answers before reading the body and drops the connection, so this
    // request asks for its connection not to be pooled: a later request reusing it would fail
    // with a broken pipe (a client-side race, seen once in CI).
    let big = vec![b' '; 6 << 20];
    let headers = [("X-GitHub-Event", "push".to_string()), ("Connection", "close".to_string())];
    let (status, _) = hook(&d, "/hooks/github", &headers, &big).await;
    assert_eq!(status, 413);

    // The listing shows what happened, newest first.
    let (status, listed) = d.get("/v1/hooks/deliveries?top=10").await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|d| d["delivery_id"].as_str().unwrap()).collect();
    for want in ["d-1", "d-2", "d-3", "d-4"] {
        assert!(ids.contains(&want), "{listed}");
    }
    assert!(!ids.contains(&"bad-1"));
    let d1 = listed.as_array().unwrap().iter().find(|x| x["delivery_id"] == "d-1").unwrap();
    assert_eq!((&d1["provider"], &d1["outcome"], &d1["runs"][0]), (&json!("github"), &json!("queued"), &json!(id)));

    // The CLI shows the same, and the URLs to configure.
    let listed = cli(&d, &["hook", "deliveries", "--top", "10", "--output", "json"]).await;
    assert_eq!(serde_json::from_slice::<Value>(&listed.stdout).unwrap().as_array().unwrap().len(), ids.len());
    let table = String::from_utf8_lossy(&cli(&d, &["hook", "deliveries"]).await.stdout).into_owned();
    assert!(table.contains("OUTCOME") && table.contains("d-3") && table.contains("not tracked"), "{table}");
    let urls = cli(&d, &["hook", "url", "-n", &name]).await;
    let text = String::from_utf8_lossy(&urls.stdout).into_owned();
    assert!(
        text.contains(&format!("{}/hooks/github", d.url)) && text.contains(&format!("/hooks/generic/{name}")),
        "{text}"
    );
}

async fn cli(d: &TestDaemon, args: &[&str]) -> std::process::Output {
    let (url, token) = (d.url.clone(), d.token.clone());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = crate::helper::drydock()
            .env("DRYDOCK_SERVER", url)
            .env("DRYDOCK_TOKEN", token)
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "drydock {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_and_path_filters() {
    let server = GitServer::start();
    let (url, work) = server.repo("prs", &[("msg", "base\n"), ("src/a.rs", "fn a() {}\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("pr");
    let source =
        json!({"webhook_secret": "k", "events": ["commit", "pullrequest"], "branches": ["main"], "paths": ["src/**"]});
    let (status, created) = d.post("/v1/tasks", task(&name, &url, source)).await;
    assert_eq!(status, 201, "{created}");

    let docs = commit(&work, "main", "docs/x.md", "docs\n");
    let (_, ignored) = github(&d, "k", "push", "p-1", &github_push(&url, "main", &docs, &["docs/x.md"])).await;
    assert_eq!(ignored["outcome"], "ignored", "{ignored}");
    assert!(ignored["reason"].as_str().unwrap().contains("path filters"), "{ignored}");
    let code = commit(&work, "main", "src/b.rs", "fn b() {}\n");
    let (_, queued) = github(&d, "k", "push", "p-2", &github_push(&url, "main", &code, &["src/b.rs"])).await;
    assert_eq!(queued["outcome"], "queued", "{queued}");

    // A pull request from `topic` into main: the run builds the head commit.
    let head = commit(&work, "topic", "msg", "from the pull request\n");
    let pr = |action: &str| {
        json!({"action": action, "number": 7, "repository": {"clone_url": url, "default_branch": "main"},
               "pull_request": {"number": 7, "head": {"sha": head, "ref": "topic"}, "base": {"ref": "main"}}})
    };
    let (status, opened) = github(&d, "k", "pull_request", "p-3", &pr("opened")).await;
    assert_eq!((status, &opened["outcome"]), (202, &json!("queued")), "{opened}");
    let run = d.wait_run(&only_run(&opened)).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!((&run["trigger"]["event"], &run["trigger"]["pull_request"]), (&json!("pullrequest"), &json!(7)));
    let log = log_of(&d, run["id"].as_str().unwrap()).await;
    assert!(log.contains(&format!("built {head} on topic")) && log.contains("from the pull request"), "{log}");
    let (_, closed) = github(&d, "k", "pull_request", "p-4", &pr("closed")).await;
    assert_eq!(closed["outcome"], "ignored", "{closed}");
    assert!(closed["reason"].as_str().unwrap().contains("`closed`"), "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_gitea_and_generic_receivers() {
    let server = GitServer::start();
    let (url, work) = server.repo("multi", &[("msg", "one\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("multi");
    let source = json!({"webhook_secret": "lab", "events": ["commit", "pullrequest", "tag"]});
    assert_eq!(d.post("/v1/tasks", task(&name, &format!("{url}#main"), source)).await.0, 201);
    // A task on the same repository without a secret accepts nothing.
    let bare = unique("nosecret");
    assert_eq!(d.post("/v1/tasks", task(&bare, &format!("{url}#main"), json!({}))).await.0, 201);
    let project = json!({"git_http_url": url, "web_url": url.trim_end_matches(".git"), "default_branch": "main"});

    // GitLab push.
    let c1 = commit(&work, "main", "msg", "gitlab\n");
    let body = json!({"object_kind": "push", "ref": "refs/heads/main", "after": c1, "checkout_sha": c1,
                      "project": project, "total_commits_count": 1,
                      "commits": [{"id": c1, "added": [], "modified": ["msg"], "removed": []}]})
    .to_string();
    let lab = |event: &str, token: &str, id: &str| {
        vec![
            ("X-Gitlab-Event", event.to_string()),
            ("X-Gitlab-Token", token.to_string()),
            ("Idempotency-Key", id.to_string()),
        ]
    };
    let (status, err) = hook(&d, "/hooks/gitlab", &lab("Push Hook", "nope", "g-0"), body.as_bytes()).await;
    assert_eq!(status, 401, "{err}");
    let (status, queued) = hook(&d, "/hooks/gitlab", &lab("Push Hook", "lab", "g-1"), body.as_bytes()).await;
    assert_eq!((status, &queued["outcome"]), (202, &json!("queued")), "{queued}");
    let run = d.wait_run(&only_run(&queued)).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!((&run["trigger"]["provider"], &run["trigger"]["commit"]), (&json!("gitlab"), &json!(c1)));
    assert!(log_of(&d, run["id"].as_str().unwrap()).await.contains(&format!("built {c1} on main")));
    assert!(runs_of(&d, &bare).await.is_empty());

    // GitLab merge request.
    let head = commit(&work, "feature", "msg", "mr\n");
    let mr = json!({"object_kind": "merge_request", "project": project, "object_attributes": {
        "iid": 3, "action": "open", "source_branch": "feature", "target_branch": "main", "last_commit": {"id": head}}})
    .to_string();
    let (status, queued) = hook(&d, "/hooks/gitlab", &lab("Merge Request Hook", "lab", "g-2"), mr.as_bytes()).await;
    assert_eq!(status, 202, "{queued}");
    let (_, run) = d.get(&format!("/v1/runs/{}", only_run(&queued))).await;
    assert_eq!((&run["trigger"]["event"], &run["trigger"]["pull_request"]), (&json!("pullrequest"), &json!(3)));

    // Gitea push (and the Forgejo header names).
    git_ok(&work, &["checkout", "-q", "main"]);
    let c2 = commit(&work, "main", "msg", "gitea\n");
    let body =
        json!({"ref": "refs/heads/main", "after": c2, "repository": {"clone_url": url, "default_branch": "main"},
                      "commits": [{"id": c2, "added": [], "modified": ["msg"], "removed": []}]})
        .to_string();
    let headers = [
        ("X-Forgejo-Event", "push".to_string()),
        ("X-Forgejo-Delivery", "f-1".to_string()),
        ("X-Forgejo-Signature", sign("lab", body.as_bytes())),
    ];
    let (status, queued) = hook(&d, "/hooks/forgejo", &headers, body.as_bytes()).await;
    assert_eq!(status, 202, "{queued}");
    let (_, run) = d.get(&format!("/v1/runs/{}", only_run(&queued))).await;
    assert_eq!((&run["trigger"]["provider"], &run["trigger"]["commit"]), (&json!("gitea"), &json!(c2)));

    // Generic, addressed to the task.
    let c3 = commit(&work, "main", "msg", "generic\n");
    let body = json!({"ref": "refs/heads/main", "commit": c3, "repository": url, "event": "commit"}).to_string();
    let generic = |sig: String| vec![("X-Drydock-Signature", sig), ("X-Drydock-Delivery", "x-1".to_string())];
    let (status, err) =
        hook(&d, &format!("/hooks/generic/{name}"), &generic("sha256=00".into()), body.as_bytes()).await;
    assert_eq!(status, 401, "{err}");
    let sig = format!("sha256={}", sign("lab", body.as_bytes()));
    let (status, queued) = hook(&d, &format!("/hooks/generic/{name}"), &generic(sig.clone()), body.as_bytes()).await;
    assert_eq!(status, 202, "{queued}");
    let run = d.wait_run(&only_run(&queued)).await;
    assert_eq!((&run["trigger"]["provider"], &run["status"]), (&json!("generic"), &json!("Succeeded")), "{run}");
    assert!(log_of(&d, run["id"].as_str().unwrap()).await.contains("generic"));
    // An unknown task and a task without a secret are refused like a bad signature; the log says why.
    let (status, unknown) = hook(&d, "/hooks/generic/no-such-task", &generic(sig), body.as_bytes()).await;
    assert_eq!((status, &unknown["message"]), (401, &json!(drydock::triggers::source::REFUSED)));
    let (status, err) = hook(
        &d,
        &format!("/hooks/generic/{bare}"),
        &generic(format!("sha256={}", sign("", body.as_bytes()))),
        body.as_bytes(),
    )
    .await;
    assert_eq!((status, &err), (401, &unknown));
    let (_, listed) = d.get("/v1/hooks/deliveries?top=2").await;
    let reasons: Vec<&str> = listed.as_array().unwrap().iter().map(|x| x["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("no webhook secret")), "{listed}");
    assert!(reasons.iter().any(|r| r.contains("there is no task `no-such-task`")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_fires_once_per_commit_and_not_for_what_a_webhook_fired() {
    let server = GitServer::start();
    let (url, work) = server.repo("polled", &[("msg", "one\n")]);
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let c = clock.clone();
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |config| {
        config.concurrency = 1;
        config.clock = c;
    })
    .await;
    let store = d.daemon.as_ref().unwrap().service.store().clone();
    let key = drydock::triggers::source::poll::heads_key(&url);
    let name = unique("poll");
    let source = json!({"webhook_secret": "p", "poll_interval": 30});
    assert_eq!(d.post("/v1/tasks", task(&name, &format!("{url}#main"), source.clone())).await.0, 201);
    let initial = git_ok(&work, &["rev-parse", "HEAD"]);

    // First look: heads recorded, nothing run.
    clock.advance(Duration::from_secs(31));
    until("the first look", Duration::from_secs(30), || async {
        store.source_heads(&key).await.unwrap().get("refs/heads/main") == Some(&initial)
    })
    .await;
    assert!(runs_of(&d, &name).await.is_empty());

    // A new commit: one run, by the poller.
    let c1 = commit(&work, "main", "msg", "polled\n");
    clock.advance(Duration::from_secs(40));
    until("the new head", Duration::from_secs(30), || async {
        store.source_heads(&key).await.unwrap().get("refs/heads/main") == Some(&c1)
    })
    .await;
    let runs = runs_of(&d, &name).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((&runs[0]["trigger"]["provider"], &runs[0]["trigger"]["commit"]), (&json!("poll"), &json!(c1)));
    let run = d.wait_run(runs[0]["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert!(log_of(&d, run["id"].as_str().unwrap()).await.contains(&format!("built {c1} on main")));

    // A commit a webhook reported first: the poller finds its run and queues nothing.
    let c2 = commit(&work, "main", "msg", "hooked\n");
    let (_, queued) = github(&d, "p", "push", "w-1", &github_push(&url, "main", &c2, &["msg"])).await;
    assert_eq!(queued["outcome"], "queued", "{queued}");
    clock.advance(Duration::from_secs(40));
    until("the hooked head", Duration::from_secs(30), || async {
        store.source_heads(&key).await.unwrap().get("refs/heads/main") == Some(&c2)
    })
    .await;
    let runs = runs_of(&d, &name).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["trigger"]["provider"], "github");
    // The listing worked, so no poll error is kept.
    assert_eq!(drydock::store::facts::poll_error(store.as_ref(), &key).await.unwrap(), None);
    d.wait_run(&only_run(&queued)).await;

    // A delivery another node stored and died before processing is taken over once it is stale.
    let stored = stored_delivery(&name, &url, &initial, "stale-1", clock.now());
    assert!(store.insert_delivery(&stored).await.unwrap().is_none());
    clock.advance(Duration::from_secs(70));
    until("the stale delivery", Duration::from_secs(30), || async { runs_of(&d, &name).await.len() == 3 }).await;
    let runs = runs_of(&d, &name).await;
    assert_eq!(
        (&runs[0]["trigger"]["delivery_id"], &runs[0]["trigger"]["commit"]),
        (&json!("stale-1"), &json!(initial))
    );

    // A repository that cannot be listed: no run, and the task says why.
    let missing = unique("missing");
    let gone = url.replace("polled", "no-such-repository");
    assert_eq!(d.post("/v1/tasks", task(&missing, &format!("{gone}#main"), source)).await.0, 201);
    clock.advance(Duration::from_secs(40));
    until("the poll error", Duration::from_secs(30), || async {
        d.get(&format!("/v1/tasks/{missing}")).await.1["triggers"]["source"]["last_poll_error"].is_string()
    })
    .await;
    assert!(runs_of(&d, &missing).await.is_empty());
    let o = d.cli(&["task", "show", "-n", &missing]).await;
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("last poll FAILED at"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A GitHub push delivery as the inbox keeps it, stored but not processed.
fn stored_delivery(
    task: &str,
    url: &str,
    sha: &str,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> drydock::api::Delivery {
    let event = drydock::triggers::source::event::Push {
        reference: "refs/heads/main".into(),
        commit: sha.to_string(),
        deleted: false,
        urls: vec![url.to_string()],
        default_branch: Some("main".into()),
        changed_files: None,
    }
    .into_event()
    .unwrap();
    let stored =
        drydock::triggers::source::StoredEvent { tasks: vec![task.to_string()], event: Some(event), ignored: None };
    drydock::api::Delivery {
        provider: "github".into(),
        delivery_id: id.into(),
        received_at: at,
        task: None,
        repository: Some(url.to_string()),
        event: serde_json::to_value(&stored).unwrap(),
        outcome: drydock::api::DeliveryOutcome::Received,
        reason: None,
        runs: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_stored_but_not_processed_is_processed_at_start_up() {
    let server = GitServer::start();
    let (url, work) = server.repo("crash", &[("msg", "before the crash\n")]);
    let sha = git_ok(&work, &["rev-parse", "HEAD"]);
    let data = tempfile::tempdir().unwrap();
    let name = unique("crash");
    {
        // What a daemon that died between storing and queueing leaves behind.
        let store = drydock::daemon::open_store(data.path(), None).await.unwrap();
        let t: drydock::api::Task = serde_json::from_value(task(&name, &format!("{url}#main"), json!({}))).unwrap();
        store.insert_task(&t).await.unwrap();
        let delivery = stored_delivery(&name, &url, &sha, "left-over", chrono::Utc::now());
        assert!(store.insert_delivery(&delivery).await.unwrap().is_none());
    }
    let d = TestDaemon::start_in(data, 1).await;
    let mut listed = Value::Null;
    for _ in 0..300 {
        listed = d.get("/v1/hooks/deliveries").await.1;
        if listed[0]["outcome"] == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed[0]["outcome"], "queued", "{listed}");
    let run = d.wait_run(listed[0]["runs"][0].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!((&run["trigger"]["delivery_id"], &run["trigger"]["commit"]), (&json!("left-over"), &json!(sha)));
    assert!(log_of(&d, run["id"].as_str().unwrap()).await.contains("before the crash"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_of_a_pushed_commit_builds_that_commit_again_with_overrides() {
    let server = GitServer::start();
    let (url, work) = server.repo("rerun", &[("msg", "base\n")]);
    let d = TestDaemon::start(1).await;
    let name = unique("rerun");
    let file =
        "steps:\n  - cmd: busybox sh -c 'echo built {{.Run.Commit}} mode={{.Values.mode}}; cat /workspace/msg'\n";
    let body = json!({"name": name, "context": url, "step": {"kind": "file", "content": file},
        "values": {"mode": "normal"}, "triggers": {"source": {"webhook_secret": "k"}}});
    assert_eq!(d.post("/v1/tasks", body).await.0, 201);
    let first = commit(&work, "main", "msg", "from the first push\n");
    let (_, answer) = github(&d, "k", "push", "rr-1", &github_push(&url, "main", &first, &["msg"])).await;
    let original = d.wait_run(&only_run(&answer)).await;
    assert_eq!(original["status"], "Succeeded", "{original}");
    let original_id = original["id"].as_str().unwrap().to_string();
    // The branch moves on; the rerun still builds the commit the original built.
    commit(&work, "main", "msg", "from a later push\n");
    let out = cli(&d, &["runs", "rerun", &original_id, "--set", "mode=debug", "-o", "json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let queued: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rerun = d.wait_run(queued["id"].as_str().unwrap()).await;
    assert_eq!(rerun["status"], "Succeeded", "{rerun}");
    assert_eq!((&rerun["rerun_of"], &rerun["trigger"]), (&json!(original_id), &original["trigger"]));
    let log = log_of(&d, rerun["id"].as_str().unwrap()).await;
    assert!(log.contains(&format!("built {first} mode=debug")) && log.contains("from the first push"), "{log}");
    let (_, again) = d.get(&format!("/v1/runs/{original_id}")).await;
    assert_eq!(again["reruns"], json!([rerun["id"]]), "{again}");
}
