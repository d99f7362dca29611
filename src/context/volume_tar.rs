//! Turning a tar downloaded from the run's workspace volume into a build context.
//!
//! Docker's archive API (`GET /containers/{id}/archive?path=/workspace/sub/dir`) names
//! every member after the last path component (`dir/...`, or `./...` for `/`), and sends
//! everything. A build step whose context is that directory needs the members re-rooted at
//! the context root and filtered through `.dockerignore`, without buffering the archive:
//! [`rebase_and_filter`] does that on the stream. [`read_file`] pulls one small file (the
//! `.dockerignore` or the Dockerfile) out of such a tar.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use futures_util::StreamExt;

use super::tar_parse::{Event, TarParser, kind};
use super::tar_write::{END_OF_ARCHIVE, encode_entry, padding};
use super::{ContextError, ContextStream};
use crate::dockerignore::DockerIgnore;

/// How to rewrite a workspace tar.
#[derive(Debug, Clone, Default)]
pub struct RebaseOptions {
    /// The leading component to remove from every member name: the last component of the
    /// path that was downloaded (`dir` for `/workspace/sub/dir`, `.` for `/`). Members
    /// outside it are dropped, and so is the member for the directory itself.
    pub strip_prefix: String,
    /// Ignore rules, evaluated on the re-rooted paths. Pass them through
    /// [`DockerIgnore::with_build_files`] first so the Dockerfile and `.dockerignore` stay.
    pub ignore: Option<DockerIgnore>,
    /// Files appended at the end of the context: `(name, content, mode)`, e.g. a
    /// Dockerfile fetched from elsewhere. Members of the input with the same name are
    /// dropped so the extra file is the only one.
    pub extra_files: Vec<(String, Bytes, u32)>,
}

/// Re-roots and filters a workspace tar while it streams (see the module docs).
/// Member data is passed through without copying; only headers are rewritten (long
/// paths get PAX records). A malformed input ends the output with an error.
pub fn rebase_and_filter(input: ContextStream, opts: RebaseOptions) -> ContextStream {
    let extra_names =
        opts.extra_files.iter().map(|(name, _, _)| trim_dir(&normalise(name.as_bytes())).to_vec()).collect();
    let state = Rebaser {
        input,
        parser: TarParser::default(),
        prefix: trim_dir(&normalise(opts.strip_prefix.as_bytes())).to_vec(),
        ignore: opts.ignore,
        extra: opts.extra_files,
        extra_names,
        out: VecDeque::new(),
        keeping: None,
        finished: false,
        pruned: HashMap::new(),
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move { st.next().await.map(|item| (item, st)) }))
}

/// Reads one regular file of at most `max` bytes out of a tar stream; `path` is the
/// member name as in the tar (`dir/Dockerfile`; a leading `./` is ignored). `None` when
/// the archive has no such member.
pub async fn read_file(mut input: ContextStream, path: &str, max: usize) -> Result<Option<Bytes>, ContextError> {
    let wanted = trim_dir(&normalise(path.as_bytes())).to_vec();
    let tar_err = |e: super::tar_parse::TarError| ContextError::Tar {
        what: "the workspace archive".into(),
        problem: e.to_string(),
    };
    let mut parser = TarParser::default();
    let mut found: Option<Vec<u8>> = None;
    loop {
        let event = match parser.next_event().map_err(tar_err)? {
            Some(event) => event,
            None => match input.next().await {
                Some(Ok(chunk)) => {
                    parser.push(chunk);
                    continue;
                }
                Some(Err(source)) => {
                    return Err(ContextError::Io { what: "reading the workspace archive".into(), source });
                }
                None => match parser.finish().map_err(tar_err)? {
                    Some(event) => event,
                    None => return Ok(None),
                },
            },
        };
        match event {
            Event::Entry(header) if trim_dir(&normalise(&header.path)) == wanted.as_slice() => {
                if !header.is_regular() {
                    return Err(ContextError::NotRegularFile { path: path.to_string(), kind: header.kind as char });
                }
                if header.size > max as u64 {
                    return Err(ContextError::FileTooBig { path: path.to_string(), size: header.size, max });
                }
                found = Some(Vec::with_capacity(header.size as usize));
            }
            Event::Data(data) => {
                if let Some(buf) = found.as_mut() {
                    buf.extend_from_slice(&data);
                }
            }
            Event::EntryEnd => {
                if let Some(buf) = found.take() {
                    return Ok(Some(Bytes::from(buf)));
                }
            }
            Event::Entry(_) => {}
            Event::End => return Ok(None),
        }
    }
}

/// Where a member lands after re-rooting.
enum Placed {
    /// Inside the context, at this path.
    At(Vec<u8>),
    /// The context directory itself.
    Root,
    /// Not under the prefix at all.
    Outside,
}

struct Rebaser {
    input: ContextStream,
    parser: TarParser,
    prefix: Vec<u8>,
    ignore: Option<DockerIgnore>,
    extra: Vec<(String, Bytes, u32)>,
    extra_names: HashSet<Vec<u8>>,
    out: VecDeque<Bytes>,
    /// Size of the member being passed through, or `None` while dropping one.
    keeping: Option<u64>,
    finished: bool,
    /// Memo: directory → "it or an ancestor is pruned by the ignore rules".
    pruned: HashMap<String, bool>,
}

impl Rebaser {
    async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                return Some(Ok(chunk));
            }
            if self.finished {
                return None;
            }
            let event = match self.parser.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => match self.input.next().await {
                    Some(Ok(chunk)) => {
                        self.parser.push(chunk);
                        continue;
                    }
                    Some(Err(e)) => return self.fail(e),
                    None => match self.parser.finish() {
                        Ok(Some(event)) => event,
                        Ok(None) => Event::End,
                        Err(e) => return self.fail(invalid(e)),
                    },
                },
                Err(e) => return self.fail(invalid(e)),
            };
            self.on_event(event);
        }
    }

    fn fail(&mut self, err: std::io::Error) -> Option<std::io::Result<Bytes>> {
        self.finished = true;
        self.out.clear();
        Some(Err(err))
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Entry(header) => {
                self.keeping = None;
                let Some(name) = self.keep_as(&header.path) else { return };
                let mut link = header.link.clone();
                if header.kind == kind::HARD_LINK {
                    // A hard link names another member: re-root it too, and drop the link
                    // if its target is not part of the context (the daemon would fail).
                    match self.place(&header.link) {
                        Placed::At(target) if self.included(&target) => link = target,
                        _ => {
                            tracing::warn!(
                                path = %String::from_utf8_lossy(&header.path),
                                target = %String::from_utf8_lossy(&header.link),
                                "dropping a hard link whose target is not in the build context"
                            );
                            return;
                        }
                    }
                }
                let mut block = tar::Header::new_old();
                block.as_mut_bytes().copy_from_slice(&header.block);
                // Header-only types are sent with size 0 whatever the input said.
                if header.size == 0 {
                    block.set_size(0);
                }
                let mut encoded = Vec::with_capacity(1024);
                encode_entry(block.as_bytes(), &name, &link, &header.pax, &mut encoded);
                self.out.push_back(Bytes::from(encoded));
                self.keeping = Some(header.size);
            }
            Event::Data(data) => {
                if self.keeping.is_some() {
                    self.out.push_back(data);
                }
            }
            Event::EntryEnd => {
                if let Some(size) = self.keeping.take() {
                    let pad = padding(size);
                    if !pad.is_empty() {
                        self.out.push_back(Bytes::from_static(pad));
                    }
                }
            }
            Event::End => {
                for (name, content, mode) in std::mem::take(&mut self.extra) {
                    let mut header = tar::Header::new_ustar();
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(mode & 0o7777);
                    header.set_size(content.len() as u64);
                    header.set_mtime(now());
                    let mut encoded = Vec::with_capacity(1024);
                    encode_entry(header.as_bytes(), &normalise(name.as_bytes()), b"", &[], &mut encoded);
                    let pad = padding(content.len() as u64);
                    self.out.push_back(Bytes::from(encoded));
                    self.out.push_back(content);
                    self.out.push_back(Bytes::from_static(pad));
                }
                self.out.push_back(Bytes::from_static(&END_OF_ARCHIVE));
                self.finished = true;
            }
        }
    }

    /// The new name of a member, or `None` when it is dropped.
    fn keep_as(&mut self, path: &[u8]) -> Option<Vec<u8>> {
        match self.place(path) {
            Placed::At(name) => self.included(trim_dir(&name)).then_some(name),
            Placed::Root => None,
            Placed::Outside => {
                tracing::warn!(path = %String::from_utf8_lossy(path), prefix = %String::from_utf8_lossy(&self.prefix),
                    "dropping a workspace archive member outside the expected directory");
                None
            }
        }
    }

    fn place(&self, path: &[u8]) -> Placed {
        let path = normalise(path);
        let rest = if self.prefix.is_empty() {
            path.as_slice()
        } else if trim_dir(&path) == self.prefix.as_slice() {
            return Placed::Root;
        } else {
            match path.strip_prefix(self.prefix.as_slice()).and_then(|r| r.strip_prefix(b"/")) {
                Some(rest) => rest,
                None => return Placed::Outside,
            }
        };
        let rest = normalise(rest);
        if trim_dir(&rest).is_empty() { Placed::Root } else { Placed::At(rest) }
    }

    /// Whether a re-rooted path (no trailing `/`) stays in the context.
    fn included(&mut self, rel: &[u8]) -> bool {
        let rel = trim_dir(rel);
        if self.extra_names.contains(rel) {
            return false;
        }
        let Some(ignore) = &self.ignore else { return true };
        let text = String::from_utf8_lossy(rel);
        if ignore.excludes(&text) {
            return false;
        }
        // The ancestors' pruning decision is the same for every member of a directory, and
        // archives list many members per directory: remember it.
        match text.rfind('/') {
            Some(i) => !pruned(ignore, &mut self.pruned, &text[..i]),
            None => true,
        }
    }
}

/// Whether `dir` or one of its ancestors is a directory Docker's walker would skip.
fn pruned(ignore: &DockerIgnore, memo: &mut HashMap<String, bool>, dir: &str) -> bool {
    if let Some(&known) = memo.get(dir) {
        return known;
    }
    let parent_pruned = match dir.rfind('/') {
        Some(i) => pruned(ignore, memo, &dir[..i]),
        None => false,
    };
    let result = parent_pruned || ignore.can_prune_dir(dir);
    memo.insert(dir.to_string(), result);
    result
}

/// Removes leading `./` and `/` (repeatedly) and collapses `//`; keeps a trailing `/`.
fn normalise(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let trailing = path.ends_with(b"/");
    for part in path.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    if trailing && !out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A path without its trailing `/`.
fn trim_dir(path: &[u8]) -> &[u8] {
    path.strip_suffix(b"/").unwrap_or(path)
}

fn invalid(e: super::tar_parse::TarError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("workspace archive: {e}"))
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
