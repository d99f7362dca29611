//! Secret values: a wrapper that never prints them, and the masker that removes them from output.

use base64::Engine as _;
use std::fmt;

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

/// Replaces every known secret in text with `***`: the value itself, its base64 encodings
/// (standard and URL-safe, padded or not) and each line of a multi-line value.
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
        if value.contains('\n') {
            forms.extend(value.lines().map(str::trim).filter(|l| l.len() >= MIN_FRAGMENT).map(str::to_string));
        }
        for f in forms {
            if !self.patterns.contains(&f) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
