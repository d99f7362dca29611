//! OCI distribution: manifest digests (`HEAD`, with a `GET` fallback), registry
//! authentication, credentials, and registry push notifications.
//!
//! drydock asks registries for digests right after a push and, in the base-image watcher, for
//! every tag a task builds FROM. The watcher relies on two properties of this module: errors
//! say whether they are transient ([`RegistryError::is_transient`]), and every answer reports
//! how many requests it cost ([`DigestAnswer::requests_made`]).

mod auth;
mod backoff;
mod client;
mod credentials;
mod error;
mod notification;
mod ratelimit;
mod target;

#[cfg(test)]
mod tests;

pub use client::{ClientConfig, DigestAnswer, MANIFEST_MEDIA_TYPES, RegistryClient};
pub use credentials::{Credentials, Login, default_docker_config_path};
pub use error::{CredentialsError, NotificationError, RegistryError};
pub use notification::{NOTIFICATION_MEDIA_TYPE, PushEvent, parse_notification};
