//! `GET /metrics` as Prometheus scrapes it: after a manual run, a timer's run and two refused
//! webhook deliveries, the scrape parses as Prometheus' text format and counts each of them, with
//! labels from fixed sets only; and `--metrics-listen` moves it off the API's address.

use crate::helper::daemon::{TestDaemon, inline_task};
use crate::helper::docker::unique;
use crate::helper::wait::eventually;
use chrono::{DateTime, Utc};
use drydock::clock::ManualClock;
use drydock::triggers::source::signature::sign;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use std::sync::Arc;

const TASK_FILE: &str = "steps:\n  - cmd: busybox echo counted {{.Run.ID}}\n";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// GETs `url` without a token and parses the answer as Prometheus' text format.
async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = r.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the scrape parses as Prometheus text")
}

/// The sample of `metric` whose labels include all of `labels`.
fn sample<'s>(scrape: &'s Scrape, metric: &str, labels: &[(&str, &str)]) -> &'s Sample {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric} with {labels:?} in the scrape"))
}

/// A counter's or gauge's value, or a histogram's count of observations.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match &sample(scrape, metric, labels).value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        Value::Summary(_) => panic!("{metric} is a summary"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_runs_deliveries_timer_fires_and_log_output() {
    let clock = Arc::new(ManualClock::new(at("2026-03-01T09:59:30Z")));
    let manual = clock.clone();
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
        c.clock = manual;
        c.concurrency = 2;
    })
    .await;
    let service = d.daemon.as_ref().unwrap().service.clone();
    let name = unique("metrics");
    let mut task = inline_task(&name, TASK_FILE);
    task["timers"] = json!([{"name": "hourly", "schedule": "0 * * * *"}]);
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);

    // A manual run.
    let (status, run) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    assert_eq!(status, 201, "{run}");
    let manual_run = d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(manual_run["status"], "Succeeded", "{manual_run}");

    // A timer fires at 10:00.
    drydock::triggers::timer::pass(&service).await.unwrap();
    clock.set(at("2026-03-01T10:00:02Z"));
    drydock::triggers::timer::pass(&service).await.unwrap();
    let timer_run = eventually("the timer's run", || async {
        let (_, page) = d.get(&format!("/v1/runs?task={name}&trigger=timer")).await;
        page["runs"][0]["id"].as_str().map(str::to_string)
    })
    .await;
    let timer_run = d.wait_run(&timer_run).await;
    assert_eq!(timer_run["status"], "Succeeded", "{timer_run}");

    // Two deliveries refused: one for a task that does not exist, one for a repository no task
    // builds (with a bad signature too).
    let sha = "2".repeat(40);
    let push = json!({"ref": "refs/heads/main", "before": "1".repeat(40), "after": sha, "deleted": false,
        "head_commit": {"id": sha}, "commits": [],
        "repository": {"clone_url": "https://git.invalid/none.git", "html_url": "https://git.invalid/none",
                       "default_branch": "main"}});
    let body = push.to_string().into_bytes();
    let refused = d
        .http
        .post(format!("{}/hooks/generic/no-such-task", d.url))
        .header("X-Drydock-Signature", format!("sha256={}", sign("wrong", &body)))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let refused = d
        .http
        .post(format!("{}/hooks/github", d.url))
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", unique("delivery"))
        .header("X-Hub-Signature-256", "sha256=00")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let s = scrape(&d.http, &format!("{}/metrics", d.url)).await;
    let succeeded =
        |trigger| value(&s, "drydock_runs_finished_total", &[("status", "Succeeded"), ("trigger", trigger)]);
    assert_eq!(succeeded("manual"), 1.0);
    assert_eq!(succeeded("timer"), 1.0);
    assert_eq!(value(&s, "drydock_runs_finished_total", &[("status", "Failed"), ("trigger", "manual")]), 0.0);
    assert_eq!(value(&s, "drydock_run_duration_seconds", &[("status", "Succeeded")]), 2.0);
    assert_eq!(value(&s, "drydock_step_duration_seconds", &[("kind", "cmd"), ("status", "Succeeded")]), 2.0);
    assert_eq!(value(&s, "drydock_queue_wait_seconds", &[]), 2.0);
    for status in ["Queued", "Running", "AwaitingApproval"] {
        for trigger in ["manual", "source", "timer", "base_image"] {
            assert_eq!(
                value(&s, "drydock_runs", &[("status", status), ("trigger", trigger)]),
                0.0,
                "{status} {trigger}"
            );
        }
    }
    let refused =
        |provider| value(&s, "drydock_webhook_deliveries_total", &[("provider", provider), ("outcome", "refused")]);
    assert_eq!(refused("generic"), 1.0);
    assert_eq!(refused("github"), 1.0);
    assert_eq!(value(&s, "drydock_webhook_deliveries_total", &[("provider", "gitlab"), ("outcome", "queued")]), 0.0);
    assert_eq!(value(&s, "drydock_timer_occurrences_total", &[("outcome", "fired")]), 1.0);
    assert_eq!(value(&s, "drydock_timer_occurrences_total", &[("outcome", "skipped")]), 0.0);
    assert!(value(&s, "drydock_log_written_bytes_total", &[]) > 0.0);
    assert_eq!(value(&s, "drydock_base_image_checks_total", &[("result", "error")]), 0.0);
    assert_eq!(value(&s, "drydock_registry_errors_total", &[("kind", "timeout")]), 0.0);
    let node = service.settings().node_id.clone();
    assert_eq!(value(&s, "drydock_worker_slots", &[("node", &node)]), 2.0);
    assert!(value(&s, "drydock_worker_slots_in_use", &[("node", &node)]) <= 2.0);
    let commit = drydock::version::COMMIT;
    assert_eq!(value(&s, "drydock_build_info", &[("version", drydock::version::VERSION), ("commit", commit)]), 1.0);

    // Bounded labels: no run id, task name or message anywhere.
    for sample in &s.samples {
        for (label, v) in sample.labels.iter() {
            for id in [&manual_run["id"], &timer_run["id"]] {
                assert_ne!(v.as_str(), id.as_str().unwrap(), "{} {label}", sample.metric);
            }
            assert!(!v.contains(&name), "{} {label}={v}", sample.metric);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_them_on_another_address_only() {
    let d = TestDaemon::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let at = d.daemon.as_ref().unwrap().metrics_addr.expect("a metrics address");
    assert_ne!(at, d.daemon.as_ref().unwrap().addr);
    let s = scrape(&d.http, &format!("http://{at}/metrics")).await;
    assert_eq!(value(&s, "drydock_build_info", &[("version", drydock::version::VERSION)]), 1.0);
    let api = d.http.get(format!("{}/metrics", d.url)).send().await.unwrap();
    assert_eq!(api.status(), 404);
    // The metrics address serves nothing else.
    let info = d.http.get(format!("http://{at}/v1/info")).bearer_auth(&d.token).send().await.unwrap();
    assert_eq!(info.status(), 404);
    let (status, _) = d.get("/v1/info").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_paused_at_a_gate_counts_as_awaiting_approval_and_holds_no_slot() {
    let d = TestDaemon::start(1).await;
    let node = d.daemon.as_ref().unwrap().service.settings().node_id.clone();
    let name = unique("gated-metrics");
    let gated =
        "steps:\n  - id: prep\n    cmd: busybox true\n  - id: deploy\n    when: [prep]\n    cmd: busybox true\n";
    let mut task = inline_task(&name, gated);
    task["approve_before"] = json!(["deploy"]);
    assert_eq!(d.post("/v1/tasks", task).await.0, 201);
    let (_, queued) = d.post(&format!("/v1/tasks/{name}/runs"), json!({})).await;
    let id = queued["id"].as_str().unwrap().to_string();
    let metrics_url = format!("{}/metrics", d.url);
    // The slot is handed back just after the status changes: wait for both.
    let paused = eventually("the run to pause with its slot given back", || async {
        let s = scrape(&d.http, &metrics_url).await;
        let slots = value(&s, "drydock_worker_slots_in_use", &[("node", &node)]);
        let waiting = value(&s, "drydock_runs", &[("status", "AwaitingApproval"), ("trigger", "manual")]);
        (slots == 0.0 && waiting == 1.0).then_some(s)
    })
    .await;
    assert_eq!(value(&paused, "drydock_runs", &[("status", "Running"), ("trigger", "manual")]), 0.0);

    let (status, rejected) = d.post(&format!("/v1/runs/{id}/reject"), json!({"reason": "not today"})).await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(d.wait_run(&id).await["status"], "Canceled");
    let s = scrape(&d.http, &metrics_url).await;
    assert_eq!(value(&s, "drydock_runs_finished_total", &[("status", "Canceled"), ("trigger", "manual")]), 1.0);
    assert_eq!(value(&s, "drydock_run_duration_seconds", &[("status", "Canceled")]), 1.0);
    assert_eq!(value(&s, "drydock_step_duration_seconds", &[("kind", "cmd"), ("status", "Succeeded")]), 1.0);
    assert_eq!(value(&s, "drydock_runs", &[("status", "AwaitingApproval"), ("trigger", "manual")]), 0.0);
}
