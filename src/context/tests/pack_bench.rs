//! Throughput of [`pack_dir`] on a 1 GiB context, against GNU tar and the Docker CLI.
//! Run with `cargo test --release -- --ignored --nocapture pack_throughput`.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::run;
use crate::context::pack::{PackOptions, pack_dir};

const MIB: usize = 1 << 20;

/// 4 × 224 MiB files plus 3,072 files of 42 KiB in 32 directories: 1 GiB in all, with
/// content that is not zeros (so nothing can take a sparse-file shortcut).
fn generate(root: &Path) -> u64 {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; MIB];
    let mut refill = |block: &mut Vec<u8>| {
        for chunk in block.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
    };
    let mut total = 0u64;
    for i in 0..4 {
        let mut f = std::io::BufWriter::new(std::fs::File::create(root.join(format!("large-{i}.bin"))).unwrap());
        for _ in 0..224 {
            refill(&mut block);
            f.write_all(&block).unwrap();
            total += MIB as u64;
        }
    }
    refill(&mut block);
    for d in 0..32 {
        let dir = root.join(format!("dir-{d:02}"));
        std::fs::create_dir(&dir).unwrap();
        for i in 0..96 {
            let start = (d * 96 + i) * 97 % (MIB - 42 * 1024);
            std::fs::write(dir.join(format!("small-{i:03}.dat")), &block[start..start + 42 * 1024]).unwrap();
            total += 42 * 1024;
        }
    }
    std::fs::write(root.join("Dockerfile"), "FROM busybox\n").unwrap();
    total
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Peak resident memory of this process, from /proc.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

async fn pack_and_drain(root: &Path) -> u64 {
    let packed = pack_dir(root, PackOptions { apply_dockerignore: true, ..PackOptions::default() }).unwrap();
    let mut stream = packed.stream;
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        n += chunk.unwrap().len() as u64;
    }
    n
}

/// Packs `root` and POSTs it to dockerd's classic builder over the Unix socket, as a
/// chunked HTTP/1.1 body: the same work `docker build` does for a local context.
async fn pack_and_build(root: &Path, socket: &Path) -> String {
    let packed = pack_dir(root, PackOptions { apply_dockerignore: true, ..PackOptions::default() }).unwrap();
    let mut sock = tokio::net::UnixStream::connect(socket).await.unwrap();
    let head = format!(
        "POST /v1.41/build?dockerfile={}&q=1 HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        packed.dockerfile
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut stream = packed.stream;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        sock.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
        sock.write_all(&chunk).await.unwrap();
        sock.write_all(b"\r\n").await.unwrap();
    }
    sock.write_all(b"0\r\n\r\n").await.unwrap();
    let mut response = String::new();
    sock.read_to_string(&mut response).await.unwrap();
    response
}

/// A stand-in Docker daemon on a Unix socket that answers `/_ping` and drains `/build`
/// bodies, so the Docker CLI's own context production can be timed without dockerd
/// extracting the context. Serves until the process ends (the test's last act).
fn fake_daemon(socket: &Path) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut chunked, mut length, mut close) = (false, 0u64, false);
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let lower = line.trim().to_ascii_lowercase();
                        if lower.is_empty() {
                            break;
                        }
                        chunked |= lower == "transfer-encoding: chunked";
                        close |= lower == "connection: close";
                        if let Some(n) = lower.strip_prefix("content-length: ") {
                            length = n.parse().unwrap();
                        }
                    }
                    if chunked {
                        loop {
                            let mut size = String::new();
                            reader.read_line(&mut size).unwrap();
                            let size = u64::from_str_radix(size.trim(), 16).unwrap();
                            std::io::copy(&mut (&mut reader).take(size + 2), &mut std::io::sink()).unwrap();
                            if size == 0 {
                                break;
                            }
                        }
                    } else {
                        std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink()).unwrap();
                    }
                    let body = if request.contains("/build") { "{\"stream\":\"sha256:0\\n\"}\r\n" } else { "OK" };
                    let head = request.starts_with("HEAD");
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                        body.len(),
                        if head { "" } else { body }
                    );
                    writer.write_all(response.as_bytes()).unwrap();
                    if close {
                        return;
                    }
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: writes 1 GiB and takes about a minute; run with --release --ignored"]
async fn pack_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = generate(root);
    // Warm the page cache so every contender reads from memory.
    run(Command::new("sh").arg("-c").arg(format!("cat {0}/*.bin {0}/*/* > /dev/null", root.display())));
    let rss_before = peak_rss_mib();
    let socket = dir.path().join("fake-docker.sock");
    fake_daemon(&socket);

    let gib = |d: Duration| data as f64 / (1u64 << 30) as f64 / d.as_secs_f64();
    let mut report = Vec::new();
    for round in 0..3 {
        let mut bytes = 0;
        let drydock = time(|| {
            bytes = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(pack_and_drain(root)))
        });
        assert!(bytes > data);
        let tar_null = time(|| {
            run(Command::new("tar").args(["-c", "-f", "/dev/null", "-C"]).arg(root).arg("."));
        });
        let tar_pipe = time(|| {
            run(Command::new("sh").arg("-c").arg(format!("tar -c -f - -C {} . | cat > /dev/null", root.display())));
        });
        let docker_cli = time(|| {
            run(Command::new("/usr/bin/docker").env("DOCKER_BUILDKIT", "0").args(["build", "-q"]).arg(root));
        });
        let docker_cli_fake = time(|| {
            run(Command::new("/usr/bin/docker")
                .env("DOCKER_BUILDKIT", "0")
                .env("DOCKER_HOST", format!("unix://{}", socket.display()))
                .args(["build", "-q"])
                .arg(root));
        });
        let mut response = String::new();
        let drydock_fake = time(|| {
            response = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(pack_and_build(root, &socket))
            })
        });
        assert!(response.contains("sha256:0"), "{response}");
        let drydock_build = time(|| {
            response = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(pack_and_build(root, Path::new("/var/run/docker.sock")))
            })
        });
        assert!(response.starts_with("HTTP/1.1 200") && response.contains("sha256:"), "{response}");
        report.push(format!(
            "round {round}: drydock pack→drain {drydock:.2?} ({:.2} GiB/s) | tar -f /dev/null {tar_null:.2?} | tar | cat {tar_pipe:.2?} ({:.2} GiB/s) | \
             docker CLI → fake daemon {docker_cli_fake:.2?} ({:.2} GiB/s) | drydock → fake daemon {drydock_fake:.2?} ({:.2} GiB/s) | docker build → dockerd {docker_cli:.2?} | drydock pack → dockerd /build {drydock_build:.2?}",
            gib(drydock),
            gib(tar_pipe),
            gib(docker_cli_fake),
            gib(drydock_fake),
        ));
    }
    for line in &report {
        println!("{line}");
    }
    println!("peak RSS: {rss_before} MiB before packing, {} MiB after", peak_rss_mib());
}
