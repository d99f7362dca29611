//! Moving files into and out of named volumes, streamed.
//!
//! The engine has no volume archive API, only container archive APIs, so each transfer creates
//! a helper container from the seed image with the volume mounted at `/v`, copies through it,
//! and removes it. The helper is never started: the engine copies into and out of created
//! containers. Bodies are streamed end to end; nothing here holds a whole archive in memory
//! (except `write_files_to_volume`, which is for small files).

use std::io;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};

use super::error::{DockerError, Result};
use super::seed::{NEVER_RUN_CMD, SEED_IMAGE, unique_suffix};
use super::{DockerHost, Labels, RUN_LABEL};

/// Where helper containers mount the volume.
const MOUNT_POINT: &str = "/v";

/// Run id given to helpers of volumes that carry no run label (not created by drydock), so
/// the janitor can still find them.
const UNOWNED_RUN_ID: &str = "volume-helper";

impl DockerHost {
    /// Extracts the tar stream `tar_body` into `dest_dir` (relative to the volume root; created
    /// if missing, `""` for the root). The body is streamed: its size is not limited by memory.
    pub async fn upload_to_volume<S>(&self, volume: &str, dest_dir: &str, tar_body: S) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
    {
        let dest = clean_relative(dest_dir)?;
        let helper = self.create_volume_helper(volume).await?;
        let result = async {
            if !dest.is_empty() {
                let dirs = Bytes::from(dir_tar(&dest)?);
                self.put_archive(&helper.id, MOUNT_POINT, stream::once(async { Ok(dirs) })).await?;
            }
            let target = join_mount(&dest);
            self.put_archive(&helper.id, &target, tar_body).await
        }
        .await;
        helper.remove(self).await;
        result
    }

    /// Streams a tar of `path` (relative to the volume root) out of the volume.
    ///
    /// As with `docker cp`, entries are prefixed with the last component of `path`: for
    /// `path = "out/report.txt"` the tar holds `report.txt`; for `path = "out"` it holds `out/`,
    /// `out/…`. For the volume root (`""` or `"."`) the entries start with `./`.
    /// The helper container lives until the stream ends or is dropped.
    pub async fn download_from_volume(
        &self,
        volume: &str,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + 'static> {
        let rel = clean_relative(path)?;
        let helper = self.create_volume_helper(volume).await?;
        let source = if rel.is_empty() { format!("{MOUNT_POINT}/.") } else { join_mount(&rel) };
        let opts = DownloadFromContainerOptionsBuilder::default().path(&source).build();
        let action = format!("downloading `{path}` from volume `{volume}`");
        let body = self.streaming.download_from_container(&helper.id, Some(opts)).map_err(move |e| {
            match super::error::status_of(&e) {
                Some(404) => DockerError::NotFound { kind: "path in volume", name: path_for_error(&source) },
                _ => DockerError::api(action.clone(), e),
            }
        });
        // Remove the helper when the body ends; if the caller drops the stream early, the
        // guard's Drop removes it instead.
        let host = self.clone();
        let cleanup = stream::once(async move {
            helper.remove(&host).await;
            None
        })
        .filter_map(futures_util::future::ready);
        Ok(body.chain(cleanup))
    }

    /// Writes small files (secrets, config) into a volume in one go. Paths are relative to the
    /// volume root; parent directories are created. Files are owned by root with `mode`.
    pub async fn write_files_to_volume(&self, volume: &str, files: &[(&str, &[u8], u32)]) -> Result<()> {
        let tar = files_tar(files)?;
        self.upload_to_volume(volume, "", stream::once(async move { Ok(Bytes::from(tar)) })).await
    }

    /// `PUT /containers/{id}/archive`: the engine extracts the tar stream at `path`.
    async fn put_archive<S>(&self, id: &str, path: &str, body: S) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
    {
        let opts = UploadToContainerOptionsBuilder::default().path(path).build();
        self.streaming
            .upload_to_container(id, Some(opts), bollard::body_try_stream(body))
            .await
            .map_err(|e| DockerError::api(format!("copying an archive to `{}`", path_for_error(path)), e))
    }

    async fn create_volume_helper(&self, volume: &str) -> Result<VolumeHelper> {
        self.ensure_seed_image().await?;
        let labels = self.volume_labels(volume).await?;
        let labels = Labels::from_map(&labels)
            .unwrap_or_else(|| Labels::for_run(UNOWNED_RUN_ID))
            .with("drydock.helper", "volume");
        debug_assert!(labels.to_map().contains_key(RUN_LABEL));
        let name = format!("drydock-vol-{}", unique_suffix());
        let body = ContainerCreateBody {
            image: Some(SEED_IMAGE.to_string()),
            cmd: Some(vec![NEVER_RUN_CMD.to_string()]),
            labels: Some(labels.to_hash_map()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(MOUNT_POINT.to_string()),
                    source: Some(volume.to_string()),
                    typ: Some(MountType::VOLUME),
                    // Never copy the (empty) image directory over a fresh volume.
                    volume_options: Some(MountVolumeOptions { no_copy: Some(true), ..Default::default() }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let resp = self
            .api
            .create_container(Some(opts), body)
            .await
            .map_err(|e| DockerError::api(format!("creating a helper container for volume `{volume}`"), e))?;
        Ok(VolumeHelper { id: resp.id, guard: Some(RemoveOnDrop { host: self.clone(), id: name }) })
    }
}

/// A helper container that is removed when done, or when dropped.
struct VolumeHelper {
    id: String,
    guard: Option<RemoveOnDrop>,
}

impl VolumeHelper {
    /// Removes the helper now (errors are logged: the janitor sweeps what is left).
    async fn remove(mut self, host: &DockerHost) {
        // Disarm the guard: we remove the helper ourselves and can wait for it.
        if let Some(guard) = self.guard.take() {
            guard.disarm();
        }
        if let Err(e) = host.remove_container(&self.id, true).await {
            tracing::warn!(container = %self.id, "could not remove volume helper: {e}");
        }
    }
}

/// Removes a container from a spawned task when dropped (for streams abandoned mid-way).
struct RemoveOnDrop {
    host: DockerHost,
    id: String,
}

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.id.clear();
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.id.is_empty() {
            return;
        }
        let (host, id) = (self.host.clone(), std::mem::take(&mut self.id));
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = host.remove_container(&id, true).await {
                        tracing::warn!(container = %id, "could not remove volume helper: {e}");
                    }
                });
            }
            Err(_) => tracing::warn!(container = %id, "volume helper left behind (no runtime)"),
        }
    }
}

/// Normalises a path inside the volume: relative, `/`-separated, no `..`. `""` is the root.
fn clean_relative(path: &str) -> Result<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(DockerError::InvalidRequest {
                    what: "volume path",
                    reason: format!("`{path}` must not contain `..`"),
                });
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn join_mount(rel: &str) -> String {
    if rel.is_empty() { MOUNT_POINT.to_string() } else { format!("{MOUNT_POINT}/{rel}") }
}

/// A path as the caller knows it (without the helper's mount point).
fn path_for_error(path: &str) -> String {
    let p = path.strip_prefix(MOUNT_POINT).unwrap_or(path);
    let p = p.trim_start_matches('/');
    if p.is_empty() || p == "." { "<volume root>".into() } else { p.to_string() }
}

fn dir_header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    h
}

/// A tar with one directory entry per component of `rel` (so the engine creates them all).
fn dir_tar(rel: &str) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut prefix = String::new();
    let io = |source| DockerError::Io { action: "building a directory archive".into(), source };
    for part in rel.split('/') {
        prefix.push_str(part);
        prefix.push('/');
        b.append_data(&mut dir_header(), &prefix, io::empty()).map_err(io)?;
    }
    b.into_inner().map_err(io)
}

/// A tar of small in-memory files, with their parent directories.
fn files_tar(files: &[(&str, &[u8], u32)]) -> Result<Vec<u8>> {
    let io = |source| DockerError::Io { action: "building an archive of files".into(), source };
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, data, mode) in files {
        let rel = clean_relative(path)?;
        if rel.is_empty() {
            return Err(DockerError::InvalidRequest { what: "file path", reason: format!("`{path}` names no file") });
        }
        let mut prefix = String::new();
        let components: Vec<&str> = rel.split('/').collect();
        for part in &components[..components.len() - 1] {
            prefix.push_str(part);
            prefix.push('/');
            if dirs.insert(prefix.clone()) {
                b.append_data(&mut dir_header(), &prefix, io::empty()).map_err(io)?;
            }
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, &rel, *data).map_err(io)?;
    }
    b.into_inner().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_relative("").unwrap(), "");
        assert_eq!(clean_relative("/a//b/./c/").unwrap(), "a/b/c");
        assert!(clean_relative("a/../b").is_err());
    }

    #[test]
    fn files_tar_has_parents_and_modes() {
        let tar = files_tar(&[("s/x/token", b"abc", 0o600), ("s/y", b"", 0o644)]).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<(String, u32)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().to_string_lossy().into_owned(), e.header().mode().unwrap())
            })
            .collect();
        assert_eq!(
            names,
            vec![("s/".into(), 0o755), ("s/x/".into(), 0o755), ("s/x/token".into(), 0o600), ("s/y".into(), 0o644)]
        );
    }
}
