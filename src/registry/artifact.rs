//! OCI artifacts: files pushed as an OCI 1.1 image manifest with an `artifactType` and the empty
//! config (as `oras push` does), Helm charts with Helm's own media types (as `helm push` does), and
//! pulling either back into a directory.
//!
//! File names travel in each layer's `org.opencontainers.image.title` annotation; on pull a name
//! that could leave the target directory is refused, since the manifest comes from the network.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use oci_spec::image::{ANNOTATION_TITLE, Descriptor, DescriptorBuilder, Digest, ImageManifestBuilder, MediaType};

use super::client::RegistryClient;
use super::content::{RepoAccess, sha256_digest};
use super::error::RegistryError;

/// The empty JSON config of an artifact without a config of its own (OCI 1.1).
const EMPTY_CONFIG: &[u8] = b"{}";
/// Used when `--artifact-type` is not given; the same default as oras.
pub const DEFAULT_ARTIFACT_TYPE: &str = "application/vnd.unknown.artifact.v1";
/// Layer media type of a file given without one; the same default as oras.
pub const DEFAULT_FILE_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
/// Helm's chart config media type.
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart archive media type.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Chart.yaml is small; a bigger one in a chart archive is a bomb, not a chart.
const MAX_CHART_YAML_BYTES: u64 = 1024 * 1024;

/// One file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    /// The file name (no directories).
    pub name: String,
    /// The layer's media type.
    pub media_type: String,
    /// The content.
    pub bytes: Bytes,
}

/// What `artifact push` sends.
#[derive(Debug, Clone, Default)]
pub struct ArtifactSpec {
    /// The manifest's `artifactType` (ignored for Helm charts, whose config type says it).
    pub artifact_type: Option<String>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// The files, in layer order.
    pub files: Vec<ArtifactFile>,
}

/// What a push stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushedArtifact {
    /// The manifest digest.
    pub digest: String,
    /// The manifest's `artifactType`, or the config media type for a Helm chart.
    pub artifact_type: String,
    /// Digests of the layers, in order.
    pub layers: Vec<String>,
}

/// Why an artifact could not be pushed or pulled.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input or the stored manifest is not what an artifact is.
    #[error("{0}")]
    Invalid(String),
}

impl ArtifactError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_owned(), source }
    }
}

/// Reads `FILE[:MEDIATYPE]` into an artifact file.
pub fn read_file_arg(arg: &str) -> Result<ArtifactFile, ArtifactError> {
    // A media type always has a `/`; a colon followed by one is the separator, not a path.
    let (path, media_type) = match arg.rsplit_once(':') {
        Some((path, media_type)) if media_type.contains('/') && !path.is_empty() => (path, Some(media_type)),
        _ => (arg, None),
    };
    let path = Path::new(path);
    let bytes = std::fs::read(path).map_err(ArtifactError::io(path))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ArtifactError::Invalid(format!("{}: not a file name drydock can store", path.display())))?;
    let media_type = media_type.map_or_else(|| DEFAULT_FILE_MEDIA_TYPE.to_owned(), str::to_owned);
    Ok(ArtifactFile { name: name.to_owned(), media_type, bytes: bytes.into() })
}

/// Pushes `spec` to `repo` under `tag`. A single `.tgz` holding a `Chart.yaml` is pushed as a
/// Helm chart, with Helm's media types and its metadata as the config.
pub async fn push_artifact(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    tag: &str,
    spec: &ArtifactSpec,
) -> Result<PushedArtifact, ArtifactError> {
    if spec.files.is_empty() {
        return Err(ArtifactError::Invalid("an artifact needs at least one file".into()));
    }
    let chart = match spec.files.as_slice() {
        [only] if only.name.ends_with(".tgz") => helm_chart_config(&only.bytes)?,
        _ => None,
    };
    let (config_type, config_bytes, artifact_type) = match &chart {
        Some(config) => (HELM_CONFIG_MEDIA_TYPE, Bytes::from(config.clone()), None),
        None => {
            let artifact_type = spec.artifact_type.clone().unwrap_or_else(|| DEFAULT_ARTIFACT_TYPE.to_owned());
            ("application/vnd.oci.empty.v1+json", Bytes::from_static(EMPTY_CONFIG), Some(artifact_type))
        }
    };
    let config_digest = client.push_blob(repo, config_bytes.clone()).await?;
    let config = descriptor(config_type, &config_digest, config_bytes.len(), None)?;
    let mut layers = Vec::new();
    for file in &spec.files {
        let digest = client.push_blob(repo, file.bytes.clone()).await?;
        let media_type = if chart.is_some() { HELM_CHART_MEDIA_TYPE } else { &file.media_type };
        let title = HashMap::from([(ANNOTATION_TITLE.to_owned(), file.name.clone())]);
        layers.push(descriptor(media_type, &digest, file.bytes.len(), Some(title))?);
    }
    let mut builder =
        ImageManifestBuilder::default().schema_version(2u32).media_type(MediaType::ImageManifest).config(config);
    if let Some(artifact_type) = &artifact_type {
        builder = builder.artifact_type(MediaType::from(artifact_type.as_str()));
    }
    if !spec.annotations.is_empty() {
        builder = builder.annotations(spec.annotations.clone().into_iter().collect::<HashMap<_, _>>());
    }
    let manifest = builder.layers(layers.clone()).build().map_err(invalid)?;
    let bytes = serde_json::to_vec(&manifest).map_err(invalid)?;
    let digest = client.push_manifest(repo, tag, MediaType::ImageManifest.as_ref(), bytes.into()).await?;
    Ok(PushedArtifact {
        digest,
        artifact_type: artifact_type.unwrap_or_else(|| HELM_CONFIG_MEDIA_TYPE.to_owned()),
        layers: layers.iter().map(|l| l.digest().to_string()).collect(),
    })
}

/// Fetches the artifact at `reference` and its files (checked against their digests).
pub async fn pull_artifact(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    reference: &str,
) -> Result<Vec<ArtifactFile>, ArtifactError> {
    let manifest = client.pull_image_manifest(repo, reference).await?;
    let mut files = Vec::new();
    for (i, layer) in manifest.layers().iter().enumerate() {
        let title = layer.annotations().as_ref().and_then(|a| a.get(ANNOTATION_TITLE));
        let name = match title {
            Some(title) => safe_file_name(title)?.to_owned(),
            None => format!("layer-{i}"),
        };
        let bytes = client.pull_blob(repo, layer.digest().as_ref()).await?;
        files.push(ArtifactFile { name, media_type: layer.media_type().to_string(), bytes });
    }
    Ok(files)
}

/// Writes pulled files into `dir` (created if missing); returns the paths written.
pub fn write_files(dir: &Path, files: &[ArtifactFile]) -> Result<Vec<PathBuf>, ArtifactError> {
    std::fs::create_dir_all(dir).map_err(ArtifactError::io(dir))?;
    let mut written = Vec::new();
    for file in files {
        let path = dir.join(safe_file_name(&file.name)?);
        std::fs::write(&path, &file.bytes).map_err(ArtifactError::io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// A descriptor through oci-spec's builder.
fn descriptor(
    media_type: &str,
    digest: &str,
    size: usize,
    annotations: Option<HashMap<String, String>>,
) -> Result<Descriptor, ArtifactError> {
    let digest: Digest = digest.parse().map_err(invalid)?;
    let mut builder =
        DescriptorBuilder::default().media_type(MediaType::from(media_type)).digest(digest).size(size as u64);
    if let Some(annotations) = annotations {
        builder = builder.annotations(annotations);
    }
    builder.build().map_err(invalid)
}

/// A plain file name; anything with a path separator or `..` would write outside the directory.
fn safe_file_name(name: &str) -> Result<&str, ArtifactError> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if plain {
        Ok(name)
    } else {
        Err(ArtifactError::Invalid(format!(
            "the artifact names a file {name:?}, which is not a plain file name; refusing to write it"
        )))
    }
}

/// Helm's config for a chart archive: `Chart.yaml` as JSON, or `None` when the archive is not a
/// chart (no `Chart.yaml` in its top directory).
fn helm_chart_config(tgz: &[u8]) -> Result<Option<Vec<u8>>, ArtifactError> {
    let Some(yaml) = chart_yaml(tgz) else {
        return Ok(None);
    };
    let metadata: serde_json::Map<String, serde_json::Value> = serde_saphyr::from_str(&yaml)
        .map_err(|e| ArtifactError::Invalid(format!("Chart.yaml in the chart archive is not valid YAML: {e}")))?;
    for field in ["name", "version"] {
        if !metadata.get(field).is_some_and(serde_json::Value::is_string) {
            return Err(ArtifactError::Invalid(format!(
                "Chart.yaml in the chart archive has no `{field}`; Helm needs it"
            )));
        }
    }
    serde_json::to_vec(&metadata).map(Some).map_err(invalid)
}

/// The text of `<chart>/Chart.yaml` in a gzipped tar, if there is one.
fn chart_yaml(tgz: &[u8]) -> Option<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    for entry in archive.entries().ok()? {
        let entry = entry.ok()?;
        let path = entry.path().ok()?.into_owned();
        let top_level_chart = path.components().count() == 2 && path.file_name().is_some_and(|n| n == "Chart.yaml");
        if top_level_chart {
            let mut text = String::new();
            entry.take(MAX_CHART_YAML_BYTES).read_to_string(&mut text).ok()?;
            return Some(text);
        }
    }
    None
}

fn invalid(e: impl std::fmt::Display) -> ArtifactError {
    ArtifactError::Invalid(e.to_string())
}

/// The digest `{}` hashes to, for tests and callers that build empty configs themselves.
pub fn empty_config_digest() -> String {
    sha256_digest(EMPTY_CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart_tgz(chart_yaml: &str) -> Vec<u8> {
        let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, content) in [("demo/Chart.yaml", chart_yaml), ("demo/values.yaml", "a: 1\n")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            archive.append_data(&mut header, path, content.as_bytes()).unwrap();
        }
        archive.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn helm_config_is_chart_yaml_as_json() {
        let config = helm_chart_config(&chart_tgz("apiVersion: v2\nname: demo\nversion: 1.2.3\n")).unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(value["name"], "demo");
        assert_eq!(value["version"], "1.2.3");
    }

    #[test]
    fn a_chart_without_version_is_refused_and_a_plain_tgz_is_no_chart() {
        let err = helm_chart_config(&chart_tgz("name: demo\n")).unwrap_err();
        assert!(err.to_string().contains("`version`"), "{err}");
        let plain = {
            let archive = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
            archive.into_inner().unwrap().finish().unwrap()
        };
        assert!(helm_chart_config(&plain).unwrap().is_none());
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["../x", "a/b", "..", "", "/etc/passwd"] {
            assert!(safe_file_name(bad).is_err(), "{bad}");
        }
        assert_eq!(safe_file_name("chart-1.0.tgz").unwrap(), "chart-1.0.tgz");
    }

    #[test]
    fn the_empty_config_is_the_well_known_blob() {
        assert_eq!(empty_config_digest(), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    }
}
