//! The outbox of commit statuses and run events: queued once per key, a run's newer status
//! replacing its older pending one, claimed by one sender at a time, answers kept.

use super::{Fixture, stories};
use crate::api::{OutgoingKind, OutgoingState};
use crate::store::NewDelivery;
use std::time::Duration;

fn new(id: &str, kind: OutgoingKind, event: &str, url: &str) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        dedup_key: format!("r1:{kind:?}:{event}:{url}"),
        run_id: "r1".into(),
        task: Some("task-a".into()),
        kind,
        provider: (kind == OutgoingKind::CommitStatus).then(|| "github".into()),
        event: event.into(),
        url: url.into(),
        body: format!("{{\"event\":\"{event}\"}}"),
        credential: Some("sealed:v1:x".into()),
    }
}

async fn deliveries_are_queued_once_claimed_once_and_answered(f: &Fixture) {
    let s = &f.store;
    let started = new("w-1", OutgoingKind::Webhook, "run.started", "http://h/a");
    assert_eq!(s.queue_outgoing(std::slice::from_ref(&started)).await.unwrap(), 1);
    // The same key again (a second announcement) queues nothing.
    assert_eq!(s.queue_outgoing(&[NewDelivery { id: "w-dup".into(), ..started }]).await.unwrap(), 0);

    // A second node claims nothing another holds; the claim counts an attempt.
    let claimed = s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["w-1"]);
    assert_eq!((claimed[0].attempts, claimed[0].credential.as_deref()), (1, Some("sealed:v1:x")));
    assert!(f.node().await.claim_outgoing(10, Duration::from_secs(60)).await.unwrap().is_empty());

    // A failure with a retry is due again after it; a success is final.
    s.record_outgoing("w-1", OutgoingState::Pending, Some(Duration::ZERO), Some(500), Some("busy")).await.unwrap();
    let again = s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    s.record_outgoing("w-1", OutgoingState::Delivered, None, Some(200), Some("ok")).await.unwrap();
    let listed = s.list_outgoing(Some("r1"), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(
        (d.state, d.attempts, d.status_code, d.answer.as_deref()),
        (OutgoingState::Delivered, 2, Some(200), Some("ok"))
    );
    assert!(d.next_attempt_at.is_none() && d.last_attempt_at.is_some());

    // A newer status of the run replaces the older one still pending at the same URL.
    s.queue_outgoing(&[new("s-1", OutgoingKind::CommitStatus, "pending", "http://git/st")]).await.unwrap();
    s.queue_outgoing(&[new("s-2", OutgoingKind::CommitStatus, "success", "http://git/st")]).await.unwrap();
    let states: Vec<(String, OutgoingState)> =
        s.list_outgoing(Some("r1"), 10).await.unwrap().into_iter().map(|d| (d.id, d.state)).collect();
    assert!(states.contains(&("s-1".into(), OutgoingState::Superseded)), "{states:?}");
    assert!(states.contains(&("s-2".into(), OutgoingState::Pending)), "{states:?}");
    let due = s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["s-2"]);
    assert!(s.list_outgoing(Some("other"), 10).await.unwrap().is_empty());
    assert_eq!(s.list_outgoing(None, 10).await.unwrap().len(), 3);
}

async fn a_runs_deliveries_to_one_url_go_in_order(f: &Fixture) {
    let s = &f.store;
    let started = new("e-1", OutgoingKind::Webhook, "run.started", "http://h/a");
    let finished = new("e-2", OutgoingKind::Webhook, "run.finished", "http://h/a");
    let elsewhere = new("e-3", OutgoingKind::Webhook, "run.finished", "http://h/b");
    s.queue_outgoing(&[started, finished, elsewhere]).await.unwrap();
    let ids = |due: Vec<crate::store::DueDelivery>| due.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap()), ["e-1", "e-3"]);
    // While run.started waits for its retry, run.finished to the same URL waits behind it.
    s.record_outgoing("e-1", OutgoingState::Pending, Some(Duration::from_secs(3600)), Some(503), None).await.unwrap();
    assert!(s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap().is_empty());
    s.record_outgoing("e-1", OutgoingState::Failed, None, Some(503), None).await.unwrap();
    assert_eq!(ids(s.claim_outgoing(10, Duration::from_secs(60)).await.unwrap()), ["e-2"]);
}

stories!(deliveries_are_queued_once_claimed_once_and_answered, a_runs_deliveries_to_one_url_go_in_order);
