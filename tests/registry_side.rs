//! The registry side against the real loopback registry (`delete: enabled`): OCI artifacts and
//! Helm charts pushed and pulled back byte for byte, cosign-style signatures checked by drydock
//! and by openssl, signed-base policy, and purge. The images these tests build run no container
//! (`LABEL`, not `RUN`), so they need no bridge network.

mod artifacts;
mod base_policy;
mod purge;
mod signing;

use crate::helper::docker::REGISTRY;
use crate::helper::drydock;
use drydock::registry::{ClientConfig, RegistryClient, RepoAccess};
use serde_json::Value;
use std::path::Path;

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig::default()).unwrap()
}

fn repo(repository: &str) -> RepoAccess<'_> {
    RepoAccess { registry: REGISTRY, repository, login: None }
}

/// The stored manifest of `repository:reference` as JSON.
async fn manifest(repository: &str, reference: &str) -> Value {
    let stored = client().pull_manifest(repo(repository), reference).await.unwrap();
    serde_json::from_slice(&stored.bytes).unwrap()
}

/// Runs drydock with `args`, asserting success; returns stdout.
fn drydock_ok(args: &[&str]) -> String {
    let out = drydock().args(args).output().unwrap();
    assert!(out.status.success(), "drydock {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `drydock key generate` into a new directory; returns it.
fn key_pair() -> tempfile::TempDir {
    let keys = tempfile::tempdir().unwrap();
    drydock_ok(&["key", "generate", "-o", keys.path().to_str().unwrap()]);
    keys
}

/// Signs `REGISTRY/repository@digest` with the private key in `keys`.
async fn sign(keys: &Path, repository: &str, digest: &str) {
    let pem = std::fs::read_to_string(keys.join("cosign.key")).unwrap();
    let key = drydock::registry::keys::SignatureKey::from_pem(&pem).unwrap();
    drydock::registry::signature::sign_image(&client(), repo(repository), digest, &key).await.unwrap();
}
