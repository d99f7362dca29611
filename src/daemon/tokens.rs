//! API tokens (only their hashes are stored) and uploaded contexts.

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
