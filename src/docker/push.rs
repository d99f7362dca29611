//! Pushing an image to its registry.
//!
//! Which digest the registry now serves is not read here: the registry itself (a HEAD on the
//! manifest) is the authority, and bollard drops the engine's final `aux` message anyway.
//! [`DockerHost::repo_digest_for`] is the local fallback.

use futures_util::StreamExt;

use bollard::query_parameters::PushImageOptionsBuilder;

use super::error::{DockerError, Result, describe};
use super::images::{split_tag, with_default_tag};
use super::{DockerHost, RegistryCredential};

impl DockerHost {
    /// Pushes `reference` (`registry/repo[:tag]`, tag defaults to `latest`) and waits for the
    /// whole upload. An error anywhere in the engine's progress stream fails the push.
    /// `on_progress` gets one line per state change ("Pushed", "t: digest: sha256:… size: …").
    pub async fn push_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredential>,
        mut on_progress: impl FnMut(String),
    ) -> Result<()> {
        let full = with_default_tag(reference);
        if full.contains('@') {
            return Err(DockerError::InvalidRequest {
                what: "push reference",
                reason: format!("`{reference}` is a digest reference; push a tag"),
            });
        }
        let (repo, tag) = split_tag(&full);
        let opts = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self.streaming.push_image(repo, Some(opts), credentials.map(RegistryCredential::to_docker));
        while let Some(item) = stream.next().await {
            let info =
                item.map_err(|e| DockerError::PushFailed { reference: full.clone(), message: describe(&e).1 })?;
            // Byte counters are noise in a log; keep state changes.
            if info.progress_detail.as_ref().is_some_and(|d| d.total.is_some()) {
                continue;
            }
            if let Some(status) = info.status.filter(|s| !s.is_empty()) {
                on_progress(status);
            }
        }
        Ok(())
    }
}
