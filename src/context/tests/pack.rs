//! Packing local directories, checked with GNU tar and the real Docker daemon.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use futures_util::StreamExt;

use super::support::{DockerCleanup, drain, drain_err, run, run_with_input, tar_extract, tar_names, tree, unique};
use crate::context::ContextError;
use crate::context::pack::{PackOptions, pack_dir};

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn opts() -> PackOptions {
    PackOptions { apply_dockerignore: true, exclude_vcs: true, ..PackOptions::default() }
}

#[tokio::test]
async fn packs_like_the_docker_cli() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("Dockerfile"), "FROM busybox\n");
    write(&root.join(".dockerignore"), "*.log\nbuild\n!build/keep.txt\nsecret/\nDockerfile\n");
    write(&root.join("b.txt"), "b");
    write(&root.join("a.sh"), "#!/bin/sh\n");
    std::fs::set_permissions(root.join("a.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    write(&root.join("x.log"), "log");
    write(&root.join("build/out.o"), "obj");
    write(&root.join("build/keep.txt"), "keep");
    write(&root.join("secret/key"), "k");
    write(&root.join("sub/ünï.txt"), "unicode");
    write(&root.join(".git/config"), "git");
    write(&root.join("sub/.git/config"), "nested repos are not the VCS dir of the context");
    let long = format!("{}/{}", "d".repeat(80), "f".repeat(90));
    write(&root.join(&long), "long");
    std::os::unix::fs::symlink("a.sh", root.join("link")).unwrap();
    std::fs::hard_link(root.join("b.txt"), root.join("c-hard.txt")).unwrap();
    run(Command::new("mkfifo").arg(root.join("pipe")));
    filetime(root.join("b.txt").as_path(), 1_500_000_000);

    let packed = pack_dir(root, opts()).unwrap();
    assert_eq!(packed.dockerfile, "Dockerfile");
    let tar = drain(packed.stream).await;
    let stats = packed.stats.await.unwrap().unwrap();
    assert_eq!(stats.bytes, tar.len() as u64);

    let names = tar_names(&tar);
    let expected = [
        ".dockerignore",
        "Dockerfile",
        "a.sh",
        "b.txt",
        "build/keep.txt",
        "c-hard.txt",
        &format!("{}/", "d".repeat(80)),
        &long,
        "link",
        "sub/",
        "sub/.git/",
        "sub/.git/config",
        "sub/ünï.txt",
    ];
    assert_eq!(names, expected);
    assert_eq!(stats.files, expected.len() as u64);

    let out = tempfile::tempdir().unwrap();
    tar_extract(&tar, out.path());
    let got = tree(out.path());
    let find = |p: &str| got.iter().find(|(path, _)| path == p).map(|(_, what)| what.clone()).unwrap();
    assert_eq!(find("a.sh"), "750 #!/bin/sh\n");
    assert_eq!(find("link"), "-> a.sh");
    assert_eq!(find("c-hard.txt"), "644 b");
    assert_eq!(find(&long), "644 long");
    let meta = std::fs::metadata(out.path().join("b.txt")).unwrap();
    assert_eq!(meta.modified().unwrap(), std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000));

    // Owners are root, as the CLI sends them.
    let listing =
        String::from_utf8(run_with_input(Command::new("tar").args(["-tvf", "-", "--numeric-owner"]), &tar)).unwrap();
    assert!(listing.lines().all(|l| l.contains(" 0/0 ")), "{listing}");
}

/// Sets a file's mtime.
fn filetime(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).unwrap();
}

#[tokio::test]
async fn dockerfile_specific_ignore_wins_and_build_files_are_always_sent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("app.Dockerfile"), "FROM busybox\n");
    write(&root.join("app.Dockerfile.dockerignore"), "*\n");
    write(&root.join(".dockerignore"), "");
    write(&root.join("src/main.rs"), "fn main() {}");
    let packed = pack_dir(root, PackOptions { dockerfile: Some(root.join("app.Dockerfile")), ..opts() }).unwrap();
    assert_eq!(packed.dockerfile, "app.Dockerfile");
    let names = tar_names(&drain(packed.stream).await);
    assert_eq!(names, [".dockerignore", "app.Dockerfile"]);

    // Without the Dockerfile-specific file, the root one applies.
    std::fs::remove_file(root.join("app.Dockerfile.dockerignore")).unwrap();
    write(&root.join(".dockerignore"), "src\n");
    let packed = pack_dir(root, PackOptions { dockerfile: Some(root.join("app.Dockerfile")), ..opts() }).unwrap();
    assert_eq!(tar_names(&drain(packed.stream).await), [".dockerignore", "app.Dockerfile"]);
}

#[tokio::test]
async fn dockerfile_outside_the_context_is_added_under_a_generated_name() {
    let ctx = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    write(&ctx.path().join("file"), "f");
    write(&elsewhere.path().join("Dockerfile"), "FROM busybox\nCOPY file /\n");
    let opts = PackOptions { dockerfile: Some(elsewhere.path().join("Dockerfile")), ..opts() };
    let packed = pack_dir(ctx.path(), opts).unwrap();
    assert!(packed.dockerfile.starts_with(".drydock-dockerfile-"), "{}", packed.dockerfile);
    let tar = drain(packed.stream).await;
    assert_eq!(tar_names(&tar), ["file", packed.dockerfile.as_str()]);
    let out = tempfile::tempdir().unwrap();
    tar_extract(&tar, out.path());
    assert_eq!(std::fs::read_to_string(out.path().join(&packed.dockerfile)).unwrap(), "FROM busybox\nCOPY file /\n");
}

#[tokio::test]
async fn up_front_errors() {
    let ctx = tempfile::tempdir().unwrap();
    let named = PackOptions { dockerfile: Some(ctx.path().join("Dockerfile")), ..opts() };
    let err = pack_dir(ctx.path(), named).err().unwrap();
    assert!(matches!(err, ContextError::DockerfileMissing { .. }), "{err}");
    assert!(err.to_string().contains("-f"), "{err}");
    // Without a named Dockerfile, a directory with none is packed as it is (workspace uploads).
    assert!(pack_dir(ctx.path(), opts()).is_ok());
    let err = pack_dir(&ctx.path().join("nope"), opts()).err().unwrap();
    assert!(matches!(err, ContextError::ContextDir { .. }), "{err}");
    write(&ctx.path().join("Dockerfile"), "FROM busybox\n");
    write(&ctx.path().join(".dockerignore"), "ok\n!\n");
    let err = pack_dir(ctx.path(), opts()).err().unwrap();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(pack_dir(ctx.path(), PackOptions::default()).is_ok(), ".dockerignore is only read when asked");
}

#[tokio::test]
async fn max_bytes_ends_the_stream_with_an_error() {
    let ctx = tempfile::tempdir().unwrap();
    write(&ctx.path().join("Dockerfile"), "FROM busybox\n");
    std::fs::write(ctx.path().join("big.bin"), vec![7u8; 2 << 20]).unwrap();
    let packed = pack_dir(ctx.path(), PackOptions { max_bytes: Some(1 << 20), ..opts() }).unwrap();
    let err = drain_err(packed.stream).await;
    assert!(err.to_string().contains("big.bin"), "{err}");
    let err = packed.stats.await.unwrap().unwrap_err();
    assert!(matches!(&err, ContextError::TooLarge { limit, path } if *limit == 1 << 20 && path == "big.bin"), "{err}");
}

#[tokio::test]
async fn dropping_the_stream_stops_packing() {
    let ctx = tempfile::tempdir().unwrap();
    write(&ctx.path().join("Dockerfile"), "FROM busybox\n");
    std::fs::write(ctx.path().join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = progress.clone();
    let opts = PackOptions {
        on_progress: Some(std::sync::Arc::new(move |n| seen.store(n, std::sync::atomic::Ordering::Relaxed))),
        ..opts()
    };
    let mut packed = pack_dir(ctx.path(), opts).unwrap();
    packed.stream.next().await.unwrap().unwrap();
    drop(packed.stream);
    let err = packed.stats.await.unwrap().unwrap_err();
    assert!(matches!(err, ContextError::Cancelled), "{err}");
    // Backpressure: the packer stopped long before reading the whole file.
    assert!(progress.load(std::sync::atomic::Ordering::Relaxed) < 16 << 20);
}

/// The daemon accepts what we pack: long names (PAX), the outside Dockerfile, symlinks.
#[tokio::test]
async fn docker_builds_the_packed_context() {
    let ctx = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(120));
    write(&ctx.path().join(&long), "long");
    std::os::unix::fs::symlink(&long, ctx.path().join("link")).unwrap();
    write(
        &elsewhere.path().join("Dockerfile"),
        &format!("FROM busybox\nCOPY . /ctx\nRUN test \"$(cat /ctx/{long})\" = long && test -L /ctx/link\n"),
    );
    let packed =
        pack_dir(ctx.path(), PackOptions { dockerfile: Some(elsewhere.path().join("Dockerfile")), ..opts() }).unwrap();
    let tar = drain(packed.stream).await;
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), &tar).unwrap();
    let tag = unique("drydock-pack-test");
    let mut cleanup = DockerCleanup::default();
    cleanup.images.push(tag.clone());
    let out = run(Command::new("curl").args(["-sS", "--fail", "--unix-socket", "/var/run/docker.sock"]).args([
        "-H",
        "Content-Type: application/x-tar",
        "--data-binary",
        &format!("@{}", body.path().display()),
        &format!("http://x/v1.41/build?t={tag}&dockerfile={}&rm=1", packed.dockerfile),
    ]));
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("Successfully built"), "{out}");
}
