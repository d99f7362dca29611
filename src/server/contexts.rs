//! `POST /v1/contexts`: a build context uploaded by the CLI, stored under the data directory after
//! every entry has been checked (no absolute paths, no `..`, no links out, no devices, size cap).

use super::error::{HttpError, HttpResult};
use crate::api::ContextInfo;
use crate::context::archive::{self, ArchiveLimits};
use crate::daemon::Service;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use futures_util::StreamExt;
use sha2::Digest;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Streams the body to a temporary file (hashing it, under the size cap), validates the archive,
/// then keeps it as `<id>.tar`.
pub async fn upload(State(svc): State<Arc<Service>>, body: Body) -> HttpResult<(StatusCode, Json<ContextInfo>)> {
    svc.check_free_space()?;
    let max = svc.settings().max_upload_bytes;
    let dir = svc.settings().uploads_dir.clone();
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| internal(format!("no randomness: {e}")))?;
    let id = hex::encode(raw);
    let partial = dir.join(format!("{id}.partial"));
    let result = receive(body, &partial, max).await;
    let (size, digest) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    let limits = ArchiveLimits { max_total_bytes: max.saturating_mul(4), ..ArchiveLimits::default() };
    let check_path = partial.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&check_path)?;
        archive::check(std::io::BufReader::new(f), &limits).map_err(std::io::Error::other)
    })
    .await
    .map_err(|e| internal(format!("checking the upload stopped: {e}")))?;
    if let Err(e) = checked {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "invalid-archive",
            format!("the uploaded context was rejected: {e}"),
        ));
    }
    let path = dir.join(format!("{id}.tar"));
    tokio::fs::rename(&partial, &path).await.map_err(|e| internal(format!("storing the upload: {e}")))?;
    let info = ContextInfo { id, digest: format!("sha256:{digest}"), size };
    svc.record_context(&info, &path.display().to_string()).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn receive(body: Body, path: &std::path::Path, max: u64) -> HttpResult<(u64, String)> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(crate::datadir::FILE_MODE)
        .open(path)
        .await
        .map_err(|e| internal(format!("storing the upload: {e}")))?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            HttpError::new(StatusCode::BAD_REQUEST, "invalid", format!("the upload was interrupted: {e}"))
        })?;
        size += chunk.len() as u64;
        if size > max {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("the context is larger than the daemon's limit of {max} bytes; trim it with .dockerignore"),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| internal(format!("storing the upload: {e}")))?;
    }
    file.flush().await.map_err(|e| internal(format!("storing the upload: {e}")))?;
    Ok((size, hex::encode(hasher.finalize())))
}

fn internal(message: String) -> HttpError {
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}
