//! `drydock export` and `drydock import`: move tasks, runs and their logs between databases.

use super::CliError;
use super::serve::StoreArgs;
use crate::daemon;
use clap::Args;
use std::path::PathBuf;

/// `drydock export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Archive to write (`.tar.gz`).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `drydock import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Archive written by `drydock export`.
    #[arg(value_name = "FILE")]
    pub archive: PathBuf,
}

/// Writes the archive next to its final name and renames it, so a failed export leaves no
/// half archive that looks whole.
pub async fn export(args: ExportArgs) -> Result<(), CliError> {
    let store = open(&args.store).await?;
    let partial = args.output.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", partial.display())))?;
    let manifest = crate::transfer::export(store.as_ref(), &args.store.dir().join("logs"), file)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::rename(&partial, &args.output)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", args.output.display())))?;
    eprintln!(
        "exported {} tasks, {} runs and {} logs to {}",
        manifest.tasks,
        manifest.runs,
        manifest.logs,
        args.output.display()
    );
    Ok(())
}

/// Loads an archive into the (empty) database and the data directory's logs.
pub async fn import(args: ImportArgs) -> Result<(), CliError> {
    let store = open(&args.store).await?;
    let file = std::fs::File::open(&args.archive)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", args.archive.display())))?;
    let manifest = crate::transfer::import(store.as_ref(), &args.store.dir().join("logs"), file)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    eprintln!(
        "imported {} tasks, {} runs and {} logs; API tokens are not moved: make one with `drydock token create NAME --data-dir …`",
        manifest.tasks, manifest.runs, manifest.logs
    );
    Ok(())
}

async fn open(args: &StoreArgs) -> Result<std::sync::Arc<crate::store::Store>, CliError> {
    daemon::open_store(&args.dir(), args.database.as_deref()).await.map_err(|e| CliError::Failed(e.to_string()))
}
