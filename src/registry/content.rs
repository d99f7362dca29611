//! Moving content in and out of a repository: blobs, manifests, tags and deletions, the
//! distribution API calls that artifacts, signatures and purge are made of.
//!
//! Every digest that comes back is checked against the bytes, because a signature or a purge
//! decision over content the registry misreported would be worse than an error.

use bytes::Bytes;
use reqwest::header::LOCATION;
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest as _, Sha256};

use super::client::{RegistryClient, Request, body_media_type, content_type, read_limited};
use super::credentials::Login;
use super::error::RegistryError;
use super::target::Target;

/// Manifests are capped at 4 MiB by the distribution spec.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Blobs drydock reads into memory (artifact files, configs, signature payloads).
const MAX_BLOB_BYTES: usize = 512 * 1024 * 1024;
/// Tag listings are paged; this caps one page.
const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;

/// A repository on a registry, and the login to use there.
#[derive(Debug, Clone, Copy)]
pub struct RepoAccess<'a> {
    /// Registry host as written (`127.0.0.1:5000`, `docker.io`).
    pub registry: &'a str,
    /// Repository path (`team/app`).
    pub repository: &'a str,
    /// Credentials for the registry, if any.
    pub login: Option<&'a Login>,
}

/// A manifest as the registry stored it: the exact bytes (which the digest is over).
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// The raw JSON.
    pub bytes: Bytes,
    /// The media type the registry reported (or the manifest's own `mediaType`).
    pub media_type: String,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
}

/// `sha256:<hex>` of `bytes`, the content address of blobs and manifests.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl RegistryClient {
    /// Uploads a blob unless the repository has it already; returns its digest.
    pub async fn push_blob(&self, repo: RepoAccess<'_>, data: Bytes) -> Result<String, RegistryError> {
        let target = Target::repository(self.config(), repo.registry, repo.repository)?;
        let digest = sha256_digest(&data);
        let mut requests = 0;
        let blob_url = format!("{}/blobs/{digest}", target.base);
        let head = Request { method: Method::HEAD, url: &blob_url, actions: "pull,push", accept: None, body: None };
        if self.authorized(&target, &head, repo.login, &mut requests).await?.status().is_success() {
            return Ok(digest);
        }
        let start_url = format!("{}/blobs/uploads/", target.base);
        let start = Request { method: Method::POST, url: &start_url, actions: "pull,push", accept: None, body: None };
        let started = expect(&target, repo.login, self.authorized(&target, &start, repo.login, &mut requests).await?)?;
        let location = upload_location(&target, &started)?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{separator}digest={digest}");
        let put = Request {
            method: Method::PUT,
            url: &put_url,
            actions: "pull,push",
            accept: None,
            body: Some(("application/octet-stream", data)),
        };
        expect(&target, repo.login, self.authorized(&target, &put, repo.login, &mut requests).await?)?;
        Ok(digest)
    }

    /// Downloads a blob and checks that it hashes to `digest`.
    pub async fn pull_blob(&self, repo: RepoAccess<'_>, digest: &str) -> Result<Bytes, RegistryError> {
        let target = Target::repository(self.config(), repo.registry, repo.repository)?.with_reference(digest)?;
        let url = format!("{}/blobs/{digest}", target.base);
        let get = Request { method: Method::GET, url: &url, actions: "pull", accept: None, body: None };
        let response = expect(&target, repo.login, self.authorized(&target, &get, repo.login, &mut 0).await?)?;
        let body = read_limited(response, MAX_BLOB_BYTES).await?;
        let actual = sha256_digest(&body);
        if actual != digest {
            return Err(RegistryError::InvalidDigest(format!("blob {digest} hashes to {actual}")));
        }
        Ok(body.into())
    }

    /// Stores a manifest under `reference` (a tag, or its own digest); returns its digest.
    pub async fn push_manifest(
        &self,
        repo: RepoAccess<'_>,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String, RegistryError> {
        let target = Target::repository(self.config(), repo.registry, repo.repository)?.with_reference(reference)?;
        let digest = sha256_digest(&bytes);
        let put = Request {
            method: Method::PUT,
            url: &target.url,
            actions: "pull,push",
            accept: None,
            body: Some((media_type, bytes)),
        };
        expect(&target, repo.login, self.authorized(&target, &put, repo.login, &mut 0).await?)?;
        Ok(digest)
    }

    /// Fetches a manifest by tag or digest, with its exact bytes.
    pub async fn pull_manifest(&self, repo: RepoAccess<'_>, reference: &str) -> Result<StoredManifest, RegistryError> {
        let target = Target::repository(self.config(), repo.registry, repo.repository)?.with_reference(reference)?;
        let get = Request::manifest(Method::GET, &target.url);
        let response = expect(&target, repo.login, self.authorized(&target, &get, repo.login, &mut 0).await?)?;
        let header_type = content_type(response.headers());
        let bytes = read_limited(response, MAX_MANIFEST_BYTES).await?;
        let digest = sha256_digest(&bytes);
        target.check_digest(&digest)?;
        let media_type = header_type
            .filter(|t| t.contains("manifest") || t.contains("index"))
            .or_else(|| body_media_type(&bytes))
            .unwrap_or_default();
        Ok(StoredManifest { bytes: bytes.into(), media_type, digest })
    }

    /// Fetches an image manifest (not an index) by tag or digest, parsed.
    pub async fn pull_image_manifest(
        &self,
        repo: RepoAccess<'_>,
        reference: &str,
    ) -> Result<oci_spec::image::ImageManifest, RegistryError> {
        let stored = self.pull_manifest(repo, reference).await?;
        serde_json::from_slice(&stored.bytes).map_err(|e| {
            RegistryError::Protocol(format!(
                "{}:{reference} is not an image manifest ({e}); is it an index?",
                repo.repository
            ))
        })
    }

    /// The digest `reference` points to, or `None` when the repository has no such tag.
    pub async fn find_manifest(&self, repo: RepoAccess<'_>, reference: &str) -> Result<Option<String>, RegistryError> {
        match self.manifest_digest(repo.registry, repo.repository, reference, repo.login).await {
            Ok(answer) => Ok(Some(answer.digest)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a manifest by digest (which removes every tag pointing at it).
    pub async fn delete_manifest(&self, repo: RepoAccess<'_>, digest: &str) -> Result<(), RegistryError> {
        let target = Target::repository(self.config(), repo.registry, repo.repository)?.with_reference(digest)?;
        let delete = Request { method: Method::DELETE, url: &target.url, actions: "delete", accept: None, body: None };
        let response = self.authorized(&target, &delete, repo.login, &mut 0).await?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(RegistryError::Protocol(format!(
                "{} does not allow deleting manifests; enable deletion on the registry \
                 (docker-registry: `storage: delete: enabled: true`)",
                repo.registry
            )));
        }
        expect(&target, repo.login, response)?;
        Ok(())
    }

    /// Every tag of the repository, following the registry's `Link` pagination.
    pub async fn list_tags(&self, repo: RepoAccess<'_>) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let target = Target::repository(self.config(), repo.registry, repo.repository)?;
        let mut tags = Vec::new();
        let mut url = format!("{}/tags/list?n=1000", target.base);
        loop {
            let get = Request { method: Method::GET, url: &url, actions: "pull", accept: None, body: None };
            let response = self.authorized(&target, &get, repo.login, &mut 0).await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(tags);
            }
            let response = expect(&target, repo.login, response)?;
            let next = next_page(&target, &response);
            let body = read_limited(response, MAX_LISTING_BYTES).await?;
            let page: TagList = serde_json::from_slice(&body)
                .map_err(|e| RegistryError::Protocol(format!("tag list of {} is not JSON: {e}", repo.repository)))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
    }

    /// Every repository of the registry (`/v2/_catalog`), following pagination.
    pub async fn list_repositories(&self, registry: &str, login: Option<&Login>) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            repositories: Option<Vec<String>>,
        }
        // The catalog is not a repository, but the token scope `registry:catalog:*` is what
        // registries ask for; a placeholder repository gives the target its host and scheme.
        let target = Target::repository(self.config(), registry, "catalog")?;
        let root = target.base.trim_end_matches("/catalog").to_owned();
        let mut url = format!("{root}/_catalog?n=1000");
        let mut repositories = Vec::new();
        loop {
            let get = Request { method: Method::GET, url: &url, actions: "pull", accept: None, body: None };
            let response = expect(&target, login, self.authorized(&target, &get, login, &mut 0).await?)?;
            let next = next_page(&target, &response);
            let body = read_limited(response, MAX_LISTING_BYTES).await?;
            let page: Catalog = serde_json::from_slice(&body)
                .map_err(|e| RegistryError::Protocol(format!("catalog of {registry} is not JSON: {e}")))?;
            repositories.extend(page.repositories.unwrap_or_default());
            match next {
                Some(next) => url = next,
                None => return Ok(repositories),
            }
        }
    }
}

/// Turns an error status into the matching [`RegistryError`].
fn expect(target: &Target<'_>, login: Option<&Login>, response: Response) -> Result<Response, RegistryError> {
    match response.status() {
        status if status.is_success() => Ok(response),
        StatusCode::NOT_FOUND => Err(target.not_found()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(target.unauthorized(login)),
        status => Err(RegistryError::Protocol(format!(
            "{} {} answered HTTP {status}",
            response.url().path(),
            target.registry
        ))),
    }
}

/// The absolute upload URL of a started upload (registries may send a relative `Location`).
fn upload_location(target: &Target<'_>, response: &Response) -> Result<String, RegistryError> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Protocol("blob upload started without a Location".into()))?;
    absolute(target, location)
}

/// Resolves `location` against the registry's own URL.
fn absolute(target: &Target<'_>, location: &str) -> Result<String, RegistryError> {
    let base = reqwest::Url::parse(&target.base).map_err(|e| RegistryError::Protocol(e.to_string()))?;
    base.join(location).map(String::from).map_err(|e| RegistryError::Protocol(format!("bad URL {location:?}: {e}")))
}

/// The next page of a listing, from `Link: </v2/…?last=x&n=1000>; rel="next"`.
fn next_page(target: &Target<'_>, response: &Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    let inner = link.split(';').next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
    absolute(target, inner).ok()
}
