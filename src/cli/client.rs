//! A small typed HTTP client for the daemon's `/v1` API: where the daemon is, the bearer token,
//! and errors that tell the user what to do. The endpoints themselves are in [`super::endpoints`].

use super::CliError;
use crate::api::ApiError;
use clap::Args;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Environment variable naming the daemon.
pub const SERVER_ENV: &str = "DRYDOCK_SERVER";
/// Environment variable holding the API token.
pub const TOKEN_ENV: &str = "DRYDOCK_TOKEN";

/// Ordinary API calls answer quickly; streams (uploads, logs) have no overall timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the daemon is and how to authenticate.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// URL of the drydock daemon, e.g. http://build-host:7480 (`drydock serve` listens on 127.0.0.1:7480 by default) [env: DRYDOCK_SERVER].
    // Not clap's `env`: a value from the environment would count as given and make
    // `--local` conflict with it, while an exported DRYDOCK_SERVER is only a default.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// API token (prefer DRYDOCK_TOKEN: command lines are visible to other users).
    #[arg(long, env = TOKEN_ENV, hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

impl ServerArgs {
    /// The daemon URL from `--server`, else `DRYDOCK_SERVER`; empty values count as unset.
    pub fn server_url(&self) -> Option<String> {
        self.server
            .clone()
            .or_else(|| std::env::var(SERVER_ENV).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// Why a call to the daemon did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Neither `--server` nor `DRYDOCK_SERVER` was given.
    #[error("no daemon given: set --server URL or DRYDOCK_SERVER (the address `drydock serve` listens on)")]
    NoServer,
    /// The server URL does not parse.
    #[error("--server/DRYDOCK_SERVER `{url}` is not an http(s) URL: {problem}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is not usable.
        problem: String,
    },
    /// Nothing listens there (or the name does not resolve).
    #[error(
        "cannot reach the drydock daemon at {url} — is `drydock serve` running? set --server/DRYDOCK_SERVER ({cause})"
    )]
    Unreachable {
        /// The daemon's base URL.
        url: String,
        /// The transport's reason.
        cause: String,
    },
    /// 401: no token, or one the daemon does not know.
    #[error(
        "the daemon refused the token — set DRYDOCK_TOKEN (create one with `drydock token create --data-dir DIR` on the daemon's machine){}",
        detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    Unauthorized {
        /// The daemon's own message, if it sent one.
        detail: Option<String>,
    },
    /// A non-2xx answer with an [`ApiError`] body.
    #[error("{}", error.message)]
    Api {
        /// HTTP status.
        status: u16,
        /// The body.
        error: ApiError,
    },
    /// A non-2xx answer without an [`ApiError`] body (a proxy in between, an older daemon).
    #[error("the daemon answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The request failed after connecting (reset, timeout, broken body).
    #[error("request to {url} failed: {cause}")]
    Transport {
        /// The URL called.
        url: String,
        /// The error chain.
        cause: String,
    },
    /// A 2xx answer that is not what the API promises.
    #[error("unexpected answer from {url}: {problem}")]
    Decode {
        /// The URL called.
        url: String,
        /// What did not parse.
        problem: String,
    },
}

impl ClientError {
    /// Whether trying again later may help: the daemon restarting, a dropped connection, 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Transport { .. } => true,
            ClientError::Api { status, .. } | ClientError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::NoServer | ClientError::BadUrl { .. } => CliError::Invalid(e.to_string()),
            ClientError::Api { status, error } => CliError::Remote {
                message: error.message,
                diagnostics: error.diagnostics.into_iter().map(|d| d.rendered).collect(),
                invalid: status == StatusCode::BAD_REQUEST.as_u16(),
            },
            ClientError::Status { status, .. } if status == StatusCode::BAD_REQUEST.as_u16() => {
                CliError::Invalid(e.to_string())
            }
            other => CliError::Failed(other.to_string()),
        }
    }
}

/// A connection to one daemon. Cheap to clone (reqwest pools connections).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Client {
    /// A client for the daemon named by `args` (flag, then environment).
    pub fn from_args(args: &ServerArgs) -> Result<Client, ClientError> {
        let url = args.server_url().ok_or(ClientError::NoServer)?;
        Client::new(&url, args.token.clone())
    }

    /// A client for the daemon at `url` (a path prefix is kept, for daemons behind a proxy).
    pub fn new(url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let bad = |problem: String| ClientError::BadUrl { url: url.to_string(), problem };
        let base = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("use http://HOST:PORT or https://HOST:PORT".into()));
        }
        // reqwest's rustls needs a process-wide provider when both ring and aws-lc-rs are linked.
        let http = crate::tls::client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("drydock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(error_chain(&e)))?;
        Ok(Client { http, base, token: token.filter(|t| !t.is_empty()) })
    }

    /// The daemon's base URL, for messages.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `<base>/v1/<segments…>`, each segment percent-encoded (task names are safe, login
    /// servers with ports and run ids given by users may not be).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    /// A request with the bearer token and the ordinary call timeout.
    pub fn call(&self, method: Method, url: Url) -> RequestBuilder {
        self.stream_call(method, url).timeout(CALL_TIMEOUT)
    }

    /// A request with the bearer token and no overall timeout, for uploads and log streams.
    pub fn stream_call(&self, method: Method, url: Url) -> RequestBuilder {
        let rb = self.http.request(method, url);
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Sends a request and turns transport failures and non-2xx answers into [`ClientError`]s.
    pub async fn send(&self, rb: RequestBuilder) -> Result<Response, ClientError> {
        let (client, request) = rb.build_split();
        let request = request.map_err(|e| self.transport(&e))?;
        let url = request.url().to_string();
        let response = client.execute(request).await.map_err(|e| self.transport(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.map_err(|e| ClientError::Transport { url, cause: error_chain(&e) })?;
        Err(error_from_body(status, &body))
    }

    /// Reads a JSON body.
    pub async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
        let url = response.url().to_string();
        let bytes =
            response.bytes().await.map_err(|e| ClientError::Transport { url: url.clone(), cause: error_chain(&e) })?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode { url, problem: e.to_string() })
    }

    /// Maps a reqwest failure; a failure to connect gets the "is the daemon running?" advice.
    pub fn transport(&self, e: &reqwest::Error) -> ClientError {
        if e.is_connect() {
            ClientError::Unreachable { url: self.base.as_str().trim_end_matches('/').to_string(), cause: root_cause(e) }
        } else {
            let url = e.url().map(Url::to_string).unwrap_or_else(|| self.base.to_string());
            ClientError::Transport { url, cause: error_chain(e) }
        }
    }
}

/// A non-2xx answer as an error: the [`ApiError`] body when there is one.
pub fn error_from_body(status: StatusCode, body: &str) -> ClientError {
    let parsed: Option<ApiError> = serde_json::from_str(body).ok();
    if status == StatusCode::UNAUTHORIZED {
        return ClientError::Unauthorized { detail: parsed.map(|e| e.message) };
    }
    match parsed {
        Some(error) => ClientError::Api { status: status.as_u16(), error },
        None => {
            let mut body: String = body.trim().chars().take(300).collect();
            if body.is_empty() {
                body = status.canonical_reason().unwrap_or("no body").to_string();
            }
            ClientError::Status { status: status.as_u16(), body }
        }
    }
}

/// reqwest's own message is only "error sending request"; the useful part is deeper.
fn error_chain(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The innermost cause ("Connection refused (os error 111)"), which is what a user can act on.
fn root_cause(err: &reqwest::Error) -> String {
    let mut last = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::WireDiagnostic;

    #[test]
    fn urls_keep_a_path_prefix_and_encode_segments() {
        let c = Client::new("http://h:7878/drydock/", None).unwrap();
        assert_eq!(c.url(&["runs", "ab1"]).as_str(), "http://h:7878/drydock/v1/runs/ab1");
        let c = Client::new("http://h:7878", None).unwrap();
        assert_eq!(
            c.url(&["tasks", "t1", "credentials", "reg.io:5000/x"]).as_str(),
            "http://h:7878/v1/tasks/t1/credentials/reg.io:5000%2Fx"
        );
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(matches!(Client::new("localhost:7878", None), Err(ClientError::BadUrl { .. })));
        assert!(matches!(Client::new("ftp://h", None), Err(ClientError::BadUrl { .. })));
    }

    #[test]
    fn error_bodies_map_to_exit_codes_and_keep_diagnostics() {
        let body = serde_json::to_string(&ApiError {
            code: "invalid".into(),
            message: "task file has errors".into(),
            diagnostics: vec![WireDiagnostic {
                severity: "error".into(),
                code: "unknown-property".into(),
                message: "m".into(),
                file: "acb.yaml".into(),
                line: Some(3),
                col: Some(5),
                help: None,
                rendered: "acb.yaml:3:5: error[unknown-property]: m".into(),
            }],
        })
        .unwrap();
        let e: CliError = error_from_body(StatusCode::BAD_REQUEST, &body).into();
        assert_eq!(e.exit_code(), 2);
        match e {
            CliError::Remote { diagnostics, .. } => {
                assert_eq!(diagnostics, ["acb.yaml:3:5: error[unknown-property]: m"])
            }
            other => panic!("{other:?}"),
        }
        let e: CliError = error_from_body(StatusCode::SERVICE_UNAVAILABLE, "busy").into();
        assert_eq!(e.exit_code(), 1);
        let e = error_from_body(StatusCode::UNAUTHORIZED, "");
        assert!(e.to_string().contains("set DRYDOCK_TOKEN"), "{e}");
        assert!(!e.is_transient());
        assert!(error_from_body(StatusCode::BAD_GATEWAY, "").is_transient());
    }
}
