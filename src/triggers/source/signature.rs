//! Webhook authentication: HMAC-SHA256 signatures over the raw body (GitHub, Gitea/Forgejo,
//! generic) and GitLab's shared token. Every comparison takes the same time whatever matches.

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Whether `signature` (hex, with an optional `sha256=` prefix) is the HMAC-SHA256 of `body`
/// under `secret`.
pub fn verify_hmac(secret: &str, body: &[u8], signature: &str) -> bool {
    let hex_part = signature.trim();
    let hex_part = hex_part.strip_prefix("sha256=").unwrap_or(hex_part);
    let Ok(expected) = hex::decode(hex_part) else { return false };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether GitLab's `X-Gitlab-Token` is the secret.
pub fn verify_token(secret: &str, token: &str) -> bool {
    bool::from(secret.as_bytes().ct_eq(token.as_bytes()))
}

/// The hex HMAC-SHA256 of `body` (for signing test payloads and the generic receiver's docs).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_right_secret_and_body() {
        // From GitHub's documentation of X-Hub-Signature-256.
        let sig = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign("It's a Secret to Everybody", b"Hello, World!"), sig);
        assert!(verify_hmac("It's a Secret to Everybody", b"Hello, World!", &format!("sha256={sig}")));
        assert!(verify_hmac("It's a Secret to Everybody", b"Hello, World!", sig));
        assert!(!verify_hmac("another secret", b"Hello, World!", sig));
        assert!(!verify_hmac("It's a Secret to Everybody", b"Hello, World?", sig));
        assert!(!verify_hmac("It's a Secret to Everybody", b"Hello, World!", "sha256=zz"));
        assert!(!verify_hmac("It's a Secret to Everybody", b"Hello, World!", ""));
    }

    #[test]
    fn gitlab_tokens_compare_whole() {
        assert!(verify_token("s3cret", "s3cret"));
        assert!(!verify_token("s3cret", "s3cre"));
        assert!(!verify_token("s3cret", "s3cret "));
        assert!(!verify_token("s3cret", ""));
    }
}
