//! `ssh://` engines through the system's ssh client, as the docker CLI reaches them: each HTTP
//! connection is one `ssh [-p PORT] [USER@]HOST -- docker system dial-stdio`, whose standard
//! input and output carry the engine's API.
//!
//! bollard's own ssh transport starts a control master per connection with `ControlPersist`,
//! which outlives a drydock that is killed, with its session on the far side. Here there is no
//! master: an ssh process ends with its connection, when drydock drops it (it is killed), and
//! when drydock dies: its standard input closes, `dial-stdio` on the far side sees the end of its
//! input and ends the connection, and ssh exits with it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where `ssh` connects: `[user@]host` and an optional port, from `ssh://[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    /// `[user@]host`, as ssh takes it (so the user's `~/.ssh/config` applies to the host).
    pub destination: String,
    /// The port, when the URL names one.
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]` (a path after the host is refused, as the docker CLI
    /// refuses it).
    pub fn parse(endpoint: &str) -> Result<SshTarget, String> {
        let expected = || format!("`{endpoint}`: expected ssh://[user@]host[:port]");
        let url = reqwest::Url::parse(endpoint).map_err(|e| match e.to_string().as_str() {
            "invalid port number" => format!("`{endpoint}`: its port is not a port number"),
            _ => expected(),
        })?;
        if url.scheme() != "ssh" {
            return Err(format!("`{endpoint}` is not an ssh:// URL"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(format!("`{endpoint}`: an ssh:// engine takes no path; use ssh://[user@]host[:port]"));
        }
        // ssh takes an IPv6 address bare.
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let user = url.username();
        // Nothing that ssh would read as an option, and no password (ssh asks for none here).
        if host.is_empty() || host.starts_with('-') || user.starts_with('-') || url.password().is_some() {
            return Err(expected());
        }
        let destination = if user.is_empty() { host.to_string() } else { format!("{user}@{host}") };
        Ok(SshTarget { destination, port: url.port() })
    }

    /// The ssh command line for one connection.
    fn command(&self) -> Command {
        let mut c = Command::new("ssh");
        // No master and no shared socket: this process is the connection, nothing outlives it.
        c.args(["-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "BatchMode=yes"]);
        if let Some(p) = self.port {
            c.arg("-p").arg(p.to_string());
        }
        c.arg("--").arg(&self.destination).args(["docker", "system", "dial-stdio"]);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        c
    }
}

/// Opens connections for hyper: each is a new ssh process.
#[derive(Clone, Debug)]
pub struct SshConnector {
    target: SshTarget,
}

impl SshConnector {
    /// A connector for one engine.
    pub fn new(target: SshTarget) -> Self {
        SshConnector { target }
    }
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = SshStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SshStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let mut command = self.target.command();
        let destination = self.target.destination.clone();
        Box::pin(async move {
            let mut child = command.spawn().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start ssh for {destination}: {e} (is an ssh client installed?)"),
                )
            })?;
            let stdin = child.stdin.take().ok_or_else(|| io::Error::other("ssh has no stdin"))?;
            let stdout = child.stdout.take().ok_or_else(|| io::Error::other("ssh has no stdout"))?;
            Ok(SshStream { _child: child, stdin: TokioIo::new(stdin), stdout: TokioIo::new(stdout) })
        })
    }
}

/// One connection: ssh's stdout is read, its stdin written. Dropping it kills the process.
pub struct SshStream {
    _child: Child,
    stdin: TokioIo<ChildStdin>,
    stdout: TokioIo<ChildStdout>,
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdin).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::SshTarget;

    #[test]
    fn ssh_urls_as_the_docker_cli_takes_them() {
        let t = |s: &str| SshTarget::parse(s).map(|t| (t.destination, t.port));
        assert_eq!(t("ssh://builder"), Ok(("builder".into(), None)));
        assert_eq!(t("ssh://ci@builder:2222"), Ok(("ci@builder".into(), Some(2222))));
        assert_eq!(t("ssh://ci@10.0.0.5/"), Ok(("ci@10.0.0.5".into(), None)));
        assert_eq!(t("ssh://[::1]"), Ok(("::1".into(), None)));
        assert_eq!(t("ssh://[::1]:22"), Ok(("::1".into(), Some(22))));
        assert!(t("ssh://builder/var/run/docker.sock").unwrap_err().contains("no path"));
        assert!(t("ssh://builder:http").unwrap_err().contains("not a port"));
        // Nothing that ssh would read as an option.
        assert!(t("ssh://-oProxyCommand=x").is_err());
        assert!(t("ssh://-x@host").is_err());
        assert!(t("ssh://").is_err());
    }
}
