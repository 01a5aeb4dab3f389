//! Bringing an existing fleet in (`zonekeeper import`): zones read from RFC 1035 master
//! files ([`zonefile`], with [`lexer`] and [`generate`]), from every primary zone of a
//! BIND `named.conf` ([`named_conf`]), or transferred from a running server ([`axfr`]:
//! zones named, listed, or the members of a catalog zone), each written as
//! `zones/<zone>.yaml` in the repository's format ([`output`]), checked to build to
//! exactly what was read, with a `zonekeeper.yaml` skeleton when there is none
//! ([`skeleton`]).
//!
//! A zone with a problem is never written, not even in part; every other zone is. Each
//! problem names its file and line ([`Problem`]).

pub mod axfr;
pub mod fields;
pub mod generate;
pub mod lexer;
pub mod named_conf;
pub mod output;
pub mod skeleton;
pub mod zonefile;

use std::path::PathBuf;

/// A problem with the input, where it is, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}{}", place(.file, *.line, *.col), hint(.help))]
pub struct Problem {
    /// The file (a zone file, a `named.conf`; for a transfer, the server and zone).
    pub file: PathBuf,
    /// Line (from 1; 0 when the whole file is meant).
    pub line: usize,
    /// Column (from 1; 0 when unknown).
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// What to do (may be empty).
    pub help: String,
}

fn place(file: &std::path::Path, line: usize, col: usize) -> String {
    match (line, col) {
        (0, _) => file.display().to_string(),
        (l, 0) => format!("{}:{l}", file.display()),
        (l, c) => format!("{}:{l}:{c}", file.display()),
    }
}

fn hint(help: &str) -> String {
    if help.is_empty() {
        String::new()
    } else {
        format!(" ({help})")
    }
}

impl Problem {
    /// A problem with a whole source (no line).
    pub fn whole(
        file: impl Into<PathBuf>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.into(),
            line: 0,
            col: 0,
            message: message.into(),
            help: help.into(),
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file.display().to_string(),
            "line": self.line,
            "column": self.col,
            "message": self.message,
            "help": self.help,
        })
    }
}

#[cfg(test)]
mod tests;
