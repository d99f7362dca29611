//! The stored form of what started a run: the JSON in the `runs.trigger` column and the
//! `trigger_kind` column derived from it. Its own types, for the reason `task_record` gives; the
//! JSON is the one runs were first stored with, so existing databases read unchanged.

use crate::api::Trigger;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A run's trigger as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerRecord {
    /// Asked for by a person or a script.
    Manual,
    /// A git event (webhook or poller).
    Source {
        provider: String,
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery_id: Option<String>,
        commit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pull_request: Option<u64>,
        repository: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        from_fork: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        head_repository: Option<String>,
    },
    /// A cron timer's occurrence.
    Timer { name: String, occurrence: DateTime<Utc> },
    /// A base image's new digest.
    BaseImage {
        image: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_digest: Option<String>,
        new_digest: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cascade_from: Option<String>,
    },
}

impl TriggerRecord {
    /// The `trigger_kind` column: the serde tag (`manual`, `source`, `timer`, `base_image`),
    /// which the `trigger` list filter names.
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerRecord::Manual => "manual",
            TriggerRecord::Source { .. } => "source",
            TriggerRecord::Timer { .. } => "timer",
            TriggerRecord::BaseImage { .. } => "base_image",
        }
    }
}

impl From<&Trigger> for TriggerRecord {
    fn from(t: &Trigger) -> Self {
        match t.clone() {
            Trigger::Manual => TriggerRecord::Manual,
            Trigger::Source {
                provider,
                event,
                delivery_id,
                commit,
                branch,
                pull_request,
                repository,
                from_fork,
                head_repository,
            } => TriggerRecord::Source {
                provider,
                event,
                delivery_id,
                commit,
                branch,
                pull_request,
                repository,
                from_fork,
                head_repository,
            },
            Trigger::Timer { name, occurrence } => TriggerRecord::Timer { name, occurrence },
            Trigger::BaseImage { image, old_digest, new_digest, cascade_from } => {
                TriggerRecord::BaseImage { image, old_digest, new_digest, cascade_from }
            }
        }
    }
}

impl From<TriggerRecord> for Trigger {
    fn from(t: TriggerRecord) -> Self {
        match t {
            TriggerRecord::Manual => Trigger::Manual,
            TriggerRecord::Source {
                provider,
                event,
                delivery_id,
                commit,
                branch,
                pull_request,
                repository,
                from_fork,
                head_repository,
            } => Trigger::Source {
                provider,
                event,
                delivery_id,
                commit,
                branch,
                pull_request,
                repository,
                from_fork,
                head_repository,
            },
            TriggerRecord::Timer { name, occurrence } => Trigger::Timer { name, occurrence },
            TriggerRecord::BaseImage { image, old_digest, new_digest, cascade_from } => {
                Trigger::BaseImage { image, old_digest, new_digest, cascade_from }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_json_is_pinned() {
        for (stored, kind) in [
            (json!({"kind": "manual"}), "manual"),
            (
                json!({"kind": "source", "provider": "github", "event": "pullrequest", "delivery_id": "d-1",
                       "commit": "abc", "branch": "main", "pull_request": 7, "repository": "https://git.test/o/r"}),
                "source",
            ),
            (json!({"kind": "timer", "name": "t1", "occurrence": "2026-01-01T03:00:00Z"}), "timer"),
            (
                json!({"kind": "base_image", "image": "docker.io/library/alpine:3", "old_digest": "sha256:1",
                       "new_digest": "sha256:2", "cascade_from": "ab1"}),
                "base_image",
            ),
        ] {
            let record: TriggerRecord = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(record.kind(), kind);
            let api = Trigger::from(record);
            // The API's JSON of it is what was stored, and it is stored back the same.
            assert_eq!(serde_json::to_value(&api).unwrap(), stored);
            assert_eq!(serde_json::to_value(TriggerRecord::from(&api)).unwrap(), stored);
        }
    }
}
