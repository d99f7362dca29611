//! Opening the pools: an SQLite file tuned for one writer, or a PostgreSQL pool.

use super::error::{describe, redact_url};
use super::{Dialect, Store};
use crate::store::{StoreError, StoreResult};
use sqlx::AnyConnection;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// How long an SQLite statement waits for another process's write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// Readers on SQLite: WAL lets them run beside the writer, so a few serve concurrent API calls.
const SQLITE_READERS: u32 = 4;
/// Connections per node to PostgreSQL: API handlers, workers' heartbeats and claims.
const POSTGRES_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before the store reports the pool exhausted.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// On PostgreSQL, across a network: how long a caller waits for a connection, opening one
/// included (sqlx has no separate connect timeout). Shorter than a lease, so that a node cut off
/// from the database learns it while it can still stop its runs in time.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection given back to the pool may take to answer a ping. A query dropped
/// half-way (a caller's timeout) leaves the connection unusable; over a cut network the ping
/// would hang for as long as TCP retransmits (minutes: sqlx sets no keepalive), holding a pool
/// slot all that time.
const RELEASE_PING: Duration = Duration::from_secs(3);
/// Server-side limits on every pooled PostgreSQL session: a statement that runs away, a lock
/// waited for too long, and, above all, a transaction whose node was cut off mid-way, whose row
/// locks would otherwise block the reaper and every other node until TCP gave up.
const POSTGRES_SESSION: &[&str] =
    &["SET statement_timeout = '30s'", "SET lock_timeout = '10s'", "SET idle_in_transaction_session_timeout = '15s'"];

/// Connects to `url` without migrating.
pub(super) async fn open(url: &str) -> StoreResult<Store> {
    sqlx::any::install_default_drivers();
    let dialect = Dialect::of_url(url)?;
    let opening = |e: sqlx::Error| StoreError::Database(format!("cannot open {}: {}", redact_url(url), describe(&e)));
    match dialect {
        Dialect::Sqlite => {
            let url = with_create_mode(url);
            let writer = sqlite_pool(1).connect(&url).await.map_err(opening)?;
            // WAL is a property of the file: set once, it lets readers run while a write is under way.
            writer.execute("PRAGMA journal_mode = WAL").await.map_err(opening)?;
            let reader = sqlite_pool(SQLITE_READERS).connect(&url).await.map_err(opening)?;
            Ok(Store { dialect, writer, reader, url: url.to_string() })
        }
        Dialect::Postgres => {
            let pool = AnyPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .after_connect(|conn, _| Box::pin(postgres_session(conn)))
                .after_release(|conn, _| Box::pin(answers_in_time(conn)))
                .connect(url)
                .await
                .map_err(opening)?;
            Ok(Store { dialect, writer: pool.clone(), reader: pool, url: url.to_string() })
        }
    }
}

/// `mode=rwc` unless the URL chose a mode: the daemon creates its database on first start.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn sqlite_pool(size: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| Box::pin(sqlite_session(conn)))
}

/// Per-connection settings (the `Any` driver takes only the URL, so they are set as pragmas).
async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))).await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits only.
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    // Overwritten rows are zeroed, so a secret replaced or deleted is not left in free pages.
    conn.execute("PRAGMA secure_delete = ON").await?;
    Ok(())
}

async fn postgres_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for set in POSTGRES_SESSION {
        conn.execute(*set).await?;
    }
    Ok(())
}

/// Whether a connection given back answers a ping within [`RELEASE_PING`]; an error has the pool
/// drop it without a goodbye (which would hang on a cut network too).
async fn answers_in_time(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    match tokio::time::timeout(RELEASE_PING, conn.ping()).await {
        Ok(answer) => answer.map(|()| true),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_created_unless_a_mode_is_given() {
        assert_eq!(with_create_mode("sqlite:///d/x.db"), "sqlite:///d/x.db?mode=rwc");
        assert_eq!(with_create_mode("sqlite:///d/x.db?cache=private"), "sqlite:///d/x.db?cache=private&mode=rwc");
        assert_eq!(with_create_mode("sqlite:///d/x.db?mode=ro"), "sqlite:///d/x.db?mode=ro");
    }
}
