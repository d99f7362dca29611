//! What an operator sees of the process itself: `drydock serve`'s own log on stderr (plain text
//! without escape codes when stderr is not a terminal, or one JSON object a line) and
//! `drydock --version` naming the commit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `drydock serve` on port 0 with its stderr piped; killed when dropped.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    _data: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], env: &[(&str, &str)]) -> Daemon {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("drydock"))
        .args(["serve", "--listen", "127.0.0.1:0", "--registry", "127.0.0.1:5000", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Daemon { child, lines, _data: data }
}

/// The lines of stderr up to and including the one that says the daemon serves.
fn lines_until_serving(d: &Daemon) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = d
            .lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("drydock serve said no more ({e}) after {seen:#?}"));
        let done = line.contains("serving on");
        seen.push(line);
        if done {
            return seen;
        }
    }
}

#[test]
fn log_format_json_writes_one_object_a_line() {
    let d = serve(&["--log-format", "json"], &[]);
    let lines = lines_until_serving(&d);
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event["level"].is_string() && event["timestamp"].is_string(), "{event}");
    }
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["level"], "INFO", "{last}");
    let message = last["fields"]["message"].as_str().unwrap();
    assert!(message.contains(drydock::version::LONG) && message.contains("http://127.0.0.1:"), "{message}");
}

#[test]
fn the_text_log_has_no_escape_codes_when_stderr_is_not_a_terminal() {
    // sqlx's debug events make sure the log has tracing lines, not only the start-up line.
    let d = serve(&[], &[("RUST_LOG", "debug")]);
    let lines = lines_until_serving(&d);
    assert!(lines.iter().any(|l| l.contains("DEBUG") || l.contains(" INFO ")), "{lines:#?}");
    for line in &lines {
        assert!(!line.contains("\x1b["), "an escape code in {line:?}");
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("drydock")).arg("--version").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim_end(), format!("drydock {}", drydock::version::LONG));
    // Built from this checkout, so it names this checkout's HEAD (CI builds from a clone).
    let head = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        let head = String::from_utf8(head.stdout).unwrap();
        assert!(printed.contains(&format!("({} ", head.trim())), "{printed} is not from HEAD {head}");
    }
}

#[test]
fn in_json_mode_a_failed_start_is_a_json_line_too() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let mut d = serve(&["--log-format", "json", "--metrics-listen", &at], &[]);
    let status = d.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let lines: Vec<String> = d.lines.iter().collect();
    let last: serde_json::Value = serde_json::from_str(lines.last().expect("a line")).expect("a JSON line");
    assert_eq!(last["level"], "ERROR", "{last}");
    assert!(last["fields"]["message"].as_str().unwrap().contains("--metrics-listen"), "{last}");
}
