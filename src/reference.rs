//! Docker image references (`[registry/]repository[:tag][@digest]`), parsed and
//! normalised the way the Docker CLI does it (`busybox` → `docker.io/library/busybox:latest`).

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::ser::{Serialize, SerializeStruct, Serializer};

pub(crate) use grammar::looks_like_registry;
use grammar::{validate_digest, validate_path, validate_registry, validate_tag};

mod grammar;
#[cfg(test)]
mod tests;

/// `app:1` + `reg.io` → `reg.io/app:1`, as text (a template like `app:{{.Run.ID}}` survives):
/// a name whose first component is a registry by Docker's rule keeps it, and an empty `registry`
/// leaves every name alone. Local and daemon builds both tag through this.
pub fn prefix_registry(name: &str, registry: &str) -> String {
    let registry = registry.trim_end_matches('/');
    let has_registry = name.split_once('/').is_some_and(|(first, _)| looks_like_registry(first));
    if has_registry || registry.is_empty() { name.to_string() } else { format!("{registry}/{name}") }
}

/// Registry that Docker assumes when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// Tag that Docker assumes when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Docker's limit on the length of `registry/repository`.
const MAX_NAME_LEN: usize = 255;

/// A parsed, normalised image reference.
///
/// `parse` already applies Docker's defaults: a missing registry becomes `docker.io`,
/// a single-component Docker Hub name gets `library/`, and the tag becomes `latest`
/// when neither a tag nor a digest was written. Equality and hashing look at the four
/// normalised fields only, so `busybox` and `docker.io/library/busybox:latest` are equal.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// Registry host (with optional port), e.g. `docker.io` or `reg.local:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/busybox`.
    pub repository: String,
    /// Tag, if any (defaults to `latest` only when no digest was given).
    pub tag: Option<String>,
    /// Content digest (`algorithm:hex`), if any.
    pub digest: Option<String>,
    /// The text as written, kept for messages and ACR's `reference` JSON field.
    original: String,
}

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing was given.
    #[error("image reference is empty; expected something like `alpine:3.20` or `myregistry.azurecr.io/app:1.0`")]
    Empty,
    /// The repository has upper-case letters, which registries reject.
    #[error("image reference `{reference}`: repository `{repository}` must be lowercase (use `{suggestion}`)")]
    Uppercase {
        /// The reference as written.
        reference: String,
        /// The offending repository path.
        repository: String,
        /// The lower-cased repository.
        suggestion: String,
    },
    /// A path component has characters or separators Docker does not allow.
    #[error(
        "image reference `{reference}`: `{component}` is not a valid repository component \
         (lowercase letters and digits, separated by single `.`, `_`, `__` or runs of `-`)"
    )]
    InvalidComponent {
        /// The reference as written.
        reference: String,
        /// The offending component (empty when the path has `//` or ends with `/`).
        component: String,
    },
    /// The registry part is not `host[:port]`.
    #[error("image reference `{reference}`: registry `{registry}` is not a valid `host[:port]`")]
    InvalidRegistry {
        /// The reference as written.
        reference: String,
        /// The offending registry.
        registry: String,
    },
    /// The tag breaks Docker's tag grammar.
    #[error(
        "image reference `{reference}`: tag `{tag}` is invalid; a tag is 1-128 characters from \
         `A-Z a-z 0-9 _ . -` and must not start with `.` or `-`"
    )]
    InvalidTag {
        /// The reference as written.
        reference: String,
        /// The offending tag.
        tag: String,
    },
    /// The digest is not `algorithm:hex`.
    #[error(
        "image reference `{reference}`: digest `{digest}` is invalid; expected `algorithm:hex` with algorithm sha256, sha384 or sha512, \
         e.g. `sha256:` followed by 64 lowercase hex digits"
    )]
    InvalidDigest {
        /// The reference as written.
        reference: String,
        /// The offending digest.
        digest: String,
    },
    /// `registry/repository` is longer than Docker allows.
    #[error("image reference `{reference}`: the name is {len} characters long; Docker allows at most 255")]
    NameTooLong {
        /// The reference as written.
        reference: String,
        /// Length of the name part.
        len: usize,
    },
}

impl ImageRef {
    /// Parses and normalises a reference such as `busybox`, `reg:5000/a/b:1` or `x@sha256:…`.
    pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (text, None),
        };
        // A `:` after the last `/` starts the tag; earlier ones belong to a registry port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => (&name_and_tag[..last_slash + i], Some(&name_and_tag[last_slash + i + 1..])),
            None => (name_and_tag, None),
        };
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong { reference: text.to_string(), len: name.len() });
        }
        let (registry, path) = split_registry(name);
        validate_registry(text, registry)?;
        validate_path(text, path)?;
        if let Some(t) = tag {
            validate_tag(text, t)?;
        }
        if let Some(d) = digest {
            validate_digest(text, d)?;
        }
        let registry = if registry == "index.docker.io" { DOCKER_HUB } else { registry };
        let repository =
            if registry == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path.to_string() };
        // Docker checks the length of the normalised name (`docker.io/library/x`), so a short
        // form can be too long too; and the printed form must parse again.
        let full = registry.len() + 1 + repository.len();
        if full > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong { reference: text.to_string(), len: full });
        }
        let tag = match (tag, digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (t, _) => t.map(str::to_string),
        };
        Ok(ImageRef {
            registry: registry.to_string(),
            repository,
            tag,
            digest: digest.map(str::to_string),
            original: text.to_string(),
        })
    }

    /// Applies ACR's quick-build rule: a name without a registry gets `registry/` in front
    /// (`app:1` + `reg.local:5000` → `reg.local:5000/app:1`); names that already start with
    /// a registry (`docker.io/x/y`, `other.io/y`) are kept as they are.
    pub fn with_registry_prefix(name: &str, registry: &str) -> Result<ImageRef, ReferenceError> {
        let registry = registry.trim_end_matches('/');
        let has_registry = name.split_once('/').is_some_and(|(first, _)| looks_like_registry(first));
        if has_registry || registry.is_empty() {
            ImageRef::parse(name)
        } else {
            ImageRef::parse(&format!("{registry}/{name}"))
        }
    }

    /// The reference exactly as it was written (before normalisation).
    pub fn reference(&self) -> &str {
        &self.original
    }

    /// Short form as the Docker CLI prints it: `busybox:latest`, `user/app:1`, `reg.io/app:1`.
    pub fn familiar(&self) -> String {
        // A Docker Hub repository whose first component looks like a host (`docker.io/lr.io/x`)
        // keeps its registry: without it the name would parse as another registry's image.
        let hub_ambiguous = self.repository.split_once('/').is_some_and(|(first, _)| looks_like_registry(first));
        let mut out = if self.registry == DOCKER_HUB && !hub_ambiguous {
            match self.repository.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        self.push_tag_and_digest(&mut out);
        out
    }

    /// True for Docker's empty base image `scratch`, which has nothing to pull or track.
    pub fn is_scratch(&self) -> bool {
        self.registry == DOCKER_HUB
            && self.repository == "library/scratch"
            && self.digest.is_none()
            && self.tag.as_deref().is_none_or(|t| t == DEFAULT_TAG)
    }

    fn push_tag_and_digest(&self, out: &mut String) {
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d);
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = format!("{}/{}", self.registry, self.repository);
        self.push_tag_and_digest(&mut out);
        f.write_str(&out)
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &Self) -> bool {
        self.registry == other.registry
            && self.repository == other.repository
            && self.tag == other.tag
            && self.digest == other.digest
    }
}

impl Eq for ImageRef {}

impl Hash for ImageRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.registry.hash(state);
        self.repository.hash(state);
        self.tag.hash(state);
        self.digest.hash(state);
    }
}

/// ACR's dependency JSON shape: `{"registry","repository","tag","digest","reference"}`,
/// with `null` for a missing tag or a digest that is not known yet.
impl Serialize for ImageRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ImageRef", 5)?;
        s.serialize_field("registry", &self.registry)?;
        s.serialize_field("repository", &self.repository)?;
        s.serialize_field("tag", &self.tag)?;
        s.serialize_field("digest", &self.digest)?;
        s.serialize_field("reference", &self.original)?;
        s.end()
    }
}

/// Splits `name` into (registry, path), defaulting the registry to Docker Hub.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if looks_like_registry(first) => (first, rest),
        _ => (DOCKER_HUB, name),
    }
}
