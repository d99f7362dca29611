//! Against real `docker-registry` 2.8 processes, with images pushed by the real Docker CLI.

use super::support::{TestRegistry, build_unique_image, push};
use crate::registry::{ClientConfig, Credentials, Login, RegistryClient, RegistryError};

const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig::default()).unwrap()
}

#[tokio::test]
async fn head_digest_matches_docker_and_follows_a_repush() {
    let registry = TestRegistry::start("").await;
    let client = client();
    let target = format!("{}/drydock/app:stable", registry.addr);

    let first_image = build_unique_image().await;
    let pushed = push(&first_image.0, &target, None).await;
    let answer = client.manifest_digest(&registry.addr, "drydock/app", "stable", None).await.unwrap();
    assert_eq!(answer.digest, pushed);
    assert_eq!(answer.media_type.as_deref(), Some(DOCKER_V2));
    assert_eq!(answer.requests_made, 1, "one HEAD, no fallback");

    // Asking by digest gives the same digest back.
    let by_digest = client.manifest_digest(&registry.addr, "drydock/app", &pushed, None).await.unwrap();
    assert_eq!(by_digest.digest, pushed);

    // A different image under the same tag is what the base-image watcher must notice.
    let second_image = build_unique_image().await;
    let repushed = push(&second_image.0, &target, None).await;
    assert_ne!(repushed, pushed);
    let answer = client.manifest_digest(&registry.addr, "drydock/app", "stable", None).await.unwrap();
    assert_eq!(answer.digest, repushed);
}

#[tokio::test]
async fn unknown_tags_and_repositories_are_not_found() {
    let registry = TestRegistry::start("").await;
    let image = build_unique_image().await;
    push(&image.0, &format!("{}/drydock/known:v1", registry.addr), None).await;
    for (repository, reference) in [("drydock/known", "nope"), ("drydock/unknown", "v1")] {
        let err = client().manifest_digest(&registry.addr, repository, reference, None).await.unwrap_err();
        assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn htpasswd_registry_needs_the_right_credentials() {
    let auth_dir = tempfile::tempdir().unwrap();
    let htpasswd = auth_dir.path().join("htpasswd");
    std::fs::write(&htpasswd, htpasswd_line("drydock", "pa:ss w0rd").await).unwrap();
    let registry = TestRegistry::start(&format!(
        "auth:\n  htpasswd:\n    realm: drydock-test\n    path: {}\n",
        htpasswd.display()
    ))
    .await;

    // `docker login` into a private config dir: a real config.json to read credentials from.
    let docker_config = tempfile::tempdir().unwrap();
    let config_dir = Some(docker_config.path());
    login(&registry.addr, "drydock", "pa:ss w0rd", docker_config.path()).await;
    let image = build_unique_image().await;
    let pushed = push(&image.0, &format!("{}/private/app:v1", registry.addr), config_dir).await;

    let client = client();
    let err = client.manifest_digest(&registry.addr, "private/app", "v1", None).await.unwrap_err();
    match &err {
        RegistryError::Unauthorized { hint, .. } => {
            assert!(hint.contains("--registry-login"), "{hint}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.is_transient());

    let wrong = Login::new("drydock", "guess");
    let err = client.manifest_digest(&registry.addr, "private/app", "v1", Some(&wrong)).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");

    let credentials = Credentials::from_docker_config(&docker_config.path().join("config.json")).unwrap();
    let right = credentials.get(&registry.addr).unwrap().expect("docker login stored it");
    assert_eq!(right, &Login::new("drydock", "pa:ss w0rd"));
    // A fresh client has not met this registry yet: it learns the scheme from the challenge.
    let client = self::client();
    let answer = client.manifest_digest(&registry.addr, "private/app", "v1", Some(right)).await.unwrap();
    assert_eq!(answer.digest, pushed);
    assert_eq!(answer.requests_made, 2, "401 challenge, then basic");
    // The registry's scheme is remembered: the next call authenticates up front.
    let again = client.manifest_digest(&registry.addr, "private/app", "v1", Some(right)).await.unwrap();
    assert_eq!(again.requests_made, 1);
}

/// A bcrypt htpasswd line made by `htpasswd -Bbn`.
async fn htpasswd_line(user: &str, password: &str) -> String {
    let output = tokio::process::Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .await
        .expect("htpasswd must be installed (Debian package apache2-utils)");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// `docker login` with the password on stdin, into `docker_config` instead of ~/.docker.
async fn login(addr: &str, user: &str, password: &str, docker_config: &std::path::Path) {
    let mut child = tokio::process::Command::new("docker")
        .args(["login", "--username", user, "--password-stdin", addr])
        .env("DOCKER_CONFIG", docker_config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt as _;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(password.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "docker login: {}", String::from_utf8_lossy(&output.stderr));
}
