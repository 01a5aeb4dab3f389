//! The write-ahead of zone changes (`zone_intents`): what an UPDATE about to be sent brings
//! a zone to. A run killed between sending and recording leaves its intent behind, and
//! the next apply recognises the landed change by it instead of calling it drift.

use sqlx::Row;

use super::{Store, StoreError};

/// A zone change about to be sent: the zone's content once it took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneIntent {
    /// Zone name, lower case with the trailing dot.
    pub name: String,
    /// Its group.
    pub group: String,
    /// The serial the change brings.
    pub serial: u32,
    /// The canonical text at `serial`.
    pub content: String,
    /// The revision the change belongs to.
    pub commit_id: String,
}

impl Store {
    /// Writes (or replaces) a zone's intent, before its UPDATE is sent.
    pub async fn set_intent(&self, i: &ZoneIntent, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO zone_intents (name, grp, serial, content, commit_id, written_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET grp = excluded.grp, serial = excluded.serial, \
             content = excluded.content, commit_id = excluded.commit_id, written_at = excluded.written_at",
        )
        .bind(&i.name)
        .bind(&i.group)
        .bind(i64::from(i.serial))
        .bind(&i.content)
        .bind(&i.commit_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A zone's intent left by an earlier run, if any.
    pub async fn intent(&self, name: &str) -> Result<Option<ZoneIntent>, StoreError> {
        let row = sqlx::query(
            "SELECT name, grp, serial, content, commit_id FROM zone_intents WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ZoneIntent {
            name: r.get(0),
            group: r.get(1),
            serial: r.get::<i64, _>(2) as u32,
            content: r.get(3),
            commit_id: r.get(4),
        }))
    }

    /// Removes zones' intents once they are recorded (or known not to have landed).
    pub async fn clear_intents(&self, names: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for n in names {
            sqlx::query("DELETE FROM zone_intents WHERE name = $1")
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
