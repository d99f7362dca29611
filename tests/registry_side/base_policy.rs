//! `--require-signed-base`: a build from an unsigned base fails before it starts, and a base-image
//! trigger is refused for an unsigned digest and accepted for a signed one.

use super::{key_pair, sign};
use crate::helper::docker::{REGISTRY, unique};
use crate::helper::drydock;

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
    // A local image under the base's name that nobody signed must not be what gets built on.
    let impostor = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf 'FROM busybox:latest\\nLABEL impostor=1\\n' | docker build -q -t {base} -"))
        .output()
        .unwrap();
    assert!(impostor.status.success(), "{}", String::from_utf8_lossy(&impostor.stderr));
    let accepted = build();
    let log = String::from_utf8_lossy(&accepted.stderr);
    assert_eq!(accepted.status.code(), Some(0), "{log}");
    assert!(log.contains("is signed by a required key"), "{log}");
    let label = std::process::Command::new("docker")
        .args(["image", "inspect", "-f", "{{index .Config.Labels \"impostor\"}}", &app])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&label.stdout).trim(), "", "the build used the unsigned local image");
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
