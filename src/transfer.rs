//! Moving a drydock database: `drydock export` writes tasks, runs and run logs to one archive,
//! and `drydock import` loads it into another database (typically SQLite → PostgreSQL when a
//! single node grows into several).
//!
//! The archive is a gzipped tar of `manifest.json`, `tasks.jsonl`, `runs.jsonl` and
//! `logs/<run>.log`. Secrets stay sealed: the manifest carries the tag of the key they were
//! sealed with, and an import into a database whose nodes use another key is refused, because
//! the secrets would be unreadable there. API tokens are not moved (make a new one offline).

use crate::api::RunFilter;
use crate::store::{RunRow, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// What an archive holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Archive format version.
    pub format: u32,
    /// drydock version that wrote it.
    pub drydock: String,
    /// When.
    pub exported_at: chrono::DateTime<chrono::Utc>,
    /// Tag of the key the secrets are sealed with (absent when no daemon ever started on the database).
    pub key_fingerprint: Option<String>,
    /// Tasks in the archive.
    pub tasks: usize,
    /// Runs in the archive.
    pub runs: usize,
    /// Log files in the archive.
    pub logs: usize,
}

const FORMAT: u32 = 1;

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The database.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Reading or writing files.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The archive is not one drydock can read.
    #[error("the archive is not a drydock export: {0}")]
    Archive(String),
    /// The target is not fit to receive it.
    #[error("{0}")]
    Refused(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TransferError {
    let what = what.into();
    move |source| TransferError::Io { what, source }
}

/// Every run, newest first, a page at a time.
async fn all_runs(store: &Store) -> Result<Vec<RunRow>, StoreError> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page =
            store.list_runs(&RunFilter { top: Some(1000), before: before.clone(), ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id.clone());
        out.extend(page);
    }
    Ok(out)
}

fn append(tar: &mut tar::Builder<impl Write>, name: &str, bytes: &[u8]) -> Result<(), TransferError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes).map_err(io(format!("writing {name} into the archive")))
}

/// Writes the database's tasks and runs, and the run logs found in `logs_dir`, to `out`.
pub async fn export(store: &Store, logs_dir: &Path, out: impl Write) -> Result<Manifest, TransferError> {
    let tasks = store.list_tasks().await?;
    let runs = all_runs(store).await?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(out, flate2::Compression::default()));
    let mut lines = Vec::new();
    for t in &tasks {
        serde_json::to_writer(&mut lines, t).map_err(|e| TransferError::Archive(e.to_string()))?;
        lines.push(b'\n');
    }
    append(&mut tar, "tasks.jsonl", &lines)?;
    lines.clear();
    for r in &runs {
        serde_json::to_writer(&mut lines, r).map_err(|e| TransferError::Archive(e.to_string()))?;
        lines.push(b'\n');
    }
    append(&mut tar, "runs.jsonl", &lines)?;
    let mut logs = 0;
    for r in &runs {
        let path = logs_dir.join(format!("{}.log", r.id));
        if path.is_file() {
            tar.append_path_with_name(&path, format!("logs/{}.log", r.id))
                .map_err(io(format!("adding {}", path.display())))?;
            logs += 1;
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        drydock: env!("CARGO_PKG_VERSION").into(),
        exported_at: chrono::Utc::now(),
        key_fingerprint: crate::store::facts::secret_key_fingerprint(store).await?,
        tasks: tasks.len(),
        runs: runs.len(),
        logs,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| TransferError::Archive(e.to_string()))?;
    append(&mut tar, "manifest.json", &json)?;
    tar.into_inner().and_then(|gz| gz.finish()).map_err(io("finishing the archive"))?;
    Ok(manifest)
}

/// Loads an archive into an empty database, and its logs into `logs_dir`.
pub async fn import(store: &Store, logs_dir: &Path, archive: impl Read) -> Result<Manifest, TransferError> {
    let has_runs = !store.list_runs(&RunFilter { top: Some(1), ..Default::default() }).await?.is_empty();
    if has_runs || !store.list_tasks().await?.is_empty() {
        return Err(TransferError::Refused(
            "the target database already has tasks or runs; import into a new, empty database \
             (run ids would clash otherwise)"
                .into(),
        ));
    }
    crate::datadir::create_dir(logs_dir).map_err(io(format!("creating {}", logs_dir.display())))?;
    // The manifest is written last, so read everything first and act on it at the end; the
    // database is written only once the whole archive has been read.
    let (mut tasks, mut runs, mut manifest) = (Vec::new(), Vec::new(), None);
    let mut logs_written = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().map_err(io("reading the archive"))? {
        let mut entry = entry.map_err(io("reading the archive"))?;
        let name = entry.path().map_err(io("reading the archive"))?.to_string_lossy().into_owned();
        match name.as_str() {
            "manifest.json" => {
                manifest = Some(
                    serde_json::from_reader::<_, Manifest>(&mut entry)
                        .map_err(|e| TransferError::Archive(format!("manifest.json: {e}")))?,
                )
            }
            "tasks.jsonl" => tasks = json_lines(&mut entry, "tasks.jsonl")?,
            "runs.jsonl" => runs = json_lines::<RunRow>(&mut entry, "runs.jsonl")?,
            other => {
                let Some(file) = other.strip_prefix("logs/").filter(|f| is_log_name(f)) else {
                    return Err(TransferError::Archive(format!("unexpected entry `{other}`")));
                };
                let path = logs_dir.join(file);
                let mut out = crate::datadir::create(&path).map_err(io(format!("writing {}", path.display())))?;
                std::io::copy(&mut entry, &mut out).map_err(io(format!("writing {}", path.display())))?;
                logs_written.push(path);
            }
        }
    }
    let manifest = manifest.ok_or_else(|| TransferError::Archive("no manifest.json".into()))?;
    if manifest.format != FORMAT {
        return Err(TransferError::Archive(format!("format {} (this drydock reads {FORMAT})", manifest.format)));
    }
    if (manifest.tasks, manifest.runs) != (tasks.len(), runs.len()) {
        return Err(TransferError::Archive(format!(
            "the manifest lists {} tasks and {} runs, the archive holds {} and {}: it is truncated",
            manifest.tasks,
            manifest.runs,
            tasks.len(),
            runs.len()
        )));
    }
    if let Some(tag) = &manifest.key_fingerprint {
        let target = crate::store::facts::claim_secret_key_fingerprint(store, tag).await?;
        if &target != tag {
            return Err(TransferError::Refused(
                "the target database's nodes seal secrets with another key than the exported one; start them with \
                 the exporting node's secret.key (--secret-key-file) before importing"
                    .into(),
            ));
        }
    }
    for t in &tasks {
        store.insert_task(t).await?;
    }
    for r in &runs {
        store.import_run(r).await?;
    }
    store.finish_import().await?;
    Ok(manifest)
}

/// `<run id>.log`, nothing that could leave the logs directory.
fn is_log_name(name: &str) -> bool {
    name.strip_suffix(".log").is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn json_lines<T: serde::de::DeserializeOwned>(r: impl Read, what: &str) -> Result<Vec<T>, TransferError> {
    let mut out = Vec::new();
    for (n, line) in BufReader::new(r).lines().enumerate() {
        let line = line.map_err(io(format!("reading {what}")))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| TransferError::Archive(format!("{what}:{}: {e}", n + 1)))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_log_names_are_extracted() {
        assert!(is_log_name("00a7.log"));
        assert!(!is_log_name("../x.log"));
        assert!(!is_log_name("a/b.log"));
        assert!(!is_log_name(".log"));
        assert!(!is_log_name("00a7.txt"));
    }
}
