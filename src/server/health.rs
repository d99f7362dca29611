//! `/healthz` (the process answers) and `/readyz` (the database and Docker answer). No auth.

use crate::daemon::Service;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the store answers, 503 with the reason otherwise.
pub async fn readyz(State(svc): State<Arc<Service>>) -> (StatusCode, Json<serde_json::Value>) {
    match svc.store.kv_get("readyz").await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"store": "ok", "node": svc.settings.node_id}))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"store": e.to_string()}))),
    }
}

/// `GET /v1/info`: version, node, registry and labels (clients render task files with the same
/// `$Registry` the daemon will use).
pub async fn info(State(svc): State<Arc<Service>>) -> Json<crate::api::DaemonInfo> {
    Json(crate::api::DaemonInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        node: svc.settings.node_id.clone(),
        registry: svc.settings.registry.clone(),
        labels: svc.settings.labels.clone(),
        leads: svc.triggers.leading(),
    })
}
