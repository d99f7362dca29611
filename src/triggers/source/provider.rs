//! Everything drydock knows about each git provider's webhooks, in one place: the headers that
//! carry the event, the signature and the delivery id, how the signature is checked, and how the
//! payload is read. The HTTP layer has one handler for every provider: it reads the headers a
//! [`Provider`] names and hands them to `source::receive`.

use super::event::{Parsed, PayloadError};
use super::{generic, gitea, github, gitlab, signature};

/// One git provider's webhook format.
pub trait Provider: Send + Sync + 'static {
    /// The name stored with deliveries and runs.
    fn name(&self) -> &'static str;
    /// Headers naming the event, in order of preference (empty: the payload says).
    fn event_headers(&self) -> &'static [&'static str];
    /// Headers carrying the signature or token, in order of preference.
    fn signature_headers(&self) -> &'static [&'static str];
    /// Headers carrying an id that stays the same when a delivery is sent again.
    fn delivery_headers(&self) -> &'static [&'static str];
    /// Whether `signature` (a signature header's value) proves that `body` was sent with `secret`.
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        signature::verify_hmac(secret, body, signature)
    }
    /// Reads a payload of event `event`; `repository` is the task's repository for a receiver
    /// that is bound to one task (which names none of its own).
    fn parse(&self, event: &str, body: &[u8], repository: &str) -> Result<Parsed, PayloadError>;
    /// Whether the receiver's URL names its task (`/hooks/generic/{task}`) instead of the payload
    /// naming a repository that tasks build.
    fn names_its_task(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for dyn Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// GitHub: `X-Hub-Signature-256` over the body.
pub struct GitHub;

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }
    fn event_headers(&self) -> &'static [&'static str] {
        &["X-GitHub-Event"]
    }
    fn signature_headers(&self) -> &'static [&'static str] {
        &["X-Hub-Signature-256"]
    }
    fn delivery_headers(&self) -> &'static [&'static str] {
        &["X-GitHub-Delivery"]
    }
    fn parse(&self, event: &str, body: &[u8], _: &str) -> Result<Parsed, PayloadError> {
        github::parse(event, body)
    }
}

/// GitLab: the shared secret itself in `X-Gitlab-Token`.
pub struct GitLab;

impl Provider for GitLab {
    fn name(&self) -> &'static str {
        "gitlab"
    }
    fn event_headers(&self) -> &'static [&'static str] {
        &["X-Gitlab-Event"]
    }
    fn signature_headers(&self) -> &'static [&'static str] {
        &["X-Gitlab-Token"]
    }
    fn delivery_headers(&self) -> &'static [&'static str] {
        // Redeliveries repeat `Idempotency-Key` (GitLab 17.4+); older versions send only the
        // per-attempt event UUID; without either the body's hash stands in.
        &["Idempotency-Key", "X-Gitlab-Event-UUID"]
    }
    fn verify(&self, secret: &str, _: &[u8], token: &str) -> bool {
        signature::verify_token(secret, token)
    }
    fn parse(&self, event: &str, body: &[u8], _: &str) -> Result<Parsed, PayloadError> {
        gitlab::parse(event, body)
    }
}

/// Gitea and Forgejo: GitHub's payload shapes under their own headers.
pub struct Gitea;

impl Provider for Gitea {
    fn name(&self) -> &'static str {
        "gitea"
    }
    fn event_headers(&self) -> &'static [&'static str] {
        &["X-Gitea-Event", "X-Forgejo-Event"]
    }
    fn signature_headers(&self) -> &'static [&'static str] {
        &["X-Gitea-Signature", "X-Forgejo-Signature"]
    }
    fn delivery_headers(&self) -> &'static [&'static str] {
        &["X-Gitea-Delivery", "X-Forgejo-Delivery"]
    }
    fn parse(&self, event: &str, body: &[u8], _: &str) -> Result<Parsed, PayloadError> {
        gitea::parse(event, body)
    }
}

/// drydock's own format for anything else (CI scripts, other servers), bound to one task.
pub struct Generic;

impl Provider for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }
    fn event_headers(&self) -> &'static [&'static str] {
        &[]
    }
    fn signature_headers(&self) -> &'static [&'static str] {
        &["X-Drydock-Signature"]
    }
    fn delivery_headers(&self) -> &'static [&'static str] {
        &["X-Drydock-Delivery"]
    }
    fn parse(&self, _: &str, body: &[u8], repository: &str) -> Result<Parsed, PayloadError> {
        generic::parse(body, repository)
    }
    fn names_its_task(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_name_their_headers() {
        assert_eq!(Gitea.name(), "gitea");
        assert!(Gitea.signature_headers().contains(&"X-Forgejo-Signature"), "Forgejo's headers too");
        assert_eq!(GitHub.signature_headers(), ["X-Hub-Signature-256"]);
        assert!(Generic.names_its_task() && !GitLab.names_its_task());
    }

    #[test]
    fn gitlab_compares_its_token_and_the_others_an_hmac() {
        let body = b"{}";
        assert!(GitLab.verify("s", body, "s"));
        assert!(!GitHub.verify("s", body, "s"));
        assert!(GitHub.verify("s", body, &format!("sha256={}", signature::sign("s", body))));
    }
}
