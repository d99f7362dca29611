//! `/v1/tasks`: saved tasks, their timers and registry credentials, and manual runs.

use super::error::HttpResult;
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
    Ok((StatusCode::CREATED, Json(svc.add_timer(&name, timer).await?)))
}

/// `PUT /v1/tasks/{name}/timers/{timer}`: replaces a timer's schedule and state.
pub async fn put_timer(
    State(svc): Svc,
    Path((name, timer_name)): Path<(String, String)>,
    Json(timer): Json<Timer>,
) -> HttpResult<Json<Timer>> {
    Ok(Json(svc.put_timer(&name, &timer_name, timer).await?))
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
    Ok(Json(svc.timer_events(&name, q.top).await?))
}

/// `DELETE /v1/tasks/{name}/timers/{timer}`.
pub async fn delete_timer(State(svc): Svc, Path((name, timer_name)): Path<(String, String)>) -> HttpResult<StatusCode> {
    svc.delete_timer(&name, &timer_name).await?;
    Ok(StatusCode::NO_CONTENT)
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
    Ok((StatusCode::CREATED, Json(svc.add_credential(&name, cred).await?)))
}

/// `DELETE /v1/tasks/{name}/credentials/{login_server}`.
pub async fn delete_credential(
    State(svc): Svc,
    Path((name, server)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    svc.delete_credential(&name, &server).await?;
    Ok(StatusCode::NO_CONTENT)
}
