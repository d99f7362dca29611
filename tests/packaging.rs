//! Packaging (issue 16): shell completions and manual pages from the clap definitions, the systemd
//! unit, and drydock's own image, built by `drydock build` from this machine's files and run.

use crate::helper::wait::eventually;
use crate::helper::{drydock, repo_root};
use std::process::Command;

fn stdout(args: &[&str]) -> String {
    let out = drydock().args(args).output().unwrap();
    assert!(out.status.success(), "drydock {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line_definitions() {
    let bash = stdout(&["completion", "bash"]);
    assert!(bash.contains("_drydock()") && bash.contains("resume") && bash.contains("--keep-failed-workspace"));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("drydock.bash");
    std::fs::write(&script, &bash).unwrap();
    assert!(Command::new("bash").arg("-n").arg(&script).status().unwrap().success(), "valid bash");
    assert!(stdout(&["completion", "zsh"]).starts_with("#compdef drydock"));
    assert!(stdout(&["completion", "fish"]).contains("complete -c drydock"));

    let page = stdout(&["man"]);
    assert!(page.contains(".TH drydock 1") && page.contains("serve"), "{page}");
    let out = drydock().args(["man", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    for page in ["drydock.1", "drydock-serve.1", "drydock-runs-resume.1", "drydock-task-create.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|_| panic!("no {page}"));
        assert!(text.contains(".SH NAME"), "{page}");
    }
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(repo_root().join("packaging/drydock.service")).unwrap();
    // As installed: the binary where the unit says (here, the one under test), no man page yet.
    let unit = unit
        .replace("/usr/local/bin/drydock", env!("CARGO_BIN_EXE_drydock"))
        .replace("Documentation=man:drydock(1)\n", "");
    assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=strict"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drydock.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // Every variable the environment file sets is one `drydock serve` reads.
    let env = std::fs::read_to_string(repo_root().join("packaging/drydock.env")).unwrap();
    let help = stdout(&["serve", "--help"]);
    for line in env.lines().filter(|l| !l.starts_with('#') && l.contains('=')) {
        let name = line.trim_start_matches('#').split('=').next().unwrap();
        assert!(name == "DRYDOCK_OPTS" || help.contains(&format!("env: {name}")), "{name} is not read by serve");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drydocks_own_image_is_built_by_drydock_and_serves() {
    let out = tempfile::tempdir().unwrap();
    let context = out.path().join("image");
    let made = Command::new(repo_root().join("packaging/image-rootfs.sh"))
        .arg(env!("CARGO_BIN_EXE_drydock"))
        .arg(&context)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let tag = format!("drydock-self:t{}", std::process::id());
    let built = drydock().args(["build", "--local", "--no-push", "-t", &tag]).arg(&context).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    let version = Command::new("docker").args(["run", "--rm", &tag, "--version"]).output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let host = stdout(&["--version"]);
    assert_eq!(version, host, "the image runs the binary under test");

    // With the engine's socket, it is a daemon: /healthz answers on the published port.
    let socket_group = Command::new("stat").args(["-c", "%g", "/var/run/docker.sock"]).output().unwrap();
    let socket_group = String::from_utf8_lossy(&socket_group.stdout).trim().to_string();
    let name = format!("drydock-self-{}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Command::new("docker")
        .args(["run", "-d", "--rm", "--name", &name, "--group-add", &socket_group])
        .args(["-v", "/var/run/docker.sock:/var/run/docker.sock", "-p", &format!("127.0.0.1:{port}:7480"), &tag])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let http = drydock::tls::client();
    let answered = eventually("the containerised daemon answers", || {
        let http = http.clone();
        async move {
            let r = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.ok()?;
            r.status().is_success().then_some(())
        }
    })
    .await;
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    assert_eq!(answered, ());
}
