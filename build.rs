//! Stamps the binary with the git commit it was built from (`drydock --version`, the
//! `drydock_build_info` metric), so that an operator can tell which code a daemon runs. A build
//! outside a git checkout (a source tarball, a registry package) says `unknown`.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short=7", "HEAD"]);
    let date = commit.as_ref().and_then(|_| git(&["log", "-1", "--format=%cs", "HEAD"]));
    println!("cargo:rustc-env=DRYDOCK_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    println!("cargo:rustc-env=DRYDOCK_GIT_DATE={}", date.as_deref().unwrap_or(""));
    let build = match (&commit, &date) {
        (Some(c), Some(d)) => format!("{c} {d}"),
        (Some(c), None) => c.clone(),
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=DRYDOCK_BUILD={build}");
    // A new commit moves the branch's ref (or packed-refs, after `git gc`), a checkout moves
    // HEAD. `--git-path` finds them in a worktree too, where `.git` is a file. Only existing
    // files are named: cargo reruns a script on every build when a named file is missing.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(reference);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).map(PathBuf::from)
            && path.exists()
        {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
