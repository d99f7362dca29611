//! Listing runs: newest first, each filter alone and combined, pages by cursor.

use super::{Fixture, LEASE, image, new_run, result, stories};
use crate::api::{RunFilter, Trigger};
use crate::run::{OutputImage, RunStatus};
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;

/// Queues a run of `task` started by `trigger`, claims it, and ends it with `end` and `images`
/// (or leaves it running / queued).
async fn run(s: &Store, task: Option<&str>, trigger: Trigger, end: RunStatus, images: Vec<OutputImage>) -> String {
    let mut run = new_run(task);
    run.trigger = trigger;
    if end == RunStatus::Queued {
        // Needs a node this story never has, so that later claims pass it by.
        run.required_labels = super::labels(&[("os", "windows")]);
    }
    let id = s.enqueue_run(run).await.unwrap().run().id.clone();
    if end != RunStatus::Queued {
        assert_eq!(s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap().unwrap().id, id);
    }
    if end.is_terminal() {
        s.finish_run(&id, &result(end, images)).await.unwrap();
    }
    id
}

async fn ids(s: &Store, filter: RunFilter) -> Vec<String> {
    s.list_runs(&filter).await.unwrap().into_iter().map(|r| r.id).collect()
}

async fn filters_combine_and_pages_follow_the_cursor(f: &Fixture) {
    let s = &f.store;
    let source = Trigger::Source {
        provider: "github".into(),
        event: "commit".into(),
        delivery_id: None,
        commit: "abc123".into(),
        branch: Some("main".into()),
        pull_request: None,
        repository: "https://github.example/team/api".into(),
        from_fork: false,
        head_repository: None,
    };
    let timer = Trigger::Timer { name: "t1".into(), occurrence: super::ms(1_700_000_000_000) };
    let base = Trigger::BaseImage {
        image: "busybox".into(),
        old_digest: None,
        new_digest: "sha256:2".into(),
        cascade_from: None,
    };
    let web = Some("build-web");
    let r1 = run(s, web, Trigger::Manual, RunStatus::Succeeded, vec![image("reg.example", "team/web", "v1")]).await;
    let r2 = run(s, Some("build-api"), source, RunStatus::Failed, vec![image("", "team/api", "v1")]).await;
    let r3 = run(s, web, timer, RunStatus::Succeeded, vec![image("reg.example", "team/web", "v2")]).await;
    let r4 = run(s, web, Trigger::Manual, RunStatus::Queued, vec![]).await;
    let r5 = run(s, None, base, RunStatus::Running, vec![]).await;

    // Ids are handed out in order, so the expectations below can name them.
    assert_eq!([r1, r2, r3, r4, r5], ["0001", "0002", "0003", "0004", "0005"]);
    let all = s.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["0005", "0004", "0003", "0002", "0001"]);
    assert_eq!(all[4].steps.len(), 1, "listed runs carry their steps");

    let by = |task: Option<&str>, status: Option<RunStatus>, image: Option<&str>, trigger: Option<&str>| RunFilter {
        task: task.map(str::to_string),
        status,
        image: image.map(str::to_string),
        trigger: trigger.map(str::to_string),
        ..RunFilter::default()
    };
    assert_eq!(ids(s, by(web, None, None, None)).await, ["0004", "0003", "0001"]);
    assert_eq!(ids(s, by(None, Some(RunStatus::Succeeded), None, None)).await, ["0003", "0001"]);
    assert_eq!(ids(s, by(None, Some(RunStatus::Running), None, None)).await, ["0005"]);
    for (name, want) in [
        ("team/web", vec!["0003", "0001"]),
        ("team/web:v1", vec!["0001"]),
        ("reg.example/team/web:v1", vec!["0001"]),
        ("reg.example/team/web", vec!["0003", "0001"]),
        ("team/api:v1", vec!["0002"]),
        ("team/api", vec!["0002"]),
        ("web", vec![]),
        ("team/web:v3", vec![]),
    ] {
        assert_eq!(ids(s, by(None, None, Some(name), None)).await, want, "image {name}");
    }
    assert_eq!(ids(s, by(None, None, None, Some("manual"))).await, ["0004", "0001"]);
    assert_eq!(ids(s, by(None, None, None, Some("source"))).await, ["0002"]);
    assert_eq!(ids(s, by(None, None, None, Some("timer"))).await, ["0003"]);
    assert_eq!(ids(s, by(None, None, None, Some("Base-Image"))).await, ["0005"]);
    assert_eq!(ids(s, by(web, Some(RunStatus::Succeeded), Some("team/web"), Some("timer"))).await, ["0003"]);
    assert_eq!(ids(s, by(Some("build-api"), Some(RunStatus::Succeeded), None, None)).await, Vec::<&str>::new());

    // Pages of two, each starting before the last id of the previous one.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = ids(s, RunFilter { top: Some(2), before: before.clone(), ..RunFilter::default() }).await;
        let Some(last) = page.last().cloned() else { break };
        pages.push(page);
        before = Some(last);
    }
    assert_eq!(pages, [vec!["0005", "0004"], vec!["0003", "0002"], vec!["0001"]]);
    let older_web = RunFilter { before: Some("0003".into()), ..by(None, None, Some("team/web"), None) };
    assert_eq!(ids(s, older_web).await, ["0001"]);

    let bad = s.list_runs(&RunFilter { before: Some("zzzz".into()), ..RunFilter::default() }).await.unwrap_err();
    assert!(matches!(bad, StoreError::NotFound { what: "run", .. }), "{bad:?}");
}

async fn top_defaults_to_15_and_stops_at_1000(f: &Fixture) {
    let s = &f.store;
    for _ in 0..20 {
        s.enqueue_run(new_run(None)).await.unwrap();
    }
    assert_eq!(s.list_runs(&RunFilter::default()).await.unwrap().len(), 15);
    assert_eq!(s.list_runs(&RunFilter { top: Some(u32::MAX), ..RunFilter::default() }).await.unwrap().len(), 20);
    assert_eq!(crate::store::sql::MAX_TOP, 1000);
}

async fn last_runs_are_the_newest_run_of_each_saved_task(f: &Fixture) {
    let s = &f.store;
    for name in ["build-web", "build-api", "never-run"] {
        s.insert_task(&super::tasks::task(name)).await.unwrap();
    }
    run(s, Some("build-web"), Trigger::Manual, RunStatus::Succeeded, vec![]).await;
    let api = run(s, Some("build-api"), Trigger::Manual, RunStatus::Failed, vec![]).await;
    let web = run(s, Some("build-web"), Trigger::Manual, RunStatus::Queued, vec![]).await;
    run(s, None, Trigger::Manual, RunStatus::Succeeded, vec![]).await; // a quick run: no task
    run(s, Some("deleted-task"), Trigger::Manual, RunStatus::Succeeded, vec![]).await; // no saved task

    let mut last: Vec<(String, String, RunStatus)> =
        s.last_runs().await.unwrap().into_iter().map(|r| (r.task.unwrap(), r.id, r.status)).collect();
    last.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        last,
        [("build-api".to_string(), api, RunStatus::Failed), ("build-web".to_string(), web, RunStatus::Queued)]
    );
}

stories!(
    filters_combine_and_pages_follow_the_cursor,
    top_defaults_to_15_and_stops_at_1000,
    last_runs_are_the_newest_run_of_each_saved_task
);
