//! Tasks: create, read, update, list, delete.

use super::{Fixture, stories};
use crate::api::{Task, TaskStatus, TaskStep};
use crate::store::StoreError;
use std::collections::BTreeMap;

pub(super) fn task(name: &str) -> Task {
    Task {
        name: name.into(),
        context: Some("https://git.example/app.git#main".into()),
        step: TaskStep::Cmd { cmd: "busybox echo hi".into() },
        values: BTreeMap::from([("env".into(), "prod".into())]),
        secret_values: BTreeMap::from([("pw".into(), "enc:v1:abc".into())]),
        timeout: 600,
        status: TaskStatus::Enabled,
        agent_labels: BTreeMap::new(),
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
    }
}

async fn task_crud(f: &Fixture) {
    let s = &f.store;
    s.insert_task(&task("build-web")).await.unwrap();
    s.insert_task(&task("an-api-task")).await.unwrap();

    let got = s.get_task("build-web").await.unwrap().unwrap();
    let created = got.created_at.expect("created time");
    assert_eq!(got.updated_at, Some(created));
    assert_eq!(Task { created_at: None, updated_at: None, ..got }, task("build-web"));

    let dup = s.insert_task(&task("build-web")).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { what: "task", ref name } if name == "build-web"), "{dup:?}");

    let mut changed = task("build-web");
    changed.status = TaskStatus::Disabled;
    changed.timeout = 900;
    s.update_task(&changed).await.unwrap();
    let got = s.get_task("build-web").await.unwrap().unwrap();
    assert_eq!((got.status, got.timeout, got.created_at), (TaskStatus::Disabled, 900, Some(created)));
    assert!(got.updated_at.unwrap() >= created);

    let missing = s.update_task(&task("no-such-task")).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "task", .. }), "{missing:?}");

    let names: Vec<String> = s.list_tasks().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["an-api-task", "build-web"]);

    assert!(s.delete_task("build-web").await.unwrap());
    assert!(!s.delete_task("build-web").await.unwrap());
    assert_eq!(s.get_task("build-web").await.unwrap(), None);
}

stories!(task_crud);
