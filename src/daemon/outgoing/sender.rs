//! The sender: claims due deliveries from the store, makes one attempt at each (signing run
//! events, authorizing commit statuses as their server wants), and records the answer; a failed
//! attempt is due again after the next wait of the retry schedule, until none is left.

use super::status::Forge;
use crate::api::{OutgoingKind, OutgoingState};
use crate::daemon::Service;
use crate::store::DueDelivery;
use hmac::{KeyInit, Mac};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an attempt may take; a claim holds a little longer, so that no other node tries the
/// same delivery while this one waits for an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
const CLAIM_HOLD: Duration = Duration::from_secs(30);
/// How often the sender looks for due retries when nothing was queued.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries taken per look.
const BATCH: u32 = 20;
/// How much of an answer's body is kept.
const ANSWER_EXCERPT: usize = 300;

/// Sends due deliveries until `stop` fires. Deliveries left pending by a stopped or crashed
/// daemon are due again when it starts (or when their claim lapses).
pub async fn send_loop(svc: Arc<Service>, stop: CancellationToken) {
    let client = match crate::tls::client_builder()
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("drydock/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for commit statuses and run events; none will be sent");
            return;
        }
    };
    loop {
        let wake = svc.outgoing_wake.notified();
        let due = match svc.store.claim_outgoing(BATCH, CLAIM_HOLD).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "reading the outgoing deliveries failed");
                Vec::new()
            }
        };
        let full = due.len() == BATCH as usize;
        // One at a time, oldest first: a run's statuses reach the server in the order they happened.
        for d in due {
            if stop.is_cancelled() {
                return;
            }
            attempt(&svc, &client, d).await;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = wake => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// One attempt at `d`, with its answer recorded.
async fn attempt(svc: &Service, client: &reqwest::Client, d: DueDelivery) {
    let secret = match d.credential.as_deref().map(|c| svc.unseal(c)).transpose() {
        Ok(s) => s,
        Err(e) => {
            let why = format!("cannot open the delivery's secret: {e}");
            record(svc, &d, OutgoingState::Failed, None, None, &why).await;
            return;
        }
    };
    let mut request = client.post(&d.url).header("content-type", "application/json");
    match d.kind {
        OutgoingKind::Webhook => {
            request = request
                .header("X-Drydock-Event", &d.event)
                .header("X-Drydock-Delivery", &d.id)
                .header("X-Drydock-Run", &d.run_id);
            if let Some(secret) = &secret {
                request = request.header("X-Drydock-Signature", format!("sha256={}", sign(secret, d.body.as_bytes())));
            }
        }
        OutgoingKind::CommitStatus => {
            let token = secret.unwrap_or_default();
            request = match d.provider.as_deref().and_then(Forge::named) {
                Some(Forge::GitLab) => request.header("PRIVATE-TOKEN", token),
                Some(Forge::Gitea) => request.header("Authorization", format!("token {token}")),
                _ => request
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Accept", "application/vnd.github+json"),
            };
        }
    }
    let (code, answer) = match request.body(d.body.clone()).send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (Some(code), excerpt(&text))
        }
        // Without the URL, which the listing shows anyway.
        Err(e) => (None, e.without_url().to_string()),
    };
    let delivered = code.is_some_and(|c| (200..300).contains(&c));
    let retry = svc.settings.notify.retry.get(d.attempts.saturating_sub(1) as usize).copied();
    let (state, retry) = match (delivered, retry) {
        (true, _) => (OutgoingState::Delivered, None),
        (false, Some(wait)) => (OutgoingState::Pending, Some(wait)),
        (false, None) => (OutgoingState::Failed, None),
    };
    if !delivered {
        let what = code.map_or_else(|| answer.clone(), |c| format!("HTTP {c}"));
        tracing::warn!(delivery = %d.id, run = %d.run_id, url = %d.url, attempt = d.attempts, answer = %what,
            "an outgoing delivery failed{}", if retry.is_some() { "; trying again" } else { "; giving up" });
    }
    record(svc, &d, state, retry, code, &answer).await;
}

async fn record(
    svc: &Service,
    d: &DueDelivery,
    state: OutgoingState,
    retry: Option<Duration>,
    code: Option<u16>,
    answer: &str,
) {
    let answer = (!answer.is_empty()).then_some(answer);
    if let Err(e) = svc.store.record_outgoing(&d.id, state, retry, code, answer).await {
        tracing::warn!(delivery = %d.id, error = %e, "recording an outgoing delivery's answer failed");
    }
}

/// The first characters of an answer, on one line.
fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(ANSWER_EXCERPT) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// The hex HMAC-SHA256 of `body` under `secret`, as `X-Drydock-Signature` carries it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\n  b\tc"), "a b c");
        assert_eq!(excerpt(&"é".repeat(400)).chars().count(), ANSWER_EXCERPT + 1);
    }
}
