//! ECDSA P-256 signing keys in the PEM files cosign's key-based signing uses.
//!
//! The public key is the standard `PUBLIC KEY` PEM that `cosign verify --key` reads. The private
//! key is a PKCS#8 `PRIVATE KEY` PEM, not cosign's password-encrypted `ENCRYPTED SIGSTORE
//! PRIVATE KEY`: that format needs NaCl secretbox, and a build service holds the key sealed in
//! its own store anyway. Signatures are interchangeable: cosign verifies drydock's and the other
//! way round.

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding,
};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The system has no randomness to offer.
    #[error("cannot generate a key: {0}")]
    Generate(String),
    /// The text is cosign's encrypted private key, which drydock does not read.
    #[error(
        "this is cosign's password-encrypted private key, which drydock cannot read; \
         generate a key with `drydock key generate` (cosign verifies its signatures), \
         or export the key as an unencrypted PKCS#8 PEM"
    )]
    EncryptedCosignKey,
    /// The text is not a PEM key of the expected kind.
    #[error("not an ECDSA P-256 {kind} key in PEM form ({detail}); expected the output of `drydock key generate`")]
    Malformed {
        /// `private` or `public`.
        kind: &'static str,
        /// The decoder's reason.
        detail: String,
    },
}

/// A new key pair as PEM text: (private key, public key).
pub fn generate_pem_pair() -> Result<(String, String), KeyError> {
    let secret = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let private = secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Generate(e.to_string()))?;
    let public =
        secret.public_key().to_public_key_pem(LineEnding::LF).map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok((private.to_string(), public))
}

/// A private key that signs image signature payloads.
#[derive(Clone)]
pub struct SignatureKey(SigningKey);

impl std::fmt::Debug for SignatureKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureKey(<redacted>)")
    }
}

impl SignatureKey {
    /// Reads a PKCS#8 `PRIVATE KEY` (or SEC1 `EC PRIVATE KEY`) PEM.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.contains("ENCRYPTED SIGSTORE PRIVATE KEY") || text.contains("ENCRYPTED COSIGN PRIVATE KEY") {
            return Err(KeyError::EncryptedCosignKey);
        }
        let secret = p256::SecretKey::from_pkcs8_pem(text)
            .or_else(|_| p256::SecretKey::from_sec1_pem(text))
            .map_err(|e| KeyError::Malformed { kind: "private", detail: e.to_string() })?;
        Ok(Self(SigningKey::from(&secret)))
    }

    /// The ASN.1 DER ECDSA signature over SHA-256 of `payload`, as cosign stores it.
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let signature: Signature = self.0.sign(payload);
        signature.to_der().as_bytes().to_vec()
    }

    /// The matching public key.
    pub fn verification_key(&self) -> VerificationKey {
        VerificationKey(*self.0.verifying_key())
    }
}

/// A public key that checks image signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey(VerifyingKey);

impl VerificationKey {
    /// Reads a `PUBLIC KEY` PEM (`cosign.pub`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        VerifyingKey::from_public_key_pem(text)
            .map(Self)
            .map_err(|e| KeyError::Malformed { kind: "public", detail: e.to_string() })
    }

    /// True when `der_signature` is this key's signature over `payload`.
    pub fn verifies(&self, payload: &[u8], der_signature: &[u8]) -> bool {
        DerSignature::from_bytes(der_signature)
            .ok()
            .and_then(|der| Signature::try_from(der).ok())
            .is_some_and(|signature| self.0.verify(payload, &signature).is_ok())
    }

    /// The key as a `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_signs_and_verifies_and_rejects_other_payloads() {
        let (private, public) = generate_pem_pair().unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = SignatureKey::from_pem(&private).unwrap();
        let verifier = VerificationKey::from_pem(&public).unwrap();
        assert_eq!(key.verification_key(), verifier);
        let signature = key.sign(b"payload");
        assert!(verifier.verifies(b"payload", &signature));
        assert!(!verifier.verifies(b"payloaD", &signature));
        assert!(!verifier.verifies(b"payload", b"not der"));
        let (_, other) = generate_pem_pair().unwrap();
        assert!(!VerificationKey::from_pem(&other).unwrap().verifies(b"payload", &signature));
    }

    #[test]
    fn cosign_encrypted_keys_get_an_explanation() {
        let text =
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        assert!(matches!(SignatureKey::from_pem(text), Err(KeyError::EncryptedCosignKey)));
        assert!(matches!(SignatureKey::from_pem("junk"), Err(KeyError::Malformed { .. })));
    }
}
