//! The zones as recorded (group, serial, content hash, canonical content, whether every
//! server was seen serving it), and the write-ahead of zone changes (`zone_intents`): what
//! an UPDATE about to be sent brings a zone to. A run killed between sending and recording
//! leaves its intent behind, and the next apply recognises the landed change by it instead
//! of calling it drift.

use std::collections::BTreeMap;

use sqlx::Row;

use super::audit::{AuditEntry, insert_audit};
use super::{Backend, Store, StoreError};

/// How many zone names one query of [`Store::zones`] asks for (well under SQLite's and
/// PostgreSQL's limits on bound parameters).
const NAMES_PER_QUERY: usize = 500;

/// A zone as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedZone {
    /// Zone name, lower case with the trailing dot.
    pub name: String,
    /// Its group.
    pub group: String,
    /// The serial the primary serves.
    pub serial: u32,
    /// Hash of the content without serial.
    pub content_hash: String,
    /// Canonical content, SOA first (empty in index listings).
    pub content: String,
    /// Whether every server of its group was seen serving `serial`.
    pub verified: bool,
    /// The commit it was applied from.
    pub commit_id: String,
    /// What it was built from: its file's blob and the zone settings, hashed
    /// (`desired::source_id`); empty when not known, and the zone is then read again.
    pub source: String,
}

/// One row of [`Store::zone_index`]: name, serial, content hash, verified, commit, source,
/// group (last: a group name may hold spaces).
fn index_row(line: &str) -> Option<RecordedZone> {
    let mut f = line.splitn(7, ' ');
    let name = f.next()?.to_string();
    let serial = f.next()?.parse::<i64>().ok()? as u32;
    let content_hash = f.next()?.to_string();
    let verified = f.next()? != "0";
    let commit_id = f.next()?.to_string();
    let source = f.next()?.to_string();
    let group = f.next()?.to_string();
    Some(RecordedZone {
        name,
        group,
        serial,
        content_hash,
        content: String::new(),
        verified,
        commit_id,
        source,
    })
}

impl RecordedZone {
    /// How a desired zone is recorded once the primary serves it at `serial`.
    pub fn of(zone: &crate::model::Zone, serial: u32, commit_id: &str) -> RecordedZone {
        RecordedZone {
            name: crate::model::ascii(&zone.name),
            group: zone.group.clone(),
            serial,
            content_hash: zone.content_hash(),
            content: zone.canonical_text(serial),
            verified: false,
            commit_id: commit_id.to_string(),
            source: zone.source.clone(),
        }
    }
}

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

impl Store {
    /// [`Store::zone_index`] by zone name.
    pub async fn zone_map(&self) -> Result<BTreeMap<String, RecordedZone>, StoreError> {
        Ok(self
            .zone_index()
            .await?
            .into_iter()
            .map(|z| (z.name.clone(), z))
            .collect())
    }

    /// Every recorded zone without its content (cheap, for diffs by hash), by name. The
    /// index comes as one value: sqlx copies every value of every row it hands over, and
    /// at 40,000 zones the copies of six values a row cost more than everything else a
    /// no-op plan does. Fields are separated by a space (the group, which may hold one,
    /// comes last), rows by ASCII's record separator.
    pub async fn zone_index(&self) -> Result<Vec<RecordedZone>, StoreError> {
        const ROW: &str = "name || ' ' || serial || ' ' || content_hash || ' ' || verified \
                           || ' ' || commit_id || ' ' || source || ' ' || grp";
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT group_concat({ROW}, char(30)) FROM zones"),
            Backend::Postgres => format!("SELECT string_agg({ROW}, chr(30)) FROM zones"),
        };
        // Only the constant above is formatted in.
        let all: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        let all = all.unwrap_or_default();
        let mut index = all
            .split('\u{1e}')
            .filter(|row| !row.is_empty())
            .map(|row| {
                index_row(row).ok_or_else(|| StoreError::Corrupt(format!("zone index row `{row}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        index.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(index)
    }

    /// One recorded zone with its content.
    pub async fn zone(&self, name: &str) -> Result<Option<RecordedZone>, StoreError> {
        Ok(self.zones(&[name.to_string()]).await?.pop())
    }

    /// The recorded zones among `names`, with their content, by name; a few queries of
    /// [`NAMES_PER_QUERY`] names each, not one per zone.
    pub async fn zones(&self, names: &[String]) -> Result<Vec<RecordedZone>, StoreError> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(NAMES_PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT name, grp, serial, content_hash, verified, commit_id, content, source \
                 FROM zones WHERE name IN ({})",
                marks.join(", ")
            );
            // Only placeholders are formatted in; every name is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for name in chunk {
                query = query.bind(name);
            }
            for r in query.fetch_all(&self.pool).await? {
                out.push(RecordedZone {
                    name: r.get(0),
                    group: r.get(1),
                    serial: r.get::<i64, _>(2) as u32,
                    content_hash: r.get(3),
                    verified: r.get::<i64, _>(4) != 0,
                    commit_id: r.get(5),
                    content: r.get(6),
                    source: r.get(7),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The recorded content of the zones among `names`, by name: only the content, for
    /// zones whose index entry is already read ([`Store::zone_index`]); a few queries of
    /// [`NAMES_PER_QUERY`] names each.
    pub async fn contents(&self, names: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(NAMES_PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT name, content FROM zones WHERE name IN ({})",
                marks.join(", ")
            );
            // Only placeholders are formatted in; every name is bound.
            let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for name in chunk {
                query = query.bind(name);
            }
            out.extend(query.fetch_all(&self.pool).await?);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Records zones as applied (created or updated), each with its audit entry, in one
    /// transaction; their drift rows go (a zone is recorded once a transfer showed the
    /// primary serving exactly that).
    pub async fn record_zones(
        &self,
        zones: &[(RecordedZone, AuditEntry)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (z, audit) in zones {
            sqlx::query(
                "INSERT INTO zones (name, grp, serial, content_hash, content, verified, commit_id, updated_at, source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (name) DO UPDATE SET grp = excluded.grp, serial = excluded.serial, \
                 content_hash = excluded.content_hash, content = excluded.content, verified = excluded.verified, \
                 commit_id = excluded.commit_id, updated_at = excluded.updated_at, source = excluded.source",
            )
            .bind(&z.name)
            .bind(&z.group)
            .bind(i64::from(z.serial))
            .bind(&z.content_hash)
            .bind(&z.content)
            .bind(i64::from(z.verified))
            .bind(&z.commit_id)
            .bind(audit.at)
            .bind(&z.source)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit).await?;
            // recorded only once a transfer showed the primary serving it: no drift
            super::drift::clear_in(&mut tx, &z.name).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks zones as verified (or not).
    pub async fn set_verified(&self, names: &[String], verified: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for n in names {
            sqlx::query("UPDATE zones SET verified = $1 WHERE name = $2")
                .bind(i64::from(verified))
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets deleted zones, each with its audit entry.
    pub async fn delete_zones(&self, zones: &[(String, AuditEntry)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (name, audit) in zones {
            sqlx::query("DELETE FROM zones WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM zone_lag WHERE zone = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            insert_audit(&mut tx, audit).await?;
            super::drift::clear_in(&mut tx, name).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db_url;

    #[tokio::test]
    async fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = db_url(dir.path().join("s.db").to_str().unwrap()).unwrap();
        let store = Store::open(&url).await.unwrap();
        assert!(store.applied_revision().await.unwrap().is_none());
        let z = RecordedZone {
            name: "example.com.".into(),
            group: "default".into(),
            serial: 2026112100,
            content_hash: "h".into(),
            content: "example.com. 3600 IN SOA …".into(),
            verified: false,
            commit_id: "c1".into(),
            source: "5e1f".into(),
        };
        let audit = AuditEntry {
            at: 1,
            commit_id: "c1".into(),
            author: "a".into(),
            action: "create".into(),
            target: "example.com.".into(),
            detail: "".into(),
        };
        store
            .record_zones(&[(z.clone(), audit.clone())])
            .await
            .unwrap();
        assert_eq!(store.zone("example.com.").await.unwrap().unwrap(), z);
        let index = store.zone_index().await.unwrap();
        assert_eq!(index[0].serial, 2026112100);
        assert_eq!(index[0].source, "5e1f");
        store
            .delete_zones(&[("example.com.".into(), audit)])
            .await
            .unwrap();
        assert!(store.zone("example.com.").await.unwrap().is_none());
        assert_eq!(store.audit_tail(10).await.unwrap().len(), 2);
    }
}
