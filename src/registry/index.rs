//! Multi-platform images: an OCI image index over manifests already in the repository, one
//! descriptor per platform. dockerd 20.10 cannot push a multi-platform image itself (its store holds
//! one platform per name), so each platform's image is pushed on its own and the index is put
//! under the tag through the registry API, as `docker buildx` ends up doing.

use bytes::Bytes;
use oci_spec::image::{Arch, Descriptor, DescriptorBuilder, Digest, ImageIndexBuilder, MediaType, Os, PlatformBuilder};

use super::client::RegistryClient;
use super::content::RepoAccess;
use super::error::RegistryError;

/// The OCI index media type.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// One platform's manifest, as the index names it.
#[derive(Debug, Clone)]
pub struct PlatformManifest {
    /// `linux`.
    pub os: String,
    /// OCI architecture, `arm64`.
    pub arch: String,
    /// `v7`, if any.
    pub variant: Option<String>,
    /// Manifest digest in the repository.
    pub digest: String,
    /// Its media type, as the registry stores it.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The index JSON over `manifests`, in their order.
pub fn index_json(manifests: &[PlatformManifest]) -> Result<Bytes, RegistryError> {
    let invalid = |e: &dyn std::fmt::Display| RegistryError::Protocol(format!("cannot make the image index: {e}"));
    let mut descriptors: Vec<Descriptor> = Vec::new();
    for m in manifests {
        let mut platform =
            PlatformBuilder::default().os(Os::from(m.os.as_str())).architecture(Arch::from(m.arch.as_str()));
        if let Some(v) = &m.variant {
            platform = platform.variant(v.clone());
        }
        let digest: Digest = m.digest.parse().map_err(|e| invalid(&e))?;
        descriptors.push(
            DescriptorBuilder::default()
                .media_type(MediaType::from(m.media_type.as_str()))
                .digest(digest)
                .size(m.size)
                .platform(platform.build().map_err(|e| invalid(&e))?)
                .build()
                .map_err(|e| invalid(&e))?,
        );
    }
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(descriptors)
        .build()
        .map_err(|e| invalid(&e))?;
    let json = serde_json::to_vec(&index).map_err(|e| invalid(&e))?;
    Ok(Bytes::from(json))
}

/// Puts the index over `manifests` under `tag`; its digest.
pub async fn push_index(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    tag: &str,
    manifests: &[PlatformManifest],
) -> Result<String, RegistryError> {
    let body = index_json(manifests)?;
    client.push_manifest(repo, tag, INDEX_MEDIA_TYPE, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_names_each_platform_with_its_manifest() {
        let m = |arch: &str, variant: Option<&str>, hex: char| PlatformManifest {
            os: "linux".into(),
            arch: arch.into(),
            variant: variant.map(String::from),
            digest: format!("sha256:{}", hex.to_string().repeat(64)),
            media_type: "application/vnd.docker.distribution.manifest.v2+json".into(),
            size: 525,
        };
        let json = index_json(&[m("amd64", None, 'a'), m("arm", Some("v7"), 'b')]).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["mediaType"], INDEX_MEDIA_TYPE);
        assert_eq!(value["schemaVersion"], 2);
        let entries = value["manifests"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["platform"]["architecture"], "amd64");
        assert_eq!(entries[1]["platform"]["variant"], "v7");
        assert_eq!(entries[1]["size"], 525);
        assert_eq!(entries[1]["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    }
}
