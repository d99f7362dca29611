//! `drydock purge` and `cmd: acr purge`: tags of known ages, dry run then real, `--keep`,
//! `--untagged`, index references; and the 1,000-tag benchmark.

use super::{client, drydock_ok, repo};
use crate::helper::docker::{REGISTRY, unique};
use drydock::registry::{ClientConfig, RegistryClient};
use futures_util::StreamExt as _;
use serde_json::Value;

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
/// registry_side::purge::purge_bench -- --ignored --nocapture`). 1,000 tags of known ages, a dry run,
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
