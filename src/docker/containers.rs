//! Container lifecycle: create, start, logs, stop/kill, inspect, remove.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use bollard::container::LogOutput;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, KillContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};

use super::error::{DockerError, Result, status_of};
use super::ports::PortBinding;
use super::{ContainerSpec, DockerHost};

/// Which output stream a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output (and everything from a TTY container).
    Stdout,
    /// Standard error.
    Stderr,
}

/// A piece of container output, as the engine framed it (not necessarily a whole line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// Where it was written.
    pub stream: LogStream,
    /// The raw bytes.
    pub bytes: Bytes,
}

/// What `inspect_container` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// Full container id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Engine status: `created`, `running`, `exited`, …
    pub status: String,
    /// True while the process runs.
    pub running: bool,
    /// Exit code once it has exited (the engine reports 0 before the first start).
    pub exit_code: Option<i64>,
    /// True if the kernel killed it for running out of memory.
    pub oom_killed: bool,
    /// The engine's error for a container that failed to start.
    pub error: Option<String>,
    /// Ports actually published on the host (with engine-chosen host ports filled in).
    pub published_ports: Vec<PortBinding>,
    /// The container's labels.
    pub labels: BTreeMap<String, String>,
}

impl DockerHost {
    /// Creates (does not start) a container and returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let body = spec.to_engine()?;
        let opts = CreateContainerOptionsBuilder::default().name(&spec.name).build();
        match self.api.create_container(Some(opts), body).await {
            Ok(resp) => {
                for w in resp.warnings.iter().filter(|w| !w.is_empty()) {
                    tracing::warn!(container = %spec.name, "engine warning: {w}");
                }
                Ok(resp.id)
            }
            // On create, 404 means the image is missing (a missing network is also 404, but
            // its message says so, and NotFound would hide that; keep the message then).
            Err(e) if status_of(&e) == Some(404) && !e.to_string().contains("network") => Err(DockerError::NotFound {
                kind: "image",
                name: format!("{} (pull it before creating the container)", spec.image),
            }),
            Err(e) => Err(DockerError::api(format!("creating container `{}`", spec.name), e)),
        }
    }

    /// Starts a created container. Starting a running container is not an error.
    pub async fn start_container(&self, id: &str) -> Result<()> {
        self.api
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| not_found_or(e, id, format!("starting container `{id}`")))
    }

    /// The container's output, from its start. With `follow`, the stream stays open until the
    /// container exits; without, it ends at the current end of the log.
    ///
    /// TTY containers have one merged stream, reported as [`LogStream::Stdout`].
    pub fn logs(&self, id: &str, follow: bool) -> impl Stream<Item = Result<LogChunk>> + Send + 'static {
        let opts = LogsOptionsBuilder::default().follow(follow).stdout(true).stderr(true).build();
        let id_owned = id.to_string();
        self.streaming.logs(id, Some(opts)).filter_map(move |item| {
            let out = match item {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    Some(Ok(LogChunk { stream: LogStream::Stdout, bytes: message }))
                }
                Ok(LogOutput::StdErr { message }) => Some(Ok(LogChunk { stream: LogStream::Stderr, bytes: message })),
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(not_found_or(e, &id_owned, format!("reading logs of container `{id_owned}`")))),
            };
            futures_util::future::ready(out)
        })
    }

    /// Stops a container: SIGTERM (or the image's stop signal), then SIGKILL after `grace`.
    /// Stopping a stopped container is not an error.
    pub async fn stop_container(&self, id: &str, grace: Duration) -> Result<()> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let opts = StopContainerOptionsBuilder::default().t(secs).build();
        match self.streaming.stop_container(id, Some(opts)).await {
            // 304: already stopped.
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(304) => Ok(()),
            Err(e) => Err(not_found_or(e, id, format!("stopping container `{id}`"))),
        }
    }

    /// Sends a signal (default `SIGKILL`). Killing a container that is not running is not an
    /// error: the point is that it does not run.
    pub async fn kill_container(&self, id: &str, signal: Option<&str>) -> Result<()> {
        let opts = KillContainerOptionsBuilder::default().signal(signal.unwrap_or("SIGKILL")).build();
        match self.api.kill_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(409) => Ok(()),
            Err(e) => Err(not_found_or(e, id, format!("killing container `{id}`"))),
        }
    }

    /// Removes a container (with `force`, also a running one); a missing container counts as
    /// removed. Anonymous volumes go with it; named volumes stay.
    pub async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default().force(force).v(true).build();
        match self.streaming.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            // "removal of container … is already in progress" (auto_remove racing us): it goes.
            Err(e) if status_of(&e) == Some(409) && e.to_string().contains("in progress") => Ok(()),
            Err(e) => Err(DockerError::api(format!("removing container `{id}`"), e)),
        }
    }

    /// State, exit code, published ports and labels of a container.
    pub async fn inspect_container(&self, id: &str) -> Result<ContainerState> {
        let c = self
            .api
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| not_found_or(e, id, format!("inspecting container `{id}`")))?;
        let state = c.state.unwrap_or_default();
        let mut published_ports = Vec::new();
        if let Some(ports) = c.network_settings.and_then(|n| n.ports) {
            for (key, bindings) in ports {
                let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
                let Ok(container_port) = port.parse::<u16>() else {
                    continue;
                };
                for b in bindings.unwrap_or_default() {
                    published_ports.push(PortBinding {
                        container_port,
                        protocol: protocol.to_string(),
                        host_ip: b.host_ip.filter(|s| !s.is_empty()),
                        host_port: b.host_port.filter(|s| !s.is_empty()),
                    });
                }
            }
        }
        published_ports.sort_by_key(|p| (p.container_port, p.host_ip.clone()));
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        Ok(ContainerState {
            id: c.id.unwrap_or_default(),
            name: c.name.unwrap_or_default().trim_start_matches('/').to_string(),
            running: state.running.unwrap_or(false),
            exit_code: if status == "created" { None } else { state.exit_code },
            status,
            oom_killed: state.oom_killed.unwrap_or(false),
            error: state.error.filter(|e| !e.is_empty()),
            published_ports,
            labels: c.config.and_then(|cfg| cfg.labels).unwrap_or_default().into_iter().collect(),
        })
    }

    /// True if a container with this name or id exists (in any state).
    pub async fn container_exists(&self, name: &str) -> Result<bool> {
        match self.inspect_container(name).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Maps 404 to `NotFound { container }`, anything else to an API error with `action`.
pub(crate) fn not_found_or(e: bollard::errors::Error, id: &str, action: String) -> DockerError {
    if status_of(&e) == Some(404) {
        DockerError::NotFound { kind: "container", name: id.to_string() }
    } else {
        DockerError::api(action, e)
    }
}
