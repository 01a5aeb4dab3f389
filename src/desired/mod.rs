//! The desired state: read from Git at a revision, parsed with source spans, validated.
//!
//! Layout of a desired-state repository:
//!
//! ```text
//! zonekeeper.yaml          the primary, the secondaries, the server groups
//! zones/example.com.yaml   one file per zone, named after the zone
//! ```
//!
//! Nothing invalid goes further: [`load`] returns every problem of the revision at once,
//! each pointing at `file:line:col`.

pub mod auto_ptr;
mod changes;
pub mod hostnames;
pub mod names;
pub mod plain;
pub mod problem;
pub mod secrets;
pub mod source;
pub mod validate;
pub mod yaml;
pub mod zone;
mod zone_rules;

use std::collections::BTreeMap;

pub use changes::{load_changes, source_id};
pub use problem::{Place, Problem, Problems, SourceFile};
pub use source::{
    Content, FileChange, Pending, Reader, Refused, Revision, Source, SourceError, open_repository,
};

use hickory_proto::rr::RecordType;

use crate::model::{Config, Zone};

/// The desired state at one revision.
#[derive(Debug)]
pub struct DesiredState {
    /// The revision it was read from.
    pub revision: Revision,
    /// Servers and groups.
    pub config: Config,
    /// Zones by name (lower case, with the trailing dot). With [`Scope::Changes`], only the
    /// zones whose files changed.
    pub zones: BTreeMap<String, Zone>,
    /// Whether every zone was read.
    pub scope: Scope,
}

impl DesiredState {
    /// What zone `name` was built from ([`source_id`]), to record with it; empty when it
    /// is not among the zones read.
    pub fn source_of(&self, name: &str) -> String {
        self.zones
            .get(name)
            .map(|z| z.source.clone())
            .unwrap_or_default()
    }
}

/// How much of the revision was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every zone file.
    Full,
    /// Only the zone files that changed since a recorded revision; `deleted` names the
    /// zones whose files are gone.
    Changes {
        /// The revision compared against.
        since: String,
        /// Zones whose files were deleted.
        deleted: Vec<String>,
    },
}

/// Why the desired state could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The repository could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The revision is invalid.
    #[error("the desired state has {} problem(s)", .0.0.len())]
    Invalid(Problems),
}

/// Turns a YAML parse error into a problem at its location.
fn parse_problem(file: &SourceFile, err: &serde_saphyr::Error) -> Problem {
    let place = err
        .location()
        .map(|l| Place::of(&l))
        .map(|mut p| {
            if p.len == 0 || p.offset == 0 && p.line > 1 {
                p.offset = offset_of(&file.text, p.line, p.column);
                p.len = 1;
            }
            p
        })
        .unwrap_or(Place::start());
    let message = err.without_snippet().to_string();
    let message = message
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map(|(_, m)| m.to_string())
        .unwrap_or(message);
    // the place is shown with the problem: not again at the end of the message
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_string(),
        _ => message,
    };
    Problem::new("yaml::syntax", file, place, message.trim().to_string())
        .label("here")
        .help("fix the YAML here; `zonekeeper validate --worktree` checks uncommitted files")
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = text[start.min(text.len())..].lines().next().unwrap_or("");
    let col: usize = line_text
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    (start + col).min(text.len())
}

/// A file's text for problems: what is shown is redacted (no secret is ever echoed).
fn source_file(path: &str, text: &str) -> SourceFile {
    SourceFile::new(path, secrets::redact(text))
}

/// The problem for a file that is not read (a link, not UTF-8, ...).
fn refused(path: &str, r: Refused) -> Problem {
    let file = source_file(path, &r.shown);
    Problem::new(r.code, &file, r.place, r.message).help(r.help)
}

/// Reads and checks `zonekeeper.yaml`.
pub fn load_config(
    source: &Source,
    problems: &mut Vec<Problem>,
) -> Result<Option<Config>, SourceError> {
    let text = match source.read(source::CONFIG_FILE)? {
        Some(Ok(text)) => text,
        Some(Err(r)) => {
            problems.push(refused(source::CONFIG_FILE, r));
            return Ok(None);
        }
        None => {
            let file = SourceFile::new(source::CONFIG_FILE, String::new());
            problems.push(
                Problem::new("repo::no-config", &file, Place::start(), format!("{} is missing", source::CONFIG_FILE))
                    .help("a desired-state repository has zonekeeper.yaml at its top; copy the one in examples/"),
            );
            return Ok(None);
        }
    };
    let file = source_file(source::CONFIG_FILE, &text);
    match yaml::parse::<yaml::ConfigFile>(&text) {
        Ok(y) => Ok(Some(validate::build_config(&file, &y, source, problems))),
        Err(e) => {
            problems.push(parse_problem(&file, &e));
            Ok(None)
        }
    }
}

/// Reads and checks one zone's file (`zone` lower case with the trailing dot); `None`
/// when the revision has no such file or it is invalid (problems say why).
pub fn load_zone(
    source: &Source,
    config: &Config,
    zone: &str,
    problems: &mut Vec<Problem>,
) -> Result<Option<Zone>, SourceError> {
    let path = format!("{}/{}yaml", source::ZONES_DIR, zone);
    let Some(content) = source.read(&path)? else {
        return Ok(None);
    };
    let files = vec![(path, Pending::Known(content))];
    let how = How {
        scan_keys: false,
        keep: Keep::All,
    };
    let checked = build_zones(files, source, config, how)?;
    problems.extend(checked.problems);
    match checked.zones.into_iter().next() {
        // its PTRs follow every zone of the revision
        Some(z) if z.ptr.auto => auto_ptr::load_one(source, config, zone, problems),
        z => Ok(z),
    }
}

/// Checks one zone file (`path` as in the repository, `zones/<zone>.yaml`, naming the
/// zone): its name, its text, its YAML, its rules. With the zone, the place of its
/// `auto_ptr: true`, if it says so.
pub fn check_zone_file(
    path: &str,
    text: &str,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Option<(Zone, Option<Place>)> {
    let file = source_file(path, text);
    let origin = match names::zone_of_file(path) {
        Ok(origin) => origin,
        Err(e) => {
            problems.push(
                Problem::new("zone::file-name", &file, Place::start(), e.message).help(e.help),
            );
            return None;
        }
    };
    // most files read plainly; serde-saphyr reads (and words the errors of) the rest
    let read = plain::zone_file(text).map_or_else(
        || {
            yaml::parse::<yaml::ZoneFile>(text).map(|mut f| {
                f.raw_scalars(text);
                f
            })
        },
        Ok,
    );
    match read {
        Ok(y) => zone::build_zone(&file, origin, &y, config, problems).map(|z| {
            let auto = y.auto_ptr.as_ref().filter(|_| z.ptr.auto).map(|a| a.place);
            (z, auto)
        }),
        Err(e) => {
            problems.push(parse_problem(&file, &e));
            None
        }
    }
}

/// Reads, then checks, some zone files with one reader; each file's text is dropped once
/// its zone is built. With `scan_keys`, the bytes read are also checked for key material
/// (they are the committed files: see [`secrets::committed_keys`]).
fn read_and_check(
    reader: &Reader,
    part: &[(String, Pending)],
    config: &Config,
    how: How,
) -> Result<Checked, SourceError> {
    let mut out = Checked::default();
    let problems = &mut out.problems;
    let settings = (how.keep != Keep::Names).then(|| changes::zone_settings(config));
    for (path, pending) in part {
        let Some(bytes) = reader.bytes(path, pending)? else {
            continue;
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(r) => {
                problems.push(refused(path, r));
                continue;
            }
        };
        if how.scan_keys {
            secrets::keys_in(path, &bytes, problems);
        }
        let text = match source::text_of(path, bytes) {
            Ok(text) => text,
            Err(r) => {
                problems.push(refused(path, r));
                continue;
            }
        };
        let Some((mut zone, auto)) = check_zone_file(path, &text, config, problems) else {
            continue;
        };
        let name = crate::model::ascii(&zone.name);
        if let Some(place) = auto {
            let file = source_file(path, &text);
            out.auto.push(auto_ptr::AutoSite {
                zone: name.clone(),
                file,
                place,
            });
        }
        out.names.push(name);
        if let (Some(settings), Pending::Blob(blob)) = (&settings, pending) {
            zone.source = source_id(blob, settings);
        }
        match how.keep {
            Keep::Names => {}
            Keep::All => out.zones.push(zone),
            Keep::Addresses => {
                if !zone.ptr.auto {
                    // what the derivation reads of a zone: its addresses and its name
                    zone.rrsets
                        .retain(|s| matches!(s.rtype, RecordType::A | RecordType::AAAA));
                    zone.rrsets.shrink_to_fit();
                }
                out.zones.push(zone);
            }
        }
    }
    Ok(out)
}

/// How [`build_zones`] reads and keeps.
#[derive(Debug, Clone, Copy)]
struct How {
    /// Check the bytes read for key material (they are the committed files).
    scan_keys: bool,
    /// What to keep of the zones built.
    keep: Keep,
}

/// What [`build_zones`] keeps of each zone built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Its name only (`validate` needs no more).
    Names,
    /// The whole zone.
    All,
    /// What [`auto_ptr::derive`] reads: `auto_ptr` zones whole, the others' A/AAAA RRsets.
    Addresses,
}

impl How {
    /// The changed zone files of a commit: checked for key material, kept.
    const CHANGES: How = How {
        scan_keys: true,
        keep: Keep::All,
    };
}

/// What [`build_zones`] found.
#[derive(Debug, Default)]
struct Checked {
    /// The valid zones, when kept.
    zones: Vec<Zone>,
    /// The valid zones' names.
    names: Vec<String>,
    /// Where the valid zones that say `auto_ptr: true` say it.
    auto: Vec<auto_ptr::AutoSite>,
    /// What is wrong.
    problems: Vec<Problem>,
}

/// Reads and checks zone files, in parallel on every core when there are many: each
/// thread reads its share of the blobs with its own reader, so the revision is never held
/// in memory as text, only as the zones built from it.
fn build_zones(
    files: Vec<(String, Pending)>,
    source: &Source,
    config: &Config,
    how: How,
) -> Result<Checked, SourceError> {
    // not `parallel::map_parts`: each thread gets a reader of its own, opened here (a
    // `Source` is not shared between threads)
    let threads = crate::model::parallel::threads_for(files.len());
    let results = if threads == 1 {
        vec![read_and_check(&source.reader()?, &files, config, how)]
    } else {
        let chunk = files.len().div_ceil(threads);
        let readers = (0..threads)
            .map(|_| source.reader())
            .collect::<Result<Vec<_>, _>>()?;
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .zip(readers)
                .map(|(part, reader)| {
                    scope.spawn(move || read_and_check(&reader, part, config, how))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut all = Checked::default();
    for result in results {
        let part = result?;
        all.problems.extend(part.problems);
        all.names.extend(part.names);
        all.zones.extend(part.zones);
        all.auto.extend(part.auto);
    }
    Ok(all)
}

/// Loads and validates every file of the revision.
pub fn load(source: &Source) -> Result<DesiredState, LoadError> {
    let (config, mut checked) = read_all(source, Keep::All)?;
    if let Some(c) = &config {
        auto_ptr::derive_checked(&mut checked, c);
    }
    finish(source, config, checked, Scope::Full)
}

/// A revision found valid by [`check`].
#[derive(Debug)]
pub struct Valid {
    /// The revision read.
    pub revision: Revision,
    /// Servers and groups.
    pub config: Config,
    /// How many zones it has.
    pub zones: usize,
}

/// Validates every file of the revision as [`load`] does, without keeping its zones: what
/// `validate` holds does not grow with the number of zones. When a reverse zone says
/// `auto_ptr`, the revision is read a second time keeping every zone's A/AAAA RRsets, and
/// the reverse zones are checked with their derived PTRs.
pub fn check(source: &Source) -> Result<Valid, LoadError> {
    let (mut config, mut checked) = read_all(source, Keep::Names)?;
    if config.is_some() && !checked.auto.is_empty() {
        (config, checked) = read_all(source, Keep::Addresses)?;
        if let Some(c) = &config {
            auto_ptr::derive_checked(&mut checked, c);
        }
    }
    let zones = checked.names.len();
    let state = finish(source, config, checked, Scope::Full)?;
    Ok(Valid {
        revision: state.revision,
        config: state.config,
        zones,
    })
}

/// Reads and checks `zonekeeper.yaml`, every zone file, and every committed file for key
/// material; `keep`: what to keep of the zones built.
fn read_all(source: &Source, keep: Keep) -> Result<(Option<Config>, Checked), LoadError> {
    let mut problems = Vec::new();
    let config = load_config(source, &mut problems)?;
    let files = source.zone_list()?;
    let scan_keys = source.zone_files_are_committed();
    secrets::committed_keys(source, None, scan_keys, &mut problems)?;
    let mut checked = match &config {
        Some(c) => build_zones(files, source, c, How { scan_keys, keep })?,
        None => Checked::default(),
    };
    checked.problems.extend(problems);
    Ok((config, checked))
}

/// The desired state, or every problem found, sorted by file and place; a zone that is
/// also a group's catalog zone is one.
fn finish(
    source: &Source,
    config: Option<Config>,
    checked: Checked,
    scope: Scope,
) -> Result<DesiredState, LoadError> {
    let mut problems = checked.problems;
    if let Some(c) = &config {
        for z in &checked.names {
            let zone = hickory_proto::rr::Name::from_ascii(z)
                .unwrap_or_else(|_| hickory_proto::rr::Name::root());
            if c.groups.values().any(|g| g.catalog.zone_of(&zone)) {
                let file = SourceFile::new(format!("zones/{}yaml", z), String::new());
                problems.push(
                    Problem::new(
                        "zone::catalog-clash",
                        &file,
                        Place::start(),
                        format!(
                            "zone {z} is a group's catalog zone, or a secondary's catalog of it"
                        ),
                    )
                    .help("rename the catalog zone in zonekeeper.yaml"),
                );
            }
        }
    }
    let zones = checked
        .zones
        .into_iter()
        .map(|z| (crate::model::ascii(&z.name), z))
        .collect();
    match config {
        Some(config) if problems.is_empty() => Ok(DesiredState {
            revision: source.revision().clone(),
            config,
            zones,
            scope,
        }),
        _ => {
            problems.sort_by(|a, b| {
                (a.file.path.as_str(), a.place.offset).cmp(&(b.file.path.as_str(), b.place.offset))
            });
            Err(LoadError::Invalid(Problems(problems)))
        }
    }
}
