//! The registry side against the real loopback registry (`delete: enabled`): OCI artifacts and
//! Helm charts pushed and pulled back byte for byte, cosign-style signatures checked by drydock
//! and by openssl, and purge.

use crate::helper::docker::{REGISTRY, unique};
use crate::helper::{context_tar, drydock};
use drydock::registry::{ClientConfig, RegistryClient, RepoAccess};
use futures_util::StreamExt as _;
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

fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    use std::io::Write as _;
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\ndescription: a test chart\n");
    let tar = context_tar(&[
        (&format!("{name}/Chart.yaml"), &chart_yaml),
        (&format!("{name}/templates/cm.yaml"), "kind: ConfigMap\n"),
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn same_bytes(a: &Path, b: &Path) {
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{} vs {}", a.display(), b.display());
}

#[tokio::test]
async fn artifact_push_and_pull_round_trip_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    std::fs::write(dir.path().join("data.bin"), &binary).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello artifact\n").unwrap();
    let repository = unique("artifact");
    let reference = format!("{REGISTRY}/{repository}:v1");
    let data = dir.path().join("data.bin");
    let notes = format!("{}:text/plain", dir.path().join("notes.txt").display());
    let pushed: Value = serde_json::from_str(&drydock_ok(&[
        "artifact",
        "push",
        &reference,
        data.to_str().unwrap(),
        &notes,
        "--artifact-type",
        "application/vnd.example.bundle.v1",
        "--annotation",
        "org.example.team=builds",
        "-o",
        "json",
    ]))
    .unwrap();

    let stored = manifest(&repository, "v1").await;
    assert_eq!(stored["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(stored["artifactType"], "application/vnd.example.bundle.v1");
    assert_eq!(stored["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(stored["config"]["size"], 2);
    assert_eq!(stored["annotations"]["org.example.team"], "builds");
    assert_eq!(stored["layers"][1]["mediaType"], "text/plain");
    assert_eq!(stored["layers"][0]["annotations"]["org.opencontainers.image.title"], "data.bin");
    let digest = pushed["digest"].as_str().unwrap();

    let out = tempfile::tempdir().unwrap();
    let by_digest = format!("{REGISTRY}/{repository}@{digest}");
    drydock_ok(&["artifact", "pull", &by_digest, "-o", out.path().to_str().unwrap()]);
    same_bytes(&dir.path().join("data.bin"), &out.path().join("data.bin"));
    same_bytes(&dir.path().join("notes.txt"), &out.path().join("notes.txt"));
}

#[tokio::test]
async fn a_helm_chart_is_pushed_with_helms_media_types() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo-0.3.1.tgz");
    std::fs::write(&chart, chart_tgz("demo", "0.3.1")).unwrap();
    let repository = unique("charts/demo");
    let reference = format!("{REGISTRY}/{repository}:0.3.1");
    drydock_ok(&["artifact", "push", &reference, chart.to_str().unwrap()]);

    let stored = manifest(&repository, "0.3.1").await;
    assert_eq!(stored["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(stored["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    let config_digest = stored["config"]["digest"].as_str().unwrap();
    let config: Value =
        serde_json::from_slice(&client().pull_blob(repo(&repository), config_digest).await.unwrap()).unwrap();
    assert_eq!((config["name"].as_str(), config["version"].as_str()), (Some("demo"), Some("0.3.1")));

    let out = tempfile::tempdir().unwrap();
    drydock_ok(&["artifact", "pull", &reference, "-o", out.path().to_str().unwrap()]);
    same_bytes(&chart, &out.path().join("demo-0.3.1.tgz"));
}

/// `drydock key generate` into a new directory; returns it.
fn key_pair() -> tempfile::TempDir {
    let keys = tempfile::tempdir().unwrap();
    drydock_ok(&["key", "generate", "-o", keys.path().to_str().unwrap()]);
    keys
}

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
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &image]).output();
}

/// Pushes a one-layer image whose config says it was created `days_old` days ago, under `tag`
/// (or untagged, by digest); returns its manifest digest and size.
async fn push_aged(repository: &str, tag: Option<&str>, days_old: i64) -> (String, usize) {
    let created = chrono::Utc::now() - chrono::Duration::days(days_old) - chrono::Duration::hours(1);
    let layer = unique("layer").into_bytes();
    let layer_digest = client().push_blob(repo(repository), layer.clone().into()).await.unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": created.to_rfc3339(),
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    })
    .to_string();
    let config_digest = client().push_blob(repo(repository), config.clone().into()).await.unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let digest = drydock::registry::sha256_digest(manifest.as_bytes());
    let reference = tag.unwrap_or(&digest);
    client()
        .push_manifest(
            repo(repository),
            reference,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.clone().into(),
        )
        .await
        .unwrap();
    (digest, manifest.len())
}

/// Pushes an index of `images` (digest, size) under `tag`; returns its digest.
async fn push_index(repository: &str, tag: &str, images: &[(String, usize)]) -> String {
    let manifests: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, (digest, size))| {
            let architecture = ["amd64", "arm64"][i % 2];
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                "platform": {"architecture": architecture, "os": "linux"},
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests,
    })
    .to_string();
    client()
        .push_manifest(repo(repository), tag, "application/vnd.oci.image.index.v1+json", index.into())
        .await
        .unwrap()
}

/// `drydock purge … -o json` on the test registry.
fn purge(args: &[&str]) -> Value {
    let mut all = vec!["purge", "--registry", REGISTRY, "-o", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&drydock_ok(&all)).unwrap()
}

fn deleted_tags(report: &Value) -> std::collections::BTreeSet<String> {
    report["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["tags"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

async fn exists(repository: &str, digest: &str) -> bool {
    client().find_manifest(repo(repository), digest).await.unwrap().is_some()
}

#[tokio::test]
async fn purge_deletes_old_tags_keeps_the_newest_and_what_an_index_references() {
    let repository = unique("purge/aged");
    let mut digests = std::collections::BTreeMap::new();
    for day in 1..=30 {
        let tag = format!("t{day:02}");
        digests.insert(tag.clone(), push_aged(&repository, Some(&tag), day).await);
    }
    // An index (not matched by the filter) references t29's image.
    push_index(&repository, "multi", &[digests["t29"].clone()]).await;
    let filter = format!("{repository}:t\\d+");
    let args = ["--filter", &filter, "--ago", "20d", "--keep", "25"];

    // Older than 20 days: t21..t30; past the newest 25: t26..t30; t29 is referenced by the index.
    let expected: std::collections::BTreeSet<String> = ["t26", "t27", "t28", "t30"].map(String::from).into();
    let dry = purge(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(dry["dry_run"], true);
    assert_eq!(deleted_tags(&dry), expected, "{dry}");
    assert_eq!(dry["kept"][0]["tags"], serde_json::json!(["t29"]), "{dry}");
    assert!(dry["kept"][0]["reason"].as_str().unwrap().starts_with("referenced by index"), "{dry}");
    assert_eq!(client().list_tags(repo(&repository)).await.unwrap().len(), 31);

    let real = purge(&args);
    assert_eq!(deleted_tags(&real), expected, "{real}");
    let left = client().list_tags(repo(&repository)).await.unwrap();
    assert_eq!(left.len(), 27, "{left:?}");
    for (tag, (digest, _)) in &digests {
        assert_eq!(exists(&repository, digest).await, !expected.contains(tag), "{tag}");
    }
}

#[tokio::test]
async fn purge_untagged_removes_the_images_of_deleted_indexes() {
    let repository = unique("purge/untagged");
    let children = [push_aged(&repository, None, 40).await, push_aged(&repository, None, 41).await];
    let index = push_index(&repository, "old", &children).await;
    let (fresh, _) = push_aged(&repository, Some("new"), 1).await;
    let filter = format!("{repository}:.*");

    let tagged_only = purge(&["--filter", &filter, "--ago", "30d", "--dry-run"]);
    assert_eq!(tagged_only["deleted"].as_array().unwrap().len(), 1, "{tagged_only}");
    assert_eq!(tagged_only["deleted"][0]["digest"], index.as_str());

    let real = purge(&["--filter", &filter, "--ago", "30d", "--untagged"]);
    let gone: Vec<&str> = real["deleted"].as_array().unwrap().iter().map(|d| d["digest"].as_str().unwrap()).collect();
    assert_eq!(gone.len(), 3, "{real}");
    for digest in [&index, &children[0].0, &children[1].0] {
        assert!(gone.contains(&digest.as_str()), "{digest} in {real}");
        assert!(!exists(&repository, digest).await, "{digest} still there");
    }
    assert!(exists(&repository, &fresh).await);
    assert_eq!(client().list_tags(repo(&repository)).await.unwrap(), vec!["new".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_purge_runs_built_in_from_a_timer_task() {
    use crate::helper::daemon::{TestDaemon, inline_task};
    use drydock::clock::ManualClock;
    use std::sync::Arc;
    let repository = unique("purge/timer");
    push_aged(&repository, Some("old1"), 20).await;
    push_aged(&repository, Some("old2"), 15).await;
    push_aged(&repository, Some("new"), 1).await;

    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:59:30Z").unwrap().with_timezone(&chrono::Utc);
    let clock = Arc::new(ManualClock::new(start));
    let d = {
        let clock = clock.clone();
        TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| c.clock = clock).await
    };
    // As ACR's scheduled purge tasks are written: no registry (the run's), no image pulled.
    let file = format!("steps:\n  - cmd: acr purge --filter '{repository}:.*' --ago 10d --untagged\n");
    let mut task = inline_task("nightly-purge", &file);
    task["timers"] = serde_json::json!([{"name": "nightly", "schedule": "0 10 * * *"}]);
    let (status, created) = d.post("/v1/tasks", task).await;
    assert_eq!(status, 201, "{created}");
    drydock::triggers::timer::pass(&d.daemon.as_ref().unwrap().service).await.unwrap();
    clock.set(start + chrono::Duration::seconds(40));
    drydock::triggers::timer::pass(&d.daemon.as_ref().unwrap().service).await.unwrap();

    let (_, page) = d.get("/v1/runs?task=nightly-purge").await;
    let runs = page["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{page}");
    assert_eq!(runs[0]["trigger"]["kind"], "timer");
    let id = runs[0]["id"].as_str().unwrap();
    let run = d.wait_run(id).await;
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!(client().list_tags(repo(&repository)).await.unwrap(), vec!["new".to_owned()]);
    let log = d.req(reqwest::Method::GET, &format!("/v1/runs/{id}/logs")).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("REPOSITORY"), "{log}");
    for tag in ["old1", "old2"] {
        assert!(log.lines().any(|l| l.contains(tag) && l.contains("deleted")), "{tag} in {log}");
    }
    assert!(log.contains("Deleted 2 manifests (2 tags)"), "{log}");
}

/// Not a test: the purge benchmark of the closing note (`cargo test --test tests
/// registry_side::purge_bench -- --ignored --nocapture`). 1,000 tags of known ages, a dry run,
/// then the real purge of the 500 older than 500 days, through the `drydock purge` binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run by hand"]
async fn purge_bench_1000_tags() {
    let fast = RegistryClient::new(ClientConfig { per_registry_rps: 0.0, ..ClientConfig::default() }).unwrap();
    let repository = unique("purge/bench");
    let layer_digest = fast.push_blob(repo(&repository), bytes::Bytes::from_static(b"bench layer")).await.unwrap();
    let setup = std::time::Instant::now();
    let pushes: Vec<_> = (0..1000)
        .map(|i| {
            let (fast, repository, layer_digest) = (fast.clone(), repository.clone(), layer_digest.clone());
            async move {
                let created = chrono::Utc::now() - chrono::Duration::days(i);
                let config = serde_json::json!({"architecture": "amd64", "os": "linux", "created": created.to_rfc3339(),
                    "rootfs": {"type": "layers", "diff_ids": [layer_digest]}})
                .to_string();
                let config_digest = fast.push_blob(repo(&repository), config.clone().into()).await.unwrap();
                let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": 11}]})
                .to_string();
                let tag = format!("b{i:04}");
                fast.push_manifest(repo(&repository), &tag, "application/vnd.oci.image.manifest.v1+json", manifest.into())
                    .await
                    .unwrap();
            }
        })
        .collect();
    futures_util::stream::iter(pushes).buffer_unordered(16).collect::<Vec<()>>().await;
    eprintln!("setup: 1000 tags pushed in {:?}", setup.elapsed());
    let filter = format!("{repository}:.*");
    for (label, dry) in [("dry run", true), ("real", false)] {
        for rps in ["0", "10"] {
            if !dry && rps == "10" {
                continue;
            }
            let mut args =
                vec!["--filter", &filter, "--ago", "500d", "--concurrency", "8", "--requests-per-second", rps];
            if dry {
                args.push("--dry-run");
            }
            let wall = std::time::Instant::now();
            let report = tokio::task::block_in_place(|| purge(&args));
            eprintln!(
                "purge {label} (rps limit {rps}): {} manifests, {} requests, {} ms inside, {:?} wall",
                report["deleted"].as_array().unwrap().len(),
                report["requests"],
                report["millis"],
                wall.elapsed()
            );
        }
    }
    assert_eq!(client().list_tags(repo(&repository)).await.unwrap().len(), 500);
}

/// Signs `REGISTRY/repository@digest` with the private key in `keys`.
async fn sign(keys: &Path, repository: &str, digest: &str) {
    let pem = std::fs::read_to_string(keys.join("cosign.key")).unwrap();
    let key = drydock::registry::keys::SignatureKey::from_pem(&pem).unwrap();
    drydock::registry::signature::sign_image(&client(), repo(repository), digest, &key).await.unwrap();
}

/// Builds a new image (busybox with a unique label: no container runs, so no network is needed)
/// and pushes it as `reference` with the docker CLI; returns the pushed digest.
async fn push_labelled_image(reference: &str) -> String {
    let dockerfile = format!("FROM busybox:latest\nLABEL nonce={}\n", unique("n"));
    let docker = |args: Vec<String>, stdin: Option<String>| {
        let mut cmd = std::process::Command::new("docker");
        cmd.args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("docker CLI");
        if let Some(text) = stdin {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let reference = reference.to_owned();
    tokio::task::spawn_blocking(move || {
        docker(vec!["build".into(), "-q".into(), "-t".into(), reference.clone(), "-".into()], Some(dockerfile));
        let out = docker(vec!["push".into(), reference], None);
        out.split_whitespace()
            .skip_while(|w| *w != "digest:")
            .nth(1)
            .expect("a digest in docker push's output")
            .to_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_build_from_an_unsigned_base_fails_before_it_starts() {
    let keys = key_pair();
    let base_repo = unique("policy/base");
    let base = format!("{REGISTRY}/{base_repo}:1");
    let digest = push_labelled_image(&base).await;
    let app = format!("{REGISTRY}/{}:1", unique("policy/app"));
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM {base}\nLABEL built=1\n")).unwrap();
    let build = || {
        drydock()
            .args(["build", "--local", "-t", &app, "--require-signed-base"])
            .arg(keys.path().join("cosign.pub"))
            .arg(ctx.path())
            .output()
            .unwrap()
    };
    let refused = build();
    let log = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("refusing to build: base image {base} ({digest}) is not signed")), "{log}");
    assert!(!log.contains("Building with"), "the build must not start: {log}");

    sign(keys.path(), &base_repo, &digest).await;
    let accepted = build();
    let log = String::from_utf8_lossy(&accepted.stderr);
    assert_eq!(accepted.status.code(), Some(0), "{log}");
    assert!(log.contains("is signed by a required key"), "{log}");
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &app, &base]).output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_image_trigger_is_refused_for_an_unsigned_digest_and_accepted_for_a_signed_one() {
    use crate::helper::daemon::TestDaemon;
    use crate::helper::wait::eventually;
    use crate::triggers_base_image::run_task;
    use drydock::clock::ManualClock;
    use std::sync::Arc;
    let keys = key_pair();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let d = {
        let clock = clock.clone();
        TestDaemon::start_configured(tempfile::tempdir().unwrap(), move |c| {
            c.clock = clock;
            c.triggers.watch_interval = std::time::Duration::from_secs(60);
        })
        .await
    };
    let root_repo = unique("policy/root");
    let root = format!("{REGISTRY}/{root_repo}:latest");
    let r1 = push_labelled_image(&root).await;
    sign(keys.path(), &root_repo, &r1).await;
    let task = unique("policy-task");
    let context =
        format!("upload:{}", d.upload(&[("Dockerfile", &format!("FROM {root}\nLABEL built-by={task}\n"))]).await);
    let public = std::fs::read_to_string(keys.path().join("cosign.pub")).unwrap();
    let (status, body) = d
        .post(
            "/v1/tasks",
            serde_json::json!({
                "name": task, "context": context,
                "step": {"kind": "docker", "images": [format!("{REGISTRY}/{task}-out:latest")], "no_cache": true},
                "triggers": {"base_image": {"quiet_period": 0}},
                "require_signed_base": [public],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    run_task(&d, &task).await;

    eventually("the watcher to schedule the base image", || async {
        let (_, images) = d.get("/v1/images").await;
        images.as_array()?.iter().find(|i| i["image"] == root.as_str() && !i["next_check"].is_null()).map(drop)
    })
    .await;
    // Each look moves the clock past the watch interval, so the watcher checks and fires.
    let triggered = |new: String| {
        let (d, task, clock) = (&d, &task, &clock);
        async move {
            clock.advance(std::time::Duration::from_secs(61));
            let (_, page) = d.get(&format!("/v1/runs?task={task}")).await;
            let run = page["runs"].as_array()?.iter().find(|r| r["trigger"]["new_digest"] == new.as_str())?.clone();
            let run = d.wait_run(run["id"].as_str().unwrap()).await;
            Some(run)
        }
    };
    // A new digest nobody signed: the triggered run is refused before it builds.
    let r2 = push_labelled_image(&root).await;
    let refused = eventually("the run for the unsigned digest", || triggered(r2.clone())).await;
    assert_eq!(refused["trigger"]["kind"], "base_image");
    assert_eq!(refused["status"], "Failed", "{refused}");
    let text = refused.to_string();
    assert!(text.contains("refusing to build") && text.contains(&r2), "{text}");

    // A new, signed digest: built.
    let r3 = push_labelled_image(&root).await;
    sign(keys.path(), &root_repo, &r3).await;
    let accepted = eventually("the run for the signed digest", || triggered(r3.clone())).await;
    assert_eq!(accepted["status"], "Succeeded", "{accepted}");
}
