//! Image signatures stored as cosign stores them, so `cosign verify --key` and drydock read each
//! other's: the tag `sha256-<hex>.sig` beside the image, an OCI manifest whose layers are
//! "simple signing" payloads, and each layer's `dev.cosignproject.cosign/signature` annotation
//! holding the base64 DER ECDSA signature over its payload.
//!
//! Signing appends a layer to the existing signature manifest, so signatures by several keys (or
//! several runs) accumulate, as with `cosign sign`.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, ImageConfigurationBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};
use serde::{Deserialize, Serialize};

use super::client::RegistryClient;
use super::content::RepoAccess;
use super::error::RegistryError;
use super::keys::{SignatureKey, VerificationKey};

/// The layer media type of a simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` of a cosign image signature.
const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The simple-signing payload, with cosign's field order (the signature is over these bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What is signed.
    pub critical: Critical,
    /// Free-form claims; cosign writes `null` when there are none.
    pub optional: Option<serde_json::Value>,
}

/// The signed claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository the image was pushed to.
    pub identity: Identity,
    /// The manifest digest.
    pub image: SignedImage,
    /// Always `cosign container image signature`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `registry/repository`.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedImage {
    /// `sha256:<hex>` of the image manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// The payload cosign signs for `docker_reference` at `digest`, as bytes.
pub fn simple_signing_payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    let payload = SimpleSigning {
        critical: Critical {
            identity: Identity { docker_reference: docker_reference.to_owned() },
            image: SignedImage { docker_manifest_digest: digest.to_owned() },
            kind: SIGNATURE_TYPE.to_owned(),
        },
        optional: None,
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The tag cosign keeps an image's signatures under: `sha256:abc` → `sha256-abc.sig`.
pub fn signature_tag(digest: &str) -> Result<String, RegistryError> {
    match digest.split_once(':') {
        Some((algorithm, hex)) if !hex.is_empty() => Ok(format!("{algorithm}-{hex}.sig")),
        _ => Err(RegistryError::InvalidDigest(format!("{digest:?} is not algorithm:hex"))),
    }
}

/// A signature written to the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenSignature {
    /// The signature manifest's tag (`sha256-<hex>.sig`).
    pub tag: String,
    /// The signature manifest's digest after this signature was added.
    pub digest: String,
    /// How many signatures the manifest now holds.
    pub signatures: usize,
}

/// Signs the manifest `digest` of `repo` with `key` and stores the signature beside it.
pub async fn sign_image(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    digest: &str,
    key: &SignatureKey,
) -> Result<WrittenSignature, RegistryError> {
    let tag = signature_tag(digest)?;
    let payload = simple_signing_payload(&format!("{}/{}", repo.registry, repo.repository), digest);
    let signature = STANDARD.encode(key.sign(&payload));
    let payload_digest = client.push_blob(repo, Bytes::from(payload.clone())).await?;
    let mut layers = match client.find_manifest(repo, &tag).await? {
        Some(existing) => existing_layers(client, repo, &existing).await?,
        None => Vec::new(),
    };
    let already = layers.iter().any(|layer| {
        layer.digest().as_ref() == payload_digest && annotation(layer, SIGNATURE_ANNOTATION) == Some(signature.as_str())
    });
    if !already {
        let annotations = HashMap::from([(SIGNATURE_ANNOTATION.to_owned(), signature)]);
        layers.push(
            DescriptorBuilder::default()
                .media_type(MediaType::from(SIMPLE_SIGNING_MEDIA_TYPE))
                .digest(parse_digest(&payload_digest)?)
                .size(payload.len() as u64)
                .annotations(annotations)
                .build()
                .map_err(protocol)?,
        );
    }
    let config = signature_config(&layers)?;
    let config_digest = client.push_blob(repo, Bytes::from(config.clone())).await?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(Descriptor::new(MediaType::ImageConfig, config.len() as u64, parse_digest(&config_digest)?))
        .layers(layers.clone())
        .build()
        .map_err(protocol)?;
    let bytes = serde_json::to_vec(&manifest).map_err(protocol)?;
    let digest = client.push_manifest(repo, &tag, MediaType::ImageManifest.as_ref(), bytes.into()).await?;
    Ok(WrittenSignature { tag, digest, signatures: layers.len() })
}

/// One signature found on an image, and what checking it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedSignature {
    /// The payload blob's digest.
    pub payload_digest: String,
    /// True when a given key verifies it and the payload names this image's digest.
    pub verified: bool,
    /// Why it did not verify (empty when it did).
    pub reason: String,
}

/// The outcome of checking an image's signatures against keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// `registry/repository`.
    pub image: String,
    /// The manifest digest that was checked.
    pub digest: String,
    /// True when at least one signature verified.
    pub verified: bool,
    /// Every signature found.
    pub signatures: Vec<CheckedSignature>,
}

/// Checks the signatures of `reference` (a tag or a digest) in `repo` against `keys`.
pub async fn verify_image(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    reference: &str,
    keys: &[VerificationKey],
) -> Result<Verification, RegistryError> {
    let digest = client.manifest_digest(repo.registry, repo.repository, reference, repo.login).await?.digest;
    let mut signatures = Vec::new();
    if let Some(signature_manifest) = client.find_manifest(repo, &signature_tag(&digest)?).await? {
        for layer in existing_layers(client, repo, &signature_manifest).await? {
            if layer.media_type().as_ref() != SIMPLE_SIGNING_MEDIA_TYPE {
                continue;
            }
            let payload = client.pull_blob(repo, layer.digest().as_ref()).await?;
            let reason = check_signature(&layer, &payload, &digest, keys);
            signatures.push(CheckedSignature {
                payload_digest: layer.digest().to_string(),
                verified: reason.is_empty(),
                reason,
            });
        }
    }
    Ok(Verification {
        image: format!("{}/{}", repo.registry, repo.repository),
        verified: signatures.iter().any(|s| s.verified),
        digest,
        signatures,
    })
}

/// Why one signature layer does not verify `digest` with any of `keys` (empty when it does).
fn check_signature(layer: &Descriptor, payload: &[u8], digest: &str, keys: &[VerificationKey]) -> String {
    let Some(signature) = annotation(layer, SIGNATURE_ANNOTATION) else {
        return format!("the layer has no {SIGNATURE_ANNOTATION} annotation");
    };
    let Ok(der) = STANDARD.decode(signature) else {
        return "the signature annotation is not base64".into();
    };
    if !keys.iter().any(|key| key.verifies(payload, &der)) {
        return "no given key verifies the signature over the payload".into();
    }
    match serde_json::from_slice::<SimpleSigning>(payload) {
        Err(e) => format!("the payload is not a simple-signing document: {e}"),
        Ok(p) if p.critical.image.docker_manifest_digest != digest => {
            format!("the payload signs {}, not {digest}", p.critical.image.docker_manifest_digest)
        }
        Ok(p) if p.critical.kind != SIGNATURE_TYPE => format!("the payload's type is {:?}", p.critical.kind),
        Ok(_) => String::new(),
    }
}

/// The layers of the signature manifest at `digest`.
async fn existing_layers(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    digest: &str,
) -> Result<Vec<Descriptor>, RegistryError> {
    Ok(client.pull_image_manifest(repo, digest).await?.layers().clone())
}

/// cosign's signature image config: an empty image whose layers' diff ids are the payloads.
fn signature_config(layers: &[Descriptor]) -> Result<Vec<u8>, RegistryError> {
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(layers.iter().map(|l| l.digest().to_string()).collect::<Vec<_>>())
        .build()
        .map_err(protocol)?;
    let config = ImageConfigurationBuilder::default()
        .architecture(Arch::Other(String::new()))
        .os(Os::Other(String::new()))
        .rootfs(rootfs)
        .build()
        .map_err(protocol)?;
    serde_json::to_vec(&config).map_err(protocol)
}

fn annotation<'a>(layer: &'a Descriptor, key: &str) -> Option<&'a str> {
    layer.annotations().as_ref()?.get(key).map(String::as_str)
}

fn parse_digest(digest: &str) -> Result<oci_spec::image::Digest, RegistryError> {
    digest.parse().map_err(|e| RegistryError::InvalidDigest(format!("{digest}: {e}")))
}

fn protocol(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Protocol(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::content::sha256_digest;
    use super::*;

    #[test]
    fn the_payload_is_cosigns_byte_for_byte() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let payload = simple_signing_payload("127.0.0.1:5000/app", &digest);
        let expected = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:5000/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(String::from_utf8(payload).unwrap(), expected);
        assert_eq!(signature_tag(&digest).unwrap(), format!("sha256-{}.sig", "ab".repeat(32)));
    }

    #[test]
    fn a_signature_for_another_digest_or_key_does_not_verify() {
        let (private, public) = super::super::keys::generate_pem_pair().unwrap();
        let key = SignatureKey::from_pem(&private).unwrap();
        let keys = [VerificationKey::from_pem(&public).unwrap()];
        let digest = format!("sha256:{}", "cd".repeat(32));
        let payload = simple_signing_payload("r/app", &digest);
        let layer = |signature: &[u8]| {
            DescriptorBuilder::default()
                .media_type(MediaType::from(SIMPLE_SIGNING_MEDIA_TYPE))
                .digest(parse_digest(&sha256_digest(&payload)).unwrap())
                .size(payload.len() as u64)
                .annotations(HashMap::from([(SIGNATURE_ANNOTATION.to_owned(), STANDARD.encode(signature))]))
                .build()
                .unwrap()
        };
        assert_eq!(check_signature(&layer(&key.sign(&payload)), &payload, &digest, &keys), "");
        let other_digest = format!("sha256:{}", "ef".repeat(32));
        assert!(check_signature(&layer(&key.sign(&payload)), &payload, &other_digest, &keys).contains("not sha256:ef"));
        let mut tampered = payload.clone();
        tampered[10] ^= 1;
        assert!(!check_signature(&layer(&key.sign(&payload)), &tampered, &digest, &keys).is_empty());
    }
}
