//! Following a run: its log over Server-Sent Events, resumed with `Last-Event-ID` after a
//! dropped connection so that no byte is lost or printed twice; or, without logs, polling the
//! run until it ends.

use super::client::{Client, ClientError};
use super::sse::SseParser;
use crate::api::Run;
use futures_util::StreamExt;
use std::io::Write;
use std::time::Duration;

/// How hard to try before giving up on a stream or a poll.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First wait after a failure.
    pub first_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
    /// Failures in a row (with no progress in between) before giving up.
    pub max_failures: u32,
    /// Silence (not even a keep-alive comment) after which a connection counts as dead.
    pub idle_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
            // 0.25 + 0.5 + 1 + 2 + 4 + 5 + 5 + 5 ≈ 23 s: enough for a daemon restart.
            max_failures: 8,
            idle_timeout: Duration::from_secs(90),
        }
    }
}

/// Where a followed stream stands: the id to resume from and the failures since the last event.
#[derive(Debug, Clone)]
pub struct Resume {
    policy: RetryPolicy,
    last_event_id: Option<String>,
    failures: u32,
    server_delay: Option<Duration>,
}

impl Resume {
    /// At the start of the log.
    pub fn new(policy: RetryPolicy) -> Self {
        Resume { policy, last_event_id: None, failures: 0, server_delay: None }
    }

    /// The `Last-Event-ID` to send on the next connection.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// An event was received and handled: remember its id; the stream is making progress.
    pub fn on_event(&mut self, id: Option<&str>) {
        if let Some(id) = id {
            self.last_event_id = Some(id.to_string());
        }
        self.failures = 0;
    }

    /// The server asked for this reconnection delay (`retry:`).
    pub fn set_server_delay(&mut self, delay: Option<Duration>) {
        if delay.is_some() {
            self.server_delay = delay;
        }
    }

    /// The connection was lost: how long to wait before reconnecting, or `None` to give up.
    pub fn on_drop(&mut self) -> Option<Duration> {
        self.failures += 1;
        if self.failures > self.policy.max_failures {
            return None;
        }
        let backoff = self.policy.first_delay.saturating_mul(1 << (self.failures - 1).min(16));
        let wait = self.server_delay.map_or(backoff, |d| d.max(backoff));
        Some(wait.min(self.policy.max_delay))
    }
}

/// Streams the log of run `id` into `out` until the daemon sends the `end` event, and returns
/// the final run. Reconnects with `Last-Event-ID` whenever the connection drops.
pub async fn follow_logs(
    client: &Client,
    id: &str,
    out: &mut (dyn Write + Send),
    policy: RetryPolicy,
) -> Result<Run, ClientError> {
    let mut resume = Resume::new(policy);
    loop {
        let reason = match client.log_events(id, resume.last_event_id()).await {
            Ok(response) => match read_events(response, out, &mut resume, policy.idle_timeout).await? {
                Ending::Ended(run) => return Ok(*run),
                Ending::Dropped(reason) => reason,
            },
            Err(e) if e.is_transient() => e.to_string(),
            Err(e) => return Err(e),
        };
        match resume.on_drop() {
            Some(wait) => tokio::time::sleep(wait).await,
            None => {
                return Err(ClientError::Transport {
                    url: client.url(&["runs", id, "logs"]).to_string(),
                    cause: format!(
                        "lost the log stream and could not resume it ({reason}); the run goes on: follow it again with `drydock logs {id} --follow`"
                    ),
                });
            }
        }
    }
}

enum Ending {
    Ended(Box<Run>),
    Dropped(String),
}

/// Reads one connection's events. Errors that retrying cannot fix are returned as `Err`.
async fn read_events(
    response: reqwest::Response,
    out: &mut (dyn Write + Send),
    resume: &mut Resume,
    idle: Duration,
) -> Result<Ending, ClientError> {
    let url = response.url().to_string();
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        return Err(ClientError::Decode { url, problem: "the daemon did not answer with an event stream".into() });
    }
    let mut parser = SseParser::new();
    let mut body = response.bytes_stream();
    loop {
        let chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => return Ok(Ending::Dropped(format!("no data for {}s", idle.as_secs()))),
            Ok(None) => return Ok(Ending::Dropped("the daemon closed the stream before the run ended".into())),
            Ok(Some(Err(e))) => return Ok(Ending::Dropped(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let events = parser.push(&chunk);
        resume.set_server_delay(parser.retry());
        for event in events {
            match event.event.as_str() {
                "log" => {
                    // One `data:` per log line; the join put `\n` between them, not after the last.
                    writeln!(out, "{}", event.data).and_then(|()| out.flush()).map_err(|e| ClientError::Transport {
                        url: url.clone(),
                        cause: format!("writing the log: {e}"),
                    })?;
                    resume.on_event(event.id.as_deref());
                }
                "end" => {
                    let run = serde_json::from_str::<Run>(&event.data)
                        .map_err(|e| ClientError::Decode { url, problem: format!("the `end` event: {e}") })?;
                    return Ok(Ending::Ended(Box::new(run)));
                }
                _ => resume.on_event(event.id.as_deref()), // unknown events are skipped, not fatal
            }
        }
    }
}

/// Polls run `id` until it ends (`--no-logs`), backing off from 0.5 s to 5 s between polls.
pub async fn wait_for_end(client: &Client, id: &str, policy: RetryPolicy) -> Result<Run, ClientError> {
    let mut delay = Duration::from_millis(500);
    let mut failures = 0;
    loop {
        match client.get_run(id).await {
            Ok(run) if run.status.is_terminal() => return Ok(run),
            Ok(_) => failures = 0,
            Err(e) if e.is_transient() && failures < policy.max_failures => failures += 1,
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_failures: 3, ..RetryPolicy::default() }
    }

    #[test]
    fn resume_sends_the_last_dispatched_id() {
        let mut r = Resume::new(policy());
        assert_eq!(r.last_event_id(), None);
        r.on_event(Some("120"));
        r.on_event(None);
        assert_eq!(r.last_event_id(), Some("120"));
        r.on_event(Some("300"));
        assert_eq!(r.last_event_id(), Some("300"));
    }

    #[test]
    fn backoff_doubles_is_capped_and_gives_up_without_progress() {
        let mut r = Resume::new(policy());
        let waits: Vec<_> = std::iter::from_fn(|| r.on_drop()).collect();
        assert_eq!(waits, [Duration::from_millis(250), Duration::from_millis(500), Duration::from_secs(1)]);
        let mut r = Resume::new(RetryPolicy { max_failures: 10, ..policy() });
        let last = std::iter::from_fn(|| r.on_drop()).last().unwrap();
        assert_eq!(last, Duration::from_secs(5));
    }

    #[test]
    fn progress_resets_the_failure_count_and_keeps_the_id() {
        let mut r = Resume::new(policy());
        r.on_event(Some("10"));
        for _ in 0..3 {
            assert!(r.on_drop().is_some());
        }
        r.on_event(Some("20"));
        assert_eq!(r.on_drop(), Some(Duration::from_millis(250)));
        assert_eq!(r.last_event_id(), Some("20"));
    }

    #[test]
    fn server_retry_lengthens_the_wait_within_the_cap() {
        let mut r = Resume::new(policy());
        r.set_server_delay(Some(Duration::from_secs(2)));
        r.set_server_delay(None);
        assert_eq!(r.on_drop(), Some(Duration::from_secs(2)));
        r.set_server_delay(Some(Duration::from_secs(60)));
        assert_eq!(r.on_drop(), Some(Duration::from_secs(5)));
    }
}
