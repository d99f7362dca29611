//! A throwaway docker-registry with htpasswd auth on a free loopback port; killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running registry that requires a login.
pub struct AuthRegistry {
    child: Child,
    _dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl AuthRegistry {
    /// Starts a registry accepting only `user`/`password`.
    pub fn start(user: &str, password: &str) -> AuthRegistry {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd =
            Command::new("htpasswd").args(["-Bbn", user, password]).output().expect("htpasswd (apache2-utils)");
        assert!(htpasswd.status.success());
        std::fs::write(dir.path().join("htpasswd"), htpasswd.stdout).unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: drydock-test\n    path: {root}/htpasswd\n",
            root = dir.path().display()
        );
        let child = serve(dir.path(), &config, port);
        AuthRegistry { child, _dir: dir, host: format!("127.0.0.1:{port}") }
    }
}

/// A free loopback port for a registry.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes `config` to `dir/config.yml`, starts docker-registry on it and waits until `port`
/// answers.
pub fn serve(dir: &std::path::Path, config: &str, port: u16) -> Child {
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "registry did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
