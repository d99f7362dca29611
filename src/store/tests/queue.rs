//! The queue: claim order and label matching, many claimers at once, leases, crashed nodes.

use super::{Fixture, LEASE, claimed, labels, new_run, step, stories};
use crate::run::{RunStatus, StepStatus};
use crate::store::{Claim, Fenced};
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

async fn claim_takes_the_oldest_run_the_node_can_run(f: &Fixture) {
    let s = &f.store;
    let mut gpu = new_run(Some("train-model"));
    gpu.required_labels = labels(&[("gpu", "true")]);
    let mut linux = new_run(Some("build-linux"));
    linux.required_labels = labels(&[("os", "linux")]);
    let gpu = s.enqueue_run(gpu).await.unwrap().run().id.clone();
    let plain = s.enqueue_run(new_run(Some("build-web"))).await.unwrap().run().id.clone();
    let linux = s.enqueue_run(linux).await.unwrap().run().id.clone();
    let later = s.enqueue_run(new_run(Some("build-web"))).await.unwrap().run().id.clone();

    // A node without labels takes the unlabelled runs, oldest first.
    let before = Utc::now();
    let run = s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap().unwrap();
    assert_eq!(run.id, plain);
    assert_eq!((run.status, run.node.as_deref()), (RunStatus::Running, Some("node-a")));
    let started = run.started_at.unwrap();
    assert!(started >= before - chrono::Duration::milliseconds(1));
    assert_eq!(run.lease_until, Some(started + chrono::Duration::from_std(LEASE).unwrap()));
    assert_eq!(s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap().unwrap().id, later);
    assert_eq!(s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap(), None);

    // A wrong value does not match; extra node labels do not hurt.
    assert_eq!(s.claim_run("node-b", LEASE, &labels(&[("gpu", "false")])).await.unwrap(), None);
    let both = labels(&[("gpu", "true"), ("os", "linux"), ("zone", "eu")]);
    assert_eq!(s.claim_run("node-c", LEASE, &both).await.unwrap().unwrap().id, gpu);
    let got = s.claim_run("node-c", LEASE, &both).await.unwrap().unwrap();
    assert_eq!((got.id.as_str(), &got.required_labels), (linux.as_str(), &labels(&[("os", "linux")])));
    assert_eq!(s.claim_run("node-c", LEASE, &both).await.unwrap(), None);
}

/// 300 queued runs, three nodes with two workers each claiming as fast as they can: every run
/// is claimed exactly once.
async fn concurrent_claims_take_each_run_once(f: &Fixture) {
    for _ in 0..300 {
        f.store.enqueue_run(new_run(Some("build-web"))).await.unwrap();
    }
    let mut workers = tokio::task::JoinSet::new();
    for n in 0..3 {
        let node = f.node().await;
        for w in 0..2 {
            let (node, name) = (node.clone(), format!("node-{n}"));
            workers.spawn(async move {
                let mut claimed = Vec::new();
                while let Some(run) = node.claim_run(&name, LEASE, &BTreeMap::new()).await.unwrap() {
                    assert_eq!(run.node.as_deref(), Some(name.as_str()), "worker {w}");
                    claimed.push(run.id);
                }
                claimed
            });
        }
    }
    let claims: Vec<String> = workers.join_all().await.into_iter().flatten().collect();
    let distinct: BTreeSet<&String> = claims.iter().collect();
    assert_eq!((claims.len(), distinct.len()), (300, 300));
    let filter = crate::api::RunFilter { status: Some(RunStatus::Queued), ..Default::default() };
    assert!(f.store.list_runs(&filter).await.unwrap().is_empty());
}

async fn an_expired_lease_fails_the_run(f: &Fixture) {
    let s = &f.store;
    let id = claimed(s, Some("build-web"), "node-a").await;
    s.save_step(&id, 0, &step("build", StepStatus::Succeeded)).await.unwrap();
    s.save_step(&id, 1, &step("test", StepStatus::Running)).await.unwrap();
    s.save_step(&id, 2, &crate::run::StepRecord::pending("push")).await.unwrap();

    let held = Claim { run: id.clone(), node: "node-a".into(), epoch: 1 };
    let other = Claim { node: "node-b".into(), ..held.clone() };
    let stale = Claim { epoch: 0, ..held.clone() };
    assert_eq!(s.renew_lease(&other, LEASE).await.unwrap(), Fenced::Lost, "only the owner renews");
    assert_eq!(s.renew_lease(&stale, LEASE).await.unwrap(), Fenced::Lost, "under its current claim");
    assert_eq!(s.renew_lease(&held, Duration::from_secs(120)).await.unwrap(), Fenced::Held);
    assert!(s.fail_expired_leases(Utc::now(), "worker lost").await.unwrap().is_empty());

    let later = Utc::now() + chrono::Duration::seconds(180);
    let failed = s.fail_expired_leases(later, "worker lost").await.unwrap();
    assert_eq!(failed, [(id.clone(), "node-a".to_string())]);
    let run = s.get_run(&id).await.unwrap().unwrap();
    assert_eq!((run.status, run.error.as_deref()), (RunStatus::Error, Some("worker lost")));
    assert_eq!(run.finished_at, Some(super::ms(later.timestamp_millis())));
    assert_eq!(run.steps[0], step("build", StepStatus::Succeeded), "recorded steps are kept");
    assert_eq!((run.steps[1].status, run.steps[2].status), (StepStatus::Failed, StepStatus::Skipped), "and settled");
    assert_eq!(s.renew_lease(&held, LEASE).await.unwrap(), Fenced::Lost, "the node learns it lost the run");
    assert!(s.fail_expired_leases(later, "worker lost").await.unwrap().is_empty());

    // Nothing the fenced-out node writes late lands: not a step, the platform, nor its end.
    let late = step("test", StepStatus::Succeeded);
    assert_eq!(s.save_claimed_step(&held, 1, &late).await.unwrap(), Fenced::Lost);
    assert_eq!(s.set_platform(&held, "linux/arm64").await.unwrap(), Fenced::Lost);
    let end = super::result(RunStatus::Succeeded, vec![]);
    assert_eq!(s.finish_claimed(&held, &end).await.unwrap(), Fenced::Lost);
    assert_eq!(s.get_run(&id).await.unwrap().unwrap(), run, "the reaper's record stands");
}

async fn a_claim_is_timed_by_the_database_and_fences_every_write(f: &Fixture) {
    let s = &f.store;
    let before = Utc::now() - chrono::Duration::milliseconds(5);
    let id = claimed(s, Some("build-web"), "node-a").await;
    let run = s.get_run(&id).await.unwrap().unwrap();
    let started = run.started_at.unwrap();
    assert!(started >= before && started <= Utc::now() + chrono::Duration::milliseconds(5), "{started} {before}");
    assert_eq!(run.lease_until, Some(started + chrono::Duration::from_std(LEASE).unwrap()));
    assert_eq!(run.epoch, 1, "the first claim");

    let held = Claim::of(&run, "node-a");
    let stale = Claim { epoch: 0, ..held.clone() };
    assert_eq!(s.save_claimed_step(&stale, 0, &step("build", StepStatus::Running)).await.unwrap(), Fenced::Lost);
    assert_eq!(s.set_platform(&stale, "linux/arm64").await.unwrap(), Fenced::Lost);
    assert!(!s.pause_run(&stale, "deploy").await.unwrap());
    let end = super::result(RunStatus::Succeeded, vec![]);
    assert_eq!(s.finish_claimed(&stale, &end).await.unwrap(), Fenced::Lost);
    assert_eq!(s.get_run(&id).await.unwrap().unwrap(), run, "a stale claim changed nothing");

    assert_eq!(s.save_claimed_step(&held, 0, &step("build", StepStatus::Succeeded)).await.unwrap(), Fenced::Held);
    assert_eq!(s.set_platform(&held, "linux/amd64").await.unwrap(), Fenced::Held);
    assert_eq!(s.finish_claimed(&held, &end).await.unwrap(), Fenced::Held);
    let run = s.get_run(&id).await.unwrap().unwrap();
    assert_eq!((run.status, run.platform.as_deref()), (RunStatus::Succeeded, Some("linux/amd64")));
    assert_eq!(s.finish_claimed(&held, &end).await.unwrap(), Fenced::Lost, "an ended run is no one's");
}

async fn a_restarted_node_fails_its_runs(f: &Fixture) {
    let s = &f.store;
    let a1 = claimed(s, Some("build-web"), "node-a").await;
    let b1 = claimed(s, Some("build-web"), "node-b").await;
    let a2 = claimed(s, Some("build-api"), "node-a").await;
    s.save_step(&a1, 0, &step("build", StepStatus::Running)).await.unwrap();

    let failed = s.fail_runs_of_node("node-a", "node restarted").await.unwrap();
    assert_eq!(failed, [a1.clone(), a2]);
    let run = s.get_run(&a1).await.unwrap().unwrap();
    assert_eq!((run.status, run.error.as_deref()), (RunStatus::Error, Some("node restarted")));
    assert!(run.finished_at.is_some());
    // No step of a finished run stays running: the interrupted one failed, saying why.
    let [settled] = &run.steps[..] else { panic!("{:?}", run.steps) };
    assert_eq!((settled.status, settled.error.as_deref()), (StepStatus::Failed, Some("interrupted: node restarted")));
    assert_eq!(settled.finished_at, run.finished_at);
    assert_eq!(s.get_run(&b1).await.unwrap().unwrap().status, RunStatus::Running);
    assert!(s.fail_runs_of_node("node-a", "again").await.unwrap().is_empty());
}

/// Another node's queued run wakes this node's listener (PostgreSQL); one node at a time leads a
/// role, and the role is free again once its holder gives it up.
async fn nodes_hear_of_queued_runs_and_one_leads(f: &Fixture) {
    let other = f.node().await;
    let first = f.store.try_lead("watcher").await.unwrap().expect("a free role is taken");
    let pg = f.store.dialect() == crate::store::Dialect::Postgres;
    if !pg {
        // One node per SQLite database: it always leads, and there is nothing to listen to.
        assert!(other.try_lead("watcher").await.unwrap().is_some());
        return;
    }
    assert!(other.try_lead("watcher").await.unwrap().is_none(), "a held role is not taken twice");
    assert!(other.try_lead("poller").await.unwrap().is_some(), "roles are independent");
    drop(first);
    let mut taken = None;
    for _ in 0..100 {
        taken = other.try_lead("watcher").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(taken.is_some(), "a given-up role is free again");

    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let stop = tokio_util::sync::CancellationToken::new();
    let listener = tokio::spawn({
        let (wake, stop) = (wake.clone(), stop.clone());
        async move { other.listen_queue(wake, stop).await }
    });
    // Keep queuing until the listener (connecting in the background) hears one.
    let heard = async {
        loop {
            let notified = wake.notified();
            f.store.enqueue_run(new_run(Some("from-another-node"))).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(500), notified).await.is_ok() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), heard).await.expect("the listener hears queued runs");
    stop.cancel();
    listener.await.unwrap();
}

async fn nodes_silent_for_long_and_holding_nothing_are_forgotten(f: &Fixture) {
    let s = &f.store;
    let report = |id: &str| crate::store::NodeReport {
        id: id.into(),
        url: format!("http://{id}"),
        version: "v".into(),
        labels: BTreeMap::new(),
        slots: 1,
        busy: 0,
        roles: Vec::new(),
        state: crate::api::NodeState::Active,
    };
    for id in ["old-idle", "old-busy", "fresh"] {
        s.report_node(&report(id), true).await.unwrap();
    }
    s.enqueue_run(new_run(Some("t"))).await.unwrap();
    s.claim_run("old-busy", LEASE, &BTreeMap::new()).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.report_node(&report("fresh"), false).await.unwrap();
    // Older than 20 ms: two are that silent, but one still holds a run.
    assert_eq!(s.prune_nodes(Duration::from_millis(20)).await.unwrap(), 1);
    let left: Vec<String> = s.list_nodes(LEASE).await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(left, ["fresh", "old-busy"]);
    assert_eq!(s.prune_nodes(Duration::from_secs(3600)).await.unwrap(), 0);
}

stories!(
    nodes_silent_for_long_and_holding_nothing_are_forgotten,
    nodes_hear_of_queued_runs_and_one_leads,
    claim_takes_the_oldest_run_the_node_can_run,
    concurrent_claims_take_each_run_once,
    an_expired_lease_fails_the_run,
    a_claim_is_timed_by_the_database_and_fences_every_write,
    a_restarted_node_fails_its_runs,
);
