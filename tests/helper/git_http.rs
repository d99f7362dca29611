//! A git server over smart HTTP that demands a user name and token, as GitHub does for a private
//! repository: `git http-backend` (CGI) behind basic auth, serving [`GitServer`]'s repositories.

use super::git::GitServer;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncWriteExt;

/// The server; it stops with the test's runtime.
pub struct GitHttp {
    /// `http://127.0.0.1:PORT`, to which `/<name>.git` is appended.
    pub url: String,
    /// Requests that came with the right user name and token.
    pub authorized: Arc<AtomicUsize>,
}

struct Shared {
    root: PathBuf,
    basic: String,
    authorized: Arc<AtomicUsize>,
}

impl GitHttp {
    /// Serves `git`'s repositories to `user` with `token` only.
    pub async fn start(git: &GitServer, user: &str, token: &str) -> GitHttp {
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")));
        let authorized = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared { root: git.base.path().to_path_buf(), basic, authorized: authorized.clone() });
        let app = axum::Router::new().fallback(backend).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        GitHttp { url, authorized }
    }
}

async fn backend(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if header_str(&parts.headers, header::AUTHORIZATION) != shared.basic {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"git\"")],
            "authentication required",
        )
            .into_response();
    }
    shared.authorized.fetch_add(1, Ordering::SeqCst);
    let body: Bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header_str(&parts.headers, header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header_str(&parts.headers, header::CONTENT_ENCODING))
        .env("HTTP_GIT_PROTOCOL", parts.headers.get("git-protocol").and_then(|v| v.to_str().ok()).unwrap_or(""))
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = async move {
        let _ = stdin.write_all(&body).await;
    };
    let (_, out) = tokio::join!(feed, child.wait_with_output());
    cgi_response(&out.unwrap().stdout)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// A CGI answer (headers, a blank line, the body) as an HTTP response.
fn cgi_response(out: &[u8]) -> Response {
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, gap)) = split else { return (StatusCode::BAD_GATEWAY, "no CGI headers").into_response() };
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&out[..end]).lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|c| c.parse().ok()).unwrap_or(500);
            response = response.status(code);
        } else {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(out[end + gap..].to_vec())).unwrap()
}
