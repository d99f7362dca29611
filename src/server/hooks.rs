//! Webhook receivers (`/hooks/...`, public: each checks its own signature) and the deliveries
//! listing (`GET /v1/hooks/deliveries`). The work is in `triggers::source`; this module maps
//! HTTP to it and its answers back to status codes.

use super::error::{HttpError, HttpResult};
use crate::api::Delivery;
use crate::daemon::Service;
use crate::triggers::source::{self, Answer, Incoming, MAX_HOOK_BODY, Provider};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type Svc = State<Arc<Service>>;

fn header(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok()).map(str::to_string)
}

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
    let provider = inc.provider.map(|p| p.as_str()).unwrap_or_default();
    let delivery = inc.delivery_id.clone().unwrap_or_default();
    match source::receive(&svc, inc).await {
        Answer::Pong => (StatusCode::OK, Json(json!({"outcome": "pong"}))).into_response(),
        Answer::BadRequest(m) => HttpError::new(StatusCode::BAD_REQUEST, "invalid", m).into_response(),
        Answer::Unauthorized(m) => {
            tracing::info!(provider, delivery, "webhook refused: {m}");
            HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", m).into_response()
        }
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

/// `POST /hooks/github`.
pub async fn github(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    let inc = Incoming {
        provider: Some(Provider::Github),
        event: header(&headers, &["x-github-event"]),
        signature: header(&headers, &["x-hub-signature-256"]),
        delivery_id: header(&headers, &["x-github-delivery"]),
        task: None,
        body: body_bytes(body).await?,
    };
    Ok(handle(svc, inc).await)
}

/// `POST /hooks/gitlab`.
pub async fn gitlab(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    let inc = Incoming {
        provider: Some(Provider::Gitlab),
        event: header(&headers, &["x-gitlab-event"]),
        signature: header(&headers, &["x-gitlab-token"]),
        // Redeliveries repeat `Idempotency-Key` (GitLab 17.4+); older versions send only the
        // per-attempt event UUID; without either the body's hash stands in.
        delivery_id: header(&headers, &["idempotency-key", "x-gitlab-event-uuid"]),
        task: None,
        body: body_bytes(body).await?,
    };
    Ok(handle(svc, inc).await)
}

/// `POST /hooks/gitea` and `/hooks/forgejo`.
pub async fn gitea(State(svc): Svc, headers: HeaderMap, body: Body) -> HttpResult<Response> {
    let inc = Incoming {
        provider: Some(Provider::Gitea),
        event: header(&headers, &["x-gitea-event", "x-forgejo-event"]),
        signature: header(&headers, &["x-gitea-signature", "x-forgejo-signature"]),
        delivery_id: header(&headers, &["x-gitea-delivery", "x-forgejo-delivery"]),
        task: None,
        body: body_bytes(body).await?,
    };
    Ok(handle(svc, inc).await)
}

/// `POST /hooks/generic/{task}`.
pub async fn generic(
    State(svc): Svc,
    Path(task): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> HttpResult<Response> {
    let inc = Incoming {
        provider: Some(Provider::Generic),
        event: None,
        signature: header(&headers, &["x-drydock-signature"]),
        delivery_id: header(&headers, &["x-drydock-delivery"]),
        task: Some(task),
        body: body_bytes(body).await?,
    };
    Ok(handle(svc, inc).await)
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
    let list = svc
        .store
        .list_deliveries(top, q.before)
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(list))
}
