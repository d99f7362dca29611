//! Test fixtures: throwaway `docker-registry` processes, images built and pushed with the real
//! Docker CLI, and small axum servers for faults a real registry cannot produce on demand.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use tempfile::TempDir;

/// A `docker-registry serve` process on a free loopback port, killed on drop.
pub struct TestRegistry {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    child: Child,
    /// Holds the config and the storage until the registry is dropped.
    _dir: TempDir,
}

impl TestRegistry {
    /// Starts a registry; `extra_yaml` is appended to the config (top-level `auth:`,
    /// `notifications:` …).
    pub async fn start(extra_yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {addr}\n{extra_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (Debian package docker-registry)");
        let registry = Self { addr, child, _dir: dir };
        registry.wait_ready().await;
        registry
    }

    /// Waits (bounded) until the registry answers `/v2/` at all; 401 counts as up.
    async fn wait_ready(&self) {
        let url = format!("http://{}/v2/", self.addr);
        for _ in 0..200 {
            if crate::tls::client().get(&url).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("registry at {} did not come up", self.addr);
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `docker` with `args` (and `DOCKER_CONFIG`, if given); panics with stderr on failure.
pub async fn docker(args: &[&str], docker_config: Option<&Path>) -> String {
    let mut command = tokio::process::Command::new("docker");
    command.args(args);
    if let Some(dir) = docker_config {
        command.env("DOCKER_CONFIG", dir);
    }
    let output = command.output().await.expect("docker CLI must be installed");
    assert!(output.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A local image tag removed again on drop, so tests leave dockerd as they found it.
pub struct LocalImage(pub String);

impl Drop for LocalImage {
    fn drop(&mut self) {
        let _ =
            Command::new("docker").args(["rmi", "-f", &self.0]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// Builds `FROM busybox` plus a file with unique content: an image no registry has seen.
pub async fn build_unique_image() -> LocalImage {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nonce = format!(
        "{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), format!("FROM busybox\nRUN echo {nonce} > /nonce\n")).unwrap();
    let tag = format!("drydock-registry-test:{nonce}");
    let image = LocalImage(tag.clone());
    docker(&["build", "-q", "-t", &tag, &context.path().to_string_lossy()], None).await;
    image
}

/// Tags `local` as `target` (`host/repo:tag`), pushes it, and returns the digest dockerd
/// recorded for that repository (its `RepoDigests` entry).
pub async fn push(local: &str, target: &str, docker_config: Option<&Path>) -> String {
    let tagged = LocalImage(target.to_owned());
    docker(&["tag", local, target], None).await;
    docker(&["push", target], docker_config).await;
    let repo_digests = docker(&["inspect", "--format", "{{json .RepoDigests}}", target], None).await;
    drop(tagged);
    // The same image may have been pushed elsewhere too, so pick this repository's entry.
    let repository = target.rsplit_once(':').unwrap().0;
    let digests: Vec<String> = serde_json::from_str(&repo_digests).unwrap();
    digests
        .iter()
        .find_map(|d| d.strip_prefix(&format!("{repository}@")))
        .unwrap_or_else(|| panic!("no RepoDigest for {repository} in {digests:?}"))
        .to_owned()
}

/// A request as a fake server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and raw query.
    pub uri: String,
    pub authorization: Option<String>,
    pub host: String,
}

impl Seen {
    /// A decoded query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://x{}", self.uri)).unwrap();
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// What a fake server does with the n-th request (0-based): answer, or hang forever.
pub type FakeHandler = Arc<dyn Fn(usize, &Seen) -> Option<Response> + Send + Sync>;

/// A fault-injecting HTTP server on a loopback port.
pub struct Fake {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// Serves every request with `handler` on the current runtime (so a paused clock applies).
    pub async fn start(handler: impl Fn(usize, &Seen) -> Option<Response> + Send + Sync + 'static) -> Self {
        let handler: FakeHandler = Arc::new(handler);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let handler = handler.clone();
            let log = log.clone();
            async move {
                // Only the head is kept: the body is not Sync, and the future must be Send.
                let (request, _body) = request.into_parts();
                let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let this = Seen {
                    method: request.method.to_string(),
                    uri: request.uri.to_string(),
                    authorization: header("authorization"),
                    host: header("host").unwrap_or_default(),
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(this.clone());
                    log.len() - 1
                };
                match handler(index, &this) {
                    Some(response) => response,
                    None => std::future::pending().await,
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, seen }
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A manifest response: `digest` in the header (if given) and `body`.
pub fn manifest_response(status: u16, digest: Option<&str>, body: &'static str) -> Response {
    let mut builder =
        Response::builder().status(status).header("content-type", "application/vnd.oci.image.manifest.v1+json");
    if let Some(digest) = digest {
        builder = builder.header("docker-content-digest", digest);
    }
    builder.body(axum::body::Body::from(body)).unwrap()
}

/// A response with a status and extra headers.
pub fn status_response(status: u16, headers: &[(&str, &str)]) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(axum::body::Body::empty()).unwrap()
}
