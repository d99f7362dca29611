//! Images in the engine's store: inspect, pull, tag, remove.

use futures_util::StreamExt;

use bollard::models::CreateImageInfo;
use bollard::query_parameters::{CreateImageOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder};

use super::error::{DockerError, Result, describe, status_of};
use super::{DockerHost, RegistryCredential};

/// What drydock needs to know about a local image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image id (`sha256:…`, the config digest).
    pub id: String,
    /// `repo@sha256:…` for every registry the image was pushed to or pulled from.
    pub repo_digests: Vec<String>,
    /// `repo:tag` names pointing at this image.
    pub repo_tags: Vec<String>,
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// Architecture, e.g. `amd64`.
    pub arch: String,
    /// Architecture variant, e.g. `v7` (often empty).
    pub variant: String,
}

impl DockerHost {
    /// True if the reference (name:tag, name@digest or id) resolves to a local image.
    pub async fn image_exists(&self, reference: &str) -> Result<bool> {
        match self.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Id, digests, tags and platform of a local image.
    pub async fn inspect_image(&self, reference: &str) -> Result<ImageInfo> {
        let i = self.api.inspect_image(reference).await.map_err(|e| {
            if status_of(&e) == Some(404) {
                DockerError::NotFound { kind: "image", name: reference.to_string() }
            } else {
                DockerError::api(format!("inspecting image `{reference}`"), e)
            }
        })?;
        Ok(ImageInfo {
            id: i.id.unwrap_or_default(),
            repo_digests: i.repo_digests.unwrap_or_default(),
            repo_tags: i.repo_tags.unwrap_or_default(),
            os: i.os.unwrap_or_default(),
            arch: i.architecture.unwrap_or_default(),
            variant: i.variant.unwrap_or_default(),
        })
    }

    /// The `repo@sha256:…` digest of `reference` for its own repository, from the engine's
    /// record of past pushes and pulls. A fallback only: the registry (HEAD on the manifest) is
    /// the authority for what a tag points at now.
    pub async fn repo_digest_for(&self, reference: &str) -> Result<Option<String>> {
        let info = self.inspect_image(reference).await?;
        let repo = repository_of(reference);
        Ok(info.repo_digests.into_iter().find(|d| d.split_once('@').is_some_and(|(r, _)| r == repo)))
    }

    /// Pulls an image. A reference without tag or digest means `:latest` (the API would pull
    /// every tag otherwise). `progress` receives one readable line per engine message.
    pub async fn pull_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredential>,
        progress: impl FnMut(String),
    ) -> Result<()> {
        self.pull_image_for(reference, None, credentials, progress).await
    }

    /// Pulls an image for one platform (`os/arch[/variant]`) of a multi-platform image; the local
    /// name then points at that platform's image.
    pub async fn pull_image_for(
        &self,
        reference: &str,
        platform: Option<&str>,
        credentials: Option<&RegistryCredential>,
        mut progress: impl FnMut(String),
    ) -> Result<()> {
        let full = with_default_tag(reference);
        let mut opts = CreateImageOptionsBuilder::default().from_image(&full);
        if let Some(p) = platform {
            opts = opts.platform(p);
        }
        let opts = opts.build();
        let mut stream = self.streaming.create_image(Some(opts), None, credentials.map(RegistryCredential::to_docker));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(line) = progress_line(&info) {
                        progress(line);
                    }
                }
                Err(e) => {
                    return Err(DockerError::PullFailed { reference: full, message: describe(&e).1 });
                }
            }
        }
        Ok(())
    }

    /// Adds the name `target` (`repo[:tag]`, tag defaults to `latest`) to image `source`.
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let full = with_default_tag(target);
        let (repo, tag) = split_tag(&full);
        let opts = TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
        self.api.tag_image(source, Some(opts)).await.map_err(|e| {
            if status_of(&e) == Some(404) {
                DockerError::NotFound { kind: "image", name: source.to_string() }
            } else {
                DockerError::api(format!("tagging `{source}` as `{full}`"), e)
            }
        })
    }

    /// Removes an image name (and the image, when it was the last name). A missing image counts
    /// as removed. Without `force`, an image used by a container is kept and this fails.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<()> {
        let opts = RemoveImageOptionsBuilder::default().force(force).build();
        match self.api.remove_image(reference, Some(opts), None).await {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(DockerError::api(format!("removing image `{reference}`"), e)),
        }
    }
}

/// Formats one pull/push progress message like the docker CLI's non-TTY output.
pub(crate) fn progress_line(info: &CreateImageInfo) -> Option<String> {
    let status = info.status.as_deref().filter(|s| !s.is_empty())?;
    // Byte counters ("Downloading [==>  ]") are noise in a log; keep state changes only.
    if info.progress_detail.as_ref().is_some_and(|d| d.total.is_some()) {
        return None;
    }
    Some(match info.id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => format!("{id}: {status}"),
        None => status.to_string(),
    })
}

/// Splits `repo[:tag]` at the tag colon (not a registry port colon).
pub(crate) fn split_tag(reference: &str) -> (&str, &str) {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (&reference[..last_slash + i], &reference[last_slash + i + 1..]),
        None => (reference, ""),
    }
}

/// `name` → `name:latest`; references with a tag or digest are unchanged.
pub(crate) fn with_default_tag(reference: &str) -> String {
    if reference.contains('@') || !split_tag(reference).1.is_empty() {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// Repository part of a reference (no tag, no digest).
pub(crate) fn repository_of(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    split_tag(no_digest).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_ports() {
        assert_eq!(split_tag("127.0.0.1:5000/a/b:t"), ("127.0.0.1:5000/a/b", "t"));
        assert_eq!(split_tag("127.0.0.1:5000/a/b"), ("127.0.0.1:5000/a/b", ""));
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(with_default_tag("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(with_default_tag("x@sha256:00"), "x@sha256:00");
        assert_eq!(repository_of("r:5000/x:t"), "r:5000/x");
        assert_eq!(repository_of("r:5000/x@sha256:ab"), "r:5000/x");
    }
}
