//! `drydock artifact push|pull`: files as OCI artifacts (Helm charts with Helm's media types).

use super::CliError;
use super::output::{Format, print_json};
use super::pairs::parse_map;
use super::registry_args::{RegistryLoginArgs, image_ref, manifest_reference, registry_client, repo_access};
use crate::registry::artifact::{self, ArtifactSpec};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The `artifact` verbs.
#[derive(Subcommand, Debug)]
pub enum ArtifactCommand {
    /// Push files as an OCI artifact (OCI 1.1 manifest with `artifactType` and the empty config).
    /// A single Helm chart `.tgz` is pushed as Helm pushes it, so `helm pull oci://…` takes it.
    Push(PushArgs),
    /// Pull an artifact's files into a directory (names from their `org.opencontainers.image.title`).
    Pull(PullArgs),
}

/// `artifact push`.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// Where to push: `registry/repository:tag`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Files, each `PATH` or `PATH:MEDIATYPE` (default media type
    /// `application/vnd.oci.image.layer.v1.tar`, as oras uses).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// The manifest's `artifactType` (default `application/vnd.unknown.artifact.v1`; ignored for Helm charts).
    #[arg(long)]
    pub artifact_type: Option<String>,
    /// Manifest annotation `KEY=VALUE`; repeatable.
    #[arg(long = "annotation", value_name = "K=V")]
    pub annotations: Vec<String>,
    #[command(flatten)]
    pub login: RegistryLoginArgs,
    /// Output format: `json` prints the manifest digest, artifact type and layer digests.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `artifact pull`.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// What to pull: `registry/repository:tag` or `…@sha256:…`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Directory to write the files into (created if missing).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub login: RegistryLoginArgs,
    /// Output format: `json` lists the files written (`-o` is the directory here, as in
    /// `oras pull -o`).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `drydock artifact …`.
pub async fn run(command: ArtifactCommand) -> Result<(), CliError> {
    match command {
        ArtifactCommand::Push(a) => push(a).await,
        ArtifactCommand::Pull(a) => pull(a).await,
    }
}

async fn push(a: PushArgs) -> Result<(), CliError> {
    let target = image_ref(&a.reference)?;
    let Some(tag) = target.tag.clone().filter(|_| target.digest.is_none()) else {
        return Err(CliError::Invalid(format!("{}: push needs a tag, not a digest", a.reference)));
    };
    let files = a.files.iter().map(|f| artifact::read_file_arg(f)).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    let annotations = parse_map(&a.annotations, "--annotation")?;
    let spec = ArtifactSpec { artifact_type: a.artifact_type, annotations, files };
    let credentials = a.login.credentials()?;
    let repo = repo_access(&target, &credentials)?;
    let pushed = artifact::push_artifact(&registry_client()?, repo, &tag, &spec).await.map_err(failed)?;
    match a.output {
        Format::Json => print_json(&pushed),
        Format::Text => {
            println!(
                "Pushed {}/{}:{tag}@{} ({})",
                target.registry, target.repository, pushed.digest, pushed.artifact_type
            );
            Ok(())
        }
    }
}

async fn pull(a: PullArgs) -> Result<(), CliError> {
    let source = image_ref(&a.reference)?;
    let reference = manifest_reference(&source);
    let credentials = a.login.credentials()?;
    let repo = repo_access(&source, &credentials)?;
    let files = artifact::pull_artifact(&registry_client()?, repo, &reference).await.map_err(failed)?;
    let written = artifact::write_files(&a.dir, &files).map_err(failed)?;
    match a.format {
        Format::Json => print_json(&written),
        Format::Text => {
            for path in &written {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}

fn invalid(e: artifact::ArtifactError) -> CliError {
    CliError::Invalid(e.to_string())
}

fn failed(e: artifact::ArtifactError) -> CliError {
    CliError::Failed(e.to_string())
}
