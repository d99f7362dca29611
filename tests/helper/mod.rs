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

pub mod browser;
pub mod daemon;
pub mod docker;
pub mod engine;
pub mod git;
pub mod registry;
pub mod serve;

/// A throwaway PostgreSQL server: the store's own test fixture, shared rather than copied.
#[path = "../../src/store/tests/postgres.rs"]
pub mod postgres;

/// A new empty PostgreSQL database, or `None` (after saying why) when no server can be started,
/// unless `DRYDOCK_TEST_PG=require` (CI) makes that a failure.
pub async fn postgres_database() -> Option<String> {
    let required = std::env::var("DRYDOCK_TEST_PG").is_ok_and(|v| v == "require");
    let url = match postgres::server() {
        Ok(server) => server.new_database().await,
        Err(why) => Err(why.to_string()),
    };
    match url {
        Ok(url) => Some(url),
        Err(why) if required => panic!("PostgreSQL is required (DRYDOCK_TEST_PG=require) but: {why}"),
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}
