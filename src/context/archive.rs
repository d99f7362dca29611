//! Safe handling of untrusted tar archives (uploaded contexts, downloaded tarballs):
//! [`extract`] unpacks into an empty directory, [`check`] only validates, and
//! [`check_and_copy`] validates while copying the raw bytes elsewhere in one pass (the
//! daemon stores an upload as it validates it). gzip input is recognised by its magic
//! bytes and decompressed transparently.
//!
//! Refused, with the offending member named: absolute paths, `..` components, paths
//! through an earlier symlink, symlinks that are absolute or resolve outside the root
//! (also via other symlinks of the archive), hard links to anything but an earlier regular
//! file, devices and FIFOs, unknown member types, and archives over the size, member-count
//! or path-length limits. Setuid/setgid bits are dropped on extraction.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::archive_rules::{Planned, Rules};
use super::compression::GzipOrPlain;
use super::tar_parse::{Event, TarParser};

/// Limits for one archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most bytes of file data (the sum of member sizes, after decompression).
    pub max_total_bytes: u64,
    /// Most members (files, directories, links).
    pub max_entries: u64,
    /// Longest member path or link target, in bytes.
    pub max_path_len: usize,
}

impl Default for ArchiveLimits {
    /// 2 GiB, one million members, 4096-byte paths.
    fn default() -> Self {
        ArchiveLimits { max_total_bytes: 2 << 30, max_entries: 1_000_000, max_path_len: 4096 }
    }
}

/// Totals of a validated or extracted archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Members, including directories and links.
    pub entries: u64,
    /// Bytes of file data.
    pub bytes: u64,
}

/// Why an archive was refused or could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A member path starts with `/`.
    #[error(
        "archive member `{entry}` has an absolute path; create the archive with relative paths (tar -C DIR -cf ctx.tar .)"
    )]
    AbsolutePath {
        /// The member.
        entry: String,
    },
    /// A member path contains `..`.
    #[error("archive member `{entry}` contains a `..` component; create the archive from inside the context directory")]
    ParentDir {
        /// The member.
        entry: String,
    },
    /// A member has an empty name.
    #[error("archive member `{entry}` has an empty name; recreate the archive")]
    EmptyName {
        /// The member.
        entry: String,
    },
    /// A member path or link target is too long.
    #[error("archive member `{entry}`: a path of {len} bytes is longer than the {max}-byte limit; shorten it")]
    PathTooLong {
        /// The member (truncated).
        entry: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A symlink has an absolute target.
    #[error(
        "archive member `{entry}` is a symlink to the absolute path `{target}`; make the link relative to a file inside the context"
    )]
    SymlinkAbsolute {
        /// The link.
        entry: String,
        /// Its target.
        target: String,
    },
    /// A symlink resolves outside the archive root.
    #[error(
        "archive member `{entry}` is a symlink to `{target}`, which resolves outside the context; point it at a file inside the context"
    )]
    SymlinkEscape {
        /// The link.
        entry: String,
        /// Its target.
        target: String,
    },
    /// A member would be written through an earlier symlink.
    #[error(
        "archive member `{entry}` lies under `{link}`, a symlink in the same archive; put the files under the real directory instead"
    )]
    ThroughSymlink {
        /// The member.
        entry: String,
        /// The symlink on its path.
        link: String,
    },
    /// A member lies under something that is a file.
    #[error("archive member `{entry}` lies under `{file}`, which the archive made a file; fix the archive's layout")]
    NotADirectory {
        /// The member.
        entry: String,
        /// The file on its path.
        file: String,
    },
    /// A path appears both as a directory and as something else.
    #[error("archive member `{entry}` appears twice, once as a directory and once as a file or link; keep only one")]
    Conflict {
        /// The member.
        entry: String,
    },
    /// A hard link is not acceptable.
    #[error(
        "archive member `{entry}` is a hard link to `{target}`, which {problem}; replace it with a copy of the file"
    )]
    HardLink {
        /// The link.
        entry: String,
        /// Its target.
        target: String,
        /// What is wrong with the target.
        problem: &'static str,
    },
    /// A device file or FIFO.
    #[error(
        "archive member `{entry}` is a {what}; build contexts may only contain files, directories and links, remove it"
    )]
    SpecialFile {
        /// The member.
        entry: String,
        /// What it is.
        what: &'static str,
    },
    /// A member type this module does not handle.
    #[error("archive member `{entry}` has the unsupported tar type `{flag}`; recreate the archive with a standard tar")]
    UnsupportedType {
        /// The member.
        entry: String,
        /// Its type flag.
        flag: char,
    },
    /// More file data than allowed.
    #[error("the archive holds more than {max} bytes of files; make the context smaller (use .dockerignore)")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// More members than allowed.
    #[error("the archive has more than {max} members; make the context smaller (use .dockerignore)")]
    TooManyEntries {
        /// The limit.
        max: u64,
    },
    /// The data is not a valid (possibly gzip-compressed) tar archive.
    #[error("the archive is corrupt or truncated: {problem}; recreate it and upload it again")]
    Corrupt {
        /// What the parser or decompressor said.
        problem: String,
    },
    /// The destination already has files in it.
    #[error("cannot extract into {path}: the directory is not empty; extract into a new directory")]
    DestNotEmpty {
        /// The destination.
        path: PathBuf,
    },
    /// Reading the input failed.
    #[error("reading the archive failed: {source}")]
    Read {
        /// The I/O error.
        source: io::Error,
    },
    /// Writing the extracted files (or the copy) failed.
    #[error("writing {what} failed: {source}; check free space and permissions")]
    Write {
        /// What was being written.
        what: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// Validates an archive without writing anything.
pub fn check(reader: impl Read, limits: &ArchiveLimits) -> Result<ExtractStats, ArchiveError> {
    let mut decoded = GzipOrPlain::new(reader).map_err(read_error)?;
    validate(&mut decoded, limits)
}

/// Applies every rule to every entry of a decoded archive.
fn validate(decoded: &mut impl Read, limits: &ArchiveLimits) -> Result<ExtractStats, ArchiveError> {
    let mut rules = Rules::new(limits);
    drive(decoded, |event| {
        if let Event::Entry(header) = &event {
            rules.entry(header)?;
        }
        Ok(())
    })?;
    rules.finish().map_err(|(_, e)| e)?;
    Ok(ExtractStats { entries: rules.entries, bytes: rules.bytes })
}

/// Validates an archive while copying its raw bytes (compressed or not, unchanged, to the
/// end of the input) to `writer`: one pass for "receive an upload and store it". On error
/// the copy is incomplete and must be discarded.
pub fn check_and_copy(
    reader: impl Read,
    writer: impl Write,
    limits: &ArchiveLimits,
) -> Result<ExtractStats, ArchiveError> {
    let mut tee = Tee { reader, writer, write_error: None };
    let result = (|| {
        let mut decoded = GzipOrPlain::new(&mut tee).map_err(read_error)?;
        let stats = validate(&mut decoded, limits)?;
        drop(decoded);
        // Whatever follows the end-of-archive marker is still part of the upload: copy it
        // raw (the tee writes what it reads) without decompressing it.
        io::copy(&mut tee, &mut io::sink()).map_err(read_error)?;
        Ok(stats)
    })();
    if let Some(source) = tee.write_error.take() {
        return Err(ArchiveError::Write { what: "the copy of the archive".into(), source });
    }
    let stats = result?;
    tee.writer.flush().map_err(|source| ArchiveError::Write { what: "the copy of the archive".into(), source })?;
    Ok(stats)
}

/// Extracts an archive into `dest`, which must be missing or empty. On error `dest` is
/// left partly written (an escaping symlink found at the end is removed first); delete it.
pub fn extract(reader: impl Read, dest: &Path, limits: &ArchiveLimits) -> Result<ExtractStats, ArchiveError> {
    prepare_dest(dest)?;
    let mut decoded = GzipOrPlain::new(reader).map_err(read_error)?;
    let mut rules = Rules::new(limits);
    let mut out = Writer { dest: dest.to_path_buf(), file: None, dirs: Vec::new() };
    drive(&mut decoded, |event| match event {
        Event::Entry(header) => {
            let planned = rules.entry(&header)?;
            out.start(planned, header.mode(), header.mtime())
        }
        Event::Data(data) => out.data(&data),
        Event::EntryEnd => out.end_file(),
        Event::End => out.finish_dirs(),
    })?;
    if let Err((path, err)) = rules.finish() {
        let _ = std::fs::remove_file(dest.join(std::ffi::OsStr::from_bytes(&path)));
        return Err(err);
    }
    Ok(ExtractStats { entries: rules.entries, bytes: rules.bytes })
}

/// A member name fit for a message: lossy UTF-8, long names shortened.
pub(crate) fn display_entry(path: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(path);
    if text.chars().count() <= MAX {
        return text.into_owned();
    }
    let head: String = text.chars().take(MAX).collect();
    format!("{head}…")
}

fn read_error(source: io::Error) -> ArchiveError {
    match source.kind() {
        // What decompressors and the parser report for bad or cut-off data.
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            ArchiveError::Corrupt { problem: source.to_string() }
        }
        _ => ArchiveError::Read { source },
    }
}

/// Feeds the parser from `reader` and hands every event to `on`, up to the end marker.
fn drive(reader: &mut impl Read, mut on: impl FnMut(Event) -> Result<(), ArchiveError>) -> Result<(), ArchiveError> {
    const READ_SIZE: u64 = 256 * 1024;
    let corrupt = |e: super::tar_parse::TarError| ArchiveError::Corrupt { problem: e.to_string() };
    let mut parser = TarParser::default();
    loop {
        while let Some(event) = parser.next_event().map_err(corrupt)? {
            let end = matches!(event, Event::End);
            on(event)?;
            if end {
                return Ok(());
            }
        }
        let mut buf = Vec::with_capacity(READ_SIZE as usize);
        reader.take(READ_SIZE).read_to_end(&mut buf).map_err(read_error)?;
        if buf.is_empty() {
            if let Some(event) = parser.finish().map_err(corrupt)? {
                on(event)?;
            }
            return Ok(());
        }
        parser.push(Bytes::from(buf));
    }
}

/// Creates `dest` or makes sure it is empty, so the rules know every path in it.
fn prepare_dest(dest: &Path) -> Result<(), ArchiveError> {
    let write_err = |source| ArchiveError::Write { what: dest.display().to_string(), source };
    std::fs::create_dir_all(dest).map_err(write_err)?;
    if std::fs::read_dir(dest).map_err(write_err)?.next().is_some() {
        return Err(ArchiveError::DestNotEmpty { path: dest.to_path_buf() });
    }
    Ok(())
}

/// Reads from `reader` and copies every byte read to `writer`.
struct Tee<R, W> {
    reader: R,
    writer: W,
    write_error: Option<io::Error>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        if let Err(e) = self.writer.write_all(&buf[..n]) {
            self.write_error = Some(e);
            return Err(io::Error::other("the copy of the archive could not be written"));
        }
        Ok(n)
    }
}

/// Creates the planned members on disk.
struct Writer {
    dest: PathBuf,
    /// The regular file being written, with its final mode and mtime.
    file: Option<(File, PathBuf, u32, u64)>,
    /// Directory modes and mtimes, applied at the end (children change a directory's
    /// mtime, and a read-only mode would stop them from being created).
    dirs: Vec<(PathBuf, u32, u64)>,
}

impl Writer {
    fn start(&mut self, planned: Planned, mode: u32, mtime: u64) -> Result<(), ArchiveError> {
        match planned {
            Planned::Root => Ok(()),
            Planned::Dir(path) => {
                let path = self.host(&path);
                std::fs::create_dir_all(&path).map_err(|e| write_error(&path, e))?;
                self.dirs.push((path, mode, mtime));
                Ok(())
            }
            Planned::File { path, replaces } => {
                let path = self.prepare(&path, replaces)?;
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| write_error(&path, e))?;
                self.file = Some((file, path, mode, mtime));
                Ok(())
            }
            Planned::Symlink { path, target, replaces } => {
                let path = self.prepare(&path, replaces)?;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &path)
                    .map_err(|e| write_error(&path, e))
            }
            Planned::HardLink { path, target, replaces } => {
                let path = self.prepare(&path, replaces)?;
                std::fs::hard_link(self.host(&target), &path).map_err(|e| write_error(&path, e))
            }
        }
    }

    fn data(&mut self, data: &[u8]) -> Result<(), ArchiveError> {
        if let Some((file, path, _, _)) = self.file.as_mut() {
            file.write_all(data).map_err(|e| write_error(path, e))?;
        }
        Ok(())
    }

    fn end_file(&mut self) -> Result<(), ArchiveError> {
        if let Some((file, path, mode, mtime)) = self.file.take() {
            file.set_modified(epoch(mtime)).map_err(|e| write_error(&path, e))?;
            file.set_permissions(std::fs::Permissions::from_mode(safe_mode(mode)))
                .map_err(|e| write_error(&path, e))?;
        }
        Ok(())
    }

    fn finish_dirs(&mut self) -> Result<(), ArchiveError> {
        // Deepest first, so a parent's mtime is set after its children's.
        self.dirs.sort_by_key(|(path, _, _)| std::cmp::Reverse(path.as_os_str().len()));
        for (path, mode, mtime) in std::mem::take(&mut self.dirs) {
            let dir = File::open(&path).map_err(|e| write_error(&path, e))?;
            dir.set_modified(epoch(mtime)).map_err(|e| write_error(&path, e))?;
            dir.set_permissions(std::fs::Permissions::from_mode(safe_mode(mode))).map_err(|e| write_error(&path, e))?;
        }
        Ok(())
    }

    /// Host path of a member, its parents created, any earlier member there removed.
    fn prepare(&self, rel: &[u8], replaces: bool) -> Result<PathBuf, ArchiveError> {
        let path = self.host(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
        }
        if replaces {
            // Unlink rather than overwrite: the old member may be a symlink, and writing
            // through it is exactly what must not happen.
            std::fs::remove_file(&path).map_err(|e| write_error(&path, e))?;
        }
        Ok(path)
    }

    fn host(&self, rel: &[u8]) -> PathBuf {
        self.dest.join(std::ffi::OsStr::from_bytes(rel))
    }
}

/// Permission bits kept on extraction: setuid and setgid are dropped, since the archive is
/// untrusted and unpacked by a privileged daemon.
fn safe_mode(mode: u32) -> u32 {
    mode & 0o1777
}

fn epoch(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn write_error(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Write { what: path.display().to_string(), source }
}
