//! `POST /hooks/registry`: Docker distribution's notifications, the fast path of base-image
//! triggers. A push of a tracked tag makes the watcher ask the registry at once; the
//! notification itself is only a hint (anyone who knows the token could send one), so the digest
//! that fires is always the one the registry answers.

use crate::daemon::Service;
use crate::registry::parse_notification;
use crate::store::ImageState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use std::collections::BTreeSet;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// `POST /hooks/registry`: answers 200 with the images it asked the watcher to recheck.
pub async fn notify(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, (StatusCode, Json<crate::api::ApiError>)> {
    let err = |status: StatusCode, code: &str, message: &str| {
        (status, Json(crate::api::ApiError { code: code.into(), message: message.into(), diagnostics: Vec::new() }))
    };
    let Some(expected) = svc.triggers.config.notification_token.as_deref() else {
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
    let tracked: BTreeSet<String> = match svc.store.base_images().await {
        Ok(images) => images.into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "registry notification: cannot read base images");
            return Err(err(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is not available; retry"));
        }
    };
    let mut rechecks = BTreeSet::new();
    for e in &events {
        let Some(tag) = &e.tag else { continue };
        let Some(image) =
            crate::triggers::base_image::canonical(&format!("{}/{}:{tag}", e.registry_host, e.repository))
        else {
            continue;
        };
        if tracked.contains(&image) && rechecks.insert(image.clone()) {
            due_now(&svc, &image).await;
            // Wakes the watcher at once when it runs on this node; the digest tells it when its
            // rechecks have seen the push.
            let _ = svc.triggers.recheck.send(format!("{image}@{}", e.digest));
        }
    }
    tracing::info!(events = events.len(), rechecks = rechecks.len(), "registry notification");
    Ok(Json(serde_json::json!({ "events": events.len(), "rechecks": rechecks })))
}

/// Makes the image due for a check now, in the database: the watcher may run on another node
/// (it rescans every 2 s), and a recheck that fails on this one is not lost.
async fn due_now(svc: &Service, image: &str) {
    let now = svc.triggers.clock.now();
    let result = async {
        let mut state = svc.store.image_state(image).await?.unwrap_or_else(|| ImageState::new(image));
        if state.next_check.is_none_or(|t| t > now) {
            state.next_check = Some(now);
            svc.store.put_image_state(&state).await?;
        }
        Ok::<_, crate::store::StoreError>(())
    };
    if let Err(e) = result.await {
        tracing::warn!(image, error = %e, "registry notification: cannot mark the image for a recheck");
    }
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
