//! Named volumes: the shared `/workspace` of a run, home directories, secret files.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use super::error::{DockerError, Result, status_of};
use super::{DockerHost, Labels};

/// How long `remove_volume` keeps retrying while the engine still reports the volume in use.
/// Right after a container is removed (especially an auto-removed one), the engine can take a
/// moment to release its mounts.
const IN_USE_RETRY_FOR: Duration = Duration::from_secs(10);

impl DockerHost {
    /// Creates a named volume with the local driver.
    pub async fn create_volume(&self, name: &str, labels: &Labels) -> Result<()> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.to_hash_map()),
            ..Default::default()
        };
        self.api.create_volume(req).await.map_err(|e| DockerError::api(format!("creating volume `{name}`"), e))?;
        Ok(())
    }

    /// True if the volume exists.
    pub async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.api.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!("inspecting volume `{name}`"), e)),
        }
    }

    /// Labels of a volume (used to label helper containers like the volume they serve).
    pub(crate) async fn volume_labels(&self, name: &str) -> Result<HashMap<String, String>> {
        match self.api.inspect_volume(name).await {
            Ok(v) => Ok(v.labels),
            Err(e) if status_of(&e) == Some(404) => {
                Err(DockerError::NotFound { kind: "volume", name: name.to_string() })
            }
            Err(e) => Err(DockerError::api(format!("inspecting volume `{name}`"), e)),
        }
    }

    /// Removes a volume; a missing volume counts as removed. Retries for a few seconds while the
    /// engine still reports it in use, then gives up with the engine's message (which names the
    /// container holding it).
    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + IN_USE_RETRY_FOR;
        let mut pause = Duration::from_millis(100);
        loop {
            let opts = RemoveVolumeOptionsBuilder::default().force(false).build();
            match self.api.remove_volume(name, Some(opts)).await {
                Ok(()) => return Ok(()),
                Err(e) if status_of(&e) == Some(404) => return Ok(()),
                Err(e) if status_of(&e) == Some(409) && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(volume = name, "volume still in use, retrying removal");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(DockerError::api(format!("removing volume `{name}`"), e)),
            }
        }
    }
}
