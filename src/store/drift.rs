//! Drift as found by the content checks (`crate::drift`): one row per zone the primary
//! serves other than recorded ([`DriftRow`]), and the cursor of the content pass, so that
//! passes of a few zones each cover every zone in turn. A check replaces a zone's row or
//! removes it; recording a zone (which is verified by transfer first) removes it too.

use sqlx::Row;

use super::{Store, StoreError};

/// A zone that drifts, as last checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftRow {
    /// Zone name, lower case with the trailing dot.
    pub name: String,
    /// When the check found it (Unix seconds).
    pub detected_at: i64,
    /// The serial the primary served (None: it served no SOA).
    pub served_serial: Option<u32>,
    /// The serial recorded.
    pub recorded_serial: u32,
    /// The served content's hash, serial and order of lines aside (`drift::content_key`).
    pub served_hash: String,
    /// The difference: one JSON object per line, an RRset each (`drift::compare`).
    pub changes: String,
}

/// The pass's cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftCursor {
    /// The last zone checked.
    pub last_zone: String,
    /// When (Unix seconds).
    pub passed_at: i64,
    /// How many times the passes went round every zone.
    pub wrapped: i64,
}

impl Store {
    /// Writes one check's outcome in one transaction: `drifting` replaces those zones'
    /// rows (each only while the zone is still recorded at the serial it was compared
    /// with), the zones of `clean` lose theirs, and the pass's cursor moves to `cursor`.
    pub async fn write_drift(
        &self,
        drifting: &[DriftRow],
        clean: &[String],
        cursor: Option<&DriftCursor>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for d in drifting {
            // only while the zone is recorded as it was compared: an apply that recorded
            // it meanwhile (after a transfer showed it served) has the last word
            sqlx::query(
                "INSERT INTO zone_drift (name, detected_at, served_serial, recorded_serial, served_hash, changes) \
                 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
                 (SELECT 1 FROM zones WHERE zones.name = $1 AND zones.serial = $4) \
                 ON CONFLICT (name) DO UPDATE SET detected_at = excluded.detected_at, \
                 served_serial = excluded.served_serial, recorded_serial = excluded.recorded_serial, \
                 served_hash = excluded.served_hash, changes = excluded.changes",
            )
            .bind(&d.name)
            .bind(d.detected_at)
            .bind(d.served_serial.map(i64::from))
            .bind(i64::from(d.recorded_serial))
            .bind(&d.served_hash)
            .bind(&d.changes)
            .execute(&mut *tx)
            .await?;
        }
        for n in clean {
            sqlx::query("DELETE FROM zone_drift WHERE name = $1")
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = cursor {
            sqlx::query(
                "INSERT INTO drift_cursor (id, last_zone, passed_at, wrapped) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET last_zone = excluded.last_zone, \
                 passed_at = excluded.passed_at, wrapped = excluded.wrapped",
            )
            .bind(&c.last_zone)
            .bind(c.passed_at)
            .bind(c.wrapped)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The zones that drift, by name; at most `limit` of them.
    pub async fn drifts(&self, limit: Option<usize>) -> Result<Vec<DriftRow>, StoreError> {
        let limit = limit.map_or(i64::MAX, |l| l as i64);
        let rows = sqlx::query(
            "SELECT name, detected_at, served_serial, recorded_serial, served_hash, changes \
             FROM zone_drift ORDER BY name LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DriftRow {
                name: r.get(0),
                detected_at: r.get(1),
                served_serial: r.get::<Option<i64>, _>(2).map(|s| s as u32),
                recorded_serial: r.get::<i64, _>(3) as u32,
                served_hash: r.get(4),
                changes: r.get(5),
            })
            .collect())
    }

    /// How many zones drift.
    pub async fn drift_count(&self) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM zone_drift")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as usize)
    }

    /// The content pass's cursor, if a pass ran.
    pub async fn drift_cursor(&self) -> Result<Option<DriftCursor>, StoreError> {
        let row =
            sqlx::query("SELECT last_zone, passed_at, wrapped FROM drift_cursor WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| DriftCursor {
            last_zone: r.get(0),
            passed_at: r.get(1),
            wrapped: r.get(2),
        }))
    }
}

/// Removes a zone's drift row inside a transaction that records or forgets the zone.
pub(super) async fn clear_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM zone_drift WHERE name = $1")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db_url;

    #[tokio::test]
    async fn drift_rows_are_replaced_cleared_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let url = db_url(dir.path().join("s.db").to_str().unwrap()).unwrap();
        let store = Store::open(&url).await.unwrap();
        let recorded = |name: &str, serial: u32| {
            let z = crate::store::RecordedZone {
                name: name.into(),
                group: "default".into(),
                serial,
                content_hash: "h".into(),
                content: String::new(),
                verified: true,
                commit_id: "c".into(),
                source: String::new(),
            };
            let audit = crate::store::AuditEntry {
                at: 1,
                commit_id: "c".into(),
                author: "a".into(),
                action: "create".into(),
                target: name.into(),
                detail: String::new(),
            };
            (z, audit)
        };
        store
            .record_zones(&[recorded("a.test.", 1), recorded("b.test.", 1)])
            .await
            .unwrap();
        let row = |name: &str, serial: u32| DriftRow {
            name: name.into(),
            detected_at: 5,
            served_serial: Some(serial),
            recorded_serial: 1,
            served_hash: "h".into(),
            changes: "{}".into(),
        };
        let cursor = DriftCursor {
            last_zone: "b.test.".into(),
            passed_at: 5,
            wrapped: 0,
        };
        store
            .write_drift(&[row("a.test.", 2), row("b.test.", 3)], &[], Some(&cursor))
            .await
            .unwrap();
        store
            .write_drift(&[row("a.test.", 4)], &["b.test.".into()], None)
            .await
            .unwrap();
        assert_eq!(store.drifts(None).await.unwrap(), vec![row("a.test.", 4)]);
        assert_eq!(store.drift_count().await.unwrap(), 1);
        assert_eq!(store.drift_cursor().await.unwrap(), Some(cursor));
        assert_eq!(store.drifts(Some(0)).await.unwrap(), vec![]);
        // recording the zone (verified by transfer) removes its row
        store.record_zones(&[recorded("a.test.", 2)]).await.unwrap();
        assert_eq!(store.drift_count().await.unwrap(), 0);
        // a check that compared with what was recorded before does not bring it back
        store
            .write_drift(&[row("a.test.", 4)], &[], None)
            .await
            .unwrap();
        assert_eq!(store.drift_count().await.unwrap(), 0);
    }
}
