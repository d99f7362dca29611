//! Error types of the registry module.
//!
//! The watcher's one hard rule is "a transient failure is never a digest change", so
//! [`RegistryError::is_transient`] is the question callers ask before acting on an error.

use std::path::PathBuf;
use std::time::Duration;

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered 404: the repository or the tag/digest does not exist.
    #[error("manifest {repository}:{reference} not found on {registry}")]
    NotFound {
        /// Registry host as given by the caller.
        registry: String,
        /// Repository path, after Docker Hub's `library/` rewrite.
        repository: String,
        /// Tag or digest that was asked for.
        reference: String,
    },
    /// The registry refused us even after the authentication dance.
    #[error("not authorized on {registry}: {hint}")]
    Unauthorized {
        /// Registry host as given by the caller.
        registry: String,
        /// What the user can do about it; never contains a secret.
        hint: String,
    },
    /// 429 on every attempt, or a `Retry-After` longer than the client is willing to sleep.
    #[error("rate limited by the registry{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The registry's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx on every attempt.
    #[error("registry server error (HTTP {status})")]
    Server {
        /// The last status code seen.
        status: u16,
    },
    /// The request timed out on every attempt.
    #[error("registry request timed out")]
    Timeout,
    /// Connection refused, reset, TLS failure and the like, on every attempt.
    #[error("registry transport error: {}", error_chain(.0))]
    Transport(#[source] reqwest::Error),
    /// The registry sent a digest that is malformed or does not match the content.
    #[error("invalid digest: {0}")]
    InvalidDigest(String),
    /// The repository or reference cannot be put into a registry URL.
    #[error("invalid image reference: {0}")]
    InvalidReference(String),
    /// The registry or its token service answered something the protocol does not allow.
    #[error("unexpected registry response: {0}")]
    Protocol(String),
}

impl RegistryError {
    /// True when trying again later may succeed (429, 5xx, timeouts, connection errors).
    ///
    /// A base-image watcher must keep the last known digest on a transient error instead of
    /// treating "could not ask" as "changed".
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout | Self::Transport(_))
    }

    /// A short name of the kind of failure, for metrics labels (never the message, which names
    /// images and hosts).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Unauthorized { .. } => "unauthorized",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::InvalidDigest(_) | Self::InvalidReference(_) => "invalid",
            Self::Protocol(_) => "protocol",
        }
    }

    /// Maps a reqwest failure, keeping timeouts apart because the watcher reports them differently.
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() { Self::Timeout } else { Self::Transport(err) }
    }
}

/// reqwest's own message is only "error sending request for url (…)"; the cause that tells an
/// operator what to fix (connection refused, DNS, certificate) sits deeper in the chain.
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

/// Why credentials could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The Docker config file could not be read.
    #[error("cannot read Docker config {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Docker config file is not valid JSON of the expected shape.
    #[error("cannot parse Docker config {path}: {source}")]
    Json {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An `auths.<host>.auth` value is not base64 of `user:password`.
    #[error("Docker config entry for {host} has a malformed `auth` field (expected base64 of user:password)")]
    MalformedAuth {
        /// The registry key of the broken entry.
        host: String,
    },
    /// A `--registry-login` value is not `host=user:password`; the value itself is not echoed.
    #[error("invalid registry login for {host:?}: expected host=user:password")]
    MalformedLogin {
        /// The part before `=`, if any (never the password).
        host: String,
    },
    /// The Docker config hands this registry to a credential helper, which drydock does not run.
    #[error(
        "credentials for {host} live in the Docker credential helper `docker-credential-{helper}`, \
         which drydock does not execute; pass --registry-login {host}=USER:PASSWORD instead"
    )]
    HelperNotSupported {
        /// The registry asked for.
        host: String,
        /// The helper's name as written in config.json.
        helper: String,
    },
}

/// Why a registry notification body could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// The body is not a notification envelope.
    #[error("invalid registry notification envelope: {0}")]
    Json(#[from] serde_json::Error),
}
