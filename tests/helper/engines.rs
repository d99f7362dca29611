//! Additional Docker engines on this machine, each a `dockerd` of its own (data root, exec root,
//! socket, pidfile, address pool), started by the test that needs one and stopped when dropped.
//! One may listen on tcp+TLS with certificates the test makes. Each is given the main engine's
//! `busybox` image, so task files run on it unchanged.
//!
//! Each extra engine gets a default bridge of its own (`ddbr<N>`, made here): started with
//! `--bridge none`, dockerd deletes the host's `docker0`, which breaks the main engine. They run
//! without iptables rules: drydock puts every run on a network of its own, and only the main
//! engine manages the host's firewall.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running extra engine.
pub struct Engine {
    child: Child,
    /// Its data and certificates (removed on drop).
    dir: tempfile::TempDir,
    exec_root: PathBuf,
    bridge: String,
    /// `unix://…` or `tcp://127.0.0.1:PORT`.
    pub host: String,
    /// With TLS: the client's certificate directory (`ca.pem`, `cert.pem`, `key.pem`), as
    /// `DOCKER_CERT_PATH` names it.
    pub cert_path: Option<PathBuf>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containers and containerd; then reap it.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.exec_root);
        let _ = Command::new("ip").args(["link", "delete", &self.bridge]).stderr(Stdio::null()).status();
    }
}

/// Whether extra engines can be started here (root, dockerd on PATH); otherwise says why.
pub fn available() -> Result<(), String> {
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref().ok() != Some("0") {
        return Err("extra dockerd instances need root".into());
    }
    if Command::new("dockerd").arg("--version").output().is_err() {
        return Err("no dockerd on PATH".into());
    }
    Ok(())
}

/// Where an engine listens besides its unix socket.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Only the unix socket.
    Unix,
    /// Plain tcp on loopback (for a proxy to stand between it and a node).
    Tcp,
    /// tcp+TLS on loopback, client certificates required.
    Tls,
}

impl Engine {
    /// A new engine.
    pub fn start(listen: Listen) -> Engine {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = tempfile::Builder::new().prefix("drydock-engine-").tempdir().unwrap();
        // containerd's shim sockets live under the exec root, and unix socket paths are short.
        let exec_root = PathBuf::from(format!("/run/dd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&exec_root).unwrap();
        let socket = exec_root.join("docker.sock");
        // Clear of the main engine's 10.213.0.0/16 (scripts/setup.sh).
        let net = 220 + n % 30;
        let pool = format!("base=10.{net}.0.0/16,size=24");
        let bridge = format!("ddbr{}x{n}", std::process::id() % 10_000);
        let _ = Command::new("ip").args(["link", "delete", &bridge]).stderr(Stdio::null()).status();
        for args in [
            vec!["link", "add", "name", &bridge, "type", "bridge"],
            vec!["addr", "add", &format!("10.{net}.255.1/24"), "dev", &bridge],
            vec!["link", "set", &bridge, "up"],
        ] {
            let out = Command::new("ip").args(&args).output().unwrap();
            assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut cmd = Command::new("dockerd");
        cmd.arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(&exec_root)
            .arg("--pidfile")
            .arg(exec_root.join("dockerd.pid"))
            .args(["--bridge", &bridge, "--iptables=false", "--ip-masq=false", "--default-address-pool", &pool])
            .arg("-H")
            .arg(format!("unix://{}", socket.display()));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (host, cert_path) = if listen == Listen::Tls {
            let certs = make_certs(dir.path());
            cmd.arg("--tlsverify")
                .arg("--tlscacert")
                .arg(certs.join("ca.pem"))
                .arg("--tlscert")
                .arg(certs.join("server-cert.pem"))
                .arg("--tlskey")
                .arg(certs.join("server-key.pem"))
                .arg("-H")
                .arg(format!("tcp://127.0.0.1:{port}"));
            (format!("tcp://127.0.0.1:{port}"), Some(certs))
        } else if listen == Listen::Tcp {
            cmd.arg("-H").arg(format!("tcp://127.0.0.1:{port}"));
            (format!("tcp://127.0.0.1:{port}"), None)
        } else {
            (format!("unix://{}", socket.display()), None)
        };
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        let engine = Engine { child, dir, exec_root, bridge, host, cert_path };
        let local = format!("unix://{}", socket.display());
        let deadline = Instant::now() + Duration::from_secs(60);
        while !docker(&local, &["version"]).status().is_ok_and(|s| s.success()) {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start:\n{}",
                std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // The main engine's busybox, image id and all.
        let mut save = Command::new("docker").args(["save", "busybox:latest"]).stdout(Stdio::piped()).spawn().unwrap();
        let loaded = docker(&local, &["load", "-q"]).stdin(save.stdout.take().unwrap()).output().unwrap();
        assert!(
            save.wait().unwrap().success() && loaded.status.success(),
            "{}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        engine
    }

    /// The engine's unix socket (TLS engines listen there too, for the test's own checks).
    pub fn local(&self) -> String {
        format!("unix://{}", self.exec_root.join("docker.sock").display())
    }
}

/// The docker CLI on `host`.
fn docker(host: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.arg("-H").arg(host).args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl under
/// `dir/certs`; the directory, laid out as `DOCKER_CERT_PATH` expects.
fn make_certs(dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(&certs).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=drydock test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    std::fs::write(certs.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").unwrap();
    std::fs::write(certs.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/CN=drydock")] {
        let key = format!("{name}-key.pem");
        let csr = format!("{name}.csr");
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            &key,
            "-out",
            &csr,
        ]);
        let ext = format!("{name}.ext");
        let cert = format!("{name}-cert.pem");
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ]);
    }
    // DOCKER_CERT_PATH's names for the client's side.
    std::fs::copy(certs.join("client-cert.pem"), certs.join("cert.pem")).unwrap();
    std::fs::copy(certs.join("client-key.pem"), certs.join("key.pem")).unwrap();
    certs
}
