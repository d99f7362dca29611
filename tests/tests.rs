//! The one integration-test binary: real dockerd, registry, git and PostgreSQL. Fakes appear only
//! to inject faults the real parts cannot produce on demand (`cli_client`: a dropped log stream)
//! and to stand in for outside services (`outgoing`: a git server's status API, event receivers).

mod helper;

mod bad_input;
mod bombs;
mod cli_client;
mod cli_remote;
mod connections;
mod corpus;
mod daemon;
mod daemon_restart;
mod dashboard;
mod docker_engine;
mod drain;
mod engine;
mod engine_features;
mod engines;
mod first_ten_minutes;
mod layering;
mod metrics;
mod operating;
mod outgoing;
mod packaging;
mod partition;
mod platforms;
mod registry_side;
mod resume;
mod scale_out;
mod schema;
mod services;
mod snapshots;
mod taskfile_cli;
mod triggers_base_image;
mod triggers_forks;
mod triggers_source;
mod triggers_timer;
