//! `list_runs` at scale (issue: listing must stay fast with a long history).
//! Run: `cargo bench --bench store`.
//!
//! Fills a fresh SQLite store with 100,000 runs through the `Store` API (50 tasks, mixed
//! triggers and statuses, one pushed image per finished run), then times `list_runs` with the
//! default page and with each filter alone, and prints p50/p99 per case. Target: p50 < 20 ms.
//!
//! DRYDOCK_BENCH_RUNS changes the number of runs; DRYDOCK_BENCH_DB_URL points the bench at
//! another (empty) database instead, e.g. `postgres://postgres@127.0.0.1:5432/bench`.

use drydock::api::{RunFilter, RunType, Trigger};
use drydock::run::{OutputImage, RunStatus, StepRecord, StepStatus};
use drydock::store::{NewRun, RunResult, Store};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TASKS: u64 = 50;
/// A named query: the filter for its i-th repetition.
type Case = (&'static str, Box<dyn Fn(usize) -> RunFilter>);
const QUERIES_PER_CASE: usize = 200;

#[tokio::main]
async fn main() {
    let runs: u64 = std::env::var("DRYDOCK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("DRYDOCK_BENCH_DB_URL").unwrap_or_else(|_| drydock::store::sqlite_url(dir.path()));
    let store = Store::open(&url).await.expect("open the store");

    let started = Instant::now();
    fill(&store, runs).await;
    println!("filled {runs} runs in {:.1} s ({:?})", started.elapsed().as_secs_f64(), store.dialect());

    // Each case cycles through a few parameter values so that no single cached page flatters it.
    let task = |i: usize| format!("task-{:02}", i % TASKS as usize);
    let repo = |i: usize| format!("team/app-{:02}", i % TASKS as usize);
    // A finished run in the newer half, and the image it pushed.
    let recent = move |i: usize| runs - 201 - (i as u64 * 37) % (runs / 2);
    let pushed = move |i: usize| format!("team/app-{:02}:{}", recent(i) % TASKS, recent(i));
    let cases: Vec<Case> = vec![
        ("default (top 15)", Box::new(|_| RunFilter::default())),
        ("task", Box::new(move |i| RunFilter { task: Some(task(i)), ..RunFilter::default() })),
        ("status=Succeeded", Box::new(|_| RunFilter { status: Some(RunStatus::Succeeded), ..RunFilter::default() })),
        ("status=Failed", Box::new(|_| RunFilter { status: Some(RunStatus::Failed), ..RunFilter::default() })),
        ("status=Running (rare)", Box::new(|_| RunFilter { status: Some(RunStatus::Running), ..RunFilter::default() })),
        ("image repo", Box::new(move |i| RunFilter { image: Some(repo(i)), ..RunFilter::default() })),
        ("image repo:tag", Box::new(move |i| RunFilter { image: Some(pushed(i)), ..RunFilter::default() })),
        (
            "image registry/repo:tag",
            Box::new(move |i| RunFilter {
                image: Some(format!("reg.example:5000/{}", pushed(i))),
                ..RunFilter::default()
            }),
        ),
        ("image (no match)", Box::new(|_| RunFilter { image: Some("team/none:1".into()), ..RunFilter::default() })),
        ("trigger=timer", Box::new(|_| RunFilter { trigger: Some("timer".into()), ..RunFilter::default() })),
        ("trigger=base_image", Box::new(|_| RunFilter { trigger: Some("base_image".into()), ..RunFilter::default() })),
        (
            "before (deep page)",
            Box::new(move |i| RunFilter {
                before: Some(drydock::runid::daemon_run_id(recent(i))),
                ..RunFilter::default()
            }),
        ),
        ("top 1000", Box::new(|_| RunFilter { top: Some(1000), ..RunFilter::default() })),
        (
            "task+status",
            Box::new(move |i| RunFilter {
                task: Some(task(i)),
                status: Some(RunStatus::Succeeded),
                ..RunFilter::default()
            }),
        ),
        (
            "status+trigger",
            Box::new(|_| RunFilter {
                status: Some(RunStatus::Failed),
                trigger: Some("manual".into()),
                ..RunFilter::default()
            }),
        ),
        (
            "image repo+status",
            Box::new(move |i| RunFilter {
                image: Some(repo(i)),
                status: Some(RunStatus::Succeeded),
                ..RunFilter::default()
            }),
        ),
        // The worst case of a combination: nothing matches, so the whole range of the index the
        // planner picked (all Failed runs, all of one repository's images) is read.
        (
            "status+trigger, no match",
            Box::new(|_| RunFilter {
                status: Some(RunStatus::Failed),
                trigger: Some("base_image".into()),
                ..RunFilter::default()
            }),
        ),
        (
            "image+status, no match",
            Box::new(|_| RunFilter {
                image: Some("team/app-07".into()),
                status: Some(RunStatus::Failed),
                ..RunFilter::default()
            }),
        ),
    ];
    println!("{:<26} {:>9} {:>9} {:>6}", "list_runs", "p50 ms", "p99 ms", "rows");
    for (name, filter) in &cases {
        let mut times = Vec::with_capacity(QUERIES_PER_CASE);
        let mut rows = 0;
        for i in 0..QUERIES_PER_CASE {
            let filter = filter(i);
            let t = Instant::now();
            rows = store.list_runs(&filter).await.expect("list runs").len();
            times.push(t.elapsed());
        }
        times.sort();
        let p = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        println!("{name:<26} {:>9.2} {:>9.2} {rows:>6}", p(0.50), p(0.99));
    }
    store.close().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` runs: 90% task runs across 50 tasks, triggers 40% manual / 40% source / 15% timer / 5%
/// base image; all but the newest 200 finished (90% Succeeded, 8% Failed, 2% Canceled) with one
/// image each, of the newest 200 half are running and half queued.
async fn fill(store: &Store, n: u64) {
    for i in 1..=n {
        let task = (i % 10 != 0).then(|| format!("task-{:02}", i % TASKS));
        let trigger = match i % 20 {
            0..=7 => Trigger::Manual,
            8..=15 => Trigger::Source {
                provider: "github".into(),
                event: "commit".into(),
                delivery_id: Some(format!("delivery-{i}")),
                commit: format!("{i:040x}"),
                branch: Some("main".into()),
                pull_request: None,
                repository: "https://github.example/team/app".into(),
                from_fork: false,
                head_repository: None,
            },
            16..=18 => Trigger::Timer { name: "t1".into(), occurrence: chrono::Utc::now() },
            _ => Trigger::BaseImage {
                image: "busybox".into(),
                old_digest: None,
                new_digest: "sha256:1".into(),
                cascade_from: None,
            },
        };
        let run = NewRun {
            run_type: if task.is_some() { RunType::AutoRun } else { RunType::QuickRun },
            task,
            trigger,
            request: serde_json::json!({ "values": { "i": i }, "secret_values": { "pw": "enc:v1:AAAA" } }),
            required_labels: BTreeMap::new(),
            dedup_key: None,
            awaiting_approval: false,
            rerun_of: None,
            resumed_from: None,
        };
        let id = store.enqueue_run(run).await.expect("enqueue").run().id.clone();
        if i > n.saturating_sub(200) {
            if i % 2 == 0 {
                store.claim_run("bench-node", Duration::from_secs(60), &BTreeMap::new()).await.expect("claim");
            }
            continue;
        }
        let status = match i % 50 {
            0 => RunStatus::Canceled,
            1..=4 => RunStatus::Failed,
            _ => RunStatus::Succeeded,
        };
        let result = RunResult {
            status,
            steps: vec![StepRecord {
                id: "build".into(),
                status: if status == RunStatus::Succeeded { StepStatus::Succeeded } else { StepStatus::Failed },
                exit_code: Some(0),
                attempts: 1,
                started_at: Some(chrono::Utc::now()),
                finished_at: Some(chrono::Utc::now()),
                error: None,
                needs: Vec::new(),
            }],
            output_images: vec![OutputImage {
                registry: "reg.example:5000".into(),
                repository: format!("team/app-{:02}", i % TASKS),
                tag: i.to_string(),
                digest: Some(format!("sha256:{i:064x}")),
                signature: None,
                platforms: Vec::new(),
            }],
            dependencies: vec![],
            error: None,
            finished_at: chrono::Utc::now(),
            resume: None,
        };
        store.finish_run(&id, &result).await.expect("finish");
    }
}
