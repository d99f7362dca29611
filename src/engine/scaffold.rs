//! The Docker objects a run needs before its first step, and their removal after its last.

use super::log::RunLog;
use super::{Engine, Execution, RunSource};
use crate::context::pack::{PackOptions, pack_dir};
use crate::docker::{DockerHost, Labels};
use crate::taskfile::task::DEFAULT_NETWORK;
use base64::Engine as _;
use std::collections::BTreeMap;

/// Where the workspace volume is mounted in every step.
pub const WORKSPACE_MOUNT: &str = "/workspace";
/// Where the home volume is mounted (ACR's `HOME` for steps; holds `.docker/config.json`).
pub const HOME_MOUNT: &str = "/acb/home";

/// Names of what was created for one run.
#[derive(Debug)]
pub struct Scaffold {
    /// Network names as the task writes them → actual Docker names.
    pub networks: BTreeMap<String, String>,
    /// The actual network steps join when they name none.
    pub default_network: Option<String>,
    /// The workspace volume.
    pub workspace: String,
    /// The home volume.
    pub home: String,
    /// Task volume names → actual volume names.
    pub volumes: BTreeMap<String, String>,
}

impl Scaffold {
    /// Maps a network name from the task file to the Docker network to use.
    pub fn network(&self, name: &str) -> String {
        self.networks.get(name).cloned().unwrap_or_else(|| name.to_string())
    }

    /// Creates networks and volumes and seeds the workspace. On error, what was created is left
    /// for `teardown`, which the caller always runs.
    pub async fn create(engine: &Engine, req: &Execution, log: &RunLog) -> Result<Scaffold, String> {
        let docker = engine.docker();
        let labels = engine.labels(&req.object_key);
        let run = &req.object_key;
        // Networks and volumes do not depend on each other: made side by side, a run waits for
        // the slower of the two rather than for both.
        let networks = async {
            let mut networks = BTreeMap::new();
            let mut default_network = None;
            if !req.quick_build {
                if req.task.networks.is_empty() && needs_network(req) {
                    // ACR names it `acb_default_network`; the run id keeps concurrent runs apart.
                    let actual = format!("drydock_{run}_default");
                    create_network(docker, log, &actual, "bridge", false, &labels).await?;
                    networks.insert(DEFAULT_NETWORK.to_string(), actual.clone());
                    default_network = Some(actual);
                }
                for n in &req.task.networks {
                    let actual = if n.skip_creation {
                        if !docker.network_exists(&n.name).await.map_err(|e| e.to_string())? {
                            return Err(format!(
                                "network `{}` has skipCreation but does not exist; create it first or drop skipCreation",
                                n.name
                            ));
                        }
                        n.name.clone()
                    } else {
                        let actual = format!("{}-{run}", n.name);
                        create_network(docker, log, &actual, &n.driver, n.ipv6, &labels).await?;
                        actual
                    };
                    if n.is_default {
                        default_network = Some(actual.clone());
                    }
                    networks.insert(n.name.clone(), actual);
                }
                if let Some(d) = &req.task.default_network
                    && let Some(actual) = networks.get(d)
                {
                    default_network = Some(actual.clone());
                }
            }
            Ok::<_, String>((networks, default_network))
        };
        let storage = async {
            let workspace = req.workspace_volume.clone();
            let home = format!("drydock_home_{run}");
            if let Some(resume) = &req.resume {
                if !docker.volume_exists(&workspace).await.map_err(|e| e.to_string())? {
                    return Err(format!(
                        "the workspace volume {workspace} that run {} kept is gone (removed by hand, or by a prune), \
                         so it cannot be resumed; rerun it with `drydock runs rerun {}`",
                        resume.from_run, resume.from_run
                    ));
                }
                log.run_line(&format!("Using the workspace volume {workspace} kept by run {}", resume.from_run));
            } else {
                docker.create_volume(&workspace, &workspace_labels(engine, run)).await.map_err(|e| e.to_string())?;
            }
            docker.create_volume(&home, &labels).await.map_err(|e| e.to_string())?;
            if !req.quick_build && req.resume.is_none() {
                seed_workspace(docker, req, &workspace, log).await?;
            }
            let credentials = engine.credentials_for(req);
            // Without logins there is nothing to write: the docker CLI does without the file, and
            // a run spares a helper container.
            if engine.config().docker_socket.is_some() && req.untrusted.is_none() && credentials.iter().next().is_some()
            {
                let config = docker_config_json(&credentials);
                docker
                    .write_files_to_volume(&home, &[(".docker/config.json", config.as_bytes(), 0o600)])
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>((workspace, home))
        };
        let ((networks, default_network), (workspace, home)) = tokio::try_join!(networks, storage)?;

        let mut volumes = BTreeMap::new();
        for v in &req.task.volumes {
            let actual = format!("drydock_vol_{run}_{}", v.name);
            docker.create_volume(&actual, &labels).await.map_err(|e| e.to_string())?;
            let files: Vec<(&str, &[u8], u32)> =
                v.files.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice(), 0o444)).collect();
            docker.write_files_to_volume(&actual, &files).await.map_err(|e| e.to_string())?;
            volumes.insert(v.name.clone(), actual);
        }
        Ok(Scaffold { networks, default_network, workspace, home, volumes })
    }
}

/// Whether a run without declared networks needs one of its own, for its steps to reach each other
/// by id: only when a step may be alive while another runs (a detached step, or steps that are not
/// one chain, each waiting for the one before) or a step names a network. In a chain every step has
/// ended before the next starts, so nobody is there to reach: its steps run on the engine's default
/// bridge, and the run spares making and removing a network (about a fifth of a second here).
pub fn needs_network(req: &Execution) -> bool {
    let steps = &req.task.steps;
    steps.iter().any(|s| s.detach || s.network.is_some())
        || (1..steps.len()).any(|i| !req.plan.dependencies(i).contains(&(i - 1)))
}

/// Label on a workspace volume, whose value is the object key of the run that created it.
pub const WORKSPACE_LABEL: &str = "drydock.workspace";

/// The group key under which the janitor finds the workspace of run `key`.
pub fn workspace_group(key: &str) -> String {
    format!("{key}-workspace")
}

/// The workspace is labelled apart from the run's other objects (a group of its own, plus
/// [`WORKSPACE_LABEL`]): the run's teardown leaves it, so that a run that did not succeed can keep
/// it for a resume. The run removes it itself otherwise; after a crash the janitor does, as it
/// does the rest.
fn workspace_labels(engine: &Engine, key: &str) -> Labels {
    engine.labels(&workspace_group(key)).with(WORKSPACE_LABEL, key)
}

async fn create_network(
    docker: &DockerHost,
    log: &RunLog,
    name: &str,
    driver: &str,
    ipv6: bool,
    labels: &Labels,
) -> Result<(), String> {
    log.run_line(&format!("Creating Docker network: {name}, driver: '{driver}'"));
    docker.create_network(name, Some(driver), ipv6, labels).await.map(|_| ()).map_err(|e| e.to_string())
}

/// Copies the run's context into the workspace volume through the archive API, so that it works
/// against a remote engine too (no host bind mounts).
async fn seed_workspace(docker: &DockerHost, req: &Execution, volume: &str, log: &RunLog) -> Result<(), String> {
    match &req.source {
        RunSource::None => Ok(()),
        RunSource::Dir(dir) => {
            log.run_line(&format!("Uploading the context {} to the workspace volume...", dir.display()));
            let packed =
                pack_dir(dir, PackOptions { apply_dockerignore: true, exclude_vcs: true, ..PackOptions::default() })
                    .map_err(|e| e.to_string())?;
            docker.upload_to_volume(volume, "/", packed.stream).await.map_err(|e| e.to_string())?;
            let stats =
                packed.stats.await.map_err(|_| "context packing stopped".to_string())?.map_err(|e| e.to_string())?;
            log.run_line(&format!("Context: {} files, {} bytes", stats.files, stats.bytes));
            Ok(())
        }
        RunSource::Archive(path) => {
            log.run_line("Extracting the uploaded context into the workspace volume...");
            let file =
                tokio::fs::File::open(path).await.map_err(|e| format!("cannot open the context archive: {e}"))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
            docker.upload_to_volume(volume, "/", stream).await.map_err(|e| e.to_string())
        }
    }
}

/// `~/.docker/config.json` for steps that run the docker CLI: the run's registry logins, as
/// ACR's runner writes them for its steps.
fn docker_config_json(credentials: &crate::registry::Credentials) -> String {
    let auths: serde_json::Map<String, serde_json::Value> = credentials
        .iter()
        .map(|(host, c)| {
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password));
            (host.to_string(), serde_json::json!({ "auth": auth }))
        })
        .collect();
    serde_json::json!({ "auths": auths, "HttpHeaders": { "X-Meta-Source-Client": "drydock" } }).to_string()
}

/// Removes every object labelled with the run id and reports anything left behind.
pub async fn teardown(engine: &Engine, key: &str, workspace: Option<&str>, log: &RunLog) {
    let run_id = key;
    match engine.docker().remove_run_objects_and(key, workspace).await {
        Ok(report) if report.is_clean() => {}
        Ok(report) => {
            let msg = format!("cleanup of run {run_id} left objects behind: {:?}", report.failures);
            tracing::warn!("{msg}");
            log.run_line(&format!("Warning: {msg}; the janitor removes them at the next start"));
        }
        Err(e) => {
            tracing::warn!(run_id, error = %e, "cleanup failed");
            log.run_line(&format!("Warning: cleanup failed ({e}); the janitor removes leftovers at the next start"));
        }
    }
}
