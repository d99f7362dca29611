//! What a step container looks like, and its translation into the engine's create request.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount as EngineMount, MountType, NetworkingConfig,
    PortBinding as EnginePortBinding,
};

use super::Labels;
use super::error::{DockerError, Result};
use super::ports::{parse_expose, parse_port_spec};

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A named volume (created on first use by the engine if it does not exist).
    Volume(String),
    /// A path on the engine's host (must exist; e.g. `/var/run/docker.sock`).
    BindHostPath(String),
}

/// One mount into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Volume or host path.
    pub source: MountSource,
    /// Absolute path inside the container.
    pub target: String,
    /// Mount read-only.
    pub read_only: bool,
}

/// Everything needed to create one container (the `docker run` flags drydock uses).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Container name; must be unique on the engine.
    pub name: String,
    /// Image reference; must already be present (see `pull_image`).
    pub image: String,
    /// Command (arguments to the entrypoint); `None` keeps the image's.
    pub cmd: Option<Vec<String>>,
    /// Entrypoint; `None` keeps the image's, `Some(vec![])` clears it.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` environment entries.
    pub env: Vec<String>,
    /// Working directory; `None` keeps the image's.
    pub working_dir: Option<String>,
    /// `user`, `uid`, `user:group` or `uid:gid`; `None` keeps the image's.
    pub user: Option<String>,
    /// Labels; the run label is always set.
    pub labels: Labels,
    /// Volume and bind mounts.
    pub mounts: Vec<Mount>,
    /// Network to attach to (`None`: the engine's default bridge).
    pub network: Option<String>,
    /// Extra DNS names on `network` (needs a user-defined network).
    pub network_aliases: Vec<String>,
    /// `-p` specifications, e.g. `8080:80`, `127.0.0.1:8080:80/tcp`, `80`.
    pub ports: Vec<String>,
    /// `--expose` specifications, e.g. `80`, `53/udp`.
    pub expose: Vec<String>,
    /// Run privileged.
    pub privileged: bool,
    /// CPU limit in cores (`--cpus`).
    pub cpus: Option<f64>,
    /// Let the engine remove the container when it exits (`--rm`).
    pub auto_remove: bool,
    /// Allocate a TTY; logs then arrive as one stream (reported as stdout).
    pub tty: bool,
}

impl ContainerSpec {
    /// A spec with only the required fields set and everything else at `docker run` defaults.
    pub fn new(name: impl Into<String>, image: impl Into<String>, labels: Labels) -> Self {
        ContainerSpec {
            name: name.into(),
            image: image.into(),
            cmd: None,
            entrypoint: None,
            env: Vec::new(),
            working_dir: None,
            user: None,
            labels,
            mounts: Vec::new(),
            network: None,
            network_aliases: Vec::new(),
            ports: Vec::new(),
            expose: Vec::new(),
            privileged: false,
            cpus: None,
            auto_remove: false,
            tty: false,
        }
    }

    /// Translates the spec into the engine's create body, validating it on the way.
    pub(crate) fn to_engine(&self) -> Result<ContainerCreateBody> {
        let invalid = |reason: String| DockerError::InvalidRequest { what: "container spec", reason };
        if self.name.is_empty() || self.image.is_empty() {
            return Err(invalid("name and image are required".into()));
        }
        if !self.network_aliases.is_empty() && self.network.is_none() {
            return Err(invalid("network aliases need a user-defined network; set `network`".into()));
        }
        let mut exposed: Vec<String> = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<EnginePortBinding>>> = HashMap::new();
        for spec in &self.ports {
            for b in parse_port_spec(spec)? {
                let key = b.key();
                if !exposed.contains(&key) {
                    exposed.push(key.clone());
                }
                bindings.entry(key).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(
                    EnginePortBinding {
                        // The engine wants "" (not absent) for "all addresses / any port".
                        host_ip: Some(b.host_ip.unwrap_or_default()),
                        host_port: Some(b.host_port.unwrap_or_default()),
                    },
                );
            }
        }
        for spec in &self.expose {
            for key in parse_expose(spec)? {
                if !exposed.contains(&key) {
                    exposed.push(key);
                }
            }
        }
        let nano_cpus = match self.cpus {
            None => None,
            Some(c) if c.is_finite() && c > 0.0 => Some((c * 1e9).round() as i64),
            Some(c) => return Err(invalid(format!("cpus must be a positive number, got {c}"))),
        };
        let mounts = self
            .mounts
            .iter()
            .map(|m| {
                if !m.target.starts_with('/') {
                    return Err(invalid(format!("mount target `{}` must be an absolute path", m.target)));
                }
                let (typ, source) = match &m.source {
                    MountSource::Volume(v) => (MountType::VOLUME, v.clone()),
                    MountSource::BindHostPath(p) => (MountType::BIND, p.clone()),
                };
                Ok(EngineMount {
                    target: Some(m.target.clone()),
                    source: Some(source),
                    typ: Some(typ),
                    read_only: Some(m.read_only),
                    ..Default::default()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let networking_config = self.network.as_ref().map(|net| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                net.clone(),
                EndpointSettings {
                    aliases: (!self.network_aliases.is_empty()).then(|| self.network_aliases.clone()),
                    ..Default::default()
                },
            )])),
        });
        Ok(ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            env: Some(self.env.clone()),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            labels: Some(self.labels.to_hash_map()),
            tty: Some(self.tty),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: self.network.clone(),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                privileged: Some(self.privileged),
                nano_cpus,
                auto_remove: Some(self.auto_remove),
                ..Default::default()
            }),
            networking_config,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_become_bindings_and_exposed_ports() {
        let mut s = ContainerSpec::new("n", "busybox", Labels::for_run("r"));
        s.ports = vec!["127.0.0.1:0:80".into(), "8080:81/udp".into()];
        s.expose = vec!["90".into()];
        let body = s.to_engine().unwrap();
        let exposed = body.exposed_ports.unwrap();
        assert_eq!(exposed, vec!["80/tcp", "81/udp", "90/tcp"]);
        let b = body.host_config.unwrap().port_bindings.unwrap();
        let b80 = b["80/tcp"].as_ref().unwrap();
        assert_eq!(b80[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b80[0].host_port.as_deref(), Some("0"));
    }

    #[test]
    fn aliases_without_network_rejected() {
        let mut s = ContainerSpec::new("n", "busybox", Labels::for_run("r"));
        s.network_aliases = vec!["web".into()];
        assert!(s.to_engine().unwrap_err().to_string().contains("network"));
    }

    #[test]
    fn bad_port_rejected() {
        let mut s = ContainerSpec::new("n", "busybox", Labels::for_run("r"));
        s.ports = vec!["80:80:80:80x".into()];
        assert!(s.to_engine().is_err());
    }
}
