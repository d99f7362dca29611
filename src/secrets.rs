//! Secret values: a wrapper that never prints them, the masker that removes them from output, and
//! the cipher that keeps them encrypted at rest.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Generate, Key, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use std::fmt;
use std::path::Path;

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// Fragments shorter than this are not masked on their own (a one-letter line of a multi-line
/// secret would otherwise blank out every such letter in the log). The whole value is always masked.
const MIN_FRAGMENT: usize = 4;

/// A secret string: `Debug` and `Display` print `***`; read it with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself; call sites are where secrets leave their wrapper, so keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Replaces every known secret in text with `***`: the value itself; its base64 encodings (standard
/// and URL-safe, padded or not), also where it sits at any of the three byte alignments inside a
/// longer encoded stream, and each 76-column line of `base64`'s wrapped output; its hex (lower and
/// upper case), percent-encoded (`%2F` and `%2f`, with `+` or `%20` for spaces) and JSON-escaped forms;
/// and each line of a multi-line value.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// Longest first, so that a secret containing another is masked whole.
    patterns: Vec<String>,
}

impl Masker {
    /// Adds a secret value and its derived forms.
    pub fn add(&mut self, value: &str) {
        let value = value.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            return;
        }
        let mut forms = vec![value.to_string()];
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            forms.push(engine.encode(value));
        }
        forms.extend(encoded_forms(value.as_bytes()));
        if value.contains('\n') {
            forms.extend(value.lines().map(str::trim).filter(|l| l.len() >= MIN_FRAGMENT).map(str::to_string));
        }
        for f in forms {
            if !f.is_empty() && !self.patterns.contains(&f) {
                self.patterns.push(f);
            }
        }
        self.patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
    }

    /// Adds several values.
    pub fn add_all<'a>(&mut self, values: impl IntoIterator<Item = &'a String>) {
        for v in values {
            self.add(v);
        }
    }

    /// Whether there is anything to mask.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// `text` with every secret form replaced.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for p in &self.patterns {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), MASK);
            }
        }
        out
    }
}

/// Base64 fragments shorter than this are not masked on their own: a short run of base64
/// characters would match unrelated text.
const MIN_ENCODED_FRAGMENT: usize = 8;

/// The columns `base64` (coreutils, busybox) wraps its output at.
const BASE64_WRAP: usize = 76;

/// The encodings of a secret that a step can print without meaning to: base64 inside a longer
/// stream (the characters that depend on the secret's bytes alone, at each of the three
/// alignments), the lines of wrapped base64, hex, percent-encoding and JSON escaping.
fn encoded_forms(value: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for engine in [&base64::engine::general_purpose::STANDARD_NO_PAD, &base64::engine::general_purpose::URL_SAFE_NO_PAD]
    {
        for offset in 0..3usize {
            // With `offset` bytes before it, the secret's bytes start mid-group: the characters of
            // the first group that mix in those bytes, and of a last group that is not complete,
            // depend on the neighbours; the complete groups between do not.
            let mut stream = vec![0u8; offset];
            stream.extend_from_slice(value);
            let encoded = engine.encode(&stream);
            let skip = [0, 2, 3][offset];
            let end = stream.len() / 3 * 4;
            if end > skip && end - skip >= MIN_ENCODED_FRAGMENT {
                forms.push(encoded[skip..end].to_string());
            }
        }
    }
    let wrapped = base64::engine::general_purpose::STANDARD.encode(value);
    if wrapped.len() > BASE64_WRAP {
        for line in wrapped.as_bytes().chunks(BASE64_WRAP) {
            if line.len() >= MIN_ENCODED_FRAGMENT {
                forms.push(String::from_utf8_lossy(line).into_owned());
            }
        }
    }
    if value.len() * 2 >= MIN_ENCODED_FRAGMENT {
        forms.push(hex::encode(value));
        forms.push(hex::encode_upper(value));
    }
    for (upper, space) in [(true, "%20"), (true, "+"), (false, "%20"), (false, "+")] {
        forms.push(percent_encode(value, upper, space));
    }
    if let Ok(text) = std::str::from_utf8(value)
        && let Ok(json) = serde_json::to_string(text)
    {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(value: &[u8], upper: bool, space: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' => out.push_str(space),
            _ if upper => out.push_str(&format!("%{b:02X}")),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// Prefix of an encrypted value as stored: version, then base64 of nonce and ciphertext.
const ENCRYPTED_PREFIX: &str = "enc:v1:";

/// Why a secret could not be protected or recovered.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// The key file could not be read or written.
    #[error("secret key {path}: {message}")]
    Key {
        /// The key file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A stored value is not something this key encrypted.
    #[error("a stored secret cannot be decrypted ({0}); was the data directory's secret.key replaced?")]
    Decrypt(String),
}

/// Encrypts secrets at rest (ChaCha20-Poly1305, a random nonce per value) with a key kept in the
/// data directory. Whoever has the database but not the key learns nothing from it.
#[derive(Clone)]
pub struct Cipher {
    aead: ChaCha20Poly1305,
    fingerprint: String,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    /// Reads the key at `path`, creating it (mode 0600) on first use.
    pub fn load_or_create(path: &Path) -> Result<Cipher, CipherError> {
        let err = |message: String| CipherError::Key { path: path.display().to_string(), message };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Key::<ChaCha20Poly1305>::generate();
                write_private(path, key.as_slice()).map_err(|e| err(e.to_string()))?;
                key.as_slice().to_vec()
            }
            Err(e) => return Err(err(e.to_string())),
        };
        let key = Key::<ChaCha20Poly1305>::try_from(bytes.as_slice())
            .map_err(|_| err(format!("expected 32 bytes, found {}", bytes.len())))?;
        Ok(Cipher::from_key(&key))
    }

    fn from_key(key: &Key<ChaCha20Poly1305>) -> Cipher {
        // A one-way tag of the key, so that nodes can tell whether they share it without
        // revealing it (the database keeps the first node's).
        let mut tag = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut tag, b"drydock secret-key check\0");
        sha2::Digest::update(&mut tag, key.as_slice());
        let fingerprint = hex::encode(&sha2::Digest::finalize(tag)[..12]);
        Cipher { aead: ChaCha20Poly1305::new(key), fingerprint }
    }

    /// A tag that identifies the key without revealing it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A cipher with a fresh random key (tests).
    pub fn ephemeral() -> Cipher {
        Cipher::from_key(&Key::<ChaCha20Poly1305>::generate())
    }

    /// Encrypts a value for storage.
    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = Nonce::generate();
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = self.aead.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut blob = nonce.as_slice().to_vec();
        blob.extend_from_slice(&ct);
        format!("{ENCRYPTED_PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(blob))
    }

    /// Decrypts a stored value.
    pub fn decrypt(&self, stored: &str) -> Result<String, CipherError> {
        let b64 = stored.strip_prefix(ENCRYPTED_PREFIX).ok_or_else(|| CipherError::Decrypt("not encrypted".into()))?;
        let blob = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|e| CipherError::Decrypt(e.to_string()))?;
        if blob.len() < 12 {
            return Err(CipherError::Decrypt("too short".into()));
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| CipherError::Decrypt("bad nonce".into()))?;
        let plain = self.aead.decrypt(&nonce, ct).map_err(|_| CipherError::Decrypt("authentication failed".into()))?;
        String::from_utf8(plain).map_err(|e| CipherError::Decrypt(e.to_string()))
    }

    /// Whether a stored value is encrypted.
    pub fn is_encrypted(stored: &str) -> bool {
        stored.starts_with(ENCRYPTED_PREFIX)
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_encodings_a_step_can_print() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secret = "p@ss w/rd \"quoted\" and a long tail so that base64 wraps at seventy-six columns";
        let mut m = Masker::default();
        m.add(secret);
        let leaks = |text: &str| {
            let masked = m.mask(text);
            assert!(masked.contains(MASK), "not masked: {text}");
            masked
        };
        // `base64` wraps at 76 columns: every full line is masked on its own.
        let wrapped = STANDARD.encode(secret);
        for line in wrapped.as_bytes().chunks(76) {
            let line = std::str::from_utf8(line).unwrap();
            assert_eq!(leaks(line), MASK, "{line}");
        }
        // Inside a longer encoded stream, at each alignment: nothing of the middle survives.
        for prefix in ["", "x", "xy", "xyz"] {
            for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                let stream = engine.encode(format!("{prefix}{secret} and more after it"));
                let masked = leaks(&stream);
                assert!(masked.len() < stream.len() / 2, "{prefix:?}: {masked}");
            }
        }
        assert_eq!(leaks(&hex::encode(secret)), MASK);
        assert_eq!(leaks(&hex::encode_upper(secret)), MASK);
        assert_eq!(
            leaks("p%40ss+w%2Frd+%22quoted%22+and+a+long+tail+so+that+base64+wraps+at+seventy-six+columns"),
            MASK
        );
        assert_eq!(
            leaks(
                "url=p%40ss%20w%2frd%20%22quoted%22%20and%20a%20long%20tail%20so%20that%20base64%20wraps%20at%20seventy-six%20columns"
            ),
            format!("url={MASK}")
        );
        assert_eq!(leaks(&serde_json::to_string(secret).unwrap()), format!("\"{MASK}\""));
        // Short secrets get no hex form of their own (it would match too much unrelated text).
        let mut short = Masker::default();
        short.add("ab");
        assert_eq!(short.mask("6162 is hex"), "6162 is hex");
    }

    #[test]
    fn masks_value_base64_and_lines() {
        let mut m = Masker::default();
        m.add("hunter2-secret");
        m.add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode("hunter2-secret");
        let text = format!("pw=hunter2-secret b64={b64} line AAAABBBBCCCC end");
        let masked = m.mask(&text);
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(!masked.contains(&b64), "{masked}");
        assert!(!masked.contains("AAAABBBBCCCC"), "{masked}");
        assert_eq!(format!("{:?}", Secret::new("x")), "***");
    }

    #[test]
    fn cipher_round_trips_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("secret.key");
        let c = Cipher::load_or_create(&key).unwrap();
        let stored = c.encrypt("hunter2");
        assert!(Cipher::is_encrypted(&stored) && !stored.contains("hunter2"));
        assert_ne!(stored, c.encrypt("hunter2"), "nonces differ");
        let again = Cipher::load_or_create(&key).unwrap();
        assert_eq!(again.decrypt(&stored).unwrap(), "hunter2");
        assert!(Cipher::ephemeral().decrypt(&stored).is_err());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
