//! Remote tarball contexts, served by a tiny local HTTP server.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use super::support::{run, run_with_input, tree};
use crate::context::ContextError;
use crate::context::archive::{ArchiveError, ArchiveLimits};
use crate::context::tarball::fetch_tarball;

/// Serves `files` (path → body) on a local port; anything else is a 404. The server
/// task ends when the returned handle is aborted.
async fn serve(files: HashMap<String, Vec<u8>>) -> (String, tokio::task::JoinHandle<()>) {
    let files = std::sync::Arc::new(files);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let files = files.clone();
        async move {
            match files.get(uri.path()) {
                Some(body) => (axum::http::StatusCode::OK, body.clone()),
                None => (axum::http::StatusCode::NOT_FOUND, b"not found".to_vec()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, handle)
}

fn make_source(root: &Path) {
    std::fs::create_dir_all(root.join("src/deeper")).unwrap();
    std::fs::write(root.join("Dockerfile"), "FROM busybox\nCOPY . /\n").unwrap();
    std::fs::write(
        root.join("src/deeper/data.bin"),
        (0..1_000_000u32).map(|i| (i * 7 % 253) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::os::unix::fs::symlink("deeper/data.bin", root.join("src/link")).unwrap();
}

#[tokio::test]
async fn fetches_every_compression_and_reports_http_errors() {
    let src = tempfile::tempdir().unwrap();
    make_source(src.path());
    let tar = run(Command::new("tar").args(["-cf", "-", "-C"]).arg(src.path()).arg("."));
    let gz = run_with_input(Command::new("gzip").arg("-c"), &tar);
    let mut files = HashMap::new();
    files.insert("/ctx.tar".to_string(), tar.clone());
    files.insert("/ctx.tgz".to_string(), gz.clone());
    files.insert("/ctx.tar.bz2".to_string(), run_with_input(Command::new("bzip2").arg("-c"), &tar));
    files.insert("/ctx.tar.xz".to_string(), run_with_input(Command::new("xz").arg("-c"), &tar));
    files.insert("/truncated.tar.gz".to_string(), gz[..gz.len() / 2].to_vec());
    files.insert("/corrupt.tar.xz".to_string(), {
        let mut xz = run_with_input(Command::new("xz").arg("-c"), &tar);
        let mid = xz.len() / 2;
        xz[mid] ^= 0x55;
        xz
    });
    let (base, server) = serve(files).await;
    let limits = ArchiveLimits::default();

    for name in ["ctx.tar", "ctx.tgz", "ctx.tar.bz2", "ctx.tar.xz"] {
        let dest = tempfile::tempdir().unwrap();
        fetch_tarball(&format!("{base}/{name}"), dest.path(), &limits).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tree(dest.path()), tree(src.path()), "{name}");
    }

    let dest = tempfile::tempdir().unwrap();
    let err = fetch_tarball(&format!("{base}/missing.tgz?sig=SECRET"), dest.path(), &limits).await.unwrap_err();
    assert!(matches!(err, ContextError::HttpStatus { status: 404, .. }), "{err}");
    assert!(err.to_string().contains("404") && err.to_string().contains("/missing.tgz"), "{err}");
    assert!(!err.to_string().contains("SECRET"), "{err}");

    for (name, what) in [("truncated.tar.gz", "gzip"), ("corrupt.tar.xz", "xz")] {
        let dest = tempfile::tempdir().unwrap();
        let err = fetch_tarball(&format!("{base}/{name}"), dest.path(), &limits).await.unwrap_err();
        assert!(
            matches!(&err, ContextError::Archive { what: w, source: ArchiveError::Corrupt { .. } } if w.contains(what)),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(name), "{name}: {err}");
    }

    let small = ArchiveLimits { max_total_bytes: 1000, max_entries: 10, ..ArchiveLimits::default() };
    let dest = tempfile::tempdir().unwrap();
    let err = fetch_tarball(&format!("{base}/ctx.tar"), dest.path(), &small).await.unwrap_err();
    assert!(matches!(err, ContextError::DownloadTooLarge { .. }), "{err}");
    let dest = tempfile::tempdir().unwrap();
    let err = fetch_tarball(&format!("{base}/ctx.tgz"), dest.path(), &small).await.unwrap_err();
    assert!(matches!(err, ContextError::Archive { source: ArchiveError::TooLarge { .. }, .. }), "{err}");
    server.abort();

    let dest = tempfile::tempdir().unwrap();
    let err = fetch_tarball(&format!("{base}/ctx.tar"), dest.path(), &limits).await.unwrap_err();
    assert!(matches!(err, ContextError::Download { .. }), "{err}");
}

#[tokio::test]
async fn unsafe_tarballs_are_refused() {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.as_mut_bytes()[..4].copy_from_slice(b"host");
    h.as_mut_bytes()[157..158].copy_from_slice(b"/");
    h.set_cksum();
    let mut evil = h.as_bytes().to_vec();
    evil.extend_from_slice(&[0; 1024]);
    let (base, server) = serve(HashMap::from([("/evil.tar".to_string(), evil)])).await;
    let dest = tempfile::tempdir().unwrap();
    let err = fetch_tarball(&format!("{base}/evil.tar"), dest.path(), &ArchiveLimits::default()).await.unwrap_err();
    server.abort();
    assert!(
        matches!(&err, ContextError::Archive { source: ArchiveError::SymlinkAbsolute { entry, .. }, .. } if entry == "host"),
        "{err}"
    );
}
