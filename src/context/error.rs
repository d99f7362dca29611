//! Errors of the context module. Every message says what is wrong, where (file, entry or
//! URL) and what to do; URLs are shown without credentials or query strings, and git tokens
//! never appear (see [`redact_url`]).

use std::path::PathBuf;

use super::archive::ArchiveError;
use crate::dockerignore::DockerIgnoreError;

/// Something went wrong while fetching, packing or rewriting a build context.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The context directory is missing or unreadable.
    #[error("build context {path}: {source}; pass an existing, readable directory")]
    ContextDir {
        /// The directory given.
        path: PathBuf,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// The Dockerfile is missing or unreadable.
    #[error("cannot locate the Dockerfile {path}: {source}; pass its path with -f or create it")]
    DockerfileMissing {
        /// Where it was looked for.
        path: PathBuf,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// A `.dockerignore` file cannot be read or has an invalid line.
    #[error("{path}: {problem}")]
    DockerIgnore {
        /// The ignore file.
        path: PathBuf,
        /// What is wrong (already says which line and what to do).
        problem: String,
    },
    /// A file could not be read while packing.
    #[error("reading {path} for the build context: {source}; check its permissions or exclude it in .dockerignore")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file shrank while it was being packed.
    #[error(
        "{path} changed while the build context was being packed (expected {expected} bytes); retry once nothing writes to it"
    )]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// The size it had when packing started.
        expected: u64,
    },
    /// The packed context went over `PackOptions::max_bytes`.
    #[error(
        "the build context is larger than the {limit}-byte limit (reached at {path}); exclude large files in .dockerignore or raise the limit"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The file being added when the limit was crossed.
        path: String,
    },
    /// The consumer dropped the context stream before it was complete.
    #[error("the build context stream was closed by its reader before packing finished")]
    Cancelled,
    /// A function that spawns blocking work was called outside a Tokio runtime.
    #[error("internal error: {what} must be called inside a Tokio runtime")]
    NoRuntime {
        /// The function.
        what: &'static str,
    },
    /// A tar stream (e.g. from the workspace volume) is malformed.
    #[error("{what} is not a valid tar stream: {problem}; make sure it was produced by `docker cp` or the archive API")]
    Tar {
        /// Where the stream came from.
        what: String,
        /// The parser's message.
        problem: String,
    },
    /// A file looked up in an archive is larger than the caller allows.
    #[error("{path} is {size} bytes, more than the {max}-byte limit for this file; make it smaller")]
    FileTooBig {
        /// The file in the archive.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A file looked up in an archive is a link, directory or device.
    #[error("{path} is not a regular file (tar type `{kind}`); replace it with a regular file")]
    NotRegularFile {
        /// The file in the archive.
        path: String,
        /// Its tar type flag.
        kind: char,
    },
    /// A git operation failed.
    #[error("git: {action} {url} failed: {message}")]
    Git {
        /// What was being done ("fetching", "checking out"...).
        action: &'static str,
        /// The repository URL, redacted.
        url: String,
        /// libgit2's message, with secrets removed.
        message: String,
    },
    /// The git server rejected the credentials.
    #[error("git: authentication to {url} failed; check that the token is valid and has read access to the repository")]
    GitAuth {
        /// The repository URL, redacted.
        url: String,
    },
    /// The branch, tag or commit does not exist on the remote.
    #[error("git: {url} has no branch, tag or commit named `{reference}`; check the `#ref` part of the context URL")]
    GitRefNotFound {
        /// The repository URL, redacted.
        url: String,
        /// The reference asked for.
        reference: String,
    },
    /// The requested subdirectory is missing or unsafe.
    #[error("git: context subdirectory `{subdir}` of {url}: {problem}")]
    GitSubdir {
        /// The subdirectory asked for.
        subdir: String,
        /// The repository URL, redacted.
        url: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A submodule URL is not a network URL.
    #[error(
        "git: submodule `{name}` of {url} uses the URL `{submodule_url}`; only https://, http:// and git:// submodules are fetched, change .gitmodules"
    )]
    GitSubmoduleUrl {
        /// The submodule's name.
        name: String,
        /// The superproject URL, redacted.
        url: String,
        /// The submodule URL, redacted.
        submodule_url: String,
    },
    /// An HTTP download answered with an error status.
    #[error("GET {url} returned HTTP {status}; check the URL and that the server allows the download")]
    HttpStatus {
        /// The URL, redacted.
        url: String,
        /// The status code.
        status: u16,
    },
    /// An HTTP download failed (connection, timeout, body).
    #[error("downloading {url} failed: {message}; check the URL and that the server is reachable")]
    Download {
        /// The URL, redacted.
        url: String,
        /// What failed.
        message: String,
    },
    /// A downloaded archive is larger than the limit.
    #[error("{url} is larger than the {limit}-byte limit for context archives; make the archive smaller")]
    DownloadTooLarge {
        /// The URL, redacted.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// An archive is unsafe or malformed (see [`ArchiveError`]).
    #[error("{what}: {source}")]
    Archive {
        /// Where the archive came from.
        what: String,
        /// The problem.
        source: ArchiveError,
    },
    /// A local I/O error outside the cases above (temp files, working directories).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ContextError {
    /// Builds [`ContextError::DockerIgnore`] from a parse error.
    pub(crate) fn dockerignore(path: PathBuf, err: &DockerIgnoreError) -> Self {
        ContextError::DockerIgnore { path, problem: err.to_string() }
    }

    /// Wraps the error for a stream consumer, keeping the message.
    pub(crate) fn to_io(&self) -> std::io::Error {
        std::io::Error::other(self.to_string())
    }
}

/// A URL as it may be shown in messages and logs: user info (`user:token@`) is removed and a
/// query string (which may hold a SAS token) or fragment is replaced by `?…`.
pub fn redact_url(url: &str) -> String {
    let (base, had_query) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], true),
        None => (url, false),
    };
    let mut out = match base.find("://") {
        Some(scheme_end) => {
            let rest = &base[scheme_end + 3..];
            let host_end = rest.find('/').unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{}{}", &base[..scheme_end + 3], &rest[at + 1..]),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    if had_query {
        out.push_str("?…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_credentials_and_query() {
        assert_eq!(redact_url("https://u:tok@h.example/r.git"), "https://h.example/r.git");
        assert_eq!(redact_url("https://h.example/a.tgz?sig=SECRET"), "https://h.example/a.tgz?…");
        assert_eq!(redact_url("git://h/x@y"), "git://h/x@y");
        assert_eq!(redact_url("https://h/r.git"), "https://h/r.git");
    }
}
