//! The daemon in-process on port 0, talking HTTP to it: tasks, runs, live logs, cancel, auth,
//! uploads, secrets at rest, and the OpenAPI description.

use crate::helper::daemon::{TestDaemon, inline_task};
use drydock::docker::DockerHost;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn unique(prefix: &str) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 100_000_000;
    format!("{prefix}-{t}")
}

/// Docker objects still labelled with a run (by its object key, `<instance>-<run id>`).
async fn leftovers(d: &TestDaemon, run_id: &str) -> usize {
    let key = d.daemon.as_ref().unwrap().service.settings().object_key(run_id);
    let docker = DockerHost::connect(None).await.unwrap();
    docker.list_run_objects(&[("drydock.run", &key)]).await.unwrap().len()
}

/// Follows a run's log over SSE and returns (text, final run record).
pub(crate) async fn follow(d: &TestDaemon, id: &str, last_event_id: Option<u64>) -> (String, Value) {
    let mut req = d.req(Method::GET, &format!("/v1/runs/{id}/logs")).header("Accept", "text/event-stream");
    if let Some(l) = last_event_id {
        req = req.header("Last-Event-ID", l.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut text = String::new();
    let mut event = String::new();
    let mut data: Vec<String> = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(nl) = buf.find('\n') {
            let line = buf[..nl].trim_end_matches('\r').to_string();
            buf.drain(..=nl);
            if line.is_empty() {
                if event == "end" {
                    return (text, serde_json::from_str(&data.join("\n")).unwrap());
                }
                for d in data.drain(..) {
                    text.push_str(&d);
                    text.push('\n');
                }
                event.clear();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            }
        }
    }
    panic!("the stream ended without an end event; got:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_run_and_follow_a_task_live() {
    let d = TestDaemon::start(2).await;
    let name = unique("hello");
    let task = inline_task(
        &name,
        "version: v1.1.0\nsteps:\n  - id: greet\n    cmd: busybox sh -c 'for i in 1 2 3; do echo line $i; sleep 0.3; done'\n  - id: after\n    cmd: busybox echo registry $Registry\n",
    );
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    let (status, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "Queued");
    assert_eq!(run["run_type"], "AutoRun");
    let id = run["id"].as_str().unwrap().to_string();
    let (log, end) = follow(&d, &id, None).await;
    assert!(log.contains("[greet] line 1") && log.contains("[greet] line 3"), "{log}");
    assert!(log.contains("[after] registry 127.0.0.1:5000"), "{log}");
    assert_eq!(end["status"], "Succeeded", "{end}");
    assert_eq!(end["steps"].as_array().unwrap().len(), 2);
    assert_eq!(end["steps"][0]["status"], "Succeeded");
    assert_eq!(end["trigger"]["kind"], "manual");
    // Resuming from an offset gives exactly the rest.
    let cut = 20u64;
    let (rest, _) = follow(&d, &id, Some(cut)).await;
    assert_eq!(format!("{}{}", &log[..cut as usize], rest), log);
    // The text endpoint serves the same log after the run.
    let text = d.req(Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap();
    assert_eq!(text, log);
    assert_eq!(leftovers(&d, &id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filter_and_cancel_runs() {
    let d = TestDaemon::start(1).await;
    let quick = inline_task(&unique("quick"), "steps:\n  - cmd: busybox true\n");
    let slow = inline_task(&unique("slow"), "steps:\n  - cmd: busybox sleep 300\n");
    let (quick_name, slow_name) =
        (quick["name"].as_str().unwrap().to_string(), slow["name"].as_str().unwrap().to_string());
    assert_eq!(d.post("/v1/tasks", quick).await.0, 201);
    assert_eq!(d.post("/v1/tasks", slow).await.0, 201);
    let (_, q1) = d.post(&format!("/v1/tasks/{quick_name}/runs"), json!({})).await;
    d.wait_run(q1["id"].as_str().unwrap()).await;
    let (_, s1) = d.post(&format!("/v1/tasks/{slow_name}/runs"), json!({})).await;
    let slow_id = s1["id"].as_str().unwrap().to_string();
    // With one worker busy, the next run stays queued: cancelling it is immediate.
    let (_, s2) = d.post(&format!("/v1/tasks/{slow_name}/runs"), json!({})).await;
    let queued_id = s2["id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        if d.get(&format!("/v1/runs/{slow_id}")).await.1["status"] == "Running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, c) = d.post(&format!("/v1/runs/{queued_id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["status"], "Canceled");
    // Cancelling the running one stops it and removes its Docker objects.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(d.post(&format!("/v1/runs/{slow_id}/cancel"), json!({})).await.0, 200);
    let ended = d.wait_run(&slow_id).await;
    assert_eq!(ended["status"], "Canceled", "{ended}");
    assert_eq!(leftovers(&d, &slow_id).await, 0);
    // Cancelling a finished run says why it cannot.
    let (status, err) = d.post(&format!("/v1/runs/{slow_id}/cancel"), json!({})).await;
    assert_eq!(status, 409, "{err}");

    let (_, all) = d.get("/v1/runs?top=10").await;
    let ids: Vec<&str> = all["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] > ids[1] && ids[1] > ids[2], "newest first: {ids:?}");
    let (_, by_task) = d.get(&format!("/v1/runs?task={slow_name}")).await;
    assert_eq!(by_task["runs"].as_array().unwrap().len(), 2);
    let (_, ok) = d.get("/v1/runs?status=Succeeded").await;
    assert_eq!(ok["runs"][0]["id"], q1["id"]);
    let (_, page) = d.get("/v1/runs?top=2").await;
    assert_eq!(page["runs"].as_array().unwrap().len(), 2);
    let (_, next) = d.get(&format!("/v1/runs?top=2&before={}", page["next"].as_str().unwrap())).await;
    assert_eq!(next["runs"][0]["id"], ids[2]);
    // The trigger filter takes the kind or the label listings show; anything else is refused.
    let (_, manual) = d.get("/v1/runs?trigger=Manual").await;
    assert_eq!(manual["runs"].as_array().unwrap().len(), 3);
    let (_, commits) = d.get("/v1/runs?trigger=Commit").await;
    assert_eq!(commits["runs"], json!([]));
    let (status, err) = d.get("/v1/runs?trigger=cron").await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().contains("unknown trigger `cron`"), "{err}");

    // Task reads carry each task's newest run; one sent back in a patch is not stored.
    let (_, tasks) = d.get("/v1/tasks").await;
    let last = |name: &str| tasks.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["last_run"].clone();
    assert_eq!(
        (last(&quick_name)["id"].clone(), last(&quick_name)["status"].clone()),
        (q1["id"].clone(), json!("Succeeded"))
    );
    assert_eq!(last(&slow_name)["id"], ids[0]);
    let forged = json!({"last_run": {"id": "zzzz", "status": "Succeeded", "queued_at": "2020-01-01T00:00:00Z"}});
    let r = d.req(reqwest::Method::PATCH, &format!("/v1/tasks/{slow_name}")).json(&forged).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, shown) = d.get(&format!("/v1/tasks/{slow_name}")).await;
    assert_eq!(
        (shown["last_run"]["id"].clone(), shown["last_run"]["status"].clone()),
        (json!(ids[0]), json!("Canceled"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_required_except_for_health() {
    let d = TestDaemon::start(1).await;
    let anon = drydock::tls::client();
    let r = anon.get(format!("{}/v1/tasks", d.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let r = anon.get(format!("{}/v1/tasks", d.url)).bearer_auth("ddk_wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(anon.get(format!("{}/healthz", d.url)).send().await.unwrap().status(), 200);
    assert_eq!(anon.get(format!("{}/readyz", d.url)).send().await.unwrap().status(), 200);
    // A revoked token stops working.
    let (_, t) = d.post("/v1/tokens", json!({"name": "ci"})).await;
    let token = t["token"].as_str().unwrap();
    assert_eq!(anon.get(format!("{}/v1/runs", d.url)).bearer_auth(token).send().await.unwrap().status(), 200);
    let del = d.req(Method::DELETE, &format!("/v1/tokens/{}", t["id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(anon.get(format!("{}/v1/runs", d.url)).bearer_auth(token).send().await.unwrap().status(), 401);
}

/// A tar with one entry whose raw header path is `path` (the tar crate would sanitise it).
fn malicious_tar(path: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    {
        let raw = header.as_old_mut();
        raw.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            raw.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    header.set_entry_type(kind);
    header.set_size(if kind == tar::EntryType::Regular { 1 } else { 0 });
    header.set_mode(0o644);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    if kind == tar::EntryType::Regular {
        let mut block = [0u8; 512];
        block[0] = b'x';
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_context_archives_are_rejected() {
    let d = TestDaemon::start(1).await;
    let cases = [
        ("absolute path", malicious_tar("/etc/passwd", tar::EntryType::Regular, None)),
        ("dot-dot", malicious_tar("../escape.txt", tar::EntryType::Regular, None)),
        ("escaping symlink", malicious_tar("link", tar::EntryType::Symlink, Some("/etc"))),
        ("device file", malicious_tar("dev", tar::EntryType::Char, None)),
    ];
    for (what, body) in cases {
        let r = d.req(Method::POST, "/v1/contexts").body(body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{what}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["code"], "invalid-archive", "{what}: {err}");
    }
    let uploads: Vec<_> = std::fs::read_dir(d.data.path().join("uploads")).unwrap().collect();
    assert!(uploads.is_empty(), "rejected uploads must not be kept");
    // A good archive is accepted.
    let good = crate::helper::context_tar(&[("Dockerfile", "hi\n")]);
    let r = d.req(Method::POST, "/v1/contexts").body(good).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let info: Value = r.json().await.unwrap();
    assert!(info["digest"].as_str().unwrap().starts_with("sha256:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_responses_and_the_database() {
    let d = TestDaemon::start(1).await;
    let name = unique("secret");
    let task = json!({
        "name": name,
        "step": {"kind": "file", "content": "steps:\n  - cmd: busybox sh -c 'echo token is {{.Values.token}}'\n"},
        "secret_values": {"token": "s3cr3t-VALUE-42"},
        "git_token": "ghp_topsecret77",
        "credentials": [{"login_server": "127.0.0.1:5000", "username": "ci", "password": "pw-very-secret-9"}],
    });
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    let shown = d.get(&format!("/v1/tasks/{name}")).await.1.to_string();
    for s in ["s3cr3t-VALUE-42", "ghp_topsecret77", "pw-very-secret-9"] {
        assert!(!shown.contains(s), "{s} in a response");
    }
    let revealed = d.get(&format!("/v1/tasks/{name}?with_secure_properties=true")).await.1;
    assert_eq!(revealed["secret_values"]["token"], "s3cr3t-VALUE-42");
    let (_, run) =
        d.post(&format!("/v1/tasks/{name}/runs"), json!({"secret_values": {"extra": "one-more-secret-3"}})).await;
    let id = run["id"].as_str().unwrap().to_string();
    let (log, end) = follow(&d, &id, None).await;
    assert_eq!(end["status"], "Succeeded", "{log}");
    assert!(log.contains("token is ***"), "{log}");
    assert!(!log.contains("s3cr3t"), "{log}");
    let dump = std::process::Command::new("sqlite3")
        .arg(d.data.path().join("drydock.db"))
        .arg(".dump")
        .output()
        .expect("sqlite3");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains(&name), "the dump is of the right database");
    for s in ["s3cr3t-VALUE-42", "ghp_topsecret77", "pw-very-secret-9", "one-more-secret-3"] {
        assert!(!dump.contains(s), "{s} in the database dump");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_secrets_stay_out_of_the_stored_log_and_the_live_stream() {
    let d = TestDaemon::start(1).await;
    let name = unique("encoded");
    // Long enough that `base64` wraps it over two lines; `/`, `+`, `=` and spaces change under
    // URL and base64 encodings.
    let secret = "tok/en+with=signs and spaces, long enough to wrap at seventy-six columns of base64";
    let script = concat!(
        "steps:\n",
        "  - cmd: busybox sh -c 'printf %s \"$TOK\" | busybox base64; ",
        "printf xy%s \"$TOK\" | busybox base64 -w 0; echo; ",
        "printf %s \"$TOK\" | busybox od -An -v -tx1 | busybox tr -d \" \\n\"; echo'\n",
        "    env: [\"TOK={{.Values.tok}}\"]\n",
    );
    let task = json!({"name": name, "step": {"kind": "file", "content": script}, "secret_values": {"tok": secret}});
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = run["id"].as_str().unwrap().to_string();
    let (live, end) = follow(&d, &id, None).await;
    assert_eq!(end["status"], "Succeeded", "{live}");
    let stored =
        d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap();
    let record = d.get(&format!("/v1/runs/{id}")).await.1.to_string();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let shifted = base64::engine::general_purpose::STANDARD.encode(format!("xy{secret}"));
    for text in [&live, &stored, &record] {
        for line in b64.as_bytes().chunks(76) {
            let line = std::str::from_utf8(line).unwrap();
            assert!(!text.contains(line), "a wrapped base64 line of the secret in {text}");
        }
        assert!(!text.contains(&shifted[4..40]), "base64 of the secret inside a stream in {text}");
        assert!(!text.contains(&hex::encode(secret)[..40]), "hex of the secret in {text}");
    }
    assert!(stored.matches("***").count() >= 3, "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_log_stops_growing_at_its_cap_and_the_run_goes_on() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        config.concurrency = 1;
        config.max_log_bytes = 64 * 1024;
    })
    .await;
    let script = "steps:\n  - cmd: busybox sh -c 'busybox seq 1 20000; echo after-the-flood'\n  - cmd: busybox echo second step ran\n";
    let (status, run) = d.post("/v1/runs", json!({"step": {"kind": "file", "content": script}})).await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let (live, end) = follow(&d, &id, None).await;
    assert_eq!(end["status"], "Succeeded", "the steps went on: {end}");
    assert_eq!(end["steps"].as_array().unwrap().len(), 2, "{end}");
    let stored = std::fs::read_to_string(d.data.path().join("logs").join(format!("{id}.log"))).unwrap();
    assert!(stored.len() < 64 * 1024 + 4096, "the log is {} bytes", stored.len());
    assert_eq!(stored.matches("the log reached its limit").count(), 1, "{stored}");
    assert!(!stored.contains("after-the-flood") && !stored.contains("second step ran"), "dropped past the cap");
    assert!(live.contains("the log reached its limit"), "followers see the notice too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_when_its_last_user_is_done() {
    let d = TestDaemon::start(1).await;
    let uploads = d.data.path().join("uploads");
    let file = "steps:\n  - cmd: busybox echo from the upload\n";
    // A quick run's upload goes with its run.
    let quick = d.upload(&[("acb.yaml", file)]).await;
    let req = json!({"context": format!("upload:{quick}"), "step": {"kind": "file", "path": "acb.yaml"}});
    let (status, run) = d.post("/v1/runs", req).await;
    assert_eq!(status, 201, "{run}");
    let run = d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    // A saved task's upload stays for its next run.
    let kept = d.upload(&[("acb.yaml", file)]).await;
    let name = unique("upload");
    let task = json!({"name": name, "context": format!("upload:{kept}"), "step": {"kind": "file", "path": "acb.yaml"}});
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(d.wait_run(run["id"].as_str().unwrap()).await["status"], "Succeeded");
    let left: Vec<String> =
        std::fs::read_dir(&uploads).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!left.iter().any(|f| f.starts_with(&quick)), "the quick run's upload is still there: {left:?}");
    assert!(left.iter().any(|f| f.starts_with(&kept)), "the task's upload went: {left:?}");
    let (_, again) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(d.wait_run(again["id"].as_str().unwrap()).await["status"], "Succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_nothing_names_is_swept_after_its_grace() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        // Long enough for the task below to name its upload first; the janitor looks every 10 s.
        config.upload_grace = Duration::from_secs(2);
    })
    .await;
    let uploads = d.data.path().join("uploads");
    let file = "steps:\n  - cmd: busybox true\n";
    let kept = d.upload(&[("acb.yaml", file)]).await;
    let name = unique("keeps");
    let task = json!({"name": name, "context": format!("upload:{kept}"), "step": {"kind": "file", "path": "acb.yaml"}});
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let abandoned = d.upload(&[("acb.yaml", file)]).await;
    let names = || -> Vec<String> {
        std::fs::read_dir(&uploads).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    crate::helper::wait::until("the janitor sweeps the abandoned upload", Duration::from_secs(40), || async {
        !names().iter().any(|f| f.starts_with(&abandoned))
    })
    .await;
    assert!(names().iter().any(|f| f.starts_with(&kept)), "the task's upload went: {:?}", names());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let d = TestDaemon::start(1).await;
    let (status, doc) = d.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, drydock::server::route_docs().len());
    for (path, ops) in paths {
        let concrete = path
            .replace("{name}", "no-such-task")
            .replace("{id}", "zzzz")
            .replace("{timer}", "t")
            .replace("{login_server}", "r");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let r = d.req(m.clone(), &concrete).json(&json!({})).send().await.unwrap();
            let code = r.status().as_u16();
            assert_ne!(code, 405, "{method} {path}");
            if code == 404 {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_eq!(body["code"], "not-found", "{method} {path} is not routed");
            }
        }
    }
    for schema in ["Task", "Run", "RunRequest", "ApiError"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} schema");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tasks_are_refused_with_located_diagnostics() {
    let d = TestDaemon::start(1).await;
    let (status, err) = d.post("/v1/tasks", inline_task("bad", "steps: []\n")).await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("5–50"), "{err}");
    let (status, err) =
        d.post("/v1/tasks", inline_task(&unique("badfile"), "steps:\n  - cmd: {{ .Values.x | nosuch }}\n")).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["diagnostics"][0]["line"], 2, "{err}");
    let mut t = inline_task(&unique("timeout"), "steps:\n  - cmd: busybox true\n");
    t["timeout"] = json!(5);
    let (status, err) = d.post("/v1/tasks", t).await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("300"), "{err}");
    let (status, _) = d.get("/v1/tasks/no-such-task").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_runs_finish_within_the_grace_then_marks_the_rest_error() {
    // A grace period far longer than the short run, so only the long one outlives it.
    let mut d = TestDaemon::start_with(tempfile::tempdir().unwrap(), 2, Duration::from_secs(10)).await;
    let short = inline_task(&unique("short"), "steps:\n  - cmd: busybox sleep 1\n");
    let long = inline_task(&unique("long"), "steps:\n  - cmd: busybox sleep 300\n");
    let (short_name, long_name) =
        (short["name"].as_str().unwrap().to_string(), long["name"].as_str().unwrap().to_string());
    d.post("/v1/tasks", short).await;
    d.post("/v1/tasks", long).await;
    let (_, s) = d.post(&format!("/v1/tasks/{short_name}/runs"), json!({})).await;
    let (_, l) = d.post(&format!("/v1/tasks/{long_name}/runs"), json!({})).await;
    let (short_id, long_id) = (s["id"].as_str().unwrap().to_string(), l["id"].as_str().unwrap().to_string());
    for _ in 0..100 {
        let both = d.get(&format!("/v1/runs/{short_id}")).await.1["status"] == "Running"
            && d.get(&format!("/v1/runs/{long_id}")).await.1["status"] == "Running";
        if both {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let daemon = d.daemon.take().unwrap();
    let service = daemon.service.clone();
    daemon.shutdown.cancel();
    daemon.wait().await;
    let get = |id: String| {
        let store = service.store().clone();
        async move { store.get_run(&id).await.unwrap().unwrap() }
    };
    let short_run = get(short_id.clone()).await;
    assert_eq!(
        short_run.status,
        drydock::run::RunStatus::Succeeded,
        "finished within the grace: {:?}",
        short_run.error
    );
    let long_run = get(long_id.clone()).await;
    assert_eq!(long_run.status, drydock::run::RunStatus::Error);
    assert!(long_run.error.as_deref().unwrap_or_default().contains("shut down"), "{:?}", long_run.error);
    let key = service.settings().object_key(&long_id);
    let docker = DockerHost::connect(None).await.unwrap();
    assert!(docker.list_run_objects(&[("drydock.run", &key)]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_json_bodies_are_refused() {
    let d = TestDaemon::start(1).await;
    let huge = "x".repeat(2 << 20);
    let r = d
        .req(Method::POST, "/v1/tasks")
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())) {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_context_url_is_sealed_used_and_never_shown() {
    let git = crate::helper::git::GitServer::start();
    git.repo("private", &[("acb.yaml", "steps:\n  - cmd: busybox echo fetched with the token\n")]);
    let token = "ctxTOKEN-5f3a9e1b77";
    let server = crate::helper::git_http::GitHttp::start(&git, "deploy", token).await;
    let context = format!("{}/private.git#main", server.url.replacen("http://", &format!("http://deploy:{token}@"), 1));
    let d = TestDaemon::start(1).await;
    let name = unique("urltoken");
    let task = json!({"name": name, "context": context, "step": {"kind": "file", "path": "acb.yaml"}});
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["context"], format!("{}/private.git#main", server.url.replacen("http://", "http://deploy@", 1)));
    assert_eq!(created["git_token"], "***", "the token became the task's sealed git token: {created}");

    // The task's runs fetch with it; so does a quick run given such a URL.
    let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let (log, end) = follow(&d, run["id"].as_str().unwrap(), None).await;
    assert_eq!(end["status"], "Succeeded", "{log}");
    assert!(log.contains("fetched with the token"), "{log}");
    let quick = json!({"context": context, "step": {"kind": "file", "path": "acb.yaml"}});
    let (status, run) = d.post("/v1/runs", quick).await;
    assert_eq!(status, 201, "{run}");
    let (quick_log, end) = follow(&d, run["id"].as_str().unwrap(), None).await;
    assert_eq!(end["status"], "Succeeded", "{quick_log}");
    assert!(server.authorized.load(std::sync::atomic::Ordering::SeqCst) >= 2, "the git server saw the token");

    // No read shows it: the API, the CLI, the run records and logs, an export.
    let export = d.data.path().join("export.tar.gz");
    let out =
        crate::helper::drydock().arg("export").arg("--data-dir").arg(d.data.path()).arg("-o").arg(&export).output();
    assert!(out.unwrap().status.success());
    let exported = std::process::Command::new("tar").arg("-xzOf").arg(&export).output().unwrap().stdout;
    let cli = d.cli(&["task", "show", "--name", &name, "--output", "json"]).await;
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let runs = d.get("/v1/runs").await.1.to_string();
    let reads = [
        d.get(&format!("/v1/tasks/{name}")).await.1.to_string(),
        d.get("/v1/tasks").await.1.to_string(),
        String::from_utf8_lossy(&cli.stdout).into_owned(),
        runs,
        log,
        quick_log,
        String::from_utf8_lossy(&exported).into_owned(),
    ];
    for read in reads {
        assert!(!read.contains(token), "the token in {read}");
    }
    std::fs::remove_file(&export).unwrap();
    // Nor any file of the data directory (database, its WAL, logs, uploads).
    let leaks = files_containing(d.data.path(), token);
    assert!(leaks.is_empty(), "the token is in {leaks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_lists_with_dry_run_then_deletes_runs_and_their_logs() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        config.concurrency = 1;
        // This daemon keeps everything; `drydock prune` gives the limits.
        config.retention = drydock::daemon::retention::Retention { keep_runs: 0, keep_days: 0 };
    })
    .await;
    let name = unique("prune");
    assert_eq!(d.post("/v1/tasks", inline_task(&name, "steps:\n  - cmd: busybox echo pruned-or-not\n")).await.0, 201);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
        let id = run["id"].as_str().unwrap().to_string();
        assert_eq!(d.wait_run(&id).await["status"], "Succeeded");
        ids.push(id);
    }
    let log = |id: &str| d.data.path().join("logs").join(format!("{id}.log"));
    assert!(ids.iter().all(|id| log(id).exists()));

    let none = d.cli(&["prune"]).await;
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--keep-runs"), "{none:?}");

    // A dry run names the two older runs and deletes nothing.
    let dry = d.cli(&["prune", "--keep-runs", "1", "--dry-run", "--output", "json"]).await;
    assert!(dry.status.success(), "{dry:?}");
    let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    let listed: Vec<&str> = report["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()], "{report}");
    assert!(report["runs"].as_array().unwrap().iter().all(|r| r["reason"] == "count" && r["task"] == name.as_str()));
    assert!(report["log_bytes"].as_u64().unwrap() > 0);
    assert!(ids.iter().all(|id| log(id).exists()), "a dry run deleted a log");
    assert_eq!(d.get(&format!("/v1/runs/{}", ids[0])).await.0, 200);
    let text = d.cli(&["prune", "--keep-runs", "1", "--dry-run"]).await;
    assert!(String::from_utf8_lossy(&text.stdout).contains(&ids[0]), "{text:?}");
    assert!(String::from_utf8_lossy(&text.stderr).contains("Would delete 2 finished runs"), "{text:?}");

    // The real thing: the runs and their logs go, the newest stays.
    let done = d.cli(&["prune", "--keep-runs", "1"]).await;
    assert!(done.status.success(), "{done:?}");
    assert!(String::from_utf8_lossy(&done.stderr).contains("Deleted 2 finished runs"), "{done:?}");
    for id in &ids[..2] {
        assert_eq!(d.get(&format!("/v1/runs/{id}")).await.0, 404);
        assert!(!log(id).exists(), "the log of {id} is still there");
    }
    assert_eq!(d.get(&format!("/v1/runs/{}", ids[2])).await.1["status"], "Succeeded");
    assert!(log(&ids[2]).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_runs_and_uploads_are_refused_while_the_disk_is_nearly_full() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |config| {
        // More than any disk has: the guard always trips.
        config.min_free_bytes = u64::MAX / 2;
    })
    .await;
    let (status, body) =
        d.post("/v1/runs", json!({"step": {"kind": "file", "content": "steps:\n  - cmd: busybox true\n"}})).await;
    assert_eq!(status, 507, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("MiB free") && message.contains("--min-free-mib") && message.contains("drydock prune"),
        "{body}"
    );
    let upload =
        d.req(Method::POST, "/v1/contexts").body(crate::helper::context_tar(&[("a", "b")])).send().await.unwrap();
    assert_eq!(upload.status(), 507);
    let cli = d.cli(&["run", "--cmd", "busybox true", "/dev/null"]).await;
    assert!(!cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stderr).contains("--min-free-mib"), "{cli:?}");
    assert!(d.get("/v1/runs").await.1["runs"].as_array().unwrap().is_empty(), "nothing was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_needs_the_upload_its_original_built() {
    let d = TestDaemon::start(1).await;
    let upload = d.upload(&[("acb.yaml", "steps:\n  - cmd: busybox echo from-the-upload {{.Values.v}}\n")]).await;
    let req = json!({"context": format!("upload:{upload}"), "step": {"kind": "file", "path": "acb.yaml"}, "values": {"v": "1"}});
    let (_, run) = d.post("/v1/runs", req).await;
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&id).await["status"], "Succeeded");
    // A quick run's upload goes with it (just after its end is recorded): its rerun cannot build
    // the same context, and says so.
    let uploads = d.data.path().join("uploads");
    crate::helper::wait::until("the upload removed", Duration::from_secs(30), || async {
        !std::fs::read_dir(&uploads).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains(&upload))
    })
    .await;
    let (status, refused) = d.post(&format!("/v1/runs/{id}/rerun"), json!({"values": {"v": "2"}})).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("uploaded context that has been removed"), "{refused}");
    // A run with no upload reruns with its values overridden.
    let (_, plain) = d.post("/v1/runs", json!({"step": {"kind": "file", "content": "steps:\n  - cmd: busybox echo v={{.Values.v}}\n"}, "values": {"v": "1"}})).await;
    let plain_id = plain["id"].as_str().unwrap().to_string();
    assert_eq!(d.wait_run(&plain_id).await["status"], "Succeeded");
    let (status, rerun) = d.post(&format!("/v1/runs/{plain_id}/rerun"), json!({"values": {"v": "2"}})).await;
    assert_eq!(status, 201, "{rerun}");
    let rerun_id = rerun["id"].as_str().unwrap();
    assert_eq!(d.wait_run(rerun_id).await["rerun_of"], json!(plain_id));
    let log = d.req(Method::GET, &format!("/v1/runs/{rerun_id}/logs")).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("v=2"), "{log}");
}
