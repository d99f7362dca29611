//! Helpers for tests that run tasks on the real engine through the CLI.

use super::{drydock, repo_root};
use drydock::docker::DockerHost;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const REGISTRY: &str = "127.0.0.1:5000";

/// A unique run id per test run, so parallel tests never share Docker objects.
pub fn run_id(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 1_000_000;
    format!("t{tag}{}{t}{n}", std::process::id() % 1000)
}

pub fn corpus(file: &str) -> Option<PathBuf> {
    let p = repo_root().join("../shared/acr-corpus").join(file);
    p.exists().then_some(p)
}

/// A context with the `hello-world.dockerfile` ACR's samples build.
pub fn hello_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello-world.dockerfile"),
        "FROM busybox\nCMD [\"echo\", \"Hello from hello-world\"]\n",
    )
    .unwrap();
    dir
}

pub struct Outcome {
    pub code: Option<i32>,
    pub record: Value,
    pub log: String,
}

/// Runs `drydock run --local` with `--output json` and returns the exit code, record and log.
pub fn run(id: &str, file: &Path, context: &Path, extra: &[&str]) -> Outcome {
    let out = drydock()
        .args([
            "run",
            "--local",
            "--unique-container-names",
            "-o",
            "json",
            "--registry",
            REGISTRY,
            "--run-id",
            id,
            "-f",
        ])
        .arg(file)
        .args(extra)
        .arg(context)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let record = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("no JSON record; log:\n{log}"));
    Outcome { code: out.status.code(), record, log }
}

pub fn write_task(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("task.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

pub fn step<'a>(record: &'a Value, id: &str) -> &'a Value {
    record["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no step {id}"))
}

/// Nothing labelled with the run id is left on the engine.
pub fn assert_clean(id: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let leftovers = rt.block_on(async {
        let docker = DockerHost::connect(None).await.unwrap();
        docker.list_run_objects(&[("drydock.run", id)]).await.unwrap()
    });
    assert!(leftovers.is_empty(), "run {id} left objects behind: {leftovers:?}");
}

/// The digest the registry itself reports for `repo:tag`, by HEAD with the manifest media types.
pub fn registry_digest(repo: &str, tag: &str) -> String {
    tokio::runtime::Runtime::new().unwrap().block_on(registry_digest_of(repo, tag))
}

/// The manifest media types tests ask the registry for: an image's manifest (Docker's or OCI's),
/// or an index as itself.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// [`registry_digest`] from async code; an index is answered as itself.
pub async fn registry_digest_of(repo: &str, tag: &str) -> String {
    let resp = drydock::tls::client()
        .head(format!("http://{REGISTRY}/v2/{repo}/manifests/{tag}"))
        .header("Accept", MANIFEST_ACCEPT)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "HEAD {repo}:{tag}: {}", resp.status());
    resp.headers()["docker-content-digest"].to_str().unwrap().to_string()
}

/// Removes an image a test built (images carry no run label).
pub fn remove_image(reference: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = DockerHost::connect(None).await.unwrap();
        let _ = docker.remove_image(reference, true).await;
    });
}

/// Serves one body at every path over plain HTTP on a loopback port, until dropped.
pub struct FileServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl FileServer {
    /// Starts serving `body`.
    pub fn start(body: Vec<u8>) -> FileServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            while stopped.try_recv().is_err() {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = conn.write_all(head.as_bytes());
                        let _ = conn.write_all(&body);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        FileServer { url, stop: Some(stop) }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
