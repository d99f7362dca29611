//! Registry credentials: `--registry-login host=user:password` values and Docker's `config.json`.
//!
//! Login helpers (`credHelpers`, `credsStore`) are deliberately not executed: running an
//! arbitrary `docker-credential-*` binary from a daemon is a surprise nobody asked for. A host
//! that only a helper knows yields [`CredentialsError::HelperNotSupported`] so the user learns
//! why an authenticated pull failed instead of getting a bare 401.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::error::CredentialsError;

/// A username and password (or token) for one registry (the API's form of a task's login is `api::Credential`).
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name sent in basic auth and to token services.
    pub username: String,
    /// The password or access token; never printed.
    pub password: String,
}

impl Login {
    /// Builds a credential from its two parts.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: password.into() }
    }
}

impl fmt::Debug for Login {
    // Hand-written so that `{:?}` in a log line or a panic message cannot leak the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// Credentials for many registries, looked up by registry host.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_host: HashMap<String, Login>,
    /// Hosts handed to a credential helper, with the helper's name.
    helpers: HashMap<String, String>,
    /// The `credsStore` default helper, which covers every host without inline credentials.
    default_store: Option<String>,
}

/// The subset of Docker's `config.json` that matters here.
#[derive(Debug, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, DockerAuth>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl Credentials {
    /// An empty store: every registry is accessed anonymously.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the credential for `registry`.
    pub fn insert(&mut self, registry: &str, credential: Login) {
        self.by_host.insert(normalize_host(registry), credential);
    }

    /// Adds a `host=user:password` value (drydock's `--registry-login`); it overrides config.json.
    pub fn add_login(&mut self, login: &str) -> Result<(), CredentialsError> {
        let (host, credential) = parse_login(login)?;
        self.insert(&host, credential);
        Ok(())
    }

    /// Reads a Docker `config.json`. Entries backed by credential helpers are remembered only to
    /// explain, at lookup time, why drydock has no credential for them.
    pub fn from_docker_config(path: &Path) -> Result<Self, CredentialsError> {
        let text = std::fs::read(path).map_err(|source| CredentialsError::Io { path: path.to_owned(), source })?;
        let config: DockerConfig =
            serde_json::from_slice(&text).map_err(|source| CredentialsError::Json { path: path.to_owned(), source })?;
        let store_name = config.creds_store.clone().filter(|h| !h.is_empty());
        let mut store = Self::new();
        for (key, entry) in config.auths {
            match (decode_auth(&key, entry)?, &store_name) {
                (Some(credential), _) => store.insert(&key, credential),
                // `docker login` with a credsStore leaves an empty entry: the secret is in the
                // store, so this host certainly has credentials we cannot read.
                (None, Some(helper)) => {
                    store.helpers.insert(normalize_host(&key), helper.clone());
                }
                (None, None) => {}
            }
        }
        for (key, helper) in config.cred_helpers {
            tracing::warn!(registry = %key, %helper, "Docker credential helpers are not executed");
            store.helpers.insert(normalize_host(&key), helper);
        }
        if let Some(helper) = store_name {
            tracing::warn!(%helper, "Docker credsStore is not executed");
            store.default_store = Some(helper);
        }
        Ok(store)
    }

    /// Reads the default Docker config; a missing file gives an empty store, like `docker` does.
    pub fn from_default_docker_config() -> Result<Self, CredentialsError> {
        match default_docker_config_path() {
            Some(path) if path.exists() => Self::from_docker_config(&path),
            _ => Ok(Self::new()),
        }
    }

    /// These credentials with `host=user:password` logins layered over them (a login wins over a
    /// config.json entry for the same host). Local runs and the daemon both read logins this way.
    pub fn with_logins(mut self, logins: &[String]) -> Result<Self, CredentialsError> {
        let mut added = Credentials::new();
        for login in logins {
            added.add_login(login)?;
        }
        self.merge(added);
        Ok(self)
    }

    /// Merges `other` into `self`; `other`'s entries win (use it to layer logins over config.json).
    pub fn merge(&mut self, other: Credentials) {
        self.by_host.extend(other.by_host);
        self.helpers.extend(other.helpers);
        if other.default_store.is_some() {
            self.default_store = other.default_store;
        }
    }

    /// The credential for `registry`, `None` for anonymous access, or an error when only a
    /// credential helper could answer.
    pub fn get(&self, registry: &str) -> Result<Option<&Login>, CredentialsError> {
        let host = normalize_host(registry);
        if let Some(credential) = self.by_host.get(&host) {
            return Ok(Some(credential));
        }
        if let Some(helper) = self.helpers.get(&host) {
            return Err(CredentialsError::HelperNotSupported { host, helper: helper.clone() });
        }
        // With a credsStore every login goes to the store, so a host without inline auth may
        // well have credentials there; saying so beats a confusing 401 later.
        if let Some(helper) = &self.default_store {
            tracing::debug!(registry = %host, %helper, "no inline credential; credsStore not executed");
        }
        Ok(None)
    }

    /// Every registry with an inline credential, as (host, credential), sorted by host.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Login)> {
        let mut v: Vec<(&str, &Login)> = self.by_host.iter().map(|(h, c)| (h.as_str(), c)).collect();
        v.sort_by_key(|(h, _)| *h);
        v.into_iter()
    }

    /// The name of the `credsStore` helper that was ignored, if the config had one.
    pub fn ignored_creds_store(&self) -> Option<&str> {
        self.default_store.as_deref()
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn default_docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".docker").join("config.json"))
}

/// Splits `host=user:password`; the password may itself contain `:` or `=`.
fn parse_login(login: &str) -> Result<(String, Login), CredentialsError> {
    let malformed = |host: &str| CredentialsError::MalformedLogin { host: host.to_owned() };
    let (host, user_pass) = login.split_once('=').ok_or_else(|| malformed(""))?;
    let (username, password) = user_pass.split_once(':').ok_or_else(|| malformed(host))?;
    if host.trim().is_empty() || username.is_empty() {
        return Err(malformed(host));
    }
    Ok((host.trim().to_owned(), Login::new(username, password)))
}

/// An `auths` entry: `auth` (base64 `user:password`) wins over `username`/`password`.
/// Entries with neither are what `docker login` leaves behind when a credsStore holds the secret.
fn decode_auth(key: &str, entry: DockerAuth) -> Result<Option<Login>, CredentialsError> {
    if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
        let malformed = || CredentialsError::MalformedAuth { host: key.to_owned() };
        let decoded = STANDARD.decode(auth.trim()).map_err(|_| malformed())?;
        let text = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (username, password) = text.split_once(':').ok_or_else(malformed)?;
        return Ok(Some(Login::new(username, password)));
    }
    match (entry.username, entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => Ok(Some(Login::new(username, password))),
        _ => Ok(None),
    }
}

/// Reduces a config key or registry name to a bare lower-case `host[:port]`, folding Docker
/// Hub's many spellings (`https://index.docker.io/v1/`, `registry-1.docker.io`, …) into one.
pub(crate) fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let without_scheme = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_owned(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn config(json: &str) -> Credentials {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(json.as_bytes()).unwrap();
        Credentials::from_docker_config(file.path()).unwrap()
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", Login::new("alice", "hunter2"));
        assert!(shown.contains("alice") && !shown.contains("hunter2"), "{shown}");
        let mut store = Credentials::new();
        store.insert("example.com", Login::new("alice", "hunter2"));
        assert!(!format!("{store:?}").contains("hunter2"));
    }

    #[test]
    fn login_strings() {
        let mut store = Credentials::new();
        store.add_login("registry.example.com:5000=bob:pa:ss=word").unwrap();
        let cred = store.get("registry.example.com:5000").unwrap().unwrap();
        assert_eq!((cred.username.as_str(), cred.password.as_str()), ("bob", "pa:ss=word"));
        for bad in ["nohost", "=u:p", "host=nopassword", "host=:p"] {
            assert!(matches!(Credentials::new().add_login(bad), Err(CredentialsError::MalformedLogin { .. })));
        }
        // The message names the host but never echoes what could be a secret.
        let err = Credentials::new().add_login("h=s3cretnocolon").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn docker_hub_keys_and_both_auth_forms() {
        let store = config(
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
                "ghcr.io":{"username":"octo","password":"tok"},
                "empty.example":{}
            }}"#,
        );
        for name in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            let cred = store.get(name).unwrap().unwrap();
            assert_eq!((cred.username.as_str(), cred.password.as_str()), ("user", "pa:ss"));
        }
        assert_eq!(store.get("GHCR.io").unwrap().unwrap().username, "octo");
        assert!(store.get("empty.example").unwrap().is_none());
        assert!(store.get("quay.io").unwrap().is_none());
    }

    #[test]
    fn helpers_are_reported_not_run() {
        let store = config(
            r#"{"auths":{"inline.example":{"auth":"YTpi"},"stored.example":{}},
                "credHelpers":{"123.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"},
                "credsStore":"desktop"}"#,
        );
        let err = store.get("123.dkr.ecr.us-east-1.amazonaws.com").unwrap_err().to_string();
        assert!(err.contains("docker-credential-ecr-login") && err.contains("--registry-login"));
        assert_eq!(store.ignored_creds_store(), Some("desktop"));
        assert!(matches!(
            store.get("stored.example"),
            Err(CredentialsError::HelperNotSupported { helper, .. }) if helper == "desktop"
        ));
        assert!(store.get("elsewhere.example").unwrap().is_none());
        assert_eq!(store.get("inline.example").unwrap().unwrap().username, "a");
    }

    #[test]
    fn explicit_logins_override_config() {
        let mut store = config(r#"{"auths":{"r.example":{"auth":"YTpi"}}}"#);
        let mut logins = Credentials::new();
        logins.add_login("r.example=c:d").unwrap();
        store.merge(logins);
        assert_eq!(store.get("r.example").unwrap().unwrap().username, "c");
    }

    #[test]
    fn malformed_auth_is_an_error_naming_the_host() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(br#"{"auths":{"r.example":{"auth":"not base64!"}}}"#).unwrap();
        let err = Credentials::from_docker_config(file.path()).unwrap_err();
        assert!(err.to_string().contains("r.example"));
    }
}
