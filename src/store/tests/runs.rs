//! Queuing runs: ids, the dedup key (also under a race), and reopening a database.

use super::{Fixture, new_run, stories};
use crate::api::Trigger;
use crate::run::RunStatus;
use crate::store::Enqueued;

async fn enqueue_gives_increasing_ids(f: &Fixture) {
    let s = &f.store;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let Enqueued::New(run) = s.enqueue_run(new_run(Some("build-web"))).await.unwrap() else { panic!("not new") };
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(s.get_run(&run.id).await.unwrap().as_ref(), Some(&run), "the row returned is the row stored");
        ids.push(run.id);
    }
    assert_eq!(ids, ["0001", "0002", "0003"]);
    assert_eq!(s.get_run("zzzz").await.unwrap(), None);
}

async fn dedup_key_returns_the_existing_run(f: &Fixture) {
    let s = &f.store;
    let mut run = new_run(Some("build-web"));
    run.trigger = Trigger::Timer { name: "t1".into(), occurrence: super::ms(1_700_000_000_000) };
    run.dedup_key = Some("timer:build-web:t1:1700000000".into());
    let Enqueued::New(first) = s.enqueue_run(run.clone()).await.unwrap() else { panic!("not new") };
    let Enqueued::Existing(again) = s.enqueue_run(run.clone()).await.unwrap() else { panic!("not existing") };
    assert_eq!(again, first);

    run.dedup_key = Some("timer:build-web:t1:1700000060".into());
    let Enqueued::New(next) = s.enqueue_run(run).await.unwrap() else { panic!("not new") };
    assert_eq!(next.id, "0002", "a deduplicated enqueue does not use up an id");
}

/// Three nodes' schedulers fire the same timer occurrence 20 times at once: one run.
async fn dedup_key_under_a_race(f: &Fixture) {
    let nodes = [f.store.clone(), f.node().await, f.node().await];
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = nodes[i % nodes.len()].clone();
        racers.spawn(async move {
            let mut run = new_run(Some("build-web"));
            run.dedup_key = Some("git:github:delivery-42".into());
            store.enqueue_run(run).await.unwrap()
        });
    }
    let results = racers.join_all().await;
    let new = results.iter().filter(|r| matches!(r, Enqueued::New(_))).count();
    assert_eq!(new, 1, "exactly one enqueue creates the run");
    let id = &results[0].run().id;
    assert!(results.iter().all(|r| &r.run().id == id));
    let all = f.store.list_runs(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
}

async fn reopening_keeps_data_and_migrating_again_is_a_no_op(f: &Fixture) {
    f.store.enqueue_run(new_run(None)).await.unwrap();
    f.store.kv_put("k", "v").await.unwrap();
    let again = f.node().await;
    again.migrate().await.unwrap();
    assert!(again.get_run("0001").await.unwrap().is_some());
    assert_eq!(again.kv_get("k").await.unwrap().as_deref(), Some("v"));
}

stories!(
    enqueue_gives_increasing_ids,
    dedup_key_returns_the_existing_run,
    dedup_key_under_a_race,
    reopening_keeps_data_and_migrating_again_is_a_no_op,
);
