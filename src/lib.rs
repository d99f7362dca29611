//! drydock: a self-hosted container build task engine compatible with ACR Tasks task files.
//!
//! See ARCHITECTURE.md for the codemap and the invariants.
#![forbid(unsafe_code)]

pub mod api;
pub mod buildargs;
pub mod cli;
pub mod clock;
pub mod context;
pub mod daemon;
pub mod datadir;
pub mod docker;
pub mod dockerfile;
pub mod dockerignore;
pub mod engine;
pub mod glob;
pub mod metrics;
pub mod node;
pub mod reference;
pub mod registry;
pub mod repository;
pub mod run;
pub mod runid;
pub mod schedule;
pub mod secrets;
pub mod server;
pub mod shellwords;
pub mod store;
pub mod taskfile;
pub mod tls;
pub mod transfer;
pub mod triggers;
pub mod version;
