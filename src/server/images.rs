//! `/v1/images` and `/v1/tasks/{name}/dependencies`: which tasks build from which images, and
//! what the base-image watcher knows of each.

use super::error::HttpResult;
use crate::api::{TaskDependencies, WatchedImage};
use crate::daemon::Service;
use axum::Json;
use axum::extract::{Path, State};
use std::sync::Arc;

/// `GET /v1/tasks/{name}/dependencies`.
pub async fn task_dependencies(
    State(svc): State<Arc<Service>>,
    Path(name): Path<String>,
) -> HttpResult<Json<TaskDependencies>> {
    Ok(Json(crate::triggers::base_image::task_dependencies(&svc, &name).await?))
}

/// `GET /v1/images`.
pub async fn list(State(svc): State<Arc<Service>>) -> HttpResult<Json<Vec<WatchedImage>>> {
    Ok(Json(crate::triggers::base_image::watched_images(&svc).await?))
}
