//! Publishing to the primary, shared by the stages and the operations' actions: the
//! zones `zones.conf` lists ([`stanzas`]), one zone's UPDATE sent, verified by transfer and
//! recorded ([`send_and_record`]), and an operation's zones brought to their desired
//! content ([`publish_zones`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::ctx::{Ctx, group_sockets, name};
use super::step_error::StepError;
use super::{catalogs, content};
use crate::backend::bind::Stanza;
use crate::model::Config;
use crate::store::{AuditEntry, OperationRow, RecordedZone};

/// The zones the primary serves after this plan: recorded, plus created, minus `gone`;
/// and the member catalogs `cats`, each notifying its own secondary.
pub(super) fn stanzas(
    config: &Config,
    index: &BTreeMap<String, RecordedZone>,
    desired_groups: &BTreeMap<String, String>,
    gone: &BTreeSet<String>,
    cats: &[catalogs::MemberCatalog],
) -> Vec<Stanza> {
    // A zone moving between groups is notified to both while it moves.
    let mut groups: BTreeMap<String, BTreeSet<String>> = index
        .iter()
        .map(|(n, z)| (n.clone(), BTreeSet::from([z.group.clone()])))
        .collect();
    for (zone, group) in desired_groups {
        groups
            .entry(zone.clone())
            .or_default()
            .insert(group.clone());
    }
    let notify = |groups: &mut dyn Iterator<Item = &String>| {
        let mut addrs: Vec<SocketAddr> = groups
            .flat_map(|g| group_sockets(config, g))
            .map(|(_, a)| a)
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    };
    let mut out: Vec<Stanza> = cats
        .iter()
        .map(|c| Stanza {
            zone: c.name.clone(),
            notify: c.notify.clone(),
            copy_of: None,
        })
        .collect();
    for (zone, gs) in groups {
        if !gone.contains(&zone) {
            out.push(Stanza {
                zone: name(&zone),
                notify: notify(&mut gs.iter()),
                copy_of: None,
            });
        }
    }
    out
}

/// One zone's UPDATE, and what it leads to.
pub(super) struct Change<'a> {
    /// The zone.
    pub zone: &'a Name,
    /// Its group.
    pub group: &'a str,
    /// The zone's canonical text once the UPDATE took effect, at `new_serial`.
    pub target: &'a str,
    /// The UPDATE.
    pub update: &'a crate::backend::update::Update,
    /// The serial the UPDATE requires.
    pub recorded_serial: u32,
    /// The serial it brings.
    pub new_serial: u32,
}

/// Sends a zone's UPDATE (written ahead in the store first), checks that the primary then
/// serves exactly `target` (AXFR), and records the zone with an audit entry; each followed
/// by a crash-test boundary. A failed SOA prerequisite is no drift when the primary already
/// serves `target`, or the content an interrupted run intended (recorded now; the step is
/// then tried again from it).
pub(super) async fn send_and_record(
    ctx: &Ctx<'_>,
    c: &Change<'_>,
    detail: &str,
) -> Result<(), StepError> {
    use crate::backend::update::UpdateError;
    use crate::model::zone::text_hash;
    let Change {
        zone,
        group,
        target,
        update,
        recorded_serial,
        new_serial,
    } = *c;
    let name = crate::model::ascii(zone);
    let store = ctx.store;
    let earlier = store.intent(&name).await?;
    let intent = crate::store::ZoneIntent {
        name: name.clone(),
        group: group.to_string(),
        serial: new_serial,
        content: target.to_string(),
        commit_id: ctx.desired.revision.id.clone(),
    };
    store.set_intent(&intent, ctx.opts.now).await?;
    ctx.boundary("zone intent written").await;
    match ctx.updater.send(zone, update, Some(recorded_serial)).await {
        Ok(()) => {}
        Err(e @ UpdateError::Drift { .. }) => {
            let served = match content::transfer(ctx.updater, zone).await {
                Ok(served) => served,
                Err(source) => return Err(StepError::DriftUnreadable { drift: e, source }),
            };
            if !content::same_content(target, &served) {
                let Some(i) = earlier.filter(|i| content::same_content(&i.content, &served)) else {
                    return Err(e.into());
                };
                let row = RecordedZone {
                    name: name.clone(),
                    group: i.group.clone(),
                    serial: served.serial.unwrap_or(i.serial),
                    content_hash: text_hash(&served.text),
                    content: served.text.clone(),
                    verified: false,
                    commit_id: i.commit_id.clone(),
                    // not known: the zone is read again by the next plan
                    source: String::new(),
                };
                let audit = AuditEntry {
                    at: ctx.opts.now,
                    commit_id: i.commit_id.clone(),
                    author: ctx.desired.revision.author.clone(),
                    action: "update".into(),
                    target: name.clone(),
                    detail: format!("{detail}: an interrupted apply's change landed; recorded now"),
                };
                store.record_zones(&[(row, audit)]).await?;
                ctx.boundary("landed change recorded").await;
                return Err(StepError::Landed { zone: name });
            }
        }
        Err(e) => return Err(e.into()),
    }
    ctx.boundary("UPDATE sent").await;
    let served = content::transfer(ctx.updater, zone)
        .await
        .map_err(|source| StepError::Untransferable {
            zone: name.clone(),
            source,
        })?;
    let serial = new_serial;
    let want = target.to_string();
    if let Some(diff) = content::difference(&name, &want, &served, serial) {
        return Err(StepError::Mismatch(diff));
    }
    let row = RecordedZone {
        name: name.clone(),
        group: group.to_string(),
        serial,
        content_hash: text_hash(&want),
        content: want,
        verified: false,
        commit_id: ctx.desired.revision.id.clone(),
        source: ctx.desired.source_of(&name),
    };
    let audit = AuditEntry {
        at: ctx.opts.now,
        commit_id: ctx.desired.revision.id.clone(),
        author: ctx.desired.revision.author.clone(),
        action: "update".into(),
        target: name.clone(),
        detail: format!("{detail}: serial {recorded_serial} → {serial}"),
    };
    store.record_zones(&[(row, audit)]).await?;
    ctx.boundary("zone recorded").await;
    store.clear_intents(&[name]).await?;
    ctx.boundary("intent cleared").await;
    Ok(())
}

/// Brings every zone of the operation to its desired content (several UPDATEs when the
/// change does not fit one message), each verified by transfer before it is recorded.
pub(super) async fn publish_zones(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    zones: &[String],
) -> Result<(), StepError> {
    let sender = super::change::Sender::of(ctx);
    for zone in zones {
        let Some(desired) = ctx.desired.zones.get(zone) else {
            continue;
        };
        let Some(recorded) = ctx.store.zone(zone).await? else {
            continue;
        };
        if recorded.content_hash == desired.content_hash() {
            continue;
        }
        let mut sent = sender
            .send(desired, &recorded.content, Some(recorded.serial), "update")
            .await
            .map_err(StepError::Zone)?;
        sent.detail = format!("op {} ({} {}): {}", op.id, op.kind, op.server, sent.detail);
        let (_, failures) = sender.verify_and_record(&[sent]).await?;
        if let Some(f) = failures.into_iter().next() {
            return Err(StepError::Zone(f));
        }
    }
    Ok(())
}
