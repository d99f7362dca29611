//! Helpers shared by the context tests: running real tools, streams, and guards that clean
//! up processes and Docker objects.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::context::ContextStream;

/// Runs a command, asserting success; returns stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs a command with `input` on stdin, asserting success; returns stdout.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Member names of a tar, as GNU tar lists them.
pub fn tar_names(tar: &[u8]) -> Vec<String> {
    let out = run_with_input(Command::new("tar").args(["-tf", "-"]), tar);
    String::from_utf8(out).unwrap().lines().map(str::to_string).collect()
}

/// Extracts a tar with GNU tar.
pub fn tar_extract(tar: &[u8], dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    run_with_input(Command::new("tar").arg("-xf").arg("-").arg("-C").arg(dest), tar);
}

/// Collects a stream, failing on an error item.
pub async fn drain(mut stream: ContextStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("stream error"));
    }
    out
}

/// Collects a stream until its first error, which is returned.
pub async fn drain_err(mut stream: ContextStream) -> std::io::Error {
    while let Some(chunk) = stream.next().await {
        if let Err(e) = chunk {
            return e;
        }
    }
    panic!("the stream ended without an error")
}

/// `data` as a stream cut at awkward sizes (1 byte, mid-header, just over a block...), so
/// headers and records straddle chunk boundaries.
pub fn chunked(data: Vec<u8>, sizes: &[usize]) -> ContextStream {
    let mut chunks = Vec::new();
    let data = Bytes::from(data);
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - at);
        chunks.push(Ok(data.slice(at..at + n)));
        at += n;
        i += 1;
    }
    Box::pin(futures_util::stream::iter(chunks))
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `git` with a fixed identity and no user or system config.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .args(["-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"]);
    cmd
}

/// A `git daemon` serving a directory; killed on drop.
pub struct GitDaemon {
    child: Child,
    /// Base URL, `git://127.0.0.1:PORT`.
    pub url: String,
}

impl GitDaemon {
    pub fn start(base: &Path) -> GitDaemon {
        let port = free_port();
        // Run `git-daemon` itself: `git daemon` would fork it as a child, and killing the
        // `git` wrapper would leave the daemon running.
        let exec_path = String::from_utf8(run(Command::new("git").arg("--exec-path"))).unwrap();
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--export-all")
            .arg(format!("--base-path={}", base.display()))
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg("--reuseaddr")
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = GitDaemon { child, url: format!("git://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Docker objects removed on drop.
#[derive(Default)]
pub struct DockerCleanup {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub images: Vec<String>,
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
        for v in &self.volumes {
            let _ = Command::new("docker").args(["volume", "rm", "-f", v]).output();
        }
        for i in &self.images {
            let _ = Command::new("docker").args(["rmi", "-f", i]).output();
        }
    }
}

/// A name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Every path under `root` (relative, sorted) with a description: file content, link
/// target, or `dir`, and the permission bits.
pub fn tree(root: &Path) -> Vec<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {mode:o}")
            } else {
                format!("{mode:o} {}", String::from_utf8_lossy(&std::fs::read(&path).unwrap()))
            };
            out.push((rel, what));
        }
    }
    out.sort();
    out
}
