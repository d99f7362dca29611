//! A local sshd for reaching a Docker engine over `ssh://`, as a remote engine is reached: its own
//! host key, one authorized client key, and an `ssh` on a private PATH that knows the host as
//! `drydock-test` (so nothing is written to the user's ~/.ssh).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The host name the private `ssh` knows.
pub const HOST: &str = "drydock-test";

/// A running sshd; stopped when dropped.
pub struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether an sshd can be started here (root, the binary installed); otherwise says why.
pub fn available() -> Result<(), String> {
    if !std::path::Path::new("/usr/sbin/sshd").exists() {
        return Err("no /usr/sbin/sshd (scripts/setup.sh installs openssh-server)".into());
    }
    super::engines::available()
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::Builder::new().prefix("drydock-sshd-").tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        for key in ["host_key", "id"] {
            let out =
                Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(p(key)).output().unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::copy(p("id.pub"), p("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(
            p("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {}\n",
                p("host_key").display(),
                p("authorized_keys").display(),
                p("sshd.pid").display()
            ),
        )
        .unwrap();
        std::fs::write(
            p("ssh_config"),
            format!(
                "Host {HOST}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
                 StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                p("id").display()
            ),
        )
        .unwrap();
        std::fs::create_dir_all(p("bin")).unwrap();
        let wrapper = p("bin").join("ssh");
        std::fs::write(&wrapper, format!("#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n", p("ssh_config").display()))
            .unwrap();
        Command::new("chmod").arg("755").arg(&wrapper).status().unwrap();
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(p("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(p("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let sshd = Sshd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start: {}", sshd.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        sshd
    }

    /// A PATH whose `ssh` reaches this sshd as [`HOST`].
    pub fn path(&self) -> String {
        format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }

    /// What sshd logged.
    /// The ssh client configuration every `ssh` on [`Sshd::path`] reads (`-F`): it appears on the
    /// command line of each ssh process that reaches this server.
    pub fn client_config(&self) -> std::path::PathBuf {
        self.dir.path().join("ssh_config")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}
