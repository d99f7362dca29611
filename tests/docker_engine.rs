//! Integration tests against the real dockerd on this machine (no mocks).
//!
//! Every test labels what it creates with its own run id and cleans up through a guard that
//! calls `remove_run_objects`, also when an assertion fails.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::helper::docker::*;
use crate::helper::memory::vm_hwm_kb;
use bytes::Bytes;
use drydock::docker::*;
use futures_util::{StreamExt, TryStreamExt};

#[tokio::test]
async fn connect_to_missing_socket_says_what_to_do() {
    let err = DockerHost::connect(Some("unix:///nonexistent.sock")).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DockerError::Connect { .. }), "{err:?}");
    assert!(msg.contains("unix:///nonexistent.sock"), "{msg}");
    assert!(msg.contains("is dockerd running"), "{msg}");
    assert!(msg.contains("DOCKER_HOST"), "{msg}");
}

#[tokio::test]
async fn connect_to_unsupported_schemes_explains() {
    // ssh:// is supported: an unreachable host is a connection error naming the endpoint.
    let err = DockerHost::connect(Some("ssh://me@unresolvable.invalid")).await.unwrap_err();
    assert!(
        matches!(err, DockerError::Connect { .. }) && err.to_string().contains("ssh://me@unresolvable.invalid"),
        "{err}"
    );
    let err = DockerHost::connect(Some("ftp://x")).await.unwrap_err();
    assert!(err.to_string().contains("expected unix://"), "{err}");
}

#[tokio::test]
async fn connect_over_tcp_and_tls_fail_with_the_endpoint_named() {
    let err = DockerHost::connect(Some("tcp://127.0.0.1:9")).await.unwrap_err();
    assert!(matches!(err, DockerError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("tcp://127.0.0.1:9"), "{err}");
    if std::env::var_os("DOCKER_CERT_PATH").is_none() {
        // No client certificates in ~/.docker on the test machine.
        let err = DockerHost::connect(Some("https://127.0.0.1:9")).await.unwrap_err();
        assert!(err.to_string().contains("DOCKER_CERT_PATH"), "{err}");
    }
}

#[tokio::test]
async fn info_reports_the_engine() {
    let h = host().await;
    h.ping().await.unwrap();
    let info = h.info().await.unwrap();
    assert_eq!(info.os, "linux");
    assert!(!info.server_version.is_empty());
    assert!(info.api_version.starts_with("1."), "{info:?}");
}

#[tokio::test]
async fn containers_reach_each_other_by_network_alias() {
    let g = RunGuard::new().await;
    let net = g.name("net");
    g.host.create_network(&net, Some("bridge"), false, &g.labels()).await.unwrap();
    assert!(g.host.network_exists(&net).await.unwrap());
    // A second network with the same name is refused (1.41 would create a duplicate).
    let dup = g.host.create_network(&net, None, false, &g.labels()).await;
    assert!(dup.unwrap_err().is_conflict());

    let mut web =
        sh(&g, "web", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www");
    web.network = Some(net.clone());
    web.network_aliases = vec!["webalias".into()];
    let web_id = g.host.create_container(&web).await.unwrap();
    g.host.start_container(&web_id).await.unwrap();

    let mut client =
        sh(&g, "client", "for i in $(seq 1 50); do wget -qO- http://webalias/ && exit 0; sleep 0.2; done; exit 1");
    client.network = Some(net.clone());
    let out = run(&g.host, &client).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello-from-web\n");
    assert!(g.host.inspect_container(&web_id).await.unwrap().running);
}

#[tokio::test]
async fn volume_upload_of_20mb_stream_reads_back_identically() {
    let g = RunGuard::new().await;
    let vol = g.name("vol");
    g.host.create_volume(&vol, &g.labels()).await.unwrap();
    let size = 20 * 1024 * 1024 + 123;
    g.host.upload_to_volume(&vol, "sub/dir", tar_stream("data.bin", size, 7)).await.unwrap();
    let expected = file_bytes(7, size);
    let expected_sum = sha256_hex(&expected);

    let mut reader = sh(&g, "reader", "sha256sum /data/sub/dir/data.bin");
    reader.mounts = vec![Mount { source: MountSource::Volume(vol.clone()), target: "/data".into(), read_only: true }];
    let out = run(&g.host, &reader).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with(&expected_sum), "{out:?} vs {expected_sum}");

    // Download: entries are prefixed with the last path component.
    let tar: Vec<Bytes> = g.host.download_from_volume(&vol, "sub/dir").await.unwrap().try_collect().await.unwrap();
    let tar: Vec<u8> = tar.concat();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut found = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "dir/data.bin" {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            assert!(data == expected, "downloaded bytes differ");
            found = true;
        } else {
            assert_eq!(path.trim_end_matches('/'), "dir");
        }
    }
    assert!(found, "dir/data.bin not in the download");

    // The helper containers are gone once the stream has ended.
    let objs = g.host.list_run_objects(&[(RUN_LABEL, &g.run_id)]).await.unwrap();
    let helpers: Vec<_> =
        objs.iter().flat_map(|r| &r.containers).filter(|c| c.labels.contains_key("drydock.helper")).collect();
    assert!(helpers.is_empty(), "{helpers:?}");
}

#[tokio::test]
async fn download_of_volume_root_and_missing_path() {
    let g = RunGuard::new().await;
    let vol = g.name("vol");
    g.host.create_volume(&vol, &g.labels()).await.unwrap();
    g.host.write_files_to_volume(&vol, &[("a.txt", b"A", 0o644)]).await.unwrap();
    let tar: Vec<Bytes> = g.host.download_from_volume(&vol, "").await.unwrap().try_collect().await.unwrap();
    let tar = tar.concat();
    let names: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "./a.txt"), "{names:?}");

    let missing = g.host.download_from_volume(&vol, "nope").await.unwrap();
    let err = std::pin::pin!(missing).next().await.unwrap().unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn small_files_written_to_volume_keep_mode() {
    let g = RunGuard::new().await;
    let vol = g.name("vol");
    g.host.create_volume(&vol, &g.labels()).await.unwrap();
    g.host
        .write_files_to_volume(&vol, &[("secrets/token", b"s3cr3t", 0o600), ("cfg/a/b.conf", b"x=1\n", 0o644)])
        .await
        .unwrap();
    let mut reader = sh(&g, "reader", "cat /w/secrets/token; echo; stat -c %a /w/secrets/token; cat /w/cfg/a/b.conf");
    reader.mounts = vec![Mount { source: MountSource::Volume(vol), target: "/w".into(), read_only: false }];
    let out = run(&g.host, &reader).await;
    assert_eq!(out.stdout, "s3cr3t\n600\nx=1\n", "{out:?}");
}

#[tokio::test]
async fn env_workdir_user_entrypoint_and_cmd_are_honoured() {
    let g = RunGuard::new().await;
    let mut spec = ContainerSpec::new(g.name("cfg"), BUSYBOX, g.labels());
    spec.entrypoint = Some(vec!["sh".into(), "-c".into()]);
    spec.cmd = Some(vec!["echo $FOO; pwd; id -u; id -g".into()]);
    spec.env = vec!["FOO=bar baz".into()];
    spec.working_dir = Some("/tmp/wd".into());
    spec.user = Some("1234:5678".into());
    let out = run(&g.host, &spec).await;
    assert_eq!(out.stdout, "bar baz\n/tmp/wd\n1234\n5678\n", "{out:?}");
}

#[tokio::test]
async fn exit_codes_and_stream_separation() {
    let g = RunGuard::new().await;
    let out = run(&g.host, &sh(&g, "fail", "echo out; echo err >&2; exit 3")).await;
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let out = run(&g.host, &sh(&g, "ok", "true")).await;
    assert_eq!(out.code, 0);

    // Waiting on a container that exited long ago returns its code at once.
    let id = g.host.create_container(&sh(&g, "early", "exit 4")).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(g.host.wait_container(&id).await.unwrap(), 4);
    let state = g.host.inspect_container(&id).await.unwrap();
    assert_eq!((state.running, state.exit_code), (false, Some(4)));
}

#[tokio::test]
async fn wait_on_auto_removed_container_still_gives_exit_code() {
    let g = RunGuard::new().await;
    let mut spec = sh(&g, "rm", "exit 5");
    spec.auto_remove = true;
    let id = g.host.create_container(&spec).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    // Let the engine remove it before we wait: the 20.10 wait then answers 404.
    for _ in 0..50 {
        if !g.host.container_exists(&id).await.unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!g.host.container_exists(&id).await.unwrap());
    assert_eq!(g.host.wait_container(&id).await.unwrap(), 5);
}

#[tokio::test]
async fn stop_a_sleeping_container() {
    let g = RunGuard::new().await;
    let mut spec = ContainerSpec::new(g.name("sleep"), BUSYBOX, g.labels());
    spec.cmd = Some(vec!["sleep".into(), "1000".into()]);
    let id = g.host.create_container(&spec).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    assert!(g.host.inspect_container(&id).await.unwrap().running);
    g.host.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    // SIGTERM, or SIGKILL after the grace period: either way not the 1000 s sleep's own end.
    let code = g.host.wait_container(&id).await.unwrap();
    assert!(code == 137 || code == 143, "exit code {code}");
    assert!(!g.host.inspect_container(&id).await.unwrap().running);
    // Stopping again, killing a stopped container and removing twice are all fine.
    g.host.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    g.host.kill_container(&id, None).await.unwrap();
    g.host.remove_container(&id, true).await.unwrap();
    g.host.remove_container(&id, true).await.unwrap();
    assert!(!g.host.container_exists(&id).await.unwrap());
}

#[tokio::test]
async fn labels_are_set_and_the_janitor_leaves_nothing() {
    let g = RunGuard::new().await;
    let labels = g.labels().with("drydock.node", "n1");
    let net = g.name("net");
    let vol = g.name("vol");
    g.host.create_network(&net, None, false, &labels).await.unwrap();
    g.host.create_volume(&vol, &labels).await.unwrap();
    let mut spec = ContainerSpec::new(g.name("c"), BUSYBOX, labels.clone());
    spec.cmd = Some(vec!["sleep".into(), "1000".into()]);
    spec.network = Some(net.clone());
    spec.mounts =
        vec![Mount { source: MountSource::Volume(vol.clone()), target: "/workspace".into(), read_only: false }];
    let id = g.host.create_container(&spec).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    // A container of another run attached to this run's network must not block its removal.
    let other = RunGuard::new().await;
    let mut foreign = ContainerSpec::new(other.name("f"), BUSYBOX, other.labels());
    foreign.cmd = Some(vec!["sleep".into(), "1000".into()]);
    foreign.network = Some(net.clone());
    let foreign_id = other.host.create_container(&foreign).await.unwrap();
    other.host.start_container(&foreign_id).await.unwrap();

    let state = g.host.inspect_container(&id).await.unwrap();
    assert_eq!(state.labels.get(RUN_LABEL), Some(&g.run_id));
    assert_eq!(state.labels.get("drydock.node").map(String::as_str), Some("n1"));

    let runs = g.host.list_run_objects(&[("drydock.node", "n1")]).await.unwrap();
    let mine = runs.iter().find(|r| r.run_id == g.run_id).expect("run listed");
    assert_eq!(mine.containers.len(), 1);
    assert_eq!(mine.containers[0].name, g.name("c"));
    assert_eq!(mine.networks, vec![net.clone()]);
    assert_eq!(mine.volumes, vec![vol.clone()]);
    assert!(runs.iter().all(|r| r.run_id != other.run_id), "node filter must exclude the other run");

    let report = g.host.remove_run_objects(&g.run_id).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.containers, vec![g.name("c")]);
    assert_eq!(report.networks, vec![net.clone()]);
    assert_eq!(report.volumes, vec![vol.clone()]);
    let after = g.host.list_run_objects(&[(RUN_LABEL, &g.run_id)]).await.unwrap();
    assert!(after.is_empty(), "{after:?}");
    assert!(!g.host.network_exists(&net).await.unwrap());
    assert!(!g.host.volume_exists(&vol).await.unwrap());
    // Removing again is a no-op; removing missing objects is fine.
    assert!(g.host.remove_run_objects(&g.run_id).await.unwrap().is_clean());
    g.host.remove_network(&net).await.unwrap();
    g.host.remove_volume(&vol).await.unwrap();
}

#[tokio::test]
async fn published_port_is_parsed_visible_and_reachable() {
    let g = RunGuard::new().await;
    let mut web = sh(&g, "web", "mkdir -p /www && echo published > /www/index.html && exec httpd -f -p 80 -h /www");
    web.ports = vec!["127.0.0.1:0:80".into()];
    web.expose = vec!["81/udp".into()];
    let id = g.host.create_container(&web).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    let state = g.host.inspect_container(&id).await.unwrap();
    let p = state.published_ports.iter().find(|p| p.container_port == 80).unwrap_or_else(|| panic!("{state:?}"));
    assert_eq!(p.protocol, "tcp");
    assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
    let port: u16 = p.host_port.as_deref().unwrap().parse().unwrap();
    assert!(port > 0);

    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(text) = http_get(port).await {
            body = text;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.ends_with("published\n"), "{body:?}");

    let mut bad = sh(&g, "bad", "true");
    bad.ports = vec!["127.0.0.1:x:80".into()];
    let err = g.host.create_container(&bad).await.unwrap_err();
    assert!(matches!(err, DockerError::InvalidPort { .. }), "{err}");
}

async fn http_get(port: u16) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    if out.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}

#[tokio::test]
async fn create_with_missing_image_is_not_found() {
    let g = RunGuard::new().await;
    let spec = ContainerSpec::new(g.name("x"), "dd-test/no-such-image:nope", g.labels());
    let err = g.host.create_container(&spec).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("pull it"), "{err}");
}

fn build_context() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    small_tar(&[
        (
            "docker/app.Dockerfile",
            "FROM busybox:latest AS base\n\
             ARG GREETING=unset\n\
             COPY hello.txt /hello.txt\n\
             RUN echo \"greeting is $GREETING\" && cat /hello.txt\n\
             RUN echo \"$GREETING\" > /greeting\n\
             FROM base AS final\n\
             COPY sub/data.txt /data.txt\n\
             FROM final AS broken\n\
             RUN exit 9\n",
        ),
        ("hello.txt", "hello from the context\n"),
        ("sub/data.txt", "nested data\n"),
    ])
}

fn build_request(g: &RunGuard, buildkit: bool) -> BuildRequest {
    BuildRequest {
        dockerfile: "docker/app.Dockerfile".into(),
        tags: vec![g.image(format!("dd-test/{}:one", g.run_id)), g.image(format!("dd-test/{}:two", g.run_id))],
        build_args: BTreeMap::from([("GREETING".into(), "hi-there".into())]),
        target: Some("final".into()),
        labels: BTreeMap::from([("org.example.built-by".into(), "drydock".into())]),
        buildkit,
        ..Default::default()
    }
}

async fn check_built_image(g: &RunGuard, req: &BuildRequest, outcome: &BuildOutcome) {
    for tag in &req.tags {
        let info = g.host.inspect_image(tag).await.unwrap();
        assert_eq!(info.id, outcome.image_id);
    }
    let mut spec = ContainerSpec::new(g.name("check"), req.tags[0].clone(), g.labels());
    spec.cmd = Some(vec!["sh".into(), "-c".into(), "cat /greeting /data.txt /hello.txt".into()]);
    let out = run(&g.host, &spec).await;
    assert_eq!(out.stdout, "hi-there\nnested data\nhello from the context\n", "{out:?}");
}

#[tokio::test]
async fn classic_build_with_args_target_labels_and_logs() {
    let g = RunGuard::new().await;
    let req = build_request(&g, false);
    let mut logs = Vec::new();
    let res = g.host.build_image(req.clone(), build_context(), |l| logs.push(l.line)).await;
    let outcome = res.unwrap_or_else(|e| panic!("{e}\n{}", logs.join("\n")));
    let text = logs.join("\n");
    assert!(text.contains("Step 1/"), "{text}");
    assert!(text.contains("greeting is hi-there"), "{text}");
    assert!(text.contains("hello from the context"), "{text}");
    assert!(!text.contains("exit 9"), "target must stop before the broken stage: {text}");
    check_built_image(&g, &req, &outcome).await;
}

#[tokio::test]
async fn buildkit_build_with_args_target_labels_and_logs() {
    let g = RunGuard::new().await;
    let req = build_request(&g, true);
    let mut logs = Vec::new();
    let res = g.host.build_image(req.clone(), build_context(), |l| logs.push(l.line)).await;
    let outcome = res.unwrap_or_else(|e| panic!("{e}\n{}", logs.join("\n")));
    let text = logs.join("\n");
    assert!(text.contains("] RUN echo \"greeting is hi-there\" && cat /hello.txt"), "{text}");
    assert!(text.contains("greeting is hi-there"), "{text}");
    assert!(logs.iter().any(|l| l.starts_with('#') && l.contains(" DONE ")), "{text}");
    assert!(!text.contains("exit 9"), "{text}");
    check_built_image(&g, &req, &outcome).await;
}

fn failing_context() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    small_tar(&[("Dockerfile", "FROM busybox:latest\nRUN echo before-failure && exit 3\n")])
}

#[tokio::test]
async fn classic_build_failure_is_a_clear_error() {
    let g = RunGuard::new().await;
    let req = BuildRequest { dockerfile: "Dockerfile".into(), ..Default::default() };
    let mut logs = Vec::new();
    let err = g.host.build_image(req, failing_context(), |l| logs.push(l.line)).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DockerError::BuildFailed { .. }), "{err:?}");
    assert!(msg.contains("non-zero code: 3"), "{msg}");
    assert!(logs.iter().any(|l| l == "before-failure"), "{logs:?}");
    let _ = g;
}

#[tokio::test]
async fn buildkit_build_failure_is_a_clear_error() {
    let g = RunGuard::new().await;
    let req = BuildRequest { dockerfile: "Dockerfile".into(), buildkit: true, ..Default::default() };
    let mut logs = Vec::new();
    let err = g.host.build_image(req, failing_context(), |l| logs.push(l.line)).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DockerError::BuildFailed { .. }), "{err:?}");
    assert!(msg.contains("exit code: 3"), "{msg}");
    let text = logs.join("\n");
    assert!(text.contains("before-failure"), "{text}");
    assert!(text.contains("ERROR"), "{text}");
    let _ = g;
}

#[tokio::test]
async fn build_with_missing_dockerfile_fails_clearly() {
    let g = RunGuard::new().await;
    for buildkit in [false, true] {
        let req = BuildRequest { dockerfile: "nope/Dockerfile".into(), buildkit, ..Default::default() };
        let err = g.host.build_image(req, failing_context(), |_| {}).await.unwrap_err();
        assert!(matches!(err, DockerError::BuildFailed { .. }), "{err:?}");
        assert!(err.to_string().to_lowercase().contains("dockerfile"), "{err}");
    }
}

#[tokio::test]
async fn buildkit_secrets_reach_run_mounts_and_classic_refuses_them() {
    let g = RunGuard::new().await;
    let tag = g.image(format!("dd-test/{}:secret", g.run_id));
    let context = || {
        small_tar(&[(
            "Dockerfile",
            "FROM busybox:latest\n\
             RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /tok_len && \
             sha256sum /run/secrets/tok | cut -c1-64 > /tok_sum\n",
        )])
    };
    let secret = b"super-secret-value".to_vec();
    let mut req = BuildRequest {
        dockerfile: "Dockerfile".into(),
        tags: vec![tag.clone()],
        buildkit: false,
        secrets: BTreeMap::from([("tok".into(), secret.clone())]),
        ..Default::default()
    };
    let err = g.host.build_image(req.clone(), context(), |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("need BuildKit"), "{err}");

    req.buildkit = true;
    let mut logs = Vec::new();
    let outcome =
        g.host.build_image(req, context(), |l| logs.push(l.line)).await.unwrap_or_else(|e| panic!("{e}\n{logs:?}"));
    let mut spec = ContainerSpec::new(g.name("sec"), tag.clone(), g.labels());
    spec.cmd = Some(vec!["sh".into(), "-c".into(), "cat /tok_len /tok_sum".into()]);
    let out = run(&g.host, &spec).await;
    assert_eq!(out.stdout, format!("{}\n{}\n", secret.len(), sha256_hex(&secret)), "{out:?}");
    assert_eq!(g.host.inspect_image(&tag).await.unwrap().id, outcome.image_id);
}

#[tokio::test]
async fn push_to_local_registry_gives_a_repo_digest() {
    let g = RunGuard::new().await;
    let reference = g.image(format!("{REGISTRY}/dd-test/{}:t", g.run_id));
    g.host.tag_image(BUSYBOX, &reference).await.unwrap();
    let mut progress = Vec::new();
    let cred = RegistryCredential {
        server: REGISTRY.into(),
        username: "anyone".into(),
        password: "ignored-by-this-registry".into(),
    };
    g.host.push_image(&reference, Some(&cred), |l| progress.push(l)).await.unwrap();
    assert!(progress.iter().any(|l| l.contains("digest: sha256:")), "{progress:?}");
    let info = g.host.inspect_image(&reference).await.unwrap();
    let repo = reference.rsplit_once(':').unwrap().0;
    assert!(info.repo_digests.iter().any(|d| d.starts_with(&format!("{repo}@sha256:"))), "{info:?}");
    let digest = g.host.repo_digest_for(&reference).await.unwrap().unwrap();
    assert!(digest.starts_with(&format!("{repo}@sha256:")), "{digest}");
    g.host.remove_image(&reference, false).await.unwrap();
    assert!(!g.host.image_exists(&reference).await.unwrap());
}

#[tokio::test]
async fn pull_of_missing_image_is_a_clear_error() {
    let h = host().await;
    let reference = format!("{REGISTRY}/dd-test/does-not-exist:nope");
    let err = h.pull_image(&reference, None, |_| {}).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DockerError::PullFailed { .. }), "{err:?}");
    assert!(msg.contains(&reference), "{msg}");
    assert!(msg.contains("manifest unknown") || msg.contains("not found"), "{msg}");
}

#[tokio::test]
async fn pull_of_existing_image_from_local_registry() {
    let g = RunGuard::new().await;
    let reference = g.image(format!("{REGISTRY}/dd-test/{}:pull", g.run_id));
    g.host.tag_image(BUSYBOX, &reference).await.unwrap();
    g.host.push_image(&reference, None, |_| {}).await.unwrap();
    g.host.remove_image(&reference, false).await.unwrap();
    let mut lines = Vec::new();
    g.host.pull_image(&reference, None, |l| lines.push(l)).await.unwrap();
    assert!(g.host.image_exists(&reference).await.unwrap(), "{lines:?}");
    g.host.remove_image(&reference, false).await.unwrap();
}

/// Streams 1 GB into a volume and reports the growth of peak RSS. Run with
/// `cargo test --release -- --ignored --nocapture upload_of_1gb`.
#[tokio::test]
#[ignore = "moves 1 GB through dockerd; run by hand to measure memory"]
async fn upload_of_1gb_stream_keeps_memory_flat() {
    let g = RunGuard::new().await;
    let vol = g.name("big");
    g.host.create_volume(&vol, &g.labels()).await.unwrap();
    // Warm up connection and seed image so they do not count.
    g.host.upload_to_volume(&vol, "warm", tar_stream("w", 1024, 1)).await.unwrap();
    let before_upload = vm_hwm_kb();
    let started = std::time::Instant::now();
    g.host.upload_to_volume(&vol, "", tar_stream("big.bin", 1 << 30, 3)).await.unwrap();
    let after_upload = vm_hwm_kb();
    println!("upload 1 GiB: VmHWM {before_upload} kB -> {after_upload} kB in {:?}", started.elapsed());
    let before = vm_hwm_kb();
    let mut n = 0u64;
    let mut s = std::pin::pin!(g.host.download_from_volume(&vol, "big.bin").await.unwrap());
    while let Some(chunk) = s.next().await {
        n += chunk.unwrap().len() as u64;
    }
    let after_dl = vm_hwm_kb();
    println!("download {n} bytes: VmHWM {before} kB -> {after_dl} kB");
    let before = vm_hwm_kb();
    let req = BuildRequest { dockerfile: "Dockerfile".into(), ..Default::default() };
    // A 1 GiB build context: a Dockerfile that ignores the big file, streamed.
    let ctx =
        small_tar_no_end(&[("Dockerfile", "FROM busybox:latest\nRUN true\n")]).chain(tar_stream("big.bin", 1 << 30, 4));
    let out = g.host.build_image(req.clone(), ctx, |_| {}).await.unwrap();
    g.image(out.image_id.clone());
    let after_build = vm_hwm_kb();
    println!("classic build with 1 GiB context: VmHWM {before} kB -> {after_build} kB ({})", out.image_id);
    let ctx =
        small_tar_no_end(&[("Dockerfile", "FROM busybox:latest\nRUN true\n")]).chain(tar_stream("big.bin", 1 << 30, 5));
    let req = BuildRequest { buildkit: true, ..req };
    let out = g.host.build_image(req, ctx, |_| {}).await.unwrap();
    g.image(out.image_id.clone());
    let after_bk = vm_hwm_kb();
    println!("BuildKit build with 1 GiB context: VmHWM {after_build} kB -> {after_bk} kB");
    // Peak RSS over the whole test (upload, download, build of 1 GiB each) stays small.
    assert!(after_bk < before_upload + 64 * 1024, "peak RSS grew from {before_upload} kB to {after_bk} kB");
}

/// A tar of small files without the end-of-archive blocks, to prepend to another tar stream.
fn small_tar_no_end(
    files: &[(&str, &str)],
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut out = Vec::new();
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(content.as_bytes());
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    futures_util::stream::once(async move { Ok(Bytes::from(out)) })
}

/// Compile-time check: the engine spawns these futures on a multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send(h: &DockerHost) {
    fn send<T: Send>(_: T) {}
    fn clone_sync<T: Send + Sync + Clone + 'static>() {}
    clone_sync::<DockerHost>();
    let empty = || futures_util::stream::empty::<Result<Bytes, std::io::Error>>();
    send(DockerHost::connect(None));
    send(h.build_image(BuildRequest::default(), empty(), |_| {}));
    send(h.upload_to_volume("v", "d", empty()));
    send(h.download_from_volume("v", "d"));
    send(h.wait_container("x"));
    send(h.remove_run_objects("x"));
    send(h.push_image("x", None, |_| {}));
    send(h.pull_image("x", None, |_| {}));
    send(h.logs("x", true));
}

#[tokio::test]
async fn failing_upload_stream_is_reported_and_leaves_no_helper() {
    let g = RunGuard::new().await;
    let vol = g.name("vol");
    g.host.create_volume(&vol, &g.labels()).await.unwrap();
    let broken = tar_stream("x.bin", 10 * 1024 * 1024, 1)
        .take(20)
        .chain(futures_util::stream::once(async { Err(std::io::Error::other("context source went away")) }));
    let err = g.host.upload_to_volume(&vol, "d", broken).await.unwrap_err();
    assert!(err.to_string().contains("copying an archive"), "{err}");
    println!("failing source: {err}");
    let junk = futures_util::stream::once(async { Ok(Bytes::from_static(b"not a tar at all")) });
    let err = g.host.upload_to_volume(&vol, "", junk).await.unwrap_err();
    assert!(!err.to_string().is_empty());
    let objs = g.host.list_run_objects(&[(RUN_LABEL, &g.run_id)]).await.unwrap();
    assert!(objs.iter().all(|r| r.containers.is_empty()), "helper containers left: {objs:?}");
    println!("broken stream: {err}");
}

#[tokio::test]
async fn tty_container_output_arrives_as_stdout() {
    let g = RunGuard::new().await;
    let mut spec = sh(&g, "tty", "echo on-a-tty; echo also >&2");
    spec.tty = true;
    let out = run(&g.host, &spec).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("on-a-tty") && out.stdout.contains("also"), "{out:?}");
    assert!(out.stderr.is_empty());
}

#[tokio::test]
async fn logs_can_be_followed_while_the_container_runs() {
    let g = RunGuard::new().await;
    let id =
        g.host.create_container(&sh(&g, "follow", "for i in 1 2 3; do echo line$i; sleep 0.3; done")).await.unwrap();
    g.host.start_container(&id).await.unwrap();
    let mut text = String::new();
    let mut logs = std::pin::pin!(g.host.logs(&id, true));
    while let Some(chunk) = logs.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap().bytes));
    }
    assert_eq!(text, "line1\nline2\nline3\n");
    assert_eq!(g.host.wait_container(&id).await.unwrap(), 0);
}
