//! Stores made by released code open under this code: the migrations are one tree now, and
//! what each dialect renders must be what those stores applied (sqlx compares checksums).
//! The fixtures were made by zonekeeper at commit 7cd5e20, when `migrations/sqlite/` and
//! `migrations/postgres/` were two trees (see tests/fixtures/README.md). And the store's
//! batched reads, on both backends.

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
    let url = db_url(&path.display().to_string()).unwrap();
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
    let url = db_url(&path.display().to_string()).unwrap();
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

/// 1,203 recorded zones (more than one query's worth of names) in a store at `url`; then
/// the zones read back by name in batches, with their content, missing names left out.
async fn zones_read_in_batches(url: &str) {
    use zonekeeper::store::{AuditEntry, RecordedZone};
    let store = Store::open(url).await.unwrap();
    assert_eq!(
        store.zone_index().await.unwrap(),
        Vec::new(),
        "an empty store"
    );
    let rows: Vec<(RecordedZone, AuditEntry)> = (0..1203)
        .map(|i| {
            let name = format!("z{i:04}.test.");
            let zone = RecordedZone {
                name: name.clone(),
                // a group name may hold spaces; a serial uses all 32 bits
                group: if i == 5 {
                    "two words".into()
                } else {
                    "default".into()
                },
                serial: if i == 3 { u32::MAX } else { i },
                content_hash: format!("h{i}"),
                content: format!("{name} 3600 IN TXT \"{i}\"\n"),
                verified: i % 2 == 0,
                commit_id: "c".into(),
                // not known for some (recorded before sources were), or a hash
                source: if i % 4 == 1 {
                    String::new()
                } else {
                    format!("{i:032x}")
                },
            };
            let audit = AuditEntry {
                at: 0,
                commit_id: "c".into(),
                author: "t".into(),
                action: "create".into(),
                target: name,
                detail: String::new(),
            };
            (zone, audit)
        })
        .collect();
    store.record_zones(&rows).await.unwrap();
    // the index: every zone without its content, by name
    let index = store.zone_index().await.unwrap();
    let without_content: Vec<RecordedZone> = rows
        .iter()
        .map(|(z, _)| RecordedZone {
            content: String::new(),
            ..z.clone()
        })
        .collect();
    assert_eq!(index, without_content);
    let mut asked: Vec<String> = (0..1203)
        .rev()
        .filter(|i| i % 3 != 1)
        .map(|i| format!("z{i:04}.test."))
        .collect();
    asked.push("missing.test.".into());
    let got = store.zones(&asked).await.unwrap();
    let expected: Vec<&RecordedZone> = rows
        .iter()
        .map(|(z, _)| z)
        .filter(|z| z.serial % 3 != 1)
        .collect();
    assert_eq!(got.len(), expected.len());
    assert!(got.iter().zip(&expected).all(|(g, e)| g == *e));
    // only the content, for zones whose index entry is read
    let contents = store.contents(&asked).await.unwrap();
    let expected_contents: Vec<(String, String)> = expected
        .iter()
        .map(|z| (z.name.clone(), z.content.clone()))
        .collect();
    assert_eq!(contents, expected_contents);
    assert_eq!(store.zone("missing.test.").await.unwrap(), None);
    assert_eq!(
        store.zone("z0007.test.").await.unwrap().as_ref(),
        Some(&rows[7].0)
    );
    store.close().await;
}

#[test]
fn sqlite_zones_are_read_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir.path().join("s.sqlite").display().to_string()).unwrap();
    block_on(zones_read_in_batches(&url));
}

#[test]
fn postgres_zones_are_read_in_batches() {
    let name = format!("zk_test_zones_batches_{}", std::process::id());
    pg_exec(format!("DROP DATABASE IF EXISTS {name}"));
    pg_exec(format!("CREATE DATABASE {name}"));
    let admin = pg_admin_url();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    block_on(zones_read_in_batches(&url));
    pg_exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
