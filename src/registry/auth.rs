//! Registry authentication state: `WWW-Authenticate` challenges and cached bearer tokens.
//!
//! The client remembers each registry's challenge so later requests can authenticate up front:
//! a watcher polling hundreds of tags then spends one request per tag, not three.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use super::credentials::Login;
use super::error::RegistryError;

/// Lifetime assumed when a token response has no `expires_in` (the distribution spec's default).
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(60);

/// Tokens are dropped this much before they expire, so a request in flight does not carry a
/// token that lapses on arrival.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// What a registry asked for in its `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// HTTP basic authentication against the registry itself.
    Basic,
    /// A token from `realm`, requested with `service` and `scope`.
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

/// Parses the first challenge of a `WWW-Authenticate` value; `None` for unknown schemes.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = parse_params(rest);
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// `key=value, key="quoted, value"` pairs; keys are lower-cased. Quoting matters because a
/// scope such as `repository:a:pull,push` contains the separator.
fn parse_params(input: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some((key, after_eq)) = rest.split_once('=') else {
            break;
        };
        let after_eq = after_eq.trim_start();
        let (value, remainder) = match after_eq.strip_prefix('"') {
            Some(quoted) => take_quoted(quoted),
            None => {
                let end = after_eq.find(',').unwrap_or(after_eq.len());
                (after_eq[..end].trim().to_owned(), &after_eq[end..])
            }
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = remainder;
    }
    params
}

/// Reads a quoted-string body (after the opening quote), honouring backslash escapes.
fn take_quoted(input: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
            '"' => return (value, &input[i + 1..]),
            _ => value.push(c),
        }
    }
    (value, "")
}

/// A bearer token; its `Debug` is redacted so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BearerToken(pub(crate) String);

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// A token service's answer. Docker's token spec calls the field `token`, OAuth2 calls it
/// `access_token`; servers send either or both.
#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Extracts the token and its lifetime from a token service's JSON body.
pub(crate) fn parse_token_response(body: &[u8]) -> Result<(BearerToken, Duration), RegistryError> {
    let response: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| RegistryError::Protocol(format!("token service sent invalid JSON: {e}")))?;
    let token = response
        .token
        .or(response.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::Protocol("token service sent no token".into()))?;
    let ttl = response.expires_in.filter(|s| *s > 0).map_or(DEFAULT_TOKEN_TTL, Duration::from_secs);
    Ok((BearerToken(token), ttl))
}

/// Identifies a cached token. The credential is part of the key so that a token obtained with
/// one credential is never handed to a call made with another (or anonymously).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) registry: String,
    pub(crate) scope: String,
    pub(crate) identity: Option<String>,
}

impl TokenKey {
    /// The key for `scope` on `registry` as `creds` (or anonymously).
    pub(crate) fn new(registry: &str, scope: String, creds: Option<&Login>) -> Self {
        // A hash, not the password itself, so the cache holds no second copy of the secret.
        let identity = creds.map(|c| {
            let fingerprint = Sha256::new()
                .chain_update(c.username.as_bytes())
                .chain_update([0])
                .chain_update(c.password.as_bytes())
                .finalize();
            hex::encode(&fingerprint[..16])
        });
        Self { registry: registry.to_owned(), scope, identity }
    }
}

/// Challenges and tokens, shared by every clone of a client.
#[derive(Clone, Default)]
pub(crate) struct AuthCache {
    inner: Arc<Mutex<AuthState>>,
}

impl fmt::Debug for AuthCache {
    // Only sizes: keys carry credential fingerprints, which have no business in logs either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("AuthCache")
            .field("registries", &state.challenges.len())
            .field("tokens", &state.tokens.len())
            .finish()
    }
}

#[derive(Default)]
struct AuthState {
    challenges: HashMap<String, Challenge>,
    tokens: HashMap<TokenKey, (BearerToken, Instant)>,
}

impl AuthCache {
    fn state(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers how `registry` wants to be authenticated.
    pub(crate) fn remember_challenge(&self, registry: &str, challenge: Challenge) {
        self.state().challenges.insert(registry.to_owned(), challenge);
    }

    /// The challenge `registry` sent last time, if any.
    pub(crate) fn challenge(&self, registry: &str) -> Option<Challenge> {
        self.state().challenges.get(registry).cloned()
    }

    /// A still-valid token for `key`.
    pub(crate) fn token(&self, key: &TokenKey) -> Option<BearerToken> {
        let mut state = self.state();
        match state.tokens.get(key) {
            Some((token, expires)) if Instant::now() < *expires => Some(token.clone()),
            Some(_) => {
                state.tokens.remove(key);
                None
            }
            None => None,
        }
    }

    /// Caches `token` for `ttl` (minus a safety margin), dropping expired tokens so a
    /// long-running watcher does not accumulate them.
    pub(crate) fn store_token(&self, key: TokenKey, token: BearerToken, ttl: Duration) {
        let now = Instant::now();
        let mut state = self.state();
        state.tokens.retain(|_, (_, expires)| *expires > now);
        let expires = now + ttl.saturating_sub(EXPIRY_MARGIN);
        state.tokens.insert(key, (token, expires));
    }

    /// Drops a token the registry has just rejected.
    pub(crate) fn forget_token(&self, key: &TokenKey) {
        self.state().tokens.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_quoted_commas() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#;
        assert_eq!(
            parse_challenge(header),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
    }

    #[test]
    fn other_challenge_shapes() {
        assert_eq!(parse_challenge(r#"Basic realm="basic-realm""#), Some(Challenge::Basic));
        assert_eq!(
            parse_challenge(r#"bearer REALM=http://t/x , Service = "a\"b""#),
            Some(Challenge::Bearer { realm: "http://t/x".into(), service: Some("a\"b".into()), scope: None })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn token_responses() {
        let (token, ttl) = parse_token_response(br#"{"access_token":"a","expires_in":300}"#).unwrap();
        assert_eq!((token.0.as_str(), ttl), ("a", Duration::from_secs(300)));
        let (token, ttl) = parse_token_response(br#"{"token":"t","access_token":"a"}"#).unwrap();
        assert_eq!((token.0.as_str(), ttl), ("t", DEFAULT_TOKEN_TTL));
        assert!(parse_token_response(br#"{"expires_in":5}"#).is_err());
        assert_eq!(format!("{token:?}"), "BearerToken(<redacted>)");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_early_by_the_margin() {
        let cache = AuthCache::default();
        let key = TokenKey::new("r", "repository:a:pull".into(), None);
        cache.store_token(key.clone(), BearerToken("t".into()), Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(54)).await;
        assert!(cache.token(&key).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.token(&key).is_none());
    }
}
