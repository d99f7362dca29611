//! Faults the real registry cannot produce on demand, served by small axum fakes. Every test
//! runs on tokio's paused clock: waits are asserted in virtual time, never wall time.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use super::support::{Fake, free_port, manifest_response, status_response};
use crate::registry::{ClientConfig, Login, RegistryClient, RegistryError};

const DIGEST: &str = "sha256:3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351";

fn client(max_attempts: u32) -> RegistryClient {
    RegistryClient::new(ClientConfig { max_attempts, timeout: Duration::from_secs(5), ..ClientConfig::default() })
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let fake = Fake::start(|n, _| {
        Some(if n == 0 {
            status_response(429, &[("retry-after", "7")])
        } else {
            manifest_response(200, Some(DIGEST), "")
        })
    })
    .await;
    let started = Instant::now();
    let answer = client(4).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(answer.digest, DIGEST);
    assert_eq!(answer.requests_made, 2);
    assert_eq!(fake.seen().len(), 2);
    assert!(waited >= Duration::from_secs(7), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(8), "Retry-After plus backoff: {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_max_backoff_is_handed_back() {
    let fake = Fake::start(|_, _| Some(status_response(429, &[("retry-after", "3600")]))).await;
    let err = client(4).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn service_unavailable_twice_then_ok() {
    let fake = Fake::start(|n, _| {
        Some(if n < 2 { status_response(503, &[]) } else { manifest_response(200, Some(DIGEST), "") })
    })
    .await;
    let answer = client(4).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap();
    assert_eq!((answer.digest.as_str(), answer.requests_made), (DIGEST, 3));
}

#[tokio::test(start_paused = true)]
async fn persistent_server_errors_give_up_after_max_attempts() {
    let fake = Fake::start(|_, _| Some(status_response(500, &[]))).await;
    let err = client(3).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap_err();
    assert!(matches!(err, RegistryError::Server { status: 500 }), "{err:?}");
    assert!(err.is_transient());
    // All three attempts were HEADs: a server error is not a reason to try GET.
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.method == "HEAD"));
}

#[tokio::test(start_paused = true)]
async fn hanging_server_times_out_on_every_attempt() {
    let fake = Fake::start(|_, _| None).await;
    let err = client(2).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap_err();
    assert!(matches!(err, RegistryError::Timeout), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_a_transient_transport_error() {
    let addr = format!("127.0.0.1:{}", free_port());
    let err = client(2).manifest_digest(&addr, "team/app", "v1", None).await.unwrap_err();
    assert!(matches!(err, RegistryError::Transport(_)), "{err:?}");
    assert!(err.is_transient());
    // The message carries the cause an operator can act on, not just "error sending request".
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn head_without_digest_falls_back_to_get_and_hashes_raw_bytes() {
    // Odd whitespace: re-serialising this JSON would give a different digest.
    const BODY: &str = "{\"schemaVersion\": 2,\n  \"mediaType\":\"application/vnd.oci.image.manifest.v1+json\" }";
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(BODY)));
    for head_status in [200, 405] {
        let fake = Fake::start(move |_, seen| {
            Some(match seen.method.as_str() {
                "HEAD" => status_response(head_status, &[]),
                _ => manifest_response(200, None, BODY),
            })
        })
        .await;
        let answer = client(2).manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap();
        assert_eq!(answer.digest, expected, "HEAD {head_status}");
        assert_eq!(answer.requests_made, 2);
        assert_eq!(answer.media_type.as_deref(), Some("application/vnd.oci.image.manifest.v1+json"));
        // Asking by a digest the content does not hash to is caught.
        let wrong = format!("sha256:{}", "0".repeat(64));
        let err = client(2).manifest_digest(&fake.addr, "team/app", &wrong, None).await.unwrap_err();
        assert!(matches!(err, RegistryError::InvalidDigest(_)), "{err:?}");
        assert!(!err.is_transient());
    }
}

/// A registry that wants a bearer token from `/token` on itself. Tokens are `tok-<n>`; with
/// credentials the token service demands `alice:secret`.
async fn bearer_registry() -> Fake {
    Fake::start(|_, seen| {
        if seen.uri.starts_with("/token") {
            if let Some(auth) = &seen.authorization
                && auth != "Basic YWxpY2U6c2VjcmV0"
            {
                return Some(status_response(401, &[]));
            }
            let body = r#"{"token":"tok-1","access_token":"tok-1","expires_in":300}"#;
            return Some(
                axum::response::Response::builder()
                    .header("content-type", "application/json")
                    .body(body.into())
                    .unwrap(),
            );
        }
        if seen.authorization.as_deref() == Some("Bearer tok-1") {
            return Some(manifest_response(200, Some(DIGEST), ""));
        }
        let challenge = format!(
            "Bearer realm=\"http://{}/token\",service=\"fake-registry\",scope=\"repository:team/app:pull\"",
            seen.host
        );
        Some(status_response(401, &[("www-authenticate", &challenge)]))
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn bearer_token_is_fetched_once_and_reused_until_it_expires() {
    let fake = bearer_registry().await;
    let client = client(2);
    let first = client.manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap();
    assert_eq!((first.digest.as_str(), first.requests_made), (DIGEST, 3));
    let token_requests =
        |fake: &Fake| fake.seen().into_iter().filter(|s| s.uri.starts_with("/token")).collect::<Vec<_>>();
    let tokens = token_requests(&fake);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].query("service").as_deref(), Some("fake-registry"));
    assert_eq!(tokens[0].query("scope").as_deref(), Some("repository:team/app:pull"));
    assert_eq!(tokens[0].authorization, None, "anonymous token request");

    // A clone shares the cache: one request, no second token request.
    let second = client.clone().manifest_digest(&fake.addr, "team/app", "v2", None).await.unwrap();
    assert_eq!(second.requests_made, 1);
    assert_eq!(token_requests(&fake).len(), 1);

    // After expires_in the token is fetched again, without another 401 round trip.
    tokio::time::advance(Duration::from_secs(301)).await;
    let third = client.manifest_digest(&fake.addr, "team/app", "v1", None).await.unwrap();
    assert_eq!(third.requests_made, 3);
    assert_eq!(token_requests(&fake).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn bearer_with_credentials_sends_them_to_the_realm_only() {
    let fake = bearer_registry().await;
    let client = client(2);
    let alice = Login::new("alice", "secret");
    let answer = client.manifest_digest(&fake.addr, "team/app", "v1", Some(&alice)).await.unwrap();
    assert_eq!(answer.requests_made, 3);
    let seen = fake.seen();
    assert_eq!(seen[1].authorization.as_deref(), Some("Basic YWxpY2U6c2VjcmV0"));
    assert_eq!(seen[2].authorization.as_deref(), Some("Bearer tok-1"));
    assert!(
        seen.iter().filter(|s| !s.uri.starts_with("/token")).all(|s| !s
            .authorization
            .as_deref()
            .unwrap_or("")
            .starts_with("Basic")),
        "basic credentials went to the registry: {seen:?}"
    );

    // Wrong credentials: the token service refuses, and the error explains without leaking.
    let err =
        client.manifest_digest(&fake.addr, "team/app", "v1", Some(&Login::new("alice", "wrong"))).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert!(!format!("{err} {err:?}").contains("wrong"));
}

#[tokio::test(start_paused = true)]
async fn twenty_calls_at_five_per_second_take_three_seconds() {
    let fake = Fake::start(|_, _| Some(manifest_response(200, Some(DIGEST), ""))).await;
    let client = RegistryClient::new(ClientConfig { per_registry_rps: 5.0, ..ClientConfig::default() }).unwrap();
    let started = Instant::now();
    let calls = (0..20).map(|i| {
        let client = client.clone();
        let addr = fake.addr.clone();
        async move { client.manifest_digest(&addr, "team/app", &format!("t{i}"), None).await.unwrap() }
    });
    let answers = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(answers.iter().all(|a| a.requests_made == 1));
    assert_eq!(fake.seen().len(), 20);
    // A burst of 5, then 15 more at 5/s.
    assert!(elapsed >= Duration::from_millis(2990), "took only {elapsed:?}");
}
