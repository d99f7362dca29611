//! Engine features beyond ACR's samples: networks, Docker access, privileged, remote contexts,
//! BuildKit, repeat, `--cmd`, run timeouts, kept containers, and the janitor.

use crate::helper::engine::*;
use crate::helper::git::GitServer;
use drydock::docker::{DockerHost, Labels};
use std::path::Path;

#[test]
fn custom_networks_default_and_existing() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "version: v1.1.0\nnetworks:\n  - name: backend\n    isDefault: true\n  - name: host\n    skipCreation: true\nsteps:\n  - id: db\n    cmd: nginx\n    detach: true\n  - id: client\n    cmd: curl --retry 10 http://db/\n  - id: probe\n    cmd: busybox hostname\n    network: host\n",
    );
    let id = run_id("nets");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("Creating Docker network: backend-"), "{}", o.log);
    assert!(o.log.contains("Welcome to nginx"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn docker_cli_steps_get_the_engine_socket_unless_refused() {
    let dir = tempfile::tempdir().unwrap();
    // (`{{ }}` in a task file is drydock's template, as in ACR, so no Go format string here.)
    let file = write_task(dir.path(), "steps:\n  - cmd: docker version\n");
    let id = run_id("sock");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("Server:") && o.log.contains("20.10"), "{}", o.log);
    let id = run_id("nosock");
    let o = run(&id, &file, Path::new("/dev/null"), &["--no-docker-socket"]);
    assert_eq!(o.code, Some(1), "without the socket the docker CLI cannot reach an engine: {}", o.log);
    assert_clean(&id);
}

#[test]
fn privileged_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), "steps:\n  - cmd: busybox true\n    privileged: true\n");
    let id = run_id("priv");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(1));
    assert!(o.log.contains("--allow-privileged"), "{}", o.log);
    // Allowed, the step goes to Docker. (This machine's sandbox cannot start privileged
    // containers at all: runc fails to apply the capabilities, so success is not asserted.)
    let id = run_id("priv2");
    let o = run(&id, &file, Path::new("/dev/null"), &["--allow-privileged"]);
    assert!(!o.log.contains("--allow-privileged"), "{}", o.log);
    assert!(o.log.contains("Launching container"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn build_from_a_git_url_with_ref_and_subdir() {
    let server = GitServer::start();
    let (url, work) = server.repo(
        "mono",
        &[
            ("svc/a/Dockerfile", "FROM busybox\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n"),
            ("svc/a/msg", "from git main\n"),
        ],
    );
    crate::helper::git::git_ok(&work, &["checkout", "-q", "-b", "release"]);
    std::fs::write(work.join("svc/a/msg"), "from git release\n").unwrap();
    crate::helper::git::git_ok(&work, &["commit", "-qam", "release"]);
    crate::helper::git::git_ok(&work, &["push", "-q", "origin", "release"]);
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        &format!("steps:\n  - build: -t gitctx:{{{{.Run.ID}}}} {url}#release:svc/a\n  - cmd: gitctx:{{{{.Run.ID}}}}\n"),
    );
    let id = run_id("git");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("from git release"), "{}", o.log);
    let head = crate::helper::git::git_ok(&work, &["rev-parse", "HEAD"]);
    assert_eq!(o.record["dependencies"][0]["git"]["git-head-revision"], head.as_str());
    remove_image(&format!("gitctx:{id}"));
    assert_clean(&id);
}

#[test]
fn build_from_an_http_tarball() {
    let tar_dir = tempfile::tempdir().unwrap();
    let src = tar_dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("Dockerfile"), "FROM busybox\nCOPY note /note\nCMD [\"cat\", \"/note\"]\n").unwrap();
    std::fs::write(src.join("note"), "from a tarball\n").unwrap();
    let archive = tar_dir.path().join("ctx.tar.gz");
    let ok = std::process::Command::new("tar").arg("-czf").arg(&archive).arg("-C").arg(&src).arg(".").status().unwrap();
    assert!(ok.success());
    let server = FileServer::start(std::fs::read(&archive).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        &format!(
            "steps:\n  - build: -t tarctx:{{{{.Run.ID}}}} {}/ctx.tar.gz\n  - cmd: tarctx:{{{{.Run.ID}}}}\n",
            server.url
        ),
    );
    let id = run_id("tar");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("from a tarball"), "{}", o.log);
    remove_image(&format!("tarctx:{id}"));
    assert_clean(&id);
}

#[test]
fn buildkit_from_step_env_and_dockerignore_in_the_workspace() {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::create_dir(ctx.path().join("app")).unwrap();
    std::fs::write(
        ctx.path().join("app/Dockerfile"),
        "FROM busybox\nCOPY . /src\nRUN ls /src > /listing\nCMD [\"cat\", \"/listing\"]\n",
    )
    .unwrap();
    std::fs::write(ctx.path().join("app/keep.txt"), "k").unwrap();
    std::fs::write(ctx.path().join("app/secret.env"), "s").unwrap();
    std::fs::write(ctx.path().join("app/.dockerignore"), "*.env\n").unwrap();
    let file = write_task(
        ctx.path(),
        "steps:\n  - build: -t bk:{{.Run.ID}} app\n    env: [DOCKER_BUILDKIT=1]\n  - cmd: bk:{{.Run.ID}}\n",
    );
    let id = run_id("bk");
    let o = run(&id, &file, ctx.path(), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("BuildKit"), "{}", o.log);
    let listing: Vec<&str> = o.log.lines().filter(|l| l.starts_with("[acb_step_1]")).collect();
    assert!(listing.iter().any(|l| l.ends_with("keep.txt")), "{}", o.log);
    assert!(!listing.iter().any(|l| l.ends_with("secret.env")), ".dockerignore was not applied: {}", o.log);
    remove_image(&format!("bk:{id}"));
    assert_clean(&id);
}

#[test]
fn repeat_runs_the_step_again_and_counts_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), "steps:\n  - id: soak\n    cmd: busybox echo iteration\n    repeat: 2\n");
    let id = run_id("rep");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert_eq!(step(&o.record, "soak")["attempts"], 3);
    assert_eq!(o.log.matches("] iteration").count(), 3, "{}", o.log);
    assert_clean(&id);
}

#[test]
fn cmd_shorthand_runs_one_command_with_aliases() {
    let id = run_id("cmd");
    let out = crate::helper::drydock()
        .args(["run", "--local", "--unique-container-names", "-o", "json", "--registry", REGISTRY, "--run-id", &id])
        .args(["--cmd", "bash -c 'echo registry is $Registry'", "/dev/null"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("registry is 127.0.0.1:5000"), "{log}");
    assert_clean(&id);
}

#[test]
fn total_timeout_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), "totalTimeout: 2\nsteps:\n  - cmd: busybox sleep 300\n");
    let id = run_id("total");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(1), "{}", o.log);
    assert_eq!(o.record["status"], "Timeout");
    assert_clean(&id);
}

#[test]
fn kept_container_is_readable_by_its_step_id_in_later_steps() {
    // ACR naming (the default for local runs): `docker logs <step id>` works from a later step.
    let dir = tempfile::tempdir().unwrap();
    let step_id = format!("migrate{}", std::process::id());
    let file = write_task(
        dir.path(),
        &format!(
            "steps:\n  - id: {step_id}\n    cmd: busybox echo migrated 42\n    keep: true\n  - cmd: docker logs {step_id}\n"
        ),
    );
    let id = run_id("keep");
    let out = crate::helper::drydock()
        .args(["run", "--local", "-o", "json", "--run-id", &id, "-f"])
        .arg(&file)
        .arg("/dev/null")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.lines().any(|l| l.starts_with("[acb_step_1]") && l.contains("migrated 42")), "{log}");
    assert_clean(&id);
}

#[test]
fn janitor_removes_leftovers_of_a_dead_local_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dead = run_id("dead");
    rt.block_on(async {
        let docker = DockerHost::connect(None).await.unwrap();
        let labels = Labels::for_run(&dead)
            .with("drydock.owner", "local")
            .with("drydock.host", drydock::engine::janitor::hostname())
            .with("drydock.pid", "999999999");
        docker.create_volume(&format!("drydock_ws_{dead}"), &labels).await.unwrap();
        docker.create_network(&format!("drydock_{dead}_default"), Some("bridge"), false, &labels).await.unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), "steps:\n  - cmd: busybox true\n");
    let id = run_id("jan");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains(&dead), "{}", o.log);
    assert_clean(&dead);
}

#[test]
fn cmd_options_env_workdir_entrypoint_user_ports() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "workingDirectory: src\nenv: [A=task, B=task]\nsteps:\n  - id: opts\n    cmd: busybox sh -c 'echo A=$A B=$B C=$C pwd=$(pwd) uid=$(id -u)'\n    env: [B=step, C=step]\n    user: \"1234\"\n    ports: [\"127.0.0.1::80\"]\n    expose: [\"8080\"]\n    cpus: \"0.5\"\n  - id: image-workdir\n    cmd: busybox pwd\n    disableWorkingDirectoryOverride: true\n  - id: ep\n    cmd: busybox -c 'echo via entrypoint'\n    entryPoint: sh\n",
    );
    let id = run_id("opts");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("A=task B=step C=step pwd=/workspace/src uid=1234"), "{}", o.log);
    assert!(o.log.lines().any(|l| l == "[image-workdir] /"), "{}", o.log);
    assert!(o.log.contains("[ep] via entrypoint"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn pull_with_download_retries_and_a_missing_image() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - cmd: 127.0.0.1:5000/library/busybox:latest echo pulled\n    pull: true\n    cmdDownloadRetries: 2\n  - cmd: 127.0.0.1:5000/nope/missing:1 true\n    pull: true\n    cmdDownloadRetries: 1\n    cmdDownloadRetryDelay: 0\n",
    );
    let id = run_id("pull");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(1), "{}", o.log);
    assert!(o.log.contains("pulled"), "{}", o.log);
    assert!(o.log.contains("Pulling image 127.0.0.1:5000/nope/missing:1, attempt 2"), "{}", o.log);
    assert!(o.log.contains("could not be pulled"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn push_to_a_registry_that_needs_a_login() {
    let reg = crate::helper::registry::AuthRegistry::start("ci", "pa55word");
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM busybox\nRUN echo auth > /f\n").unwrap();
    let file = write_task(
        ctx.path(),
        &format!("steps:\n  - build: -t {h}/private/app:v1 .\n  - push: [\"{h}/private/app:v1\"]\n", h = reg.host),
    );
    let id = run_id("auth");
    let o = run(&id, &file, ctx.path(), &[]);
    assert_eq!(o.code, Some(1), "without a login the push fails: {}", o.log);
    assert!(!o.log.contains("pa55word"));
    let id = run_id("auth2");
    let login = format!("{}=ci:pa55word", reg.host);
    let o = run(&id, &file, ctx.path(), &["--registry-login", &login]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.record["output_images"][0]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(!o.log.contains("pa55word"), "password leaked: {}", o.log);
    remove_image(&format!("{}/private/app:v1", reg.host));
    assert_clean(&id);
}

#[test]
fn secrets_are_masked_in_base64_and_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - cmd: busybox sh -c 'echo plain=$TOKEN; echo b64=$(echo -n $TOKEN | base64); printf \"%s\\n\" \"$KEY\"'\n    env: [\"TOKEN={{.Values.token}}\", \"KEY={{.Values.key}}\"]\n",
    );
    let id = run_id("mask");
    let o = run(
        &id,
        &file,
        Path::new("/dev/null"),
        &["--set-secret", "token=tok-3141592", "--set-secret", "key=line-one-abcdef\nline-two-ghijkl"],
    );
    assert_eq!(o.code, Some(0), "{}", o.log);
    for leaked in ["tok-3141592", "dG9rLTMxNDE1OTI", "line-one-abcdef", "line-two-ghijkl"] {
        assert!(!o.log.contains(leaked), "{leaked} leaked: {}", o.log);
    }
    assert!(o.log.contains("plain=***"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn ipv6_network_and_start_delay() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "networks:\n  - name: v6net\n    ipv6: true\n    isDefault: true\nsteps:\n  - cmd: busybox sh -c 'ip -6 addr show eth0 | grep -q \" fd\" && echo has-ipv6'\n    startDelay: 1\n",
    );
    let id = run_id("v6");
    let o = run(&id, &file, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(o.log.contains("has-ipv6"), "{}", o.log);
    assert!(o.log.contains("Waiting 1s before starting (startDelay)"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn a_chain_of_steps_runs_without_a_network_of_its_own_and_parallel_steps_get_one() {
    let dir = tempfile::tempdir().unwrap();
    // Each step ends before the next starts: nobody to reach by id, no network to make.
    let chain = write_task(dir.path(), "steps:\n  - cmd: busybox true\n  - cmd: busybox hostname\n");
    let id = run_id("chain");
    let o = run(&id, &chain, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    assert!(!o.log.contains("Creating Docker network"), "{}", o.log);
    assert_clean(&id);
    // Steps that may run at once may talk to each other by id: the run gets its network.
    let wide = write_task(
        dir.path(),
        "steps:\n  - id: a\n    cmd: busybox true\n    when: [\"-\"]\n  - id: b\n    cmd: busybox true\n    when: [\"-\"]\n",
    );
    let id = run_id("wide");
    let o = run(&id, &wide, Path::new("/dev/null"), &[]);
    assert_eq!(o.code, Some(0), "{}", o.log);
    // Made for it, or taken from the idle networks an earlier run left (`network_pool`).
    assert!(o.log.contains("Docker network: drydock_"), "{}", o.log);
    assert_clean(&id);
}

#[test]
fn a_quick_build_shares_the_copy_layer_cache_with_docker_build() {
    use crate::helper::docker::unique;
    let ctx = tempfile::tempdir().unwrap();
    let nonce = unique("cache");
    std::fs::create_dir_all(ctx.path().join("sub/deeper")).unwrap();
    std::fs::write(ctx.path().join("app.txt"), format!("{nonce}\n")).unwrap();
    std::fs::write(ctx.path().join("sub/deeper/data.bin"), [0u8, 1, 2, 3]).unwrap();
    std::os::unix::fs::symlink("app.txt", ctx.path().join("link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ctx.path().join("sub/deeper/data.bin"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM busybox\nCOPY . /app\n").unwrap();
    // The docker CLI builds first (classic builder), then drydock's quick build of the same
    // context finds its COPY layer in the cache: the context tars hash alike.
    let docker_tag = format!("{nonce}:docker");
    let out = std::process::Command::new("/usr/bin/docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-t", &docker_tag])
        .arg(ctx.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let drydock_tag = format!("{nonce}:drydock");
    let out = crate::helper::drydock()
        .args(["build", "--local", "--no-push", "-t", &drydock_tag])
        .arg(ctx.path())
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    let copy = all.split("COPY . /app").nth(1).unwrap_or_default();
    assert!(copy.lines().take(3).any(|l| l.contains("Using cache")), "the COPY layer was built again:\n{all}");
    let id = |tag: &str| {
        let out =
            std::process::Command::new("docker").args(["image", "inspect", "-f", "{{.Id}}", tag]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(id(&docker_tag), id(&drydock_tag), "one image for both");
    remove_image(&docker_tag);
    remove_image(&drydock_tag);
}

/// `drydock run --local` with its own pool of idle networks on the engine.
fn pooled_run(pool: &str, idle: &str, text: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(dir.path(), text);
    let id = run_id("pool");
    let out = crate::helper::drydock()
        .env("DRYDOCK_NETWORK_POOL", pool)
        .env("DRYDOCK_IDLE_NETWORKS", idle)
        .args(["run", "--local", "--unique-container-names", "-o", "json", "--run-id", &id, "-f"])
        .arg(&file)
        .arg("/dev/null")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let record = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("no JSON record; log:\n{log}"));
    assert_clean(&id);
    Outcome { code: out.status.code(), record, log }
}

/// The network a run's log says it made or took.
fn network_in(log: &str) -> String {
    let line = log.lines().find(|l| l.contains(" Docker network: ")).unwrap_or_else(|| panic!("no network:\n{log}"));
    line.split(" Docker network: ").nth(1).unwrap().split(',').next().unwrap().to_string()
}

#[test]
fn runs_take_turns_on_idle_networks_and_a_step_alone_runs_on_the_default_bridge() {
    use drydock::engine::network_pool::{CLAIM_LABEL, POOL_LABEL};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let docker = rt.block_on(DockerHost::connect(None)).unwrap();
    let pool = crate::helper::docker::unique("pool");
    let ours = || rt.block_on(docker.networks_labelled(POOL_LABEL, &pool)).unwrap();
    let claimed = || rt.block_on(docker.claimed(CLAIM_LABEL)).unwrap();
    // Removes this test's networks however it ends.
    struct Sweep<'a>(Box<dyn Fn() + 'a>);
    impl Drop for Sweep<'_> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _sweep = Sweep(Box::new(|| {
        for n in ours() {
            let _ = rt.block_on(docker.remove_network(&n));
        }
    }));

    // Two steps at once, then one after both: the two share the run's network (embedded DNS),
    // the last has the engine to itself and runs on the default bridge.
    let wide = "steps:\n  - id: a\n    cmd: busybox grep -c 127.0.0.11 /etc/resolv.conf\n    when: [\"-\"]\n  - id: b\n    cmd: busybox grep -c 127.0.0.11 /etc/resolv.conf\n    when: [\"-\"]\n  - id: c\n    cmd: busybox sh -c 'grep -c 127.0.0.11 /etc/resolv.conf || echo no-run-network'\n    when: [a, b]\n";
    let first = pooled_run(&pool, "1", wide);
    assert_eq!(first.code, Some(0), "{}", first.log);
    assert!(first.log.contains("Creating Docker network: drydock_net_"), "{}", first.log);
    assert!(first.log.contains("[a] 1") && first.log.contains("[b] 1"), "{}", first.log);
    assert!(first.log.contains("[c] no-run-network"), "{}", first.log);
    let kept = network_in(&first.log);
    assert_eq!(ours(), vec![kept.clone()], "the run's network stays, idle");
    assert_eq!(rt.block_on(docker.attached_containers(&kept)).unwrap(), Some(vec![]));
    assert!(!claimed().contains(&kept), "its claim went with the run");

    // The next run takes it, and its steps reach each other by id on it.
    let service = "steps:\n  - id: svc\n    cmd: busybox sleep 20\n    detach: true\n  - id: client\n    cmd: busybox ping -c 1 -W 5 svc\n";
    let second = pooled_run(&pool, "1", service);
    assert_eq!(second.code, Some(0), "{}", second.log);
    assert!(second.log.contains(&format!("Using the idle Docker network: {kept}")), "{}", second.log);
    assert!(second.log.contains("1 packets received"), "{}", second.log);
    assert_eq!(rt.block_on(docker.attached_containers(&kept)).unwrap(), Some(vec![]), "the service went with its run");

    // Runs at once never share one; afterwards one stays idle (the pool's size), not two.
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| pooled_run(&pool, "1", service));
        let y = s.spawn(|| pooled_run(&pool, "1", service));
        (x.join().unwrap(), y.join().unwrap())
    });
    assert_eq!((x.code, y.code), (Some(0), Some(0)), "{}\n{}", x.log, y.log);
    assert_ne!(network_in(&x.log), network_in(&y.log));
    assert_eq!(ours().len(), 1, "{:?}", ours());

    // A network with a container still attached (a killed run's, say) is not taken.
    let left = ours().remove(0);
    let stray = crate::helper::docker::unique("stray");
    let started = std::process::Command::new("docker")
        .args(["run", "-d", "--name", &stray, "--network", &left, "busybox", "sleep", "60"])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let third = pooled_run(&pool, "2", service);
    let _ = std::process::Command::new("docker").args(["rm", "-f", &stray]).output();
    assert_eq!(third.code, Some(0), "{}", third.log);
    assert!(third.log.contains("Creating Docker network: drydock_net_"), "{}", third.log);
    assert_ne!(network_in(&third.log), left);

    // The claim of a run whose process died is the janitor's: the next local run sweeps it, and
    // the network is free again.
    let dead = run_id("dead");
    let labels = Labels::for_run(&dead)
        .with("drydock.owner", "local")
        .with("drydock.host", drydock::engine::janitor::hostname())
        .with("drydock.pid", "999999999");
    assert!(rt.block_on(docker.create_claim(&format!("{left}_claim"), &labels, CLAIM_LABEL, &left)).unwrap());
    let fourth = pooled_run(&pool, "2", service);
    assert_eq!(fourth.code, Some(0), "{}", fourth.log);
    assert!(fourth.log.contains(&dead), "{}", fourth.log);
    assert!(!claimed().contains(&left), "{:?}", claimed());
    assert_clean(&dead);

    // `--idle-networks 0`: the run makes its own network and removes it.
    let own = pooled_run(&pool, "0", service);
    assert_eq!(own.code, Some(0), "{}", own.log);
    let made = network_in(&own.log);
    assert!(made.starts_with("drydock_t") && made.ends_with("_default"), "{made}");
    assert!(!rt.block_on(docker.network_exists(&made)).unwrap());
}

#[test]
fn each_step_of_a_chain_is_logged_whole_before_the_next_begins() {
    // Steps' containers are removed beside the next steps, and a step's last output may come
    // late from the engine's followed log: none of that may reorder the log.
    let dir = tempfile::tempdir().unwrap();
    let file = write_task(
        dir.path(),
        "steps:\n  - id: first\n    cmd: busybox sh -c 'seq 1 3000; printf no-newline-at-the-end'\n  - id: second\n    cmd: busybox echo second-out\n  - id: third\n    cmd: busybox echo third-out\n",
    );
    for _ in 0..3 {
        let id = run_id("order");
        let o = run(&id, &file, Path::new("/dev/null"), &[]);
        assert_eq!(o.code, Some(0), "{}", o.log);
        let lines: Vec<&str> = o.log.lines().collect();
        let at = |needle: &str| {
            lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in\n{}", o.log))
        };
        assert_eq!(lines.iter().filter(|l| l.starts_with("[first] ") && l[8..].parse::<u32>().is_ok()).count(), 3000);
        assert!(at("[first] 3000") < at("[first] no-newline-at-the-end"), "{}", o.log);
        assert!(at("[first] no-newline-at-the-end") < at("Step ID: first marked as successful"), "{}", o.log);
        assert!(at("Step ID: first marked as successful") < at("Executing step ID: second"), "{}", o.log);
        assert!(at("[second] second-out") < at("Step ID: second marked as successful"), "{}", o.log);
        assert!(at("Step ID: second marked as successful") < at("Executing step ID: third"), "{}", o.log);
        assert!(at("[third] third-out") < at("Step ID: third marked as successful"), "{}", o.log);
        // The record agrees: each step finished before the next started.
        let time = |step_id: &str, field: &str| {
            chrono::DateTime::parse_from_rfc3339(step(&o.record, step_id)[field].as_str().unwrap()).unwrap()
        };
        assert!(time("first", "finished_at") <= time("second", "started_at"), "{}", o.record);
        assert!(time("second", "finished_at") <= time("third", "started_at"), "{}", o.record);
        assert_clean(&id);
    }
}
