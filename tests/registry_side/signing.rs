//! Signing on push (local runs and saved tasks), checked by `drydock verify` and by openssl;
//! tampered payloads; signatures by several keys.

use super::key_pair;
use super::{client, manifest, repo};
use crate::helper::docker::{REGISTRY, unique};
use crate::helper::drydock;
use serde_json::Value;
use std::path::Path;

/// `drydock build --local` of a fresh image pushed as `REGISTRY/repository:tag`, signed with
/// `key`; returns the run record.
fn signed_build(repository: &str, tag: &str, key: &Path) -> Value {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM busybox\nLABEL nonce={}\n", unique("n"))).unwrap();
    let image = format!("{REGISTRY}/{repository}:{tag}");
    let out = drydock()
        .args(["build", "--local", "-o", "json", "-t", &image, "--sign-key"])
        .arg(key)
        .arg(ctx.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &image]).output();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `drydock verify IMAGE --key PUB -o json`: (exit code, report).
fn verify(image: &str, public_key: &Path) -> (i32, Value) {
    let out = drydock().args(["verify", image, "-o", "json", "--key"]).arg(public_key).output().unwrap();
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// `openssl dgst -sha256 -verify PUB -signature SIG PAYLOAD`: whether openssl accepts it.
fn openssl_verifies(public_key: &Path, payload: &[u8], der_signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payload"), payload).unwrap();
    std::fs::write(dir.path().join("sig.der"), der_signature).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key)
        .arg("-signature")
        .arg(dir.path().join("sig.der"))
        .arg(dir.path().join("payload"))
        .output()
        .expect("openssl");
    out.status.success()
}

#[tokio::test]
async fn a_signed_push_verifies_with_drydock_and_with_openssl() {
    use base64::Engine as _;
    let keys = key_pair();
    let repository = unique("signed/app");
    let record = signed_build(&repository, "v1", &keys.path().join("cosign.key"));
    let digest = record["output_images"][0]["digest"].as_str().unwrap().to_owned();
    let signature = &record["signatures"][0];
    let sig_tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    assert_eq!(signature["digest"], digest.as_str());
    assert_eq!(signature["signature_tag"], sig_tag.as_str());

    // What is in the registry is what cosign writes.
    let stored = manifest(&repository, &sig_tag).await;
    assert_eq!(stored["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    let sig_digest = client().manifest_digest(REGISTRY, &repository, &sig_tag, None).await.unwrap().digest;
    assert_eq!(signature["signature_digest"], sig_digest.as_str());
    let layer = &stored["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    let payload = client().pull_blob(repo(&repository), layer["digest"].as_str().unwrap()).await.unwrap();
    let expected = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{REGISTRY}/{repository}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    assert_eq!(String::from_utf8_lossy(&payload), expected);

    // Independently of drydock's code: openssl over the payload blob.
    let der = base64::engine::general_purpose::STANDARD
        .decode(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap())
        .unwrap();
    let public_key = keys.path().join("cosign.pub");
    assert!(openssl_verifies(&public_key, &payload, &der));
    let mut tampered = payload.to_vec();
    let at = tampered.len() - 20;
    tampered[at] ^= 0x01;
    assert!(!openssl_verifies(&public_key, &tampered, &der));

    let (code, report) = verify(&format!("{REGISTRY}/{repository}:v1"), &public_key);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verified"], true);
    assert_eq!(report["digest"], digest.as_str());

    // Another key does not verify it.
    let stranger = key_pair();
    let (code, report) = verify(&format!("{REGISTRY}/{repository}@{digest}"), &stranger.path().join("cosign.pub"));
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verified"], false);
}

#[tokio::test]
async fn a_tampered_payload_fails_and_signatures_accumulate() {
    let first = key_pair();
    let repository = unique("signed/tamper");
    let record = signed_build(&repository, "v1", &first.path().join("cosign.key"));
    let digest = record["output_images"][0]["digest"].as_str().unwrap().to_owned();
    let sig_tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));

    // A second key signs the same image: both signatures stay, each verifies with its own key.
    let second = key_pair();
    let key = drydock::registry::keys::SignatureKey::from_pem(
        &std::fs::read_to_string(second.path().join("cosign.key")).unwrap(),
    )
    .unwrap();
    let written = drydock::registry::signature::sign_image(&client(), repo(&repository), &digest, &key).await.unwrap();
    assert_eq!(written.signatures, 2);
    let image = format!("{REGISTRY}/{repository}:v1");
    assert_eq!(verify(&image, &first.path().join("cosign.pub")).0, 0);
    assert_eq!(verify(&image, &second.path().join("cosign.pub")).0, 0);

    // Replace every payload with a tampered one, keeping the signatures: nothing verifies.
    let mut stored = manifest(&repository, &sig_tag).await;
    for layer in stored["layers"].as_array_mut().unwrap() {
        let payload = client().pull_blob(repo(&repository), layer["digest"].as_str().unwrap()).await.unwrap();
        let tampered = String::from_utf8_lossy(&payload)
            .replace("cosign container image signature", "cosign container image signaturE");
        let tampered_digest = client().push_blob(repo(&repository), tampered.clone().into()).await.unwrap();
        layer["digest"] = tampered_digest.into();
        layer["size"] = tampered.len().into();
    }
    let bytes = serde_json::to_vec(&stored).unwrap();
    client()
        .push_manifest(repo(&repository), &sig_tag, "application/vnd.oci.image.manifest.v1+json", bytes.into())
        .await
        .unwrap();
    let (code, report) = verify(&image, &first.path().join("cosign.pub"));
    assert_eq!(code, 1, "{report}");
    assert!(report["signatures"][0]["reason"].as_str().unwrap().contains("no given key verifies"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_task_signs_what_it_pushes_and_keeps_its_key_sealed() {
    use crate::helper::daemon::TestDaemon;
    let d = TestDaemon::start(1).await;
    let keys = key_pair();
    let pem = std::fs::read_to_string(keys.path().join("cosign.key")).unwrap();
    let repository = unique("signed/task");
    let image = format!("{REGISTRY}/{repository}:v1");
    let dockerfile = format!("FROM busybox\nLABEL nonce={}\n", unique("n"));
    let context = format!("upload:{}", d.upload(&[("Dockerfile", &dockerfile)]).await);
    let task = serde_json::json!({
        "name": "signer",
        "context": context,
        "step": {"kind": "docker", "images": [image], "no_cache": true},
        "sign_key": pem,
    });
    let (status, body) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{body}");
    let (_, shown) = d.get("/v1/tasks/signer").await;
    assert_eq!(shown["sign_key"], "***", "{shown}");

    let (status, run) = d.post("/v1/tasks/signer/runs", serde_json::json!({})).await;
    assert_eq!(status, 201, "{run}");
    let run = d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    let (code, report) = verify(&image, &keys.path().join("cosign.pub"));
    assert_eq!(code, 0, "{report}");
    // The daemon's run record names the signature of the image it pushed.
    let pushed = &run["output_images"][0];
    let signature = pushed["signature"].as_str().unwrap_or_default();
    assert!(signature.starts_with("sha256:") && signature != pushed["digest"], "{run}");
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &image]).output();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_quick_build_signs_what_it_pushes_and_a_bad_key_is_refused_at_once() {
    use crate::helper::daemon::TestDaemon;
    let d = TestDaemon::start(1).await;
    let keys = key_pair();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM busybox\nLABEL nonce={}\n", unique("n"))).unwrap();
    let image = format!("{REGISTRY}/{}:v1", unique("signed/remote"));
    let out = d
        .cli(&[
            "build",
            "-o",
            "json",
            "-t",
            &image,
            "--sign-key",
            keys.path().join("cosign.key").to_str().unwrap(),
            ctx.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let signature = run["output_images"][0]["signature"].as_str().unwrap_or_default();
    assert!(signature.starts_with("sha256:"), "{run}");
    let (code, report) = verify(&image, &keys.path().join("cosign.pub"));
    assert_eq!(code, 0, "{report}");
    // The key is sealed in the stored request and never shown.
    let (_, shown) = d.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    assert!(!shown.to_string().contains("PRIVATE KEY"), "{shown}");
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &image]).output();

    let (status, refused) = d
        .post("/v1/runs", serde_json::json!({"step": {"kind": "cmd", "cmd": "busybox true"}, "sign_key": "not a key"}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().starts_with("sign_key:"), "{refused}");
}
