//! User-defined networks: step containers find each other by network alias on them.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptionsBuilder};

use super::error::{DockerError, Result, status_of};
use super::{DockerHost, Labels};

impl DockerHost {
    /// Creates a network and returns its id. `driver` defaults to the engine's (`bridge`).
    ///
    /// Fails with a conflict if a network of that name exists: API 1.41 would otherwise happily
    /// create a second network with the same name, and every later call by name would then be
    /// "ambiguous".
    pub async fn create_network(
        &self,
        name: &str,
        driver: Option<&str>,
        ipv6: bool,
        labels: &Labels,
    ) -> Result<String> {
        self.create_network_with(name, driver, ipv6, labels.to_hash_map()).await
    }

    /// Creates a bridge network that belongs to no run (the run label would let a run's teardown
    /// or a janitor remove it), labelled `key=value`: an idle network kept for later runs.
    pub async fn create_unowned_network(&self, name: &str, key: &str, value: &str) -> Result<String> {
        let labels = HashMap::from([(key.to_string(), value.to_string())]);
        self.create_network_with(name, Some("bridge"), false, labels).await
    }

    /// Names of the networks labelled `key=value`.
    pub async fn networks_labelled(&self, key: &str, value: &str) -> Result<Vec<String>> {
        let list = self.list_networks_where("label", &format!("{key}={value}")).await?;
        Ok(list.into_iter().filter_map(|n| n.name).collect())
    }

    /// The networks the engine's list filter `filter=value` matches.
    async fn list_networks_where(&self, filter: &str, value: &str) -> Result<Vec<bollard::models::Network>> {
        let filters = HashMap::from([(filter.to_string(), vec![value.to_string()])]);
        self.api
            .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| DockerError::api(format!("listing networks ({filter} {value})"), e))
    }

    async fn create_network_with(
        &self,
        name: &str,
        driver: Option<&str>,
        ipv6: bool,
        labels: HashMap<String, String>,
    ) -> Result<String> {
        let action = format!("creating network `{name}`");
        if self.network_exists(name).await? {
            return Err(DockerError::Api {
                action,
                status: Some(409),
                message: "a network with this name already exists".into(),
            });
        }
        // Docker 20.10 has no default IPv6 pool, so `--ipv6` alone fails; give each IPv6 network
        // its own unique-local /64 (Docker still assigns the IPv4 subnet from its defaults).
        let ipam = ipv6.then(|| bollard::models::Ipam {
            config: Some(vec![bollard::models::IpamConfig {
                subnet: Some(unique_local_subnet(name)),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: driver.map(str::to_string),
            enable_ipv6: Some(ipv6),
            ipam,
            labels: Some(labels),
            ..Default::default()
        };
        let resp = self.api.create_network(req).await.map_err(|e| DockerError::api(action, e))?;
        Ok(resp.id)
    }

    /// True if a network with exactly this name (or id) exists.
    pub async fn network_exists(&self, name: &str) -> Result<bool> {
        match self.api.inspect_network(name, None::<InspectNetworkOptions>).await {
            Ok(n) => Ok(n.name.as_deref() == Some(name) || n.id.as_deref() == Some(name)),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!("inspecting network `{name}`"), e)),
        }
    }

    /// Removes a network; a network that does not exist counts as removed.
    ///
    /// Containers still connected make this fail (the engine's "has active endpoints"); the
    /// janitor disconnects them first.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        // Remove by id: duplicate names (possible on API 1.41) make removal by name ambiguous.
        for id in self.network_ids_named(name).await? {
            match self.api.remove_network(&id).await {
                Ok(()) => {}
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(DockerError::api(format!("removing network `{name}`"), e)),
            }
        }
        Ok(())
    }

    /// Ids of the networks named exactly `name` (the engine's name filter matches substrings).
    async fn network_ids_named(&self, name: &str) -> Result<Vec<String>> {
        let list = self.list_networks_where("name", name).await?;
        Ok(list
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name) || n.id.as_deref() == Some(name))
            .filter_map(|n| n.id)
            .collect())
    }

    /// Ids of the containers attached to a network (for forced removal).
    pub(crate) async fn network_containers(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.attached_containers(name).await?.unwrap_or_default())
    }

    /// Ids of the running containers attached to a network; `None` when there is no such network.
    pub async fn attached_containers(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.api.inspect_network(name, None::<InspectNetworkOptions>).await {
            Ok(n) => Ok(Some(n.containers.map(|c| c.into_keys().collect()).unwrap_or_default())),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspecting network `{name}`"), e)),
        }
    }

    /// Disconnects a container from a network, forcibly.
    pub(crate) async fn disconnect(&self, network: &str, container: &str) -> Result<()> {
        let req = bollard::models::NetworkDisconnectRequest { container: container.to_string(), force: Some(true) };
        match self.api.disconnect_network(network, req).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => {
                Err(DockerError::api(format!("disconnecting container `{container}` from network `{network}`"), e))
            }
        }
    }
}

/// A unique-local IPv6 /64 (RFC 4193, `fd00::/8`) derived from the network name and the clock, so
/// that concurrent runs get different subnets.
fn unique_local_subnet(name: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0).hash(&mut h);
    let v = h.finish();
    format!("fd{:02x}:{:04x}:{:04x}:{:04x}::/64", (v >> 56) as u8, (v >> 40) as u16, (v >> 24) as u16, (v >> 8) as u16)
}
