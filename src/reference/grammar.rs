//! Docker's reference grammar: registry hosts, repository components, tags, digests.

use super::ReferenceError;

/// Docker's limit on the length of a tag.
const MAX_TAG_LEN: usize = 128;

/// Docker's rule: the first component is a registry only if it contains `.` or `:`,
/// is `localhost`, or has upper-case letters (which a repository cannot have).
pub(crate) fn looks_like_registry(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())
}

pub(super) fn validate_registry(text: &str, registry: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::InvalidRegistry { reference: text.to_string(), registry: registry.to_string() };
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        // IPv6 literal: `[::1]:5000`.
        let (inside, after) = rest.split_once(']').ok_or_else(err)?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(err());
        }
        match after {
            "" => (None, None),
            p => (None, Some(p.strip_prefix(':').ok_or_else(err)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(err());
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err());
    }
    Ok(())
}

pub(super) fn validate_path(text: &str, path: &str) -> Result<(), ReferenceError> {
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase {
            reference: text.to_string(),
            repository: path.to_string(),
            suggestion: path.to_ascii_lowercase(),
        });
    }
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(ReferenceError::InvalidComponent {
                reference: text.to_string(),
                component: component.to_string(),
            });
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let alnum = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit();
    let chars: Vec<char> = c.chars().collect();
    let mut i = 0;
    let mut expect_alnum = true;
    while i < chars.len() {
        if alnum(chars[i]) {
            expect_alnum = false;
            i += 1;
            continue;
        }
        if expect_alnum {
            return false;
        }
        // A separator run: `.`, `_`, `__` or any number of `-`.
        let start = i;
        let sep = chars[i];
        while i < chars.len() && chars[i] == sep {
            i += 1;
        }
        let run = i - start;
        let ok = match sep {
            '.' => run == 1,
            '_' => run <= 2,
            '-' => true,
            _ => false,
        };
        if !ok {
            return false;
        }
        expect_alnum = true;
    }
    !expect_alnum
}

pub(super) fn validate_tag(text: &str, tag: &str) -> Result<(), ReferenceError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.len() <= MAX_TAG_LEN
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok { Ok(()) } else { Err(ReferenceError::InvalidTag { reference: text.to_string(), tag: tag.to_string() }) }
}

pub(super) fn validate_digest(text: &str, digest: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::InvalidDigest { reference: text.to_string(), digest: digest.to_string() };
    let (algo, hex) = digest.split_once(':').ok_or_else(err)?;
    // Docker only accepts the registered algorithms, each with a fixed lowercase hex length.
    let want = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(err()),
    };
    let hex_ok = hex.len() == want && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    if hex_ok { Ok(()) } else { Err(err()) }
}
