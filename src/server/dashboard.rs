//! The web dashboard: three embedded files (no CDN, no build step) and a token login that sets
//! an HttpOnly session cookie, which `/v1` accepts in place of the bearer header.

use super::error::{HttpError, HttpResult};
use crate::daemon::Service;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The cookie that carries the session.
pub const SESSION_COOKIE: &str = "drydock_session";

const INDEX: &str = include_str!("../../dashboard/index.html");
const SCRIPT: &str = include_str!("../../dashboard/app.js");
const STYLE: &str = include_str!("../../dashboard/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Everything is same-origin: no inline scripts, no outside sources.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the dashboard page.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

/// `GET /ui/app.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /ui/app.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The login form's body.
#[derive(serde::Deserialize)]
pub struct Login {
    token: String,
}

/// `POST /ui/login`: checks the token and keeps it in an HttpOnly, same-site cookie, so the
/// page's scripts never see it and other sites cannot send it.
pub async fn login(State(svc): State<Arc<Service>>, headers: HeaderMap, Json(l): Json<Login>) -> HttpResult<Response> {
    let token = l.token.trim();
    if token.is_empty() || !svc.authenticate(token).await? {
        return Err(HttpError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or revoked token; create one with `drydock token create NAME`",
        ));
    }
    let secure = if forwarded_https(&headers) { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `POST /ui/logout`: forgets the session cookie.
pub async fn logout() -> Response {
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

/// Behind a TLS-terminating proxy the cookie must be marked Secure.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The session token in a request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}
