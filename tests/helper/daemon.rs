//! A drydock daemon started in-process on port 0, in a temporary data directory, on the real
//! dockerd and registry.

use drydock::node::{self, NodeConfig};
use std::time::Duration;

/// A running daemon and an authenticated client for it.
pub struct TestDaemon {
    /// The daemon.
    pub daemon: Option<node::Node>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A valid bearer token.
    pub token: String,
    /// Its data directory.
    pub data: tempfile::TempDir,
    /// An HTTP client.
    pub http: reqwest::Client,
}

impl TestDaemon {
    /// Starts a daemon with `concurrency` workers.
    pub async fn start(concurrency: usize) -> TestDaemon {
        let data = tempfile::tempdir().unwrap();
        Self::start_in(data, concurrency).await
    }

    /// Starts a daemon on an existing data directory (to test restarts).
    pub async fn start_in(data: tempfile::TempDir, concurrency: usize) -> TestDaemon {
        Self::start_with(data, concurrency, Duration::from_secs(5)).await
    }

    /// Starts a daemon with a given shutdown grace period.
    pub async fn start_with(data: tempfile::TempDir, concurrency: usize, grace: Duration) -> TestDaemon {
        Self::start_configured(data, |config| {
            config.concurrency = concurrency;
            config.shutdown_grace = grace;
        })
        .await
    }

    /// Starts a daemon after `configure` has adjusted the test defaults (registry
    /// `127.0.0.1:5000`, 5 s grace); for trigger settings, clocks and the like.
    pub async fn start_configured(data: tempfile::TempDir, configure: impl FnOnce(&mut NodeConfig)) -> TestDaemon {
        let mut config = NodeConfig::new(data.path().to_path_buf());
        config.registry = "127.0.0.1:5000".into();
        config.shutdown_grace = Duration::from_secs(5);
        configure(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = node::start(config, listener).await.expect("daemon starts");
        let token = drydock::daemon::tokens::create_token(d.service.store().as_ref(), "tests").await.unwrap().token;
        let url = format!("http://{}", d.addr);
        TestDaemon { daemon: Some(d), url, token, data, http: drydock::tls::client() }
    }

    /// `GET|POST|… url` with the token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
    }

    /// POSTs JSON and returns the status and JSON body.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self.req(reqwest::Method::POST, path).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Uploads a context archive holding `files` (see [`super::context_tar`]); returns its id.
    pub async fn upload(&self, files: &[(&str, &str)]) -> String {
        let r = self.req(reqwest::Method::POST, "/v1/contexts").body(super::context_tar(files)).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let info: serde_json::Value = r.json().await.unwrap();
        info["id"].as_str().unwrap().to_string()
    }

    /// GETs JSON.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Runs the CLI against this daemon (off the async runtime: it is a separate process).
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let (url, token) = (self.url.clone(), self.token.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            super::drydock()
                .env("DRYDOCK_SERVER", url)
                .env("DRYDOCK_TOKEN", token)
                .env("NO_COLOR", "1")
                .args(&args)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Stops the daemon gracefully and hands back its data directory (to start another on it).
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(d) = self.daemon.take() {
            d.shutdown.cancel();
            d.wait().await;
        }
        std::mem::replace(&mut self.data, tempfile::tempdir().unwrap())
    }

    /// Queues a run of saved task `task`; its id.
    pub async fn queue(&self, task: &str) -> String {
        let (status, run) = self.post(&format!("/v1/tasks/{task}/runs"), serde_json::json!({})).await;
        assert_eq!(status, 201, "{run}");
        run["id"].as_str().unwrap().to_string()
    }

    /// The node's id.
    pub fn node_id(&self) -> String {
        self.daemon.as_ref().unwrap().service.settings().node_id.clone()
    }

    /// Waits until run `id` has ended and returns its record.
    pub async fn wait_run(&self, id: &str) -> serde_json::Value {
        for _ in 0..1200 {
            let (_, run) = self.get(&format!("/v1/runs/{id}")).await;
            if !matches!(run["status"].as_str(), Some("Queued") | Some("Running")) {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("run {id} did not end");
    }
}

impl Drop for TestDaemon {
    /// A test that ends (or panics) with runs in flight drops the daemon with its runtime, before
    /// it could clean up; remove what it left on the shared engine, so tests do not pile up
    /// networks (Docker's address pools are finite) or containers.
    fn drop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown.cancel();
            let owner = format!("label=drydock.owner={}", d.service.settings().node_id);
            // First let the daemon end or stop its runs and remove their objects (test daemons have
            // a 5 s grace): a run still in flight would otherwise create objects after the sweep
            // below, and the runtime's end would leave them behind. Only a multi-thread runtime can
            // block here; the sweep alone covers the rest.
            if let Ok(rt) = tokio::runtime::Handle::try_current()
                && rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                && !std::thread::panicking()
            {
                tokio::task::block_in_place(|| {
                    rt.block_on(async {
                        let _ = tokio::time::timeout(Duration::from_secs(20), d.wait()).await;
                    })
                });
            }
            for (list, remove) in [
                (vec!["ps", "-aq", "--filter"], vec!["rm", "-f"]),
                (vec!["network", "ls", "-q", "--filter"], vec!["network", "rm"]),
                (vec!["volume", "ls", "-q", "--filter"], vec!["volume", "rm", "-f"]),
            ] {
                let Ok(out) = std::process::Command::new("docker").args(&list).arg(&owner).output() else { return };
                let ids: Vec<String> =
                    String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
                if !ids.is_empty() {
                    let _ = std::process::Command::new("docker").args(&remove).args(&ids).output();
                }
            }
        }
    }
}

/// The secret key every node of the test database `url` shares (a node with another key
/// refuses to start).
pub fn shared_key(url: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("drydock-test-keys");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(url.rsplit('/').next().unwrap())
}

/// A node of the PostgreSQL database `url`, labelled `role=<role>`, with one worker slot and the
/// database's shared key; `configure` adjusts the rest.
pub async fn cluster_node(url: &str, role: &str, configure: impl FnOnce(&mut NodeConfig)) -> TestDaemon {
    let (url, key, role) = (url.to_string(), shared_key(url), role.to_string());
    TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.database_url = Some(url);
        c.secret_key_file = Some(key);
        c.concurrency = 1;
        c.labels.insert("role".into(), role);
        configure(c);
    })
    .await
}

/// Creates saved task `name` running `task_file`, only on nodes labelled `role=<role>`.
pub async fn task_on(d: &TestDaemon, name: &str, role: &str, task_file: &str) {
    let mut task = inline_task(name, task_file);
    task["agent_labels"] = serde_json::json!({ "role": role });
    let (status, body) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{body}");
}

/// A task that runs an inline task file with no context.
pub fn inline_task(name: &str, task_file: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "step": {"kind": "file", "content": task_file}})
}
