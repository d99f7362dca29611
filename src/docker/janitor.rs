//! Finding and removing what runs left behind, by the run label.
//!
//! Used at the end of every run and by the start-up janitor after a crash. Removal order
//! matters: containers hold network endpoints and volume mounts, so they go first, then
//! networks (after forcibly disconnecting anything still attached), then volumes.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};

use super::error::{DockerError, Result};
use super::{DockerHost, RUN_LABEL};

/// A container found by the janitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// All its labels.
    pub labels: BTreeMap<String, String>,
}

/// Everything on the engine that carries one run id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunObjects {
    /// Value of the [`RUN_LABEL`].
    pub run_id: String,
    /// Containers in any state.
    pub containers: Vec<ContainerRef>,
    /// Network names.
    pub networks: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
    /// Labels of the run's objects (those of the first object seen; every object of a run carries
    /// the same set), so that janitors can tell whose run it was even when only a volume is left.
    pub labels: BTreeMap<String, String>,
}

/// What `remove_run_objects` did, and what it could not do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalReport {
    /// Names of removed containers.
    pub containers: Vec<String>,
    /// Names of removed networks.
    pub networks: Vec<String>,
    /// Names of removed volumes.
    pub volumes: Vec<String>,
    /// Objects that are still there: (kind, name, why).
    pub failures: Vec<(String, String, String)>,
}

impl RemovalReport {
    /// True when everything found was removed.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

impl DockerHost {
    /// All objects carrying a run label, grouped by run id (sorted). `label_filter` narrows
    /// the search to objects that also carry these `key=value` labels (e.g. `drydock.node`).
    pub async fn list_run_objects(&self, label_filter: &[(&str, &str)]) -> Result<Vec<RunObjects>> {
        let mut labels = vec![RUN_LABEL.to_string()];
        labels.extend(label_filter.iter().map(|(k, v)| format!("{k}={v}")));
        let filters = HashMap::from([("label".to_string(), labels)]);
        let containers = self
            .api
            .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&filters).build()))
            .await
            .map_err(|e| DockerError::api("listing drydock containers", e))?;
        let networks = self
            .api
            .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| DockerError::api("listing drydock networks", e))?;
        let volumes = self
            .api
            .list_volumes(Some(ListVolumesOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| DockerError::api("listing drydock volumes", e))?;

        let mut runs: BTreeMap<String, RunObjects> = BTreeMap::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let Some(run) = labels.get(RUN_LABEL).cloned() else {
                continue;
            };
            let name =
                c.names.and_then(|n| n.into_iter().next()).unwrap_or_default().trim_start_matches('/').to_string();
            let entry = slot(&mut runs, &run);
            if entry.labels.is_empty() {
                entry.labels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            }
            entry.containers.push(ContainerRef {
                id: c.id.unwrap_or_default(),
                name,
                labels: labels.into_iter().collect(),
            });
        }
        for n in networks {
            let labels = n.labels.unwrap_or_default();
            if let (Some(run), Some(name)) = (labels.get(RUN_LABEL), n.name) {
                let entry = slot(&mut runs, run);
                if entry.labels.is_empty() {
                    entry.labels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                entry.networks.push(name);
            }
        }
        for v in volumes.volumes.unwrap_or_default() {
            if let Some(run) = v.labels.get(RUN_LABEL) {
                let entry = slot(&mut runs, run);
                if entry.labels.is_empty() {
                    entry.labels = v.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                entry.volumes.push(v.name);
            }
        }
        Ok(runs.into_values().collect())
    }

    /// Removes every container, network and volume of `run_id`: containers (forced) first,
    /// then networks (disconnecting whatever is still attached), then volumes. Never stops at
    /// the first failure and never hides one: the report lists what is still there and why.
    pub async fn remove_run_objects(&self, run_id: &str) -> Result<RemovalReport> {
        self.remove_run_objects_and(run_id, None).await
    }

    /// [`DockerHost::remove_run_objects`], and also volume `also` (a run's workspace, labelled
    /// apart) once the run's containers are gone, beside its other volumes.
    pub async fn remove_run_objects_and(&self, run_id: &str, also: Option<&str>) -> Result<RemovalReport> {
        let mut report = RemovalReport::default();
        let found = self.list_run_objects(&[(RUN_LABEL, run_id)]).await?;
        let mut objects = found.into_iter().find(|r| r.run_id == run_id).unwrap_or_default();
        if let Some(volume) = also {
            objects.volumes.push(volume.to_string());
        }
        // Containers first (they hold the networks and volumes), each removal beside the others;
        // then networks and volumes together. A run's teardown waits for the slowest removal,
        // not for their sum (a network alone takes about 150 ms).
        let containers =
            futures_util::future::join_all(objects.containers.iter().map(|c| self.remove_container(&c.id, true))).await;
        for (c, removed) in objects.containers.iter().zip(containers) {
            match removed {
                Ok(()) => report.containers.push(c.name.clone()),
                Err(e) => report.failures.push(("container".into(), c.name.clone(), e.to_string())),
            }
        }
        let networks = futures_util::future::join_all(objects.networks.iter().map(|n| self.remove_network_forcibly(n)));
        let volumes = futures_util::future::join_all(objects.volumes.iter().map(|v| self.remove_volume(v)));
        let (networks, volumes) = tokio::join!(networks, volumes);
        for (net, removed) in objects.networks.iter().zip(networks) {
            match removed {
                Ok(()) => report.networks.push(net.clone()),
                Err(e) => report.failures.push(("network".into(), net.clone(), e.to_string())),
            }
        }
        for (vol, removed) in objects.volumes.iter().zip(volumes) {
            match removed {
                Ok(()) => report.volumes.push(vol.clone()),
                Err(e) => report.failures.push(("volume".into(), vol.clone(), e.to_string())),
            }
        }
        if !report.is_clean() {
            tracing::warn!(run = run_id, failures = ?report.failures, "run objects left behind");
        }
        Ok(report)
    }

    /// Disconnects every endpoint (e.g. containers of other runs) and removes the network.
    pub(crate) async fn remove_network_forcibly(&self, name: &str) -> Result<()> {
        for container in self.network_containers(name).await? {
            self.disconnect(name, &container).await?;
        }
        self.remove_network(name).await
    }
}

/// The group of `run_id`, created on first use.
fn slot<'a>(runs: &'a mut BTreeMap<String, RunObjects>, run_id: &str) -> &'a mut RunObjects {
    runs.entry(run_id.to_string()).or_insert_with(|| RunObjects { run_id: run_id.to_string(), ..Default::default() })
}
