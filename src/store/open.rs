//! Opening the store: the URL without its password for messages, [`Store::open`]
//! (connect, migrate), and the migrations. Where the store is (`--db`, the default) is
//! `location.rs`'s.
//!
//! The migrations are one tree, `migrations/NNNN_name.sql`, listed in `MIGRATIONS` and
//! applied by number. A file is a template for both dialects: the few places where SQLite
//! and PostgreSQL differ are `{{placeholders}}`, and `PLACEHOLDERS` (the one place the
//! dialect difference lives) says what each becomes in each dialect; `render` fills them
//! in. Stores in the field have applied these migrations and sqlx refuses to open a store
//! whose applied migration's checksum changed, so a released file is never edited, nor is
//! a placeholder's rendering (the test `rendered_migrations_are_what_stores_applied` pins
//! the checksums). A change is a new file with the next number, added to `MIGRATIONS`,
//! using the placeholders (or a new one) where the dialects differ.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::connect::Target;
use super::{Backend, Store, StoreError, unwritable};

/// `url` without its password.
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The migrations, in one tree for both dialects: (number, name, SQL template). Numbers
/// are the files' own, so a number taken by another change stays free until its file
/// arrives. A template is rendered for a dialect by [`render`].
const MIGRATIONS: [(i64, &str, &str); 11] = [
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "operations",
        include_str!("../../migrations/0002_operations.sql"),
    ),
    (
        3,
        "primary",
        include_str!("../../migrations/0003_primary.sql"),
    ),
    (
        4,
        "zone_intents",
        include_str!("../../migrations/0004_zone_intents.sql"),
    ),
    (
        5,
        "operations timing",
        include_str!("../../migrations/0005_operations_timing.sql"),
    ),
    (6, "lock", include_str!("../../migrations/0006_lock.sql")),
    (
        7,
        "zone index",
        include_str!("../../migrations/0007_zone_index.sql"),
    ),
    (
        8,
        "zone source",
        include_str!("../../migrations/0008_zone_source.sql"),
    ),
    (
        9,
        "health",
        include_str!("../../migrations/0009_health.sql"),
    ),
    (10, "drift", include_str!("../../migrations/0010_drift.sql")),
    (
        11,
        "serial floor",
        include_str!("../../migrations/0011_serial_floor.sql"),
    ),
];

/// The dialect differences, all of them: each placeholder of a migration template and
/// what it becomes on SQLite and on PostgreSQL.
const PLACEHOLDERS: [(&str, &str, &str); 2] = [
    // The dialect's name, in the opening comment of 0001.
    ("{{dialect}}", "SQLite", "PostgreSQL"),
    // A table's own 64-bit id, assigned by the database.
    (
        "{{identity}}",
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    ),
];

/// The SQL of migration `template` for `backend`: every placeholder replaced.
fn render(template: &str, backend: Backend) -> String {
    PLACEHOLDERS.iter().fold(
        template.to_string(),
        |sql, (placeholder, sqlite, postgres)| {
            let value = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            sql.replace(placeholder, value)
        },
    )
}

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(number, name, template)| {
                Migration::new(
                    *number,
                    (*name).into(),
                    MigrationType::Simple,
                    AssertSqlSafe(render(template, backend)).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens (and migrates) the store at `url`; an SQLite file is created only when the
    /// URL says so (`mode=rwc`), in a directory that exists ([`super::Location`]). A store
    /// that cannot be reached or opened says why in the operator's words
    /// ([`super::ConnectError`]); PostgreSQL within [`super::CONNECT_TIMEOUT`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::of(url)?;
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Postgres {
            super::connect::reach_postgres(url, &target).await?;
        }
        let failed = |e: sqlx::Error| match target.explain(&e) {
            Some(why) => StoreError::Connect(why),
            None => StoreError::Open {
                url: redact(url),
                reason: e.to_string(),
            },
        };
        // SQLite: one connection, to a local file that cannot drop it, so it is not
        // pinged before each use (a round trip to its worker thread per query).
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 4 })
            .test_before_acquire(!sqlite)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(failed)?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA busy_timeout = 10000")
                .execute(&pool)
                .await
                .map_err(failed)?;
        }
        let migrator = migrator(backend);
        let first = pending(&pool, &migrator).await.map_err(failed)?;
        if let Some(first) = first {
            let migrated = migrator.run(&pool).await.map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => {
                    match (unwritable(&e), target.explain(&e)) {
                        (Some(super::Unwritable::ReadOnly), _) => StoreError::Outdated {
                            first,
                            this: String::new(),
                            owner: String::new(),
                        },
                        (_, Some(why)) => StoreError::Connect(why),
                        _ => StoreError::from(e),
                    }
                }
                other => StoreError::Migrate(other),
            });
            if let Err(StoreError::Outdated { first, .. }) = &migrated {
                return Err(outdated(&pool, backend, *first).await);
            }
            migrated?;
        }
        Ok(Store { pool, backend })
    }
}

/// How long a command waits for one of the pool's connections (PostgreSQL: a new one is
/// made when none is free) before it says the store is unreachable.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The refusal of a store whose schema is older than this release, to a connection that
/// may not change it: who may not, and who may (PostgreSQL: the owner of its tables).
async fn outdated(pool: &sqlx::AnyPool, backend: Backend, first: i64) -> StoreError {
    let (this, owner) = match backend {
        Backend::Sqlite => (
            "this connection".to_string(),
            " (or on a writable file)".to_string(),
        ),
        Backend::Postgres => {
            let who: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT CAST(current_user AS TEXT), \
                 (SELECT CAST(tableowner AS TEXT) FROM pg_tables \
                  WHERE tablename = '_sqlx_migrations' LIMIT 1)",
            )
            .fetch_one(pool)
            .await
            .ok();
            match who {
                Some((me, Some(owner))) => (
                    format!("role `{me}`"),
                    format!(" (`{owner}`, the owner of its tables)"),
                ),
                Some((me, None)) => (format!("role `{me}`"), String::new()),
                None => ("this role".to_string(), String::new()),
            }
        }
    };
    StoreError::Outdated { first, this, owner }
}

/// The first migration the store has not applied (with the checksum of this release's
/// SQL), if any. A store that has them all is opened without a write, so a read-only role
/// (a CI job's) can plan; a store without the migrations table (new, or a role that may
/// not read it) counts as pending. `Err` only when the store cannot be read at all (not a
/// database, locked).
async fn pending(pool: &sqlx::AnyPool, migrator: &Migrator) -> Result<Option<i64>, sqlx::Error> {
    let applied: Vec<(i64, Vec<u8>)> =
        match sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            Err(e) if matches!(&e, sqlx::Error::Database(_)) && !unreadable(&e) => Vec::new(),
            Err(e) => return Err(e),
        };
    Ok(migrator
        .iter()
        .find(|m| {
            !applied
                .iter()
                .any(|(v, c)| *v == m.version && c[..] == m.checksum[..])
        })
        .map(|m| m.version))
}

/// Whether SQLite says the file cannot be read as a database at all: busy or locked (5,
/// 6), cannot open (14), not a database (26).
fn unreadable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .and_then(|_| db.code()?.parse::<i64>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 14 | 26)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    /// The SHA-384 checksums (what sqlx records and compares) of the SQL each migration
    /// gave sqlx on release, per dialect, computed from the two trees
    /// `migrations/sqlite/` and `migrations/postgres/` of commit 7cd5e20 before they became
    /// one. Stores in the field have these checksums in `_sqlx_migrations`, and sqlx
    /// refuses to open a store whose applied migration's SQL changed by one byte: these
    /// constants must NEVER change. A failure here means a released migration or a
    /// placeholder's rendering was edited; undo that and add a new migration instead.
    const RELEASED: [(Backend, i64, &str); 16] = [
        (
            Backend::Sqlite,
            1,
            "91a0bfa162500dc66a966d04d100468a59eccf1e8f6535083a83981d9f62d0a26ffde7b167942342d801b9d121b930b9",
        ),
        (
            Backend::Sqlite,
            2,
            "3a765583e6cd4b30125952363ae4e0209da9305b5cd4126af5a39839afc3d8226f968362c2de675031995776fcd87d71",
        ),
        (
            Backend::Sqlite,
            3,
            "77c3d0e07986b7e9e1be9e7c4d3c2b7de5f6bffab9ca8ff9400313868f07f5e26b5129d119ebea9a4dec924aa823f077",
        ),
        (
            Backend::Sqlite,
            4,
            "0db5c75bf0b199daf65bb06d89f0f53c3ba39850a7822813bb82631739a7ad0199f44405d145f35d103f1a7429853602",
        ),
        (
            Backend::Sqlite,
            5,
            "63a29bf683a50de56cd31df07ad234425aa12b5fe071662fcf4f0a48d8cbf8265602656ab146348e550b9227f9591fca",
        ),
        (
            Backend::Sqlite,
            6,
            "22fc52405414bbf24d8fd66f3710c9767a09d2d31e5a6d46d2f685369c3e6516cb372377a281ad2db417b3b4ef0c63f7",
        ),
        (
            Backend::Sqlite,
            7,
            "a9fb50979f5f84c66c5a52e7727bdbbf512fee920326b14c4e64ca4a87ff3e3c300e1e30f50cb43b02343ecc2ffc1993",
        ),
        (
            Backend::Sqlite,
            8,
            "852c48a2d281dbf803b6aeec9b8a0109af5735848db53454bb5f46787843c3d7b508dfc488398567f571ed736f3698f6",
        ),
        (
            Backend::Postgres,
            1,
            "2f9a7619f363c60e9d94f910bdd95a7b8de4a68d305ff8ced2ad95c13420882ce27f18861c757c23d8e344095d915332",
        ),
        (
            Backend::Postgres,
            2,
            "dd276f6514ad48ffd70c1726d78b3dcc027de3db8c44b9ff0a2bb9748b2e046c61a9de117aada605f5bffd759d3038c3",
        ),
        (
            Backend::Postgres,
            3,
            "77c3d0e07986b7e9e1be9e7c4d3c2b7de5f6bffab9ca8ff9400313868f07f5e26b5129d119ebea9a4dec924aa823f077",
        ),
        (
            Backend::Postgres,
            4,
            "0db5c75bf0b199daf65bb06d89f0f53c3ba39850a7822813bb82631739a7ad0199f44405d145f35d103f1a7429853602",
        ),
        (
            Backend::Postgres,
            5,
            "63a29bf683a50de56cd31df07ad234425aa12b5fe071662fcf4f0a48d8cbf8265602656ab146348e550b9227f9591fca",
        ),
        (
            Backend::Postgres,
            6,
            "22fc52405414bbf24d8fd66f3710c9767a09d2d31e5a6d46d2f685369c3e6516cb372377a281ad2db417b3b4ef0c63f7",
        ),
        (
            Backend::Postgres,
            7,
            "a9fb50979f5f84c66c5a52e7727bdbbf512fee920326b14c4e64ca4a87ff3e3c300e1e30f50cb43b02343ecc2ffc1993",
        ),
        (
            Backend::Postgres,
            8,
            "852c48a2d281dbf803b6aeec9b8a0109af5735848db53454bb5f46787843c3d7b508dfc488398567f571ed736f3698f6",
        ),
    ];

    use crate::model::hex;

    #[test]
    fn rendered_migrations_are_what_stores_applied() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let migrator = migrator(backend);
            let released: Vec<_> = RELEASED.iter().filter(|r| r.0 == backend).collect();
            // Every released migration is still there, at its number, with its checksum;
            // newer ones may follow.
            assert!(migrator.migrations.len() >= released.len());
            for ((_, number, checksum), m) in released.iter().zip(migrator.migrations.iter()) {
                assert_eq!(m.version, *number, "{backend:?}");
                assert_eq!(
                    hex(&m.checksum),
                    *checksum,
                    "{backend:?} migration {number} is not what stores applied"
                );
            }
        }
    }

    #[test]
    fn every_placeholder_is_rendered() {
        for (number, _, template) in MIGRATIONS {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let sql = render(template, backend);
                assert!(!sql.contains("{{"), "{backend:?} migration {number}: {sql}");
            }
        }
        // The dialects do differ where a placeholder stands.
        assert_ne!(
            render(MIGRATIONS[0].2, Backend::Sqlite),
            render(MIGRATIONS[0].2, Backend::Postgres)
        );
    }
}
