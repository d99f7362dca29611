//! Kill the daemon with -9 mid-run and start it again: the interrupted run becomes Error
//! ("daemon restarted") with its log kept, its Docker objects go, and queued runs still run.

use crate::helper::serve::serve;
use drydock::docker::DockerHost;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

async fn api(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> Value {
    let mut req = drydock::tls::client().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    resp.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_restart() {
    let data = tempfile::tempdir().unwrap();
    // The first token is made offline, as an operator would with `drydock token create --data-dir`.
    let token = {
        let store = drydock::daemon::open_store(data.path(), None).await.unwrap();
        drydock::daemon::tokens::create_token(store.as_ref(), "restart").await.unwrap().token
    };
    let port = crate::helper::serve::free_port();
    let first = serve(data.path(), port, &["--concurrency", "1"]).await;
    let url = first.url.clone();
    let post = reqwest::Method::POST;
    for (name, file) in
        [("slow-task", "steps:\n  - cmd: busybox sleep 300\n"), ("quick-task", "steps:\n  - cmd: busybox echo done\n")]
    {
        let t = api(
            post.clone(),
            &format!("{url}/v1/tasks"),
            &token,
            Some(json!({"name": name, "step": {"kind": "file", "content": file}})),
        )
        .await;
        assert_eq!(t["name"], name, "{t}");
    }
    let slow = api(post.clone(), &format!("{url}/v1/tasks/slow-task/runs"), &token, Some(json!({}))).await;
    let quick = api(post.clone(), &format!("{url}/v1/tasks/quick-task/runs"), &token, Some(json!({}))).await;
    let (slow_id, quick_id) = (slow["id"].as_str().unwrap().to_string(), quick["id"].as_str().unwrap().to_string());

    // Wait for the slow run's step container, then kill the daemon without warning. Docker
    // objects carry `<instance>-<run id>`.
    let docker = DockerHost::connect(None).await.unwrap();
    let instance = {
        let store = drydock::daemon::open_store(data.path(), None).await.unwrap();
        drydock::store::facts::stored_instance_id(&store).await.unwrap().expect("the daemon named its database")
    };
    // The whole key: other tests' daemons on this engine have runs with the same short ids.
    let key = format!("{instance}-{slow_id}");
    let objects_of_slow = || async {
        docker.list_run_objects(&[]).await.unwrap().into_iter().filter(|o| o.run_id == key).collect::<Vec<_>>()
    };
    let mut running = false;
    for _ in 0..300 {
        let objects = objects_of_slow().await;
        if objects.iter().flat_map(|o| &o.containers).any(|c| c.labels.contains_key("drydock.step")) {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(running, "the slow run never started");
    // Logs are flushed every 100 ms; a kill -9 loses what was not flushed yet. Kill once the log
    // already shows the step, so the test checks that the log is kept, not the flush timing.
    let mut logged = false;
    for _ in 0..100 {
        let text = drydock::tls::client()
            .get(format!("{url}/v1/runs/{slow_id}/logs"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("Launching container") {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(logged, "the step never appeared in the log");
    let mut first = first;
    Command::new("kill").args(["-9", &first.child.id().to_string()]).status().unwrap();
    let _ = first.child.wait();
    assert!(!objects_of_slow().await.is_empty(), "leftovers exist before the restart");

    let second = serve(data.path(), port, &["--concurrency", "1"]).await;
    let get = reqwest::Method::GET;
    let interrupted = api(get.clone(), &format!("{}/v1/runs/{slow_id}", second.url), &token, None).await;
    assert_eq!(interrupted["status"], "Error", "{interrupted}");
    assert!(interrupted["error"].as_str().unwrap().contains("daemon restarted"), "{interrupted}");
    let log = drydock::tls::client()
        .get(format!("{}/v1/runs/{slow_id}/logs", second.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("Launching container") && log.contains("daemon restarted"), "the log was kept: {log}");
    // Requests in flight when the daemon died may still create objects after the restart; the
    // janitor sweeps every 10 s.
    let mut clean = false;
    for _ in 0..300 {
        if objects_of_slow().await.is_empty() {
            clean = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(clean, "leftovers removed");
    let mut quick_run = Value::Null;
    for _ in 0..300 {
        quick_run = api(get.clone(), &format!("{}/v1/runs/{quick_id}", second.url), &token, None).await;
        if quick_run["status"] == "Succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(quick_run["status"], "Succeeded", "the queued run still ran: {quick_run}");
}
