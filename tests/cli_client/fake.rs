//! STAND-IN for `drydock serve`: a tiny axum fake of only the `/v1` endpoints the CLI calls,
//! coded to the API spec the daemon is being written against. It records what the CLI sent and
//! can drop a log stream mid-way. Replace with the in-process daemon once it lands.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::TimeZone;
use drydock::api::{
    ApiError, ContextInfo, NewToken, Run, RunPage, RunRequest, RunType, Task, TaskRunRequest, TaskStep, TokenInfo,
    Trigger, WireDiagnostic,
};
use drydock::run::{RunStatus, StepRecord, StepStatus};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token the fake accepts.
pub const TOKEN: &str = "test-token";
/// The id of every run the fake queues.
pub const RUN_ID: &str = "00a1";

/// How the fake behaves.
#[derive(Clone)]
pub struct Script {
    /// Log lines of the run.
    pub lines: Vec<String>,
    /// On the first log connection, drop it after this many events (`None`: never).
    pub drop_after: Option<usize>,
    /// Status the run ends with.
    pub final_status: RunStatus,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            lines: (1..=5).map(|i| format!("[build] line {i}")).collect(),
            drop_after: None,
            final_status: RunStatus::Succeeded,
        }
    }
}

/// What the CLI sent.
#[derive(Default)]
pub struct Recorded {
    /// Uploaded context bodies.
    pub uploads: Vec<Vec<u8>>,
    /// Whether each upload came chunked (no Content-Length).
    pub chunked: Vec<bool>,
    /// `POST /v1/runs` bodies.
    pub run_requests: Vec<RunRequest>,
    /// `POST /v1/tasks/{name}/runs` bodies.
    pub task_runs: Vec<TaskRunRequest>,
    /// `Last-Event-ID` of each log stream connection.
    pub last_event_ids: Vec<Option<String>>,
    /// `GET /v1/runs` query strings.
    pub list_queries: Vec<HashMap<String, String>>,
    /// `GET /v1/runs/{id}` calls.
    pub run_polls: usize,
    /// Created tasks.
    pub tasks: Vec<Task>,
    /// Merge patches with their content type.
    pub patches: Vec<(String, serde_json::Value)>,
}

struct Shared {
    script: Script,
    recorded: Mutex<Recorded>,
}

/// A running fake; stops when dropped.
pub struct FakeDaemon {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeDaemon {
    /// Starts a fake on a free port, on its own runtime thread.
    pub fn start(script: Script) -> FakeDaemon {
        let shared = Arc::new(Shared { script, recorded: Mutex::new(Recorded::default()) });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let app = router(shared.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        FakeDaemon { url: format!("http://{addr}"), shared, stop: Some(stop_tx) }
    }

    /// What the CLI sent so far.
    pub fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.shared.recorded.lock().unwrap()
    }

    /// The byte offset after the first `n` log lines (what the fake uses as event ids).
    pub fn offset_after(&self, n: usize) -> u64 {
        self.shared.script.lines.iter().take(n).map(|l| l.len() as u64 + 1).sum()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/contexts", post(upload))
        .route("/v1/runs", post(create_run).get(list_runs))
        .route("/v1/runs/{id}", get(get_run))
        .route("/v1/runs/{id}/logs", get(logs))
        .route("/v1/runs/{id}/cancel", post(cancel))
        .route("/v1/tasks", get(list_tasks).post(create_task))
        .route("/v1/tasks/{name}", patch(patch_task).get(get_task))
        .route("/v1/tasks/{name}/runs", post(run_task))
        .route("/v1/tokens", post(create_token))
        .layer(middleware::from_fn(auth))
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

fn api_error(status: StatusCode, code: &str, message: &str, diagnostics: Vec<WireDiagnostic>) -> Response {
    (status, Json(ApiError { code: code.into(), message: message.into(), diagnostics })).into_response()
}

async fn auth(request: Request, next: Next) -> Response {
    let ok =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"));
    if ok {
        next.run(request).await
    } else {
        api_error(StatusCode::UNAUTHORIZED, "unauthorized", "unknown token", vec![])
    }
}

/// A run as the fake reports it.
pub fn run(status: RunStatus, task: Option<&str>) -> Run {
    let t = |s| chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, s).unwrap();
    let done = status.is_terminal();
    Run {
        id: RUN_ID.into(),
        status,
        run_type: if task.is_some() { RunType::AutoRun } else { RunType::QuickBuild },
        task: task.map(str::to_string),
        trigger: Trigger::Manual,
        queued_at: t(0),
        started_at: Some(t(1)),
        finished_at: done.then(|| t(43)),
        platform: Some("linux/amd64".into()),
        steps: if done {
            vec![StepRecord {
                status: if status == RunStatus::Succeeded { StepStatus::Succeeded } else { StepStatus::Failed },
                attempts: 1,
                started_at: Some(t(1)),
                finished_at: Some(t(40)),
                ..StepRecord::pending("build")
            }]
        } else {
            vec![]
        },
        output_images: vec![],
        dependencies: vec![],
        error: (done && status != RunStatus::Succeeded).then(|| "step build exited with 1".into()),
        node: None,
        approval: None,
        waiting_step: None,
        rerun_of: None,
        resumed_from: None,
        workspace_kept_until: None,
        reruns: Vec::new(),
        notifications: Vec::new(),
        waiting_for: None,
    }
}

async fn upload(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let chunked = !headers.contains_key(header::CONTENT_LENGTH);
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let size = bytes.len() as u64;
    let mut r = s.recorded.lock().unwrap();
    r.uploads.push(bytes);
    r.chunked.push(chunked);
    (StatusCode::CREATED, Json(ContextInfo { id: "ctx1".into(), digest: "sha256:0".into(), size })).into_response()
}

async fn create_run(State(s): State<Arc<Shared>>, Json(req): Json<RunRequest>) -> Response {
    if let Some(TaskStep::File { content: Some(text), .. }) = &req.step
        && text.contains("wehn")
    {
        let d = WireDiagnostic {
            severity: "error".into(),
            code: "unknown-property".into(),
            message: "unknown step property `wehn`".into(),
            file: "acb.yaml".into(),
            line: Some(3),
            col: Some(5),
            help: Some("did you mean `when`?".into()),
            rendered: "acb.yaml:3:5: error[unknown-property]: unknown step property `wehn`".into(),
        };
        return api_error(StatusCode::BAD_REQUEST, "invalid", "the task file has errors", vec![d]);
    }
    s.recorded.lock().unwrap().run_requests.push(req);
    (StatusCode::CREATED, Json(run(RunStatus::Queued, None))).into_response()
}

async fn list_runs(State(s): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Json<RunPage> {
    s.recorded.lock().unwrap().list_queries.push(q);
    Json(RunPage { runs: vec![run(RunStatus::Failed, Some("build-app"))], next: Some("0099".into()) })
}

async fn get_run(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if id != RUN_ID {
        return api_error(StatusCode::NOT_FOUND, "not-found", &format!("no run {id}"), vec![]);
    }
    let polls = {
        let mut r = s.recorded.lock().unwrap();
        r.run_polls += 1;
        r.run_polls
    };
    // Running on the first poll, so `--no-logs` has to poll again.
    let status = if polls < 2 { RunStatus::Running } else { s.script.final_status };
    Json(run(status, None)).into_response()
}

async fn cancel(Path(_id): Path<String>) -> Json<Run> {
    Json(run(RunStatus::Canceled, None))
}

/// The log: text, or SSE with byte-offset ids, resumable with `Last-Event-ID`.
async fn logs(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let lines = s.script.lines.clone();
    let sse = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("event-stream"));
    if !sse {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        return ([(header::CONTENT_TYPE, "text/plain")], text).into_response();
    }
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let first_connection = {
        let mut r = s.recorded.lock().unwrap();
        r.last_event_ids.push(last.clone());
        r.last_event_ids.len() == 1
    };
    let from: u64 = last.as_deref().map(|l| l.parse().unwrap()).unwrap_or(0);
    let mut offset = 0u64;
    let mut events: Vec<String> = vec![": keep-alive\n\n".into()];
    for line in &lines {
        offset += line.len() as u64 + 1;
        if offset > from {
            events.push(format!("event: log\nid: {offset}\ndata: {line}\n\n"));
        }
    }
    let drop_after = s.script.drop_after.filter(|_| first_connection);
    if let Some(n) = drop_after {
        events.truncate(n + 1); // + the keep-alive comment
    } else {
        let end = serde_json::to_string(&run(s.script.final_status, None)).unwrap();
        events.push(format!("event: end\ndata: {end}\n\n"));
    }
    // One event per chunk, and a byte-by-byte split of the first, so chunk boundaries vary.
    let chunks = events.into_iter().flat_map(|e| {
        let bytes = Bytes::from(e);
        let (a, b) = bytes.split_at(bytes.len() / 2);
        [Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)]
    });
    let body =
        futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>)).chain(futures_util::stream::once(async move {
            if drop_after.is_some() {
                // Give the client the events, then break the connection mid-stream.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(std::io::Error::other("fake: dropping the connection"))
            } else {
                Ok(Bytes::new())
            }
        }));
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(body)).into_response()
}

fn sample_task(name: &str) -> Task {
    serde_json::from_value(serde_json::json!({
        "name": name, "context": "https://github.com/org/app.git#main",
        "step": {"kind": "file", "path": "acb.yaml"}, "timeout": 3600,
        "timers": [{"name": "t1", "schedule": "0 3 * * *", "enabled": true}]
    }))
    .unwrap()
}

async fn list_tasks() -> Json<Vec<Task>> {
    Json(vec![sample_task("build-app")])
}

async fn get_task(Path(name): Path<String>) -> Response {
    if name == "build-app" {
        Json(sample_task(&name)).into_response()
    } else {
        api_error(StatusCode::NOT_FOUND, "not-found", &format!("no task named {name}"), vec![])
    }
}

async fn create_task(State(s): State<Arc<Shared>>, Json(task): Json<Task>) -> Response {
    s.recorded.lock().unwrap().tasks.push(task.clone());
    (StatusCode::CREATED, Json(task.redacted())).into_response()
}

async fn patch_task(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Task> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let patch: serde_json::Value = serde_json::from_slice(&body).unwrap();
    s.recorded.lock().unwrap().patches.push((content_type, patch));
    Json(sample_task(&name))
}

async fn run_task(State(s): State<Arc<Shared>>, Path(name): Path<String>, Json(req): Json<TaskRunRequest>) -> Response {
    s.recorded.lock().unwrap().task_runs.push(req);
    (StatusCode::CREATED, Json(run(RunStatus::Queued, Some(&name)))).into_response()
}

async fn create_token(Json(body): Json<serde_json::Value>) -> Response {
    let info = TokenInfo {
        id: "tok1".into(),
        name: body["name"].as_str().unwrap_or_default().into(),
        created_at: chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
        last_used_at: None,
        revoked: false,
    };
    (StatusCode::CREATED, Json(NewToken { info, token: "ddk_secret".into() })).into_response()
}
