//! Fleet health as the sweep leaves it: each server's state and since when, the zones it
//! lags on (`zone_lag`), the last sweep, and which secondaries are in maintenance.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};

/// How many rows one INSERT of [`Store::record_sweep`] carries.
const ROWS_PER_INSERT: usize = 200;

/// A zone a server does not serve at the expected serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagRow {
    /// The zone.
    pub zone: String,
    /// The server.
    pub server: String,
    /// The serial it should serve (the primary's, for a secondary).
    pub expected: u32,
    /// The serial it serves; None when it does not serve the zone.
    pub served: Option<u32>,
    /// Since when (Unix seconds).
    pub since: i64,
    /// What it answered.
    pub detail: String,
}

/// One server's verdict of a sweep, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// The server.
    pub name: String,
    /// OK, RETRY or BROKEN.
    pub state: String,
    /// What to say of it.
    pub message: String,
    /// Zones served at the expected serial.
    pub served: i64,
    /// Zones not served at the expected serial.
    pub lagging: i64,
}

/// A sweep to record.
#[derive(Debug, Clone, Default)]
pub struct SweepRecord {
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// How many zones it covered.
    pub zones: i64,
    /// How many questions it asked.
    pub queries: i64,
    /// The servers it asked.
    pub servers: Vec<ServerCheck>,
    /// What each of them lags on (`since` is filled in from earlier sweeps).
    pub lags: Vec<LagRow>,
}

/// The last sweep, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSweep {
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// How many zones it covered.
    pub zones: i64,
    /// How many questions it asked.
    pub queries: i64,
}

impl Store {
    /// Records a sweep in one transaction: each server's state (its `state_since` kept
    /// while the state stays), its lagging zones (each keeping the time it was first seen
    /// lagging), and the sweep itself.
    pub async fn record_sweep(&self, sweep: &SweepRecord) -> Result<(), StoreError> {
        let now = sweep.started_at;
        let mut tx = self.pool.begin().await?;
        let mut first_seen: HashMap<(String, String), i64> = HashMap::new();
        for s in &sweep.servers {
            let rows = sqlx::query("SELECT zone, since FROM zone_lag WHERE server = $1")
                .bind(&s.name)
                .fetch_all(&mut *tx)
                .await?;
            for r in rows {
                first_seen.insert((r.get(0), s.name.clone()), r.get(1));
            }
            sqlx::query("DELETE FROM zone_lag WHERE server = $1")
                .bind(&s.name)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE servers SET state_since = CASE WHEN COALESCE(last_state, '') = $2 \
                 THEN COALESCE(state_since, $3) ELSE $3 END, last_state = $2, last_check_at = $3, \
                 last_message = $4, zones_served = $5, zones_lagging = $6 WHERE name = $1",
            )
            .bind(&s.name)
            .bind(&s.state)
            .bind(now)
            .bind(&s.message)
            .bind(s.served)
            .bind(s.lagging)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in sweep.lags.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 6;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO zone_lag (zone, server, expected, served, since, detail) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for l in chunk {
                let since = first_seen
                    .get(&(l.zone.clone(), l.server.clone()))
                    .copied()
                    .unwrap_or(l.since);
                q = q
                    .bind(&l.zone)
                    .bind(&l.server)
                    .bind(i64::from(l.expected))
                    .bind(l.served.map(i64::from))
                    .bind(since)
                    .bind(&l.detail);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO last_sweep (id, started_at, duration_ms, zones, queries) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, duration_ms = excluded.duration_ms, \
             zones = excluded.zones, queries = excluded.queries",
        )
        .bind(now)
        .bind(sweep.duration_ms)
        .bind(sweep.zones)
        .bind(sweep.queries)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records zones servers lag on, beside those recorded (a zone change that did not
    /// wait for an absent secondary): a row already there keeps its `since`.
    pub async fn add_lags(&self, lags: &[LagRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for l in lags {
            sqlx::query(
                "INSERT INTO zone_lag (zone, server, expected, served, since, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (zone, server) DO UPDATE SET \
                 expected = excluded.expected, served = excluded.served, detail = excluded.detail",
            )
            .bind(&l.zone)
            .bind(&l.server)
            .bind(i64::from(l.expected))
            .bind(l.served.map(i64::from))
            .bind(l.since)
            .bind(&l.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The last sweep, if any ran.
    pub async fn last_sweep(&self) -> Result<Option<LastSweep>, StoreError> {
        let row = sqlx::query(
            "SELECT started_at, duration_ms, zones, queries FROM last_sweep WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| LastSweep {
            started_at: r.get(0),
            duration_ms: r.get(1),
            zones: r.get(2),
            queries: r.get(3),
        }))
    }

    /// The zones servers lag on, oldest first, at most `limit` of them, and how many
    /// there are in all.
    pub async fn lagging(&self, limit: i64) -> Result<(Vec<LagRow>, i64), StoreError> {
        let total: i64 = sqlx::query("SELECT COUNT(*) FROM zone_lag")
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let rows = sqlx::query(
            "SELECT zone, server, expected, served, since, detail FROM zone_lag \
             ORDER BY since, zone, server LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let lags = rows
            .into_iter()
            .map(|r| LagRow {
                zone: r.get(0),
                server: r.get(1),
                expected: serial(r.get(2)),
                served: r.get::<Option<i64>, _>(3).map(serial),
                since: r.get(4),
                detail: r.get(5),
            })
            .collect();
        Ok((lags, total))
    }

    /// Puts secondary `server` in maintenance since `since`, or takes it out (None).
    /// Returns false when no secondary of that name is recorded.
    pub async fn set_maintenance(
        &self,
        server: &str,
        since: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE servers SET maintenance_since = $2 WHERE name = $1 AND role = 'secondary'",
        )
        .bind(server)
        .bind(since)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// A serial as stored (BIGINT) back to its 32 bits.
fn serial(v: i64) -> u32 {
    u32::try_from(v).unwrap_or_default()
}
