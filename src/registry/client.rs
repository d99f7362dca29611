//! The registry client: manifest digests over the distribution API, with authentication,
//! retries and a per-registry rate limit.
//!
//! Hand-written on reqwest (rather than oci-client) because the base-image watcher needs to see
//! every status code, honour `Retry-After`, share one rate limit per registry and count requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use super::auth::{AuthCache, BearerToken, Challenge, TokenKey, parse_challenge, parse_token_response};
use super::backoff::{Backoff, parse_retry_after};
use super::credentials::Login;
use super::error::RegistryError;
use super::ratelimit::RateLimiter;
use super::target::Target;

/// Manifest media types we accept, most specific first; schema1 last because only ancient
/// registries still serve it and its digest is not the one `docker push` reports.
pub const MANIFEST_MEDIA_TYPES: [&str; 5] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The distribution spec caps manifests at 4 MiB; refusing more protects us from hostile servers.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Token responses are tiny; anything larger is not a token service.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Settings of a [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limit for one HTTP request, connection through body.
    pub timeout: Duration,
    /// `User-Agent` sent to registries and token services.
    pub user_agent: String,
    /// Registries (`host` or `host:port`) spoken to over plain http. Loopback hosts always are,
    /// as with dockerd's default insecure range.
    pub insecure_registries: Vec<String>,
    /// Attempts per HTTP request, counting the first (at least 1).
    pub max_attempts: u32,
    /// First backoff ceiling; it doubles per retry.
    pub base_backoff: Duration,
    /// Largest backoff; a `Retry-After` beyond it is returned to the caller instead of slept.
    pub max_backoff: Duration,
    /// Requests per second allowed per registry host (0 disables the limit).
    pub per_registry_rps: f64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            user_agent: concat!("drydock/", env!("CARGO_PKG_VERSION")).to_owned(),
            insecure_registries: Vec::new(),
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            per_registry_rps: 10.0,
        }
    }
}

/// A manifest digest and what it cost to learn it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAnswer {
    /// `sha256:<hex>` (or `sha512:<hex>` if the registry uses it).
    pub digest: String,
    /// The manifest's media type as the registry reported it.
    pub media_type: Option<String>,
    /// HTTP requests sent, including token requests and retries.
    pub requests_made: u32,
}

/// A client for OCI/Docker registries. Clones share the connection pool, the rate limiter and
/// the token cache.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    /// Built at the first request: loading the TLS roots costs about 20 ms, which a run that never
    /// talks to a registry (or only over plain HTTP, later) should not pay up front.
    http: Arc<std::sync::OnceLock<reqwest::Client>>,
    config: Arc<ClientConfig>,
    backoff: Backoff,
    limiter: RateLimiter,
    auth: AuthCache,
    /// Every request this client and its clones have sent, for reports and benchmarks.
    sent: Arc<AtomicU64>,
}

/// One HTTP request to a repository, rebuilt for every attempt (a body is cheap to clone).
pub(super) struct Request<'a> {
    /// The HTTP method.
    pub(super) method: Method,
    /// The full URL.
    pub(super) url: &'a str,
    /// The token scope's actions: `pull`, `pull,push` or `delete`.
    pub(super) actions: &'static str,
    /// The `Accept` header, if any.
    pub(super) accept: Option<&'a str>,
    /// The `Content-Type` and body, if any.
    pub(super) body: Option<(&'a str, Bytes)>,
}

impl<'a> Request<'a> {
    /// A manifest request that accepts every manifest type.
    pub(super) fn manifest(method: Method, url: &'a str) -> Self {
        Self { method, url, actions: "pull", accept: Some(ACCEPTED_MANIFESTS.as_str()), body: None }
    }

    fn build(&self, http: &reqwest::Client) -> RequestBuilder {
        let mut request = http.request(self.method.clone(), self.url);
        if let Some(accept) = self.accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some((content_type, body)) = &self.body {
            request = request.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        request
    }
}

/// [`MANIFEST_MEDIA_TYPES`] as one `Accept` value.
static ACCEPTED_MANIFESTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| MANIFEST_MEDIA_TYPES.join(", "));

/// Authentication to attach to a request.
enum AuthHeader<'a> {
    Basic(&'a Login),
    Bearer(BearerToken),
}

impl RegistryClient {
    /// Builds a client. The HTTP client inside is made at the first request (see `http`).
    pub fn new(config: ClientConfig) -> Result<Self, RegistryError> {
        Ok(Self {
            http: Arc::default(),
            backoff: Backoff::new(config.base_backoff, config.max_backoff),
            limiter: RateLimiter::new(config.per_registry_rps),
            auth: AuthCache::default(),
            sent: Arc::default(),
            config: Arc::new(config),
        })
    }

    /// The HTTP client, built at the first call and shared by every clone; fails only if the TLS
    /// backend cannot be initialised.
    fn http(&self) -> Result<&reqwest::Client, RegistryError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let built = crate::tls::client_builder()
            .timeout(self.config.timeout)
            .user_agent(self.config.user_agent.clone())
            .build()
            .map_err(RegistryError::Transport)?;
        // Two first requests at once may both build one; either is fine, one is kept.
        Ok(self.http.get_or_init(|| built))
    }

    /// HTTP requests this client and its clones have sent so far, retries and tokens included.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The settings this client was built with.
    pub(super) fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The digest of `registry/repository:reference` (a tag or a digest).
    ///
    /// Asks with `HEAD` and reads `Docker-Content-Digest`; when a registry answers `HEAD`
    /// without it (or refuses `HEAD`), falls back to `GET` and hashes the raw body bytes,
    /// because a re-serialised manifest would hash differently.
    pub async fn manifest_digest(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
        creds: Option<&Login>,
    ) -> Result<DigestAnswer, RegistryError> {
        let target = Target::new(&self.config, registry, repository, reference)?;
        let mut requests = 0;
        let head =
            self.authorized(&target, &Request::manifest(Method::HEAD, &target.url), creds, &mut requests).await?;
        match head.status() {
            StatusCode::NOT_FOUND => return Err(target.not_found()),
            StatusCode::FORBIDDEN => return Err(target.unauthorized(creds)),
            _ => {}
        }
        if head.status().is_success()
            && let Some(digest) = header_digest(head.headers())
        {
            target.check_digest(&digest)?;
            return Ok(DigestAnswer { digest, media_type: content_type(head.headers()), requests_made: requests });
        }
        tracing::debug!(registry, repository, status = %head.status(), "HEAD gave no digest; using GET");
        let get = self.authorized(&target, &Request::manifest(Method::GET, &target.url), creds, &mut requests).await?;
        match get.status() {
            StatusCode::NOT_FOUND => return Err(target.not_found()),
            StatusCode::FORBIDDEN => return Err(target.unauthorized(creds)),
            status if !status.is_success() => {
                return Err(RegistryError::Protocol(format!("GET {} answered HTTP {status}", target.url)));
            }
            _ => {}
        }
        let header_type = content_type(get.headers());
        let body = read_limited(get, MAX_MANIFEST_BYTES).await?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
        target.check_digest(&digest)?;
        Ok(DigestAnswer {
            digest,
            media_type: header_type.filter(|t| !is_generic_type(t)).or_else(|| body_media_type(&body)),
            requests_made: requests,
        })
    }

    /// Sends a request about `target`'s repository, answering at most one authentication
    /// challenge per call.
    pub(super) async fn authorized(
        &self,
        target: &Target<'_>,
        request: &Request<'_>,
        creds: Option<&Login>,
        requests: &mut u32,
    ) -> Result<Response, RegistryError> {
        let scope = format!("repository:{}:{}", target.repository, request.actions);
        let key = TokenKey::new(&target.host, scope, creds);
        let http = self.http()?;
        let mut auth = self.known_auth(&target.host, &key, creds);
        let mut challenged = false;
        loop {
            let response = self
                .send(&target.host, requests, || {
                    let built = request.build(http);
                    match &auth {
                        Some(AuthHeader::Basic(c)) => built.basic_auth(&c.username, Some(&c.password)),
                        Some(AuthHeader::Bearer(token)) => built.bearer_auth(&token.0),
                        None => built,
                    }
                })
                .await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            let sent_basic = matches!(auth, Some(AuthHeader::Basic(_)));
            if matches!(auth, Some(AuthHeader::Bearer(_))) {
                self.auth.forget_token(&key);
            }
            let challenge =
                response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(parse_challenge);
            let Some(challenge) = challenge.filter(|_| !challenged) else {
                return Err(target.unauthorized(creds));
            };
            // Basic credentials that were just rejected will not work the second time.
            if sent_basic && challenge == Challenge::Basic {
                return Err(target.unauthorized(creds));
            }
            challenged = true;
            self.auth.remember_challenge(&target.host, challenge.clone());
            auth = Some(self.answer_challenge(target, &challenge, &key, creds, requests).await?);
        }
    }

    /// Authentication we can send up front because this registry challenged us before.
    fn known_auth<'a>(&self, host: &str, key: &TokenKey, creds: Option<&'a Login>) -> Option<AuthHeader<'a>> {
        match self.auth.challenge(host)? {
            Challenge::Basic => creds.map(AuthHeader::Basic),
            Challenge::Bearer { .. } => self.auth.token(key).map(AuthHeader::Bearer),
        }
    }

    /// Turns a challenge into the header for the retry: basic credentials, or a fresh token.
    async fn answer_challenge<'a>(
        &self,
        target: &Target<'_>,
        challenge: &Challenge,
        key: &TokenKey,
        creds: Option<&'a Login>,
        requests: &mut u32,
    ) -> Result<AuthHeader<'a>, RegistryError> {
        match challenge {
            Challenge::Basic => creds.map(AuthHeader::Basic).ok_or_else(|| target.unauthorized(None)),
            Challenge::Bearer { realm, service, scope } => {
                // The registry's own scope wins; ours is the fallback and the cache key, so the
                // next call finds the token before sending anything.
                let scope = scope.as_deref().unwrap_or(&key.scope);
                let (token, ttl) = self.fetch_token(target, realm, service.as_deref(), scope, creds, requests).await?;
                self.auth.store_token(key.clone(), token.clone(), ttl);
                Ok(AuthHeader::Bearer(token))
            }
        }
    }

    /// The token dance: `GET realm?service=…&scope=…`, with basic credentials when we have them.
    async fn fetch_token(
        &self,
        target: &Target<'_>,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        creds: Option<&Login>,
        requests: &mut u32,
    ) -> Result<(BearerToken, Duration), RegistryError> {
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| RegistryError::Protocol(format!("token realm {realm:?} is not a URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", scope);
        }
        let http = self.http()?;
        let realm_host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (host, None) => host.unwrap_or_default().to_owned(),
            (None, Some(_)) => String::new(),
        };
        let response = self
            .send(&realm_host, requests, || {
                let request = http.get(url.clone());
                match creds {
                    Some(c) => request.basic_auth(&c.username, Some(&c.password)),
                    None => request,
                }
            })
            .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(target.unauthorized(creds));
        }
        if !status.is_success() {
            return Err(RegistryError::Protocol(format!("token service {realm_host} answered HTTP {status}")));
        }
        parse_token_response(&read_limited(response, MAX_TOKEN_BYTES).await?)
    }

    /// Sends one request with rate limiting and retries on 429, 5xx, timeouts and connection
    /// errors. `build` makes a fresh request per attempt; every attempt is counted.
    pub(super) async fn send(
        &self,
        host: &str,
        requests: &mut u32,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            self.limiter.acquire(host).await;
            *requests += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            let backoff = self.backoff.delay(attempt - 1);
            let (error, wait) = match build().send().await {
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after = retry_after(r.headers());
                    if retry_after.is_some_and(|d| d > self.config.max_backoff) {
                        // Sleeping for minutes inside one call would stall the watcher's whole
                        // poll; hand the delay back so it can reschedule this tag.
                        return Err(RegistryError::RateLimited { retry_after });
                    }
                    let wait = retry_after.unwrap_or(backoff);
                    if attempt < max_attempts {
                        // A 429 speaks for the whole registry: hold back every caller, and let
                        // the limiter do the waiting.
                        self.limiter.block_until(host, Instant::now() + wait);
                    }
                    (RegistryError::RateLimited { retry_after }, Duration::ZERO)
                }
                Ok(r) if r.status().is_server_error() => {
                    let wait = retry_after(r.headers()).map_or(backoff, |d| d.min(self.config.max_backoff));
                    let status = r.status().as_u16();
                    (RegistryError::Server { status }, wait)
                }
                Ok(r) => return Ok(r),
                Err(e) if e.is_builder() => return Err(RegistryError::Transport(e)),
                Err(e) => (RegistryError::from_reqwest(e), backoff),
            };
            if attempt >= max_attempts {
                return Err(error);
            }
            tracing::debug!(host, attempt, %error, ?wait, "retrying registry request");
            tokio::time::sleep(wait).await;
        }
    }
}

/// `Docker-Content-Digest`, if present and well-formed; a malformed one is ignored so the GET
/// fallback computes the truth instead.
fn header_digest(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("docker-content-digest")?.to_str().ok()?.trim();
    let well_formed = match value.split_once(':') {
        Some(("sha256", hex)) => is_lower_hex(hex, 64),
        Some(("sha512", hex)) => is_lower_hex(hex, 128),
        _ => false,
    };
    if !well_formed {
        tracing::warn!(value, "ignoring malformed Docker-Content-Digest");
    }
    well_formed.then(|| value.to_owned())
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(super) fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media_type = value.split(';').next().unwrap_or_default().trim();
    (!media_type.is_empty()).then(|| media_type.to_owned())
}

/// Content types some registries put on manifests instead of the real media type.
fn is_generic_type(media_type: &str) -> bool {
    matches!(media_type, "application/json" | "text/plain" | "application/octet-stream")
}

/// The manifest's own `mediaType` field, for registries that do not send a useful Content-Type.
pub(super) fn body_media_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Manifest>(body).ok()?.media_type
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, chrono::Utc::now())
}

/// Reads a body, refusing more than `limit` bytes.
pub(super) async fn read_limited(response: Response, limit: usize) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::Protocol(format!("response body larger than {limit} bytes"));
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(RegistryError::from_reqwest)?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_headers_must_be_well_formed() {
        let mut headers = HeaderMap::new();
        let good = format!("sha256:{}", "ab".repeat(32));
        headers.insert("Docker-Content-Digest", good.parse().unwrap());
        assert_eq!(header_digest(&headers), Some(good));
        headers.insert("Docker-Content-Digest", "sha256:XYZ".parse().unwrap());
        assert_eq!(header_digest(&headers), None);
    }
}
