//! A run's record (steps, platform, end, cancel), and the small tables: tokens, contexts, kv.

use super::{Fixture, LEASE, claimed, image, new_run, result, step, stories};
use crate::api::{ContextInfo, TokenInfo};
use crate::run::{RunStatus, StepRecord, StepStatus};
use crate::store::{Claim, StoreError};
use chrono::Utc;
use std::collections::BTreeMap;

async fn steps_and_the_end_of_a_run_round_trip(f: &Fixture) {
    let s = &f.store;
    let id = claimed(s, Some("build-web"), "node-a").await;
    // Steps of a DAG may start out of order; the gap is a placeholder until its step is saved.
    s.save_step(&id, 1, &step("test", StepStatus::Running)).await.unwrap();
    let run = s.get_run(&id).await.unwrap().unwrap();
    assert_eq!(run.steps, [StepRecord::pending(""), step("test", StepStatus::Running)]);
    s.save_step(&id, 0, &step("build", StepStatus::Succeeded)).await.unwrap();
    s.save_step(&id, 1, &step("test", StepStatus::Succeeded)).await.unwrap();
    s.set_platform(&Claim { run: id.clone(), node: "node-a".into(), epoch: 1 }, "linux/amd64").await.unwrap();
    let run = s.get_run(&id).await.unwrap().unwrap();
    assert_eq!(run.steps, [step("build", StepStatus::Succeeded), step("test", StepStatus::Succeeded)]);
    assert_eq!(run.platform.as_deref(), Some("linux/amd64"));

    let mut end = result(RunStatus::Failed, vec![image("reg.example:5000", "team/web", "v1")]);
    end.error = Some("step test failed".into());
    s.finish_run(&id, &end).await.unwrap();
    let run = s.get_run(&id).await.unwrap().unwrap();
    assert_eq!(
        (run.status, &run.steps, &run.output_images, &run.dependencies, &run.error, run.finished_at, run.lease_until),
        (end.status, &end.steps, &end.output_images, &end.dependencies, &end.error, Some(end.finished_at), None)
    );
    assert_eq!(run.request, new_run(None).request);

    // An ended run keeps its record: a second end and late steps change nothing.
    s.finish_run(&id, &result(RunStatus::Succeeded, vec![])).await.unwrap();
    s.save_step(&id, 0, &step("build", StepStatus::Failed)).await.unwrap();
    assert_eq!(s.get_run(&id).await.unwrap().unwrap(), run);

    let not_final = s.finish_run(&id, &result(RunStatus::Running, vec![])).await.unwrap_err();
    assert!(matches!(not_final, StoreError::State(_)), "{not_final:?}");
    for err in [
        s.save_step("zzzz", 0, &step("x", StepStatus::Running)).await.unwrap_err(),
        s.finish_run("zzzz", &result(RunStatus::Succeeded, vec![])).await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound { what: "run", .. }), "{err:?}");
    }
}

async fn cancel_depends_on_the_state(f: &Fixture) {
    let s = &f.store;
    let running = claimed(s, Some("build-web"), "node-a").await;
    let queued = s.enqueue_run(new_run(Some("build-web"))).await.unwrap().run().id.clone();

    let run = s.cancel_run(&queued).await.unwrap();
    assert_eq!((run.status, run.error.as_deref()), (RunStatus::Canceled, Some("canceled before it started")));
    assert!(run.finished_at.is_some());
    assert_eq!(s.claim_run("node-a", LEASE, &BTreeMap::new()).await.unwrap(), None, "a canceled run is not claimed");
    s.finish_run(&queued, &result(RunStatus::Succeeded, vec![])).await.unwrap();
    assert_eq!(s.get_run(&queued).await.unwrap().unwrap().status, RunStatus::Canceled);

    let run = s.cancel_run(&running).await.unwrap();
    assert_eq!((run.status, run.cancel_requested), (RunStatus::Running, true));
    assert!(s.get_run(&running).await.unwrap().unwrap().cancel_requested);
    s.finish_run(&running, &result(RunStatus::Canceled, vec![])).await.unwrap();

    let ended = s.cancel_run(&running).await.unwrap_err();
    assert!(matches!(ended, StoreError::State(ref m) if m.contains("already ended")), "{ended:?}");
    let missing = s.cancel_run("zzzz").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "run", .. }), "{missing:?}");
}

fn token(id: &str) -> TokenInfo {
    TokenInfo {
        id: id.into(),
        name: format!("{id} laptop"),
        created_at: super::ms(1_700_000_000_000),
        last_used_at: None,
        revoked: false,
    }
}

async fn tokens_are_used_and_revoked(f: &Fixture) {
    let s = &f.store;
    s.insert_token(&token("tok1"), "hash-1").await.unwrap();
    s.insert_token(&token("tok2"), "hash-2").await.unwrap();
    let dup = s.insert_token(&token("tok3"), "hash-1").await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { what: "token", ref name } if name == "tok3"), "{dup:?}");
    assert!(!dup.to_string().contains("hash-1"), "a hash never appears in an error");

    let before = Utc::now() - chrono::Duration::milliseconds(1);
    let used = s.use_token("hash-1").await.unwrap().unwrap();
    assert_eq!(used.id, "tok1");
    let first_use = used.last_used_at.unwrap();
    assert!(first_use >= before);
    // Within a minute the use is not written again.
    assert_eq!(s.use_token("hash-1").await.unwrap().unwrap().last_used_at, Some(first_use));
    assert_eq!(s.use_token("no-such-hash").await.unwrap(), None);

    assert!(s.revoke_token("tok1").await.unwrap());
    assert!(!s.revoke_token("tok9").await.unwrap());
    assert_eq!(s.use_token("hash-1").await.unwrap(), None);
    let listed = s.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0].id.as_str(), listed[0].revoked, listed[0].last_used_at), ("tok1", true, Some(first_use)));
    assert_eq!(listed[1], token("tok2"));
}

async fn contexts_and_kv(f: &Fixture) {
    let s = &f.store;
    let info = ContextInfo { id: "ctx1".into(), digest: format!("sha256:{}", "b".repeat(64)), size: 5_000_000_000 };
    s.insert_context(&info, "/var/lib/drydock/contexts/ctx1.tar").await.unwrap();
    assert_eq!(s.get_context("ctx1").await.unwrap(), Some((info.clone(), "/var/lib/drydock/contexts/ctx1.tar".into())));
    assert!(matches!(s.insert_context(&info, "/elsewhere").await, Err(StoreError::Conflict { what: "context", .. })));
    assert_eq!(s.get_context("ctx2").await.unwrap(), None);

    assert_eq!(s.kv_get("base:busybox").await.unwrap(), None);
    s.kv_put("base:busybox", "sha256:1").await.unwrap();
    s.kv_put("base:busybox", "sha256:2").await.unwrap();
    assert_eq!(s.kv_get("base:busybox").await.unwrap().as_deref(), Some("sha256:2"));
    // The first writer wins, whoever asks.
    assert_eq!(s.kv_put_if_absent("instance-id", "aaaa").await.unwrap(), "aaaa");
    assert_eq!(s.kv_put_if_absent("instance-id", "bbbb").await.unwrap(), "aaaa");
}

stories!(
    steps_and_the_end_of_a_run_round_trip,
    cancel_depends_on_the_state,
    tokens_are_used_and_revoked,
    contexts_and_kv
);
