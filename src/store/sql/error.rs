//! sqlx errors as `StoreError`s that people can read and that never leak a bound value.

use crate::store::StoreError;

/// Maps an sqlx error from `doing` (e.g. "claim a run") to `StoreError::Database`.
///
/// Bound values can be secrets (token hashes, encrypted requests), so the message is built from
/// what the database says about the statement, never from the arguments; a decode error keeps
/// the column name only, since sqlx's own text for it quotes the value.
pub(super) fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::Database(format!("cannot {doing}: {}", describe(&e)))
}

/// Whether `e` is a unique-constraint violation (a name or key taken), for `Conflict`.
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// What went wrong, in words that hold no bound value.
pub(super) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} (code {code})", d.message()),
            None => d.message().to_string(),
        },
        sqlx::Error::ColumnDecode { index, .. } => format!("column {index} holds a value of an unexpected type"),
        sqlx::Error::Decode(_) => "a stored value has an unexpected type".into(),
        sqlx::Error::Encode(_) => "a value could not be encoded for the database".into(),
        sqlx::Error::PoolTimedOut => "no database connection became free in time (pool exhausted?)".into(),
        sqlx::Error::PoolClosed => "the store is closed".into(),
        other => other.to_string(),
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub(super) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://u:s3cret@db:5432/drydock"), "postgres://u:***@db:5432/drydock");
        assert_eq!(redact_url("postgres://u@db/drydock"), "postgres://u@db/drydock");
        assert_eq!(redact_url("sqlite:///var/lib/d.db"), "sqlite:///var/lib/d.db");
    }
}
