//! A plan as it is saved (`plan --out FILE`) and read back (`apply FILE`, `show plan
//! FILE`): a zone change with its RRsets written out in full, also for a zone created or
//! deleted, whose RRsets are kept as its content only while planning; times in RFC 3339.
//!
//! Format `zonekeeper-plan/2` (this version writes it) differs from `zonekeeper-plan/1`
//! only in its times (`not_before` RFC 3339, was Unix seconds) and its `warnings`; both
//! are read.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::{Plan, RrsetChange, ZoneAction, ZoneChange};

/// The format this version writes.
pub const FORMAT: &str = "zonekeeper-plan/2";
/// The formats this version reads.
pub const READS: [&str; 2] = ["zonekeeper-plan/1", FORMAT];

/// Why a file is not a plan this version can read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SavedPlanError {
    /// The file cannot be read.
    #[error("cannot read plan {}: {source}", path.display())]
    #[diagnostic(help("give the file `zonekeeper plan --out FILE` wrote"))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON, or its JSON is not a plan's.
    #[error("{}:{line}:{column}: not a zonekeeper plan: {message}", path.display())]
    #[diagnostic(help(
        "give the file `zonekeeper plan --out FILE` wrote, unchanged; make a new one if it was edited"
    ))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Line of the problem (from 1).
        line: usize,
        /// Column of the problem (from 1).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON without a plan's `format`.
    #[error("{} is not a zonekeeper plan: it has no \"format\": \"zonekeeper-plan/N\"", path.display())]
    #[diagnostic(help("give the file `zonekeeper plan --out FILE` wrote"))]
    NotAPlan {
        /// The file.
        path: PathBuf,
    },
    /// A plan of a format this version does not read.
    #[error("{} is a plan of format {found}; this version reads {}", path.display(), READS.join(" and "))]
    #[diagnostic(help("make the plan again with this version: `zonekeeper plan --out FILE`"))]
    Version {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: String,
    },
}

/// Reads the plan saved at `path`, checking its format first. Its zone changes' text is
/// filled in from their RRsets, so the text plan shows each zone's diff as `plan` did.
pub fn read(path: &Path) -> Result<Plan, SavedPlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let malformed = |e: serde_json::Error| SavedPlanError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(malformed)?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(f) if READS.contains(&f) => {}
        Some(f) if f.starts_with("zonekeeper-plan/") => {
            return Err(SavedPlanError::Version {
                path: path.to_path_buf(),
                found: f.to_string(),
            });
        }
        _ => {
            return Err(SavedPlanError::NotAPlan {
                path: path.to_path_buf(),
            });
        }
    }
    let mut plan: Plan = serde_json::from_str(&text).map_err(malformed)?;
    for z in &mut plan.zones {
        if z.old_text.is_empty() && z.new_text.is_empty() {
            let lines = |f: fn(&RrsetChange) -> &Vec<String>| -> String {
                z.rrsets
                    .iter()
                    .flat_map(f)
                    .map(|l| format!("{l}\n"))
                    .collect()
            };
            (z.old_text, z.new_text) = (lines(|r| &r.old), lines(|r| &r.new));
        }
    }
    Ok(plan)
}

/// The fields of [`ZoneChange`] a saved plan holds, borrowed.
#[derive(Serialize)]
struct Saved<'a> {
    zone: &'a str,
    action: ZoneAction,
    group: &'a str,
    old_group: Option<&'a str>,
    expected_serial: Option<u32>,
    new_serial: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continues_from: Option<u32>,
    rrsets: &'a [RrsetChange],
}

impl Serialize for ZoneChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Saved {
            zone: &self.zone,
            action: self.action,
            group: &self.group,
            old_group: self.old_group.as_deref(),
            expected_serial: self.expected_serial,
            new_serial: self.new_serial,
            continues_from: self.continues_from,
            rrsets: &self.rrset_changes(),
        }
        .serialize(s)
    }
}

/// A time of a saved plan: written in UTC RFC 3339 (`zonekeeper-plan/2`), read back from
/// that or from the Unix seconds `zonekeeper-plan/1` wrote.
pub mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `t` as RFC 3339, `None` as `null`.
    pub fn serialize<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::model::text::utc(*t)),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Seconds(i64),
        Text(String),
    }

    /// Reads RFC 3339 text or Unix seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Either>::deserialize(d)? {
            None => Ok(None),
            Some(Either::Seconds(t)) => Ok(Some(t)),
            Some(Either::Text(text)) => {
                let format = time::format_description::well_known::Rfc3339;
                time::OffsetDateTime::parse(&text, &format)
                    .map(|t| Some(t.unix_timestamp()))
                    .map_err(|e| {
                        serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}"))
                    })
            }
        }
    }
}
