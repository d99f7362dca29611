//! The only place in drydock that talks to a Docker engine (through bollard).
//!
//! [`DockerHost`] wraps one engine connection and offers a small, typed API: networks, volumes
//! (with streamed uploads and downloads), containers, images, builds (classic and BuildKit),
//! pushes, and a janitor that finds and removes everything a run left behind. Every object
//! drydock creates carries the [`RUN_LABEL`] so the janitor can find it after a crash.
//!
//! Nothing here knows about task files or runs beyond the run id in labels; the engine decides
//! what to create and this module makes it so.

mod build;
mod build_secrets;
mod buildkit_log;
mod claims;
mod connect;
mod container_spec;
mod containers;
mod credentials;
mod error;
mod images;
mod janitor;
mod labels;
mod networks;
mod ports;
mod push;
mod seed;
mod ssh;
mod volume_transfer;
mod volumes;
mod wait;

pub use build::{BuildLog, BuildOutcome, BuildRequest};
pub use connect::{DEFAULT_DOCKER_HOST, EngineInfo};
pub use container_spec::{ContainerSpec, Mount, MountSource};
pub use containers::{ContainerState, LogChunk, LogStream};
pub use credentials::RegistryCredential;
pub use error::{DockerError, Result};
pub use images::ImageInfo;
pub use janitor::{ContainerRef, RemovalReport, RunObjects};
pub use labels::{Labels, RUN_LABEL};
pub use ports::{PortBinding, parse_expose, parse_port_spec};
pub use seed::SEED_IMAGE;

use std::sync::Arc;

/// A connection to one Docker engine. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct DockerHost {
    /// Client for calls that answer quickly; a stuck engine surfaces as a timeout.
    api: bollard::Docker,
    /// Same connection with a very long timeout, for uploads, builds, pulls, pushes and waits.
    streaming: bollard::Docker,
    /// The endpoint as resolved at connect time, for error messages.
    endpoint: Arc<str>,
    /// Set once the seed image is known to exist, so concurrent uploads import it only once.
    seed_ready: Arc<tokio::sync::OnceCell<()>>,
}

impl std::fmt::Debug for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerHost").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}
