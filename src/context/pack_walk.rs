//! The blocking half of [`super::pack`]: walks the directory in sorted order, applies the
//! ignore rules with Docker's walker semantics, and writes tar members into the sink.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::ContextError;
use super::pack::PackStats;
use super::pack_sink::ChunkSink;
use super::tar_parse::BLOCK;
use super::tar_write::{END_OF_ARCHIVE, encode_entry, padding};
use crate::dockerignore::{DockerIgnore, MatchState};

/// Everything the walker needs, resolved up front by `pack::plan`.
pub(crate) struct Plan {
    /// The directory to pack (as given; paths in errors use it).
    pub root: PathBuf,
    /// Ignore rules, already including the forced build-file exceptions.
    pub ignore: Option<DockerIgnore>,
    /// Top-level names never sent (ACR's VCS list).
    pub skip_top: Vec<&'static str>,
    /// Name of the Dockerfile in the tar.
    pub dockerfile_name: String,
    /// Host path of a Dockerfile that lives outside `root`, added as `dockerfile_name`.
    pub outside_dockerfile: Option<PathBuf>,
}

/// A directory being walked: its remaining children, sorted.
struct Frame {
    host: PathBuf,
    /// Path relative to the root, `/`-separated, empty for the root.
    rel: Vec<u8>,
    /// The directory's ignore-match results, inherited by its children.
    state: Option<MatchState>,
    names: std::vec::IntoIter<OsString>,
}

impl Frame {
    fn open(host: PathBuf, rel: Vec<u8>, state: Option<MatchState>) -> Result<Frame, ContextError> {
        let read_err = |source| ContextError::Read { path: host.clone(), source };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&host).map_err(read_err)? {
            names.push(entry.map_err(read_err)?.file_name());
        }
        // Byte order, like Go's filepath.Walk: the daemon sees the same member order as
        // with the Docker CLI, which keeps layer checksums stable between tools.
        names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(Frame { host, rel, state, names: names.into_iter() })
    }
}

/// Packs the plan into the sink; on failure the error is also sent down the stream.
pub(crate) fn run(plan: Plan, mut sink: ChunkSink) -> Result<PackStats, ContextError> {
    let mut walker = Walker {
        plan: &plan,
        sink: &mut sink,
        files: 0,
        links: HashMap::new(),
        header: Vec::new(),
        names: OwnerNames::read(),
    };
    let result = walker.walk().and_then(|()| walker.finish());
    if let Err(e) = &result
        && !matches!(e, ContextError::Cancelled)
    {
        sink.fail(e);
    }
    result
}

struct Walker<'a> {
    plan: &'a Plan,
    sink: &'a mut ChunkSink,
    files: u64,
    /// First path seen for each multiply-linked inode, so later ones become hard links
    /// (as the Docker CLI sends them).
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Reused buffer for encoded headers.
    header: Vec<u8>,
    /// Owner names for the headers.
    names: OwnerNames,
}

impl Walker<'_> {
    fn walk(&mut self) -> Result<(), ContextError> {
        let mut stack = vec![Frame::open(self.plan.root.clone(), Vec::new(), None)?];
        while let Some(frame) = stack.last_mut() {
            let Some(name) = frame.names.next() else {
                stack.pop();
                continue;
            };
            let top = frame.rel.is_empty();
            if top && self.plan.skip_top.iter().any(|s| s.as_bytes() == name.as_bytes()) {
                continue;
            }
            let host = frame.host.join(&name);
            let mut rel = frame.rel.clone();
            if !top {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            let meta = match std::fs::symlink_metadata(&host) {
                Ok(meta) => meta,
                // Deleted since the directory was listed: nothing to send.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ContextError::Read { path: host, source }),
            };
            let rel_text = String::from_utf8_lossy(&rel).into_owned();
            let (excluded, state) = match &self.plan.ignore {
                Some(ignore) => ignore.evaluate(&rel_text, frame.state.as_ref()),
                None => (false, MatchState::default()),
            };
            if meta.is_dir() {
                let ignore = self.plan.ignore.as_ref();
                // An excluded directory is still entered when an exception may re-include
                // something below it; only the directory's own member is left out.
                if excluded && ignore.is_some_and(|i| i.can_prune_dir(&rel_text)) {
                    continue;
                }
                if !excluded {
                    let mut dir_name = rel.clone();
                    dir_name.push(b'/');
                    self.member(tar::EntryType::Directory, &meta, &dir_name, b"", 0, &rel_text)?;
                }
                stack.push(Frame::open(host, rel, Some(state))?);
            } else if !excluded {
                self.add_non_dir(&host, &rel, &rel_text, &meta)?;
            }
        }
        Ok(())
    }

    fn add_non_dir(&mut self, host: &Path, rel: &[u8], rel_text: &str, meta: &Metadata) -> Result<(), ContextError> {
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(host).map_err(|source| ContextError::Read { path: host.into(), source })?;
            return self.member(tar::EntryType::Symlink, meta, rel, target.as_os_str().as_bytes(), 0, rel_text);
        }
        if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key).cloned() {
                    return self.member(tar::EntryType::Link, meta, rel, &first, 0, rel_text);
                }
                self.links.insert(key, rel.to_vec());
            }
            return self.regular(host, rel, rel_text, meta);
        }
        let what = if kind.is_socket() {
            "socket"
        } else if kind.is_fifo() {
            "FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "device file"
        } else {
            "special file"
        };
        tracing::warn!(path = %host.display(), "skipping {what} in the build context: only files, directories and symlinks are sent");
        Ok(())
    }

    fn regular(&mut self, host: &Path, rel: &[u8], rel_text: &str, meta: &Metadata) -> Result<(), ContextError> {
        let read_err = |source| ContextError::Read { path: host.into(), source };
        let mut file = std::fs::File::open(host).map_err(read_err)?;
        // Size from the open file, so the header matches what we are about to read.
        let size = file.metadata().map_err(read_err)?.len();
        self.member(tar::EntryType::Regular, meta, rel, b"", size, rel_text)?;
        self.sink.copy_file(&mut file, size, host)
    }

    /// Writes one member's header (after the size check for header and data).
    fn member(
        &mut self,
        kind: tar::EntryType,
        meta: &Metadata,
        name: &[u8],
        link: &[u8],
        size: u64,
        rel_text: &str,
    ) -> Result<(), ContextError> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        // As the Docker CLI writes them, because the classic builder's cache key for `COPY` hashes
        // these headers (all but the time): the mode with its file-type bits (`0o100644`), owner
        // ids 0, and the owner's and group's *names* looked up from the file's real ids. A context
        // packed any other way misses the cache `docker build` left, and the reverse.
        header.set_mode(meta.mode() & 0o177_777);
        header.set_uid(0);
        header.set_gid(0);
        if let Some(name) = self.names.user(meta.uid()) {
            let _ = header.set_username(name);
        }
        if let Some(name) = self.names.group(meta.gid()) {
            let _ = header.set_groupname(name);
        }
        header.set_size(size);
        header.set_mtime(meta.mtime().max(0) as u64);
        self.header.clear();
        encode_entry(header.as_bytes(), name, link, &[], &mut self.header);
        self.sink.reserve(self.header.len() as u64 + size + padding(size).len() as u64, rel_text)?;
        self.files += 1;
        let header = std::mem::take(&mut self.header);
        let result = self.sink.write(&header);
        self.header = header;
        result
    }

    /// Adds an outside Dockerfile, the end-of-archive marker, and sends the rest.
    fn finish(&mut self) -> Result<PackStats, ContextError> {
        if let Some(path) = &self.plan.outside_dockerfile {
            let meta = std::fs::metadata(path).map_err(|source| ContextError::Read { path: path.clone(), source })?;
            let name = self.plan.dockerfile_name.clone();
            self.regular(path, name.as_bytes(), &name, &meta)?;
        }
        self.sink.reserve(END_OF_ARCHIVE.len() as u64, "the end of the archive")?;
        self.sink.write(&END_OF_ARCHIVE)?;
        self.sink.flush()?;
        debug_assert_eq!(self.sink.total() % BLOCK as u64, 0);
        Ok(PackStats { files: self.files, bytes: self.sink.total() })
    }
}

/// User and group names by id, from `/etc/passwd` and `/etc/group`, as Go's `os/user` reads them
/// for the Docker CLI's tar headers (read once per pack).
struct OwnerNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl OwnerNames {
    fn read() -> OwnerNames {
        let table = |path: &str| -> HashMap<u32, String> {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| {
                    let mut fields = l.split(':');
                    let name = fields.next()?;
                    let id = fields.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                // The first entry for an id wins, as in a lookup.
                .fold(HashMap::new(), |mut m, (id, name)| {
                    m.entry(id).or_insert(name);
                    m
                })
        };
        OwnerNames { users: table("/etc/passwd"), groups: table("/etc/group") }
    }

    fn user(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }
}
