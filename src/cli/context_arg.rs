//! The `-c/--context` (or CONTEXT) argument of remote commands: no context (`/dev/null`), a
//! location the daemon fetches itself (git or tarball URL, an earlier upload), or a local
//! directory that is packed like the Docker CLI does and uploaded.

use super::CliError;
use super::client::Client;
use super::progress::{ProgressMode, UploadProgress};
use crate::api::ContextInfo;
use crate::context::ContextError;
use crate::context::pack::{PackOptions, pack_dir};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a context comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextArg {
    /// `/dev/null`: no context.
    None,
    /// Fetched by the daemon: `https://…repo.git#branch:folder`, a tarball URL, `upload:<id>`.
    Remote(String),
    /// A local directory, to pack and upload.
    Dir(PathBuf),
}

/// Schemes the daemon fetches by itself; anything else must be a local directory.
const REMOTE_PREFIXES: [&str; 7] = ["http://", "https://", "git://", "ssh://", "git@", "oci://", "upload:"];

impl ContextArg {
    /// Classifies what the user gave.
    pub fn parse(s: &str) -> Result<ContextArg, CliError> {
        if s == "/dev/null" {
            Ok(ContextArg::None)
        } else if REMOTE_PREFIXES.iter().any(|p| s.starts_with(p)) {
            Ok(ContextArg::Remote(s.to_string()))
        } else if Path::new(s).is_dir() {
            Ok(ContextArg::Dir(PathBuf::from(s)))
        } else {
            Err(CliError::Invalid(format!(
                "context `{s}` is neither a local directory nor a URL (git `https://host/repo.git#branch:folder`, a tarball URL) nor /dev/null"
            )))
        }
    }
}

/// A directory uploaded as a context.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// What the daemon returned.
    pub info: ContextInfo,
    /// The Dockerfile's path inside the uploaded tar (a generated name when it lives outside
    /// the directory).
    pub dockerfile: String,
}

impl Uploaded {
    /// The context value for requests: `upload:<id>`.
    pub fn context(&self) -> String {
        format!("upload:{}", self.info.id)
    }
}

/// Packs `dir` (honouring `.dockerignore`, leaving out VCS directories as ACR does) and streams
/// it to the daemon while showing progress. `dockerfile` is a host path, possibly outside `dir`.
pub async fn upload_dir(
    client: &Client,
    dir: &Path,
    dockerfile: Option<PathBuf>,
    mode: ProgressMode,
) -> Result<Uploaded, CliError> {
    let opts = PackOptions { dockerfile, apply_dockerignore: true, exclude_vcs: true, ..PackOptions::default() };
    // Problems seen before anything is sent (no directory, no Dockerfile, bad .dockerignore)
    // are the user's to fix.
    let packed = pack_dir(dir, opts).map_err(|e| CliError::Invalid(e.to_string()))?;
    let progress = Arc::new(UploadProgress::start(mode, &format!("context {}", dir.display())));
    let counter = Arc::clone(&progress);
    // Counting what the HTTP body pulls measures the upload, not just the packing.
    let body = packed.stream.inspect(move |item| {
        if let Ok(chunk) = item {
            counter.add(chunk.len() as u64);
        }
    });
    match client.upload_context(body).await {
        Ok(info) => {
            progress.finish();
            Ok(Uploaded { info, dockerfile: packed.dockerfile })
        }
        Err(e) => {
            progress.abandon();
            // When packing failed mid-way (a file vanished, unreadable), the upload only sees
            // a broken body; the packer knows the real reason.
            match packed.stats.await {
                Ok(Err(pack_error)) if !matches!(pack_error, ContextError::Cancelled) => {
                    Err(CliError::Failed(format!("packing {}: {pack_error}", dir.display())))
                }
                _ => Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_classified() {
        assert_eq!(ContextArg::parse("/dev/null").unwrap(), ContextArg::None);
        let git = "https://github.com/org/repo.git#main:app";
        assert_eq!(ContextArg::parse(git).unwrap(), ContextArg::Remote(git.into()));
        assert_eq!(ContextArg::parse("upload:abc").unwrap(), ContextArg::Remote("upload:abc".into()));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(ContextArg::parse(&d).unwrap(), ContextArg::Dir(dir.path().into()));
        assert_eq!(ContextArg::parse("no/such/dir").unwrap_err().exit_code(), 2);
    }
}
