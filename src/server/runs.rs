//! `/v1/runs`: quick runs, listing, one run, cancel, and logs (text, or live over SSE).

use super::error::{HttpError, HttpResult};
use crate::api::{PruneReport, PruneRequest, RerunRequest, ResumeRequest, Run, RunFilter, RunPage, RunRequest};
use crate::daemon::Service;
use crate::daemon::logs::LogState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

type Svc = State<Arc<Service>>;

/// How often a quiet log stream sends a keep-alive comment (set by the node from its idle timeout).
#[derive(Clone, Copy, Debug)]
pub struct StreamKeepAlive(pub Duration);

/// Largest piece of log sent in one SSE event or text response chunk.
const CHUNK: usize = 64 * 1024;

/// `POST /v1/runs`: a quick build or quick run.
pub async fn create(State(svc): Svc, Json(req): Json<RunRequest>) -> HttpResult<(StatusCode, Json<Run>)> {
    Ok((StatusCode::CREATED, Json(svc.quick_run(req).await?)))
}

/// `POST /v1/runs/{id}/approve` and `/reject`: the body may give a reason.
#[derive(Debug, Default, Deserialize)]
pub struct Decision {
    /// Why (kept with a rejection).
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/runs/{id}/approve`.
pub async fn approve(
    State(svc): Svc,
    axum::Extension(super::auth::Caller(by)): axum::Extension<super::auth::Caller>,
    Path(id): Path<String>,
) -> HttpResult<Json<Run>> {
    Ok(Json(svc.decide(&id, true, &by, None).await?))
}

/// `POST /v1/runs/{id}/reject`.
pub async fn reject(
    State(svc): Svc,
    axum::Extension(super::auth::Caller(by)): axum::Extension<super::auth::Caller>,
    Path(id): Path<String>,
    body: Option<Json<Decision>>,
) -> HttpResult<Json<Run>> {
    let reason = body.and_then(|Json(d)| d.reason);
    Ok(Json(svc.decide(&id, false, &by, reason.as_deref()).await?))
}

/// `POST /v1/runs/{id}/rerun`.
pub async fn rerun(
    State(svc): Svc,
    Path(id): Path<String>,
    body: Option<Json<RerunRequest>>,
) -> HttpResult<(StatusCode, Json<Run>)> {
    let req = body.map(|Json(r)| r).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(svc.rerun(&id, req).await?)))
}

/// `POST /v1/runs/{id}/resume`.
pub async fn resume(
    State(svc): Svc,
    Path(id): Path<String>,
    body: Option<Json<ResumeRequest>>,
) -> HttpResult<(StatusCode, Json<Run>)> {
    let req = body.map(|Json(r)| r).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(svc.resume(&id, req).await?)))
}

/// `POST /v1/prune`.
pub async fn prune(State(svc): Svc, Json(req): Json<PruneRequest>) -> HttpResult<Json<PruneReport>> {
    Ok(Json(svc.prune(req).await?))
}

/// `GET /v1/runs`.
pub async fn list(State(svc): Svc, Query(filter): Query<RunFilter>) -> HttpResult<Json<RunPage>> {
    Ok(Json(svc.list_runs(&filter).await?))
}

/// `GET /v1/runs/{id}`.
pub async fn show(State(svc): Svc, Path(id): Path<String>) -> HttpResult<Json<Run>> {
    Ok(Json(svc.show_run(&id).await?))
}

/// `POST /v1/runs/{id}/cancel`.
pub async fn cancel(State(svc): Svc, Path(id): Path<String>) -> HttpResult<Json<Run>> {
    Ok(Json(svc.cancel(&id).await?))
}

/// `?offset=N` starts the log at byte N of the log as served (as SSE event ids count);
/// `?timestamps=true` keeps the time each line was written in front of it; `?download=1` asks
/// for the text as a file to save (`run-<id>.log`).
#[derive(Deserialize, Default)]
pub struct LogQuery {
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    timestamps: Option<String>,
    #[serde(default)]
    download: Option<String>,
}

impl LogQuery {
    fn timestamps(&self) -> bool {
        is_set(self.timestamps.as_deref())
    }

    fn download(&self) -> bool {
        is_set(self.download.as_deref())
    }

    /// The query again, for the node a request is relayed to.
    fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = self.offset {
            parts.push(format!("offset={o}"));
        }
        if self.timestamps() {
            parts.push("timestamps=true".to_string());
        }
        if self.download() {
            parts.push("download=1".to_string());
        }
        if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
    }
}

/// A flag given as `?flag`, `?flag=1` or `?flag=true` (links in pages write `=1`; serde's bool
/// only reads `true`).
fn is_set(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v, "0" | "false" | "no"))
}

/// `GET /v1/runs/{id}/logs`: the log so far as text, or, with `Accept: text/event-stream`, a live
/// follow that resumes from `Last-Event-ID` (a byte offset).
pub async fn logs(
    State(svc): Svc,
    axum::Extension(shutdown): axum::Extension<CancellationToken>,
    axum::Extension(StreamKeepAlive(keepalive)): axum::Extension<StreamKeepAlive>,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    // Logs are files on the node that ran the run; another node relays them (unless the file is
    // here anyway: runs imported from another database bring their logs along). A log file here
    // is answered without asking the database, so that a node cut off from it still serves what
    // it ran when another node relays a request to it. Without one: 404 for an unknown run,
    // before anything is streamed.
    if !svc.logs().path(&id).exists() {
        let run = svc.get_run(&id).await?;
        if let Some(owner) = run.node.filter(|n| *n != svc.settings().node_id) {
            return relay_logs(&svc, &owner, &id, &q, &headers).await;
        }
    }
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let offset = resume.or(q.offset).unwrap_or(0);
    let wants_sse =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    if wants_sse {
        let stream = follow(svc.clone(), id, offset, q.timestamps(), shutdown);
        return Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keepalive)).into_response());
    }
    let len = svc.logs().watch(&id).map(|rx| rx.borrow().len).unwrap_or(0);
    let mut body = Vec::new();
    // `offset` counts the text in the form asked for; without stamps, find it in the file.
    let (mut at, mut line_start) = (offset, true);
    if !q.timestamps() && offset > 0 && len > 0 {
        let p = svc.logs().position(&id, offset).await.map_err(io_error)?;
        (at, line_start) = (p.file, p.line_start);
    }
    while at < len {
        let chunk = svc.logs().read(&id, at, len, CHUNK * 16).await.map_err(io_error)?;
        if chunk.is_empty() {
            break;
        }
        at += chunk.len() as u64;
        if q.timestamps() {
            body.extend_from_slice(&chunk);
        } else {
            body.extend_from_slice(&crate::daemon::logs::strip_stamps(&chunk, line_start));
        }
        line_start = chunk.last() == Some(&b'\n');
    }
    let mut response = ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    if q.download() {
        // Run ids are base36, so the name needs no quoting beyond the quotes.
        let name = format!("attachment; filename=\"run-{id}.log\"");
        if let Ok(v) = header::HeaderValue::from_str(&name) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// Forwards a log request to the node that ran the run, streaming its answer back as it comes.
async fn relay_logs(svc: &Service, owner: &str, id: &str, q: &LogQuery, headers: &HeaderMap) -> HttpResult<Response> {
    let gone = |why: String| HttpError::new(StatusCode::BAD_GATEWAY, "log_unavailable", why);
    let Some(base) = svc.node_url(owner).await? else {
        return Err(gone(format!("run {id} ran on node {owner}, which never advertised an address")));
    };
    let url = format!("{base}/v1/runs/{id}/logs{}", q.to_query_string());
    let mut req = relay_client().get(&url);
    for name in [header::AUTHORIZATION, header::ACCEPT, HeaderName::from_static("last-event-id")] {
        if let Some(v) = headers.get(&name) {
            req = req.header(name.as_str(), v.as_bytes());
        }
    }
    let resp = req.send().await.map_err(|e| {
        gone(format!("run {id}'s log is on node {owner} ({base}), which does not answer: {e}; it is readable again once that node is back"))
    })?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::builder().status(status);
    for name in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        if let Some(v) = resp.headers().get(name.as_str()) {
            out = out.header(name, v.as_bytes());
        }
    }
    out.body(axum::body::Body::from_stream(resp.bytes_stream()))
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// One client for relaying (connection reuse between nodes); no overall timeout, since a
/// followed log stays open for as long as the run goes on.
fn relay_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        crate::tls::client_builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default()
    })
}

fn io_error(e: std::io::Error) -> HttpError {
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("reading the log: {e}"))
}

/// Where a follower is.
struct Follow {
    svc: Arc<Service>,
    id: String,
    /// Offset in the file.
    offset: u64,
    /// The same place as the client counts it (its event ids): in the text without stamps,
    /// unless it asked for them.
    shown: u64,
    /// Whether `offset` starts a line (a client may resume inside one).
    line_start: bool,
    /// Whether `offset` has been found from the offset the client asked for.
    positioned: bool,
    rx: Option<tokio::sync::watch::Receiver<LogState>>,
    reader: Option<crate::daemon::logs::LogReader>,
    /// Keep each line's time stamp (`?timestamps=true`).
    timestamps: bool,
    ended: bool,
    shutdown: CancellationToken,
}

/// The SSE stream: `log` events whose id is the byte offset after them, then one `end` event with
/// the final run record.
fn follow(
    svc: Arc<Service>,
    id: String,
    offset: u64,
    timestamps: bool,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = Follow {
        svc,
        id,
        offset,
        shown: offset,
        line_start: true,
        positioned: timestamps || offset == 0,
        rx: None,
        reader: None,
        timestamps,
        ended: false,
        shutdown,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if st.ended || st.shutdown.is_cancelled() {
                return None;
            }
            if st.rx.is_none() {
                st.rx = st.svc.logs().watch(&st.id);
            }
            let Some(rx) = st.rx.as_mut() else {
                // No log yet: queued, or ended before it started.
                match st.svc.get_run(&st.id).await {
                    Ok(run) if run.status.is_terminal() => {
                        return Some((Ok(end_event(&run)), Follow { ended: true, ..st }));
                    }
                    // Another node claimed it: its log is written there. End this stream with a
                    // short retry hint; the client's reconnection (EventSource and the CLI both
                    // resume on their own) reaches the handler again, which relays from the owner.
                    Ok(run) if run.node.as_deref().is_some_and(|n| n != st.svc.settings().node_id) => {
                        let hint =
                            Event::default().retry(Duration::from_millis(200)).comment("claimed by another node");
                        return Some((Ok(hint), Follow { ended: true, ..st }));
                    }
                    Ok(_) => {
                        wait_or_shutdown(&st.shutdown, Duration::from_millis(250)).await;
                        continue;
                    }
                    Err(_) => return None,
                }
            };
            let state = *rx.borrow_and_update();
            if !st.positioned && state.len > 0 {
                let Ok(p) = st.svc.logs().position(&st.id, st.shown).await else { return None };
                // A client ahead of the file (it cannot be, unless the log is being written
                // still) waits, as it would for bytes not yet written.
                if p.text == st.shown || state.done {
                    (st.offset, st.line_start, st.positioned) = (p.file, p.line_start, true);
                }
            }
            if st.positioned && st.offset < state.len {
                if st.reader.is_none() {
                    st.reader = st.svc.logs().reader(&st.id).await.ok();
                }
                let reader = st.reader.as_mut()?;
                let chunk = match reader.read(st.offset, state.len, CHUNK).await {
                    Ok(c) if !c.is_empty() => c,
                    _ => return None,
                };
                st.offset += chunk.len() as u64;
                let chunk = if st.timestamps {
                    chunk
                } else {
                    let shown = crate::daemon::logs::strip_stamps(&chunk, st.line_start);
                    st.line_start = chunk.last() == Some(&b'\n');
                    shown
                };
                // The event id is where the client would resume, counted in what it was sent.
                st.shown += chunk.len() as u64;
                let text = String::from_utf8_lossy(&chunk);
                // Whole lines less the final line end (blank lines in the log survive).
                let event = Event::default()
                    .event("log")
                    .id(st.shown.to_string())
                    .data(text.strip_suffix('\n').unwrap_or(&text));
                return Some((Ok(event), st));
            }
            if state.done {
                // The log is complete; the record may lag the log by a moment.
                let run = match final_run(&st.svc, &st.id).await {
                    Some(r) => r,
                    None => return None,
                };
                return Some((Ok(end_event(&run)), Follow { ended: true, ..st }));
            }
            let changed = tokio::select! {
                r = rx.changed() => r.is_ok(),
                _ = st.shutdown.cancelled() => return None,
            };
            if !changed {
                // The writer went away: read its final state from the file next time round.
                st.rx = st.svc.logs().watch(&st.id);
            }
        }
    })
}

async fn wait_or_shutdown(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.cancelled() => {}
    }
}

/// The run record once it is terminal (the log closes just before the record is written).
async fn final_run(svc: &Service, id: &str) -> Option<Run> {
    for _ in 0..50 {
        match svc.get_run(id).await {
            Ok(run) if run.status.is_terminal() => return Some(run),
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => return None,
        }
    }
    svc.get_run(id).await.ok()
}

fn end_event(run: &Run) -> Event {
    let data = serde_json::to_string(run).unwrap_or_default();
    Event::default().event("end").data(data)
}
