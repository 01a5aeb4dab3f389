//! Serial floors (issue 11): the SOA serial an imported zone had where it came from, so
//! that when apply creates the zone its first serial follows it (RFC 1982) and the
//! secondaries that served the zone before take it ([`SerialFloor`]). An import writes
//! them, the plan reads them for the zones it creates.

use sqlx::Row;

use super::{Store, StoreError};

/// An imported zone's serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialFloor {
    /// Zone name, lower case with the trailing dot.
    pub name: String,
    /// The serial it had.
    pub serial: u32,
    /// Where it came from: a file's path, or `axfr ADDR` (never a secret).
    pub source: String,
    /// When it was imported (Unix seconds).
    pub imported_at: i64,
}

impl Store {
    /// Records `floors` in one transaction, each replacing an earlier import's.
    pub async fn record_serial_floors(&self, floors: &[SerialFloor]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for f in floors {
            sqlx::query(
                "INSERT INTO zone_serial_floor (name, serial, source, imported_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET serial = excluded.serial, source = excluded.source, \
                 imported_at = excluded.imported_at",
            )
            .bind(&f.name)
            .bind(i64::from(f.serial))
            .bind(&f.source)
            .bind(f.imported_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every recorded floor, by zone name.
    pub async fn serial_floors(&self) -> Result<Vec<SerialFloor>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, serial, source, imported_at FROM zone_serial_floor ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let serial: i64 = r.get(1);
                Ok(SerialFloor {
                    name: r.get(0),
                    serial: u32::try_from(serial).map_err(|_| {
                        StoreError::Corrupt(format!("zone_serial_floor: serial {serial}"))
                    })?,
                    source: r.get(2),
                    imported_at: r.get(3),
                })
            })
            .collect()
    }
}
