//! Packing a local directory into a build-context tar stream, the way the Docker CLI does
//! for the classic builder: `.dockerignore` applied with Docker's exact semantics, the
//! Dockerfile and `.dockerignore` always sent, owners reset to 0, modes, mtimes and
//! symlinks kept, entries in sorted walk order. A Dockerfile outside the directory is
//! added under a generated name, as `az acr build` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::pack_sink::{CHANNEL_CHUNKS, ChunkSink};
use super::pack_walk::{Plan, run};
use super::{ContextError, ContextStream};
use crate::dockerignore::{DOCKERIGNORE, DockerIgnore};

/// What [`pack_dir`] packs and how.
#[derive(Clone, Default)]
pub struct PackOptions {
    /// Host path of the Dockerfile (`-f`, already resolved against the working directory); it
    /// must exist. `None` means `<root>/Dockerfile` when there is one (a workspace upload has none).
    pub dockerfile: Option<PathBuf>,
    /// Honour `<Dockerfile>.dockerignore` / `.dockerignore`.
    pub apply_dockerignore: bool,
    /// Leave out `.git .gitignore .bzr .bzrignore .hg .hgignore .svn` at the top of the
    /// context, as ACR's CLI does for every upload.
    pub exclude_vcs: bool,
    /// Fail once the tar stream would exceed this many bytes.
    pub max_bytes: Option<u64>,
    /// Called with the number of bytes produced so far, after each chunk.
    pub on_progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

impl std::fmt::Debug for PackOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackOptions")
            .field("dockerfile", &self.dockerfile)
            .field("apply_dockerignore", &self.apply_dockerignore)
            .field("exclude_vcs", &self.exclude_vcs)
            .field("max_bytes", &self.max_bytes)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

/// Totals of a finished pack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackStats {
    /// Members written: files, directories and links (the Dockerfile added from outside
    /// counts too).
    pub files: u64,
    /// Length of the tar stream in bytes.
    pub bytes: u64,
}

/// A context being packed.
pub struct PackedContext {
    /// The tar bytes; send it as the build request body. An error mid-way ends it with an
    /// `Err` item.
    pub stream: ContextStream,
    /// Path of the Dockerfile inside the tar (the build API's `dockerfile` parameter).
    pub dockerfile: String,
    /// Resolves when packing ends: the totals, or the error that also ended the stream
    /// ([`ContextError::Cancelled`] if the stream was dropped early).
    pub stats: oneshot::Receiver<Result<PackStats, ContextError>>,
}

/// Names ACR's CLI never uploads, at the top of the context.
const VCS_NAMES: [&str; 7] = [".git", ".gitignore", ".bzr", ".bzrignore", ".hg", ".hgignore", ".svn"];

/// Starts packing `root` on a blocking thread and returns the stream at once. Problems
/// that can be seen up front (missing directory or Dockerfile, invalid `.dockerignore`)
/// are returned here; the rest end the stream. Must be called inside a Tokio runtime.
pub fn pack_dir(root: &Path, opts: PackOptions) -> Result<PackedContext, ContextError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ContextError::NoRuntime { what: "pack_dir" })?;
    let plan = plan(root, &opts)?;
    let dockerfile = plan.dockerfile_name.clone();
    let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
    let (stats_tx, stats_rx) = oneshot::channel();
    let sink = ChunkSink::new(tx, opts.max_bytes, opts.on_progress.clone());
    runtime.spawn_blocking(move || {
        let result = run(plan, sink);
        // The receiver may be gone; the stream already carries any error.
        let _ = stats_tx.send(result);
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(PackedContext { stream: Box::pin(stream), dockerfile, stats: stats_rx })
}

/// Resolves the Dockerfile and the ignore rules before anything is streamed.
fn plan(root: &Path, opts: &PackOptions) -> Result<Plan, ContextError> {
    let context_err = |source| ContextError::ContextDir { path: root.to_path_buf(), source };
    let canonical_root = root.canonicalize().map_err(context_err)?;
    if !canonical_root.is_dir() {
        return Err(context_err(std::io::Error::other("not a directory")));
    }
    let given = opts.dockerfile.clone().unwrap_or_else(|| root.join("Dockerfile"));
    if opts.dockerfile.is_none() && !given.exists() {
        // Not a build: pack the directory with the root's .dockerignore only.
        let ignore = if opts.apply_dockerignore { Some(load_dockerignore(root, &given)?) } else { None };
        return Ok(Plan {
            root: root.to_path_buf(),
            ignore,
            skip_top: if opts.exclude_vcs { VCS_NAMES.to_vec() } else { Vec::new() },
            dockerfile_name: "Dockerfile".into(),
            outside_dockerfile: None,
        });
    }
    let missing = |source| ContextError::DockerfileMissing { path: given.clone(), source };
    // Like the CLI, resolve symlinks first: a link to a file elsewhere counts as outside.
    let canonical_df = given.canonicalize().map_err(missing)?;
    if !canonical_df.is_file() {
        return Err(missing(std::io::Error::other("not a regular file")));
    }
    let (dockerfile_name, outside_dockerfile) = match canonical_df.strip_prefix(&canonical_root) {
        Ok(rel) => (slash_path(rel), None),
        Err(_) => (format!(".drydock-dockerfile-{}", random_suffix()), Some(canonical_df)),
    };

    let ignore = if opts.apply_dockerignore {
        let ignore = load_dockerignore(root, &given)?;
        Some(ignore.with_build_files(&dockerfile_name))
    } else {
        None
    };
    Ok(Plan {
        root: root.to_path_buf(),
        ignore,
        skip_top: if opts.exclude_vcs { VCS_NAMES.to_vec() } else { Vec::new() },
        dockerfile_name,
        outside_dockerfile,
    })
}

/// Reads `<Dockerfile>.dockerignore` next to the Dockerfile if it exists (BuildKit's and
/// ACR's rule), else `<root>/.dockerignore`; no file means no patterns.
fn load_dockerignore(root: &Path, dockerfile: &Path) -> Result<DockerIgnore, ContextError> {
    let mut candidates = Vec::new();
    if let Some(name) = dockerfile.file_name() {
        let mut specific = name.to_os_string();
        specific.push(".dockerignore");
        candidates.push(dockerfile.with_file_name(specific));
    }
    candidates.push(root.join(DOCKERIGNORE));
    for path in candidates {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                return DockerIgnore::parse(&text).map_err(|e| ContextError::dockerignore(path, &e));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ContextError::DockerIgnore { path, problem: e.to_string() }),
        }
    }
    Ok(DockerIgnore::default())
}

/// A relative path with `/` separators.
fn slash_path(rel: &Path) -> String {
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// 16 hex digits that differ between calls, for the generated Dockerfile name (std's
/// hasher keys are random per process and per `RandomState`).
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{:016x}", hasher.finish())
}
