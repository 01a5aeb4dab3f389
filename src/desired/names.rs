//! Zone file names. A zone file's name is the zone's name, and the primary uses it as a
//! zone name in `zones.conf` and as a file name: so it must be a name BIND accepts for
//! both. Refused: wildcard labels, escapes (`a\.b`), empty labels, labels over 63 bytes,
//! names over 255, characters other than letters, digits, `-` and `_`, upper case (one
//! file per zone: `Example.com.yaml` next to `example.com.yaml` would be the same zone),
//! invalid A-labels, and UTF-8 (the file is named by its A-labels, so a zone has exactly
//! one file name; the hint gives it).

use hickory_proto::rr::Name;

use crate::model::idn;

/// The zone a file stands for: `zones/example.com.yaml` is `example.com.`.
pub fn zone_name_of(path: &str) -> Option<String> {
    let file = path.strip_prefix("zones/")?.strip_suffix(".yaml")?;
    Some(format!("{file}."))
}

/// Why a file name is not a zone name: what is wrong, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNameProblem {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

fn refuse(message: String, help: impl Into<String>) -> FileNameProblem {
    FileNameProblem {
        message,
        help: help.into(),
    }
}

const RENAME: &str =
    "name zone files after the zone, in lower case, without a trailing dot: zones/example.com.yaml";

/// The zone named by a zone file's path (`zones/<zone>.yaml`), or why BIND could not
/// serve a zone of that name.
pub fn zone_of_file(path: &str) -> Result<Name, FileNameProblem> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let Some(stem) = zone_name_of(path).map(|z| z.trim_end_matches('.').to_string()) else {
        return Err(refuse(format!("{path} is not named after a zone"), RENAME));
    };
    let stem = stem.as_str();
    if stem.is_empty() {
        return Err(refuse(format!("file name `{file}` names no zone"), RENAME));
    }
    if stem.contains('\\') {
        return Err(refuse(
            format!(
                "file name `{file}` holds an escape (`\\`): a zone name cannot hold an escape (`a\\.b`, a dot inside a label, or `\\065`)"
            ),
            "BIND cannot use a label with an escape as a zone or file name: zone names are letters, digits, `-` and `_` between dots",
        ));
    }
    if !stem.is_ascii() {
        return Err(match idn::name_to_ascii(stem) {
            Ok(a) => refuse(
                format!("file name `{file}` is not in A-labels"),
                format!(
                    "a zone file is named by the zone's A-labels: rename it to zones/{}.yaml",
                    a.to_ascii_lowercase()
                ),
            ),
            Err(m) => refuse(format!("file name `{file}`: {m}"), idn::HINT),
        });
    }
    for label in stem.split('.') {
        label_problem(file, label)?;
    }
    if stem.len() + 2 > 255 {
        return Err(refuse(
            format!("zone name `{stem}.` is longer than 255 bytes"),
            "shorten the zone's name",
        ));
    }
    if stem != stem.to_ascii_lowercase() {
        return Err(refuse(
            format!("file name `{file}` is not in lower case"),
            format!(
                "rename it to zones/{}.yaml (names are case-insensitive: one file per zone)",
                stem.to_ascii_lowercase()
            ),
        ));
    }
    Name::from_ascii(format!("{stem}.")).map_err(|e| {
        refuse(
            format!("file name `{file}` is not a zone name: {e}"),
            RENAME,
        )
    })
}

fn label_problem(file: &str, label: &str) -> Result<(), FileNameProblem> {
    if label.is_empty() {
        return Err(refuse(
            format!("file name `{file}` has an empty label (`..`, or a dot at the start)"),
            RENAME,
        ));
    }
    if label.contains('*') {
        return Err(refuse(
            format!(
                "file name `{file}` has a wildcard label (`*`): a zone name cannot hold a wildcard label"
            ),
            "a wildcard is a record, not a zone: write `*` as an owner name in the parent zone's file",
        ));
    }
    if label.len() > 63 {
        return Err(refuse(
            format!(
                "label `{label}` of file name `{file}` is {} bytes long",
                label.len()
            ),
            "a label is at most 63 bytes (RFC 1035): shorten it",
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(refuse(
            format!("file name `{file}` holds `{}`", c.escape_default()),
            "zone names are letters, digits, `-` and `_` between dots (IDNs as A-labels, xn--…)",
        ));
    }
    if let Some(m) = idn::a_label_problem(label.as_bytes()) {
        return Err(refuse(format!("file name `{file}`: {m}"), idn::HINT));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_bind_can_use() {
        for ok in [
            "zones/example.com.yaml",
            "zones/_msdcs.example.com.yaml",
            "zones/2.0.192.in-addr.arpa.yaml",
            "zones/xn--caf-dma.example.yaml",
        ] {
            assert!(zone_of_file(ok).is_ok(), "{ok}");
        }
        for bad in [
            "zones/*.wild.test.yaml",
            "zones/a\\.b.test.yaml",
            "zones/a..b.yaml",
            "zones/.yaml",
            "zones/..yaml",
            "zones/a b.yaml",
            "zones/Example.com.yaml",
            "zones/café.test.yaml",
            "zones/xn--a.test.yaml",
            "zones/a\u{7}.test.yaml",
            "example.com.yaml",
        ] {
            assert!(zone_of_file(bad).is_err(), "{bad}");
        }
        // the message names the rule
        let wildcard = zone_of_file("zones/*.wild.test.yaml").unwrap_err().message;
        assert!(
            wildcard.contains("cannot hold a wildcard label"),
            "{wildcard}"
        );
        for escaped in ["zones/a\\.b.test.yaml", "zones/a\\065.test.yaml"] {
            let message = zone_of_file(escaped).unwrap_err().message;
            assert!(message.contains("cannot hold an escape"), "{message}");
        }
        let long = format!("zones/{}.yaml", vec!["a".repeat(63); 4].join("."));
        assert!(zone_of_file(&long).unwrap_err().message.contains("255"));
    }
}
