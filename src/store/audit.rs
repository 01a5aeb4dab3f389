//! The audit trail (one entry per applied change) and the revision applied in full, which
//! is recorded together with the groups and servers it describes.

use sqlx::Row;

use super::fleet::{replace_groups, replace_servers};
use super::{GroupRow, ServerRow, Store, StoreError};

/// The last revision applied in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRevision {
    /// Commit id.
    pub commit_id: String,
    /// Its author.
    pub author: String,
    /// Its first line.
    pub summary: String,
    /// When it was applied (Unix seconds).
    pub applied_at: i64,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (Unix seconds).
    pub at: i64,
    /// Commit id.
    pub commit_id: String,
    /// Commit author.
    pub author: String,
    /// `create`, `update`, `delete`, `catalog-add`, `catalog-remove`, `config`…
    pub action: String,
    /// The zone or server it concerns.
    pub target: String,
    /// What changed.
    pub detail: String,
}

impl Store {
    /// The last revision applied in full.
    pub async fn applied_revision(&self) -> Result<Option<AppliedRevision>, StoreError> {
        let row = sqlx::query(
            "SELECT commit_id, author, summary, applied_at FROM applied_revision WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| AppliedRevision {
            commit_id: r.get(0),
            author: r.get(1),
            summary: r.get(2),
            applied_at: r.get(3),
        }))
    }

    /// Adds audit entries on their own.
    pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in entries {
            insert_audit(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest audit entries, newest first.
    pub async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, commit_id, author, action, target, detail FROM audit ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                commit_id: r.get(1),
                author: r.get(2),
                action: r.get(3),
                target: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }

    /// Records a revision as applied in full, with the groups and servers it describes.
    pub async fn set_applied(
        &self,
        rev: &AppliedRevision,
        groups: &[GroupRow],
        servers: &[ServerRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO applied_revision (id, commit_id, author, summary, applied_at) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET commit_id = excluded.commit_id, author = excluded.author, \
             summary = excluded.summary, applied_at = excluded.applied_at",
        )
        .bind(&rev.commit_id)
        .bind(&rev.author)
        .bind(&rev.summary)
        .bind(rev.applied_at)
        .execute(&mut *tx)
        .await?;
        replace_groups(&mut tx, groups).await?;
        replace_servers(&mut tx, servers).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Adds one audit entry inside `tx`.
pub(super) async fn insert_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (at, commit_id, author, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(e.at)
        .bind(&e.commit_id)
        .bind(&e.author)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
