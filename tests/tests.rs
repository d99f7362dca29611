//! The one integration-test binary: real dockerd, registry, git and PostgreSQL, no mocks.

mod helper;

mod docker_engine;
mod schema;
mod taskfile_cli;
