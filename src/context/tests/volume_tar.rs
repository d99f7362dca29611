//! Rewriting workspace tars made by GNU tar and by dockerd's archive API.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;

use super::support::{DockerCleanup, chunked, drain, drain_err, run, tar_extract, tar_names, tree, unique};
use crate::context::ContextError;
use crate::context::volume_tar::{RebaseOptions, read_file, rebase_and_filter};
use crate::dockerignore::DockerIgnore;

/// Chunk sizes that cut headers, PAX records and data at every kind of boundary.
const CUTS: &[usize] = &[1, 7, 511, 512, 513, 100, 4096, 3, 1024, 65536];

const IGNORE: &str = "*.log\nnode_modules\nDockerfile\n";

fn deep_path() -> String {
    format!("{}/{}/{}", "p".repeat(90), "q".repeat(90), "file-".repeat(30))
}

/// A context with everything a tar writer finds awkward.
fn make_context(ctx: &Path) {
    let w = |rel: &str, content: &str| {
        let p = ctx.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    w("Dockerfile", "FROM busybox\n");
    w(".dockerignore", IGNORE);
    w("app.log", "noise");
    w("node_modules/x/y.js", "dep");
    w("src/main.rs", "fn main() {}\n");
    w(&deep_path(), "deep");
    w("ünïcødé/ファイル.txt", "unicode");
    std::fs::create_dir_all(ctx.join("empty")).unwrap();
    std::os::unix::fs::symlink("src/main.rs", ctx.join("link")).unwrap();
    std::fs::hard_link(ctx.join("src/main.rs"), ctx.join("src/zz-hard")).unwrap();
}

/// What the rewritten context must contain: the source minus ignored paths, with the
/// Dockerfile replaced by the extra file.
fn expected(ctx: &Path) -> Vec<(String, String)> {
    tree(ctx)
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".log") && !p.starts_with("node_modules"))
        .map(|(p, what)| if p == "Dockerfile" { (p, "644 FROM busybox\n# extra\n".to_string()) } else { (p, what) })
        .collect()
}

fn options(prefix: &str) -> RebaseOptions {
    RebaseOptions {
        strip_prefix: prefix.into(),
        ignore: Some(DockerIgnore::parse(IGNORE).unwrap().with_build_files("Dockerfile")),
        extra_files: vec![("Dockerfile".into(), Bytes::from_static(b"FROM busybox\n# extra\n"), 0o644)],
    }
}

async fn rewrite_and_check(input: Vec<u8>, prefix: &str, ctx: &Path, label: &str) {
    let out = drain(rebase_and_filter(chunked(input, CUTS), options(prefix))).await;
    let names = tar_names(&out);
    assert!(names.iter().all(|n| !n.starts_with(prefix) || prefix == "."), "{label}: {names:?}");
    assert_eq!(names.last().map(String::as_str), Some("Dockerfile"), "{label}: the extra file comes last");
    assert_eq!(names.iter().filter(|n| *n == "Dockerfile").count(), 1, "{label}: {names:?}");
    let dest = tempfile::tempdir().unwrap();
    tar_extract(&out, dest.path());
    assert_eq!(tree(dest.path()), expected(ctx), "{label}");
}

#[tokio::test]
async fn rewrites_gnu_tar_output_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    make_context(&ctx);
    for format in ["gnu", "posix", "oldgnu"] {
        let tar = run(Command::new("tar")
            .arg(format!("--format={format}"))
            .args(["--sort=name", "-cf", "-", "-C"])
            .arg(dir.path())
            .arg("ctx"));
        rewrite_and_check(tar, "ctx", &ctx, format).await;
        // The `./` spelling the archive API uses for a volume's root.
        let tar = run(Command::new("tar")
            .arg(format!("--format={format}"))
            .args(["--sort=name", "-cf", "-", "-C"])
            .arg(&ctx)
            .arg("."));
        rewrite_and_check(tar, ".", &ctx, &format!("{format} ./")).await;
    }
}

#[tokio::test]
async fn rewrites_dockerd_archive_api_output() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("work/sub/dir");
    make_context(&ctx);
    let mut cleanup = DockerCleanup::default();
    let volume = unique("drydock-vol-test");
    run(Command::new("docker").args(["volume", "create", &volume]));
    cleanup.volumes.push(volume.clone());
    let id = String::from_utf8(run(Command::new("docker").args(["create", "-v", &format!("{volume}:/v"), "busybox"])))
        .unwrap()
        .trim()
        .to_string();
    cleanup.containers.push(id.clone());
    run(Command::new("docker").arg("cp").arg(dir.path().join("work/.")).arg(format!("{id}:/v/")));

    let archive = |path: &str| {
        run(Command::new("curl")
            .args(["-sS", "--fail", "--unix-socket", "/var/run/docker.sock"])
            .arg(format!("http://x/v1.41/containers/{id}/archive?path={path}")))
    };
    let tar = archive("/v/sub/dir");
    assert!(tar_names(&tar).iter().any(|n| n.starts_with("dir/p")), "the API prefixes members with `dir/`");
    rewrite_and_check(tar.clone(), "dir", &ctx, "archive API").await;

    let dockerignore = read_file(chunked(tar.clone(), CUTS), "dir/.dockerignore", 1024).await.unwrap();
    assert_eq!(dockerignore.as_deref(), Some(IGNORE.as_bytes()));
    let deep = read_file(chunked(tar.clone(), CUTS), &format!("dir/{}", deep_path()), 1024).await.unwrap();
    assert_eq!(deep.as_deref(), Some(&b"deep"[..]));
    assert_eq!(read_file(chunked(tar.clone(), CUTS), "dir/missing", 1024).await.unwrap(), None);
    let err = read_file(chunked(tar.clone(), CUTS), "dir/src/main.rs", 4).await.unwrap_err();
    assert!(matches!(&err, ContextError::FileTooBig { size: 13, max: 4, .. }), "{err}");
    let err = read_file(chunked(tar, CUTS), "./dir/link", 1024).await.unwrap_err();
    assert!(matches!(&err, ContextError::NotRegularFile { kind: '2', .. }), "{err}");

    let root = archive("/v/.");
    assert!(tar_names(&root).iter().any(|n| n.starts_with("./sub/dir/")));
    let out =
        drain(rebase_and_filter(chunked(root, CUTS), RebaseOptions { strip_prefix: ".".into(), ..Default::default() }))
            .await;
    let dest = tempfile::tempdir().unwrap();
    tar_extract(&out, dest.path());
    assert_eq!(tree(&dest.path().join("sub/dir")), tree(&ctx));
}

#[tokio::test]
async fn hard_links_to_dropped_members_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("a.log"), "data").unwrap();
    std::fs::hard_link(ctx.join("a.log"), ctx.join("b.txt")).unwrap();
    let tar = run(Command::new("tar").args(["--sort=name", "-cf", "-", "-C"]).arg(dir.path()).arg("ctx"));
    let opts = RebaseOptions {
        strip_prefix: "ctx".into(),
        ignore: Some(DockerIgnore::parse("*.log").unwrap()),
        extra_files: vec![],
    };
    let out = drain(rebase_and_filter(chunked(tar, CUTS), opts)).await;
    assert!(tar_names(&out).is_empty(), "{:?}", tar_names(&out));
}

#[tokio::test]
async fn malformed_input_ends_the_stream_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    make_context(&ctx);
    let tar = run(Command::new("tar").args(["-cf", "-", "-C"]).arg(dir.path()).arg("ctx"));
    let truncated = tar[..1536 + 100].to_vec();
    let err = drain_err(rebase_and_filter(chunked(truncated, CUTS), options("ctx"))).await;
    assert!(err.to_string().contains("truncated"), "{err}");
    let mut corrupt = tar.clone();
    corrupt[10] ^= 0xff;
    let err = drain_err(rebase_and_filter(chunked(corrupt, CUTS), options("ctx"))).await;
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = read_file(chunked(b"garbage".repeat(100), CUTS), "x", 10).await.unwrap_err();
    assert!(matches!(err, ContextError::Tar { .. }), "{err}");
}
