//! Idle bridge networks kept between runs, so that a run whose steps overlap does not pay for
//! making its network and removing it: on Docker 20.10 that is about 0.1 s before the first step
//! and 0.2 s after the last, a tenth of a run of parallel two-second steps.
//!
//! A network is one run's at a time: the run holds a claim on it (`docker::claims`), a container
//! named after the network and labelled as the run's object. The claim goes with the run's
//! teardown; when the run's process dies, with the janitor's sweep of its objects; either way the
//! network is idle again. A network is only taken when no container is attached to it: a killed
//! run's containers, until the janitor removes them, keep it from a new run, whose steps would
//! otherwise resolve the old ones' names.
//!
//! The pool belongs to the engine, not to a process or a machine: every drydock that uses the
//! engine (local runs, daemons, a daemon in a container whose name changes at each restart) takes
//! from it and hands back to it, so idle networks never outlive whoever made them. At most `idle`
//! stay idle: a run that hands its network back removes the surplus, and the engine's address
//! pools are spared. `docker network prune` removes idle ones too.

use crate::docker::{DockerHost, Labels};

/// Label on a pool network; its value is the pool's name.
pub const POOL_LABEL: &str = "drydock.network-pool";
/// Label on a claim; its value is the claimed network.
pub const CLAIM_LABEL: &str = "drydock.network-claim";
/// Idle networks kept by default (`--idle-networks`).
pub const DEFAULT_IDLE: usize = 2;
/// The pool every drydock uses unless told otherwise (`DRYDOCK_NETWORK_POOL`).
pub const DEFAULT_POOL: &str = "default";

/// The idle networks of one pool on an engine.
#[derive(Clone, Debug)]
pub struct NetworkPool {
    /// [`POOL_LABEL`]'s value.
    name: String,
    /// How many idle networks to keep.
    idle: usize,
}

/// A pool network a run holds.
#[derive(Debug)]
pub struct HeldNetwork {
    /// The network's name.
    pub name: String,
    /// Whether an earlier run made it.
    pub reused: bool,
}

impl NetworkPool {
    /// Pool `name`, keeping `idle` networks; `None` for 0 (every run makes and removes its own).
    pub fn new(name: &str, idle: usize) -> Option<NetworkPool> {
        (idle > 0).then(|| NetworkPool { name: name.to_string(), idle })
    }

    /// The pool's name ([`POOL_LABEL`]'s value on its networks).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An idle network of the pool, or a new one when none is free, claimed with `labels` (the
    /// run's, so that its teardown or a janitor frees it).
    pub async fn take(&self, docker: &DockerHost, labels: &Labels) -> Result<HeldNetwork, String> {
        let err = |e: crate::docker::DockerError| e.to_string();
        for name in self.idle(docker).await.map_err(err)? {
            if !docker.create_claim(&claim_name(&name), labels, CLAIM_LABEL, &name).await.map_err(err)? {
                continue;
            }
            // Checked under the claim: a network removed meanwhile is gone (`None`), and one
            // with a killed run's containers still attached waits for the janitor.
            if docker.attached_containers(&name).await.map_err(err)?.is_some_and(|c| c.is_empty()) {
                return Ok(HeldNetwork { name, reused: true });
            }
            docker.remove_container(&claim_name(&name), true).await.map_err(err)?;
        }
        let mut raw = [0u8; 6];
        getrandom::fill(&mut raw).map_err(|e| format!("no randomness for a network name: {e}"))?;
        let name = format!("drydock_net_{}", hex::encode(raw));
        if !docker.create_claim(&claim_name(&name), labels, CLAIM_LABEL, &name).await.map_err(err)? {
            return Err(format!("the new network {name} is claimed already"));
        }
        docker.create_unowned_network(&name, POOL_LABEL, &self.name).await.map_err(err)?;
        Ok(HeldNetwork { name, reused: false })
    }

    /// Hands a network back after the run's teardown, which removed its claim with the run's
    /// other objects (one the teardown could not remove keeps the network from others until the
    /// janitor's sweep): idle networks beyond the pool's size are removed, this one last.
    /// `labels` are the run's: a claim taken to remove a surplus network is the run's object
    /// while it lasts, so a janitor frees it if the run's process dies meanwhile.
    pub async fn give_back(&self, docker: &DockerHost, held: HeldNetwork, labels: &Labels) -> Result<(), String> {
        let err = |e: crate::docker::DockerError| e.to_string();
        let mut idle = self.idle(docker).await.map_err(err)?;
        // Others go first: this one is known to be clean.
        idle.sort_by_key(|n| *n == held.name);
        let surplus = idle.len().saturating_sub(self.idle);
        let removals = idle.into_iter().take(surplus).map(|name| async move {
            // Claimed while it goes, so that nobody takes it meanwhile; a claim taken already
            // means somebody else is using it, or removing it.
            let claim = claim_name(&name);
            if !docker.create_claim(&claim, labels, CLAIM_LABEL, &name).await? {
                return Ok(());
            }
            let removed = docker.remove_network_forcibly(&name).await;
            docker.remove_container(&claim, true).await?;
            removed
        });
        let results = futures_util::future::join_all(removals).await;
        results.into_iter().collect::<Result<(), crate::docker::DockerError>>().map_err(err)
    }

    /// The pool's networks that nobody claims.
    async fn idle(&self, docker: &DockerHost) -> crate::docker::Result<Vec<String>> {
        let (networks, claimed) =
            tokio::try_join!(docker.networks_labelled(POOL_LABEL, &self.name), docker.claimed(CLAIM_LABEL))?;
        Ok(networks.into_iter().filter(|n| !claimed.contains(n)).collect())
    }
}

/// The claim on network `network`.
fn claim_name(network: &str) -> String {
    format!("{network}_claim")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pool_for_zero_idle_networks() {
        assert!(NetworkPool::new(DEFAULT_POOL, 0).is_none());
        assert_eq!(NetworkPool::new("ci", 2).unwrap().name(), "ci");
    }
}
