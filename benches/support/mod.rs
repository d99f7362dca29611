//! What the daemon benchmarks share: a daemon started in this process on port 0, in a
//! temporary data directory, on the real dockerd and registry, with a token and an HTTP client.
//! Each bench includes this file with `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)] // each bench uses some of it

use drydock::node::{self, NodeConfig};
use serde_json::Value;
use std::time::Duration;

/// A running daemon and an authenticated client for it.
pub struct Bench {
    /// The daemon.
    pub d: node::Node,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A valid bearer token.
    pub token: String,
    /// A client with a large idle pool (benches open many connections at once).
    pub http: reqwest::Client,
    /// Its data directory.
    pub data: tempfile::TempDir,
}

/// Starts a daemon with `concurrency` workers, after `configure` adjusted its settings.
pub async fn start_with(concurrency: usize, configure: impl FnOnce(&mut NodeConfig)) -> Bench {
    let data = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::new(data.path().to_path_buf());
    config.concurrency = concurrency;
    config.registry = "127.0.0.1:5000".into();
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let d = node::start(config, listener).await.unwrap();
    let token = drydock::daemon::tokens::create_token(d.service.store().as_ref(), "bench").await.unwrap().token;
    let url = format!("http://{}", d.addr);
    let http = drydock::tls::client_builder().pool_max_idle_per_host(256).build().unwrap();
    Bench { d, url, token, http, data }
}

/// Starts a daemon with `concurrency` workers and the defaults.
pub async fn start(concurrency: usize) -> Bench {
    start_with(concurrency, |_| {}).await
}

impl Bench {
    /// POSTs JSON; the answer as JSON.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r =
            self.http.post(format!("{}{path}", self.url)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// Creates a task; panics unless the daemon answers 201.
    pub async fn create_task(&self, task: Value) {
        let r =
            self.http.post(format!("{}/v1/tasks", self.url)).bearer_auth(&self.token).json(&task).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    }

    /// GETs JSON.
    pub async fn get(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// Waits until run `id` has ended; its record.
    pub async fn wait(&self, id: &str) -> Value {
        loop {
            let r = self.get(&format!("/v1/runs/{id}")).await;
            if !matches!(r["status"].as_str(), Some("Queued") | Some("Running")) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the daemon, waits for it, and hands back its data directory (still on disk).
    pub async fn stop(self) -> tempfile::TempDir {
        self.d.shutdown.cancel();
        self.d.wait().await;
        self.data
    }
}
