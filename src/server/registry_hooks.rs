//! `POST /hooks/registry`: Docker distribution's notifications, the fast path of base-image
//! triggers. This module checks the bearer token and the envelope; `triggers::base_image::notify`
//! makes the pushed images due for a check.

use crate::daemon::Service;
use crate::registry::parse_notification;
use crate::triggers::Hub;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::{Extension, Json};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// `POST /hooks/registry`: answers 200 with the images it asked the watcher to recheck.
pub async fn notify(
    State(svc): State<Arc<Service>>,
    Extension(hub): Extension<Arc<Hub>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, (StatusCode, Json<crate::api::ApiError>)> {
    let err = |status: StatusCode, code: &str, message: &str| {
        (status, Json(crate::api::ApiError { code: code.into(), message: message.into(), diagnostics: Vec::new() }))
    };
    let Some(expected) = hub.config.notification_token.as_deref() else {
        // 403 rather than 404: the route exists, it is switched off.
        return Err(err(
            StatusCode::FORBIDDEN,
            "notifications-disabled",
            "registry notifications are not enabled on this daemon; start `drydock serve` with \
             --notification-token-file PATH (or DRYDOCK_NOTIFICATION_TOKEN) and configure the registry \
             to send `Authorization: Bearer <token>`",
        ));
    };
    let given = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| token_matches(g.trim(), expected)) {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong notification token; the registry's endpoint must send \
             `Authorization: Bearer <token>` with the daemon's notification token",
        ));
    }
    let events = parse_notification(&body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, "invalid", &format!("not a registry notification envelope: {e}")))?;
    let rechecks = match crate::triggers::base_image::notify::pushed(&svc, &hub, &events).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "registry notification: cannot read base images");
            return Err(err(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is not available; retry"));
        }
    };
    tracing::info!(events = events.len(), rechecks = rechecks.len(), "registry notification");
    Ok(Json(serde_json::json!({ "events": events.len(), "rechecks": rechecks })))
}

/// Constant-time comparison (of equal-length hashes, so the length does not leak either).
fn token_matches(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    let a = sha2::Sha256::digest(given.as_bytes());
    let b = sha2::Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_match_exactly() {
        assert!(super::token_matches("s3cret", "s3cret"));
        assert!(!super::token_matches("s3cret ", "s3cret"));
        assert!(!super::token_matches("", "s3cret"));
    }
}
