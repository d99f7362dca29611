//! Idle bridge networks kept between runs, so that a run whose steps overlap does not pay for
//! making its network and removing it: on Docker 20.10 that is about 0.1 s before the first step
//! and 0.2 s after the last, a tenth of a run of parallel two-second steps.
//!
//! A network is one run's at a time. Who holds it holds an exclusive lock on a file named after
//! it, in a directory of this user on this machine; the lock goes with the process, so a run that
//! is killed gives its network back by dying. A network is only taken when no container is
//! attached to it: a killed run's containers, until the janitor removes them, keep it from a new
//! run, whose steps would otherwise resolve the old ones' names. Every drydock process of one user
//! on one machine (local runs and daemons alike) shares the pool; networks another machine or user
//! keeps on the same engine carry another pool key and are never touched.
//!
//! At most `idle` networks stay idle per pool: a run that hands its network back removes the
//! surplus, so networks left by killed processes do not pile up in the engine's address pools.
//! `docker network prune` removes idle ones too.

use crate::docker::{DockerError, DockerHost};
use sha2::Digest;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Label on a pool network; its value is the pool's key.
pub const POOL_LABEL: &str = "drydock.network-pool";
/// Idle networks kept by default (`--idle-networks`).
pub const DEFAULT_IDLE: usize = 2;

/// One user's idle networks on this machine.
#[derive(Clone, Debug)]
pub struct NetworkPool {
    /// Holds one lock file per network.
    dir: PathBuf,
    /// [`POOL_LABEL`]'s value: this machine and lock directory.
    key: String,
    /// How many idle networks to keep.
    idle: usize,
}

/// A pool network held by one run until it is handed back (or its holder dies).
#[derive(Debug)]
pub struct HeldNetwork {
    /// The network's name.
    pub name: String,
    /// Whether an earlier run made it.
    pub reused: bool,
    /// Locked while held.
    lock: File,
}

impl NetworkPool {
    /// The pool of this user on this machine, keeping `idle` networks; `None` for 0 (every run
    /// makes and removes its own network).
    pub fn for_this_user(idle: usize) -> Result<Option<NetworkPool>, String> {
        if idle == 0 {
            return Ok(None);
        }
        let uid = rustix::process::geteuid().as_raw();
        NetworkPool::in_dir(&std::env::temp_dir().join(format!("drydock-{uid}-networks")), idle).map(Some)
    }

    /// A pool whose locks live in `dir`, created private to this user if missing. A directory
    /// that someone else owns or can write is refused: whoever can remove a lock file could take
    /// a network a run holds.
    pub fn in_dir(dir: &Path, idle: usize) -> Result<NetworkPool, String> {
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
        let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let uid = rustix::process::geteuid().as_raw();
        if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
            return Err(format!(
                "{} is not a directory that only this user (uid {uid}) can write; remove it, or pass \
                 --idle-networks 0",
                dir.display()
            ));
        }
        let dir = dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let mut h = sha2::Sha256::new();
        h.update(crate::engine::janitor::hostname().as_bytes());
        h.update([0]);
        h.update(dir.as_os_str().as_encoded_bytes());
        let key = hex::encode(&h.finalize()[..8]);
        Ok(NetworkPool { dir, key, idle })
    }

    /// The pool's key ([`POOL_LABEL`]'s value on its networks).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// An idle network of the pool, or a new one when none is free.
    pub async fn take(&self, docker: &DockerHost) -> Result<HeldNetwork, String> {
        for name in docker.networks_labelled(POOL_LABEL, &self.key).await.map_err(|e| e.to_string())? {
            let Some(lock) = self.try_lock(&name) else { continue };
            // Checked under the lock: a network removed meanwhile is gone (`None`), and one with
            // a killed run's containers still attached waits for the janitor.
            if docker.attached_containers(&name).await.map_err(|e| e.to_string())?.is_some_and(|c| c.is_empty()) {
                return Ok(HeldNetwork { name, reused: true, lock });
            }
        }
        let mut raw = [0u8; 6];
        getrandom::fill(&mut raw).map_err(|e| format!("no randomness for a network name: {e}"))?;
        let name = format!("drydock_net_{}", hex::encode(raw));
        let lock = self
            .try_lock(&name)
            .ok_or_else(|| format!("cannot lock a new network's file in {}", self.dir.display()))?;
        docker.create_unowned_network(&name, POOL_LABEL, &self.key).await.map_err(|e| e.to_string())?;
        Ok(HeldNetwork { name, reused: false, lock })
    }

    /// Hands a network back once its run's containers are gone. It stays for the next run when
    /// nothing is attached to it; other idle networks beyond the pool's size are removed.
    pub async fn give_back(&self, docker: &DockerHost, held: HeldNetwork) -> Result<(), String> {
        // One hand-back at a time: two runs ending together would each count the other's network
        // as held, and both keep theirs.
        let path = self.dir.join("pool.lock");
        let whole = tokio::task::spawn_blocking(move || {
            let file = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&path)?;
            file.lock().map(|()| file)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot lock the network pool: {e}"))?;
        let clean =
            docker.attached_containers(&held.name).await.map_err(|e| e.to_string())?.is_some_and(|c| c.is_empty());
        let mut idle = Vec::new();
        for name in docker.networks_labelled(POOL_LABEL, &self.key).await.map_err(|e| e.to_string())? {
            if name != held.name
                && let Some(lock) = self.try_lock(&name)
            {
                idle.push((name, lock));
            }
        }
        let keep = if clean { self.idle - 1 } else { self.idle };
        let mut surplus = idle.split_off(keep.min(idle.len()));
        if clean {
            drop(held);
        } else {
            surplus.push((held.name, held.lock));
        }
        // The kept ones are unlocked when `idle` goes, before `whole`.
        let removals = surplus.into_iter().map(|(name, lock)| async move {
            let removed = docker.remove_network_forcibly(&name).await;
            if removed.is_ok() {
                // Unlinked while still locked: whoever opened it meanwhile finds no network.
                let _ = std::fs::remove_file(self.lock_path(&name));
            }
            drop(lock);
            removed
        });
        let removed: Result<(), DockerError> = futures_util::future::join_all(removals).await.into_iter().collect();
        drop(idle);
        drop(whole);
        removed.map_err(|e| e.to_string())
    }

    fn lock_path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.lock"))
    }

    /// The network's lock, if nobody holds it.
    fn try_lock(&self, network: &str) -> Option<File> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.lock_path(network))
            .ok()?;
        file.try_lock().ok().map(|()| file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_a_dead_holder_releases() {
        let dir = tempfile::tempdir().unwrap();
        let pool = NetworkPool::in_dir(&dir.path().join("locks"), 2).unwrap();
        let held = pool.try_lock("n1").expect("free");
        assert!(pool.try_lock("n1").is_none(), "a second holder");
        assert!(pool.try_lock("n2").is_some(), "another network is free");
        drop(held);
        assert!(pool.try_lock("n1").is_some(), "free again once its holder is gone");
    }

    #[test]
    fn the_key_names_the_lock_directory_and_a_shared_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = NetworkPool::in_dir(&dir.path().join("a"), 1).unwrap();
        let b = NetworkPool::in_dir(&dir.path().join("b"), 1).unwrap();
        assert_ne!(a.key(), b.key());
        assert_eq!(a.key(), NetworkPool::in_dir(&dir.path().join("a"), 3).unwrap().key());
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let err = NetworkPool::in_dir(&open, 1).unwrap_err();
        assert!(err.contains("only this user") && err.contains("--idle-networks 0"), "{err}");
        assert!(NetworkPool::for_this_user(0).unwrap().is_none());
    }
}
