//! Image names as the base-image bookkeeping stores them, and the images a run used and pushed.
//!
//! Every image is stored as `registry/repository:tag` after Docker's normalisation
//! (`busybox` → `docker.io/library/busybox:latest`), so the watcher, the cascade and
//! notifications from a registry all meet on the same key.

use crate::api::ImageRole;
use crate::reference::ImageRef;
use crate::run::OutputImage;
use serde_json::Value;

/// An image a run used or pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedImage {
    /// Normalised `registry/repository:tag` (`registry/repository@digest` when pinned).
    pub image: String,
    /// How the run used it.
    pub role: ImageRole,
    /// The digest used or pushed, when known.
    pub digest: Option<String>,
}

/// The stored form of a reference: `registry/repository:tag`, or `registry/repository@digest` for
/// a reference pinned by digest alone. `None` when it does not parse.
pub fn canonical(text: &str) -> Option<String> {
    ImageRef::parse(text).ok().map(|r| stored(&r))
}

fn stored(r: &ImageRef) -> String {
    match (&r.tag, &r.digest) {
        (Some(tag), _) => format!("{}/{}:{tag}", r.registry, r.repository),
        (None, Some(digest)) => format!("{}/{}@{digest}", r.registry, r.repository),
        (None, None) => format!("{}/{}:{}", r.registry, r.repository, crate::reference::DEFAULT_TAG),
    }
}

/// `(registry, repository, tag)` of an image the watcher can track: one with a tag. A reference
/// pinned by digest never changes, so there is nothing to watch.
pub fn trackable(image: &str) -> Option<(String, String, String)> {
    if image.contains('@') {
        return None;
    }
    let r = ImageRef::parse(image).ok()?;
    if r.is_scratch() {
        return None;
    }
    Some((r.registry, r.repository, r.tag?))
}

/// The images of a finished run: runtime and build-time bases from its dependency JSON (ACR's
/// `runtime-dependency` / `buildtime-dependency`, with the digests the engine resolved), and
/// what it pushed. One entry per image and role; a digest known from any mention wins.
pub fn images_of_run(dependencies: &[Value], outputs: &[OutputImage]) -> Vec<UsedImage> {
    let mut out: Vec<UsedImage> = Vec::new();
    let mut add = |image: String, role: ImageRole, digest: Option<String>| match out
        .iter_mut()
        .find(|u| u.image == image && u.role == role)
    {
        Some(known) => {
            if known.digest.is_none() {
                known.digest = digest;
            }
        }
        None => out.push(UsedImage { image, role, digest }),
    };
    for entry in dependencies {
        if let Some((image, digest)) = entry.get("runtime-dependency").and_then(dependency) {
            add(image, ImageRole::Runtime, digest);
        }
        for b in entry.get("buildtime-dependency").and_then(Value::as_array).into_iter().flatten() {
            if let Some((image, digest)) = dependency(b) {
                add(image, ImageRole::Buildtime, digest);
            }
        }
    }
    for o in outputs {
        if let Some(image) = canonical(&format!("{}/{}:{}", o.registry, o.repository, o.tag)) {
            add(image, ImageRole::Output, o.digest.clone());
        }
    }
    out
}

/// One `{registry, repository, tag, digest}` object of the dependency JSON.
fn dependency(v: &Value) -> Option<(String, Option<String>)> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (registry, repository) = (field("registry")?, field("repository")?);
    let digest = field("digest").map(str::to_string);
    let text = match (field("tag"), &digest) {
        (Some(tag), _) => format!("{registry}/{repository}:{tag}"),
        (None, Some(d)) => format!("{registry}/{repository}@{d}"),
        (None, None) => format!("{registry}/{repository}"),
    };
    let r = ImageRef::parse(&text).ok()?;
    if r.is_scratch() {
        return None;
    }
    Some((stored(&r), digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn references_are_stored_normalised() {
        assert_eq!(canonical("busybox").as_deref(), Some("docker.io/library/busybox:latest"));
        assert_eq!(canonical("index.docker.io/org/app:1").as_deref(), Some("docker.io/org/app:1"));
        assert_eq!(canonical("127.0.0.1:5000/x/base").as_deref(), Some("127.0.0.1:5000/x/base:latest"));
        assert_eq!(canonical(&format!("alpine@{A}")).unwrap(), format!("docker.io/library/alpine@{A}"));
        // A tag and a digest: the tag is what is tracked.
        assert_eq!(canonical(&format!("alpine:3@{A}")).as_deref(), Some("docker.io/library/alpine:3"));
        assert_eq!(canonical("Not Valid"), None);
    }

    #[test]
    fn only_tags_are_trackable() {
        assert_eq!(trackable("127.0.0.1:5000/x/base:1"), Some(("127.0.0.1:5000".into(), "x/base".into(), "1".into())));
        assert_eq!(trackable(&format!("docker.io/library/alpine@{A}")), None);
        assert_eq!(trackable("docker.io/library/scratch:latest"), None);
    }

    #[test]
    fn a_runs_dependency_json_and_outputs_become_roles() {
        let deps = [
            json!({
                "image": {"registry": "127.0.0.1:5000", "repository": "app", "tag": "1", "digest": B},
                "runtime-dependency": {"registry": "docker.io", "repository": "library/busybox", "tag": "latest", "digest": A},
                "buildtime-dependency": [
                    {"registry": "docker.io", "repository": "library/golang", "tag": "1.22", "digest": null},
                    {"registry": "docker.io", "repository": "library/alpine", "tag": null, "digest": A},
                ],
            }),
            // A second image of the same build, with the same runtime base.
            json!({
                "runtime-dependency": {"registry": "docker.io", "repository": "library/busybox", "tag": "latest", "digest": A},
                "buildtime-dependency": [],
            }),
            // FROM scratch has no runtime dependency; nothing to record.
            json!({"buildtime-dependency": []}),
        ];
        let outputs = [OutputImage {
            registry: "127.0.0.1:5000".into(),
            repository: "app".into(),
            tag: "1".into(),
            digest: Some(B.into()),
            signature: None,
            platforms: Vec::new(),
        }];
        let used = images_of_run(&deps, &outputs);
        let view: Vec<(&str, ImageRole, Option<&str>)> =
            used.iter().map(|u| (u.image.as_str(), u.role, u.digest.as_deref())).collect();
        let pinned = format!("docker.io/library/alpine@{A}");
        assert_eq!(
            view,
            [
                ("docker.io/library/busybox:latest", ImageRole::Runtime, Some(A)),
                ("docker.io/library/golang:1.22", ImageRole::Buildtime, None),
                (pinned.as_str(), ImageRole::Buildtime, Some(A)),
                ("127.0.0.1:5000/app:1", ImageRole::Output, Some(B)),
            ]
        );
    }
}
