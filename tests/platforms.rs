//! `--platform` is honest: a build the engine made for another platform than asked for fails its
//! step and pushes nothing; several platforms in one build are refused with what to do instead.

use crate::helper::docker::{REGISTRY, unique};
use crate::helper::drydock;

fn context() -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM busybox\nLABEL nonce={}\n", unique("n"))).unwrap();
    ctx
}

/// Whether the registry has `repository:tag`.
async fn pushed(repository: &str, tag: &str) -> bool {
    let url = format!("http://{REGISTRY}/v2/{repository}/manifests/{tag}");
    let answer = drydock::tls::client()
        .head(url)
        .header("accept", "application/vnd.docker.distribution.manifest.v2+json")
        .send()
        .await
        .unwrap();
    answer.status().is_success()
}

#[tokio::test]
async fn a_build_for_a_platform_the_engine_did_not_make_fails_and_pushes_nothing() {
    let ctx = context();
    let repository = unique("platform/app");
    let image = format!("{REGISTRY}/{repository}:arm64");
    // busybox is here for linux/amd64 only: the classic builder would quietly build amd64.
    let out = drydock()
        .args(["build", "--local", "--platform", "linux/arm64", "-t", &image])
        .arg(ctx.path())
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("the engine built a linux/amd64 image, not the requested linux/arm64"), "{all}");
    assert!(!pushed(&repository, "arm64").await, "a wrong-platform image was pushed");

    // The engine's own platform, asked for, is checked and goes through.
    let image = format!("{REGISTRY}/{repository}:amd64");
    let out = drydock()
        .args(["build", "--local", "--platform", "linux/amd64", "-t", &image])
        .arg(ctx.path())
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Platform: linux/amd64 (checked in the image's config)"), "{all}");
    assert!(pushed(&repository, "amd64").await);
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &image]).output();
}

#[tokio::test]
async fn several_platforms_in_one_build_are_refused_with_what_to_do() {
    let ctx = context();
    let image = format!("{REGISTRY}/{}:multi", unique("platform/multi"));
    let out = drydock()
        .args(["build", "--local", "--platform", "linux/amd64,linux/arm64", "-t", &image])
        .arg(ctx.path())
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("several in one build (a multi-platform image) is not supported yet"), "{all}");
    assert!(all.contains("--platform linux/amd64"), "{all}");
}
