//! Executes a planned task on a Docker engine: the one code path for local runs and the daemon.

pub mod log;
pub mod record;
