//! Where derivation meets loading: every way a revision is read ([`crate::desired::load`],
//! `check`, `load_zone`, `load_changes`) derives the PTRs of its `auto_ptr` zones from
//! every zone of the revision once all are built, and reports what derivation could not
//! do at the reverse zone's `auto_ptr:` key.
//!
//! A reverse zone with `auto_ptr` depends on every zone file, so a plan that reads only
//! the changed files reads the others too (keeping of them only their A/AAAA RRsets) as
//! soon as anything changed and some reverse zone file may say `auto_ptr`; its result
//! holds the changed zones and every `auto_ptr` zone, which the plan compares by content
//! as any other.

use std::collections::HashSet;

use super::derive;
use crate::desired::problem::{Place, Problem, SourceFile};
use crate::desired::{Checked, How, Keep, Pending, Source, SourceError, build_zones, names};
use crate::model::Config;
use crate::model::record::ascii;

/// Where a zone file says `auto_ptr: true`: problems of its derivation point there.
#[derive(Debug, Clone)]
pub struct AutoSite {
    /// The zone (lower case, ASCII, trailing dot).
    pub zone: String,
    /// Its file.
    pub file: SourceFile,
    /// The `auto_ptr` value.
    pub place: Place,
}

/// Derives the PTRs of the `auto_ptr` zones among `checked.zones`, which must hold every
/// zone of the revision (forward zones at least with their A/AAAA RRsets); what it could
/// not do becomes a problem at the zone's `auto_ptr` key.
pub fn derive_checked(checked: &mut Checked, config: &Config) {
    let findings = derive(&mut checked.zones, config.max_records_per_type);
    for f in findings {
        let zone = ascii(&checked.zones[f.zone].name);
        let (file, place) = match checked.auto.iter().find(|s| s.zone == zone) {
            Some(s) => (s.file.clone(), s.place),
            None => (
                SourceFile::new(format!("zones/{zone}yaml"), String::new()),
                Place::start(),
            ),
        };
        checked.problems.push(
            Problem::new("zone::auto-ptr", &file, place, f.message)
                .label("PTRs derived here")
                .help(f.help),
        );
    }
    for zone in checked.zones.iter_mut().filter(|z| z.ptr.auto) {
        with_derived_source(zone);
    }
}

/// An `auto_ptr` zone's content depends on other files than its own: what it is recorded
/// with ([`crate::desired::source_id`]) covers its derived content too, so a comparison of
/// sources never takes it for unchanged when a forward zone moved.
pub fn with_derived_source(zone: &mut crate::model::Zone) {
    if !zone.source.is_empty() {
        let hash = zone.content_hash();
        zone.source = crate::desired::changes::short_hash(&[
            zone.source.as_bytes(),
            b"auto_ptr",
            hash.as_bytes(),
        ]);
    }
}

/// Whether a reverse zone file among `files` may say `auto_ptr`: its bytes hold
/// `auto_ptr`, or a backslash (a double-quoted key could spell it with escapes), or it
/// cannot be read (the full read reports why). Forward zone files are not read.
pub fn may_hold_auto_ptr(
    source: &Source,
    files: &[(String, Pending)],
) -> Result<bool, SourceError> {
    let reverse = |path: &str| {
        names::zone_name_of(path).is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.ends_with(".in-addr.arpa.")
                || n.ends_with(".ip6.arpa.")
                || n == "in-addr.arpa."
                || n == "ip6.arpa."
        })
    };
    let mut reader = None;
    for (path, pending) in files.iter().filter(|(p, _)| reverse(p)) {
        let reader = match &reader {
            Some(r) => r,
            None => reader.insert(source.reader()?),
        };
        match reader.bytes(path, pending)? {
            Some(Ok(bytes)) => {
                let says = bytes.windows(8).any(|w| w == b"auto_ptr") || bytes.contains(&b'\\');
                if says {
                    return Ok(true);
                }
            }
            Some(Err(_)) => return Ok(true),
            None => {}
        }
    }
    Ok(false)
}

/// The zones a plan reads when `files` changed (and zones were deleted when
/// `deleted_any`): those files, and, when some reverse zone may say `auto_ptr`, every
/// other zone file too (kept as their A/AAAA RRsets, `auto_ptr` zones whole) so that the
/// reverse zones are derived again; kept in the result: the changed zones and every
/// `auto_ptr` zone.
pub fn changed_zones(
    source: &Source,
    config: &Config,
    files: Vec<(String, Pending)>,
    deleted_any: bool,
) -> Result<Checked, SourceError> {
    if files.is_empty() && !deleted_any {
        return build_zones(files, source, config, How::CHANGES);
    }
    let all = source.zone_list()?;
    if !may_hold_auto_ptr(source, &all)? {
        return build_zones(files, source, config, How::CHANGES);
    }
    let changed: HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    let rest: Vec<(String, Pending)> = all
        .into_iter()
        .filter(|(p, _)| !changed.contains(p.as_str()))
        .collect();
    tracing::info!(
        read = rest.len(),
        "zone files read besides those changed: reverse zones with auto_ptr follow every zone's A/AAAA records"
    );
    let mut checked = build_zones(files, source, config, How::CHANGES)?;
    let changed_count = checked.zones.len();
    let how = How {
        scan_keys: true,
        keep: Keep::Addresses,
    };
    let others = build_zones(rest, source, config, how)?;
    checked.problems.extend(others.problems);
    checked.names.extend(others.names);
    checked.zones.extend(others.zones);
    checked.auto.extend(others.auto);
    derive_checked(&mut checked, config);
    let mut i = 0;
    checked.zones.retain(|z| {
        i += 1;
        i <= changed_count || z.ptr.auto
    });
    Ok(checked)
}

/// Zone `name` (an `auto_ptr` zone) with its derived PTRs: every zone of the revision is
/// read; the problems of its own file are added to `problems`.
pub fn load_one(
    source: &Source,
    config: &Config,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Result<Option<crate::model::Zone>, SourceError> {
    let how = How {
        scan_keys: false,
        keep: Keep::Addresses,
    };
    let mut checked = build_zones(source.zone_list()?, source, config, how)?;
    derive_checked(&mut checked, config);
    let path = format!("zones/{name}yaml");
    problems.extend(checked.problems.into_iter().filter(|p| p.file.path == path));
    Ok(checked.zones.into_iter().find(|z| ascii(&z.name) == name))
}
