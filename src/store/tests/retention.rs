//! Retention: which finished runs a policy lets go, and deleting them as two nodes would.

use super::{Fixture, LEASE, new_run, result, stories};
use crate::api::ImageRole;
use crate::run::RunStatus;
use crate::store::{ExpiredBy, Store, TaskImage};
use std::collections::{BTreeMap, HashSet};

/// Queues a run of `task`, claims it, and finishes it unless `end` is `Running`.
async fn run(s: &Store, task: Option<&str>, end: RunStatus) -> String {
    let id = s.enqueue_run(new_run(task)).await.unwrap().run().id.clone();
    assert_eq!(s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap().unwrap().id, id);
    if end.is_terminal() {
        s.finish_run(&id, &result(end, vec![])).await.unwrap();
    }
    id
}

async fn finished_runs_go_by_count_and_age_but_never_running_ones(f: &Fixture) {
    let s = &f.store;
    let mut a = Vec::new();
    for end in [RunStatus::Succeeded, RunStatus::Failed, RunStatus::Succeeded, RunStatus::Succeeded] {
        a.push(run(s, Some("task-a"), end).await);
    }
    let quick = [run(s, None, RunStatus::Succeeded).await, run(s, None, RunStatus::Failed).await];
    let b = run(s, Some("task-b"), RunStatus::Succeeded).await;
    let running = run(s, Some("task-a"), RunStatus::Running).await;
    // The first run of task-a recorded what its images were built from: it stays.
    let record = TaskImage {
        task: "task-a".into(),
        image: "reg.local/base:1".into(),
        role: ImageRole::Runtime,
        digest: None,
        run_id: a[0].clone(),
        recorded_at: chrono::Utc::now(),
    };
    s.record_task_images("task-a", &[record]).await.unwrap();

    // Newest two of each group: the running run counts among task-a's newest and is never listed.
    let by_count = s.expired_runs(Some(2), None, 100).await.unwrap();
    let listed: Vec<(&str, ExpiredBy)> = by_count.iter().map(|r| (r.id.as_str(), r.by)).collect();
    assert_eq!(listed, [(a[1].as_str(), ExpiredBy::Count), (a[2].as_str(), ExpiredBy::Count)]);
    assert_eq!(by_count[0].status, "Failed");

    // The fixture finishes runs at 1_700_000_002_000: a cutoff after it lets every finished run
    // go, one before it none.
    let soon = super::ms(1_700_000_003_000);
    let by_age: Vec<String> = s.expired_runs(None, Some(soon), 100).await.unwrap().into_iter().map(|r| r.id).collect();
    let expected: Vec<String> = a[1..].iter().chain(&quick).chain([&b]).cloned().collect();
    assert_eq!(by_age, expected);
    assert!(s.expired_runs(None, Some(super::ms(1_700_000_001_000)), 100).await.unwrap().is_empty());
    assert_eq!(s.expired_runs(None, Some(soon), 2).await.unwrap().len(), 2, "the limit holds");

    // Two nodes deleting the same runs: each run goes once, a running one not at all.
    let other = f.node().await;
    let wanted = vec![a[1].clone(), a[2].clone(), running.clone()];
    let first = s.delete_runs(&wanted).await.unwrap();
    assert_eq!(first.iter().collect::<HashSet<_>>(), [&a[1], &a[2]].into_iter().collect());
    assert!(other.delete_runs(&wanted).await.unwrap().is_empty());
    assert!(s.get_run(&a[1]).await.unwrap().is_none());
    assert_eq!(s.get_run(&running).await.unwrap().unwrap().status, RunStatus::Running);
    let exists = s.existing_runs(&[a[1].clone(), a[3].clone(), "zzzz".into()]).await.unwrap();
    assert_eq!(exists, [a[3].clone()].into_iter().collect());
    // The list and the image index no longer see them.
    let page = s.list_runs(&crate::api::RunFilter { top: Some(100), ..Default::default() }).await.unwrap();
    assert!(!page.iter().any(|r| r.id == a[1] || r.id == a[2]));
}

stories!(finished_runs_go_by_count_and_age_but_never_running_ones);
