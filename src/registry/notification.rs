//! Docker distribution's registry notifications: the envelope a registry POSTs to its
//! configured endpoints after every push and pull.
//!
//! Only manifest pushes matter to drydock (an image was published under a tag). The registry
//! also reports every blob push and every pull, manifest or blob, including the `HEAD`s that
//! `docker push` and drydock's own watcher send, so most events are filtered out here.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::MANIFEST_MEDIA_TYPES;
use super::error::NotificationError;

/// The `Content-Type` the registry uses for notification envelopes.
pub const NOTIFICATION_MEDIA_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

/// A manifest was pushed to a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// The event's id (unique per event; use it to deduplicate redeliveries).
    pub id: String,
    /// The registry as the pusher addressed it (`request.host`, e.g. `127.0.0.1:5000`).
    pub registry_host: String,
    /// Repository path, e.g. `team/app`.
    pub repository: String,
    /// The tag pushed; `None` for a push by digest (such as a multi-arch index's children).
    pub tag: Option<String>,
    /// The manifest digest.
    pub digest: String,
    /// When the registry handled the push.
    pub timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    events: Vec<Event>,
}

/// One event as the registry writes it; fields drydock does not use (`actor`, `source`,
/// `request.addr`, …) are left out.
#[derive(Deserialize)]
struct Event {
    id: String,
    timestamp: DateTime<Utc>,
    action: String,
    target: EventTarget,
    #[serde(default)]
    request: EventRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventTarget {
    #[serde(default)]
    media_type: String,
    digest: String,
    repository: String,
    #[serde(default)]
    url: String,
    tag: Option<String>,
}

#[derive(Default, Deserialize)]
struct EventRequest {
    #[serde(default)]
    host: String,
}

/// Parses a notification envelope and keeps only manifest pushes, in order.
pub fn parse_notification(body: &[u8]) -> Result<Vec<PushEvent>, NotificationError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    Ok(envelope
        .events
        .into_iter()
        .filter(|event| event.action == "push" && is_manifest(&event.target))
        .map(|event| PushEvent {
            id: event.id,
            registry_host: event.request.host,
            repository: event.target.repository,
            tag: event.target.tag.filter(|t| !t.is_empty()),
            digest: event.target.digest,
            timestamp: event.timestamp,
        })
        .collect())
}

/// Blob events carry `application/octet-stream`; the URL check covers manifest types we do not
/// list (artifacts with custom media types are still manifests).
fn is_manifest(target: &EventTarget) -> bool {
    MANIFEST_MEDIA_TYPES.contains(&target.media_type.as_str()) || target.url.contains("/manifests/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from docker-registry 2.8.2 after `docker push 127.0.0.1:5790/team/app:v1`.
    const REAL_PUSH: &[u8] = include_bytes!("testdata/notification-push.json");

    #[test]
    fn parses_the_captured_envelope() {
        let events = parse_notification(REAL_PUSH).unwrap();
        assert_eq!(
            events,
            [PushEvent {
                id: "24cc5b79-35b3-4562-8bcf-804c9f51b208".into(),
                registry_host: "127.0.0.1:5790".into(),
                repository: "team/app".into(),
                tag: Some("v1".into()),
                digest: "sha256:1ee14869ec5c734b7b82935c977929c5ca0fbc34300a0dee0300231ce30a7a1c".into(),
                timestamp: "2026-11-22T17:50:22.897248746Z".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn blob_pushes_and_pulls_are_ignored() {
        let mut envelope: serde_json::Value = serde_json::from_slice(REAL_PUSH).unwrap();
        let manifest_push = envelope["events"][0].clone();
        let mut pull = manifest_push.clone();
        pull["action"] = "pull".into();
        let mut blob = manifest_push.clone();
        blob["target"]["mediaType"] = "application/octet-stream".into();
        blob["target"]["url"] = "http://127.0.0.1:5790/v2/team/app/blobs/sha256:ff".into();
        blob["target"].as_object_mut().unwrap().remove("tag");
        envelope["events"] = serde_json::json!([pull, blob, manifest_push]);
        let events = parse_notification(envelope.to_string().as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].tag.as_deref(), Some("v1"));
    }

    #[test]
    fn garbage_is_an_error_and_empty_is_nothing() {
        assert!(parse_notification(b"not json").is_err());
        assert!(parse_notification(b"{}").unwrap().is_empty());
    }
}
