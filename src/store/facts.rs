//! The small named facts kept in the store's key-value table. Each fact has its own typed
//! functions here, so the module that writes one and the modules that read it agree on its key
//! and its form by calling the same code, not by spelling the same string.

use super::{Store, StoreResult};
use chrono::{DateTime, Utc};

const INSTANCE_ID: &str = "instance-id";
const SECRET_KEY_FINGERPRINT: &str = "secret-key-fingerprint";
/// Read, never written: reading it is the cheapest query that proves the database answers.
const READINESS_PROBE: &str = "readyz";

fn node_url_key(node: &str) -> String {
    format!("node-url:{node}")
}

fn poll_error_key(repository: &str) -> String {
    format!("source.poll_error:{repository}")
}

/// Answers when the database does (`/readyz`).
pub async fn ping(store: &Store) -> StoreResult<()> {
    store.kv_get(READINESS_PROBE).await.map(|_| ())
}

/// The database's instance id, if a node has started on it.
pub async fn stored_instance_id(store: &Store) -> StoreResult<Option<String>> {
    store.kv_get(INSTANCE_ID).await
}

/// The database's instance id: `candidate` if no node stored one before, else the stored one
/// (nodes starting together agree on whichever was stored first).
pub async fn instance_id(store: &Store, candidate: &str) -> StoreResult<String> {
    if let Some(id) = stored_instance_id(store).await? {
        return Ok(id);
    }
    store.kv_put_if_absent(INSTANCE_ID, candidate).await
}

/// The fingerprint of the key this database's secrets are sealed with, if one was recorded.
pub async fn secret_key_fingerprint(store: &Store) -> StoreResult<Option<String>> {
    store.kv_get(SECRET_KEY_FINGERPRINT).await
}

/// Records `fingerprint` as the database's secret key unless one is recorded; returns the
/// recorded one, which the caller compares with its own.
pub async fn claim_secret_key_fingerprint(store: &Store, fingerprint: &str) -> StoreResult<String> {
    store.kv_put_if_absent(SECRET_KEY_FINGERPRINT, fingerprint).await
}

/// The URL at which node `node` serves its runs' logs to the other nodes.
pub async fn node_url(store: &Store, node: &str) -> StoreResult<Option<String>> {
    store.kv_get(&node_url_key(node)).await
}

/// Records where node `node` can be reached.
pub async fn set_node_url(store: &Store, node: &str, url: &str) -> StoreResult<()> {
    store.kv_put(&node_url_key(node), url).await
}

/// The git poller's last failure for one repository (its normalised key).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollError {
    /// When the poll failed.
    pub at: DateTime<Utc>,
    /// Why.
    pub error: String,
}

/// The repository's last poll error, if its last poll failed.
pub async fn poll_error(store: &Store, repository: &str) -> StoreResult<Option<PollError>> {
    let stored = store.kv_get(&poll_error_key(repository)).await?;
    // Cleared errors are stored empty; an unreadable one is shown as none rather than failing a read.
    Ok(stored.filter(|s| !s.is_empty()).and_then(|s| serde_json::from_str(&s).ok()))
}

/// Records (or, with `None`, clears) the repository's last poll error.
pub async fn set_poll_error(store: &Store, repository: &str, error: Option<&PollError>) -> StoreResult<()> {
    let value = match error {
        Some(e) => serde_json::to_string(e).map_err(|e| super::StoreError::Corrupt(e.to_string()))?,
        None => String::new(),
    };
    store.kv_put(&poll_error_key(repository), &value).await
}
