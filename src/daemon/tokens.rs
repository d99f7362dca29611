//! API tokens (only their hashes are stored) and uploaded contexts, which are removed as soon as
//! nothing needs them.

use super::Service;
use super::service::{Result, ServiceError};
use crate::api::{self, ContextInfo, NewToken, TokenInfo};
use crate::store::Store;
use base64::Engine as _;
use sha2::Digest;

/// How long an upload that no task or run names is kept by default: time enough to queue the run it
/// was uploaded for.
pub const UPLOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long a token check waits for the database before it falls back on tokens it confirmed
/// lately.
const TOKEN_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a token the database confirmed still passes while the database does not answer.
const TOKEN_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// Hash under which a token is stored (the token itself is never stored).
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl Service {
    /// Removes the upload a finished run used, unless a saved task or a run still to come needs it
    /// (a run can only use an upload it names, so the last user frees it).
    pub async fn release_upload(&self, run: &crate::store::RunRow) -> Result<()> {
        let Some(context) = run.request.get("context").and_then(|c| c.as_str()) else { return Ok(()) };
        let Some(id) = context.strip_prefix("upload:") else { return Ok(()) };
        let tasks = self.store.list_tasks().await?;
        self.remove_upload_if_unused(id, &tasks).await.map(|_| ())
    }

    /// Removes the uploads older than the grace period that no saved task and no queued or running
    /// run names: never used (abandoned after `POST /v1/contexts`), used by a run canceled while
    /// queued, or left by a deleted task. Returns how many went.
    pub async fn sweep_uploads(&self) -> Result<usize> {
        // Uploads are stamped with the wall clock, not the (possibly manual) trigger clock.
        let before = chrono::Utc::now() - chrono::Duration::from_std(self.settings.upload_grace).unwrap_or_default();
        let old = self.store.contexts_older_than(before).await?;
        if old.is_empty() {
            return Ok(0);
        }
        let tasks = self.store.list_tasks().await?;
        let mut removed = 0;
        for id in old {
            removed += usize::from(self.remove_upload_if_unused(&id, &tasks).await?);
        }
        Ok(removed)
    }

    /// Removes upload `id` unless one of `tasks` or a queued or running run names it; its archive
    /// is removed only if it is on this node's disk. Whether it went.
    async fn remove_upload_if_unused(&self, id: &str, tasks: &[api::Task]) -> Result<bool> {
        let context = format!("upload:{id}");
        if tasks.iter().any(|t| t.context.as_deref() == Some(context.as_str()))
            || self.store.context_needed_by_a_run(&context).await?
        {
            return Ok(false);
        }
        let Some(path) = self.store.delete_context(id).await? else { return Ok(false) };
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(upload = %id, "removed an upload no run or task needs"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(upload = %id, error = %e, "could not remove an upload"),
        }
        Ok(true)
    }

    /// Records an uploaded context stored at `path`.
    pub async fn record_context(&self, info: &ContextInfo, path: &str) -> Result<()> {
        Ok(self.store.insert_context(info, path).await?)
    }

    /// Creates an API token; the secret is returned once.
    pub async fn create_token(&self, name: &str) -> Result<NewToken> {
        create_token(self.store.as_ref(), name).await
    }

    /// Lists tokens.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(self.store.list_tokens().await?)
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        if self.store.revoke_token(id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("token `{id}` not found")))
        }
    }

    /// Whether a bearer token is valid.
    pub async fn authenticate(&self, token: &str) -> Result<bool> {
        Ok(self.caller(token).await?.is_some())
    }

    /// Learns every unrevoked token from the database (and forgets revoked ones), for the checks
    /// the database cannot answer (see `caller`). Each node does this about once a minute.
    pub async fn refresh_known_tokens(&self) -> Result<()> {
        let valid = self.store.valid_token_hashes().await?;
        let now = std::time::Instant::now();
        let mut cache = self.tokens_seen.lock().unwrap_or_else(|e| e.into_inner());
        cache.clear();
        cache.extend(valid.into_iter().map(|(hash, name)| (hash, (name, now))));
        Ok(())
    }

    /// The name of the valid, unrevoked token `token` (recording its use), if it is one: who
    /// approvals and rejections are recorded as.
    ///
    /// The database decides, so a revocation holds at once. Only when it does not answer within
    /// [`TOKEN_CHECK_WAIT`] (this node is cut off from it) does a token it confirmed within
    /// [`TOKEN_GRACE`] (in a check, or in the node's minutely refresh) still pass: a cut-off node then goes on serving what only it has, such as
    /// the logs of its runs that another node relays to it.
    pub async fn caller(&self, token: &str) -> Result<Option<String>> {
        let hash = token_hash(token);
        let answer = tokio::time::timeout(TOKEN_CHECK_WAIT, self.store.use_token(&hash)).await;
        let seen = |hash: &str| {
            let seen = self.tokens_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.get(hash).filter(|(_, at)| at.elapsed() < TOKEN_GRACE).map(|(name, _)| name.clone())
        };
        match answer {
            Ok(Ok(found)) => {
                let mut cache = self.tokens_seen.lock().unwrap_or_else(|e| e.into_inner());
                match &found {
                    Some(t) => {
                        cache.insert(hash, (t.name.clone(), std::time::Instant::now()));
                    }
                    None => {
                        cache.remove(&hash);
                    }
                }
                Ok(found.map(|t| t.name))
            }
            Ok(Err(e)) => seen(&hash).map(Some).ok_or_else(|| e.into()),
            Err(_) => seen(&hash).map(Some).ok_or_else(|| {
                ServiceError::Internal(format!(
                    "cannot check the token: the database did not answer within {} s",
                    TOKEN_CHECK_WAIT.as_secs()
                ))
            }),
        }
    }
}

/// Creates a token in a store (used by the API and, offline, by `drydock token create --data-dir`).
pub async fn create_token(store: &Store, name: &str) -> Result<NewToken> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid("give the token a name of 1–100 characters"));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let token = format!("ddk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    let mut id_raw = [0u8; 6];
    getrandom::fill(&mut id_raw).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let info = TokenInfo {
        id: hex::encode(id_raw),
        name: name.to_string(),
        created_at: chrono::Utc::now(),
        last_used_at: None,
        revoked: false,
    };
    store.insert_token(&info, &token_hash(&token)).await?;
    Ok(NewToken { info, token })
}
