//! The rules between a zone's RRsets: those BIND's `named-checkzone` enforces or warns
//! about when it loads a zone, checked here first so that no server is ever sent a zone it
//! would refuse or serve other than as written. In RFC 8499 terms:
//!
//! - **CNAME**: alone at its name (RFC 1034 3.6.2), never at the apex, one record, and no
//!   CNAME loop (a chain of in-zone CNAMEs that comes back to itself).
//! - **Zone cuts**: a *delegation point* is a name below the apex that owns an NS RRset;
//!   the zone cut there hands the names at and below it to the child zone. At a delegation
//!   point only NS, DS and glue may be written. Below it only glue: A/AAAA records of a
//!   name that an NS RRset of the zone names as a name server (in-bailiwick glue, which
//!   resolvers need to reach the child). Anything else there is *occluded*: the zone holds
//!   it but never serves it.
//! - **DNAME**: no data at any name below a DNAME's owner (RFC 6672 2.3): the DNAME
//!   redirects every name under it. (A DNAME at a delegation point is data at a delegation
//!   point; a DNAME next to a CNAME is a CNAME conflict.)
//! - **In-zone targets** of MX, NS and SRV: an MX or SRV target must not be at or below a
//!   zone cut (named-checkzone: "is below a zone cut": its addresses are the child zone's,
//!   not this zone's); an NS target there is glue. A target must have an address (A or
//!   AAAA) at its own name or by wildcard matching (RFC 4592: a target that does not exist
//!   is answered from the `*` child of its closest encloser), and must not be an alias
//!   (RFC 2181 10.3).
//! - **BIND's `max-records-per-type`**: no RRset holds more records than the servers load.
//!
//! Every check is linear in the zone's RRsets: names are looked up in hash maps, and a
//! name's ancestors (a few labels) are walked up to the apex only when the zone has a zone
//! cut, a DNAME or a wildcard.

use std::collections::{HashMap, HashSet};

use hickory_proto::rr::{Name, RecordType};

use super::problem::Problem;
use super::validate::Checker;
use super::zone::Built;
use crate::model::record::target;

/// The limits the servers enforce when they load a zone or take an UPDATE: BIND's
/// `max-records-per-type` (0: no limit). The apex NS RRset the group provides counts too.
pub(super) fn check_limits(
    c: &mut Checker<'_>,
    origin: &Name,
    built: &[Built],
    max_records_per_type: u32,
) {
    if max_records_per_type == 0 {
        return;
    }
    for b in built {
        let n = b.set.rdatas.len();
        if n <= max_records_per_type as usize {
            continue;
        }
        let what = if &b.set.owner == origin && b.set.rtype == RecordType::NS {
            "the apex NS RRset (the group's `nameservers`, unless `group_nameservers: false`)"
                .to_string()
        } else {
            format!("the {} RRset", b.set.rtype)
        };
        c.report(
            "record::too-many",
            b.type_place,
            format!(
                "{} RRset at {} has {n} records: the servers load at most {max_records_per_type} records of one type at one name",
                b.set.rtype, b.set.owner
            ),
            format!(
                "BIND refuses to load the whole zone (max-records-per-type): shorten {what}, spread the records over several names, or raise max-records-per-type on every server and `primary.max_records_per_type` in zonekeeper.yaml together"
            ),
        );
    }
}

/// CNAME exclusivity and loops, zone cuts, DNAME, and in-zone targets.
pub(super) fn check_rules(c: &mut Checker<'_>, origin: &Name, built: &[Built]) {
    let ix = Index::new(origin, built);
    check_cnames(c, &ix, built);
    check_cname_loops(c, &ix, built);
    check_cuts(c, &ix, built);
    check_targets(c, &ix, built);
}

/// The number of labels of a name, a wildcard's `*` included.
fn labels(name: &Name) -> usize {
    name.iter().len()
}

/// A zone's RRsets, looked up by owner name (hickory's names hash and compare without
/// regard to case).
struct Index<'a> {
    origin: &'a Name,
    /// The apex's number of labels.
    apex_labels: usize,
    by_owner: HashMap<&'a Name, Vec<&'a Built>>,
    /// Delegation points (owners below the apex with an NS RRset), with that RRset.
    cuts: HashMap<&'a Name, &'a Built>,
    /// DNAME owners, with the DNAME RRset.
    dnames: HashMap<&'a Name, &'a Built>,
    /// The in-zone names an NS RRset of the zone (the apex's included) names as a name
    /// server: the names whose A/AAAA records are glue.
    ns_targets: HashSet<&'a Name>,
    /// Every name that exists (RFC 4592 2.2.2): the owners and their ancestors up to the
    /// apex, empty non-terminals included. Only for a zone with a wildcard.
    existing: Option<HashSet<Name>>,
}

impl<'a> Index<'a> {
    fn new(origin: &'a Name, built: &'a [Built]) -> Self {
        let mut by_owner: HashMap<&Name, Vec<&Built>> = HashMap::with_capacity(built.len());
        let mut cuts = HashMap::new();
        let mut dnames = HashMap::new();
        let mut ns_targets = HashSet::new();
        for b in built {
            let owner = &b.set.owner;
            by_owner.entry(owner).or_default().push(b);
            match b.set.rtype {
                RecordType::NS => {
                    if owner != origin {
                        cuts.insert(owner, b);
                    }
                    let targets = b.set.rdatas.iter().filter_map(target);
                    ns_targets.extend(targets.filter(|t| origin.zone_of(t)));
                }
                RecordType::DNAME => {
                    dnames.insert(owner, b);
                }
                _ => {}
            }
        }
        let apex_labels = labels(origin);
        let existing = built.iter().any(|b| b.set.owner.is_wildcard()).then(|| {
            let mut existing = HashSet::with_capacity(2 * by_owner.len());
            existing.insert(origin.clone());
            for owner in by_owner.keys() {
                // stops at a name already there: its ancestors are there too
                let mut name = (*owner).clone();
                while labels(&name) > apex_labels && existing.insert(name.clone()) {
                    name = name.base_name();
                }
            }
            existing
        });
        Index {
            origin,
            apex_labels,
            by_owner,
            cuts,
            dnames,
            ns_targets,
            existing,
        }
    }

    /// The ancestors of `name` (inside the zone), nearest first: its parent, …, the apex.
    fn ancestors(&self, name: &Name) -> impl Iterator<Item = Name> {
        let n = labels(name).saturating_sub(self.apex_labels);
        std::iter::successors(Some(name.base_name()), |a| Some(a.base_name())).take(n)
    }

    /// The highest delegation point above `name` (or at it, with `or_at`): the zone cut
    /// that `name` is below, with its NS RRset.
    fn cut_above(&self, name: &Name, or_at: bool) -> Option<(Name, &'a Built)> {
        if self.cuts.is_empty() {
            return None;
        }
        let mut highest = None;
        if or_at && let Some(b) = self.cuts.get(name) {
            highest = Some((name.clone(), *b));
        }
        for a in self.ancestors(name).filter(|a| a != self.origin) {
            if let Some(b) = self.cuts.get(&a) {
                highest = Some((a, *b));
            }
        }
        highest
    }

    /// The highest DNAME owner strictly above `name` (the apex included), with its DNAME.
    fn dname_above(&self, name: &Name) -> Option<(Name, &'a Built)> {
        if self.dnames.is_empty() {
            return None;
        }
        let mut highest = None;
        for a in self.ancestors(name) {
            if let Some(b) = self.dnames.get(&a) {
                highest = Some((a, *b));
            }
        }
        highest
    }

    /// The RRsets a lookup of `name` finds: those at `name`, or, when `name` does not
    /// exist, those of the `*` child of its closest encloser (RFC 4592 3.3.1), with that
    /// wildcard's name. None for a name with no data (an empty non-terminal, a name no
    /// wildcard covers).
    fn lookup(&self, name: &Name) -> Option<(&[&'a Built], Option<Name>)> {
        if let Some(sets) = self.by_owner.get(name) {
            return Some((sets, None));
        }
        let existing = self.existing.as_ref()?;
        if existing.contains(name) {
            return None;
        }
        let encloser = self.ancestors(name).find(|a| existing.contains(a))?;
        let wildcard = encloser.prepend_label("*").ok()?;
        let sets = self.by_owner.get(&wildcard)?;
        Some((sets, Some(wildcard)))
    }
}

/// A CNAME is alone at its name, holds one record, and is not at the apex.
fn check_cnames(c: &mut Checker<'_>, ix: &Index<'_>, built: &[Built]) {
    for b in built.iter().filter(|b| b.set.rtype == RecordType::CNAME) {
        if &b.set.owner == ix.origin {
            c.report(
                "record::cname-apex",
                b.type_place,
                "a CNAME cannot be at the zone apex",
                "the apex holds SOA and NS; use A/AAAA records here",
            );
            continue;
        }
        if b.set.rdatas.len() > 1 {
            c.report(
                "record::cname-multiple",
                b.type_place,
                format!("CNAME at {} has {} values", b.set.owner, b.set.rdatas.len()),
                "a CNAME RRset holds exactly one record",
            );
        }
        let others = ix.by_owner.get(&b.set.owner).map(Vec::as_slice);
        if let Some(other) = others
            .unwrap_or_default()
            .iter()
            .find(|o| o.set.rtype != RecordType::CNAME)
        {
            c.problems.push(
                Problem::new("record::cname-conflict", c.file, b.type_place, format!("CNAME conflicts with {} at {}", other.set.rtype, b.set.owner))
                    .label("CNAME here")
                    .also(other.type_place, "other record here")
                    .help("a name with a CNAME can have no other data (RFC 1034 3.6.2): remove one of them"),
            );
        }
    }
}

/// A chain of in-zone CNAMEs that comes back to itself: reported once per loop, at the
/// CNAME of the loop written first, naming the whole chain.
fn check_cname_loops(c: &mut Checker<'_>, ix: &Index<'_>, built: &[Built]) {
    // owner → (target, CNAME RRset), for the CNAMEs whose target is in the zone
    let mut next: HashMap<&Name, (&Name, &Built)> = HashMap::new();
    for b in built.iter().filter(|b| b.set.rtype == RecordType::CNAME) {
        if let Some(t) = b.set.rdatas.first().and_then(target)
            && ix.origin.zone_of(t)
        {
            next.insert(&b.set.owner, (t, b));
        }
    }
    // the walk that first reached each CNAME owner: each owner is walked once
    let mut walked: HashMap<&Name, usize> = HashMap::with_capacity(next.len());
    let mut path: Vec<(&Name, &Built)> = Vec::new();
    for (walk, start) in built.iter().enumerate() {
        if start.set.rtype != RecordType::CNAME {
            continue;
        }
        path.clear();
        let mut name = &start.set.owner;
        while let Some(&(to, b)) = next.get(name) {
            if let Some(&w) = walked.get(name) {
                if w == walk
                    && let Some(i) = path.iter().position(|(n, _)| *n == name)
                {
                    report_loop(c, &path[i..]);
                }
                break;
            }
            walked.insert(name, walk);
            path.push((name, b));
            name = to;
        }
    }
}

fn report_loop(c: &mut Checker<'_>, cycle: &[(&Name, &Built)]) {
    // starting at the CNAME written first, so that a loop reads the same however found
    let first = (0..cycle.len())
        .min_by_key(|&i| cycle[i].1.type_place.offset)
        .unwrap_or(0);
    let members: Vec<&Built> = cycle[first..]
        .iter()
        .chain(&cycle[..first])
        .map(|(_, b)| *b)
        .collect();
    let mut chain: Vec<String> = members.iter().map(|b| b.set.owner.to_string()).collect();
    chain.push(members[0].set.owner.to_string());
    let value = |b: &Built| b.value_places.first().copied().unwrap_or(b.type_place);
    let mut problem = Problem::new(
        "record::cname-loop",
        c.file,
        value(members[0]),
        format!("CNAME loop: {}", chain.join(" → ")),
    )
    .label("this CNAME starts the loop");
    for b in &members[1..] {
        problem = problem.also(value(b), format!("{} continues it", b.set.owner));
    }
    c.problems.push(problem.help(
        "a chain of CNAMEs must end at a name with data, or resolvers find no answer: point one of these CNAMEs at a name that is not an alias in the loop",
    ));
}

/// Data at and below delegation points, and below DNAMEs.
fn check_cuts(c: &mut Checker<'_>, ix: &Index<'_>, built: &[Built]) {
    if ix.cuts.is_empty() && ix.dnames.is_empty() {
        return;
    }
    for b in built {
        let (owner, rtype) = (&b.set.owner, b.set.rtype);
        if owner == ix.origin {
            continue;
        }
        let glue =
            matches!(rtype, RecordType::A | RecordType::AAAA) && ix.ns_targets.contains(owner);
        if let Some((cut, ns)) = ix.cut_above(owner, false) {
            if !glue {
                c.problems.push(
                    Problem::new("record::occluded", c.file, b.type_place, format!("{rtype} at {owner} is occluded: it is below the zone cut at {cut}, so this zone never serves it"))
                        .also(ns.type_place, "the delegation point")
                        .help(format!("the child zone {cut} is authoritative for names below it: write the {rtype} in the child zone, or remove the delegation (the NS at {cut}); below a zone cut only glue (A/AAAA of a name server an NS record names) belongs here")),
                );
            }
        } else if ix.cuts.contains_key(owner)
            && !glue
            && !matches!(
                rtype,
                RecordType::NS | RecordType::DS | RecordType::CNAME // CNAME: a conflict
            )
        {
            c.report(
                "record::delegation-data",
                b.type_place,
                format!("{rtype} at the delegation point {owner}: only NS, DS and glue belong at a zone cut"),
                format!("the child zone {owner} is authoritative for its apex: write the {rtype} in the child zone, or remove the NS at {owner} to serve it from this zone"),
            );
        } else if let Some((dname, d)) = ix.dname_above(owner) {
            c.problems.push(
                Problem::new("record::dname-below", c.file, b.type_place, format!("{rtype} at {owner} is below the DNAME at {dname}: no data may exist under a DNAME"))
                    .also(d.type_place, "the DNAME")
                    .help(format!("a DNAME redirects every name under {dname} (RFC 6672 2.3): write the {rtype} under the DNAME's target, or remove the DNAME")),
            );
        }
    }
}

/// In-zone targets of MX, NS and SRV have an address, are not aliases, and (MX, SRV) are
/// not below a zone cut.
fn check_targets(c: &mut Checker<'_>, ix: &Index<'_>, built: &[Built]) {
    for b in built {
        let rtype = b.set.rtype;
        if !matches!(rtype, RecordType::MX | RecordType::NS | RecordType::SRV) {
            continue;
        }
        for (rdata, place) in b.set.rdatas.iter().zip(&b.value_places) {
            let Some(t) = target(rdata) else { continue };
            if t.is_root() || !ix.origin.zone_of(t) {
                continue;
            }
            if rtype != RecordType::NS
                && let Some((cut, ns)) = ix.cut_above(t, true)
            {
                c.problems.push(
                    Problem::new("record::target-below-cut", c.file, *place, format!("{rtype} target {t} is below the zone cut at {cut}: its addresses are the child zone's, not this zone's"))
                        .also(ns.type_place, "the delegation point")
                        .help(format!("named-checkzone reports a {rtype} target below a zone cut: point the {rtype} at a host this zone serves, outside {cut}, or remove the delegation")),
                );
                continue;
            }
            let found = ix.lookup(t);
            let (sets, wildcard) = found.unwrap_or_default();
            let has = |ty: RecordType| sets.iter().any(|o| o.set.rtype == ty);
            let by = |what: &str| {
                wildcard
                    .as_ref()
                    .map(|w| format!(" ({what} the wildcard {w} that covers it)"))
                    .unwrap_or_default()
            };
            if has(RecordType::CNAME) {
                c.report("record::target-cname", *place, format!("{rtype} target {t} is a CNAME{}", by("by")), format!("{rtype} targets must be names with address records, never aliases (RFC 2181 10.3)"));
            } else if !has(RecordType::A) && !has(RecordType::AAAA) {
                let (what, help) = if rtype == RecordType::NS {
                    (
                        "needs glue",
                        format!("add an A or AAAA record for {t} in this zone"),
                    )
                } else {
                    (
                        "has no address",
                        format!(
                            "add an A or AAAA record for {t}, or point the {rtype} at an existing host"
                        ),
                    )
                };
                c.report(
                    "record::target-missing",
                    *place,
                    format!(
                        "{rtype} target {t} {what}: it has no A or AAAA record in this zone{}",
                        by("nor has")
                    ),
                    help,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
