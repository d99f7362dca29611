//! The schema's migrations, embedded in the binary, one list per dialect.
//!
//! sqlx's own `Migrator` applies them: it records checksums in `_sqlx_migrations` (so an edited,
//! already applied migration is reported instead of silently diverging) and, on PostgreSQL, holds
//! an advisory lock so that nodes starting together do not migrate twice. The list is built with
//! `include_str!` rather than `sqlx::migrate!()` to keep sqlx's proc-macro crate (and a second
//! SQLite build for it) out of the build.

use super::Dialect;
use super::error::describe;
use crate::store::{StoreError, StoreResult};
use sqlx::AnyPool;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQLite text, PostgreSQL text). Append only; never edit an applied one.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "triggers",
        include_str!("../../../migrations/sqlite/0002_triggers.sql"),
        include_str!("../../../migrations/postgres/0002_triggers.sql"),
    ),
    (
        3,
        "approval",
        include_str!("../../../migrations/sqlite/0003_approval.sql"),
        include_str!("../../../migrations/postgres/0003_approval.sql"),
    ),
    (
        4,
        "resume",
        include_str!("../../../migrations/sqlite/0004_resume.sql"),
        include_str!("../../../migrations/postgres/0004_resume.sql"),
    ),
    (
        5,
        "outgoing",
        include_str!("../../../migrations/sqlite/0005_outgoing.sql"),
        include_str!("../../../migrations/postgres/0005_outgoing.sql"),
    ),
    (
        6,
        "cluster",
        include_str!("../../../migrations/sqlite/0006_cluster.sql"),
        include_str!("../../../migrations/postgres/0006_cluster.sql"),
    ),
];

/// Brings the database's schema up to date.
pub(super) async fn run(dialect: Dialect, pool: &AnyPool) -> StoreResult<()> {
    migrator(dialect)
        .run(pool)
        .await
        .map_err(|e| StoreError::Database(format!("cannot migrate the database: {}", migrate_error(&e))))
}

fn migrator(dialect: Dialect) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match dialect {
                Dialect::Sqlite => sqlite,
                Dialect::Postgres => postgres,
            };
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations)
}

fn migrate_error(e: &sqlx::migrate::MigrateError) -> String {
    match e {
        sqlx::migrate::MigrateError::Execute(inner) => describe(inner),
        sqlx::migrate::MigrateError::ExecuteMigration(inner, version) => {
            format!("migration {version}: {}", describe(inner))
        }
        sqlx::migrate::MigrateError::VersionMissing(version) => {
            format!("it was migrated by a newer drydock (migration {version}); run that version or newer")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_every_migration_in_order() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        let mut sorted = versions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(versions, sorted);
        for (_, name, sqlite, postgres) in MIGRATIONS {
            assert!(!sqlite.trim().is_empty() && !postgres.trim().is_empty(), "{name}");
        }
    }
}
