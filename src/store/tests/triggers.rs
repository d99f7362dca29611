//! Trigger state: the webhook inbox, polled heads, task images, the watcher's image state, and
//! timer cursors and history.

use super::{Fixture, ms, stories};
use crate::api::{Delivery, DeliveryOutcome, ImageRole, TimerEvent, TimerOutcome};
use crate::store::{ImageState, PendingChange, TaskImage};

fn delivery(id: &str, at: i64) -> Delivery {
    Delivery {
        provider: "github".into(),
        delivery_id: id.into(),
        received_at: ms(at),
        task: None,
        repository: Some("git.example/team/app".into()),
        event: serde_json::json!({ "event": "commit", "ref": "refs/heads/main" }),
        outcome: DeliveryOutcome::Received,
        reason: None,
        runs: vec![],
    }
}

async fn deliveries_are_kept_once_and_finished(f: &Fixture) {
    let s = &f.store;
    assert_eq!(s.insert_delivery(&delivery("d-1", 1_000)).await.unwrap(), None);
    assert_eq!(s.insert_delivery(&delivery("d-2", 2_000)).await.unwrap(), None);
    // A redelivery returns what is stored and changes nothing.
    let again = s.insert_delivery(&Delivery { received_at: ms(9_000), ..delivery("d-1", 1_000) }).await.unwrap();
    assert_eq!(again, Some(delivery("d-1", 1_000)));
    // The same id from another provider is another delivery.
    let gitlab = Delivery { provider: "gitlab".into(), ..delivery("d-1", 3_000) };
    assert_eq!(s.insert_delivery(&gitlab).await.unwrap(), None);

    let unprocessed: Vec<String> =
        s.unprocessed_deliveries(10).await.unwrap().into_iter().map(|d| d.delivery_id).collect();
    assert_eq!(unprocessed, ["d-1", "d-2", "d-1"]);

    s.finish_delivery("github", "d-1", DeliveryOutcome::Queued, None, &["0001".into()]).await.unwrap();
    s.finish_delivery("github", "d-2", DeliveryOutcome::Ignored, Some("no task wants tags"), &[]).await.unwrap();
    assert!(s.finish_delivery("github", "nope", DeliveryOutcome::Queued, None, &[]).await.is_err());
    let listed = s.list_deliveries(10, None).await.unwrap();
    let summary: Vec<(&str, &str, DeliveryOutcome)> =
        listed.iter().map(|d| (d.provider.as_str(), d.delivery_id.as_str(), d.outcome)).collect();
    assert_eq!(
        summary,
        [
            ("gitlab", "d-1", DeliveryOutcome::Received),
            ("github", "d-2", DeliveryOutcome::Ignored),
            ("github", "d-1", DeliveryOutcome::Queued)
        ]
    );
    assert_eq!(listed[1].reason.as_deref(), Some("no task wants tags"));
    assert_eq!(listed[2].runs, ["0001"]);
    let page = s.list_deliveries(10, Some(ms(2_000))).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(s.unprocessed_deliveries(10).await.unwrap().len(), 1);
}

async fn heads_are_upserted(f: &Fixture) {
    let s = &f.store;
    assert!(s.source_heads("repo").await.unwrap().is_empty());
    s.put_source_head("repo", "refs/heads/main", "aaa").await.unwrap();
    s.put_source_head("repo", "refs/tags/v1", "bbb").await.unwrap();
    s.put_source_head("repo", "refs/heads/main", "ccc").await.unwrap();
    s.put_source_head("other", "refs/heads/main", "ddd").await.unwrap();
    let heads = s.source_heads("repo").await.unwrap();
    assert_eq!(heads.len(), 2);
    assert_eq!(heads["refs/heads/main"], "ccc");
}

fn used(task: &str, image: &str, role: ImageRole, digest: &str) -> TaskImage {
    TaskImage {
        task: task.into(),
        image: image.into(),
        role,
        digest: Some(digest.into()),
        run_id: "0001".into(),
        recorded_at: ms(5_000),
    }
}

async fn task_images_are_replaced_per_task(f: &Fixture) {
    let s = &f.store;
    let base = "reg.local/base:1";
    s.record_task_images(
        "app-task",
        &[
            used("app-task", base, ImageRole::Runtime, "sha256:1"),
            used("app-task", "reg.local/sdk:2", ImageRole::Buildtime, "sha256:2"),
            used("app-task", "reg.local/app:latest", ImageRole::Output, "sha256:3"),
            // A second stage from the same base, same role: one row.
            used("app-task", base, ImageRole::Runtime, "sha256:1"),
        ],
    )
    .await
    .unwrap();
    s.record_task_images("other-task", &[used("other-task", base, ImageRole::Buildtime, "sha256:0")]).await.unwrap();
    assert_eq!(s.task_images("app-task").await.unwrap().len(), 3);
    assert_eq!(s.base_images().await.unwrap(), ["reg.local/base:1", "reg.local/sdk:2"]);
    let users: Vec<(String, ImageRole)> =
        s.image_users(base).await.unwrap().into_iter().map(|u| (u.task, u.role)).collect();
    assert_eq!(users, [("app-task".into(), ImageRole::Runtime), ("other-task".into(), ImageRole::Buildtime)]);

    // The next successful build replaces the task's record.
    s.record_task_images("app-task", &[used("app-task", base, ImageRole::Runtime, "sha256:9")]).await.unwrap();
    let now = s.task_images("app-task").await.unwrap();
    assert_eq!(now, [used("app-task", base, ImageRole::Runtime, "sha256:9")]);
    assert_eq!(s.base_images().await.unwrap(), [base]);
}

async fn image_state_round_trips(f: &Fixture) {
    let s = &f.store;
    assert_eq!(s.image_state("reg.local/base:1").await.unwrap(), None);
    let mut state = ImageState::new("reg.local/base:1");
    state.digest = Some("sha256:1".into());
    state.checked_at = Some(ms(10_000));
    state.next_check = Some(ms(70_000));
    s.put_image_state(&state).await.unwrap();
    assert_eq!(s.image_state("reg.local/base:1").await.unwrap(), Some(state.clone()));

    state.pending = Some(PendingChange { old: Some("sha256:1".into()), new: "sha256:2".into(), due: ms(20_000) });
    state.error = Some("HTTP 503".into());
    s.put_image_state(&state).await.unwrap();
    s.put_image_state(&ImageState::new("reg.local/aaa:1")).await.unwrap();
    let all = s.image_states().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1], state);
}

async fn timer_cursors_move_once(f: &Fixture) {
    let s = &f.store;
    let start = s.timer_cursor("nightly-job", "t1", ms(60_000)).await.unwrap();
    assert_eq!(start, ms(60_000));
    // A second node asking later gets the stored cursor, not its own start.
    assert_eq!(s.timer_cursor("nightly-job", "t1", ms(99_000)).await.unwrap(), ms(60_000));
    let other = f.node().await;
    assert!(s.advance_timer("nightly-job", "t1", ms(60_000), ms(120_000)).await.unwrap());
    assert!(!other.advance_timer("nightly-job", "t1", ms(60_000), ms(120_000)).await.unwrap());
    assert_eq!(other.timer_cursor("nightly-job", "t1", ms(0)).await.unwrap(), ms(120_000));

    let fired = TimerEvent {
        task: "nightly-job".into(),
        timer: "t1".into(),
        occurrence: ms(120_000),
        last_occurrence: ms(120_000),
        count: 1,
        outcome: TimerOutcome::Fired,
        run_id: Some("0002".into()),
        recorded_at: ms(120_010),
    };
    let skipped = TimerEvent {
        occurrence: ms(180_000),
        last_occurrence: ms(600_000),
        count: 8,
        outcome: TimerOutcome::Skipped,
        run_id: None,
        recorded_at: ms(700_000),
        ..fired.clone()
    };
    s.record_timer_event(&fired).await.unwrap();
    s.record_timer_event(&skipped).await.unwrap();
    assert_eq!(s.timer_events("nightly-job", 10).await.unwrap(), [skipped, fired.clone()]);
    assert_eq!(s.timer_events("nightly-job", 1).await.unwrap().len(), 1);

    // Deleting the task drops its cursor (a new task of that name starts fresh) but keeps history.
    s.insert_task(&crate::api::Task {
        name: "nightly-job".into(),
        context: None,
        step: crate::api::TaskStep::Cmd { cmd: "busybox true".into() },
        values: Default::default(),
        secret_values: Default::default(),
        timeout: 600,
        status: Default::default(),
        agent_labels: Default::default(),
        platform: None,
        git_token: None,
        sign_key: None,
        require_signed_base: Vec::new(),
        approve_before: Vec::new(),
        approval_timeout: None,
        credentials: vec![],
        timers: vec![],
        triggers: Default::default(),
        notify: Default::default(),
        created_at: None,
        updated_at: None,
        last_run: None,
    })
    .await
    .unwrap();
    assert!(s.delete_task("nightly-job").await.unwrap());
    assert_eq!(s.timer_cursor("nightly-job", "t1", ms(5)).await.unwrap(), ms(5));
    assert_eq!(s.timer_events("nightly-job", 10).await.unwrap().len(), 2);
}

stories!(
    deliveries_are_kept_once_and_finished,
    heads_are_upserted,
    task_images_are_replaced_per_task,
    image_state_round_trips,
    timer_cursors_move_once,
);
