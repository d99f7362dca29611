//! Webhook receivers (`/hooks/...`, public: each checks its own signature) and the deliveries
//! listings (`GET /v1/hooks/deliveries`; `GET /v1/hooks/outgoing` for what drydock sends). One
//! receiver serves every provider: the provider (`triggers::source::provider`) names the headers
//! to read, `triggers::source` does the work, and this module maps its answers to status codes.

use super::error::{HttpError, HttpResult};
use crate::api::{Delivery, OutgoingDelivery};
use crate::daemon::Service;
use crate::triggers::source::{self, Answer, Incoming, MAX_HOOK_BODY, Provider, provider};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type Svc = State<Arc<Service>>;

async fn body_bytes(body: Body) -> Result<bytes::Bytes, HttpError> {
    axum::body::to_bytes(body, MAX_HOOK_BODY).await.map_err(|_| {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("webhook bodies are limited to {} MiB (or the body could not be read)", MAX_HOOK_BODY >> 20),
        )
    })
}

async fn handle(svc: Arc<Service>, inc: Incoming) -> Response {
    let provider = inc.provider.name();
    let delivery = inc.delivery_id.clone().unwrap_or_default();
    match source::receive(&svc, inc).await {
        Answer::Pong => (StatusCode::OK, Json(json!({"outcome": "pong"}))).into_response(),
        Answer::BadRequest(m) => HttpError::new(StatusCode::BAD_REQUEST, "invalid", m).into_response(),
        // One status and one body for every refusal: see `source::REFUSED`.
        Answer::Refused => HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", source::REFUSED).into_response(),
        Answer::NotFound(m) => HttpError::new(StatusCode::NOT_FOUND, "not-found", m).into_response(),
        Answer::Redelivered(d) => (
            StatusCode::OK,
            Json(json!({
                "outcome": d.outcome,
                "reason": d.reason,
                "runs": d.runs,
                "redelivery": true,
                "delivery_id": d.delivery_id,
            })),
        )
            .into_response(),
        Answer::Handled(h) => {
            tracing::info!(provider, delivery, outcome = h.outcome.as_str(), runs = ?h.runs, "webhook delivery processed");
            (StatusCode::ACCEPTED, Json(h)).into_response()
        }
        Answer::Unavailable(m) => {
            tracing::warn!(provider, delivery, error = %m, "webhook delivery not processed");
            HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", format!("{m}; deliver it again later"))
                .into_response()
        }
    }
}

/// A webhook receiver, the same for every provider: the provider says which headers to read.
async fn receive(
    svc: Arc<Service>,
    provider: &'static dyn Provider,
    task: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> HttpResult<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let inc = Incoming::new(provider, header, task, body_bytes(body).await?);
    Ok(handle(svc, inc).await)
}

/// `POST /hooks/github`.
pub async fn github(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    receive(svc, &provider::GitHub, None, headers, body).await
}

/// `POST /hooks/gitlab`.
pub async fn gitlab(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    receive(svc, &provider::GitLab, None, headers, body).await
}

/// `POST /hooks/gitea` and `/hooks/forgejo`.
pub async fn gitea(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    receive(svc, &provider::Gitea, None, headers, body).await
}

/// `POST /hooks/generic/{task}`.
pub async fn generic(
    State(svc): Svc,
    Path(task): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> HttpResult<Response> {
    receive(svc, &provider::Generic, Some(task), headers, body).await
}

/// `?top=N&before=TIME`.
#[derive(Deserialize, Default)]
pub struct DeliveryQuery {
    #[serde(default)]
    top: Option<u32>,
    #[serde(default)]
    before: Option<chrono::DateTime<chrono::Utc>>,
}

/// The most deliveries one listing returns.
const MAX_TOP: u32 = 1000;

/// `GET /v1/hooks/deliveries`: newest first.
pub async fn deliveries(State(svc): Svc, Query(q): Query<DeliveryQuery>) -> HttpResult<Json<Vec<Delivery>>> {
    let top = q.top.unwrap_or(50).clamp(1, MAX_TOP);
    let list = source::deliveries(&svc, top, q.before)
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(list))
}

/// `?top=N&run=ID`.
#[derive(Deserialize, Default)]
pub struct OutgoingQuery {
    #[serde(default)]
    top: Option<u32>,
    #[serde(default)]
    run: Option<String>,
}

/// `GET /v1/hooks/outgoing`: newest first.
pub async fn outgoing(State(svc): Svc, Query(q): Query<OutgoingQuery>) -> HttpResult<Json<Vec<OutgoingDelivery>>> {
    let top = q.top.unwrap_or(50).clamp(1, MAX_TOP);
    Ok(Json(svc.outgoing(q.run.as_deref(), top).await?))
}
