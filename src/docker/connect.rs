//! Connecting to an engine: DOCKER_HOST resolution, TLS, version negotiation, ping and info.

use std::path::PathBuf;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::DockerHost;
use super::error::{DockerError, Result, chain};

/// Where dockerd listens when nothing else is configured.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Timeout for calls whose answer arrives quickly (inspect, create, list, remove).
const API_TIMEOUT: Duration = Duration::from_secs(120);

/// Timeout for calls whose response headers may only arrive after a long upload or a long wait:
/// bollard's timeout covers everything up to the response headers, and the engine answers
/// `PUT /archive` only once the whole body is extracted, `POST /wait` once the container exits.
/// Step timeouts are the engine's job (it cancels), so this is only a backstop.
const STREAMING_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the engine says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub server_version: String,
    /// Operating system of the engine, e.g. `linux`.
    pub os: String,
    /// CPU architecture of the engine, e.g. `amd64`.
    pub arch: String,
    /// Highest API version the engine speaks, e.g. `1.41`.
    pub api_version: String,
}

impl DockerHost {
    /// Connects to an engine and negotiates the API version.
    ///
    /// `host` overrides `DOCKER_HOST`; with neither, the local socket is used. Supported:
    /// `unix://path` (or a bare absolute path), `tcp://`/`http://` (plain), and TLS via
    /// `https://` or `tcp://` with `DOCKER_TLS_VERIFY` set (certificates from `DOCKER_CERT_PATH`,
    /// default `~/.docker`), and `ssh://[user@]host[:port]` through the system's ssh client.
    pub async fn connect(host: Option<&str>) -> Result<DockerHost> {
        let endpoint = match host {
            Some(h) => h.trim().to_string(),
            None => std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string()),
        };
        let client = open_client(&endpoint)?;
        let client = client
            .negotiate_version()
            .await
            .map_err(|e| DockerError::Connect { endpoint: endpoint.clone(), message: super::error::describe(&e).1 })?;
        let host = DockerHost {
            api: client.clone().with_timeout(API_TIMEOUT),
            streaming: client.with_timeout(STREAMING_TIMEOUT),
            endpoint: endpoint.into(),
            seed_ready: Default::default(),
        };
        tracing::debug!(endpoint = %host.endpoint, "connected to Docker engine");
        Ok(host)
    }

    /// The endpoint this host talks to, as resolved at connect time.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The engine's unix socket, when it is reached through one: an engine on this machine,
    /// whose socket steps can mount and whose kernel (binfmt_misc) is this one's.
    pub fn socket_path(&self) -> Option<&str> {
        unix_socket(&self.endpoint)
    }

    /// Checks that the engine answers (`GET /_ping`).
    pub async fn ping(&self) -> Result<()> {
        self.api.ping().await.map(|_| ()).map_err(|e| self.connect_error(&e))
    }

    /// Engine version, platform and API version (`GET /version`).
    pub async fn info(&self) -> Result<EngineInfo> {
        let v = self.api.version().await.map_err(|e| self.connect_error(&e))?;
        Ok(EngineInfo {
            server_version: v.version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
        })
    }

    fn connect_error(&self, e: &bollard::errors::Error) -> DockerError {
        DockerError::Connect { endpoint: self.endpoint.to_string(), message: super::error::describe(e).1 }
    }
}

/// The socket path of a `unix://PATH` (or bare absolute path) endpoint.
fn unix_socket(endpoint: &str) -> Option<&str> {
    endpoint.strip_prefix("unix://").or_else(|| endpoint.starts_with('/').then_some(endpoint))
}

/// Builds a bollard client for `endpoint` without contacting it.
fn open_client(endpoint: &str) -> Result<Docker> {
    let timeout = API_TIMEOUT.as_secs();
    let unsupported =
        |reason: &str| DockerError::UnsupportedHost { host: endpoint.to_string(), reason: reason.to_string() };
    let connect_err =
        |e: bollard::errors::Error| DockerError::Connect { endpoint: endpoint.to_string(), message: chain(&e) };
    if let Some(path) = unix_socket(endpoint) {
        if !std::path::Path::new(path).exists() {
            return Err(DockerError::Connect {
                endpoint: endpoint.to_string(),
                message: format!("socket {path} does not exist"),
            });
        }
        return Docker::connect_with_unix(path, timeout, API_DEFAULT_VERSION).map_err(connect_err);
    }
    if endpoint.starts_with("https://") || (endpoint.starts_with("tcp://") && tls_requested()) {
        return open_tls_client(endpoint, timeout);
    }
    if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
        return Docker::connect_with_http(endpoint, timeout, API_DEFAULT_VERSION).map_err(connect_err);
    }
    if endpoint.starts_with("ssh://") {
        // As the docker CLI does it: the system's ssh client (with the user's ssh config, keys
        // and agent) runs `docker system dial-stdio` on the remote host, which therefore needs the
        // docker CLI there. One ssh process per HTTP connection, and nothing that outlives it.
        let target = super::ssh::SshTarget::parse(endpoint).map_err(|e| unsupported(&e))?;
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(super::ssh::SshConnector::new(target));
        let transport = move |req: bollard::BollardRequest| {
            let client = client.clone();
            async move { client.request(req).await.map_err(bollard::errors::Error::from) }
        };
        // The address only names the connection pool; every connection goes through ssh.
        return Docker::connect_with_custom_transport(
            transport,
            Some("http://ssh.engine"),
            timeout,
            API_DEFAULT_VERSION,
        )
        .map_err(connect_err);
    }
    if endpoint.starts_with("npipe://") {
        return Err(unsupported("named pipes exist only on Windows"));
    }
    Err(unsupported("expected unix://PATH, tcp://HOST:PORT, http://HOST:PORT, https://HOST:PORT or ssh://[USER@]HOST"))
}

/// Docker's own rule: any non-empty DOCKER_TLS_VERIFY turns TLS on.
fn tls_requested() -> bool {
    std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty())
}

fn open_tls_client(endpoint: &str, timeout: u64) -> Result<Docker> {
    crate::tls::install_crypto_provider();
    let dir = match std::env::var_os("DOCKER_CERT_PATH").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".docker"),
            None => {
                return Err(DockerError::Tls {
                    endpoint: endpoint.to_string(),
                    message: "neither DOCKER_CERT_PATH nor HOME is set".into(),
                });
            }
        },
    };
    let (key, cert, ca) = (dir.join("key.pem"), dir.join("cert.pem"), dir.join("ca.pem"));
    for f in [&key, &cert, &ca] {
        if !f.is_file() {
            return Err(DockerError::Tls {
                endpoint: endpoint.to_string(),
                message: format!("{} is missing", f.display()),
            });
        }
    }
    // bollard wants tcp:// or https:// stripped to host:port; it does that itself.
    Docker::connect_with_ssl(endpoint, &key, &cert, &ca, timeout, API_DEFAULT_VERSION)
        .map_err(|e| DockerError::Tls { endpoint: endpoint.to_string(), message: chain(&e) })
}
