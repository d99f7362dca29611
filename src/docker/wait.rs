//! Waiting for a container to exit and reading its exit code, robustly.
//!
//! Two engine behaviours make the obvious `POST /wait` insufficient on Docker 20.10:
//! * a container that already exited is fine (`condition=not-running` answers at once), but one
//!   created with `auto_remove` may already be *gone*: the engine answers 404;
//! * an auto-removed container can also vanish while the wait is pending, which ends the wait
//!   without a status.
//!
//! In both cases the exit code is still in the engine's event log (the `die` event carries
//! `exitCode`), which the engine replays for a `since` in the past, so we read it from there.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{EventsOptionsBuilder, WaitContainerOptionsBuilder};

use super::DockerHost;
use super::error::{DockerError, Result, status_of};

/// How far back to look for the `die` event of a vanished container. The engine keeps only its
/// most recent events in memory anyway; this bounds the replay.
const EVENT_LOOKBACK: Duration = Duration::from_secs(6 * 3600);

impl DockerHost {
    /// Waits until the container is not running and returns its exit code.
    ///
    /// Returns at once for a container that already exited. Works for `auto_remove` containers
    /// that are already gone, via the engine's event log; fails with
    /// [`DockerError::ExitCodeLost`] only if even that no longer knows the container. Note that
    /// a container that was never started counts as "not running" (exit code 0): start it first.
    pub async fn wait_container(&self, id: &str) -> Result<i64> {
        let opts = WaitContainerOptionsBuilder::default().condition("not-running").build();
        let first = self.streaming.wait_container(id, Some(opts)).next().await;
        match first {
            Some(Ok(resp)) => Ok(resp.status_code),
            // bollard turns a non-zero exit into an error; for us it is just the exit code.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) if status_of(&e) == Some(404) => self.exit_code_from_events(id).await,
            Some(Err(e)) => Err(DockerError::api(format!("waiting for container `{id}`"), e)),
            None => self.exit_code_from_events(id).await,
        }
    }

    /// Exit code from the most recent `die` event of a container (by id or name).
    async fn exit_code_from_events(&self, id: &str) -> Result<i64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let since = now.saturating_sub(EVENT_LOOKBACK).as_secs().to_string();
        // `until` must be set or the events stream never ends; one second ahead covers a die
        // event stamped in the current second.
        let until = (now.as_secs() + 1).to_string();
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("container".to_string(), vec![id.to_string()]),
            ("event".to_string(), vec!["die".to_string()]),
        ]);
        let opts = EventsOptionsBuilder::default().since(&since).until(&until).filters(&filters).build();
        let mut events = self.api.events(Some(opts));
        let mut code = None;
        while let Some(ev) = events.next().await {
            let ev = ev.map_err(|e| DockerError::api(format!("reading events for container `{id}`"), e))?;
            let attrs = ev.actor.and_then(|a| a.attributes).unwrap_or_default();
            if let Some(c) = attrs.get("exitCode").and_then(|c| c.parse::<i64>().ok()) {
                code = Some(c);
            }
        }
        tracing::debug!(container = id, ?code, "exit code recovered from events");
        code.ok_or_else(|| DockerError::ExitCodeLost { id: id.to_string() })
    }
}
