//! Opening the store: `--db` to a URL, the URL without its password for messages,
//! [`Store::open`] (connect, create the SQLite file's directory, migrate), and the list of
//! migrations of each dialect.
//!
//! The migrations under `migrations/` are applied by number; stores in the field have
//! applied them, so a migration's file is never edited once released: a change is a new
//! file with the next number.

use sqlx::SqlSafeStr;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Store, StoreError, unwritable};

/// The default store when neither `--db` nor `ZONEKEEPER_DB` says otherwise.
pub const DEFAULT_DB: &str = "state/zonekeeper.sqlite";

/// Turns `--db` into a URL: a bare path is an SQLite file.
pub fn db_url(db: Option<&str>) -> String {
    let db = db.unwrap_or(DEFAULT_DB);
    if db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with("sqlite:")
    {
        db.to_string()
    } else {
        format!("sqlite://{db}?mode=rwc")
    }
}

fn redact(url: &str) -> String {
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

/// The migrations of `backend`: (number, name, SQL). Numbers are the files' own, so a
/// number taken by another change stays free until its file arrives.
fn migrations(backend: Backend) -> Vec<(i64, &'static str, &'static str)> {
    match backend {
        Backend::Sqlite => vec![
            (
                1,
                "init",
                include_str!("../../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "operations",
                include_str!("../../migrations/sqlite/0002_operations.sql"),
            ),
            (
                3,
                "primary",
                include_str!("../../migrations/sqlite/0003_primary.sql"),
            ),
            (
                4,
                "zone_intents",
                include_str!("../../migrations/sqlite/0004_zone_intents.sql"),
            ),
            (
                5,
                "operations timing",
                include_str!("../../migrations/sqlite/0005_operations_timing.sql"),
            ),
            (
                6,
                "lock",
                include_str!("../../migrations/sqlite/0006_lock.sql"),
            ),
        ],
        Backend::Postgres => vec![
            (
                1,
                "init",
                include_str!("../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "operations",
                include_str!("../../migrations/postgres/0002_operations.sql"),
            ),
            (
                3,
                "primary",
                include_str!("../../migrations/postgres/0003_primary.sql"),
            ),
            (
                4,
                "zone_intents",
                include_str!("../../migrations/postgres/0004_zone_intents.sql"),
            ),
            (
                5,
                "operations timing",
                include_str!("../../migrations/postgres/0005_operations_timing.sql"),
            ),
            (
                6,
                "lock",
                include_str!("../../migrations/postgres/0006_lock.sql"),
            ),
        ],
    }
}

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        migrations(backend)
            .into_iter()
            .map(|(number, name, sql)| {
                Migration::new(
                    number,
                    name.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens (and creates or migrates) the store at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Sqlite
            && let Some(path) = url
                .strip_prefix("sqlite://")
                .map(|p| p.split('?').next().unwrap_or(p))
            && let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            let _ = std::fs::create_dir_all(dir);
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { 4 })
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(url),
                source,
            })?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA busy_timeout = 10000")
                .execute(&pool)
                .await?;
        }
        migrator(backend).run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _)
                if unwritable(&e).is_some() =>
            {
                StoreError::from(e)
            }
            other => StoreError::Migrate(other),
        })?;
        Ok(Store { pool, backend })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(db_url(None), "sqlite://state/zonekeeper.sqlite?mode=rwc");
        assert_eq!(db_url(Some("/tmp/x.db")), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(db_url(Some("postgres://u@h/db")), "postgres://u@h/db");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
