//! Context archives (uploads and remote tarballs) with small limits:
//! `check`, `check_and_copy`, and `extract` behind `compression::decompress` (the remote
//! tarball path: gzip, bzip2, xz or plain, told apart by magic bytes).
//!
//! Oracles besides "no panic": nothing is written outside the destination (a canary file and
//! the destination's siblings are checked), no extracted symlink resolves outside it,
//! `check_and_copy` copies the input unchanged and agrees with `check`, and a plain or gzip
//! archive that `check` accepts is extracted too (uploads are checked on receipt, extracted later).
#![no_main]

use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Once;

use drydock::context::archive::{self, ArchiveError, ArchiveLimits};
use drydock::context::compression::{self, Compression};
use libfuzzer_sys::fuzz_target;

const CANARY: &[u8] = b"canary: must never change\n";

fn limits() -> ArchiveLimits {
    ArchiveLimits { max_total_bytes: 1 << 20, max_entries: 64, max_path_len: 256 }
}

/// Where the per-input directories go: tmpfs when there is one, for speed.
fn scratch_base() -> PathBuf {
    if let Some(d) = std::env::var_os("DRYDOCK_FUZZ_TMP") {
        return d.into();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() }
}

/// Lexical resolution of `target` relative to the directory `dir`: `None` if it climbs out of `root`.
fn lexically_inside(root: &Path, dir: &Path, target: &Path) -> bool {
    let mut parts: Vec<Component> = Vec::new();
    let rel = dir.strip_prefix(root).unwrap_or(Path::new(""));
    parts.extend(rel.components());
    for c in target.components() {
        match c {
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return false;
                }
            }
            Component::CurDir => {}
            Component::Normal(_) => parts.push(c),
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

fn walk(root: &Path, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("read_link");
            // Through other links too: where the link really ends up, if it exists.
            if let Ok(real) = std::fs::canonicalize(&path) {
                let real_root = std::fs::canonicalize(root).unwrap();
                assert!(
                    real.starts_with(&real_root),
                    "extracted symlink {} -> {} resolves to {} outside the destination",
                    path.display(),
                    target.display(),
                    real.display()
                );
            } else {
                assert!(
                    lexically_inside(root, dir, &target),
                    "extracted dangling symlink {} -> {} points outside the destination",
                    path.display(),
                    target.display()
                );
            }
        } else if meta.is_dir() {
            walk(root, &path);
        }
    }
}

fn rule_error(e: &ArchiveError) -> bool {
    !matches!(e, ArchiveError::Write { .. } | ArchiveError::Read { .. })
}

fuzz_target!(|data: &[u8]| {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // libFuzzer's C `main` skips Rust's runtime set-up, which ignores SIGPIPE: do as the
        // daemon does, or the xz decoder thread dies of SIGPIPE when extraction stops early.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    });
    let limits = limits();

    // 1. Validation only, and validation while copying.
    let checked = archive::check(data, &limits);
    let mut copy = Vec::new();
    let copied = archive::check_and_copy(data, &mut copy, &limits);
    assert_eq!(checked.is_ok(), copied.is_ok(), "check {checked:?} but check_and_copy {copied:?}");
    if let (Ok(a), Ok(b)) = (&checked, &copied) {
        assert_eq!(a, b, "check and check_and_copy count differently");
        assert!(copy == data, "check_and_copy changed the bytes ({} in, {} out)", data.len(), copy.len());
    }

    // 2. Extraction, as a remote tarball is extracted: decompress, then extract.
    let scratch = tempfile::Builder::new().prefix("dd-fuzz-").tempdir_in(scratch_base()).expect("tempdir");
    let canary = scratch.path().join("canary");
    std::fs::write(&canary, CANARY).unwrap();
    let dest = scratch.path().join("ctx");
    let (kind, reader) = compression::decompress(Cursor::new(data.to_vec())).expect("decompress of memory");
    // A cap on top of the limits so that a compression bomb cannot fill the disk of the harness.
    let extracted = archive::extract(reader.take(64 << 20), &dest, &limits);

    let mut names: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.iter().all(|n| n == "canary" || n == "ctx"), "extraction created {names:?} next to the destination");
    assert_eq!(std::fs::read(&canary).unwrap(), CANARY, "extraction wrote through to a file outside the destination");
    if dest.exists() {
        walk(&dest, &dest);
    }
    if let Ok(stats) = &extracted {
        assert!(
            stats.bytes <= limits.max_total_bytes && stats.entries <= limits.max_entries,
            "{stats:?} over the limits"
        );
    }
    if matches!(kind, Compression::None | Compression::Gzip)
        && let (Ok(_), Err(e)) = (&checked, &extracted)
        && rule_error(e)
    {
        panic!("check accepted the archive but extract refused it: {e}");
    }
});
