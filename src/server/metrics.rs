//! `GET /metrics`: the node's metrics in Prometheus' text format, without a token (a scraper
//! rarely carries one, and nothing in it is secret: labels hold no run ids, names or messages).
//! Served on the API listener, or alone on `--metrics-listen`'s.

use crate::daemon::Service;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /metrics`.
pub async fn scrape(State(svc): State<Arc<Service>>) -> Response {
    match svc.metrics_text().await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        // Without the database's counts the gauges would lie; a failed scrape is what
        // Prometheus records as `up == 0`, which alerts an operator.
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("the database did not answer: {e}\n")).into_response(),
    }
}
