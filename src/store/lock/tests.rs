//! The lock on SQLite: exclusive, taken over only when expired, broken only by id,
//! lost visibly; a full store says so.

use super::*;
use crate::store::db_url;

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&db_url(dir.path().join("s.db").to_str().unwrap()).unwrap())
        .await
        .unwrap()
}

async fn put_row(store: &Store, id: &str, host: &str, pid: i64, expires_at: i64) {
    sqlx::query("DELETE FROM apply_lock")
        .execute(&store.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at) VALUES (1, $1, $2, $3, 0, $4)",
    )
    .bind(id)
    .bind(host)
    .bind(pid)
    .bind(expires_at)
    .execute(&store.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn lease_is_exclusive_and_taken_over_only_when_expired() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let first = store.lock().await.unwrap();
    assert_eq!(
        store.lock_state().await.unwrap(),
        LockState::Held(first.info().clone())
    );
    let err = store.lock().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { holder, .. } if holder.contains(&first.info().lock_id)),
        "{err}"
    );
    first.release().await;
    assert_eq!(store.lock_state().await.unwrap(), LockState::Free);

    // A live lease of another host is a live lease, whatever its PID.
    put_row(&store, "aaaa", "elsewhere", 1, unix_now() + 3600).await;
    assert!(matches!(store.lock().await, Err(StoreError::Locked { .. })));
    // A live lease of this host while its holder holds the kernel lock: refused too.
    put_row(&store, "abab", &this_host(), 999_999_999, unix_now() + 3600).await;
    let db_file = dir.path().join("s.db").display().to_string();
    let Kernel::Held(holder) = kernel_lock(&db_file) else {
        panic!("the lock file is free")
    };
    let held = std::fs::File::open(format!("{db_file}.applylock")).unwrap();
    assert!(held.try_lock().is_err(), "the kernel lock is exclusive");
    assert!(matches!(store.lock().await, Err(StoreError::Locked { .. })));
    // Its holder was killed (the kernel dropped its lock): taken over at once.
    drop(holder);
    let third = store.lock().await.unwrap();
    assert_eq!(third.taken_over().map(|i| i.lock_id.as_str()), Some("abab"));
    third.release().await;
    // Expired: taken over, and said so.
    put_row(&store, "bbbb", "elsewhere", 1, unix_now() - 1).await;
    let second = store.lock().await.unwrap();
    assert_eq!(
        second.taken_over().map(|i| i.lock_id.as_str()),
        Some("bbbb")
    );
    second.release().await;
}

#[tokio::test]
async fn break_lock_needs_the_right_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    put_row(&store, "cccc", "gone-host", 7, unix_now() + 3600).await;
    assert!(matches!(
        store.break_lock("dddd").await,
        Err(StoreError::NoSuchLock { .. })
    ));
    let (info, in_force) = store.break_lock("cccc").await.unwrap();
    assert_eq!((info.lock_id.as_str(), in_force), ("cccc", true));
    assert_eq!(store.lock_state().await.unwrap(), LockState::Free);
    store.lock().await.unwrap().release().await;
}

#[tokio::test]
async fn lost_lease_is_reported_to_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let lock = store
        .lock_checking_every(Duration::from_millis(1))
        .await
        .unwrap();
    store.break_lock(&lock.info().lock_id).await.unwrap();
    let why = lock.lost().await;
    assert!(why.contains(&lock.info().lock_id), "{why}");
}

#[tokio::test]
async fn full_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA max_page_count = {pages}"
    )))
    .execute(&store.pool)
    .await
    .unwrap();
    let big = "x".repeat(1 << 20);
    let err = sqlx::query("INSERT INTO audit (at, commit_id, author, action, target, detail) VALUES (0, '', '', '', '', $1)")
        .bind(&big)
        .execute(&store.pool)
        .await
        .map_err(StoreError::from)
        .unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err}");
    assert!(err.to_string().starts_with("the disk is full"), "{err}");
}

#[test]
fn times_are_utc_iso_8601() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(1_795_000_000), "2026-11-18T11:06:40Z");
}
