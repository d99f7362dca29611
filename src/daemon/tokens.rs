//! API tokens (only their hashes are stored) and uploaded contexts, which are removed as soon as
//! nothing needs them.

use super::Service;
use super::service::{Result, ServiceError};
use crate::api::{ContextInfo, NewToken, TokenInfo};
use crate::store::Store;
use base64::Engine as _;
use sha2::Digest;

/// Hash under which a token is stored (the token itself is never stored).
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl Service {
    /// Removes the upload a finished run used, unless a saved task or a run still to come needs it
    /// (a run can only use an upload it names, so the last user frees it). Its archive is removed
    /// only if it is on this node's disk.
    pub async fn release_upload(&self, run: &crate::store::RunRow) -> Result<()> {
        let Some(context) = run.request.get("context").and_then(|c| c.as_str()) else { return Ok(()) };
        let Some(id) = context.strip_prefix("upload:") else { return Ok(()) };
        if self.store.list_tasks().await?.iter().any(|t| t.context.as_deref() == Some(context))
            || self.store.context_needed_by_a_run(context).await?
        {
            return Ok(());
        }
        if let Some(path) = self.store.delete_context(id).await? {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(upload = %id, run = %run.id, "removed an upload no run or task needs"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(upload = %id, error = %e, "could not remove an upload"),
            }
        }
        Ok(())
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
        Ok(self.store.use_token(&token_hash(token)).await?.is_some())
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
