//! `drydock serve` as its own process, for tests that kill it with -9.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `drydock serve`; dropping it kills and reaps the process.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `drydock serve` on `port` with `data` and the extra `args` (registry 127.0.0.1:5000),
/// and waits until it is ready.
pub async fn serve(data: &Path, port: u16, args: &[&str]) -> Serve {
    serve_with(data, port, args, &[]).await
}

/// [`serve`] with `env` set for the process (a Docker host, its certificates).
pub async fn serve_with(data: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> Serve {
    let child = Command::new(assert_cmd::cargo::cargo_bin("drydock"))
        .envs(env.iter().copied())
        .args(["serve", "--registry", "127.0.0.1:5000", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned by `Serve` at once, so that a failed start still kills and reaps it.
    let serve = Serve { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..200 {
        if drydock::tls::client()
            .get(format!("{}/readyz", serve.url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return serve;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("drydock serve did not become ready");
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
