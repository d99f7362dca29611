//! `drydock key generate` and `drydock verify`: cosign-compatible image signing keys, and checking
//! an image's signatures in its registry.

use super::CliError;
use super::output::{Format, print_json};
use super::registry_args::{RegistryLoginArgs, image_ref, manifest_reference, registry_client, repo_access};
use crate::registry::keys::{self, SignatureKey, VerificationKey};
use crate::registry::signature;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// The `key` verbs.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Write a new ECDSA P-256 key pair as `cosign.key` and `cosign.pub`. The public key is the
    /// PEM `cosign verify --key` reads; the private key is an unencrypted PKCS#8 PEM ("PRIVATE
    /// KEY"), not cosign's password-encrypted format, so keep it as a secret (`--sign-key`).
    Generate(GenerateArgs),
}

/// `key generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Directory to write `cosign.key` and `cosign.pub` into (created if missing).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

/// `drydock verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The image: `registry/repository:tag` or `…@sha256:…`.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Public key file (`cosign.pub`); repeatable: any one of them may have signed.
    #[arg(long = "key", value_name = "PUB", required = true)]
    pub keys: Vec<PathBuf>,
    #[command(flatten)]
    pub login: RegistryLoginArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `drydock key …`.
pub fn key(command: KeyCommand) -> Result<(), CliError> {
    let KeyCommand::Generate(a) = command;
    let private_path = a.dir.join("cosign.key");
    let public_path = a.dir.join("cosign.pub");
    for path in [&private_path, &public_path] {
        if path.exists() && !a.force {
            return Err(CliError::Invalid(format!("{} exists; pass --force to replace it", path.display())));
        }
    }
    let (private, public) = keys::generate_pem_pair().map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::create_dir_all(&a.dir).map_err(|e| io_error(&a.dir, e))?;
    write_private(&private_path, &private)?;
    std::fs::write(&public_path, public).map_err(|e| io_error(&public_path, e))?;
    eprintln!("Private key written to {}", private_path.display());
    eprintln!("Public key written to {}", public_path.display());
    Ok(())
}

/// Reads a private signing key file: its PEM text (for a saved task) and the key, so that a bad
/// key is refused before anything is sent or built.
pub fn read_private_key(path: &Path) -> Result<(String, SignatureKey), CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::Invalid(format!("--sign-key {}: {e}", path.display())))?;
    let key =
        SignatureKey::from_pem(&text).map_err(|e| CliError::Invalid(format!("--sign-key {}: {e}", path.display())))?;
    Ok((text, key))
}

/// Reads the public keys named on the command line.
pub fn read_public_keys(paths: &[PathBuf]) -> Result<Vec<VerificationKey>, CliError> {
    paths.iter().map(|path| read_public_key(path).map(|(_, key)| key)).collect()
}

/// Reads public key files as PEM text (for a saved task), each checked to be a key.
pub fn read_public_key_pems(paths: &[PathBuf]) -> Result<Vec<String>, CliError> {
    paths.iter().map(|path| read_public_key(path).map(|(pem, _)| pem)).collect()
}

fn read_public_key(path: &Path) -> Result<(String, VerificationKey), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let key = VerificationKey::from_pem(&text).map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
    Ok((text, key))
}

/// `drydock verify`: exit 0 when a given key verifies a signature of the image, else 1.
pub async fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let keys = read_public_keys(&a.keys)?;
    let image = image_ref(&a.image)?;
    let reference = manifest_reference(&image);
    let credentials = a.login.credentials()?;
    let repo = repo_access(&image, &credentials)?;
    let checked = signature::verify_image(&registry_client()?, repo, &reference, &keys)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    match a.output {
        Format::Json => print_json(&checked)?,
        Format::Text => {
            for s in &checked.signatures {
                let verdict = if s.verified { "verified".to_owned() } else { format!("not verified: {}", s.reason) };
                println!("{}@{} signature {}: {verdict}", checked.image, checked.digest, s.payload_digest);
            }
            if checked.signatures.is_empty() {
                eprintln!(
                    "{}@{} has no signatures (no {} tag)",
                    checked.image,
                    checked.digest,
                    signature::signature_tag(&checked.digest).unwrap_or_default()
                );
            }
        }
    }
    if checked.verified { Ok(()) } else { Err(CliError::Silent(1)) }
}

/// Writes the private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::Failed(format!("{}: {e}", path.display()))
}
