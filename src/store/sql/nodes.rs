//! The node list: each node's report of itself, the drain requests that reach it through the
//! database, and the leases it holds.

use super::Store;
use super::codec::{col, from_json, json, opt_time, time};
use super::error::db;
use super::queue::db_now;
use crate::api::{NodeInfo, NodeState};
use crate::store::{NodeReport, StoreResult};
use std::collections::HashMap;
use std::time::Duration;

/// Writes the node's report. `starting` marks a new life of the node: its start time is reset
/// and any drain asked of its previous life is forgotten. Returns whether a drain is asked now.
pub(super) async fn report(store: &Store, node: &NodeReport, starting: bool) -> StoreResult<bool> {
    let now = db_now(store.dialect);
    let restart = if starting { ", started_ms = excluded.started_ms, drain_requested = 0" } else { "" };
    let sql = format!(
        "INSERT INTO nodes (id, url, version, labels, slots, busy, roles, state, drain_requested, started_ms, seen_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, {now}, {now}) ON CONFLICT (id) DO UPDATE SET url = excluded.url, \
         version = excluded.version, labels = excluded.labels, slots = excluded.slots, busy = excluded.busy, \
         roles = excluded.roles, state = excluded.state, seen_ms = excluded.seen_ms{restart} RETURNING drain_requested"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&node.id)
        .bind(&node.url)
        .bind(&node.version)
        .bind(json("labels", &node.labels)?)
        .bind(i64::from(node.slots))
        .bind(i64::from(node.busy))
        .bind(json("roles", &node.roles)?)
        .bind(node.state.as_str())
        .fetch_one(&store.writer)
        .await
        .map_err(db("report the node"))?;
    Ok(col::<i64>(&row, "drain_requested")? != 0)
}

/// Forgets the nodes silent for longer than `older_than` (by the database's clock) that hold no
/// run, so that the node list of a cluster that has seen many short-lived nodes (autoscaled ones,
/// say) stays the nodes that matter. Returns how many went.
pub(super) async fn prune(store: &Store, older_than: Duration) -> StoreResult<u64> {
    let sql = format!(
        "DELETE FROM nodes WHERE seen_ms < {} - $1 AND id NOT IN (SELECT node FROM runs \
         WHERE status IN ('Running', 'AwaitingApproval') AND node IS NOT NULL)",
        db_now(store.dialect)
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX))
        .execute(&store.writer)
        .await
        .map_err(db("forget old nodes"))?;
    Ok(done.rows_affected())
}

/// Asks node `id` to drain; false if no such node ever reported.
pub(super) async fn request_drain(store: &Store, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE nodes SET drain_requested = 1 WHERE id = $1")
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(db("ask the node to drain"))?;
    Ok(done.rows_affected() == 1)
}

/// Every node that reported, by id, with the leases it holds; one silent for longer than
/// `lost_after` (by the database's clock) is Lost unless it left.
pub(super) async fn list(store: &Store, lost_after: Duration) -> StoreResult<Vec<NodeInfo>> {
    let sql = format!(
        "SELECT id, url, version, labels, slots, busy, roles, state, started_ms, seen_ms, {} AS now_ms \
         FROM nodes ORDER BY id",
        db_now(store.dialect)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&store.reader).await.map_err(db("list the nodes"))?;
    let leases = sqlx::query(
        "SELECT node, COUNT(*) AS runs, MAX(lease_until_ms) AS lease_until_ms FROM runs \
         WHERE status IN ('Running', 'AwaitingApproval') AND node IS NOT NULL GROUP BY node",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(db("list the nodes' leases"))?;
    let mut held: HashMap<String, (i64, Option<i64>)> = HashMap::new();
    for row in &leases {
        held.insert(col(row, "node")?, (col(row, "runs")?, col(row, "lease_until_ms")?));
    }
    let lost_after = i64::try_from(lost_after.as_millis()).unwrap_or(i64::MAX);
    rows.iter()
        .map(|row| {
            let id: String = col(row, "id")?;
            let what = |field: &str| format!("node {id}: {field}");
            let seen: i64 = col(row, "seen_ms")?;
            let state = match col::<String>(row, "state")?.as_str() {
                "left" => NodeState::Left,
                _ if col::<i64>(row, "now_ms")? - seen > lost_after => NodeState::Lost,
                "draining" => NodeState::Draining,
                _ => NodeState::Active,
            };
            let (runs, lease_until) = held.get(&id).copied().unwrap_or((0, None));
            Ok(NodeInfo {
                url: col(row, "url")?,
                version: col(row, "version")?,
                labels: from_json(&what("labels"), &col::<String>(row, "labels")?)?,
                slots: u32::try_from(col::<i64>(row, "slots")?).unwrap_or(0),
                busy: u32::try_from(col::<i64>(row, "busy")?).unwrap_or(0),
                runs: u32::try_from(runs).unwrap_or(0),
                lease_until: opt_time(&what("lease"), lease_until)?,
                roles: from_json(&what("roles"), &col::<String>(row, "roles")?)?,
                state,
                started_at: time(&what("start time"), col(row, "started_ms")?)?,
                seen_at: time(&what("report time"), seen)?,
                id,
            })
        })
        .collect()
}
