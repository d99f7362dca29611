//! Engine benchmarks against the real dockerd (issue 3). Run: `cargo bench --bench engine`.
//!
//! 1. Overhead: 10 sequential trivial `cmd` steps vs the same `docker run`s in a shell script
//!    (both also create and remove a network and a volume). Target: ratio <= 1.0.
//! 2. Parallelism: 8 independent `sleep 2` steps plus a join step vs the critical path (one
//!    `sleep 2` step plus the join). Target: within 10%.
//! 3. Context upload: a 1 GiB context through `drydock build --local --no-push` vs
//!    `docker build` (classic builder) of the same trivial Dockerfile. Target: >= 80% of
//!    docker's speed. Set DRYDOCK_BENCH_CONTEXT_MB to change the size.
//! 4. Platforms (issue 15): a two-platform build and push (linux/amd64 and linux/arm64 under QEMU,
//!    one OCI index) vs the two single-platform builds and pushes one after the other, FROM the
//!    setup's `busybox-multi` with a RUN that changes every round. `cargo bench --bench engine --
//!    platforms`.
//! 5. Shapes (issue 18, Part 1): one trivial step, 10 sequential trivial steps, a warm-cache quick
//!    build and push, and three parallel `sleep 2` steps with a join, each against the bash a user
//!    would write with plain docker commands, interleaved round by round. `cargo bench --bench
//!    engine -- shapes` (DRYDOCK_BENCH_ROUNDS, default 7).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DOCKER: &str = "/usr/bin/docker";

fn drydock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
}

fn timed(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{:?} failed:\n{}", cmd, String::from_utf8_lossy(&out.stderr));
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_task(text: &str, dir: &Path, tag: &str, i: usize) -> Duration {
    let file = dir.join(format!("{tag}.yaml"));
    std::fs::write(&file, text).unwrap();
    let mut c = drydock();
    c.args(["run", "--local", "--unique-container-names", "--no-docker-socket", "-o", "json", "--run-id"])
        .arg(format!("bench{tag}{i}"))
        .arg("-f")
        .arg(&file)
        .arg("/dev/null");
    timed(c)
}

fn overhead(dir: &Path) {
    let mut task = String::from("steps:\n");
    for i in 0..10 {
        task.push_str(&format!("  - id: s{i}\n    cmd: busybox true\n"));
    }
    let script = dir.join("ten.sh");
    let mut sh =
        format!("set -e\n{DOCKER} network create benchnet >/dev/null\n{DOCKER} volume create benchvol >/dev/null\n");
    for _ in 0..10 {
        sh.push_str(&format!(
            "{DOCKER} run --rm --network benchnet -v benchvol:/workspace -w /workspace busybox true\n"
        ));
    }
    sh.push_str(&format!("{DOCKER} network rm benchnet >/dev/null\n{DOCKER} volume rm benchvol >/dev/null\n"));
    std::fs::write(&script, sh).unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..5 {
        ours.push(run_task(&task, dir, "ten", i));
        let mut c = Command::new("bash");
        c.arg(&script);
        theirs.push(timed(c));
    }
    let (o, t) = (median(ours), median(theirs));
    println!(
        "engine overhead: 10 sequential cmd steps: drydock {:.2}s, docker-run script {:.2}s, ratio {:.2} (target <= 1.0)",
        o.as_secs_f64(),
        t.as_secs_f64(),
        o.as_secs_f64() / t.as_secs_f64()
    );
}

fn parallelism(dir: &Path) {
    let mut wide = String::from("steps:\n");
    let mut ids = Vec::new();
    for i in 0..8 {
        wide.push_str(&format!("  - id: p{i}\n    cmd: busybox sleep 2\n    when: [\"-\"]\n"));
        ids.push(format!("p{i}"));
    }
    wide.push_str(&format!("  - id: join\n    cmd: busybox true\n    when: [{}]\n", ids.join(", ")));
    let chain = "steps:\n  - id: p0\n    cmd: busybox sleep 2\n  - id: join\n    cmd: busybox true\n";
    let (mut w, mut c) = (Vec::new(), Vec::new());
    for i in 0..3 {
        w.push(run_task(&wide, dir, "wide", i));
        c.push(run_task(chain, dir, "chain", i));
    }
    let (w, c) = (median(w), median(c));
    println!(
        "parallelism: 8 x sleep 2 + join {:.2}s vs critical path (1 x sleep 2 + join) {:.2}s: +{:.1}% (target <= 10%)",
        w.as_secs_f64(),
        c.as_secs_f64(),
        (w.as_secs_f64() / c.as_secs_f64() - 1.0) * 100.0
    );
    // The same shape with the docker CLI alone: what the engine itself costs for 8 concurrent
    // container starts on this machine, with no drydock involved.
    let script = |n: usize| {
        let mut sh = String::from("set -e\n");
        for _ in 0..n {
            sh.push_str(&format!("{DOCKER} run --rm busybox sleep 2 &\n"));
        }
        sh.push_str("wait\n");
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(sh);
        cmd
    };
    let (mut eight, mut one) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        eight.push(timed(script(8)));
        one.push(timed(script(1)));
    }
    let (e, o) = (median(eight), median(one));
    println!(
        "parallelism floor (docker CLI only): 8 parallel `docker run sleep 2` {:.2}s vs one {:.2}s: +{:.1}%",
        e.as_secs_f64(),
        o.as_secs_f64(),
        (e.as_secs_f64() / o.as_secs_f64() - 1.0) * 100.0
    );
}

fn context_upload(dir: &Path) {
    let mb: usize = std::env::var("DRYDOCK_BENCH_CONTEXT_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let ctx = dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN true\n").unwrap();
    // Incompressible data in 64 MiB files, plus many small ones.
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut chunk = vec![0u8; 1 << 20];
    let files = mb / 64;
    for f in 0..files {
        let mut data = Vec::with_capacity(64 << 20);
        for _ in 0..64 {
            for b in chunk.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            data.extend_from_slice(&chunk);
        }
        std::fs::write(ctx.join(format!("big{f}.bin")), data).unwrap();
    }
    for s in 0..2000 {
        std::fs::write(ctx.join(format!("small{s}.txt")), format!("file {s}\n")).unwrap();
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let mut c = drydock();
        c.args(["build", "--local", "--no-push", "-o", "json", "-t", "benchctx:drydock", "--run-id"])
            .arg(format!("benchctx{i}"))
            .arg(&ctx);
        ours.push(timed(c));
        let mut d = Command::new(DOCKER);
        d.env("DOCKER_BUILDKIT", "0").args(["build", "-q", "-t", "benchctx:docker"]).arg(&ctx);
        theirs.push(timed(d));
    }
    let (o, t) = (median(ours), median(theirs));
    println!(
        "context upload: {} MiB: drydock build {:.2}s, docker build {:.2}s: drydock at {:.0}% of docker's speed (target >= 80%)",
        files * 64,
        o.as_secs_f64(),
        t.as_secs_f64(),
        t.as_secs_f64() / o.as_secs_f64() * 100.0
    );
    let _ = Command::new(DOCKER).args(["rmi", "-f", "benchctx:drydock", "benchctx:docker"]).output();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let only = std::env::args().nth(1).unwrap_or_default();
    let want = |name: &str| only.is_empty() || only.starts_with('-') || only == name;
    if want("overhead") {
        overhead(dir.path());
    }
    if want("parallelism") {
        parallelism(dir.path());
    }
    if want("context") {
        context_upload(dir.path());
    }
    if want("platforms") {
        platforms(dir.path());
    }
    if want("shapes") {
        shapes(dir.path());
    }
}

/// Issue 18's four shapes, drydock against bash, in one interleaved run: per shape the median of
/// per-round ratios, their range, and each side's median time.
fn shapes(dir: &Path) {
    const REGISTRY: &str = "127.0.0.1:5000";
    let rounds: usize = std::env::var("DRYDOCK_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let write = |name: &str, text: &str| {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        file
    };
    let one = write("shape-one", "steps:\n  - cmd: busybox true\n");
    let mut ten_text = String::from("steps:\n");
    for i in 0..10 {
        ten_text.push_str(&format!("  - id: s{i}\n    cmd: busybox true\n"));
    }
    let ten = write("shape-ten", &ten_text);
    let mut wide_text = String::from("steps:\n");
    for id in ["sa", "sb", "sc"] {
        wide_text.push_str(&format!("  - id: {id}\n    cmd: busybox sleep 2\n    when: [\"-\"]\n"));
    }
    wide_text.push_str("  - id: join\n    cmd: busybox true\n    when: [sa, sb, sc]\n");
    let wide = write("shape-wide", &wide_text);
    let ctx = dir.join("shape-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY app.txt /app.txt\n").unwrap();
    std::fs::write(ctx.join("app.txt"), "hello\n").unwrap();

    let run = |file: &Path| {
        let mut c = drydock();
        c.args(["run", "--local", "-o", "json", "-f"]).arg(file).arg("/dev/null");
        c
    };
    let bash = |script: String| {
        let mut c = Command::new("bash");
        c.arg("-c").arg(format!("set -e\n{script}"));
        c
    };
    let loop10 = format!("for i in $(seq 10); do {DOCKER} run --rm busybox true; done");
    let parallel =
        format!("for i in 1 2 3; do {DOCKER} run --rm busybox sleep 2 & done\nwait\n{DOCKER} run --rm busybox true");
    let build = {
        let ctx = ctx.clone();
        move || {
            let mut c = drydock();
            c.args(["build", "--local", "-o", "json", "-t", &format!("{REGISTRY}/bench/shapes:drydock")]).arg(&ctx);
            c
        }
    };
    let docker_build = format!(
        "DOCKER_BUILDKIT=0 {DOCKER} build -q -t {REGISTRY}/bench/shapes:bash {} >/dev/null && {DOCKER} push -q \
         {REGISTRY}/bench/shapes:bash >/dev/null",
        ctx.display()
    );
    // The same shape in bash, with the objects ACR's semantics give a run: the three steps on a
    // user-defined network (kept, as drydock keeps idle ones) under their ids, a workspace and a
    // home volume made and removed per run, and the engine's socket in every step.
    let mounts =
        "-v bench_ws:/workspace -v bench_home:/acb/home -v /var/run/docker.sock:/var/run/docker.sock -w /workspace";
    let same_objects = format!(
        "{DOCKER} volume create bench_ws >/dev/null & {DOCKER} volume create bench_home >/dev/null & wait\n\
         for i in a b c; do {DOCKER} run --rm --network bench_pool --network-alias s$i {mounts} busybox sleep 2 & done\nwait\n\
         {DOCKER} run --rm {mounts} busybox true\n{DOCKER} volume rm bench_ws bench_home >/dev/null"
    );
    let _ = Command::new(DOCKER).args(["network", "create", "bench_pool"]).output();
    type Make<'a> = Box<dyn Fn() -> Command + 'a>;
    let shapes: Vec<(&str, Option<f64>, Make, Make)> = vec![
        (
            "one trivial step",
            Some(1.3),
            Box::new(|| run(&one)),
            Box::new(|| bash(format!("{DOCKER} run --rm busybox true"))),
        ),
        ("10 sequential trivial steps", Some(1.0), Box::new(|| run(&ten)), Box::new(|| bash(loop10.clone()))),
        ("quick build and push, warm cache", Some(1.2), Box::new(build), Box::new(|| bash(docker_build.clone()))),
        ("3 parallel sleep 2 + join", Some(1.0), Box::new(|| run(&wide)), Box::new(|| bash(parallel.clone()))),
        (
            "3 parallel sleep 2 + join, bash making the same network and volumes",
            None,
            Box::new(|| run(&wide)),
            Box::new(|| bash(same_objects.clone())),
        ),
    ];
    println!("shapes: drydock / bash, median of {rounds} interleaved rounds (range); load before: {}", load());
    for (name, target, ours, theirs) in &shapes {
        // Warm-up: images, build cache and the registry's blobs are there before timing.
        timed(ours());
        timed(theirs());
        let (mut ratios, mut o, mut t) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither always runs on a cooler machine.
            let (a, b) = if round % 2 == 0 {
                let a = timed(ours());
                (a, timed(theirs()))
            } else {
                let b = timed(theirs());
                (timed(ours()), b)
            };
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
            o.push(a);
            t.push(b);
        }
        ratios.sort_by(f64::total_cmp);
        let target = target.map_or("no target: what the objects cost".to_string(), |t| format!("target <= {t}x"));
        println!(
            "  {name}: {:.2}x ({:.2}-{:.2}), drydock {:.3}s, bash {:.3}s ({target})",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
            median(o).as_secs_f64(),
            median(t).as_secs_f64()
        );
    }
    let _ = Command::new(DOCKER).args(["network", "rm", "bench_pool"]).output();
    println!("shapes: load after: {}", load());
}

/// The 1-minute load average, for the record of how busy the machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn platforms(dir: &Path) {
    const REGISTRY: &str = "127.0.0.1:5000";
    let build = |platform: &str, image: &str, round: usize, nonce: &str| {
        let ctx = dir.join(format!("platforms-{round}-{}", platform.replace(['/', ','], "-")));
        std::fs::create_dir_all(&ctx).unwrap();
        let dockerfile = format!(
            "FROM {REGISTRY}/library/busybox-multi\nRUN echo {nonce} > /nonce && uname -m > /arch && \
             for i in $(seq 1 2000); do echo $i; done | md5sum > /sum\n"
        );
        std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        let mut c = drydock();
        c.args(["build", "--local", "--platform", platform, "-t", image]).arg(&ctx);
        timed(c)
    };
    let stamp = std::process::id();
    let (mut ratios, mut multi, mut singles) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        let m = build(
            "linux/amd64,linux/arm64",
            &format!("{REGISTRY}/bench/platforms-multi:{stamp}-{round}"),
            round,
            &format!("m{stamp}{round}"),
        );
        let s = build(
            "linux/amd64",
            &format!("{REGISTRY}/bench/platforms-single:{stamp}-{round}-amd64"),
            round,
            &format!("s{stamp}{round}"),
        ) + build(
            "linux/arm64",
            &format!("{REGISTRY}/bench/platforms-single:{stamp}-{round}-arm64"),
            round,
            &format!("s{stamp}{round}"),
        );
        ratios.push(m.as_secs_f64() / s.as_secs_f64());
        multi.push(m);
        singles.push(s);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "platforms: two-platform build+push (one index) median {:.2}s, two single builds+pushes one after the other \
         median {:.2}s, ratio median {:.2} (range {:.2}-{:.2}, 5 interleaved rounds)",
        median(multi).as_secs_f64(),
        median(singles).as_secs_f64(),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
