//! Which catalog zones the primary serves, and editing them.
//!
//! Every secondary of a group consumes a catalog of its own, `<secondary>.<group catalog>`
//! (e.g. `ns1.catalog.default.zonekeeper.`), with the same members as its group-mates'.
//! So one secondary can be made to drop a group's zones (its catalog is emptied) while the
//! others keep serving them: the last step of removing a secondary.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::error::ApplyError;
use crate::backend::bind::BindError;
use crate::backend::catalog;
use crate::backend::seam::{Control, Sender};
use crate::model::Config;
use crate::model::config::member_catalog;
use crate::model::name_of as name;
use crate::model::serial::serial_ge;
use crate::procedures::Kind;
use crate::store::{GroupRow, RecordedZone, ServerRow, Store};

/// One secondary's catalog of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCatalog {
    /// The group.
    pub group: String,
    /// The secondary consuming it.
    pub server: String,
    /// The catalog zone.
    pub name: Name,
    /// Where the secondary answers (NOTIFY goes there).
    pub notify: Vec<SocketAddr>,
}

/// The member catalogs to serve: one per secondary of each desired group, and one per
/// secondary an active remove-secondary operation is taking out of a group (its catalog is
/// emptied by that operation's last step, and goes once the operation is done).
pub async fn serving(config: &Config, store: &Store) -> Result<Vec<MemberCatalog>, ApplyError> {
    let groups = config
        .groups
        .values()
        .map(|g| (g.name.clone(), g.catalog.clone(), g.secondaries.clone()))
        .collect();
    member_catalogs(groups, config, store).await
}

/// Like [`serving`], for the groups as recorded: the catalogs the primary serves before
/// this revision's membership changes (what a primary move takes along).
pub async fn recorded(config: &Config, store: &Store) -> Result<Vec<MemberCatalog>, ApplyError> {
    let groups = store
        .groups()
        .await?
        .into_iter()
        .map(|g| (g.name, name(&g.catalog), g.secondaries))
        .collect();
    member_catalogs(groups, config, store).await
}

/// The member catalogs of `groups` (name, catalog, secondaries), and of the secondaries
/// active remove-secondary operations take out.
async fn member_catalogs(
    groups: Vec<(String, Name, Vec<String>)>,
    config: &Config,
    store: &Store,
) -> Result<Vec<MemberCatalog>, ApplyError> {
    let recorded = store.groups().await?;
    let servers = store.servers().await?;
    let sockets = |server: &str| server_sockets(config, &servers, server);
    let mut out = Vec::new();
    for (group, catalog, secondaries) in &groups {
        for s in secondaries {
            out.push(MemberCatalog {
                group: group.clone(),
                server: s.clone(),
                name: member_catalog(catalog, s),
                notify: sockets(s),
            });
        }
    }
    for op in store.operations(false).await? {
        if op.kind != Kind::RemoveSecondary.as_str() {
            continue;
        }
        let catalog = match groups.iter().find(|(g, _, _)| *g == op.group) {
            Some((_, c, _)) => c.clone(),
            None => match recorded.iter().find(|g| g.name == op.group) {
                Some(g) => name(&g.catalog),
                None => continue,
            },
        };
        let leaving = MemberCatalog {
            group: op.group.clone(),
            server: op.server.clone(),
            name: member_catalog(&catalog, &op.server),
            notify: sockets(&op.server),
        };
        if !out.iter().any(|c| c.name == leaving.name) {
            out.push(leaving);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Where `server` answers: from the desired state, else as recorded in `rows`.
pub fn server_sockets(config: &Config, rows: &[ServerRow], server: &str) -> Vec<SocketAddr> {
    if let Some(s) = config.secondaries.get(server) {
        return s.sockets();
    }
    rows.iter()
        .filter(|r| r.name == server)
        .flat_map(|r| {
            r.address
                .split_whitespace()
                .filter_map(|a| a.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The member catalogs of `group` among `catalogs`.
pub fn of_group<'a>(catalogs: &'a [MemberCatalog], group: &str) -> Vec<&'a MemberCatalog> {
    catalogs.iter().filter(|c| c.group == group).collect()
}

/// The member catalogs zones leave when they leave `group`: those served, or else (a group
/// no longer desired) the recorded group's.
pub fn leaving_group(
    catalogs: &[MemberCatalog],
    recorded: &[GroupRow],
    group: &str,
) -> Vec<MemberCatalog> {
    let served: Vec<MemberCatalog> = of_group(catalogs, group).into_iter().cloned().collect();
    if !served.is_empty() {
        return served;
    }
    recorded
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| {
            g.secondaries.iter().map(|s| MemberCatalog {
                group: g.name.clone(),
                server: s.clone(),
                name: member_catalog(&name(&g.catalog), s),
                notify: Vec::new(),
            })
        })
        .collect()
}

/// Writes the zone file of every member catalog the primary lacks; returns their names
/// with the serial each starts at ([`initial_serial`]: above the last serial a catalog of
/// that name had, recorded in `last` by lower-case name, and above every earlier creation).
pub fn create_missing(
    control: &dyn Control,
    catalogs: &[MemberCatalog],
    index: &BTreeMap<String, RecordedZone>,
    last: &BTreeMap<String, u32>,
    now: i64,
) -> Result<Vec<(Name, u32)>, BindError> {
    let mut created = Vec::new();
    for c in catalogs {
        if !control.has_zone_file(&c.name) {
            let key = crate::model::ascii(&c.name);
            let serial = initial_serial(last.get(&key).copied(), now);
            control.write_zone_file(&c.name, &initial_text(c, serial, index))?;
            created.push((c.name.clone(), serial));
        }
    }
    Ok(created)
}

/// The serial a new catalog starts at. A secondary that consumed a catalog of the same name
/// before (a secondary removed, then added back) still holds it at its last serial and
/// transfers the new one only when its serial is greater (RFC 1982): so it starts at the
/// Unix time `now`, greater than the start of any earlier catalog, and above `last`, the
/// recorded last serial of the one before, when that is greater still (a catalog that took
/// more UPDATEs than seconds passed).
pub fn initial_serial(last: Option<u32>, now: i64) -> u32 {
    let base = u32::try_from(now).unwrap_or(u32::MAX).max(1);
    match last {
        Some(l) if serial_ge(l, base) => l.wrapping_add(1).max(1),
        _ => base,
    }
}

/// The zone file of a new member catalog at `serial`: every zone recorded in its group, so
/// that a secondary joining the group gets them all.
pub fn initial_text(
    c: &MemberCatalog,
    serial: u32,
    index: &BTreeMap<String, RecordedZone>,
) -> String {
    let members: Vec<Name> = index
        .values()
        .filter(|z| z.group == c.group)
        .map(|z| name(&z.name))
        .collect();
    catalog::initial_text_with(&c.name, serial, &members)
}

/// Adds `zones` to (or removes them from) each of `catalogs`, with signed UPDATEs. One
/// catalog failing does not stop the others: every catalog is tried, and the failures are
/// returned together (each naming catalog, secondary and group).
pub async fn edit(
    updater: &dyn Sender,
    catalogs: &[&MemberCatalog],
    zones: &[Name],
    add: bool,
) -> Result<(), String> {
    let mut failures = Vec::new();
    for c in catalogs {
        let updates = if add {
            catalog::add_members(&c.name, zones)
        } else {
            catalog::remove_members(&c.name, zones)
        };
        for u in updates {
            if let Err(e) = updater.send(&c.name, &u, None).await {
                failures.push(format!(
                    "{} zones in catalog {} of {} (group {}): {e}",
                    if add { "adding" } else { "removing" },
                    c.name,
                    c.server,
                    c.group
                ));
                break;
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::initial_serial;

    #[test]
    fn a_new_catalog_starts_above_any_serial_of_the_one_before() {
        let now = 1_780_000_000;
        // Never recorded: the time, far above serial 1 of catalogs made before.
        assert_eq!(initial_serial(None, now), 1_780_000_000);
        // Recorded below the time (the usual case): the time.
        assert_eq!(initial_serial(Some(1_779_000_000), now), 1_780_000_000);
        assert_eq!(initial_serial(Some(7), now), 1_780_000_000);
        // More UPDATEs than seconds since it was made: one above the last.
        assert_eq!(initial_serial(Some(1_780_000_050), now), 1_780_000_051);
        assert_eq!(initial_serial(Some(1_780_000_000), now), 1_780_000_001);
        // RFC 1982: across the wrap, u32::MAX is followed by 0, which BIND reads as greater.
        assert_eq!(initial_serial(Some(u32::MAX), i64::from(u32::MAX) - 5), 1);
    }
}
