//! The daemon's services and HTTP layer with no engine at all: SQLite, the services built by
//! `node::open_services` and the router, served on port 0. Nothing here connects to Docker, so
//! these tests pass with `DOCKER_HOST` pointing at nothing (`scripts/test.sh` runs them that
//! way before the whole suite).

use drydock::clock::ManualClock;
use drydock::daemon::Service;
use drydock::node::{self, NodeConfig};
use drydock::triggers::Hub;
use drydock::triggers::source::signature::sign;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Services and the API over SQLite in a temporary directory, without an engine or workers.
struct Services {
    service: Arc<Service>,
    url: String,
    token: String,
    http: reqwest::Client,
    stop: CancellationToken,
    _data: tempfile::TempDir,
}

impl Services {
    async fn start() -> Services {
        let data = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::new(data.path().to_path_buf());
        config.registry = "registry.test".into();
        config.clock = Arc::new(ManualClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()));
        // The engine would say these; there is none.
        let labels = BTreeMap::from([("os".to_string(), "linux".to_string()), ("arch".to_string(), "amd64".into())]);
        let service = node::open_services(&config, labels).await.expect("services open without Docker");
        let hub = Arc::new(Hub::new(config.triggers.clone()));
        let stop = CancellationToken::new();
        let app = drydock::server::router(service.clone(), hub, stop.clone(), Duration::from_secs(15));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = stop.clone();
        tokio::spawn(async move {
            drydock::server::listen::serve(listener, app, Default::default(), shutdown).await;
        });
        let token = drydock::daemon::tokens::create_token(service.store().as_ref(), "tests").await.unwrap().token;
        Services { service, url, token, http: drydock::tls::client(), stop, _data: data }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn github(&self, secret: &str, event: &str, delivery: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string().into_bytes();
        let resp = self
            .http
            .post(format!("{}/hooks/github", self.url))
            .header("content-type", "application/json")
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header("X-Hub-Signature-256", format!("sha256={}", sign(secret, &body)))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn inline_task(name: &str) -> Value {
    json!({"name": name, "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"},
           "secret_values": {"pw": "hunter2"},
           "credentials": [{"login_server": "reg.test", "username": "u", "password": "p-secret"}]})
}

/// What the store holds for a task, as text (sealed secrets must not be readable in it).
async fn stored_text(s: &Services, name: &str) -> String {
    serde_json::to_string(&s.service.store().get_task(name).await.unwrap().unwrap()).unwrap()
}

#[tokio::test]
async fn tasks_are_created_read_patched_and_deleted_with_secrets_sealed() {
    let s = Services::start().await;
    let (status, created) = s.post("/v1/tasks", inline_task("svc-crud")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["secret_values"]["pw"], "***");
    assert_eq!(created["credentials"][0]["password"], "***");
    let stored = stored_text(&s, "svc-crud").await;
    assert!(!stored.contains("hunter2") && !stored.contains("p-secret"), "{stored}");

    let (_, revealed) = s.get("/v1/tasks/svc-crud?with_secure_properties=true").await;
    assert_eq!(revealed["secret_values"]["pw"], "hunter2");

    let (status, again) = s.post("/v1/tasks", inline_task("svc-crud")).await;
    assert_eq!(status, 409, "{again}");

    let (status, patched) =
        s.call(reqwest::Method::PATCH, "/v1/tasks/svc-crud", Some(json!({"values": {"mode": "fast"}}))).await;
    assert_eq!((status, &patched["values"]["mode"]), (200, &json!("fast")), "{patched}");
    let (_, revealed) = s.get("/v1/tasks/svc-crud?with_secure_properties=true").await;
    assert_eq!(revealed["secret_values"]["pw"], "hunter2", "a patch keeps the secrets it does not name");

    let (status, bad) = s.post("/v1/tasks", json!({"name": "x", "step": {"kind": "cmd", "cmd": "true"}})).await;
    assert_eq!(status, 400, "{bad}");

    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/tasks/svc-crud", None).await.0, 204);
    assert_eq!(s.get("/v1/tasks/svc-crud").await.0, 404);
}

#[tokio::test]
async fn timers_are_added_changed_and_removed_through_the_services() {
    let s = Services::start().await;
    assert_eq!(s.post("/v1/tasks", inline_task("svc-timers")).await.0, 201);

    let (status, timer) =
        s.post("/v1/tasks/svc-timers/timers", json!({"name": "nightly", "schedule": "0 3 * * *"})).await;
    assert_eq!(status, 201, "{timer}");
    // The manual clock stands at 2027-01-15T08:00:00Z.
    assert_eq!(timer["next_fire"], "2027-01-16T03:00:00Z", "{timer}");
    let (status, dup) =
        s.post("/v1/tasks/svc-timers/timers", json!({"name": "nightly", "schedule": "0 4 * * *"})).await;
    assert_eq!(status, 409, "{dup}");
    let (status, bad) = s.post("/v1/tasks/svc-timers/timers", json!({"name": "bad", "schedule": "0 3 * *"})).await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("has 4 fields"), "{bad}");

    let (status, changed) = s
        .call(
            reqwest::Method::PUT,
            "/v1/tasks/svc-timers/timers/nightly",
            Some(json!({"name": "ignored", "schedule": "0 5 * * *", "enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((&changed["name"], &changed["next_fire"]), (&json!("nightly"), &Value::Null), "{changed}");
    let (status, missing) = s
        .call(
            reqwest::Method::PUT,
            "/v1/tasks/svc-timers/timers/nope",
            Some(json!({"name": "nope", "schedule": "0 5 * * *"})),
        )
        .await;
    assert_eq!(status, 404, "{missing}");

    let (status, events) = s.get("/v1/tasks/svc-timers/timer-events").await;
    assert_eq!((status, events), (200, json!([])));
    assert_eq!(s.get("/v1/tasks/nope-nope/timer-events").await.0, 404);

    // The edits kept the task's secrets sealed and intact.
    let stored = stored_text(&s, "svc-timers").await;
    assert!(!stored.contains("hunter2"), "{stored}");
    let (_, revealed) = s.get("/v1/tasks/svc-timers?with_secure_properties=true").await;
    assert_eq!(revealed["secret_values"]["pw"], "hunter2");

    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/tasks/svc-timers/timers/nightly", None).await.0, 204);
    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/tasks/svc-timers/timers/nightly", None).await.0, 404);
    let (_, timers) = s.get("/v1/tasks/svc-timers/timers").await;
    assert_eq!(timers, json!([]));
}

#[tokio::test]
async fn credentials_are_added_and_removed_without_revealing_secrets() {
    let s = Services::start().await;
    assert_eq!(s.post("/v1/tasks", inline_task("svc-creds")).await.0, 201);
    let login = json!({"login_server": "other.test", "username": "bot", "password": "new-secret"});
    let (status, added) = s.post("/v1/tasks/svc-creds/credentials", login.clone()).await;
    assert_eq!((status, &added["password"]), (201, &json!("***")), "{added}");
    let (status, dup) = s.post("/v1/tasks/svc-creds/credentials", login).await;
    assert_eq!(status, 409, "{dup}");

    let stored = stored_text(&s, "svc-creds").await;
    for secret in ["hunter2", "p-secret", "new-secret"] {
        assert!(!stored.contains(secret), "{secret} stored in plain text: {stored}");
    }
    let (_, listed) = s.get("/v1/tasks/svc-creds/credentials").await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|c| c["password"] == "***"), "{listed}");
    let (_, revealed) = s.get("/v1/tasks/svc-creds?with_secure_properties=true").await;
    assert_eq!(revealed["credentials"][1]["password"], "new-secret");
    assert_eq!(revealed["secret_values"]["pw"], "hunter2");

    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/tasks/svc-creds/credentials/other.test", None).await.0, 204);
    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/tasks/svc-creds/credentials/other.test", None).await.0, 404);
}

#[tokio::test]
async fn webhooks_are_accepted_ignored_refused_and_deduplicated_without_an_engine() {
    let s = Services::start().await;
    let url = "https://git.test/octo/app.git";
    let task = json!({"name": "svc-hooks", "context": format!("{url}#main"),
                      "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"},
                      "triggers": {"source": {"webhook_secret": "s3cret"}}});
    assert_eq!(s.post("/v1/tasks", task).await.0, 201);
    let sha = "a".repeat(40);
    let push = |branch: &str| {
        json!({"ref": format!("refs/heads/{branch}"), "before": "1".repeat(40), "after": sha, "deleted": false,
               "head_commit": {"id": sha}, "repository": {"clone_url": url, "default_branch": "main"},
               "commits": [{"id": sha, "added": ["msg"], "modified": [], "removed": []}]})
    };

    let (status, refused) = s.github("wrong", "push", "d-0", &push("main")).await;
    assert_eq!(status, 401, "{refused}");

    let (status, queued) = s.github("s3cret", "push", "d-1", &push("main")).await;
    assert_eq!((status, &queued["outcome"]), (202, &json!("queued")), "{queued}");
    let run_id = queued["runs"][0].as_str().unwrap().to_string();
    let (_, run) = s.get(&format!("/v1/runs/{run_id}")).await;
    assert_eq!((&run["status"], &run["trigger"]["commit"]), (&json!("Queued"), &json!(sha)), "{run}");

    // The same delivery again, and the same commit under another delivery id: one run.
    let (status, again) = s.github("s3cret", "push", "d-1", &push("main")).await;
    assert_eq!((status, &again["redelivery"]), (200, &json!(true)), "{again}");
    let (status, other) = s.github("s3cret", "push", "d-2", &push("main")).await;
    assert_eq!(status, 202, "{other}");
    assert_eq!(other["runs"], json!([run_id]), "{other}");

    // A branch the trigger does not follow is ignored, with the reason.
    let (status, ignored) = s.github("s3cret", "push", "d-3", &push("feature")).await;
    assert_eq!((status, &ignored["outcome"]), (202, &json!("ignored")), "{ignored}");

    let (_, runs) = s.get("/v1/runs?task=svc-hooks").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    let (_, deliveries) = s.get("/v1/hooks/deliveries").await;
    assert_eq!(deliveries.as_array().unwrap().len(), 4, "three processed and one refused: {deliveries}");
}

#[tokio::test]
async fn webhook_refusals_tell_a_stranger_nothing() {
    let s = Services::start().await;
    let url = "https://git.test/octo/known.git";
    let task = json!({"name": "svc-known", "context": format!("{url}#main"),
                      "step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"},
                      "triggers": {"source": {"webhook_secret": "s3cret"}}});
    assert_eq!(s.post("/v1/tasks", task).await.0, 201);
    let push = |repo: &str| {
        json!({"ref": "refs/heads/main", "before": "1".repeat(40), "after": "a".repeat(40), "deleted": false,
               "head_commit": {"id": "a".repeat(40)}, "repository": {"clone_url": repo, "default_branch": "main"},
               "commits": []})
    };
    let bad_signature = s.github("wrong", "push", "x-1", &push(url)).await;
    let unknown_repository = s.github("s3cret", "push", "x-2", &push("https://git.test/octo/other.git")).await;
    let body = br#"{"ref": "refs/heads/main", "commit": "abc"}"#.to_vec();
    let generic = |task: &str| {
        let sig = format!("sha256={}", sign("s3cret", &body));
        s.http
            .post(format!("{}/hooks/generic/{task}", s.url))
            .header("X-Drydock-Signature", sig)
            .body(body.clone())
            .send()
    };
    let resp = generic("no-such-task").await.unwrap();
    let unknown_task = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
    assert_eq!(bad_signature.0, 401);
    assert_eq!(unknown_repository, bad_signature);
    assert_eq!(unknown_task, bad_signature);
    // The answer names no task and no repository.
    let text = bad_signature.1.to_string();
    assert!(!text.contains("svc-known") && !text.contains("known.git") && !text.contains("other.git"), "{text}");
    // The log, behind a token, says which was which.
    let (_, log) = s.get("/v1/hooks/deliveries").await;
    let reasons: Vec<String> = log.as_array().unwrap().iter().map(|d| d["reason"].to_string()).collect();
    assert!(reasons.iter().any(|r| r.contains("no task builds the repository https://git.test/octo/other.git")));
    assert!(reasons.iter().any(|r| r.contains("there is no task `no-such-task`")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("matches the webhook secret of no task")), "{reasons:?}");
    // A signed delivery for the generic task itself still gets through to its own checks.
    let resp = generic("svc-known").await.unwrap();
    assert_ne!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn readiness_and_info_answer_without_an_engine() {
    let s = Services::start().await;
    let ready: Value = s.http.get(format!("{}/readyz", s.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["store"], "ok");
    let (status, info) = s.get("/v1/info").await;
    assert_eq!((status, &info["registry"], &info["labels"]["arch"]), (200, &json!("registry.test"), &json!("amd64")));
}

#[tokio::test]
async fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Services::start().await;
    assert_eq!(s.post("/v1/tasks", inline_task("svc-modes")).await.0, 201);
    // A run canceled while queued writes its log; an upload writes its archive.
    let (status, run) = s.post("/v1/runs", json!({"step": {"kind": "cmd", "cmd": "busybox true"}})).await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap();
    assert_eq!(s.post(&format!("/v1/runs/{id}/cancel"), json!({})).await.0, 200);
    let body = crate::helper::context_tar(&[("acb.yaml", "x: 1")]);
    let resp = s.http.post(format!("{}/v1/contexts", s.url)).bearer_auth(&s.token).body(body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let mut seen = Vec::new();
    let mut pending = vec![s._data.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
                seen.push(path.file_name().unwrap().to_string_lossy().to_string());
            }
        }
    }
    for expected in ["drydock.db", "secret.key", "node-id", &format!("{id}.log")] {
        assert!(seen.iter().any(|f| f == expected), "{expected} not among {seen:?}");
    }
    assert!(seen.iter().any(|f| f.ends_with(".tar")), "no upload among {seen:?}");
}

#[tokio::test]
async fn tokens_saved_in_context_urls_before_are_sealed_at_start() {
    let data = tempfile::tempdir().unwrap();
    let config = NodeConfig::new(data.path().to_path_buf());
    let labels = BTreeMap::from([("os".to_string(), "linux".to_string())]);
    let token = "legacyTOKEN-83c1d0";
    {
        let service = node::open_services(&config, labels.clone()).await.unwrap();
        // As an older drydock stored it: the URL as given, in plain text.
        let task: drydock::api::Task = serde_json::from_value(json!({
            "name": "legacy-url-token",
            "context": format!("https://ci:{token}@git.example/r.git#main"),
            "step": {"kind": "file", "path": "acb.yaml"},
        }))
        .unwrap();
        service.store().insert_task(&task).await.unwrap();
        service.store().close().await;
    }
    let service = node::open_services(&config, labels).await.unwrap();
    let shown = service.get_task("legacy-url-token", false).await.unwrap();
    assert_eq!(shown.context.as_deref(), Some("https://ci@git.example/r.git#main"));
    assert_eq!(shown.git_token.as_deref(), Some("***"));
    let opened = service.get_task("legacy-url-token", true).await.unwrap();
    assert_eq!(opened.git_token.as_deref(), Some(token), "the token still opens for fetching");
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the token is still in {}", path.display());
    }
}
