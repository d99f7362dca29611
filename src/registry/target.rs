//! Where a manifest request goes: validated names, Docker Hub's host and `library/` rewrite,
//! and http vs https.
//!
//! Validation is strict because the names are spliced into a URL path: a `?`, `#` or `..`
//! from a Dockerfile must not turn into a different request.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::client::ClientConfig;
use super::credentials::{Login, normalize_host};
use super::error::RegistryError;

/// The manifest a call is about, resolved once.
pub(crate) struct Target<'a> {
    /// As the caller named it, for error messages.
    pub(crate) registry: &'a str,
    /// The host actually contacted; the key for rate limits and auth state.
    pub(crate) host: String,
    /// The path on the registry (with Docker Hub's `library/` added).
    pub(crate) repository: String,
    /// Tag or digest, as given.
    pub(crate) reference: &'a str,
    /// `http(s)://host/v2/<repository>/manifests/<reference>`.
    pub(crate) url: String,
    /// `http(s)://host/v2/<repository>`, where blob, upload and tag URLs start.
    pub(crate) base: String,
}

impl<'a> Target<'a> {
    /// Validates the names and resolves host, repository path and URL.
    pub(crate) fn new(
        config: &ClientConfig,
        registry: &'a str,
        repository: &str,
        reference: &'a str,
    ) -> Result<Self, RegistryError> {
        let normalized = normalize_host(registry);
        if normalized.is_empty() || normalized.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(RegistryError::InvalidReference(format!("registry {registry:?}")));
        }
        if !valid_repository(repository) {
            return Err(RegistryError::InvalidReference(format!("repository {repository:?}")));
        }
        if !valid_tag(reference) && !valid_digest_reference(reference) {
            return Err(RegistryError::InvalidReference(format!("tag or digest {reference:?}")));
        }
        let docker_hub = normalized == "docker.io";
        // Docker Hub serves the API on another host, and official images live under library/.
        let host = if docker_hub { "registry-1.docker.io".to_owned() } else { normalized };
        let repository = if docker_hub && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_owned()
        };
        let scheme = if speaks_http(config, &host) { "http" } else { "https" };
        let base = format!("{scheme}://{host}/v2/{repository}");
        let url = format!("{base}/manifests/{reference}");
        Ok(Self { registry, host, repository, reference, url, base })
    }

    /// The repository itself (blobs, uploads, tags), with no manifest named yet.
    pub(crate) fn repository(
        config: &ClientConfig,
        registry: &'a str,
        repository: &str,
    ) -> Result<Self, RegistryError> {
        // Any valid tag does: only `base` is used, and `reference` only in "not found" messages.
        let mut target = Self::new(config, registry, repository, "latest")?;
        target.reference = "";
        Ok(target)
    }

    /// The same repository with `reference` (a tag or digest) as the manifest.
    pub(crate) fn with_reference(&self, reference: &'a str) -> Result<Self, RegistryError> {
        if !valid_tag(reference) && !valid_digest_reference(reference) {
            return Err(RegistryError::InvalidReference(format!("tag or digest {reference:?}")));
        }
        Ok(Self {
            registry: self.registry,
            host: self.host.clone(),
            repository: self.repository.clone(),
            reference,
            url: format!("{}/manifests/{reference}", self.base),
            base: self.base.clone(),
        })
    }

    /// The error for a 404.
    pub(crate) fn not_found(&self) -> RegistryError {
        RegistryError::NotFound {
            registry: self.registry.to_owned(),
            repository: self.repository.clone(),
            reference: self.reference.to_owned(),
        }
    }

    /// The error for a refusal, with a hint that depends on whether we had credentials.
    pub(crate) fn unauthorized(&self, creds: Option<&Login>) -> RegistryError {
        let registry = self.registry;
        let hint = match creds {
            None => format!(
                "the registry requires authentication and no credentials are configured for it; \
                 pass --registry-login {registry}=USER:PASSWORD or run `docker login {registry}`"
            ),
            Some(_) => format!(
                "the credentials were rejected or lack pull access to {} \
                 (some registries also answer this way for repositories that do not exist)",
                self.repository
            ),
        };
        RegistryError::Unauthorized { registry: registry.to_owned(), hint }
    }

    /// Asking by digest must give that digest back; anything else is a broken or lying registry.
    pub(crate) fn check_digest(&self, digest: &str) -> Result<(), RegistryError> {
        let same_algorithm =
            self.reference.split_once(':').is_some_and(|(algorithm, _)| digest.starts_with(&format!("{algorithm}:")));
        if same_algorithm && !self.reference.eq_ignore_ascii_case(digest) {
            return Err(RegistryError::InvalidDigest(format!(
                "asked for {} but the content hashes to {digest}",
                self.reference
            )));
        }
        Ok(())
    }
}

/// Loopback registries are plain http (as dockerd treats 127.0.0.0/8), plus configured ones.
fn speaks_http(config: &ClientConfig, host: &str) -> bool {
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let loopback = bare == "localhost"
        || bare.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || bare.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    loopback
        || config.insecure_registries.iter().any(|insecure| {
            let insecure = normalize_host(insecure);
            insecure == host || insecure == bare
        })
}

/// Docker's repository grammar, loosely: lower-case components that start and end alphanumeric.
fn valid_repository(repository: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !repository.is_empty()
        && repository.split('/').all(|part| {
            part.starts_with(alnum)
                && part.ends_with(alnum)
                && part.chars().all(|c| alnum(c) || matches!(c, '.' | '_' | '-'))
        })
}

fn valid_tag(reference: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    reference.len() <= 128
        && reference.starts_with(word)
        && reference.chars().all(|c| word(c) || matches!(c, '.' | '-'))
}

fn valid_digest_reference(reference: &str) -> bool {
    reference.split_once(':').is_some_and(|(algorithm, encoded)| {
        !algorithm.is_empty()
            && algorithm.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            && encoded.len() >= 32
            && encoded.chars().all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(config: &ClientConfig, registry: &str, repository: &str, reference: &str) -> String {
        Target::new(config, registry, repository, reference).map(|t| t.url).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn urls_schemes_and_docker_hub() {
        let config = ClientConfig {
            insecure_registries: vec!["http://reg.lan:5000".into(), "plain.lan".into()],
            ..ClientConfig::default()
        };
        let cases = [
            ("docker.io", "busybox", "latest", "https://registry-1.docker.io/v2/library/busybox/manifests/latest"),
            ("index.docker.io", "org/app", "1.0", "https://registry-1.docker.io/v2/org/app/manifests/1.0"),
            ("127.0.0.1:5000", "a/b", "x", "http://127.0.0.1:5000/v2/a/b/manifests/x"),
            ("127.9.9.9", "a", "x", "http://127.9.9.9/v2/a/manifests/x"),
            ("localhost:1234", "a", "x", "http://localhost:1234/v2/a/manifests/x"),
            ("[::1]:5000", "a", "x", "http://[::1]:5000/v2/a/manifests/x"),
            ("reg.lan:5000", "a", "x", "http://reg.lan:5000/v2/a/manifests/x"),
            ("plain.lan:8080", "a", "x", "http://plain.lan:8080/v2/a/manifests/x"),
            ("reg.lan:5001", "a", "x", "https://reg.lan:5001/v2/a/manifests/x"),
            (
                "ghcr.io",
                "o/r",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "https://ghcr.io/v2/o/r/manifests/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
        ];
        for (registry, repository, reference, expected) in cases {
            assert_eq!(url(&config, registry, repository, reference), expected);
        }
    }

    #[test]
    fn references_that_would_escape_the_url_are_rejected() {
        let config = ClientConfig::default();
        for (repository, reference) in [
            ("a/../b", "x"),
            ("A", "x"),
            ("a", "x?y"),
            ("a", "x/y"),
            ("a", ".x"),
            ("", "x"),
            ("a//b", "x"),
            ("a", "sha256:short"),
        ] {
            let err = Target::new(&config, "r.example", repository, reference).err();
            assert!(matches!(err, Some(RegistryError::InvalidReference(_))), "{repository} {reference}");
        }
    }
}
