//! `/v1/tokens`: API tokens (stored hashed; the secret is shown once, at creation).

use super::error::HttpResult;
use crate::api::{CreateToken, NewToken, TokenInfo};
use crate::daemon::Service;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use std::sync::Arc;

type Svc = State<Arc<Service>>;

/// `GET /v1/tokens`.
pub async fn list(State(svc): Svc) -> HttpResult<Json<Vec<TokenInfo>>> {
    Ok(Json(svc.list_tokens().await?))
}

/// `POST /v1/tokens`.
pub async fn create(State(svc): Svc, Json(req): Json<CreateToken>) -> HttpResult<(StatusCode, Json<NewToken>)> {
    Ok((StatusCode::CREATED, Json(svc.create_token(&req.name).await?)))
}

/// `DELETE /v1/tokens/{id}`.
pub async fn revoke(State(svc): Svc, Path(id): Path<String>) -> HttpResult<StatusCode> {
    svc.revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
