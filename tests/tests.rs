//! The one integration-test binary: real dockerd, registry, git and PostgreSQL, no mocks.

mod helper;

mod bad_input;
mod corpus;
mod daemon;
mod daemon_restart;
mod docker_engine;
mod engine;
mod engine_features;
mod schema;
mod snapshots;
mod taskfile_cli;
