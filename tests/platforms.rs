//! `--platform`: a build for arm64, arm/v7 or 386 on this amd64 machine (QEMU through binfmt_misc,
//! set up by scripts/setup.sh) makes an image of that platform whose programs run as that platform;
//! several platforms make one OCI index in the registry; a build the engine made for another
//! platform than asked for fails and pushes nothing; a platform the machine cannot run is refused
//! with how to enable it.
//!
//! Every build here starts FROM the multi-platform `library/busybox-multi` in the test registry. The
//! engine keeps one platform per local name, so these tests take turns (`TURN`).

use crate::helper::docker::{REGISTRY, unique};
use crate::helper::drydock;
use serde_json::Value;

/// One platform build at a time: they move the local name of the shared base between platforms.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const BASE: &str = "library/busybox-multi";

fn context(dockerfile: &str) -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    let text = format!("{dockerfile}\nLABEL nonce={}\n", unique("n"));
    std::fs::write(ctx.path().join("Dockerfile"), text).unwrap();
    ctx
}

/// A Dockerfile whose image records what its build ran as: `uname -m`, and the ELF machine of its
/// own busybox (the kernel says x86_64 to a 32-bit x86 process too, so 386 is told by the binary).
fn recording_dockerfile() -> String {
    format!(
        "FROM {REGISTRY}/{BASE}\nARG TARGETARCH\n\
         RUN uname -m > /uname && echo \"$TARGETARCH\" > /targetarch && od -An -tx1 -j18 -N1 /bin/busybox | tr -d ' \\n' > /elf\n"
    )
}

/// Runs `drydock` with `args`; its exit code and all it printed.
fn run(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let out = drydock().args(args).arg(dir).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), all)
}

/// The registry's answer for a manifest or index, parsed.
async fn manifest(repository: &str, reference: &str) -> Option<Value> {
    let url = format!("http://{REGISTRY}/v2/{repository}/manifests/{reference}");
    let answer =
        drydock::tls::client().get(url).header("accept", crate::helper::engine::MANIFEST_ACCEPT).send().await.unwrap();
    if !answer.status().is_success() {
        return None;
    }
    Some(answer.json().await.unwrap())
}

/// `os/arch[/variant]` from the config blob of a pushed image manifest.
async fn pushed_platform(repository: &str, reference: &str) -> String {
    let m = manifest(repository, reference).await.expect("manifest pushed");
    let config = m["config"]["digest"].as_str().unwrap().to_string();
    let url = format!("http://{REGISTRY}/v2/{repository}/blobs/{config}");
    let c: Value = drydock::tls::client().get(url).send().await.unwrap().json().await.unwrap();
    let variant = c["variant"].as_str().map(|v| format!("/{v}")).unwrap_or_default();
    format!("{}/{}{variant}", c["os"].as_str().unwrap(), c["architecture"].as_str().unwrap())
}

fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the image recorded at build time (see [`recording_dockerfile`]).
fn recorded(image: &str) -> (String, String, String) {
    let out = docker(&["run", "--rm", image, "cat", "/uname", "/targetarch", "/elf"]);
    let mut lines = out.lines().map(str::to_string);
    (lines.next().unwrap_or_default(), lines.next().unwrap_or_default(), lines.next().unwrap_or_default())
}

/// Removes images a test made (best effort).
fn forget(images: &[&str]) {
    let _ = std::process::Command::new("docker").args(["rmi", "-f"]).args(images).output();
}

fn local_id(name: &str) -> String {
    docker(&["image", "inspect", "-f", "{{.Id}}", name]).trim().to_string()
}

#[tokio::test]
async fn single_platform_builds_for_arm64_arm_v7_and_386_are_those_platforms() {
    let _turn = TURN.lock().await;
    let ctx = context(&recording_dockerfile());
    let repository = unique("platform/single");
    // (platform, `uname -m` inside, TARGETARCH, ELF e_machine of the image's own binary)
    let cases = [
        ("linux/arm64", "aarch64", "arm64", "b7"),
        ("linux/arm/v7", "armv7l", "arm", "28"),
        ("linux/386", "x86_64", "386", "03"),
    ];
    for (platform, uname, arch, elf) in cases {
        let tag = platform.replace('/', "-");
        let image = format!("{REGISTRY}/{repository}:{tag}");
        let (code, all) = run(&["build", "--local", "--platform", platform, "-t", &image], ctx.path());
        assert_eq!(code, Some(0), "{platform}: {all}");
        assert!(all.contains(&format!("Platform: {platform} (checked in the image's config)")), "{all}");
        assert_eq!(pushed_platform(&repository, &tag).await, platform, "the pushed config");
        docker(&["rmi", "-f", &image]);
        docker(&["pull", "-q", &image]);
        assert_eq!(recorded(&image), (uname.to_string(), arch.to_string(), elf.to_string()), "{platform}");
        forget(&[&image]);
    }
}

#[tokio::test]
async fn three_platforms_make_one_index_whose_every_platform_pulls_and_runs() {
    let _turn = TURN.lock().await;
    let base = format!("{REGISTRY}/{BASE}");
    docker(&["pull", "-q", "--platform", "linux/amd64", &base]);
    let base_before = local_id(&base);
    let ctx = context(&recording_dockerfile());
    let repository = unique("platform/multi");
    let image = format!("{REGISTRY}/{repository}:v1");
    let platforms = "linux/amd64,linux/arm64,linux/arm/v7";
    let (code, all) = run(&["build", "--local", "--platform", platforms, "-t", &image], ctx.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("an image index over 3 platforms"), "{all}");

    let index = manifest(&repository, "v1").await.expect("index pushed");
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json", "{index}");
    let entries = index["manifests"].as_array().unwrap();
    let listed: Vec<String> = entries
        .iter()
        .map(|e| {
            let p = &e["platform"];
            let variant = p["variant"].as_str().map(|v| format!("/{v}")).unwrap_or_default();
            format!("{}/{}{variant}", p["os"].as_str().unwrap(), p["architecture"].as_str().unwrap())
        })
        .collect();
    assert_eq!(listed, ["linux/amd64", "linux/arm64", "linux/arm/v7"], "in the order asked for");
    for (entry, platform) in entries.iter().zip(&listed) {
        let digest = entry["digest"].as_str().unwrap();
        assert_eq!(&pushed_platform(&repository, digest).await, platform, "the config under the {platform} entry");
        assert!(all.contains(&format!("Pushed {image} for {platform}: digest {digest}")), "{all}");
    }

    let expected =
        [("linux/amd64", "x86_64", "amd64"), ("linux/arm64", "aarch64", "arm64"), ("linux/arm/v7", "armv7l", "arm")];
    for (platform, uname, arch) in expected {
        docker(&["rmi", "-f", &image]);
        docker(&["pull", "-q", "--platform", platform, &image]);
        let (got_uname, got_arch, _) = recorded(&image);
        assert_eq!((got_uname.as_str(), got_arch.as_str()), (uname, arch), "pulled for {platform}");
    }
    // The shared base's local name was given back to the image it named before.
    assert_eq!(local_id(&base), base_before, "the base's local name moved");
    forget(&[&image]);
}

#[tokio::test]
async fn from_buildplatform_with_arg_targetarch_builds_for_the_target() {
    let _turn = TURN.lock().await;
    let dockerfile = format!(
        "FROM --platform=$BUILDPLATFORM {REGISTRY}/{BASE} AS tools\nARG TARGETARCH\nRUN echo \"$TARGETARCH\" > /for\n\
         FROM {REGISTRY}/{BASE}\nCOPY --from=tools /for /for\nRUN uname -m > /uname\n"
    );
    let ctx = context(&dockerfile);
    for builder in [None, Some("--buildkit")] {
        let image = format!("{REGISTRY}/{}:arm64", unique("platform/buildplatform"));
        let mut args = vec!["build", "--local", "--no-push", "--platform", "linux/arm64", "-t", &image];
        args.extend(builder);
        let (code, all) = run(&args, ctx.path());
        assert_eq!(code, Some(0), "{builder:?}: {all}");
        let out = docker(&["run", "--rm", &image, "cat", "/for", "/uname"]);
        assert_eq!(out.lines().collect::<Vec<_>>(), ["arm64", "aarch64"], "{builder:?}");
        forget(&[&image]);
    }
}

#[tokio::test]
async fn a_platform_this_machine_cannot_run_is_refused_with_how_to_enable_it() {
    let ctx = context(&format!("FROM {REGISTRY}/{BASE}\nRUN true\n"));
    let repository = unique("platform/riscv");
    let image = format!("{REGISTRY}/{repository}:v1");
    let (code, all) = run(&["build", "--local", "--platform", "linux/riscv64", "-t", &image], ctx.path());
    assert_ne!(code, Some(0), "{all}");
    assert!(all.contains("cannot run linux/riscv64 binaries"), "{all}");
    assert!(all.contains("update-binfmts --enable qemu-riscv64"), "{all}");
    assert!(manifest(&repository, "v1").await.is_none(), "nothing is pushed");
}

#[tokio::test]
async fn a_build_for_a_platform_the_engine_does_not_have_fails_and_pushes_nothing() {
    // busybox is on this engine for linux/amd64 only, and there is no registry to pull another from.
    let ctx = context("FROM busybox");
    let repository = unique("platform/app");
    let image = format!("{REGISTRY}/{repository}:arm64");
    let (code, all) = run(&["build", "--local", "--platform", "linux/arm64", "-t", &image], ctx.path());
    assert_ne!(code, Some(0), "{all}");
    assert!(all.contains("this engine has busybox:latest only for linux/amd64"), "{all}");
    assert!(all.contains("Push a multi-platform image"), "{all}");
    assert!(manifest(&repository, "arm64").await.is_none(), "a wrong-platform image was pushed");

    // The engine's own platform, asked for, is checked and goes through.
    let image = format!("{REGISTRY}/{repository}:amd64");
    let (code, all) = run(&["build", "--local", "--platform", "linux/amd64", "-t", &image], ctx.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("Platform: linux/amd64 (checked in the image's config)"), "{all}");
    assert_eq!(pushed_platform(&repository, "amd64").await, "linux/amd64");
    forget(&[&image]);
}

#[tokio::test]
async fn a_run_of_one_platform_runs_its_cmd_steps_as_that_platform() {
    let _turn = TURN.lock().await;
    let base = format!("{REGISTRY}/{BASE}");
    docker(&["pull", "-q", "--platform", "linux/amd64", &base]);
    let before = local_id(&base);
    let dir = tempfile::tempdir().unwrap();
    let task = format!("steps:\n  - cmd: {base} uname -m\n  - cmd: {base} sh -c 'echo second-$(uname -m)'\n");
    std::fs::write(dir.path().join("acb.yaml"), task).unwrap();
    let (code, all) = run(&["run", "--local", "--platform", "linux/arm/v7"], dir.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.lines().any(|l| l.ends_with("armv7l")), "{all}");
    assert!(all.contains("second-armv7l"), "{all}");
    assert!(all.contains("Platform: linux/arm/v7 (image sha256:"), "{all}");
    assert_eq!(local_id(&base), before, "the image's local name stays the native image's");
    // The run's record names the platform it ran as.
    let out = drydock()
        .args(["run", "--local", "--platform", "linux/arm64", "-o", "json", "--cmd", &format!("{base} uname -m")])
        .output()
        .unwrap();
    let record: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(record["platform"], "linux/arm64", "{}", String::from_utf8_lossy(&out.stderr));

    // A task's build step without a --platform of its own builds for the run's platforms, and its
    // push step pushes the index.
    let repository = unique("platform/task");
    let image = format!("{REGISTRY}/{repository}:v1");
    std::fs::write(dir.path().join("Dockerfile"), recording_dockerfile()).unwrap();
    let task = format!("steps:\n  - build: -t {image} .\n  - push: [\"{image}\"]\n");
    std::fs::write(dir.path().join("acb.yaml"), task).unwrap();
    let (code, all) = run(&["run", "--local", "--platform", "linux/arm64,linux/386"], dir.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("an image index over 2 platforms"), "{all}");
    let index = manifest(&repository, "v1").await.expect("index pushed");
    let archs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["arm64", "386"], "{index}");
    forget(&[&image]);
}

#[tokio::test]
async fn a_daemon_node_lists_its_platforms_and_a_run_none_can_take_waits_saying_why() {
    use crate::helper::daemon::TestDaemon;
    let d = TestDaemon::start(1).await;
    let (_, nodes) = d.get("/v1/nodes").await;
    let labels = &nodes[0]["labels"];
    for p in ["linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7"] {
        assert_eq!(labels[format!("platform:{p}")], "yes", "{nodes}");
    }
    let step = serde_json::json!({"kind": "cmd", "cmd": format!("{REGISTRY}/{BASE} uname -m")});
    let (status, run) = d.post("/v1/runs", serde_json::json!({"step": step, "platform": "linux/riscv64"})).await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let out = d.cli(&["runs", "show", &id]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Queued"), "{text}");
    assert!(text.contains("no node that is up runs linux/riscv64"), "{text}");
    assert!(text.contains("update-binfmts --enable qemu-<arch>"), "{text}");

    // One it can run goes through, and its record says the platform it ran as.
    let (status, run) = d.post("/v1/runs", serde_json::json!({"step": step, "platform": "linux/arm64"})).await;
    assert_eq!(status, 201, "{run}");
    let done = d.wait_run(run["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(done["platform"], "linux/arm64", "{done}");
    let (status, refused) = d.post("/v1/runs", serde_json::json!({"step": step, "platform": "arm64"})).await;
    assert_eq!(status, 400, "{refused}");
    let (_, _) = d.post(&format!("/v1/runs/{id}/cancel"), serde_json::json!({})).await;

    // The CLI following such a run says why it waits, instead of waiting silently.
    let (url, token) = (d.url.clone(), d.token.clone());
    let err = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drydock"))
            .env("DRYDOCK_SERVER", url)
            .env("DRYDOCK_TOKEN", token)
            .args(["run", "--platform", "linux/riscv64", "--cmd", "busybox true"])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(6));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    })
    .await
    .unwrap();
    assert!(err.contains("Still queued: no node that is up runs linux/riscv64"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_one_platform_of_a_multi_platform_base_rebuilds_once() {
    use crate::helper::wait::eventually;
    use crate::triggers_base_image::{image_runs, manual_clock, run_task, start, upload, watched};
    let _turn = TURN.lock().await;
    let clock = manual_clock();
    let d = start(&clock, 60, None).await;
    let u = unique("multibase");
    let base_repo = format!("{u}-base");
    let base = format!("{REGISTRY}/{base_repo}:latest");
    // A two-platform base, made by drydock from the shared busybox-multi.
    let ctx = context(&format!("FROM {REGISTRY}/{BASE}\nRUN echo {u} > /base\n"));
    let (code, all) = run(&["build", "--local", "--platform", "linux/amd64,linux/arm64", "-t", &base], ctx.path());
    assert_eq!(code, Some(0), "{all}");
    let index = manifest(&base_repo, "latest").await.unwrap();

    let uploaded = upload(&d, &format!("FROM {base}\nRUN uname -m > /arch\n")).await;
    let task = format!("{u}-t");
    let body = serde_json::json!({
        "name": task,
        "context": uploaded,
        "platform": "linux/amd64,linux/arm64",
        "step": {"kind": "docker", "images": [format!("{REGISTRY}/{u}-out:latest")], "no_cache": true},
        "triggers": {"base_image": {"quiet_period": 0}},
    });
    let (status, created) = d.post("/v1/tasks", body).await;
    assert_eq!(status, 201, "{created}");
    let first = run_task(&d, &task).await;
    assert_eq!(first["output_images"][0]["platforms"].as_array().map(Vec::len), Some(2), "{first}");
    let used = &first["dependencies"][0]["runtime-dependency"];
    let d1 = used["digest"].as_str().unwrap().to_string();
    let amd64_child = used["platforms"]["linux/amd64"].as_str().expect("per-platform base digests").to_string();
    eventually("the watcher to schedule the base", || async {
        watched(&d, &base).await.filter(|w| !w["next_check"].is_null())
    })
    .await;

    // Only arm64 changes: a new arm64 image, and an index over the old amd64 manifest and it.
    let arm = format!("{REGISTRY}/{base_repo}:arm64-new");
    let ctx = context(&format!("FROM {REGISTRY}/{BASE}\nRUN echo {u}-changed > /base\n"));
    let (code, all) = run(&["build", "--local", "--platform", "linux/arm64", "-t", &arm], ctx.path());
    assert_eq!(code, Some(0), "{all}");
    let url = format!("http://{REGISTRY}/v2/{base_repo}/manifests/arm64-new");
    let bytes = drydock::tls::client()
        .get(url)
        .header("accept", "application/vnd.docker.distribution.manifest.v2+json")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let arm_digest = drydock::registry::sha256_digest(&bytes);
    let mut index = index;
    for m in index["manifests"].as_array_mut().unwrap() {
        if m["platform"]["architecture"] == "arm64" {
            m["digest"] = Value::String(arm_digest.clone());
            m["size"] = Value::from(bytes.len());
        }
    }
    let put = drydock::tls::client()
        .put(format!("http://{REGISTRY}/v2/{base_repo}/manifests/latest"))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(serde_json::to_vec(&index).unwrap())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let d2 = crate::helper::engine::registry_digest_of(&base_repo, "latest").await;
    assert_ne!(d1, d2);

    clock.advance(std::time::Duration::from_secs(61));
    let rebuild = eventually("the base-image run", || async { image_runs(&d, &task).await.into_iter().next() }).await;
    assert_eq!(rebuild["trigger"]["old_digest"], d1.as_str(), "{rebuild}");
    assert_eq!(rebuild["trigger"]["new_digest"], d2.as_str(), "{rebuild}");
    let done = d.wait_run(rebuild["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let used = &done["dependencies"][0]["runtime-dependency"];
    assert_eq!(used["platforms"]["linux/arm64"], arm_digest.as_str(), "{done}");
    assert_eq!(used["platforms"]["linux/amd64"], amd64_child.as_str(), "{done}");

    // Later checks find nothing new: one rebuild.
    let checked = watched(&d, &base).await.unwrap()["checked_at"].clone();
    clock.advance(std::time::Duration::from_secs(61));
    eventually("another check", || async { watched(&d, &base).await.filter(|w| w["checked_at"] != checked) }).await;
    assert_eq!(image_runs(&d, &task).await.len(), 1);
}

#[tokio::test]
async fn buildkit_builds_several_platforms_into_one_index_too() {
    let _turn = TURN.lock().await;
    let ctx = context(&recording_dockerfile());
    let repository = unique("platform/buildkit");
    let image = format!("{REGISTRY}/{repository}:v1");
    let args = ["build", "--local", "--buildkit", "--platform", "linux/arm64,linux/amd64", "-t", &image];
    let (code, all) = run(&args, ctx.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("Building with BuildKit"), "{all}");
    let index = manifest(&repository, "v1").await.expect("index pushed");
    for entry in index["manifests"].as_array().unwrap() {
        let arch = entry["platform"]["architecture"].as_str().unwrap();
        let digest = entry["digest"].as_str().unwrap();
        assert_eq!(pushed_platform(&repository, digest).await, format!("linux/{arch}"));
        docker(&["rmi", "-f", &image]);
        docker(&["pull", "-q", "--platform", &format!("linux/{arch}"), &image]);
        let (_, recorded_arch, _) = recorded(&image);
        assert_eq!(recorded_arch, arch, "TARGETARCH of the {arch} image");
    }
    forget(&[&image]);
}

#[tokio::test]
async fn a_later_step_builds_for_each_platform_from_what_an_earlier_step_built_for_it() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let repository = unique("platform/chain");
    let base = format!("{REGISTRY}/{repository}-base:v1");
    let app = format!("{REGISTRY}/{repository}-app:v1");
    std::fs::create_dir_all(dir.path().join("base")).unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("base/Dockerfile"), format!("FROM {REGISTRY}/{BASE}\nRUN uname -m > /base-arch\n"))
        .unwrap();
    std::fs::write(dir.path().join("app/Dockerfile"), format!("FROM {base}\nRUN uname -m > /app-arch\n")).unwrap();
    let task =
        format!("steps:\n  - build: -t {base} base\n  - build: -t {app} app\n  - push: [\"{base}\", \"{app}\"]\n");
    std::fs::write(dir.path().join("acb.yaml"), task).unwrap();
    let (code, all) = run(&["run", "--local", "--platform", "linux/amd64,linux/arm64"], dir.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("as an earlier step built it"), "{all}");
    for (platform, arch) in [("linux/arm64", "aarch64"), ("linux/amd64", "x86_64")] {
        docker(&["rmi", "-f", &app]);
        docker(&["pull", "-q", "--platform", platform, &app]);
        let out = docker(&["run", "--rm", &app, "cat", "/base-arch", "/app-arch"]);
        assert_eq!(out.lines().collect::<Vec<_>>(), [arch, arch], "{platform}");
    }
    forget(&[&app, &base]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_build_beside_an_arm64_build_of_the_same_base_stays_native() {
    use crate::helper::daemon::TestDaemon;
    let _turn = TURN.lock().await;
    let d = TestDaemon::start(2).await;
    let nonce = unique("side");
    // The arm64 build moves the base's local name to the arm64 image while it builds; the
    // native build queued meanwhile must not build on it.
    let arm = d
        .upload(&[("Dockerfile", &format!("FROM {REGISTRY}/{BASE}\nRUN sleep 2 && uname -m > /arch # {nonce}\n"))])
        .await;
    let native =
        d.upload(&[("Dockerfile", &format!("FROM {REGISTRY}/{BASE}\nRUN uname -m > /arch # {nonce}\n"))]).await;
    let arm_image = format!("{REGISTRY}/{nonce}-arm:v1");
    let native_image = format!("{REGISTRY}/{nonce}-native:v1");
    let build = |context: &str, image: &str, platform: Option<&str>| {
        serde_json::json!({"context": format!("upload:{context}"),
            "build": {"images": [image], "no_push": true, "platform": platform}})
    };
    let (status, first) = d.post("/v1/runs", build(&arm, &arm_image, Some("linux/arm64"))).await;
    assert_eq!(status, 201, "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, second) = d.post("/v1/runs", build(&native, &native_image, None)).await;
    assert_eq!(status, 201, "{second}");
    for run in [&first, &second] {
        let done = d.wait_run(run["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "Succeeded", "{done}");
    }
    assert_eq!(docker(&["run", "--rm", &arm_image, "cat", "/arch"]).trim(), "aarch64");
    assert_eq!(docker(&["run", "--rm", &native_image, "cat", "/arch"]).trim(), "x86_64");
    forget(&[&arm_image, &native_image]);
}
