//! The safety rules for untrusted archives, independent of whether the archive is being
//! extracted or only checked: every member's path, link target, type and size is judged
//! against what was seen before, so that nothing can be written outside the destination,
//! through a link, or beyond the limits.

use std::collections::HashMap;

use super::archive::{ArchiveError, ArchiveLimits, display_entry};
use super::tar_parse::{EntryHeader, kind};

/// Longest chain of symlinks followed when resolving a target (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// What kind of thing a path is once extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
}

/// What to do for a member that passed the checks. Paths are normalised, relative to
/// the destination, `/`-separated.
#[derive(Debug)]
pub(crate) enum Planned {
    /// The root directory itself (`./`): nothing to create.
    Root,
    /// Create a directory.
    Dir(Vec<u8>),
    /// Create a regular file; `replaces` when an earlier member had the same path.
    File { path: Vec<u8>, replaces: bool },
    /// Create a symlink with this target.
    Symlink { path: Vec<u8>, target: Vec<u8>, replaces: bool },
    /// Hard-link to an earlier regular file.
    HardLink { path: Vec<u8>, target: Vec<u8>, replaces: bool },
}

/// Tracks what an archive has created so far and judges the next member.
#[derive(Debug)]
pub(crate) struct Rules {
    limits: ArchiveLimits,
    seen: HashMap<Vec<u8>, Kind>,
    /// Symlink path → its raw target, for the final resolution pass.
    symlinks: Vec<(Vec<u8>, Vec<u8>)>,
    /// Members so far.
    pub entries: u64,
    /// Declared file data so far.
    pub bytes: u64,
}

impl Rules {
    pub fn new(limits: &ArchiveLimits) -> Self {
        Rules { limits: limits.clone(), seen: HashMap::new(), symlinks: Vec::new(), entries: 0, bytes: 0 }
    }

    /// Judges one member.
    pub fn entry(&mut self, header: &EntryHeader) -> Result<Planned, ArchiveError> {
        let entry = || display_entry(&header.path);
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries { max: self.limits.max_entries });
        }
        if header.path.len() > self.limits.max_path_len {
            return Err(ArchiveError::PathTooLong {
                entry: entry(),
                len: header.path.len(),
                max: self.limits.max_path_len,
            });
        }
        let new_kind = match header.kind {
            _ if header.is_regular() => Kind::File,
            kind::DIR => Kind::Dir,
            kind::SYMLINK => Kind::Symlink,
            kind::HARD_LINK => Kind::File,
            kind::CHAR => return Err(ArchiveError::SpecialFile { entry: entry(), what: "character device" }),
            kind::BLOCK => return Err(ArchiveError::SpecialFile { entry: entry(), what: "block device" }),
            kind::FIFO => return Err(ArchiveError::SpecialFile { entry: entry(), what: "FIFO" }),
            other => return Err(ArchiveError::UnsupportedType { entry: entry(), flag: other as char }),
        };
        let path = member_path(&header.path).map_err(|problem| problem.into_error(entry()))?;
        if path.is_empty() {
            return match new_kind {
                Kind::Dir => Ok(Planned::Root),
                _ => Err(ArchiveError::EmptyName { entry: entry() }),
            };
        }
        self.check_parents(&path, &entry)?;
        let replaces = match (self.seen.get(&path), new_kind) {
            (None, _) => false,
            (Some(Kind::Dir), Kind::Dir) => return Ok(Planned::Dir(path)),
            (Some(Kind::Dir), _) | (Some(_), Kind::Dir) => return Err(ArchiveError::Conflict { entry: entry() }),
            (Some(_), _) => true,
        };
        if header.size > 0 {
            self.bytes = self.bytes.saturating_add(header.size);
            if self.bytes > self.limits.max_total_bytes {
                return Err(ArchiveError::TooLarge { max: self.limits.max_total_bytes });
            }
        }
        let planned = match header.kind {
            kind::DIR => Planned::Dir(path.clone()),
            kind::SYMLINK => {
                let target = header.link.clone();
                self.check_symlink(&path, &target, &entry)?;
                self.symlinks.retain(|(p, _)| p != &path);
                self.symlinks.push((path.clone(), target.clone()));
                Planned::Symlink { path: path.clone(), target, replaces }
            }
            kind::HARD_LINK => {
                let target = self.check_hard_link(&header.link, &entry)?;
                Planned::HardLink { path: path.clone(), target, replaces }
            }
            _ => Planned::File { path: path.clone(), replaces },
        };
        if new_kind != Kind::Symlink {
            self.symlinks.retain(|(p, _)| p != &path);
        }
        self.seen.insert(path, new_kind);
        Ok(planned)
    }

    /// Refuses a member under a symlink or a file; records implicit parent directories.
    fn check_parents(&mut self, path: &[u8], entry: &dyn Fn() -> String) -> Result<(), ArchiveError> {
        for (i, _) in path.iter().enumerate().filter(|(_, b)| **b == b'/') {
            let parent = &path[..i];
            match self.seen.get(parent) {
                Some(Kind::Symlink) => {
                    return Err(ArchiveError::ThroughSymlink { entry: entry(), link: display_entry(parent) });
                }
                Some(Kind::File) => {
                    return Err(ArchiveError::NotADirectory { entry: entry(), file: display_entry(parent) });
                }
                Some(Kind::Dir) => {}
                None => {
                    self.seen.insert(parent.to_vec(), Kind::Dir);
                }
            }
        }
        Ok(())
    }

    fn check_symlink(&self, path: &[u8], target: &[u8], entry: &dyn Fn() -> String) -> Result<(), ArchiveError> {
        let shown = || String::from_utf8_lossy(target).into_owned();
        if target.is_empty() {
            return Err(ArchiveError::SymlinkEscape { entry: entry(), target: shown() });
        }
        if target.len() > self.limits.max_path_len {
            return Err(ArchiveError::PathTooLong { entry: entry(), len: target.len(), max: self.limits.max_path_len });
        }
        if target.starts_with(b"/") {
            return Err(ArchiveError::SymlinkAbsolute { entry: entry(), target: shown() });
        }
        // Lexical resolution from the link's own directory.
        let mut stack = parent_components(path);
        for part in target.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if stack.pop().is_none() {
                        return Err(ArchiveError::SymlinkEscape { entry: entry(), target: shown() });
                    }
                }
                name => stack.push(name.to_vec()),
            }
        }
        Ok(())
    }

    /// A hard link's target must be a regular file extracted earlier (tar names it by
    /// its archive path, not relative to the link).
    fn check_hard_link(&self, link: &[u8], entry: &dyn Fn() -> String) -> Result<Vec<u8>, ArchiveError> {
        let shown = || String::from_utf8_lossy(link).into_owned();
        let target = match member_path(link) {
            Ok(t) if !t.is_empty() => t,
            _ => {
                return Err(ArchiveError::HardLink {
                    entry: entry(),
                    target: shown(),
                    problem: "points outside the archive",
                });
            }
        };
        for (i, _) in target.iter().enumerate().filter(|(_, b)| **b == b'/') {
            if self.seen.get(&target[..i]) == Some(&Kind::Symlink) {
                return Err(ArchiveError::ThroughSymlink { entry: entry(), link: display_entry(&target[..i]) });
            }
        }
        match self.seen.get(&target) {
            Some(Kind::File) => Ok(target),
            _ => Err(ArchiveError::HardLink {
                entry: entry(),
                target: shown(),
                problem: "does not name a regular file that comes earlier in the archive",
            }),
        }
    }

    /// After the last member: resolves every symlink physically, following the other
    /// symlinks of the archive, so that link chains (`d -> .` and `s -> d/..`) cannot reach
    /// outside either. Returns the first offending link.
    pub fn finish(&self) -> Result<(), (Vec<u8>, ArchiveError)> {
        let links: HashMap<&[u8], &[u8]> = self.symlinks.iter().map(|(p, t)| (p.as_slice(), t.as_slice())).collect();
        for (path, target) in &self.symlinks {
            let mut hops = 0;
            if resolve(&links, parent_components(path), target, &mut hops).is_none() {
                let err = ArchiveError::SymlinkEscape {
                    entry: display_entry(path),
                    target: String::from_utf8_lossy(target).into_owned(),
                };
                return Err((path.clone(), err));
            }
        }
        Ok(())
    }
}

/// Follows `target` from directory `start`, substituting archive symlinks as they are met.
/// `None` when the walk leaves the root or loops.
fn resolve(
    links: &HashMap<&[u8], &[u8]>,
    start: Vec<Vec<u8>>,
    target: &[u8],
    hops: &mut usize,
) -> Option<Vec<Vec<u8>>> {
    let mut stack = start;
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                stack.pop()?;
            }
            name => {
                stack.push(name.to_vec());
                if let Some(next) = links.get(stack.join(&b'/').as_slice()) {
                    *hops += 1;
                    if *hops > MAX_LINK_HOPS || next.starts_with(b"/") {
                        return None;
                    }
                    stack.pop();
                    stack = resolve(links, stack, next, hops)?;
                }
            }
        }
    }
    Some(stack)
}

/// What is wrong with a member path.
pub(crate) enum PathProblem {
    Absolute,
    ParentDir,
}

impl PathProblem {
    fn into_error(self, entry: String) -> ArchiveError {
        match self {
            PathProblem::Absolute => ArchiveError::AbsolutePath { entry },
            PathProblem::ParentDir => ArchiveError::ParentDir { entry },
        }
    }
}

/// A member path made relative and canonical (`./a//b/` → `a/b`), or why it cannot be.
pub(crate) fn member_path(raw: &[u8]) -> Result<Vec<u8>, PathProblem> {
    if raw.starts_with(b"/") {
        return Err(PathProblem::Absolute);
    }
    let mut out = Vec::with_capacity(raw.len());
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(PathProblem::ParentDir),
            name => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(name);
            }
        }
    }
    Ok(out)
}

fn parent_components(path: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    parts.pop();
    parts
}
