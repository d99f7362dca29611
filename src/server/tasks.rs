//! `/v1/tasks`: saved tasks, their timers and registry credentials, and manual runs.

use super::error::{HttpError, HttpResult};
use crate::api::{Credential, Run, Task, TaskRunRequest, Timer, Trigger};
use crate::daemon::Service;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::sync::Arc;

type Svc = State<Arc<Service>>;

/// `?with_secure_properties=true` reveals secrets.
#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    with_secure_properties: bool,
}

/// `GET /v1/tasks`.
pub async fn list(State(svc): Svc) -> HttpResult<Json<Vec<Task>>> {
    Ok(Json(svc.list_tasks().await?))
}

/// `POST /v1/tasks`.
pub async fn create(State(svc): Svc, Json(task): Json<Task>) -> HttpResult<(StatusCode, Json<Task>)> {
    Ok((StatusCode::CREATED, Json(svc.create_task(task).await?)))
}

/// `GET /v1/tasks/{name}`.
pub async fn show(State(svc): Svc, Path(name): Path<String>, Query(q): Query<ShowQuery>) -> HttpResult<Json<Task>> {
    Ok(Json(svc.show_task(&name, q.with_secure_properties).await?))
}

/// `PATCH /v1/tasks/{name}`: a JSON merge patch.
pub async fn patch(
    State(svc): Svc,
    Path(name): Path<String>,
    Json(patch): Json<serde_json::Value>,
) -> HttpResult<Json<Task>> {
    Ok(Json(svc.patch_task(&name, patch).await?))
}

/// `DELETE /v1/tasks/{name}`.
pub async fn delete(State(svc): Svc, Path(name): Path<String>) -> HttpResult<StatusCode> {
    svc.delete_task(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/tasks/{name}/runs`: a manual run.
pub async fn run(
    State(svc): Svc,
    Path(name): Path<String>,
    body: Option<Json<TaskRunRequest>>,
) -> HttpResult<(StatusCode, Json<Run>)> {
    let overrides = body.map(|Json(b)| b).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(svc.run_task(&name, overrides, Trigger::Manual, None).await?)))
}

/// `GET /v1/tasks/{name}/timers`.
pub async fn list_timers(State(svc): Svc, Path(name): Path<String>) -> HttpResult<Json<Vec<Timer>>> {
    Ok(Json(svc.get_task(&name, false).await?.timers))
}

/// `POST /v1/tasks/{name}/timers`: adds a timer (its name must be new).
pub async fn add_timer(
    State(svc): Svc,
    Path(name): Path<String>,
    Json(timer): Json<Timer>,
) -> HttpResult<(StatusCode, Json<Timer>)> {
    let task = svc.get_task(&name, true).await?;
    if task.timers.iter().any(|t| t.name == timer.name) {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("task `{name}` already has a timer `{}`; use `timer update`", timer.name),
        ));
    }
    let mut timers = task.timers.clone();
    timers.push(timer.clone());
    set_timers(&svc, task, timers).await?;
    Ok((StatusCode::CREATED, Json(stored_timer(&svc, &name, timer).await?)))
}

/// `PUT /v1/tasks/{name}/timers/{timer}`: replaces a timer's schedule and state.
pub async fn put_timer(
    State(svc): Svc,
    Path((name, timer_name)): Path<(String, String)>,
    Json(mut timer): Json<Timer>,
) -> HttpResult<Json<Timer>> {
    let task = svc.get_task(&name, true).await?;
    timer.name = timer_name.clone();
    let mut timers = task.timers.clone();
    match timers.iter_mut().find(|t| t.name == timer_name) {
        Some(t) => *t = timer.clone(),
        None => return Err(not_found("timer", &timer_name, &name)),
    }
    set_timers(&svc, task, timers).await?;
    Ok(Json(stored_timer(&svc, &name, timer).await?))
}

/// A timer as stored, with its next fire time.
async fn stored_timer(svc: &Service, task: &str, timer: Timer) -> HttpResult<Timer> {
    let task = svc.get_task(task, false).await?;
    Ok(task.timers.into_iter().find(|t| t.name == timer.name).unwrap_or(timer))
}

/// `?top=` of the timer history.
#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    top: Option<u32>,
}

/// `GET /v1/tasks/{name}/timer-events`: fired, skipped and failed occurrences, newest first.
pub async fn timer_events(
    State(svc): Svc,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> HttpResult<Json<Vec<crate::api::TimerEvent>>> {
    svc.get_task(&name, false).await?;
    let top = q.top.unwrap_or(50).clamp(1, 1000);
    Ok(Json(svc.store.timer_events(&name, top).await.map_err(crate::daemon::ServiceError::from)?))
}

/// `DELETE /v1/tasks/{name}/timers/{timer}`.
pub async fn delete_timer(State(svc): Svc, Path((name, timer_name)): Path<(String, String)>) -> HttpResult<StatusCode> {
    let task = svc.get_task(&name, true).await?;
    let timers: Vec<Timer> = task.timers.iter().filter(|t| t.name != timer_name).cloned().collect();
    if timers.len() == task.timers.len() {
        return Err(not_found("timer", &timer_name, &name));
    }
    set_timers(&svc, task, timers).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_timers(svc: &Service, task: Task, timers: Vec<Timer>) -> HttpResult<()> {
    let created = task.created_at;
    svc.replace_task(Task { timers, ..task }, created).await?;
    Ok(())
}

/// `GET /v1/tasks/{name}/credentials` (passwords redacted).
pub async fn list_credentials(State(svc): Svc, Path(name): Path<String>) -> HttpResult<Json<Vec<Credential>>> {
    Ok(Json(svc.get_task(&name, false).await?.credentials))
}

/// `POST /v1/tasks/{name}/credentials`: adds a login (an existing login server is a conflict,
/// as in ACR).
pub async fn add_credential(
    State(svc): Svc,
    Path(name): Path<String>,
    Json(cred): Json<Credential>,
) -> HttpResult<(StatusCode, Json<Credential>)> {
    let task = svc.get_task(&name, true).await?;
    if task.credentials.iter().any(|c| c.login_server == cred.login_server) {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("task `{name}` already has a credential for `{}`; remove it first", cred.login_server),
        ));
    }
    let mut credentials = task.credentials.clone();
    credentials.push(cred.clone());
    let created = task.created_at;
    svc.replace_task(Task { credentials, ..task }, created).await?;
    Ok((StatusCode::CREATED, Json(Credential { password: crate::api::REDACTED.into(), ..cred })))
}

/// `DELETE /v1/tasks/{name}/credentials/{login_server}`.
pub async fn delete_credential(
    State(svc): Svc,
    Path((name, server)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    let task = svc.get_task(&name, true).await?;
    let credentials: Vec<Credential> = task.credentials.iter().filter(|c| c.login_server != server).cloned().collect();
    if credentials.len() == task.credentials.len() {
        return Err(not_found("credential", &server, &name));
    }
    let created = task.created_at;
    svc.replace_task(Task { credentials, ..task }, created).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(what: &str, item: &str, task: &str) -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not-found", format!("task `{task}` has no {what} `{item}`"))
}
