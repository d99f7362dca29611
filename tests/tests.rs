//! The one integration-test binary: real dockerd, registry, git and PostgreSQL, no mocks (except
//! `cli_client`, whose fake daemon stands in until `drydock serve` lands).

mod helper;

mod bad_input;
mod cli_client;
mod corpus;
mod docker_engine;
mod engine;
mod engine_features;
mod schema;
mod snapshots;
mod taskfile_cli;
