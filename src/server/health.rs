//! `/healthz` (the process answers) and `/readyz` (the database and Docker answer). No auth.

use crate::daemon::Service;
use crate::triggers::Hub;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use std::sync::Arc;

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the store answers, 503 with the reason otherwise.
pub async fn readyz(State(svc): State<Arc<Service>>) -> (StatusCode, Json<serde_json::Value>) {
    match svc.ready().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"store": "ok", "node": svc.settings().node_id}))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"store": e.to_string()}))),
    }
}

/// `GET /v1/info`: version, node, registry and labels (clients render task files with the same
/// `$Registry` the daemon will use).
pub async fn info(
    State(svc): State<Arc<Service>>,
    Extension(hub): Extension<Arc<Hub>>,
) -> Json<crate::api::DaemonInfo> {
    let settings = svc.settings();
    Json(crate::api::DaemonInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        node: settings.node_id.clone(),
        registry: settings.registry.clone(),
        labels: settings.labels.clone(),
        leads: hub.leading(),
    })
}
