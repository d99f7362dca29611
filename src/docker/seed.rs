//! The seed image: a nearly empty image that helper containers are created from.
//!
//! Volume uploads and downloads go through a container that mounts the volume and is never
//! started; the engine can copy archives into and out of a created container. That container
//! needs *some* image, and drydock must not depend on pulling one (hosts may be offline), so it
//! imports its own: a root filesystem holding one empty directory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;

use bollard::query_parameters::CreateImageOptionsBuilder;

use super::DockerHost;
use super::error::{DockerError, Result};

/// Reference of the seed image drydock imports for its helper containers.
pub const SEED_IMAGE: &str = "drydock/seed:1";

/// A command for helper containers; they are never started, but the engine refuses to create a
/// container without one.
pub(crate) const NEVER_RUN_CMD: &str = "/drydock-helper-never-runs";

impl DockerHost {
    /// Makes sure [`SEED_IMAGE`] exists, importing it (no pull) if it does not.
    pub async fn ensure_seed_image(&self) -> Result<()> {
        self.seed_ready
            .get_or_try_init(|| async {
                // Hosts are per connection; the lock keeps two hosts of one process from
                // importing at the same moment (each import makes a new image id, leaving the
                // loser's image dangling).
                static IMPORTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
                let _guard = IMPORTING.lock().await;
                if self.image_exists(SEED_IMAGE).await? {
                    return Ok(());
                }
                self.import_seed_image().await
            })
            .await
            .map(|_| ())
    }

    async fn import_seed_image(&self) -> Result<()> {
        let rootfs = seed_rootfs()?;
        let (repo, tag) = SEED_IMAGE.rsplit_once(':').unwrap_or((SEED_IMAGE, "latest"));
        let opts = CreateImageOptionsBuilder::default().from_src("-").repo(repo).tag(tag).build();
        let mut progress = self.streaming.create_image(Some(opts), Some(bollard::body_full(rootfs.into())), None);
        while let Some(item) = progress.next().await {
            item.map_err(|e| DockerError::api(format!("importing seed image {SEED_IMAGE}"), e))?;
        }
        tracing::info!("imported seed image {SEED_IMAGE}");
        Ok(())
    }
}

/// A tar holding the directory `v/` (where helpers mount volumes), built in memory: it is tiny.
fn seed_rootfs() -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    b.append_data(&mut h, "v/", std::io::empty())
        .and_then(|_| b.into_inner())
        .map_err(|source| DockerError::Io { action: "building the seed image".into(), source })
}

/// A name suffix unique within this process and very likely across processes, for helper
/// objects (no `rand` dependency needed for that).
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff, n)
}
