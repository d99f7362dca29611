//! Registry credentials handed to the engine for pulls, pushes and builds.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;

/// A username/password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredential {
    /// Registry host as it appears in image references, e.g. `myreg.azurecr.io` or
    /// `127.0.0.1:5000`. Docker Hub is `docker.io`.
    pub server: String,
    /// User name.
    pub username: String,
    /// Password or token. Never printed: `Debug` shows `***`.
    pub password: String,
}

impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredential")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl RegistryCredential {
    /// The form the engine expects in `X-Registry-Auth`.
    pub(crate) fn to_docker(&self) -> DockerCredentials {
        DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            serveraddress: Some(self.server.clone()),
            ..Default::default()
        }
    }
}

/// Builds the per-registry map used for `X-Registry-Config` (classic builds) and the BuildKit
/// session's auth provider. Docker Hub is also registered under the legacy index URL, because
/// that is the key the classic builder looks up for `FROM` images without a registry.
pub(crate) fn credential_map(creds: &[RegistryCredential]) -> HashMap<String, DockerCredentials> {
    let mut map = HashMap::new();
    for c in creds {
        map.insert(c.server.clone(), c.to_docker());
        if matches!(c.server.as_str(), "docker.io" | "index.docker.io") {
            map.insert("https://index.docker.io/v1/".to_string(), c.to_docker());
        }
    }
    map
}

/// Registry host of an image reference, following Docker's rule: the first path component is a
/// registry only if it contains `.` or `:` or is `localhost`.
pub(crate) fn registry_of(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

impl RegistryCredential {
    /// The credential (if any) for the registry an image reference points at; references
    /// without a registry host mean Docker Hub (`docker.io`).
    pub fn matching<'a>(reference: &str, creds: &'a [RegistryCredential]) -> Option<&'a Self> {
        let registry = registry_of(reference);
        creds.iter().find(|c| c.server == registry || (registry == "docker.io" && c.server == "index.docker.io"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_password() {
        let c = RegistryCredential { server: "r".into(), username: "u".into(), password: "hunter2".into() };
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && s.contains("***"), "{s}");
    }

    #[test]
    fn registry_host_rules() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox:1"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/a/b:t"), "127.0.0.1:5000");
        assert_eq!(registry_of("myreg.azurecr.io/app"), "myreg.azurecr.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
        let creds =
            [RegistryCredential { server: "127.0.0.1:5000".into(), username: "u".into(), password: "p".into() }];
        assert!(RegistryCredential::matching("127.0.0.1:5000/x:t", &creds).is_some());
        assert!(RegistryCredential::matching("busybox", &creds).is_none());
    }
}
