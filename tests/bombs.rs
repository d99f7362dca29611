//! Memory bombs in task files and values files (a long string aliased thousands of times: a
//! small file, gigabytes once expanded) are refused by budget, wherever they come from: the CLI,
//! the API, or a git repository a run checks out. Peak memory is read from the kernel: the CLI's
//! through `/usr/bin/time` (the child's rusage), the daemon's from `/proc/PID/status` (VmHWM).

use crate::helper::bombs::{doubling as doubling_bomb, flat as flat_bomb, values as values_bomb};
use crate::helper::drydock;
use crate::helper::git::GitServer;
use crate::helper::serve::{free_port, serve};
use serde_json::{Value, json};
use std::time::Duration;

/// The most a process may reach while refusing a bomb (the target).
const PEAK_LIMIT_KB: u64 = 256 * 1024;

/// Peak resident memory of a process, from `/proc/PID/status`.
fn peak_kb(pid: u32) -> u64 {
    crate::helper::memory::peak_kb(&pid.to_string())
}

#[test]
fn the_cli_refuses_bombs_with_exit_2_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flat.yaml"), flat_bomb(1 << 14)).unwrap();
    std::fs::write(dir.path().join("doubling.yaml"), doubling_bomb(19)).unwrap();
    std::fs::write(dir.path().join("values.yaml"), values_bomb(1 << 14)).unwrap();
    std::fs::write(dir.path().join("ok.yaml"), "steps:\n  - cmd: busybox echo {{.Values.list}}\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("drydock");
    for args in [
        vec!["validate", "-f", "flat.yaml", "."],
        vec!["validate", "-f", "doubling.yaml", "."],
        vec!["render", "-f", "ok.yaml", "--values", "values.yaml", "."],
    ] {
        let rusage = dir.path().join("rusage");
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&rusage)
            .arg(&bin)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", &stderr[..stderr.len().min(2000)]);
        assert!(stderr.contains("MiB of text") && stderr.contains("error[limit]"), "{args:?}");
        // GNU time writes "Command exited with non-zero status 2" before the figure.
        let report = std::fs::read_to_string(&rusage).unwrap();
        let peak: u64 = report.lines().last().unwrap().trim().parse().unwrap();
        eprintln!("{args:?}: peak {peak} KB");
        assert!(peak < PEAK_LIMIT_KB, "{args:?} peaked at {peak} KB");
    }
    // A real file with anchors still works.
    drydock().args(["validate", "-f", "ok.yaml", "."]).current_dir(dir.path()).assert().success();
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Value) -> (u16, Value) {
    let resp = http.request(method, url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_a_checked_out_repository_refuse_bombs_in_little_memory() {
    let data = tempfile::tempdir().unwrap();
    let token = {
        let store = drydock::daemon::open_store(data.path(), None).await.unwrap();
        drydock::daemon::tokens::create_token(store.as_ref(), "bombs").await.unwrap().token
    };
    let daemon = serve(data.path(), free_port(), &["--concurrency", "1"]).await;
    let (url, http, post) = (daemon.url.clone(), drydock::tls::client(), reqwest::Method::POST);

    // Straight to the API: a quick run and a saved task with the bomb inline.
    for bomb in [flat_bomb(1 << 14), doubling_bomb(19)] {
        let step = json!({"kind": "file", "content": bomb});
        let (status, err) = call(&http, post.clone(), format!("{url}/v1/runs"), &token, json!({"step": step})).await;
        assert_eq!(status, 400, "{err}");
        assert!(err["diagnostics"][0]["message"].as_str().unwrap().contains("MiB of text"), "{err}");
        let task = json!({"name": "bomb-inline", "step": step});
        assert_eq!(call(&http, post.clone(), format!("{url}/v1/tasks"), &token, task).await.0, 400);
    }

    // From a repository: the task file and a values file arrive with the checkout.
    let git = GitServer::start();
    let (repo, _) = git.repo(
        "bombs",
        &[
            ("acb.yaml", &flat_bomb(1 << 14)),
            ("ok.yaml", "steps:\n  - cmd: busybox true\n"),
            ("values.yaml", &values_bomb(1 << 14)),
        ],
    );
    for (name, step) in [
        ("bomb-file", json!({"kind": "file", "path": "acb.yaml"})),
        ("bomb-values", json!({"kind": "file", "path": "ok.yaml", "values_file": "values.yaml"})),
    ] {
        let task = json!({"name": name, "context": format!("{repo}#main"), "step": step});
        let (status, created) = call(&http, post.clone(), format!("{url}/v1/tasks"), &token, task).await;
        assert_eq!(status, 201, "{created}");
        let (_, run) = call(&http, post.clone(), format!("{url}/v1/tasks/{name}/runs"), &token, json!({})).await;
        let id = run["id"].as_str().unwrap().to_string();
        let mut ended = Value::Null;
        for _ in 0..600 {
            let (_, r) = call(&http, reqwest::Method::GET, format!("{url}/v1/runs/{id}"), &token, json!(null)).await;
            if !matches!(r["status"].as_str(), Some("Queued" | "Running")) {
                ended = r;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(ended["status"], "Failed", "{name}: {ended}");
        let log = http.get(format!("{url}/v1/runs/{id}/logs")).bearer_auth(&token).send().await.unwrap();
        let log = log.text().await.unwrap();
        assert!(log.contains("MiB of text"), "{name}: {}", &log[..log.len().min(2000)]);
    }

    let peak = peak_kb(daemon.child.id());
    eprintln!("drydock serve: peak {peak} KB");
    assert!(peak < PEAK_LIMIT_KB, "the daemon peaked at {peak} KB");
}
