//! What several nodes on one PostgreSQL database need beyond rows: a wake-up when any node
//! queues a run (LISTEN/NOTIFY), and one node chosen for a role (session advisory locks).
//!
//! Both use a connection of their own, outside the pools: a LISTEN and a session lock belong to
//! one connection for as long as it lives, and a pooled connection would be handed to others.

use super::error::db;
use super::{Dialect, Store};
use crate::store::{Leadership, StoreResult};
use sqlx::{Any, Connection, Transaction};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The channel queued runs are announced on.
const QUEUE_CHANNEL: &str = "drydock_queue";
/// How often a leader checks that its lock's connection is alive.
const LEADER_PING: Duration = Duration::from_secs(2);
/// How long that check, or opening the lock's connection, may take. A leader that cannot prove
/// its lock within it gives up its roles: it may be cut off, and another node may lead soon.
const LEADER_PROOF: Duration = Duration::from_secs(2);
/// The server ends a lock session that sent nothing for this long (`idle_session_timeout`,
/// PostgreSQL 14 and later). A leader cut off by a blackhole leaves the server's end of its
/// connection looking healthy for as long as TCP keepalive allows (two hours by default), and
/// the session's advisory lock with it; ending idle sessions frees the role for another node
/// within seconds. A live leader pings every [`LEADER_PING`], so it is never idle that long.
const LEADER_SESSION_IDLE: &str = "6s";
/// How long a lost listener waits before connecting again.
const RECONNECT: Duration = Duration::from_secs(1);

/// Announces a queued run to every node's listener; delivered when `tx` commits.
pub(super) async fn notify_queued(store: &Store, tx: &mut Transaction<'static, Any>) -> StoreResult<()> {
    if store.dialect == Dialect::Postgres {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_notify('{QUEUE_CHANNEL}', '')")))
            .execute(&mut **tx)
            .await
            .map_err(db("announce the queued run"))?;
    }
    Ok(())
}

/// Wakes `wake` on every announcement until `stop`. On SQLite (one node) it returns at once:
/// the in-process wake-up already covers it.
pub(super) async fn listen_queue(store: &Store, wake: Arc<Notify>, stop: CancellationToken) {
    if store.dialect != Dialect::Postgres {
        return;
    }
    while !stop.is_cancelled() {
        let mut listener = match sqlx::postgres::PgListener::connect(&store.url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for queued runs; idle workers poll meanwhile");
                tokio::select! { _ = stop.cancelled() => return, _ = tokio::time::sleep(RECONNECT) => continue }
            }
        };
        if let Err(e) = listener.listen(QUEUE_CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; idle workers poll meanwhile");
            tokio::select! { _ = stop.cancelled() => return, _ = tokio::time::sleep(RECONNECT) => continue }
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                n = listener.recv() => match n {
                    Ok(_) => wake.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(error = %e, "the queue listener lost its connection; reconnecting");
                        // Runs queued while we were away are found by the workers' polling.
                        wake.notify_waiters();
                        break;
                    }
                },
            }
        }
    }
}

/// Tries to take the lock of `role`. On PostgreSQL the lock is a session advisory lock held by a
/// connection that a background task keeps alive; if that connection dies, the database releases
/// the lock (another node can take it) and the leadership reports itself lost. On SQLite, a
/// single-node database, the caller always leads.
pub(super) async fn try_lead(store: &Store, role: &str) -> StoreResult<Option<Leadership>> {
    if store.dialect != Dialect::Postgres {
        return Ok(Some(Leadership::new(CancellationToken::new(), CancellationToken::new())));
    }
    let opening = tokio::time::timeout(LEADER_PROOF, sqlx::AnyConnection::connect(&store.url));
    let mut conn = match opening.await {
        Ok(conn) => conn.map_err(db("connect for a leader lock"))?,
        Err(_) => return Ok(None),
    };
    let idle = format!("SET idle_session_timeout = '{LEADER_SESSION_IDLE}'");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(idle)).execute(&mut conn).await {
        tracing::warn!(error = %e, "cannot limit the leader lock session's idle time (PostgreSQL before 14?); \
             a leader cut off by the network keeps its roles until TCP gives up");
    }
    let taking = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(role_key(role)).fetch_one(&mut conn);
    let got: bool = match tokio::time::timeout(LEADER_PROOF, taking).await {
        Ok(got) => got.map_err(db("take a leader lock"))?,
        Err(_) => return Ok(None),
    };
    if !got {
        let _ = conn.close().await;
        return Ok(None);
    }
    let (lost, release) = (CancellationToken::new(), CancellationToken::new());
    let (lost2, release2) = (lost.clone(), release.clone());
    let role = role.to_string();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = release2.cancelled() => {
                    // Closing the session releases its advisory locks.
                    let _ = conn.close().await;
                    return;
                }
                _ = tokio::time::sleep(LEADER_PING) => {
                    let why = match tokio::time::timeout(LEADER_PROOF, sqlx::query("SELECT 1").execute(&mut conn)).await {
                        Ok(Ok(_)) => continue,
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => format!("no answer within {} s", LEADER_PROOF.as_secs()),
                    };
                    tracing::warn!(%role, error = %why, "cannot prove the leader lock; giving up the role");
                    lost2.cancel();
                    // Dropped without a goodbye: on a cut network that would hang too. The
                    // server ends the session (and frees the lock) once it has been idle.
                    drop(conn);
                    return;
                }
            }
        }
    });
    Ok(Some(Leadership::new(lost, release)))
}

/// A stable 64-bit key for a role name (FNV-1a), in a space drydock owns by its prefix.
fn role_key(role: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "drydock:".bytes().chain(role.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}
