//! `zonekeeper show zone NAME`: one zone's records as desired (at the revision) and as
//! recorded (the store's), with the difference when they disagree (as `plan` shows it),
//! the serial each server of its group serves and whether it answers with AA (every
//! server asked at once, with a short timeout), and the operations that concern it. A zone
//! neither in the revision nor in the store is an error (exit 1).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use miette::IntoDiagnostic;

use super::super::state;
use super::super::{Format, Global};
use super::zone_text;
use crate::desired::{self, Source};
use crate::live::{self, SoaAnswer, Transport};
use crate::store::{OperationRow, RecordedZone};

/// How long each server gets to answer.
const TIMEOUT: Duration = Duration::from_secs(1);

/// What the desired state says of the zone.
pub enum Desired {
    /// Its file at the revision: the zone's canonical text (at the recorded serial, or 0).
    Present {
        /// Canonical text, SOA first.
        text: String,
        /// Its content hash (serial left out).
        hash: String,
    },
    /// No file for it at the revision.
    Absent,
    /// Its file, or `zonekeeper.yaml`, is invalid at the revision.
    Invalid,
}

/// One server's answer.
pub struct Served {
    /// Its name (the primary's or a secondary's).
    pub server: String,
    /// Where it was asked.
    pub addr: SocketAddr,
    /// What it answered.
    pub answer: SoaAnswer,
}

/// Everything `show zone` shows.
pub struct Shown {
    /// The zone, lower case with its trailing dot.
    pub zone: String,
    /// Its group: the desired one, else the recorded one.
    pub group: Option<String>,
    /// The revision read.
    pub revision: String,
    /// As desired.
    pub desired: Desired,
    /// As recorded.
    pub recorded: Option<RecordedZone>,
    /// Each server's answer: the primary, then the group's secondaries.
    pub servers: Vec<Served>,
    /// Operations under way that concern it.
    pub ops: Vec<OperationRow>,
}

impl Shown {
    /// Whether desired and recorded content agree, when both exist.
    pub fn in_sync(&self) -> Option<bool> {
        match (&self.desired, &self.recorded) {
            (Desired::Present { hash, .. }, Some(r)) => Some(*hash == r.content_hash),
            _ => None,
        }
    }
}

/// The zone's name as the store spells it: lower case, one trailing dot.
fn normalized(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.')).to_lowercase()
}

/// Runs `show zone`.
pub async fn run(g: &Global, name: &str, all: bool) -> miette::Result<u8> {
    let zone = normalized(name);
    let zname = Name::from_ascii(&zone).map_err(|e| {
        miette::miette!(
            help =
                "give the zone's name as in its file name, e.g. `zonekeeper show zone example.com`",
            "`{name}` is not a zone name: {e}"
        )
    })?;
    let source = Source::open(&g.repo, Some(&g.rev), g.worktree).into_diagnostic()?;
    let revision = source.revision().id.clone();
    let mut problems = Vec::new();
    let config = desired::load_config(&source, &mut problems).into_diagnostic()?;
    let desired_zone = match &config {
        Some(c) => desired::load_zone(&source, c, &zone, &mut problems).into_diagnostic()?,
        None => None,
    };
    let store = state::open_store(g).await?;
    let recorded = recorded(&store, &zone).await;
    store.close().await;
    let (recorded, ops) = recorded?;
    let desired = match (&desired_zone, problems.is_empty()) {
        (Some(z), _) => Desired::Present {
            text: z.canonical_text(recorded.as_ref().map_or(0, |r| r.serial)),
            hash: z.content_hash(),
        },
        (None, true) => Desired::Absent,
        (None, false) => Desired::Invalid,
    };
    if matches!(desired, Desired::Absent) && recorded.is_none() {
        return Err(miette::miette!(
            help =
                "`zonekeeper status` counts the recorded zones; a zone's file is zones/<zone>.yaml",
            "zone {zone} is not in revision {} nor in the store",
            &revision[..revision.len().min(12)]
        ));
    }
    let group = desired_zone
        .as_ref()
        .map(|z| z.group.clone())
        .or_else(|| recorded.as_ref().map(|r| r.group.clone()));
    let servers = ask(config.as_ref(), group.as_deref(), &zname).await;
    let shown = Shown {
        zone,
        group,
        revision,
        desired,
        recorded,
        servers,
        ops,
    };
    match g.format {
        Format::Json => crate::outln!("{}", zone_text::json(&shown))?,
        Format::Text => crate::out!(
            "{}",
            zone_text::text(&shown, all, super::super::color_wanted())
        )?,
    }
    Ok(0)
}

/// The zone as the store records it, and the operations under way that concern it.
async fn recorded(
    store: &crate::store::Store,
    zone: &str,
) -> miette::Result<(Option<RecordedZone>, Vec<OperationRow>)> {
    let recorded = store.zone(zone).await.into_diagnostic()?;
    let ops = store
        .operations(false)
        .await
        .into_diagnostic()?
        .into_iter()
        .filter(|o| o.zones.iter().any(|z| z == zone))
        .collect();
    Ok((recorded, ops))
}

/// Asks the primary and every secondary of `group` (as `config` names them) for the
/// zone's SOA, all at once, each with [`TIMEOUT`].
async fn ask(
    config: Option<&crate::model::Config>,
    group: Option<&str>,
    zone: &Name,
) -> Vec<Served> {
    let Some(c) = config else {
        return Vec::new();
    };
    let mut targets: Vec<(String, SocketAddr)> = vec![(c.primary.name.clone(), c.primary.addr)];
    if let Some(g) = group {
        for s in c.group_secondaries(g) {
            targets.extend(s.sockets().into_iter().map(|a| (s.name.clone(), a)));
        }
    }
    let answers = futures_util::future::join_all(
        targets
            .iter()
            .map(|(_, addr)| live::soa(*addr, zone, Transport::Udp, TIMEOUT)),
    )
    .await;
    targets
        .into_iter()
        .zip(answers)
        .map(|((server, addr), answer)| Served {
            server,
            addr,
            answer,
        })
        .collect()
}
