//! Errors as HTTP responses: a status code and an `api::ApiError` body saying what to do.

use crate::api::ApiError;
use crate::daemon::ServiceError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error a handler returns.
pub struct HttpError(pub StatusCode, pub ApiError);

impl HttpError {
    /// A plain error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        HttpError(status, ApiError { code: code.into(), message: message.into(), diagnostics: Vec::new() })
    }
}

impl From<ServiceError> for HttpError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { message, diagnostics } => {
                HttpError(StatusCode::BAD_REQUEST, ApiError { code: "invalid".into(), message, diagnostics })
            }
            ServiceError::NotFound(m) => HttpError::new(StatusCode::NOT_FOUND, "not-found", m),
            ServiceError::Conflict(m) => HttpError::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::TooLarge(m) => HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", m),
            ServiceError::InsufficientStorage(m) => {
                HttpError::new(StatusCode::INSUFFICIENT_STORAGE, "insufficient-storage", m)
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m)
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// Result type of handlers.
pub type HttpResult<T> = Result<T, HttpError>;
