//! Loading only what changed since the store's applied state. Two ways, cheapest first:
//!
//! 1. the Git diff from the applied commit: the zone files it names;
//! 2. when that cannot be told (the applied commit is gone from the repository, or
//!    `zonekeeper.yaml` changed), each zone file's source against the store's record of
//!    it: a zone is read again unless its file's blob and the configuration's zone
//!    settings are what they were when it was applied and every server was seen serving
//!    it ([`source_id`]).
//!
//! Either way unchanged zone files are never read, and zones whose files are gone are
//! named as deleted; except when some reverse zone says `auto_ptr`: its PTRs follow every
//! zone's A/AAAA records, so once anything changed every zone file is read
//! ([`super::auto_ptr::changed_zones`]).

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};

use super::{
    Checked, DesiredState, FileChange, LoadError, Pending, Scope, Source, finish, load,
    load_config, names, secrets,
};
use crate::model::Config;

/// What a zone built from the file with blob `blob` under zone settings `settings`
/// ([`zone_settings`]) is recorded with: the same source builds the same zone.
pub fn source_id(blob: &git2::Oid, settings: &str) -> String {
    short_hash(&[blob.as_bytes(), settings.as_bytes()])
}

/// Everything of the configuration that building or checking a zone reads (its group's
/// name servers, TTL, SOA values and catalogs, the limits), and zonekeeper's version, as
/// building may change between versions: hashed, for [`source_id`]. The primary and the
/// secondaries' addresses are not in it: changing them rebuilds no zone.
pub fn zone_settings(config: &Config) -> String {
    let text = format!(
        "{}\n{:?}\n{}\n{}",
        env!("CARGO_PKG_VERSION"),
        config.groups,
        config.max_records_per_type,
        config.check_names
    );
    short_hash(&[text.as_bytes()])
}

/// The first 128 bits of the SHA-256 of `parts` one after another, in hex.
pub(super) fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    crate::model::hex(&h.finalize()[..16])
}

/// The zone a file names, as the store records it (lower case, ASCII, trailing dot).
fn recorded_name_of(path: &str) -> Option<String> {
    let name = names::zone_name_of(path)?;
    hickory_proto::rr::Name::from_utf8(&name)
        .ok()
        .map(|n| crate::model::ascii(&n))
}

/// Loads only what changed since `since` (the applied commit); `recorded`: every recorded
/// zone by name, with its source when every server was seen serving it (empty
/// otherwise). Falls back to comparing sources when the diff cannot be told or
/// `zonekeeper.yaml` changed, and to [`load`] when nothing is recorded.
pub fn load_changes(
    source: &Source,
    since: &str,
    recorded: &BTreeMap<&str, &str>,
) -> Result<DesiredState, LoadError> {
    match source.changes_since(since) {
        Some((false, changes)) => load_diff(source, since, changes),
        _ if recorded.values().any(|s| !s.is_empty()) => load_by_source(source, since, recorded),
        _ => load(source),
    }
}

/// The zone files the diff from `since` names.
fn load_diff(
    source: &Source,
    since: &str,
    changes: Vec<(String, FileChange)>,
) -> Result<DesiredState, LoadError> {
    let mut problems = Vec::new();
    let config = load_config(source, &mut problems)?;
    let mut files = Vec::new();
    let mut deleted = Vec::new();
    for (path, change) in changes {
        match change {
            FileChange::Deleted => deleted.extend(recorded_name_of(&path)),
            FileChange::Changed { blob, mode } => {
                let pending = Pending::of_change(&path, blob, mode);
                files.push((path, pending));
            }
        }
    }
    tracing::info!(
        read = files.len(),
        deleted = deleted.len(),
        "zone files read: those changed since the applied commit"
    );
    secrets::committed_keys(source, Some(since), true, &mut problems)?;
    let mut checked = match &config {
        Some(c) => super::auto_ptr::changed_zones(source, c, files, !deleted.is_empty())?,
        None => Checked::default(),
    };
    checked.problems.extend(problems);
    let since = since.to_string();
    finish(source, config, checked, Scope::Changes { since, deleted })
}

/// Every zone file whose source differs from the recorded one (or whose zone is not
/// recorded, or not seen on every server); zones recorded without a file are deleted.
fn load_by_source(
    source: &Source,
    since: &str,
    recorded: &BTreeMap<&str, &str>,
) -> Result<DesiredState, LoadError> {
    let mut problems = Vec::new();
    let Some(config) = load_config(source, &mut problems)? else {
        // an invalid configuration: every problem of the revision is reported
        return load(source);
    };
    let settings = zone_settings(&config);
    let mut listed = HashSet::new();
    let mut files = Vec::new();
    let mut unchanged = 0usize;
    for (path, pending) in source.zone_list()? {
        let name = recorded_name_of(&path);
        let same = match (&pending, &name) {
            (Pending::Blob(blob), Some(name)) => recorded
                .get(name.as_str())
                .is_some_and(|s| !s.is_empty() && *s == source_id(blob, &settings)),
            _ => false,
        };
        listed.extend(name);
        if same {
            unchanged += 1;
        } else {
            files.push((path, pending));
        }
    }
    tracing::info!(
        read = files.len(),
        unchanged,
        "zone files read: those whose recorded source differs (the applied commit is not in the repository, or zonekeeper.yaml changed)"
    );
    // zone files were read as committed: their bytes are checked for key material as
    // they are read, every other file here
    secrets::committed_keys(source, None, true, &mut problems)?;
    let deleted_any = recorded.keys().any(|n| !listed.contains(*n));
    let mut checked = super::auto_ptr::changed_zones(source, &config, files, deleted_any)?;
    checked.problems.extend(problems);
    let built: HashSet<&str> = checked.names.iter().map(String::as_str).collect();
    let deleted = recorded
        .keys()
        .filter(|n| !listed.contains(**n) && !built.contains(**n))
        .map(|n| n.to_string())
        .collect();
    let since = since.to_string();
    finish(
        source,
        Some(config),
        checked,
        Scope::Changes { since, deleted },
    )
}
