//! Build contexts: where a build step's files come from and how they reach the Docker
//! build API. A context is a local directory ([`pack`]), a path in the run's workspace
//! volume ([`volume_tar`]), a git URL ([`git`]) or an http(s) tarball ([`tarball`]);
//! untrusted archives are validated and unpacked by [`archive`]. The task-file pipeline reads alias
//! files through [`alias_sources`], confined to the context; [`git_head`] gives `$Commit`/`$Branch`.

pub mod alias_sources;
pub mod archive;
pub mod compression;
pub mod error;
pub mod git;
pub mod git_head;
pub mod pack;
pub mod tarball;
pub mod volume_tar;

mod archive_rules;
mod pack_sink;
mod pack_walk;
mod tar_parse;
mod tar_write;

#[cfg(test)]
mod tests;

pub use error::ContextError;

/// A build context (or any tar) as a stream of byte chunks, ready to be sent as an
/// HTTP body to the Docker build API. Errors end the stream.
pub type ContextStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;
