//! Git contexts against real repositories served by `git daemon`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::support::{GitDaemon, free_port, git, run};
use crate::context::ContextError;
use crate::context::git::{GitCheckout, GitSpec, fetch};
use crate::secrets::Secret;

/// Bare repositories behind a git daemon:
/// * `lib.git`: one commit with `lib.txt`;
/// * `app.git`: `c1` (tag `v1`, annotated) → `c2` → `c4` on `main` (with submodule `lib` at
///   `../lib.git`, a symlink `escape -> ../..` and `inner -> sub`), and `c3` on `feature`;
/// * `app-sha.git`: the same, with fetching by commit id allowed;
/// * `local-sub.git`: a submodule whose URL is a local path.
struct Fixture {
    daemon: GitDaemon,
    c1: String,
    c3: String,
    c4: String,
    _base: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let base = tempfile::tempdir().unwrap();
        let daemon = GitDaemon::start(base.path());
        let b = base.path();
        let commit = |dir: &Path, msg: &str| -> String {
            run(git(dir).args(["add", "-A"]));
            run(git(dir).args(["commit", "-q", "-m", msg]));
            String::from_utf8(run(git(dir).args(["rev-parse", "HEAD"]))).unwrap().trim().to_string()
        };
        let write = |p: PathBuf, content: &str| {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        };

        let lib = b.join("work-lib");
        std::fs::create_dir(&lib).unwrap();
        run(git(&lib).args(["init", "-q"]));
        write(lib.join("lib.txt"), "from the submodule\n");
        commit(&lib, "lib");
        run(git(b).args(["clone", "-q", "--bare", "work-lib", "lib.git"]));

        let app = b.join("work-app");
        std::fs::create_dir(&app).unwrap();
        run(git(&app).args(["init", "-q"]));
        write(app.join("README"), "one\n");
        write(app.join("sub/dir/file.txt"), "in a subdirectory\n");
        let c1 = commit(&app, "c1");
        run(git(&app).args(["tag", "-a", "v1", "-m", "version 1"]));
        write(app.join("README"), "two\n");
        commit(&app, "c2");
        run(git(&app).args(["checkout", "-q", "-b", "feature"]));
        write(app.join("feature.txt"), "feature\n");
        let c3 = commit(&app, "c3");
        run(git(&app).args(["checkout", "-q", "main"]));
        run(git(&app).args(["submodule", "add", "-q", &format!("{}/lib.git", daemon.url), "lib"]));
        run(git(&app).args(["config", "-f", ".gitmodules", "submodule.lib.url", "../lib.git"]));
        std::os::unix::fs::symlink("../..", app.join("escape")).unwrap();
        std::os::unix::fs::symlink("sub", app.join("inner")).unwrap();
        let c4 = commit(&app, "c4");
        run(git(b).args(["clone", "-q", "--bare", "work-app", "app.git"]));
        run(git(b).args(["clone", "-q", "--bare", "work-app", "app-sha.git"]));
        run(git(&b.join("app-sha.git")).args(["config", "uploadpack.allowAnySHA1InWant", "true"]));

        let local = b.join("work-local");
        std::fs::create_dir(&local).unwrap();
        run(git(&local).args(["init", "-q"]));
        run(git(&local).args(["submodule", "add", "-q", &lib.display().to_string(), "lib"]));
        commit(&local, "local submodule");
        run(git(b).args(["clone", "-q", "--bare", "work-local", "local-sub.git"]));

        Fixture { daemon, c1, c3, c4, _base: base }
    }

    fn spec(&self, repo: &str, reference: Option<&str>, subdir: Option<&str>) -> GitSpec {
        GitSpec {
            url: format!("{}/{repo}", self.daemon.url),
            reference: reference.map(str::to_string),
            subdir: subdir.map(str::to_string),
            ..GitSpec::default()
        }
    }
}

fn fetch_into(spec: &GitSpec) -> (tempfile::TempDir, Result<GitCheckout, ContextError>) {
    let dest = tempfile::tempdir().unwrap();
    let result = fetch(spec, dest.path());
    (dest, result)
}

fn is_shallow(dir: &Path) -> bool {
    git2::Repository::open(dir).unwrap().is_shallow()
}

#[test]
fn default_ref_is_the_remote_head_with_submodules() {
    let f = Fixture::new();
    let (dest, result) = fetch_into(&f.spec("app.git", None, None));
    let checkout = result.unwrap();
    assert_eq!(
        checkout,
        GitCheckout { root: dest.path().to_path_buf(), commit: f.c4.clone(), branch: Some("main".into()) }
    );
    assert_eq!(std::fs::read_to_string(dest.path().join("README")).unwrap(), "two\n");
    assert_eq!(std::fs::read_to_string(dest.path().join("lib/lib.txt")).unwrap(), "from the submodule\n");
    assert!(is_shallow(dest.path()), "a branch is fetched with depth 1");
    let repo = git2::Repository::open(dest.path()).unwrap();
    assert!(repo.head_detached().unwrap());
}

#[test]
fn branches_and_tags() {
    let f = Fixture::new();
    let (dest, result) = fetch_into(&f.spec("app.git", Some("feature"), None));
    let checkout = result.unwrap();
    assert_eq!((checkout.commit.as_str(), checkout.branch.as_deref()), (f.c3.as_str(), Some("feature")));
    assert!(dest.path().join("feature.txt").exists());
    assert!(!dest.path().join("lib").exists());

    for tag in ["v1", "refs/tags/v1"] {
        let (dest, result) = fetch_into(&f.spec("app.git", Some(tag), None));
        let checkout = result.unwrap();
        assert_eq!((checkout.commit.as_str(), checkout.branch), (f.c1.as_str(), None), "{tag}");
        assert_eq!(std::fs::read_to_string(dest.path().join("README")).unwrap(), "one\n");
        assert!(is_shallow(dest.path()));
    }
}

#[test]
fn commit_that_is_not_a_tip_falls_back_to_a_full_fetch() {
    let f = Fixture::new();
    let (dest, result) = fetch_into(&f.spec("app.git", Some(&f.c1), None));
    let checkout = result.unwrap();
    assert_eq!((checkout.commit.as_str(), checkout.branch), (f.c1.as_str(), None));
    assert_eq!(std::fs::read_to_string(dest.path().join("README")).unwrap(), "one\n");
    assert!(!is_shallow(dest.path()), "the server refuses fetching by id, so everything was fetched");

    // An abbreviated id is found the same way.
    let (_dest, result) = fetch_into(&f.spec("app.git", Some(&f.c1[..10]), None));
    assert_eq!(result.unwrap().commit, f.c1);
}

#[test]
fn commit_is_fetched_directly_when_the_server_allows_it() {
    let f = Fixture::new();
    let (dest, result) = fetch_into(&f.spec("app-sha.git", Some(&f.c1), None));
    assert_eq!(result.unwrap().commit, f.c1);
    assert!(is_shallow(dest.path()), "fetched by id with depth 1");
}

#[test]
fn missing_refs_are_named() {
    let f = Fixture::new();
    let (_dest, result) = fetch_into(&f.spec("app.git", Some("no-such-branch"), None));
    let err = result.unwrap_err();
    assert!(matches!(&err, ContextError::GitRefNotFound { reference, .. } if reference == "no-such-branch"), "{err}");
    assert!(err.to_string().contains("`no-such-branch`") && err.to_string().contains("app.git"), "{err}");
    let missing_sha = "0123456789abcdef0123456789abcdef01234567";
    let (_dest, result) = fetch_into(&f.spec("app.git", Some(missing_sha), None));
    let err = result.unwrap_err();
    assert!(matches!(&err, ContextError::GitRefNotFound { reference, .. } if reference == missing_sha), "{err}");
    let (_dest, result) = fetch_into(&f.spec("nothing-here.git", None, None));
    let err = result.unwrap_err();
    assert!(matches!(&err, ContextError::Git { .. }) && err.to_string().contains("nothing-here.git"), "{err}");
}

#[test]
fn subdirectories_must_exist_and_stay_inside() {
    let f = Fixture::new();
    let (dest, result) = fetch_into(&f.spec("app.git", Some("main"), Some("sub/dir")));
    let checkout = result.unwrap();
    assert_eq!(checkout.root, dest.path().join("sub/dir"));
    assert!(checkout.root.join("file.txt").is_file());
    let (dest, result) = fetch_into(&f.spec("app.git", None, Some("inner/dir/")));
    assert_eq!(result.unwrap().root, dest.path().join("inner/dir"), "a symlink inside the repository is fine");

    for (subdir, needle) in [
        ("sub/nope", "does not exist"),
        ("../outside", "`..`"),
        ("/etc", "relative"),
        ("escape", "outside the repository"),
        ("README", "not a directory"),
        (".git", "inside .git"),
    ] {
        let (_dest, result) = fetch_into(&f.spec("app.git", None, Some(subdir)));
        let err = result.unwrap_err();
        assert!(matches!(&err, ContextError::GitSubdir { subdir: s, .. } if s == subdir), "{subdir}: {err}");
        assert!(err.to_string().contains(needle), "{subdir}: {err}");
    }
}

#[test]
fn local_submodule_urls_are_refused() {
    let f = Fixture::new();
    let (_dest, result) = fetch_into(&f.spec("local-sub.git", None, None));
    let err = result.unwrap_err();
    assert!(matches!(&err, ContextError::GitSubmoduleUrl { name, .. } if name == "lib"), "{err}");
}

/// A server that rejects every credential: the fetch must fail after one try, say so, and
/// never show the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_token_fails_once_without_leaking_it() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(headers.get("authorization").map(|v| v.to_str().unwrap().to_string()));
            (axum::http::StatusCode::UNAUTHORIZED, [("www-authenticate", "Basic realm=\"git\"")], "no")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let token = "tok-SECRET-1234567890";
    let spec = GitSpec {
        url: format!("http://127.0.0.1:{port}/org/private.git"),
        reference: Some("main".into()),
        subdir: None,
        token: Some(Secret::new(token)),
        pull_ref: None,
    };
    let (_dest, result) = tokio::task::spawn_blocking(move || fetch_into(&spec)).await.unwrap();
    server.abort();
    let err = result.unwrap_err();
    assert!(matches!(err, ContextError::GitAuth { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    let seen = seen.lock().unwrap();
    assert!(seen.len() <= 4, "libgit2 must not retry forever: {} requests", seen.len());
    use base64::Engine as _;
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}")));
    assert!(seen.iter().any(|h| h.as_deref() == Some(basic.as_str())), "the token was offered once: {seen:?}");
}

/// Credentials in the URL are used like a token, and kept out of errors and `.git/config`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_are_used_and_hidden() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(headers.get("authorization").map(|v| v.to_str().unwrap().to_string()));
            (axum::http::StatusCode::UNAUTHORIZED, [("www-authenticate", "Basic realm=\"git\"")], "no")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = GitSpec { url: format!("http://bob:URL-SECRET-42@127.0.0.1:{port}/r.git"), ..GitSpec::default() };
    let (dest, result) = tokio::task::spawn_blocking(move || fetch_into(&spec)).await.unwrap();
    server.abort();
    let err = result.unwrap_err();
    assert!(matches!(err, ContextError::GitAuth { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("URL-SECRET"), "{err:?}");
    assert!(!std::fs::read_to_string(dest.path().join(".git/config")).unwrap().contains("URL-SECRET"));
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:URL-SECRET-42"));
    assert!(seen.lock().unwrap().iter().any(|h| h.as_deref() == Some(basic.as_str())));
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let spec = GitSpec { url: format!("git://127.0.0.1:{}/x.git", free_port()), ..GitSpec::default() };
    let (_dest, result) = fetch_into(&spec);
    let err = result.unwrap_err();
    assert!(matches!(err, ContextError::Git { action: "connecting to", .. }), "{err}");
}
