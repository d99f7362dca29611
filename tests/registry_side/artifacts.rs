//! `drydock artifact push | pull`: files and Helm charts, round trip byte for byte.

use super::{client, drydock_ok, manifest, repo};
use crate::helper::context_tar;
use crate::helper::docker::{REGISTRY, unique};
use serde_json::Value;
use std::path::Path;

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
