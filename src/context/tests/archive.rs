//! Safe extraction: every malicious shape is crafted with raw header fields (the `tar`
//! crate's path setters would sanitise them), and must be refused with its own error.

use std::io::Write;
use std::process::Command;

use super::support::{run, tree};
use crate::context::archive::{ArchiveError, ArchiveLimits, check, check_and_copy, extract};

/// One crafted member.
struct Raw<'a> {
    name: &'a [u8],
    kind: tar::EntryType,
    link: &'a [u8],
    data: &'a [u8],
    mode: u32,
}

fn file<'a>(name: &'a str, data: &'a str) -> Raw<'a> {
    Raw { name: name.as_bytes(), kind: tar::EntryType::Regular, link: b"", data: data.as_bytes(), mode: 0o644 }
}

fn link<'a>(name: &'a str, kind: tar::EntryType, target: &'a str) -> Raw<'a> {
    Raw { name: name.as_bytes(), kind, link: target.as_bytes(), data: b"", mode: 0o777 }
}

fn dir(name: &str) -> Raw<'_> {
    Raw { name: name.as_bytes(), kind: tar::EntryType::Directory, link: b"", data: b"", mode: 0o755 }
}

/// A tar with exactly these header fields (GNU format, names up to 100 bytes).
fn craft(members: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(m.kind);
        h.set_size(m.data.len() as u64);
        h.set_mode(m.mode);
        h.set_mtime(1_600_000_000);
        let bytes = h.as_mut_bytes();
        bytes[..m.name.len()].copy_from_slice(m.name);
        bytes[157..157 + m.link.len()].copy_from_slice(m.link);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(m.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn refused(members: &[Raw]) -> ArchiveError {
    let tar = craft(members);
    let checked = check(tar.as_slice(), &ArchiveLimits::default()).expect_err("check accepted a bad archive");
    let dest = tempfile::tempdir().unwrap();
    let extracted =
        extract(tar.as_slice(), &dest.path().join("out"), &ArchiveLimits::default()).expect_err("extract accepted it");
    assert_eq!(checked.to_string(), extracted.to_string(), "check and extract must agree");
    checked
}

#[test]
fn absolute_path_is_refused() {
    let err = refused(&[file("/etc/evil", "x")]);
    assert!(matches!(&err, ArchiveError::AbsolutePath { entry } if entry == "/etc/evil"), "{err}");
    assert!(err.to_string().contains("relative paths"), "{err}");
}

#[test]
fn parent_components_are_refused() {
    let err = refused(&[file("a/../../evil", "x")]);
    assert!(matches!(&err, ArchiveError::ParentDir { entry } if entry == "a/../../evil"), "{err}");
}

#[test]
fn absolute_symlink_is_refused() {
    let err = refused(&[link("etc", tar::EntryType::Symlink, "/etc")]);
    assert!(matches!(&err, ArchiveError::SymlinkAbsolute { entry, target } if entry == "etc" && target == "/etc"));
}

#[test]
fn symlink_escaping_lexically_is_refused() {
    let err = refused(&[dir("a/"), link("a/up", tar::EntryType::Symlink, "../../outside")]);
    assert!(matches!(&err, ArchiveError::SymlinkEscape { entry, .. } if entry == "a/up"), "{err}");
    // Staying inside is fine.
    let ok = craft(&[dir("a/"), link("a/ok", tar::EntryType::Symlink, "../a/./x")]);
    check(ok.as_slice(), &ArchiveLimits::default()).unwrap();
}

#[test]
fn symlink_chain_escaping_is_refused_and_removed() {
    // Each link alone stays inside; together `s` resolves to the parent of the root.
    let members = [link("s", tar::EntryType::Symlink, "d/.."), link("d", tar::EntryType::Symlink, ".")];
    let err = refused(&members);
    assert!(matches!(&err, ArchiveError::SymlinkEscape { entry, .. } if entry == "s"), "{err}");
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("out");
    extract(craft(&members).as_slice(), &out, &ArchiveLimits::default()).unwrap_err();
    assert!(std::fs::symlink_metadata(out.join("s")).is_err(), "the escaping link must not be left behind");
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let err = refused(&[dir("real/"), link("l", tar::EntryType::Symlink, "real"), file("l/f", "x")]);
    assert!(matches!(&err, ArchiveError::ThroughSymlink { entry, link } if entry == "l/f" && link == "l"), "{err}");
}

#[test]
fn replacing_a_symlink_does_not_write_through_it() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "original").unwrap();
    // A relative link cannot reach `victim`, but a later member with the same name must
    // replace the link, not write into its target.
    let tar = craft(&[file("t", "target"), link("l", tar::EntryType::Symlink, "t"), file("l", "new")]);
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("out");
    extract(tar.as_slice(), &out, &ArchiveLimits::default()).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("t")).unwrap(), "target");
    assert_eq!(std::fs::read_to_string(out.join("l")).unwrap(), "new");
    assert!(!std::fs::symlink_metadata(out.join("l")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "original");
}

#[test]
fn hard_links_must_name_an_earlier_file() {
    let err = refused(&[link("h", tar::EntryType::Link, "../etc/passwd")]);
    assert!(matches!(&err, ArchiveError::HardLink { entry, .. } if entry == "h"), "{err}");
    assert!(err.to_string().contains("outside"), "{err}");
    let err = refused(&[link("h", tar::EntryType::Link, "later"), file("later", "x")]);
    assert!(err.to_string().contains("comes earlier"), "{err}");
    let err = refused(&[dir("d/"), link("h", tar::EntryType::Link, "d")]);
    assert!(matches!(err, ArchiveError::HardLink { .. }), "{err}");
}

#[test]
fn devices_and_fifos_are_refused() {
    let err = refused(&[Raw { name: b"null", kind: tar::EntryType::Char, link: b"", data: b"", mode: 0o666 }]);
    assert!(
        matches!(&err, ArchiveError::SpecialFile { entry, what } if entry == "null" && *what == "character device")
    );
    let err = refused(&[Raw { name: b"sda", kind: tar::EntryType::Block, link: b"", data: b"", mode: 0o666 }]);
    assert!(matches!(&err, ArchiveError::SpecialFile { what: "block device", .. }), "{err}");
    let err = refused(&[Raw { name: b"p", kind: tar::EntryType::Fifo, link: b"", data: b"", mode: 0o666 }]);
    assert!(matches!(&err, ArchiveError::SpecialFile { what: "FIFO", .. }), "{err}");
}

#[test]
fn limits_are_enforced() {
    let tar = craft(&[file("a", "0123456789"), file("b", "0123456789")]);
    let small = ArchiveLimits { max_total_bytes: 15, ..ArchiveLimits::default() };
    assert!(matches!(check(tar.as_slice(), &small), Err(ArchiveError::TooLarge { max: 15 })));
    let few = ArchiveLimits { max_entries: 1, ..ArchiveLimits::default() };
    assert!(matches!(check(tar.as_slice(), &few), Err(ArchiveError::TooManyEntries { max: 1 })));
    let short = ArchiveLimits { max_path_len: 3, ..ArchiveLimits::default() };
    let long = craft(&[file("abcd", "x")]);
    let err = check(long.as_slice(), &short).unwrap_err();
    assert!(matches!(&err, ArchiveError::PathTooLong { entry, len: 4, max: 3 } if entry == "abcd"), "{err}");
}

#[test]
fn a_path_both_dir_and_file_is_refused() {
    let err = refused(&[dir("x/"), file("x", "data")]);
    assert!(matches!(&err, ArchiveError::Conflict { entry } if entry == "x"), "{err}");
    let err = refused(&[file("x", "data"), file("x/y", "data")]);
    assert!(matches!(&err, ArchiveError::NotADirectory { entry, file } if entry == "x/y" && file == "x"), "{err}");
}

#[test]
fn truncated_and_garbage_input_is_corrupt() {
    let tar = craft(&[file("a", &"x".repeat(2000))]);
    let err = check(&tar[..1000], &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
    let err = check(&b"this is not a tar archive at all"[..], &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let err = check(&gz[..gz.len() / 2], &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
}

#[test]
fn extract_refuses_a_non_empty_destination() {
    let dest = tempfile::tempdir().unwrap();
    std::fs::write(dest.path().join("old"), "x").unwrap();
    let err = extract(craft(&[file("a", "x")]).as_slice(), dest.path(), &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::DestNotEmpty { .. }), "{err}");
}

/// A tree made with GNU tar (long and unicode names, links, modes), gzip-compressed,
/// extracts byte for byte; `check_and_copy` copies the upload unchanged.
#[test]
fn good_gzip_archive_extracts_exactly() {
    let src = tempfile::tempdir().unwrap();
    let root = src.path().join("ctx");
    let deep = root.join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("long-file-name-".repeat(8)), "deep").unwrap();
    std::fs::write(root.join("ünïcødé.txt"), "unicode").unwrap();
    std::fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(root.join("big.bin"), (0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("run.sh", root.join("link")).unwrap();
    std::fs::hard_link(root.join("run.sh"), root.join("hard")).unwrap();
    std::fs::create_dir(root.join("empty")).unwrap();
    for format in ["gnu", "posix"] {
        let tgz = run(Command::new("tar")
            .arg(format!("--format={format}"))
            .arg("-czf")
            .arg("-")
            .arg("-C")
            .arg(&root)
            .arg("."));
        let dest = tempfile::tempdir().unwrap();
        let stats = extract(tgz.as_slice(), dest.path(), &ArchiveLimits::default()).unwrap();
        assert_eq!(tree(dest.path()), tree(&root), "format {format}");
        assert_eq!(stats.entries, 10, "format {format}: . + 3 dirs + 5 files/links + hard link");
        let mut copy = Vec::new();
        let copied = check_and_copy(tgz.as_slice(), &mut copy, &ArchiveLimits::default()).unwrap();
        assert_eq!(copied, stats);
        assert_eq!(copy, tgz, "the copy must be the upload, byte for byte");
    }
}
