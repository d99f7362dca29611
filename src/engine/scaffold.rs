//! The Docker objects a run needs before its first step, and their removal after its last.

use super::log::RunLog;
use super::network_pool::HeldNetwork;
use super::{Engine, Execution, RunSource};
use crate::context::pack::{PackOptions, pack_dir};
use crate::docker::{DockerHost, Labels};
use crate::taskfile::task::DEFAULT_NETWORK;
use crate::taskfile::{Plan, TaskFile};
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
    /// The default network, when it came from the engine's pool (handed back after teardown).
    pub pooled: Option<HeldNetwork>,
    /// Steps (by id) that run on the engine's default bridge although the run has a network of
    /// its own, because no other step is alive while they run ([`shares_network`]).
    pub alone: std::collections::HashSet<String>,
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
            let mut pooled = None;
            let mut alone = std::collections::HashSet::new();
            if !req.quick_build {
                let shared = shares_network(&req.task, &req.plan);
                if req.task.networks.is_empty() && shared.iter().any(|s| *s) {
                    alone =
                        req.task.steps.iter().zip(&shared).filter(|(_, s)| !**s).map(|(st, _)| st.id.clone()).collect();
                    let actual = if let Some(pool) = &engine.config().network_pool {
                        let held = pool.take(docker, &labels).await?;
                        let verb = if held.reused { "Using the idle" } else { "Creating" };
                        log.run_line(&format!("{verb} Docker network: {}, driver: 'bridge'", held.name));
                        let name = held.name.clone();
                        pooled = Some(held);
                        name
                    } else {
                        // ACR names it `acb_default_network`; the run id keeps concurrent runs apart.
                        let actual = format!("drydock_{run}_default");
                        create_network(docker, log, &actual, "bridge", false, &labels).await?;
                        actual
                    };
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
            Ok::<_, String>((networks, default_network, pooled, alone))
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
        let ((networks, default_network, pooled, alone), (workspace, home)) = tokio::try_join!(networks, storage)?;

        let mut volumes = BTreeMap::new();
        for v in &req.task.volumes {
            let actual = format!("drydock_vol_{run}_{}", v.name);
            docker.create_volume(&actual, &labels).await.map_err(|e| e.to_string())?;
            let files: Vec<(&str, &[u8], u32)> =
                v.files.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice(), 0o444)).collect();
            docker.write_files_to_volume(&actual, &files).await.map_err(|e| e.to_string())?;
            volumes.insert(v.name.clone(), actual);
        }
        Ok(Scaffold { networks, default_network, workspace, home, volumes, pooled, alone })
    }
}

/// For each step, whether it joins the run's network: when it may be alive while another step is
/// (it is detached, or neither waits for the other, or the other is an earlier detached step), or
/// it names a network. Any other step has the engine to itself while it runs: nobody is there to
/// reach by id, and nobody can reach it, so it runs on the default bridge, whose containers start
/// faster (no embedded DNS to set up). A run without declared networks gets one of its own only
/// when a step joins it: a chain, each step waiting for the one before, spares making one.
pub fn shares_network(task: &TaskFile, plan: &Plan) -> Vec<bool> {
    let steps = &task.steps;
    // Step `a` has ended before step `b` starts.
    let ended_before = |a: usize, b: usize| !steps[a].detach && plan.precedes(a, b);
    (0..steps.len())
        .map(|i| {
            steps[i].network.is_some() || (0..steps.len()).any(|j| j != i && !ended_before(j, i) && !ended_before(i, j))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::shares_network;
    use crate::taskfile::{LoadOptions, LoadRequest, alias::NoAliasSources, load};

    fn shared(yaml: &str) -> Vec<bool> {
        let loaded = load(&LoadRequest {
            file_name: "acb.yaml",
            source: yaml,
            values: serde_json::json!({}),
            secrets: Default::default(),
            run: Default::default(),
            now: chrono::Utc::now(),
            alias_loader: &NoAliasSources,
            options: LoadOptions::default(),
        })
        .unwrap_or_else(|d| panic!("{d}"));
        shares_network(&loaded.task, &loaded.plan)
    }

    #[test]
    fn only_steps_that_may_be_alive_together_join_the_run_network() {
        // A chain: each step has ended before the next starts.
        assert_eq!(shared("steps:\n  - cmd: a\n  - cmd: b\n  - cmd: c\n"), [false, false, false]);
        // Two at once, then a join after both: the join has the engine to itself.
        let wide = "steps:\n  - id: a\n    cmd: a\n    when: [\"-\"]\n  - id: b\n    cmd: b\n    when: [\"-\"]\n  - id: c\n    cmd: c\n    when: [a, b]\n";
        assert_eq!(shared(wide), [true, true, false]);
        // A detached service lives on: every later step may reach it.
        let service =
            "steps:\n  - id: db\n    cmd: db\n    detach: true\n  - id: t1\n    cmd: t\n  - id: t2\n    cmd: t\n";
        assert_eq!(shared(service), [true, true, true]);
        // Waiting through another step counts: c waits for a through b.
        let deep = "steps:\n  - id: a\n    cmd: a\n    when: [\"-\"]\n  - id: x\n    cmd: x\n    when: [\"-\"]\n  - id: b\n    cmd: b\n    when: [a]\n  - id: c\n    cmd: c\n    when: [b, x]\n";
        assert_eq!(shared(deep), [true, true, true, false]);
        // A step that names a network joins it.
        assert_eq!(shared("steps:\n  - cmd: a\n    network: host\n  - cmd: b\n"), [true, false]);
    }
}
