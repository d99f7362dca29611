//! OCI distribution: manifest digests (`HEAD`, with a `GET` fallback), registry
//! authentication, credentials, and registry push notifications; moving blobs, manifests and
//! tags ([`RepoAccess`]), and what is built on that: OCI artifacts ([`artifact`]), cosign-style
//! signatures ([`keys`], [`signature`]).
//!
//! drydock asks registries for digests right after a push and, in the base-image watcher, for
//! every tag a task builds FROM. The watcher relies on two properties of this module: errors
//! say whether they are transient ([`RegistryError::is_transient`]), and every answer reports
//! how many requests it cost ([`DigestAnswer::requests_made`]).

pub mod artifact;
mod auth;
mod backoff;
mod client;
mod content;
mod credentials;
mod error;
pub mod index;
pub mod keys;
mod notification;
pub mod purge;
mod ratelimit;
pub mod signature;
mod target;

#[cfg(test)]
mod tests;

pub use client::{ClientConfig, DigestAnswer, MANIFEST_MEDIA_TYPES, RegistryClient};
pub use content::{RepoAccess, StoredManifest, sha256_digest};
pub use credentials::{Credentials, Login, default_docker_config_path};
pub use error::{CredentialsError, NotificationError, RegistryError};
pub use notification::{NOTIFICATION_MEDIA_TYPE, PushEvent, parse_notification};
