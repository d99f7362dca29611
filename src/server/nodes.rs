//! `/v1/nodes`: the nodes of the database, and draining one.

use super::error::HttpResult;
use crate::api::NodeInfo;
use crate::daemon::Service;
use axum::Json;
use axum::extract::{Path, State};
use std::sync::Arc;

type Svc = State<Arc<Service>>;

/// `GET /v1/nodes`.
pub async fn list(State(svc): Svc) -> HttpResult<Json<Vec<NodeInfo>>> {
    Ok(Json(svc.nodes().await?))
}

/// `POST /v1/nodes/{id}/drain`: the node reads the request with its next report.
pub async fn drain(State(svc): Svc, Path(id): Path<String>) -> HttpResult<Json<NodeInfo>> {
    Ok(Json(svc.drain_node(&id).await?))
}
