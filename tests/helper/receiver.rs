//! A local HTTP server on 127.0.0.1:0 that stands in for a git server's status API or a run-event
//! receiver: it records every request (path, headers, body, the answer it gave) and answers as
//! the test's policy says, so that a failing receiver can be had on demand.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::sync::{Arc, Mutex};

/// One request received.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Path and query.
    pub path: String,
    /// Headers as sent.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub answered: u16,
}

impl Hit {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Decides the status of an answer from the request and the requests before it.
pub type Policy = Arc<dyn Fn(&Hit, &[Hit]) -> u16 + Send + Sync>;

/// A running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    policy: Arc<Mutex<Policy>>,
    handle: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver that answers 200 to everything.
    pub async fn start() -> Receiver {
        Self::with_policy(Arc::new(|_, _| 200)).await
    }

    /// A receiver that answers as `policy` says.
    pub async fn with_policy(policy: Policy) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let policy = Arc::new(Mutex::new(policy));
        let (h, p) = (hits.clone(), policy.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (hits, policy) = (h.clone(), p.clone());
            async move {
                let mut hit = Hit {
                    path: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    headers,
                    body: body.to_vec(),
                    answered: 0,
                };
                let mut hits = hits.lock().unwrap();
                let decide = policy.lock().unwrap().clone();
                hit.answered = decide(&hit, &hits);
                hits.push(hit.clone());
                let status = StatusCode::from_u16(hit.answered).unwrap();
                (status, if status.is_success() { "{\"ok\":true}" } else { "{\"message\":\"try again later\"}" })
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, hits, policy, handle }
    }

    /// Answers as `policy` says from now on.
    pub fn set_policy(&self, policy: Policy) {
        *self.policy.lock().unwrap() = policy;
    }

    /// Every request so far, in order.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
