//! Real git repositories served by `git-daemon` on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `git` with a fixed identity and no user or system configuration.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "drydock test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "drydock test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .args(["-c", "init.defaultBranch=main"]);
    cmd
}

/// Runs a git command and returns its trimmed stdout; panics with stderr on failure.
pub fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir).args(args).output().expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A served directory of bare repositories; the daemon is killed on drop.
pub struct GitServer {
    child: Child,
    /// Where the bare repositories live.
    pub base: tempfile::TempDir,
    /// `git://127.0.0.1:PORT`.
    pub url: String,
}

impl GitServer {
    /// Starts `git-daemon` itself (the `git daemon` wrapper would leave it running when killed).
    pub fn start() -> GitServer {
        let base = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8_lossy(&exec_path.stdout).trim().to_string();
        let child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1", "--enable=receive-pack"])
            .arg(format!("--base-path={}", base.path().display()))
            .arg(format!("--port={port}"))
            .arg(base.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git-daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        GitServer { child, base, url: format!("git://127.0.0.1:{port}") }
    }

    /// Creates bare repository `name` from the files given, committed on `main`; returns its URL
    /// and a working clone for further commits.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> (String, PathBuf) {
        let bare = self.base.path().join(format!("{name}.git"));
        git_ok(self.base.path(), &["init", "--bare", "-q", bare.to_str().unwrap()]);
        let work = self.base.path().join(format!("{name}-work"));
        std::fs::create_dir_all(&work).unwrap();
        git_ok(&work, &["init", "-q"]);
        for (path, content) in files {
            let p = work.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        git_ok(&work, &["add", "-A"]);
        git_ok(&work, &["commit", "-q", "-m", "initial"]);
        git_ok(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        git_ok(&work, &["push", "-q", "origin", "main"]);
        (format!("{}/{name}.git", self.url), work)
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
