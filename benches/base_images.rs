//! Base-image watcher benchmarks (issue 5), against the real dockerd and registry at
//! 127.0.0.1:5000. Run: `cargo bench --bench base_images`.
//!
//! - `requests`: 1000 tasks over 10 distinct base images. The registry is reached through a
//!   small counting proxy, and the watcher's clock is moved one interval at a time: every pass
//!   must send exactly 10 manifest requests (one per image, however many tasks use it).
//! - `latency`: a base image with 100 dependents changes; time from the change being known to
//!   the daemon (the clock passing the check, or a registry notification arriving) until all
//!   100 dependents are queued. Target under 1 s. Runs are pinned to a label no node has, so
//!   they stay queued and only the queuing is measured.
//!
//! Measured on the 2-core development machine (dev profile, SQLite): 10 requests in each of 3
//! passes; 100 dependents queued 0.32–0.49 s after the clock passed the check, 0.34–0.58 s
//! (median 0.44–0.56 s over two runs) after a notification, which was answered in about 3 ms.

use drydock::api::ImageRole;
use drydock::clock::ManualClock;
use drydock::node::{self, NodeConfig};
use drydock::store::TaskImage;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const IMAGES: usize = 10;
const TASKS: usize = 1000;
const INTERVAL: u64 = 300;
const TOKEN: &str = "bench-notification-token";

struct Bench {
    d: node::Node,
    url: String,
    token: String,
    http: reqwest::Client,
    clock: Arc<ManualClock>,
    _data: tempfile::TempDir,
}

impl Bench {
    async fn get(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap();
        r.json().await.unwrap()
    }

    async fn images(&self) -> Vec<Value> {
        self.get("/v1/images").await.as_array().cloned().unwrap_or_default()
    }

    async fn queued_image_runs(&self) -> usize {
        self.get("/v1/runs?trigger=base_image&top=1000").await["runs"].as_array().map_or(0, Vec::len)
    }

    /// Waits until `done` holds for every watched image.
    async fn until_images(&self, what: &str, done: impl Fn(&Value) -> bool) {
        for _ in 0..3000 {
            let images = self.images().await;
            if images.len() == IMAGES && images.iter().all(&done) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

/// A proxy to the shared registry that counts manifest requests.
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let client = drydock::tls::client();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (counter, client) = (counter.clone(), client.clone());
        async move {
            let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            if path.contains("/manifests/") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            let mut forward = client.request(req.method().clone(), format!("http://127.0.0.1:5000{path}"));
            if let Some(accept) = req.headers().get("accept") {
                forward = forward.header("accept", accept.clone());
            }
            let answer = forward.send().await.unwrap();
            let mut response = axum::response::Response::builder().status(answer.status().as_u16());
            for h in ["docker-content-digest", "content-type", "content-length"] {
                if let Some(v) = answer.headers().get(h) {
                    response = response.header(h, v.as_bytes());
                }
            }
            response.body(axum::body::Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), count)
}

fn docker(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("docker")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker CLI");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds a new image and pushes it as `reference`; returns the digest.
fn push_new(reference: &str, nonce: &str) -> String {
    docker(&["build", "-q", "-t", reference, "-"], Some(&format!("FROM busybox:latest\nRUN echo {nonce} > /n\n")));
    let out = docker(&["push", reference], None);
    out.split_whitespace().skip_while(|w| *w != "digest:").nth(1).expect("digest in push output").to_string()
}

#[tokio::main]
async fn main() {
    let prefix = format!("bench-{:x}", std::process::id());
    let (proxy, count) = counting_proxy().await;
    // The images live in the shared registry; the tasks name them through the proxy.
    let digests: Vec<String> = (0..IMAGES)
        .map(|i| push_new(&format!("127.0.0.1:5000/{prefix}-b{i}:latest"), &format!("{prefix}-{i}")))
        .collect();

    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut config = NodeConfig::new(data.path().to_path_buf());
    config.registry = "127.0.0.1:5000".into();
    config.concurrency = 1;
    config.clock = clock.clone();
    config.triggers.watch_interval = Duration::from_secs(INTERVAL);
    config.triggers.notification_token = Some(TOKEN.into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let d = node::start(config, listener).await.unwrap();
    let token = drydock::daemon::tokens::create_token(d.service.store().as_ref(), "bench").await.unwrap().token;
    let url = format!("http://{}", d.addr);
    let b = Bench { d, url, token, http: drydock::tls::client(), clock, _data: data };

    let started = Instant::now();
    let store = b.d.service.store().clone();
    for t in 0..TASKS {
        let name = format!("{prefix}-t{t}");
        let task = json!({
            "name": name,
            "step": {"kind": "cmd", "cmd": "busybox true"},
            "agent_labels": {"bench": "never"},
            "triggers": {"base_image": {"quiet_period": 0}},
        });
        let r = b.http.post(format!("{}/v1/tasks", b.url)).bearer_auth(&b.token).json(&task).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let i = t % IMAGES;
        // What a build of the task would record: its runtime base and the digest it used.
        let used = TaskImage {
            task: name.clone(),
            image: format!("{proxy}/{prefix}-b{i}:latest"),
            role: ImageRole::Runtime,
            digest: Some(digests[i].clone()),
            run_id: "0000".into(),
            recorded_at: chrono::Utc::now(),
        };
        store.record_task_images(&name, &[used]).await.unwrap();
    }
    println!("setup: {TASKS} tasks over {IMAGES} base images in {:?}", started.elapsed());
    b.until_images("first schedules", |i| !i["next_check"].is_null()).await;

    // --- requests per pass ------------------------------------------------------------------
    let mut last: Vec<Value> = Vec::new();
    for pass in 1..=3 {
        count.store(0, Ordering::SeqCst);
        let before: Vec<Value> = b.images().await.iter().map(|i| i["checked_at"].clone()).collect();
        b.clock.advance(Duration::from_secs(INTERVAL + 1));
        b.until_images("a pass", |i| !i["checked_at"].is_null() && !before.contains(&i["checked_at"])).await;
        // Give stragglers a moment: any extra request would show up here.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = count.load(Ordering::SeqCst);
        println!("requests: pass {pass}: {n} manifest requests for {IMAGES} images used by {TASKS} tasks");
        last = b.images().await;
    }
    assert!(last.iter().all(|i| i["error"].is_null()), "{last:?}");
    assert_eq!(b.queued_image_runs().await, 0, "nothing changed, nothing fires");

    // --- latency: clock passes the check --------------------------------------------------
    let per_image = TASKS / IMAGES;
    let mut expected = 0;
    push_new(&format!("127.0.0.1:5000/{prefix}-b0:latest"), &format!("{prefix}-new0"));
    let t0 = Instant::now();
    b.clock.advance(Duration::from_secs(INTERVAL + 1));
    expected += per_image;
    while b.queued_image_runs().await < expected {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("latency: watcher pass (10 checks) → {per_image} dependents queued: {:?}", t0.elapsed());

    // --- latency: registry notification -----------------------------------------------------
    let mut samples = Vec::new();
    for i in 1..6 {
        let repository = format!("{prefix}-b{i}");
        let digest = push_new(&format!("127.0.0.1:5000/{repository}:latest"), &format!("{prefix}-new{i}"));
        let envelope = json!({"events": [{
            "id": format!("{prefix}-event-{i}"),
            "timestamp": chrono::Utc::now(),
            "action": "push",
            "target": {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": digest,
                "repository": repository,
                "url": format!("http://{proxy}/v2/{repository}/manifests/{digest}"),
                "tag": "latest",
            },
            "request": {"host": proxy},
        }]});
        let t0 = Instant::now();
        let r = b
            .http
            .post(format!("{}/hooks/registry", b.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/vnd.docker.distribution.events.v1+json")
            .body(envelope.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let answered = t0.elapsed();
        expected += per_image;
        while b.queued_image_runs().await < expected {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let took = t0.elapsed();
        println!(
            "latency: notification for image {i} answered in {answered:?}; {per_image} dependents queued in {took:?}"
        );
        samples.push(took);
    }
    samples.sort();
    println!("latency: notification → {per_image} dependents queued: median {:?}, max {:?}", samples[2], samples[4]);
    b.d.shutdown.cancel();
}
