//! The one integration-test binary: real dockerd, registry, git and PostgreSQL, no mocks.

mod helper;

mod schema;
mod taskfile_cli;
