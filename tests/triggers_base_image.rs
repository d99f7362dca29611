//! Base-image triggers against the real dockerd and registries: recording the digests builds
//! used, cascades base → mid → app, the watcher finding a push made outside drydock (on a manual
//! clock), a burst within the quiet period, registries answering 503 or 429, and registry
//! notifications from a second docker-registry configured to call the daemon.

use crate::helper::daemon::TestDaemon;
use crate::helper::docker::unique;
use crate::helper::wait::eventually;
use drydock::api::ImageRole;
use drydock::clock::ManualClock;
use drydock::store::TaskImage;
use serde_json::{Value, json};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub(crate) const REGISTRY: &str = "127.0.0.1:5000";

/// Runs the docker CLI and returns its stdout; panics with its stderr when it fails.
async fn docker(args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = tokio::process::Command::new("docker");
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("docker CLI");
    if let Some(text) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().unwrap();
        input.write_all(text.as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds a new image (busybox plus a unique file), pushes it as `reference` with the docker CLI
/// (outside drydock) and returns the pushed digest.
pub(crate) async fn push_new_image(reference: &str) -> String {
    let dockerfile = format!("FROM busybox:latest\nRUN echo {} > /nonce\n", unique("n"));
    docker(&["build", "-q", "-t", reference, "-"], Some(&dockerfile)).await;
    let out = docker(&["push", reference], None).await;
    out.split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in push output: {out}"))
        .to_string()
}

/// Uploads a context holding just `dockerfile`; returns `upload:<id>`.
pub(crate) async fn upload(d: &TestDaemon, dockerfile: &str) -> String {
    format!("upload:{}", d.upload(&[("Dockerfile", dockerfile)]).await)
}

/// Creates a Dockerfile task `FROM from` that pushes `image` (built without the layer cache, so
/// every run pushes a new digest).
pub(crate) async fn build_task(d: &TestDaemon, name: &str, from: &str, image: &str, base_image: Value) {
    let context = upload(d, &format!("FROM {from}\nRUN echo {name} > /built-by\n")).await;
    let task = json!({
        "name": name,
        "context": context,
        "step": {"kind": "docker", "images": [image], "no_cache": true},
        "triggers": {"base_image": base_image},
    });
    let (status, body) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{body}");
}

async fn patch(d: &TestDaemon, name: &str, patch: Value) {
    let r = d.req(reqwest::Method::PATCH, &format!("/v1/tasks/{name}")).json(&patch).send().await.unwrap();
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap_or_default());
}

pub(crate) async fn run_task(d: &TestDaemon, name: &str) -> Value {
    let (status, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(status, 201, "{run}");
    let run = d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    // The images are recorded just after the run's end becomes visible.
    eventually("the run's images to be recorded", || async {
        let (_, deps) = d.get(&format!("/v1/tasks/{name}/dependencies")).await;
        deps["images"].as_array().filter(|i| i.iter().any(|i| i["run_id"] == run["id"])).map(drop)
    })
    .await;
    run
}

/// A task's runs, oldest first.
async fn runs_of(d: &TestDaemon, task: &str) -> Vec<Value> {
    let (_, page) = d.get(&format!("/v1/runs?task={task}")).await;
    let mut runs = page["runs"].as_array().cloned().unwrap_or_default();
    runs.reverse();
    runs
}

/// The runs of `task` that a base-image change started.
pub(crate) async fn image_runs(d: &TestDaemon, task: &str) -> Vec<Value> {
    runs_of(d, task).await.into_iter().filter(|r| r["trigger"]["kind"] == "base_image").collect()
}

/// The watcher's entry for `image` in `GET /v1/images`.
pub(crate) async fn watched(d: &TestDaemon, image: &str) -> Option<Value> {
    let (_, images) = d.get("/v1/images").await;
    images.as_array()?.iter().find(|i| i["image"] == image).cloned()
}

fn pushed_digest(run: &Value) -> String {
    run["output_images"][0]["digest"].as_str().unwrap().to_string()
}

pub(crate) fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::Utc::now()))
}

pub(crate) async fn start(clock: &Arc<ManualClock>, interval: u64, token: Option<&str>) -> TestDaemon {
    let clock = clock.clone();
    let token = token.map(str::to_string);
    TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.clock = clock;
        c.triggers.watch_interval = Duration::from_secs(interval);
        c.triggers.notification_token = token;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_by_drydock_cascades_base_then_mid_then_app_once_each() {
    let clock = manual_clock();
    let d = start(&clock, 3600, None).await;
    let u = unique("cascade");
    let (root, base, mid, app) = (
        format!("{REGISTRY}/{u}-root:latest"),
        format!("{REGISTRY}/{u}-base:latest"),
        format!("{REGISTRY}/{u}-mid:latest"),
        format!("{REGISTRY}/{u}-app:latest"),
    );
    let root_digest = push_new_image(&root).await;
    let (tb, tm, ta) = (format!("{u}-b"), format!("{u}-m"), format!("{u}-a"));
    build_task(&d, &tb, &root, &base, json!({})).await;
    build_task(&d, &tm, &base, &mid, json!({})).await;
    build_task(&d, &ta, &mid, &app, json!({})).await;
    let base1 = pushed_digest(&run_task(&d, &tb).await);
    let mid1 = pushed_digest(&run_task(&d, &tm).await);
    run_task(&d, &ta).await;

    // What each build used is recorded with the digest really used: mid's base is the digest
    // base's run pushed.
    let (status, deps) = d.get(&format!("/v1/tasks/{tm}/dependencies")).await;
    assert_eq!(status, 200, "{deps}");
    let images = deps["images"].as_array().unwrap();
    let of = |role: &str| images.iter().find(|i| i["role"] == role).cloned().unwrap();
    assert_eq!(of("runtime")["image"], base.as_str());
    assert_eq!(of("runtime")["digest"], base1.as_str());
    assert_eq!(of("runtime")["watched"], true);
    assert_eq!(of("output")["image"], mid.as_str());
    assert_eq!(of("output")["digest"], mid1.as_str());
    assert_eq!(deps["dependents"], json!([ta]));
    let (_, base_deps) = d.get(&format!("/v1/tasks/{tb}/dependencies")).await;
    assert_eq!(base_deps["images"][1]["digest"], root_digest.as_str(), "{base_deps}");
    assert!(image_runs(&d, &tm).await.is_empty(), "the first runs cascade into nobody");

    // A new base, pushed by drydock: mid runs, then app, each once, recording old and new.
    let base_run = run_task(&d, &tb).await;
    let base2 = pushed_digest(&base_run);
    assert_ne!(base1, base2);
    let mid_run = eventually("mid's cascade run", || async {
        image_runs(&d, &tm).await.into_iter().next().filter(|r| r["status"] == "Succeeded")
    })
    .await;
    assert_eq!(
        mid_run["trigger"],
        json!({"kind": "base_image", "image": base, "old_digest": base1, "new_digest": base2,
               "cascade_from": base_run["id"]})
    );
    let mid2 = pushed_digest(&mid_run);
    let app_run = eventually("app's cascade run", || async {
        image_runs(&d, &ta).await.into_iter().next().filter(|r| r["status"] == "Succeeded")
    })
    .await;
    assert_eq!(
        app_run["trigger"],
        json!({"kind": "base_image", "image": mid, "old_digest": mid1, "new_digest": mid2,
               "cascade_from": mid_run["id"]})
    );
    // Order: app was queued only after mid had finished.
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(at(&app_run["queued_at"]) >= at(&mid_run["finished_at"]));
    // Once each: the app's own push cascades into nobody, and nothing else was queued.
    let _ = d.wait_run(app_run["id"].as_str().unwrap()).await;
    assert_eq!(image_runs(&d, &tm).await.len(), 1);
    assert_eq!(image_runs(&d, &ta).await.len(), 1);
    assert_eq!(image_runs(&d, &tb).await.len(), 0);
    // The watcher knows the pushed digest, so it will not fire for it a second time.
    let state = watched(&d, &base).await.unwrap();
    assert_eq!(state["digest"], base2.as_str(), "{state}");
    assert_eq!(state["users"], json!([{"task": tm, "role": "runtime", "digest": base2, "watched": true}]));
    assert_eq!(state["producers"], json!([tb]), "base is built by its task: {state}");

    // The CLI shows the same.
    let text = cli(&d, &["task", "deps", &tm]).await;
    assert!(text.contains(&base) && text.contains("runtime") && text.contains(&base2[..19]), "{text}");
    assert!(text.contains(&format!("Tasks building from its outputs: {ta}")), "{text}");
    let listed: Value = serde_json::from_str(&cli(&d, &["image", "list", "--output", "json"]).await).unwrap();
    let mid_entry = listed.as_array().unwrap().iter().find(|i| i["image"] == mid.as_str()).unwrap();
    assert_eq!(mid_entry["users"][0]["task"], ta.as_str(), "{mid_entry}");
    let table = cli(&d, &["image", "list"]).await;
    assert!(table.contains(&format!("{ta} (runtime)")), "{table}");
}

/// Runs the CLI against the daemon and returns its stdout; panics when it fails.
async fn cli(d: &TestDaemon, args: &[&str]) -> String {
    let out = d.cli(args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A task building from a fresh `<u>-root` image in the shared registry (quiet period 300 s),
/// run once so its base is recorded and scheduled: returns (root image, task, root digest).
async fn watched_root(d: &TestDaemon, prefix: &str) -> (String, String, String) {
    let u = unique(prefix);
    let root = format!("{REGISTRY}/{u}-root:latest");
    let r1 = push_new_image(&root).await;
    let task = format!("{u}-t");
    build_task(d, &task, &root, &format!("{REGISTRY}/{u}-out:latest"), json!({"quiet_period": 300})).await;
    run_task(d, &task).await;
    eventually("the watcher to schedule the image", || async {
        watched(d, &root).await.filter(|w| !w["next_check"].is_null())
    })
    .await;
    (root, task, r1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_fires_once_for_an_outside_push_and_once_for_a_burst() {
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let (root, task, r1) = watched_root(&d, "watch").await;

    // Pushed outside drydock: found at the next check, fired after the quiet period, once.
    let r2 = push_new_image(&root).await;
    clock.advance(Duration::from_secs(61));
    let w =
        eventually("the change to be seen", || async { watched(&d, &root).await.filter(|w| !w["pending"].is_null()) })
            .await;
    assert_eq!(w["pending"]["old_digest"], r1.as_str());
    assert_eq!(w["pending"]["new_digest"], r2.as_str());
    assert!(image_runs(&d, &task).await.is_empty(), "nothing fires within the quiet period");
    clock.advance(Duration::from_secs(301));
    let run = eventually("the base-image run", || async { image_runs(&d, &task).await.into_iter().next() }).await;
    assert_eq!(run["trigger"], json!({"kind": "base_image", "image": root, "old_digest": r1, "new_digest": r2}));
    d.wait_run(run["id"].as_str().unwrap()).await;

    // Two pushes within the quiet period: one run, from the first old to the last new digest.
    let r3 = push_new_image(&root).await;
    clock.advance(Duration::from_secs(61));
    eventually("the first change of the burst", || async {
        watched(&d, &root).await.filter(|w| w["pending"]["new_digest"] == r3.as_str())
    })
    .await;
    let r4 = push_new_image(&root).await;
    clock.advance(Duration::from_secs(61));
    let w = eventually("the second change of the burst", || async {
        watched(&d, &root).await.filter(|w| w["pending"]["new_digest"] == r4.as_str())
    })
    .await;
    assert_eq!(w["pending"]["old_digest"], r2.as_str(), "{w}");
    assert_eq!(image_runs(&d, &task).await.len(), 1);
    clock.advance(Duration::from_secs(301));
    let run = eventually("the burst's run", || async { image_runs(&d, &task).await.into_iter().nth(1) }).await;
    assert_eq!(run["trigger"]["old_digest"], r2.as_str());
    assert_eq!(run["trigger"]["new_digest"], r4.as_str());
    d.wait_run(run["id"].as_str().unwrap()).await;

    // Checks go on and find nothing new: no further run.
    let checked = watched(&d, &root).await.unwrap()["checked_at"].clone();
    clock.advance(Duration::from_secs(61));
    eventually("another check", || async { watched(&d, &root).await.filter(|w| w["checked_at"] != checked) }).await;
    clock.advance(Duration::from_secs(301));
    let w = watched(&d, &root).await.unwrap();
    assert!(w["pending"].is_null(), "{w}");
    assert_eq!(w["digest"], r4.as_str());
    assert_eq!(image_runs(&d, &task).await.len(), 2);
}

/// A registry that answers `status` to everything, counting requests.
async fn failing_registry(status: axum::http::StatusCode) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (status, "not today")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_answering_503_or_429_record_the_error_and_never_fire() {
    use axum::http::StatusCode;
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let (down, down_hits) = failing_registry(StatusCode::SERVICE_UNAVAILABLE).await;
    let (busy, busy_hits) = failing_registry(StatusCode::TOO_MANY_REQUESTS).await;
    let task = unique("flaky");
    let (status, body) =
        d.post("/v1/tasks", crate::helper::daemon::inline_task(&task, "steps:\n  - cmd: busybox true\n")).await;
    assert_eq!(status, 201, "{body}");
    // No build can pull from a registry that is down, so the record a build would leave is
    // written directly.
    let images = [format!("{down}/flaky/base:latest"), format!("{busy}/flaky/base:latest")];
    let svc = d.daemon.as_ref().unwrap().service.clone();
    let used: Vec<TaskImage> = images
        .iter()
        .map(|image| TaskImage {
            task: task.clone(),
            image: image.clone(),
            role: ImageRole::Runtime,
            digest: Some(format!("sha256:{}", "a".repeat(64))),
            run_id: "0000".into(),
            recorded_at: chrono::Utc::now(),
        })
        .collect();
    svc.store().record_task_images(&task, &used).await.unwrap();
    for image in &images {
        eventually("the watcher to schedule the image", || async {
            watched(&d, image).await.filter(|w| !w["next_check"].is_null())
        })
        .await;
    }
    clock.advance(Duration::from_secs(61));
    let mut errors = Vec::new();
    for image in &images {
        let w = eventually("the failed check", || async { watched(&d, image).await.filter(|w| !w["error"].is_null()) })
            .await;
        assert!(w["pending"].is_null(), "{w}");
        errors.push(w["error"].as_str().unwrap().to_string());
    }
    assert!(errors[0].contains("503"), "{errors:?}");
    assert!(errors[1].contains("rate limited"), "{errors:?}");
    assert!(down_hits.load(Ordering::SeqCst) >= 2, "the client retries a 503");
    assert!(busy_hits.load(Ordering::SeqCst) >= 2, "the client retries a 429");
    clock.advance(Duration::from_secs(3600));
    let (_, deps) = d.get(&format!("/v1/tasks/{task}/dependencies")).await;
    assert!(deps["images"][0]["error"].is_string(), "{deps}");
    assert!(runs_of(&d, &task).await.is_empty(), "a failing registry never fires");

    // This daemon has no notification token: the endpoint says how to enable it.
    let r = d.http.post(format!("{}/hooks/registry", d.url)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("--notification-token-file"));
}

/// A second docker-registry on its own port and storage that notifies `hook` of every event.
struct NotifyingRegistry {
    child: Child,
    _dir: tempfile::TempDir,
    host: String,
}

impl NotifyingRegistry {
    fn start(hook: &str, token: &str) -> NotifyingRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = crate::helper::registry::free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n\
             http:\n  addr: 127.0.0.1:{port}\nnotifications:\n  endpoints:\n    - name: drydock\n      \
             url: {hook}\n      headers:\n        Authorization: [\"Bearer {token}\"]\n      timeout: 2s\n      \
             threshold: 5\n      backoff: 1s\n",
            root = dir.path().display()
        );
        let child = crate::helper::registry::serve(dir.path(), &config, port);
        NotifyingRegistry { child, _dir: dir, host: format!("127.0.0.1:{port}") }
    }
}

impl Drop for NotifyingRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_notifications_recheck_at_once() {
    let clock = manual_clock();
    let token = "notify-token-7f3a";
    // An interval nobody waits for: only the notification can make the watcher look.
    let d = start(&clock, 86_400, Some(token)).await;
    let registry = NotifyingRegistry::start(&format!("{}/hooks/registry", d.url), token);
    let u = unique("notify");
    let root = format!("{}/{u}/root:latest", registry.host);
    let r1 = push_new_image(&root).await;
    let task = format!("{u}-t");
    build_task(&d, &task, &root, &format!("{REGISTRY}/{u}-out:latest"), json!({"quiet_period": 0})).await;
    run_task(&d, &task).await;

    // The wrong token is refused.
    let hook = format!("{}/hooks/registry", d.url);
    let r = d.http.post(&hook).bearer_auth("wrong").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = d.http.post(&hook).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // A push to the registry: it notifies the daemon, which asks the registry and fires (quiet
    // period 0) without the clock moving.
    let r2 = push_new_image(&root).await;
    let mut run = None;
    for _ in 0..600 {
        run = image_runs(&d, &task).await.into_iter().next();
        if run.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(run) = run else { panic!("no notified run; the watcher saw {:?}", watched(&d, &root).await) };
    assert_eq!(run["trigger"], json!({"kind": "base_image", "image": root, "old_digest": r1, "new_digest": r2}));
    d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(image_runs(&d, &task).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_its_quiet_period_fires_after_a_restart() {
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let (root, task, r1) = watched_root(&d, "restart").await;
    let r2 = push_new_image(&root).await;
    clock.advance(Duration::from_secs(61));
    eventually("the change to be seen", || async { watched(&d, &root).await.filter(|w| !w["pending"].is_null()) })
        .await;

    // Stopped in the middle of the quiet period; the pending change is in the database.
    let data = d.stop().await;
    let c = clock.clone();
    let d = TestDaemon::start_configured(data, move |config| {
        config.clock = c;
        config.triggers.watch_interval = Duration::from_secs(60);
    })
    .await;
    clock.advance(Duration::from_secs(301));
    let run =
        eventually("the run after the restart", || async { image_runs(&d, &task).await.into_iter().next() }).await;
    assert_eq!(run["trigger"], json!({"kind": "base_image", "image": root, "old_digest": r1, "new_digest": r2}));
    d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(image_runs(&d, &task).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_pushing_its_own_base_does_not_trigger_itself() {
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let u = unique("selfbase");
    let image = format!("{REGISTRY}/{u}-img:latest");
    push_new_image(&image).await;
    let task = format!("{u}-t");
    build_task(&d, &task, &image, &image, json!({"quiet_period": 0})).await;
    let run = run_task(&d, &task).await;
    let pushed = pushed_digest(&run);
    let w = eventually("the watcher to schedule the image", || async {
        watched(&d, &image).await.filter(|w| !w["next_check"].is_null())
    })
    .await;
    // The push is known as the image's digest, so neither the cascade nor the watcher fires.
    assert_eq!(w["digest"], pushed.as_str(), "{w}");
    clock.advance(Duration::from_secs(61));
    eventually("a check", || async { watched(&d, &image).await.filter(|w| !w["checked_at"].is_null()) }).await;
    clock.advance(Duration::from_secs(61));
    eventually("a second check", || async {
        watched(&d, &image).await.filter(|w| w["checked_at"] != w["changed_at"] && w["pending"].is_null())
    })
    .await;
    assert_eq!(runs_of(&d, &task).await.len(), 1, "only the manual run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_run_ending_late_does_not_replace_the_newer_record() {
    let clock = manual_clock();
    let d = start(&clock, 3600, None).await;
    let u = unique("late");
    let image = format!("{REGISTRY}/{u}-img:latest");
    let base = format!("{REGISTRY}/{u}-base:latest");
    push_new_image(&base).await;
    let task = format!("{u}-t");
    build_task(&d, &task, &base, &image, json!({})).await;
    let older = run_task(&d, &task).await;
    let newer = run_task(&d, &task).await;
    // The older run's end is processed again, as if it had finished last.
    let svc = d.daemon.as_ref().unwrap().service.clone();
    drydock::triggers::run_finished(&svc, older["id"].as_str().unwrap()).await;
    let (_, deps) = d.get(&format!("/v1/tasks/{task}/dependencies")).await;
    let images = deps["images"].as_array().unwrap();
    assert!(!images.is_empty() && images.iter().all(|i| i["run_id"] == newer["id"]), "{deps}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tasks_building_from_each_other_do_not_loop() {
    let clock = manual_clock();
    let d = start(&clock, 3600, None).await;
    let u = unique("cycle");
    let (a_img, b_img) = (format!("{REGISTRY}/{u}-a:latest"), format!("{REGISTRY}/{u}-b:latest"));
    push_new_image(&a_img).await;
    push_new_image(&b_img).await;
    let (a, b) = (format!("{u}-ta"), format!("{u}-tb"));
    build_task(&d, &a, &b_img, &a_img, json!({})).await;
    build_task(&d, &b, &a_img, &b_img, json!({})).await;
    run_task(&d, &a).await;
    // b's push cascades into a (which built from the old b); a's push would cascade into b,
    // which started this chain, so it stops there.
    let b_run = run_task(&d, &b).await;
    let a_run = eventually("a's cascade run", || async { image_runs(&d, &a).await.into_iter().next() }).await;
    assert_eq!(a_run["trigger"]["cascade_from"], b_run["id"]);
    let a_run = d.wait_run(a_run["id"].as_str().unwrap()).await;
    assert_eq!(a_run["status"], "Succeeded", "{a_run}");
    // a's run has finished (and its push was handled) once b's record shows the new a digest is
    // known to the watcher.
    eventually("a's push to be recorded", || async {
        watched(&d, &a_img).await.filter(|w| w["digest"] == pushed_digest(&a_run).as_str())
    })
    .await;
    assert_eq!(runs_of(&d, &b).await.len(), 1, "b is not queued again");
    assert_eq!(runs_of(&d, &a).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_logs_in_with_the_tasks_credentials() {
    let password = unique("pw");
    let reg = crate::helper::registry::AuthRegistry::start("ci", &password);
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let u = unique("private");
    let root = format!("{}/{u}/root:latest", reg.host);
    let login = json!([{"login_server": reg.host, "username": "ci", "password": password}]);
    // One task publishes the private base, another builds from it; both carry the login.
    let publisher = format!("{u}-p");
    build_task(&d, &publisher, "busybox:latest", &root, json!({})).await;
    patch(&d, &publisher, json!({"credentials": login})).await;
    let r1 = pushed_digest(&run_task(&d, &publisher).await);
    let task = format!("{u}-t");
    build_task(&d, &task, &root, &format!("{REGISTRY}/{u}-out:latest"), json!({})).await;
    patch(&d, &task, json!({"credentials": login})).await;
    run_task(&d, &task).await;
    eventually("the watcher to schedule the image", || async {
        watched(&d, &root).await.filter(|w| !w["next_check"].is_null())
    })
    .await;
    clock.advance(Duration::from_secs(61));
    let w = eventually("the check", || async { watched(&d, &root).await.filter(|w| !w["checked_at"].is_null()) }).await;
    assert!(w["error"].is_null(), "the registry refused the watcher: {w}");
    assert_eq!(w["digest"], r1.as_str());
    assert!(w["pending"].is_null());
    let (_, deps) = d.get(&format!("/v1/tasks/{task}/dependencies")).await;
    assert!(!deps.to_string().contains(&password) && !w.to_string().contains(&password));
}

/// Whether `d` runs the base-image watcher now (`GET /v1/info`).
async fn leads_watcher(d: &TestDaemon) -> bool {
    let (_, info) = d.get("/v1/info").await;
    info["leads"].as_array().is_some_and(|l| l.iter().any(|r| r == "base-image-watcher"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_notification_to_any_node_reaches_the_watcher() {
    let Some(url) = crate::helper::postgres::database().await else { return };
    let key = std::env::temp_dir().join(format!("drydock-base-image-key-{}", unique("k")));
    let clock = manual_clock();
    let token = "pg-notify-token";
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let (url, key, clock) = (url.clone(), key.clone(), clock.clone());
        nodes.push(
            TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
                c.database_url = Some(url);
                c.secret_key_file = Some(key);
                c.clock = clock;
                c.triggers.watch_interval = Duration::from_secs(86_400);
                c.triggers.notification_token = Some(token.into());
            })
            .await,
        );
    }
    // The registry notifies the node that does not run the watcher.
    let follower = eventually("a watcher leader", || async {
        let (a, b) = (leads_watcher(&nodes[0]).await, leads_watcher(&nodes[1]).await);
        match (a, b) {
            (true, false) => Some(1),
            (false, true) => Some(0),
            _ => None,
        }
    })
    .await;
    let d = &nodes[follower];
    let registry = NotifyingRegistry::start(&format!("{}/hooks/registry", d.url), token);
    let u = unique("pgnotify");
    let root = format!("{}/{u}/root:latest", registry.host);
    let r1 = push_new_image(&root).await;
    let task = format!("{u}-t");
    build_task(d, &task, &root, &format!("{REGISTRY}/{u}-out:latest"), json!({"quiet_period": 0})).await;
    run_task(d, &task).await;

    let r2 = push_new_image(&root).await;
    let run =
        eventually("the run fired by the leader", || async { image_runs(d, &task).await.into_iter().next() }).await;
    assert_eq!(run["trigger"], json!({"kind": "base_image", "image": root, "old_digest": r1, "new_digest": r2}));
    d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(image_runs(d, &task).await.len(), 1);
    let _ = std::fs::remove_file(&key);
}
