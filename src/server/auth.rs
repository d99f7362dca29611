//! Token authentication for everything under `/v1`: the bearer header, or the dashboard's
//! session cookie.

use super::error::HttpError;
use crate::daemon::Service;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The name of the token a request came with, for handlers that record who acted.
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// Lets the request through only with a valid, unrevoked token, and tells the handler whose.
pub async fn require_token(State(svc): State<Arc<Service>>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    // The dashboard's session cookie (SameSite=Strict: other sites' pages cannot send it).
    let token = bearer.or_else(|| super::dashboard::session_token(req.headers()));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return unauthorized("missing bearer token: send `Authorization: Bearer <token>` (DRYDOCK_TOKEN for the CLI)");
    };
    match svc.caller(&token).await {
        Ok(Some(name)) => {
            req.extensions_mut().insert(Caller(name));
            next.run(req).await
        }
        Ok(None) => unauthorized("unknown or revoked token; create one with `drydock token create`"),
        Err(e) => HttpError::from(e).into_response(),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut resp = HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    resp
}
