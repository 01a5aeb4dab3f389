//! The fleet as applied: groups, servers with their last check, and the primary changes
//! were last sent to.

use sqlx::Row;

use crate::model::config::PrimaryRef;

use super::{Store, StoreError};

/// A server as recorded, with its last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRow {
    /// Name.
    pub name: String,
    /// primary or secondary.
    pub role: String,
    /// Address(es) and port.
    pub address: String,
    /// bind or knot.
    pub software: String,
    /// Groups it belongs to.
    pub groups: String,
    /// Last check (Unix seconds).
    pub last_check_at: Option<i64>,
    /// OK, RETRY or BROKEN.
    pub last_state: Option<String>,
    /// What the last check said.
    pub last_message: Option<String>,
    /// Since when it is in `last_state` (Unix seconds).
    pub state_since: Option<i64>,
    /// How many of its zones the last sweep saw it serve at the expected serial.
    pub zones_served: Option<i64>,
    /// How many of its zones it did not serve at the expected serial.
    pub zones_lagging: Option<i64>,
    /// Since when it is in maintenance; None: it is not.
    pub maintenance_since: Option<i64>,
}

/// A group as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    /// Name.
    pub name: String,
    /// Catalog zone.
    pub catalog: String,
    /// Member secondaries.
    pub secondaries: Vec<String>,
    /// Apex NS names.
    pub nameservers: Vec<String>,
}

impl GroupRow {
    /// How a desired group is recorded.
    pub fn of(g: &crate::model::Group) -> GroupRow {
        GroupRow {
            name: g.name.clone(),
            catalog: crate::model::ascii(&g.catalog),
            secondaries: g.secondaries.clone(),
            nameservers: g.nameservers.iter().map(|n| n.to_string()).collect(),
        }
    }
}

impl Store {
    /// The primary changes were last sent to, if any.
    pub async fn primary(&self) -> Result<Option<PrimaryRef>, StoreError> {
        let row = sqlx::query(
            "SELECT name, address, rndc, rndc_conf, config_dir FROM primary_server WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some(PrimaryRef {
                name: r.get(0),
                addr: r.get::<String, _>(1).parse().ok()?,
                rndc: r.get::<String, _>(2).into(),
                rndc_conf: r.get::<String, _>(3).into(),
                config_dir: r.get::<String, _>(4).into(),
            })
        }))
    }

    /// Records the primary changes go to.
    pub async fn set_primary(&self, p: &PrimaryRef, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO primary_server (id, name, address, rndc, rndc_conf, config_dir, updated_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             address = excluded.address, rndc = excluded.rndc, rndc_conf = excluded.rndc_conf, \
             config_dir = excluded.config_dir, updated_at = excluded.updated_at",
        )
        .bind(&p.name)
        .bind(p.addr.to_string())
        .bind(p.rndc.display().to_string())
        .bind(p.rndc_conf.display().to_string())
        .bind(p.config_dir.display().to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The groups as applied.
    pub async fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        let rows =
            sqlx::query("SELECT name, catalog, secondaries, nameservers FROM groups ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        let split = |s: String| s.split_whitespace().map(str::to_string).collect();
        Ok(rows
            .into_iter()
            .map(|r| GroupRow {
                name: r.get(0),
                catalog: r.get(1),
                secondaries: split(r.get(2)),
                nameservers: split(r.get(3)),
            })
            .collect())
    }

    /// The servers as applied, with their last check.
    pub async fn servers(&self) -> Result<Vec<ServerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, role, address, software, groups, last_check_at, last_state, last_message, \
             state_since, zones_served, zones_lagging, maintenance_since FROM servers ORDER BY role, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ServerRow {
                name: r.get(0),
                role: r.get(1),
                address: r.get(2),
                software: r.get(3),
                groups: r.get(4),
                last_check_at: r.get(5),
                last_state: r.get(6),
                last_message: r.get(7),
                state_since: r.get(8),
                zones_served: r.get(9),
                zones_lagging: r.get(10),
                maintenance_since: r.get(11),
            })
            .collect())
    }

    /// Records the result of checking a server (creating its row if needed).
    pub async fn set_server_health(&self, server: &ServerRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO servers (name, role, address, software, groups, last_check_at, last_state, last_message, state_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) ON CONFLICT (name) DO UPDATE SET \
             state_since = CASE WHEN COALESCE(servers.last_state, '') = COALESCE(excluded.last_state, '') \
             THEN servers.state_since ELSE excluded.last_check_at END, \
             last_check_at = excluded.last_check_at, last_state = excluded.last_state, last_message = excluded.last_message",
        )
        .bind(&server.name)
        .bind(&server.role)
        .bind(&server.address)
        .bind(&server.software)
        .bind(&server.groups)
        .bind(server.last_check_at)
        .bind(&server.last_state)
        .bind(&server.last_message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the groups as they now are (an operation took over their change).
    pub async fn set_groups(&self, groups: &[GroupRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        replace_groups(&mut tx, groups).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Replaces every group row inside `tx`.
pub(super) async fn replace_groups(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    groups: &[GroupRow],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM groups").execute(&mut **tx).await?;
    for g in groups {
        sqlx::query(
            "INSERT INTO groups (name, catalog, secondaries, nameservers) VALUES ($1, $2, $3, $4)",
        )
        .bind(&g.name)
        .bind(&g.catalog)
        .bind(g.secondaries.join(" "))
        .bind(g.nameservers.join(" "))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Replaces every server row inside `tx`: servers no longer described are removed, the
/// others inserted or updated (their last check is kept).
pub(super) async fn replace_servers(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    servers: &[ServerRow],
) -> Result<(), StoreError> {
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let existing = sqlx::query("SELECT name FROM servers")
        .fetch_all(&mut **tx)
        .await?;
    for row in existing {
        let name: String = row.get(0);
        if !names.contains(&name.as_str()) {
            sqlx::query("DELETE FROM servers WHERE name = $1")
                .bind(&name)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM zone_lag WHERE server = $1")
                .bind(&name)
                .execute(&mut **tx)
                .await?;
        }
    }
    for s in servers {
        sqlx::query(
            "INSERT INTO servers (name, role, address, software, groups) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, address = excluded.address, \
             software = excluded.software, groups = excluded.groups",
        )
        .bind(&s.name)
        .bind(&s.role)
        .bind(&s.address)
        .bind(&s.software)
        .bind(&s.groups)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
