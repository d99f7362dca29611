//! `drydock run --local` / `drydock build --local` on the real dockerd and registry, mostly with
//! ACR's own sample task files, unchanged (their images are offline stand-ins, see
//! examples/images).

use crate::helper::drydock;
use crate::helper::engine::*;
use drydock::docker::DockerHost;
use serde_json::Value;
use std::path::Path;

#[test]
fn parallel_builds_then_gated_push_with_registry_digest() {
    let Some(file) = corpus("Azure-Samples_acr-tasks_when-parallel-dependent.yaml") else { return };
    let ctx = hello_context();
    let id = run_id("par");
    let o = run(&id, &file, ctx.path(), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert_eq!(o.record["status"], "Succeeded");
    assert!(o.log.contains("Hello from hello-world"), "{}", o.log);
    // Both builds started before either finished: they ran in parallel.
    let (a, b) = (step(&o.record, "build-hello-world"), step(&o.record, "build-hello-world-test"));
    assert!(
        a["started_at"].as_str() <= b["finished_at"].as_str() && b["started_at"].as_str() <= a["finished_at"].as_str()
    );
    let img = &o.record["output_images"][0];
    assert_eq!(img["repository"], "hello-world");
    assert_eq!(img["digest"].as_str().unwrap(), registry_digest("hello-world", &id));
    assert_eq!(o.record["dependencies"][0]["image"]["digest"], img["digest"]);
    assert_eq!(o.record["dependencies"][0]["runtime-dependency"]["repository"], "library/busybox");
    remove_image(&format!("{REGISTRY}/hello-world:{id}"));
    assert_clean(&id);
}

#[test]
fn detached_server_is_reached_by_its_step_id() {
    let Some(file) = corpus("Azure-Samples_acr-tasks_network-curl.yaml") else { return };
    let id = run_id("net");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("Welcome to nginx"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn steps_share_files_through_the_workspace() {
    let Some(file) = corpus("Azure-Samples_acr-tasks_files-working-directory.yaml") else { return };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("seed.txt"), "from the context").unwrap();
    let id = run_id("ws");
    let o = run(&id, &file, ctx.path(), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    let listing: Vec<&str> = o.log.lines().filter(|l| l.starts_with("[list-workspace-files]")).collect();
    assert!(listing.iter().any(|l| l.contains("hello.txt")), "{}", o.log);
    assert!(listing.iter().any(|l| l.contains("seed.txt")), "{}", o.log);
    assert!(o.log.lines().any(|l| l.starts_with("[read-file]") && l.contains("20")), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn secret_volumes_are_mounted_and_masked() {
    let Some(file) = corpus("Azure-Samples_acr-tasks_mounts-secrets.yaml") else { return };
    let id = run_id("sec");
    let o = run(
        &id,
        &file,
        Path::new("/dev/null"),
        &["--secret", "sampleSecret=hunter2-kv", "--set", "mysecret=plain-value"],
    );
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("plain-value"), "{}", o.log);
    assert!(o.log.contains("***"), "the secret file's content is masked: {}", o.log);
    assert!(!o.log.contains("hunter2"), "secret leaked: {}", o.log);
    assert_clean(&id);
}

#[test]
fn retries_succeed_on_the_third_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "version: v1.1.0\nsteps:\n  - id: flaky\n    cmd: bash -c 'n=$(cat /workspace/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /workspace/n; echo attempt $n; [ $n -ge 3 ]'\n    retries: 4\n    retryDelay: 1\n",
    );
    let id = run_id("retry");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert_eq!(step(&o.record, "flaky")["attempts"], 3);
    assert_eq!(step(&o.record, "flaky")["status"], "Succeeded");
    assert!(o.log.contains("attempt 3"));
    assert_clean(&id);
}

#[test]
fn step_timeout_stops_the_container_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - id: slow\n    cmd: busybox sleep 300\n    timeout: 2\n  - id: never\n    cmd: busybox true\n",
    );
    let id = run_id("tmo");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(1), "{}", o.log);
    assert_eq!(o.record["status"], "Failed");
    assert_eq!(step(&o.record, "slow")["status"], "Timeout");
    assert_eq!(step(&o.record, "never")["status"], "Skipped");
    assert_clean(&id);
}

#[test]
fn ignore_errors_lets_the_run_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - id: lint\n    cmd: busybox sh -c 'echo lint failed; exit 3'\n    ignoreErrors: true\n  - id: after\n    cmd: busybox echo still running\n",
    );
    let id = run_id("ign");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert_eq!(step(&o.record, "lint")["exit_code"], 3);
    assert_eq!(step(&o.record, "after")["status"], "Succeeded");
    assert_clean(&id);
}

#[test]
fn failure_skips_dependents_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write_task(dir.path(), "steps:\n  - id: bad\n    cmd: busybox false\n  - id: next\n    cmd: busybox true\n");
    let id = run_id("fail");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(1));
    assert_eq!(step(&o.record, "bad")["status"], "Failed");
    assert_eq!(step(&o.record, "bad")["exit_code"], 1);
    assert_eq!(step(&o.record, "next")["status"], "Skipped");
    assert_clean(&id);
}

#[test]
fn ctrl_c_mid_run_cancels_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - id: long\n    cmd: busybox sleep 300\n  - id: later\n    cmd: busybox true\n",
    );
    let id = run_id("cancel");
    let bin = assert_cmd::cargo::cargo_bin("drydock");
    let child = std::process::Command::new(bin)
        .args(["run", "--local", "--unique-container-names", "-o", "json", "--run-id", &id, "-f"])
        .arg(&file)
        .arg("/dev/null")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the step's container runs, then interrupt as a user would.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = rt.block_on(async {
        let docker = DockerHost::connect(None).await.unwrap();
        for _ in 0..300 {
            let objects = docker.list_run_objects(&[("drydock.run", &id)]).await.unwrap();
            // The step's own container, not the helper that seeds the workspace.
            let step_running = objects
                .iter()
                .flat_map(|o| &o.containers)
                .any(|c| c.labels.get("drydock.step").map(String::as_str) == Some("long"));
            if step_running {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    });
    assert!(started, "the step never started");
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["status"], "Canceled");
    assert_eq!(step(&record, "long")["status"], "Canceled");
    assert_eq!(step(&record, "later")["status"], "Skipped");
    assert_clean(&id);
}

#[test]
fn quick_build_prefixes_the_registry_pushes_and_reports_digests() {
    let ctx = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // The Dockerfile lives outside the context, as ACR's quick build allows.
    let dockerfile = elsewhere.path().join("app.Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM busybox\nARG GREETING\nCOPY msg.txt /msg.txt\nRUN echo \"$GREETING\" >> /msg.txt\n",
    )
    .unwrap();
    std::fs::write(ctx.path().join("msg.txt"), "hi\n").unwrap();
    std::fs::write(ctx.path().join("ignored.bin"), "x").unwrap();
    std::fs::write(ctx.path().join(".dockerignore"), "ignored.bin\n").unwrap();
    let id = run_id("qb");
    let out = drydock()
        .args(["build", "--local", "-o", "json", "--registry", REGISTRY, "--run-id", &id])
        .args(["-t", "quick/app:{{.Run.ID}}", "--build-arg", "GREETING=hello", "-f"])
        .arg(&dockerfile)
        .arg(ctx.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    let img = &record["output_images"][0];
    assert_eq!(img["registry"], REGISTRY);
    assert_eq!(img["repository"], "quick/app");
    assert_eq!(img["tag"], id.as_str());
    assert_eq!(img["digest"].as_str().unwrap(), registry_digest("quick/app", &id));
    remove_image(&format!("{REGISTRY}/quick/app:{id}"));
    assert_clean(&id);
}

#[test]
fn invalid_task_exits_2_before_touching_docker() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), "steps:\n  - cmd: busybox true\n    retries: -1\n");
    let out = drydock().args(["run", "--local", "-f"]).arg(&file).arg("/dev/null").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":3:14: error[negative-number]"));
}
