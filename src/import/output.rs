//! One imported zone into the work tree: its content (canonical lines, as a transfer or
//! the master-file reader gives them) written as `zones/<zone>.yaml` by
//! `drift::zone_yaml`, built again as `validate` builds it and compared with what was
//! read, then written atomically (a temporary file beside it, renamed). A zone whose file
//! exists is left alone unless forced; a zone the format cannot state, or whose file
//! would not build to exactly what was read, is not written and says why.

use std::path::{Path, PathBuf};

use super::Problem;
use crate::desired;
use crate::drift::zone_yaml;
use crate::model::config::{Config, Group};
use crate::model::served::{Served, differing_rrsets, same_content};

/// Where and how zones are written.
pub struct Target<'a> {
    /// The repository's work tree.
    pub workdir: &'a Path,
    /// The configuration the files are checked against.
    pub config: &'a Config,
    /// The group the zones go to.
    pub group: &'a Group,
    /// Overwrite existing zone files.
    pub force: bool,
    /// The zones written in this run, with their source: one source per zone.
    pub claimed: std::sync::Mutex<std::collections::HashMap<String, PathBuf>>,
}

/// What became of one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written.
    Written {
        /// The zone, lower case with its trailing dot.
        zone: String,
        /// The file, relative to the work tree.
        file: String,
        /// Its SOA serial as read.
        serial: u32,
        /// Records read (the SOA included).
        records: usize,
    },
    /// Its file exists and `--force` was not given.
    Exists {
        /// The zone.
        zone: String,
        /// The file.
        file: String,
    },
    /// Not written, for these problems.
    Failed {
        /// The zone (or the source, when no zone name was found).
        zone: String,
        /// Why.
        problems: Vec<Problem>,
    },
}

impl Outcome {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Outcome::Written {
                zone,
                file,
                serial,
                records,
            } => {
                serde_json::json!({"zone": zone, "status": "written", "file": file, "serial": serial, "records": records})
            }
            Outcome::Exists { zone, file } => {
                serde_json::json!({"zone": zone, "status": "exists", "file": file})
            }
            Outcome::Failed { zone, problems } => serde_json::json!({
                "zone": zone, "status": "failed",
                "problems": problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
            }),
        }
    }
}

/// The path of `zone`'s file, relative to the work tree.
pub fn rel_path(zone: &str) -> String {
    format!("zones/{zone}yaml")
}

/// Writes `zone` (lower case with its trailing dot), which `source` (a file, or a server
/// and zone) holds as `served`; `how` is said in the file's first line.
pub fn write_zone(zone: &str, served: &Served, source: &Path, how: &str, t: &Target) -> Outcome {
    let rel = rel_path(zone);
    let path = t.workdir.join(&rel);
    let failed = |problems: Vec<Problem>| Outcome::Failed {
        zone: zone.into(),
        problems,
    };
    if let Some(first) = claim(t, zone, source) {
        return failed(vec![Problem::whole(
            source,
            format!("zone {zone} is also in {}", first.display()),
            "one source per zone: leave one of them out",
        )]);
    }
    if !t.force && path.exists() {
        return Outcome::Exists {
            zone: zone.into(),
            file: rel,
        };
    }
    let text = match zone_yaml::write(zone, served, t.group) {
        Ok(text) => text,
        Err(bad) => {
            return failed(
                bad.iter()
                    .map(|b| {
                        Problem::whole(
                            source,
                            format!("zone {zone}: {b}"),
                            "the zone YAML cannot state this record; change it in the source, or keep the zone out of zonekeeper",
                        )
                    })
                    .collect(),
            );
        }
    };
    let text = with_header(
        &text,
        &format!("# Imported {how} by `zonekeeper import`: review, then commit."),
    );
    if let Err(p) = check(zone, &rel, &text, served, source, t.config) {
        return failed(p);
    }
    if let Err(e) = write_atomically(&path, text.as_bytes()) {
        return failed(vec![Problem::whole(
            &path,
            format!("cannot write {}: {e}", path.display()),
            "check the work tree's permissions and free space",
        )]);
    }
    Outcome::Written {
        zone: zone.into(),
        file: rel,
        serial: served.serial.unwrap_or(0),
        records: served.text.lines().count(),
    }
}

/// Claims `zone` for `source`; the source that claimed it first, if another did.
fn claim(t: &Target, zone: &str, source: &Path) -> Option<PathBuf> {
    let mut claimed = t.claimed.lock().unwrap_or_else(|e| e.into_inner());
    match claimed.get(zone) {
        Some(first) => Some(first.clone()),
        None => {
            claimed.insert(zone.to_string(), source.to_path_buf());
            None
        }
    }
}

/// `text` with its first comment line replaced by `header`.
fn with_header(text: &str, header: &str) -> String {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => format!("{header}\n{rest}"),
        _ => format!("{header}\n{text}"),
    }
}

/// The file `text`, built as `validate` builds it, gives exactly `served`.
fn check(
    zone: &str,
    rel: &str,
    text: &str,
    served: &Served,
    source: &Path,
    config: &Config,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let built = desired::check_zone_file(rel, text, config, &mut problems);
    if !problems.is_empty() {
        return Err(problems
            .iter()
            .map(|p| {
                Problem::whole(
                    source,
                    format!("zone {zone}: refused as zone YAML: {}", p.message),
                    p.help.clone().unwrap_or_default(),
                )
            })
            .collect());
    }
    let Some((built, _)) = built else {
        return Err(vec![Problem::whole(
            source,
            format!("zone {zone}: its zone YAML could not be read back"),
            "",
        )]);
    };
    let desired = built.canonical_text(0);
    if same_content(&desired, served) {
        return Ok(());
    }
    let why = differing_rrsets(&desired, &served.text, ("it would build", "read"));
    let why = match why.is_empty() {
        true => "its SOA values differ".to_string(),
        false => why.join("; "),
    };
    Err(vec![Problem::whole(
        source,
        format!("zone {zone}: its zone YAML would not build to what was read: {why}"),
        "this is a bug in zonekeeper: please report it with the zone; nothing was written for it",
    )])
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
