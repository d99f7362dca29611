//! The one error type of the Docker module.
//!
//! Every message says what failed and, where there is one, what the operator can do about it.
//! bollard's error type is deliberately not exposed: callers match on our variants, and the
//! engine's own messages stay stable when bollard changes.

use std::fmt::Write as _;

/// Everything that can go wrong while talking to a Docker engine.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached at all (socket missing, connection refused, TLS failure).
    #[error(
        "cannot reach the Docker engine at {endpoint}: {message} — is dockerd running? \
         set DOCKER_HOST to use another engine"
    )]
    Connect {
        /// The endpoint that was tried, e.g. `unix:///var/run/docker.sock`.
        endpoint: String,
        /// What the transport said.
        message: String,
    },

    /// `DOCKER_HOST` (or the host given) names a transport this build cannot use.
    #[error("unsupported Docker host `{host}`: {reason}")]
    UnsupportedHost {
        /// The host string as given.
        host: String,
        /// Why it is unsupported and what to use instead.
        reason: String,
    },

    /// TLS was requested but the client certificates are missing or unreadable.
    #[error(
        "cannot set up TLS to the Docker engine at {endpoint}: {message} — \
         put ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (default ~/.docker)"
    )]
    Tls {
        /// The endpoint that was tried.
        endpoint: String,
        /// What went wrong.
        message: String,
    },

    /// A named object does not exist.
    #[error("no such {kind} `{name}` on the Docker engine")]
    NotFound {
        /// `container`, `image`, `network` or `volume`.
        kind: &'static str,
        /// The name, id or reference that was looked up.
        name: String,
    },

    /// The engine refused or failed an API call.
    #[error("{action} failed: {message}{}", status_hint(*status))]
    Api {
        /// What drydock was doing, e.g. "creating container `x`".
        action: String,
        /// The HTTP status, when the engine answered at all.
        status: Option<u16>,
        /// The engine's message.
        message: String,
    },

    /// A `-p` / `--expose` style port specification could not be parsed.
    #[error("invalid port specification `{spec}`: {reason}")]
    InvalidPort {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A request was malformed before anything was sent to the engine.
    #[error("invalid {what}: {reason}")]
    InvalidRequest {
        /// What was invalid, e.g. "container spec".
        what: &'static str,
        /// Why.
        reason: String,
    },

    /// An image build failed; `message` is the builder's own error (a failing RUN, a missing file).
    #[error("image build failed: {message}")]
    BuildFailed {
        /// The builder's error message.
        message: String,
    },

    /// Pulling an image failed (unknown image, no access, registry unreachable).
    #[error(
        "cannot pull image `{reference}`: {message} — check the name and tag, \
         and the credentials for its registry"
    )]
    PullFailed {
        /// The image reference.
        reference: String,
        /// The engine's message.
        message: String,
    },

    /// Pushing an image failed.
    #[error(
        "cannot push image `{reference}`: {message} — check that the registry is reachable \
         and that the credentials allow pushing to this repository"
    )]
    PushFailed {
        /// The image reference.
        reference: String,
        /// The engine's or registry's message.
        message: String,
    },

    /// The container disappeared before its exit code could be read.
    #[error(
        "container `{id}` was removed before its exit code could be read \
         (was it created with auto_remove and removed by someone else?)"
    )]
    ExitCodeLost {
        /// Container id or name.
        id: String,
    },

    /// Reading the caller's upload stream failed.
    #[error("{action} failed: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn status_hint(status: Option<u16>) -> String {
    match status {
        Some(code) => format!(" (HTTP {code})"),
        None => String::new(),
    }
}

impl DockerError {
    /// Wraps a bollard error with what drydock was doing when it happened.
    pub(crate) fn api(action: impl Into<String>, err: bollard::errors::Error) -> Self {
        let (status, message) = describe(&err);
        DockerError::Api { action: action.into(), status, message }
    }

    /// True when the engine answered 404, whatever the operation.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DockerError::NotFound { .. } | DockerError::Api { status: Some(404), .. })
    }

    /// True when the engine answered 409 (conflict: name taken, object in use, …).
    pub fn is_conflict(&self) -> bool {
        matches!(self, DockerError::Api { status: Some(409), .. })
    }
}

/// Status code (if the engine answered) and a one-line message including the source chain,
/// because bollard's transport errors hide the useful part ("No such file or directory")
/// two levels down.
pub(crate) fn describe(err: &bollard::errors::Error) -> (Option<u16>, String) {
    use bollard::errors::Error as B;
    match err {
        B::DockerResponseServerError { status_code, message } => (Some(*status_code), message.trim().to_string()),
        B::DockerStreamError { error } => (None, error.trim().to_string()),
        B::RequestTimeoutError => (None, "the Docker engine did not answer in time".into()),
        other => (None, chain(other)),
    }
}

/// Joins an error and its sources with ": ", skipping repeats.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        source = s.source();
    }
    out
}

/// Status code of a bollard error, if the engine answered.
pub(crate) fn status_of(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Result alias for this module.
pub type Result<T, E = DockerError> = std::result::Result<T, E>;
