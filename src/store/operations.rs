//! Staged operations and their steps in the store, and the last serials of retired member
//! catalogs.
//!
//! Two writers touch an operation: the executor of an apply, and the operator (`confirm`,
//! `reset`, `cancel`), possibly at the same time. Every operator action bumps the
//! operation's `version` in the same transaction as its change; the executor's writes carry
//! the version it read and take effect only while it still holds (it first updates the
//! operation's row under that condition, which also locks the row until its transaction
//! ends). So the executor never writes back a stale copy over an operator's change: a write
//! that did not apply tells it to read the operation again.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Store, StoreError};

/// A staged operation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRow {
    /// Its number.
    pub id: i64,
    /// `add-secondary`, `remove-secondary`, …
    pub kind: String,
    /// The group.
    pub group: String,
    /// The server added or removed.
    pub server: String,
    /// The zones concerned.
    pub zones: Vec<String>,
    /// The commit that caused it.
    pub revision: String,
    /// active, done or cancelled.
    pub state: String,
    /// Bumped by every operator action: the executor's writes hold only while it is the
    /// version it read.
    pub version: i64,
    /// Its steps, in order.
    pub steps: Vec<StepRow>,
}

/// An operation to record: what `procedures` planned, steps as (name, JSON spec).
#[derive(Debug, Clone)]
pub struct NewOperationRow<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// The group.
    pub group: &'a str,
    /// The server added or removed.
    pub server: &'a str,
    /// The zones concerned.
    pub zones: &'a [String],
    /// The commit that caused it.
    pub revision: &'a str,
    /// Steps: name and JSON spec.
    pub steps: Vec<(String, String)>,
}

/// A step of an operation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// Position in the operation, from 1.
    pub idx: i64,
    /// Its name.
    pub name: String,
    /// What it does and what proves it (JSON of `procedures::StepSpec`).
    pub spec: String,
    /// pending, running, waiting, done or failed.
    pub state: String,
    /// How often it acted.
    pub attempts: i64,
    /// Not before this time (Unix seconds).
    pub not_before: Option<i64>,
    /// Whether an operator confirmed it.
    pub confirmed: bool,
    /// The last thing it said.
    pub message: String,
    /// When it last changed.
    pub updated_at: i64,
    /// When it finished (Unix seconds, read when it did).
    pub finished_at: Option<i64>,
    /// After a failed check: not checked again before this (Unix seconds)…
    pub next_check_at: Option<i64>,
    /// … by an apply of this revision (the commit of the failed check).
    pub checked_revision: Option<String>,
}

/// An operator's action on an operation, as the store carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator<'a> {
    /// Step `idx` is confirmed, and checked at the next chance (no back-off).
    Confirm {
        /// The step.
        idx: i64,
    },
    /// Step `idx` goes back to pending, with no attempts, gate times or back-off.
    Reset {
        /// The step.
        idx: i64,
    },
    /// The operation is cancelled. With `membership`, the recorded members of a group go
    /// back to what they were before the operation: `(group, server, joined)`, where
    /// `joined` says the operation added `server` (so it leaves the recorded group again)
    /// rather than removed it (so it comes back).
    Cancel {
        /// The membership change the operation carried.
        membership: Option<(&'a str, &'a str, bool)>,
    },
}

const OPERATION_COLUMNS: &str = "id, kind, grp, server, zones, revision, state, version";
const STEP_COLUMNS: &str = "op_id, idx, name, spec, state, attempts, not_before, confirmed, message, updated_at, finished_at, next_check_at, checked_revision";

fn operation_of(r: &sqlx::any::AnyRow) -> OperationRow {
    let zones: String = r.get(4);
    OperationRow {
        id: r.get(0),
        kind: r.get(1),
        group: r.get(2),
        server: r.get(3),
        zones: zones.split_whitespace().map(str::to_string).collect(),
        revision: r.get(5),
        state: r.get(6),
        version: r.get(7),
        steps: Vec::new(),
    }
}

fn step_of(r: &sqlx::any::AnyRow) -> (i64, StepRow) {
    (
        r.get(0),
        StepRow {
            idx: r.get(1),
            name: r.get(2),
            spec: r.get(3),
            state: r.get(4),
            attempts: r.get(5),
            not_before: r.get(6),
            confirmed: r.get::<i64, _>(7) != 0,
            message: r.get(8),
            updated_at: r.get(9),
            finished_at: r.get(10),
            next_check_at: r.get(11),
            checked_revision: r.get(12),
        },
    )
}

impl Store {
    /// Records a new operation with its steps (all pending); returns its number.
    pub async fn create_operation(
        &self,
        op: &NewOperationRow<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operations (kind, grp, server, zones, revision, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $6) RETURNING id",
        )
        .bind(op.kind)
        .bind(op.group)
        .bind(op.server)
        .bind(op.zones.join(" "))
        .bind(op.revision)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (i, (name, spec)) in op.steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO steps (op_id, idx, name, spec, state, attempts, not_before, confirmed, message, updated_at) \
                 VALUES ($1, $2, $3, $4, 'pending', 0, NULL, 0, '', $5)",
            )
            .bind(id)
            .bind(i as i64 + 1)
            .bind(name)
            .bind(spec)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Operations, newest last; only the active ones unless `all`. Two queries, whatever
    /// the number of operations.
    pub async fn operations(&self, all: bool) -> Result<Vec<OperationRow>, StoreError> {
        let filter = if all { "" } else { " WHERE state = 'active'" };
        let sql = format!("SELECT {OPERATION_COLUMNS} FROM operations{filter} ORDER BY id");
        let mut ops: Vec<OperationRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(operation_of)
            .collect();
        let sql = format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE op_id IN (SELECT id FROM operations{filter}) ORDER BY op_id, idx"
        );
        let mut steps: BTreeMap<i64, Vec<StepRow>> = BTreeMap::new();
        for r in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
        {
            let (op, step) = step_of(&r);
            steps.entry(op).or_default().push(step);
        }
        for op in &mut ops {
            op.steps = steps.remove(&op.id).unwrap_or_default();
        }
        Ok(ops)
    }

    /// One operation, with its steps.
    pub async fn operation(&self, id: i64) -> Result<Option<OperationRow>, StoreError> {
        let sql = format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut op = operation_of(&row);
        let sql = format!("SELECT {STEP_COLUMNS} FROM steps WHERE op_id = $1 ORDER BY idx");
        op.steps = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| step_of(r).1)
            .collect();
        Ok(Some(op))
    }

    /// The executor writes a step's state (before or after it acts), unless the operation
    /// changed since it read it at `version` (an operator acted, or it is no longer
    /// active): then nothing is written and the answer is `false`. Never writes
    /// `confirmed`, which only an operator sets.
    pub async fn write_step(
        &self,
        op: i64,
        version: i64,
        step: &StepRow,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !hold(&mut tx, op, version, step.updated_at).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE steps SET state = $1, attempts = $2, not_before = $3, message = $4, updated_at = $5, \
             finished_at = $6, next_check_at = $7, checked_revision = $8 WHERE op_id = $9 AND idx = $10",
        )
        .bind(&step.state)
        .bind(step.attempts)
        .bind(step.not_before)
        .bind(&step.message)
        .bind(step.updated_at)
        .bind(step.finished_at)
        .bind(step.next_check_at)
        .bind(&step.checked_revision)
        .bind(op)
        .bind(step.idx)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The executor marks an operation done, unless it changed since it was read at
    /// `version`; `false` then.
    pub async fn finish_operation(
        &self,
        op: i64,
        version: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE operations SET state = 'done', updated_at = $1 WHERE id = $2 AND version = $3 AND state = 'active'",
        )
        .bind(now)
        .bind(op)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Carries out an operator's action on active operation `op`, bumping its version in
    /// the same transaction. `false` when the operation is not active (any more) or has no
    /// such step: nothing changed.
    pub async fn operator(
        &self,
        op: i64,
        action: Operator<'_>,
        message: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let state = if matches!(action, Operator::Cancel { .. }) {
            "cancelled"
        } else {
            "active"
        };
        let bumped = sqlx::query(
            "UPDATE operations SET version = version + 1, state = $1, updated_at = $2 WHERE id = $3 AND state = 'active'",
        )
        .bind(state)
        .bind(now)
        .bind(op)
        .execute(&mut *tx)
        .await?;
        if bumped.rows_affected() != 1 {
            return Ok(false);
        }
        let changed = match action {
            Operator::Confirm { idx } => sqlx::query(
                "UPDATE steps SET confirmed = 1, next_check_at = NULL, message = $1, updated_at = $2 WHERE op_id = $3 AND idx = $4",
            )
            .bind(message)
            .bind(now)
            .bind(op)
            .bind(idx)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Operator::Reset { idx } => sqlx::query(
                "UPDATE steps SET state = 'pending', attempts = 0, not_before = NULL, finished_at = NULL, \
                 next_check_at = NULL, message = $1, updated_at = $2 WHERE op_id = $3 AND idx = $4",
            )
            .bind(message)
            .bind(now)
            .bind(op)
            .bind(idx)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Operator::Cancel { membership } => {
                if let Some((group, server, joined)) = membership {
                    restore_membership(&mut tx, group, server, joined).await?;
                }
                1
            }
        };
        if changed != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The last serial of each member catalog that left the primary, by lower-case name.
    pub async fn catalog_serials(&self) -> Result<BTreeMap<String, u32>, StoreError> {
        let rows = sqlx::query("SELECT name, serial FROM catalog_serials")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get::<i64, _>(1) as u32))
            .collect())
    }

    /// Records the last serial of member catalog `name` (lower case) as it leaves the
    /// primary.
    pub async fn set_catalog_serial(
        &self,
        name: &str,
        serial: u32,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO catalog_serials (name, serial, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET serial = excluded.serial, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(i64::from(serial))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Takes operation `op` for a write of the executor: only while it is active at `version`.
/// The row stays locked until the transaction ends, so an operator's action waits for it.
async fn hold(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    op: i64,
    version: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let held = sqlx::query(
        "UPDATE operations SET updated_at = $1 WHERE id = $2 AND version = $3 AND state = 'active'",
    )
    .bind(now)
    .bind(op)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(held.rows_affected() == 1)
}

/// Gives recorded group `group` its membership from before an operation that added
/// (`joined`) or removed `server`.
async fn restore_membership(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    group: &str,
    server: &str,
    joined: bool,
) -> Result<(), StoreError> {
    let Some(row) = sqlx::query("SELECT secondaries FROM groups WHERE name = $1")
        .bind(group)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    let mut members: Vec<String> = row
        .get::<String, _>(0)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if joined {
        members.retain(|s| s != server);
    } else if !members.iter().any(|s| s == server) {
        members.push(server.to_string());
    }
    sqlx::query("UPDATE groups SET secondaries = $1 WHERE name = $2")
        .bind(members.join(" "))
        .bind(group)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_operation() -> (tempfile::TempDir, Store, OperationRow) {
        let dir = tempfile::tempdir().unwrap();
        let url = super::super::db_url(dir.path().join("s.db").to_str().unwrap()).unwrap();
        let store = Store::open(&url).await.unwrap();
        let zones = vec!["a.test.".to_string()];
        let row = NewOperationRow {
            kind: "add-secondary",
            group: "default",
            server: "ns3",
            zones: &zones,
            revision: "c1",
            steps: vec![
                ("provision".into(), "{}".into()),
                ("delegation".into(), "{}".into()),
            ],
        };
        let id = store.create_operation(&row, 10).await.unwrap();
        let op = store.operation(id).await.unwrap().unwrap();
        (dir, store, op)
    }

    #[tokio::test]
    async fn an_operators_change_is_never_overwritten_by_a_stale_write() {
        let (_dir, store, op) = store_with_operation().await;
        assert_eq!(op.version, 0);
        assert_eq!(op.steps.len(), 2);
        // The executor read the operation; the operator confirms step 2 meanwhile.
        assert!(
            store
                .operator(op.id, Operator::Confirm { idx: 2 }, "confirmed", 20)
                .await
                .unwrap()
        );
        let mut stale = op.steps[1].clone();
        stale.state = "waiting".into();
        stale.message = "stale".into();
        assert!(!store.write_step(op.id, op.version, &stale).await.unwrap());
        assert!(!store.finish_operation(op.id, op.version, 30).await.unwrap());
        let fresh = store.operation(op.id).await.unwrap().unwrap();
        assert_eq!(fresh.version, 1);
        assert!(fresh.steps[1].confirmed);
        assert_eq!(fresh.steps[1].message, "confirmed");
        assert_eq!(fresh.state, "active");
        // Read again, the executor's writes hold, and keep the confirmation.
        let mut step = fresh.steps[1].clone();
        step.state = "done".into();
        step.finished_at = Some(40);
        assert!(store.write_step(op.id, fresh.version, &step).await.unwrap());
        let after = store.operation(op.id).await.unwrap().unwrap();
        assert!(after.steps[1].confirmed);
        assert_eq!(after.steps[1].finished_at, Some(40));
        // Cancelled: nothing the executor writes applies, and a second cancel says so.
        let cancel = Operator::Cancel { membership: None };
        assert!(store.operator(op.id, cancel, "x", 50).await.unwrap());
        assert!(!store.operator(op.id, cancel, "x", 51).await.unwrap());
        assert!(!store.write_step(op.id, 2, &step).await.unwrap());
        assert!(!store.finish_operation(op.id, 2, 52).await.unwrap());
        assert_eq!(
            store.operation(op.id).await.unwrap().unwrap().state,
            "cancelled"
        );
        assert!(store.operations(false).await.unwrap().is_empty());
        assert_eq!(store.operations(true).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cancelling_a_membership_change_restores_the_recorded_group() {
        let (_dir, store, op) = store_with_operation().await;
        let group = |secondaries: &[&str]| super::super::GroupRow {
            name: "default".into(),
            catalog: "catalog.test.".into(),
            secondaries: secondaries.iter().map(|s| s.to_string()).collect(),
            nameservers: Vec::new(),
        };
        store.set_groups(&[group(&["ns1", "ns3"])]).await.unwrap();
        let cancel = Operator::Cancel {
            membership: Some(("default", "ns3", true)),
        };
        assert!(store.operator(op.id, cancel, "cancelled", 5).await.unwrap());
        assert_eq!(store.groups().await.unwrap()[0].secondaries, vec!["ns1"]);
        // A removal cancelled: the server is a member again.
        let zones = vec!["a.test.".to_string()];
        let row = NewOperationRow {
            kind: "remove-secondary",
            group: "default",
            server: "ns2",
            zones: &zones,
            revision: "c2",
            steps: vec![("withdraw".into(), "{}".into())],
        };
        let id = store.create_operation(&row, 10).await.unwrap();
        let cancel = Operator::Cancel {
            membership: Some(("default", "ns2", false)),
        };
        assert!(store.operator(id, cancel, "cancelled", 5).await.unwrap());
        assert_eq!(
            store.groups().await.unwrap()[0].secondaries,
            vec!["ns1", "ns2"]
        );
    }

    #[tokio::test]
    async fn reset_clears_times_and_backoff() {
        let (_dir, store, op) = store_with_operation().await;
        let mut step = op.steps[0].clone();
        step.state = "waiting".into();
        step.attempts = 4;
        step.not_before = Some(100);
        step.next_check_at = Some(200);
        assert!(store.write_step(op.id, 0, &step).await.unwrap());
        assert!(
            store
                .operator(op.id, Operator::Reset { idx: 1 }, "reset", 30)
                .await
                .unwrap()
        );
        let s = &store.operation(op.id).await.unwrap().unwrap().steps[0];
        assert_eq!(
            (s.state.as_str(), s.attempts, s.not_before, s.next_check_at),
            ("pending", 0, None, None)
        );
        assert!(
            !store
                .operator(op.id, Operator::Reset { idx: 9 }, "reset", 30)
                .await
                .unwrap(),
            "no such step"
        );
        assert_eq!(store.operation(op.id).await.unwrap().unwrap().version, 1);
        store
            .set_catalog_serial("ns2.catalog.test.", 1_780_000_123, 5)
            .await
            .unwrap();
        assert_eq!(
            store
                .catalog_serials()
                .await
                .unwrap()
                .get("ns2.catalog.test."),
            Some(&1_780_000_123)
        );
    }
}
