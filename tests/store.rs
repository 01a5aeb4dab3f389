//! Stores made by released code open under this code: the migrations are one tree now, and
//! what each dialect renders must be what those stores applied (sqlx compares checksums).
//! The fixtures were made by zonekeeper at commit 7cd5e20, when `migrations/sqlite/` and
//! `migrations/postgres/` were two trees (see tests/fixtures/README.md).

use sqlx::Connection;
use zonekeeper::store::{Store, StoreError, db_url};

use crate::support::{block_on, pg_admin_url, pg_exec};

/// The SQLite store made by the old binary.
const SQLITE_7CD5E20: &[u8] = include_bytes!("fixtures/store-7cd5e20.sqlite");
/// The PostgreSQL store made by the old binary, as `pg_dump` wrote it.
const POSTGRES_7CD5E20: &str = include_str!("fixtures/store-7cd5e20.postgres.sql");

/// The migrations `_sqlx_migrations` of `url` says were applied with success.
async fn applied(url: &str) -> Vec<i64> {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut c)
        .await
        .unwrap()
}

#[test]
fn sqlite_store_of_7cd5e20_opens_and_migrates() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    std::fs::write(&path, SQLITE_7CD5E20).unwrap();
    let url = db_url(Some(&path.display().to_string()));
    block_on(async {
        let before = applied(&url).await;
        assert_eq!(
            before.len(),
            6,
            "the fixture has every migration of 7cd5e20"
        );
        let store = Store::open(&url).await.expect("a store of 7cd5e20 opens");
        store.dump_text().await.unwrap();
        store.close().await;
        let after = applied(&url).await;
        assert!(after.starts_with(&before), "{after:?}");
    });
}

#[test]
fn sqlite_store_with_another_checksum_is_refused() {
    // The control: the open above proves something only because sqlx does compare.
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.sqlite");
    std::fs::write(&path, SQLITE_7CD5E20).unwrap();
    let url = db_url(Some(&path.display().to_string()));
    block_on(async {
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        match Store::open(&url).await {
            Err(StoreError::Migrate(_)) => {}
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("a store whose applied migration changed was opened"),
        }
    });
}

#[test]
fn postgres_store_of_7cd5e20_opens_and_migrates() {
    sqlx::any::install_default_drivers();
    let name = format!("zk_test_old_store_{}", std::process::id());
    pg_exec(format!("DROP DATABASE IF EXISTS {name}"));
    pg_exec(format!("CREATE DATABASE {name}"));
    let admin = pg_admin_url();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dump: String = POSTGRES_7CD5E20
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .map(|l| format!("{l}\n"))
        .collect();
    block_on(async {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let before = applied(&url).await;
        assert_eq!(
            before.len(),
            6,
            "the fixture has every migration of 7cd5e20"
        );
        let store = Store::open(&url).await.expect("a store of 7cd5e20 opens");
        store.dump_text().await.unwrap();
        store.close().await;
        let after = applied(&url).await;
        assert!(after.starts_with(&before), "{after:?}");
    });
    pg_exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
