//! Shared fixtures for the integration tests.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `drydock` binary built for these tests.
pub fn drydock() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("drydock").expect("drydock binary")
}

/// A context archive (tar) holding `files`, each `(path, content)`, mode 0644.
pub fn context_tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut archive = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive.append_data(&mut header, path, content.as_bytes()).unwrap();
    }
    archive.into_inner().unwrap()
}

pub mod bombs;
pub mod browser;
pub mod daemon;
pub mod docker;
pub mod engine;
pub mod engines;
pub mod git;
pub mod git_http;
pub mod memory;
pub mod proxy;
pub mod receiver;
pub mod registry;
pub mod serve;
pub mod sshd;
pub mod wait;

/// A throwaway PostgreSQL server: the store's own test fixture, shared rather than copied
/// (`postgres::database()` gives a new database, or skips outside CI).
#[path = "../../src/store/tests/postgres.rs"]
pub mod postgres;
