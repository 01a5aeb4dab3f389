//! A reader of RFC 1035 master files as BIND reads them: `$ORIGIN`, `$TTL`, `$INCLUDE`
//! (a path relative to the including file, then to the server's `directory`; an origin of
//! its own; the including file's origin and owner restored after it), BIND's `$GENERATE`
//! ([`super::generate`]), parentheses, comments, `@`, relative names, a blank owner for
//! the previous owner, TTL and class in either order, TTL units (`1h30m`), and any type in
//! any form `model::record::parse_master` reads (generic `\# len hex` included).
//!
//! The project reads zone files with hickory where it does the job; hickory's zone parser
//! has no `$GENERATE`, stops at the first error without naming its line, and lacks several
//! types, so this reader splits the text itself ([`super::lexer`]) and hands each record's
//! RDATA text to `parse_master` (hickory's RDATA parsers underneath).
//!
//! Every problem names its file, line and column and the reading goes on, so one run lists
//! them all; the caller writes nothing for a zone with a problem. What BIND accepts with a
//! warning is accepted here with one: records out of the zone are left out (BIND ignores
//! them), an RRset whose records have different TTLs takes the first record's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hickory_proto::rr::{Name, RData, RecordType};

use super::fields::{class, name, rdata_text, soa, ttl};
use super::lexer::{Entry, Token, entries};
use super::{Problem, generate};
use crate::model::presentation;
use crate::model::record::ascii;
use crate::model::record::parse_master;
use crate::model::types::{type_from_name, type_name};

/// How deep `$INCLUDE`s nest at most.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A zone read from its master file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadZone {
    /// The apex.
    pub apex: Name,
    /// Canonical lines (`owner ttl IN TYPE rdata`), sorted, one per record.
    pub lines: Vec<String>,
    /// The SOA serial.
    pub serial: u32,
    /// What BIND accepts with a warning.
    pub warnings: Vec<Problem>,
}

/// One record read, and where.
struct Read {
    owner: Name,
    ttl: u32,
    rtype: RecordType,
    rdata: RData,
    file: usize,
    line: usize,
}

/// Where a file's reading is.
struct FileState {
    file: usize,
    origin: Option<Name>,
    owner: Option<Name>,
}

/// The reading of one zone.
struct Reader<'a> {
    base_dir: Option<&'a Path>,
    files: Vec<PathBuf>,
    records: Vec<Read>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
}

/// A master file to read, and what is known of its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSource {
    /// The file.
    pub path: PathBuf,
    /// The zone, when known (`--zone`, a `zone` statement): the SOA must be its apex.
    pub zone: Option<Name>,
    /// The origin to start from when the zone is not known (from the file's name); the
    /// zone is then the SOA's owner.
    pub hint: Option<Name>,
    /// The server's `directory`, where `$INCLUDE`s not beside the file are looked for.
    pub base_dir: Option<PathBuf>,
}

/// Reads a zone from its master file. Every problem, when there is one.
pub fn read(src: &FileSource) -> Result<ReadZone, Vec<Problem>> {
    let (path, zone) = (src.path.as_path(), src.zone.as_ref());
    let mut r = Reader {
        base_dir: src.base_dir.as_deref(),
        files: Vec::new(),
        records: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        default_ttl: None,
        last_ttl: None,
    };
    r.read_file(path, zone.or(src.hint.as_ref()).cloned(), 0, None);
    let apex = r.apex(zone);
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    let Some(apex) = apex else {
        return Err(r.problems);
    };
    r.finish(apex)
}

impl Reader<'_> {
    fn problem(&mut self, file: usize, at: &Token, message: String, help: impl Into<String>) {
        self.problems.push(Problem {
            file: self.files[file].clone(),
            line: at.line,
            col: at.col,
            message,
            help: help.into(),
        });
    }

    /// Reads one file (an `$INCLUDE`d one at `depth` > 0), from `at` when included.
    fn read_file(
        &mut self,
        path: &Path,
        origin: Option<Name>,
        depth: usize,
        at: Option<(usize, &Token)>,
    ) {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let message = format!("cannot read {}: {e}", path.display());
                match at {
                    Some((file, tok)) => {
                        self.problem(file, tok, message, "check the $INCLUDE's path")
                    }
                    None => self.problems.push(Problem {
                        file: path.to_path_buf(),
                        line: 0,
                        col: 0,
                        message,
                        help: "check the path".into(),
                    }),
                }
                return;
            }
        };
        self.files.push(path.to_path_buf());
        let file = self.files.len() - 1;
        let (list, errors) = entries(&text);
        for e in errors {
            self.problems.push(Problem {
                file: path.to_path_buf(),
                line: e.line,
                col: e.col,
                message: e.message,
                help: e.help,
            });
        }
        let mut st = FileState {
            file,
            origin,
            owner: None,
        };
        for entry in &list {
            if !entry.blank_owner && entry.tokens[0].text.starts_with('$') {
                self.directive(&mut st, entry, depth);
            } else {
                self.record(&mut st, entry);
            }
        }
    }

    fn directive(&mut self, st: &mut FileState, entry: &Entry, depth: usize) {
        let t = &entry.tokens;
        let word = t[0].text.to_ascii_uppercase();
        let file = st.file;
        match (word.as_str(), t.len()) {
            ("$ORIGIN", 2) => match name(&t[1].text, st.origin.as_ref()) {
                Ok(n) => st.origin = Some(n),
                Err((m, h)) => self.problem(file, &t[1], m, h),
            },
            ("$TTL", 2) => match ttl(&t[1].text) {
                Some(v) => self.default_ttl = Some(v),
                None => self.problem(file, &t[1], format!("`{}` is not a TTL", t[1].text), "write seconds (3600) or units (1h)"),
            },
            ("$INCLUDE", 2 | 3) => self.include(st, entry, depth),
            ("$GENERATE", n) if n >= 5 => self.generate(st, entry),
            ("$ORIGIN" | "$TTL" | "$INCLUDE" | "$GENERATE", _) => self.problem(
                file,
                &t[0],
                format!("{word} has the wrong number of fields"),
                "$ORIGIN NAME; $TTL TTL; $INCLUDE FILE [ORIGIN]; $GENERATE RANGE LHS [TTL] [CLASS] TYPE RHS",
            ),
            _ => self.problem(
                file,
                &t[0],
                format!("unknown directive {}", t[0].text),
                "the directives are $ORIGIN, $TTL, $INCLUDE and $GENERATE",
            ),
        }
    }

    fn include(&mut self, st: &mut FileState, entry: &Entry, depth: usize) {
        let t = &entry.tokens;
        let file = st.file;
        if depth >= MAX_INCLUDE_DEPTH {
            return self.problem(
                file,
                &t[0],
                format!("$INCLUDEs nest deeper than {MAX_INCLUDE_DEPTH}"),
                "an included file includes itself?",
            );
        }
        let origin = match t.get(2) {
            Some(o) => match name(&o.text, st.origin.as_ref()) {
                Ok(n) => Some(n),
                Err((m, h)) => return self.problem(file, o, m, h),
            },
            None => st.origin.clone(),
        };
        let written = PathBuf::from(t[1].text.trim_matches('"'));
        let beside = self.files[file].parent().map(|d| d.join(&written));
        let path = match (written.is_absolute(), beside, self.base_dir) {
            (true, _, _) => written,
            (false, Some(b), _) if b.exists() => b,
            (false, _, Some(base)) => base.join(&written),
            (false, b, None) => b.unwrap_or(written),
        };
        let at = t[1].clone();
        self.read_file(&path, origin, depth + 1, Some((file, &at)));
    }

    /// The TTL, class and type after the owner, from token `i`; the index of the first
    /// RDATA token. Reports and returns None when they cannot be read.
    fn head(
        &mut self,
        file: usize,
        t: &[Token],
        mut i: usize,
    ) -> Option<(Option<u32>, RecordType, usize)> {
        let mut explicit = None;
        for _ in 0..2 {
            let Some(tok) = t.get(i) else { break };
            if let Some(v) = ttl(&tok.text) {
                explicit = Some(v);
            } else if let Some(c) = class(&tok.text) {
                if let Err(c) = c {
                    self.problem(
                        file,
                        tok,
                        format!("class {c}: zonekeeper manages class IN only"),
                        "write IN, or leave the class out",
                    );
                    return None;
                }
            } else {
                break;
            }
            i += 1;
        }
        let Some(tok) = t.get(i) else {
            let last = &t[t.len() - 1];
            self.problem(
                file,
                last,
                "the record has no type".into(),
                "write OWNER [TTL] [IN] TYPE RDATA",
            );
            return None;
        };
        let Some(rtype) = type_from_name(&tok.text) else {
            self.problem(
                file,
                tok,
                format!("`{}` is not a record type", tok.text),
                "write OWNER [TTL] [IN] TYPE RDATA; an unknown type as TYPEnnn with \\# RDATA",
            );
            return None;
        };
        Some((explicit, rtype, i + 1))
    }

    fn record(&mut self, st: &mut FileState, entry: &Entry) {
        let t = &entry.tokens;
        let file = st.file;
        let (owner, first) = if entry.blank_owner {
            match &st.owner {
                Some(o) => (o.clone(), 0),
                None => {
                    return self.problem(
                        file,
                        &t[0],
                        "a record with no owner, and no previous one".into(),
                        "start the line with its owner name (or @)",
                    );
                }
            }
        } else {
            match name(&t[0].text, st.origin.as_ref()) {
                Ok(n) => (n, 1),
                Err((m, h)) => return self.problem(file, &t[0], m, h),
            }
        };
        st.owner = Some(owner.clone());
        let Some((explicit, rtype, rd)) = self.head(file, t, first) else {
            return;
        };
        let text = rdata_text(&t[rd..], rtype, st.origin.as_ref());
        let at = t.get(rd).unwrap_or(&t[rd - 1]).clone();
        self.add(st, owner, explicit, rtype, &text, &at);
    }

    /// Reads the RDATA and keeps the record, with its TTL worked out as BIND does.
    fn add(
        &mut self,
        st: &FileState,
        owner: Name,
        explicit: Option<u32>,
        rtype: RecordType,
        rdata: &str,
        at: &Token,
    ) {
        let file = st.file;
        let Some(origin) = st
            .origin
            .clone()
            .or_else(|| owner.is_fqdn().then(|| owner.clone()))
        else {
            return self.problem(
                file,
                at,
                "no origin is known for this record".into(),
                "give --zone, or start the file with $ORIGIN",
            );
        };
        let parsed = match rtype {
            RecordType::SOA => soa(rdata, &origin),
            _ => parse_master(rtype, rdata, &origin).map_err(|e| (e.message, e.help)),
        };
        let rdata = match parsed {
            Ok(r) => r,
            Err((message, help)) => return self.problem(file, at, message, help),
        };
        let ttl = match (explicit, self.default_ttl, self.last_ttl, &rdata) {
            (Some(v), ..) => v,
            (None, Some(v), ..) => v,
            (None, None, Some(v), _) => v,
            (None, None, None, RData::SOA(soa)) => soa.minimum,
            (None, None, None, _) => {
                return self.problem(
                    file,
                    at,
                    "no TTL for this record, and none before it".into(),
                    "add `$TTL 3600` at the top of the file, or a TTL to the record",
                );
            }
        };
        if explicit.is_some() || self.last_ttl.is_none() {
            self.last_ttl = Some(ttl);
        }
        self.records.push(Read {
            owner,
            ttl,
            rtype,
            rdata,
            file,
            line: at.line,
        });
    }

    fn generate(&mut self, st: &mut FileState, entry: &Entry) {
        let t = &entry.tokens;
        let file = st.file;
        let (start, stop, step) = match generate::range(&t[1].text) {
            Ok(r) => r,
            Err(m) => {
                return self.problem(
                    file,
                    &t[1],
                    m,
                    "$GENERATE START-STOP[/STEP] LHS [TTL] [CLASS] TYPE RHS",
                );
            }
        };
        let Some((explicit, rtype, rd)) = self.head(file, t, 3) else {
            return;
        };
        if rd >= t.len() {
            return self.problem(
                file,
                &t[rd - 1],
                "$GENERATE has no RHS".into(),
                "$GENERATE START-STOP[/STEP] LHS [TYPE] RHS",
            );
        }
        let rhs = match &t[rd..] {
            [one]
                if one.quoted
                    && !matches!(
                        type_name(rtype).as_str(),
                        "TXT" | "SPF" | "HINFO" | "NAPTR" | "CAA"
                    ) =>
            {
                one.text[1..one.text.len() - 1].to_string()
            }
            many => many
                .iter()
                .map(|k| k.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        };
        let before = self.problems.len();
        let mut v = start;
        while v <= stop && self.problems.len() == before {
            let made = generate::substitute(&t[2].text, v)
                .and_then(|lhs| Ok((lhs, generate::substitute(&rhs, v)?)));
            match made {
                Ok((lhs, rdata)) => match name(&lhs, st.origin.as_ref()) {
                    Ok(owner) => self.add(st, owner, explicit, rtype, &rdata, &t[rd]),
                    Err((m, h)) => self.problem(file, &t[2], m, h),
                },
                Err(m) => self.problem(
                    file,
                    &t[2],
                    m,
                    "$ is the value; ${OFFSET,WIDTH,BASE}; \\$ a dollar sign",
                ),
            }
            v += step;
        }
    }

    /// The apex: the zone's name when given, else the SOA's owner. Reports a missing,
    /// misplaced or repeated SOA.
    fn apex(&mut self, zone: Option<&Name>) -> Option<Name> {
        let soas: Vec<(Name, usize, usize)> = self
            .records
            .iter()
            .filter(|r| r.rtype == RecordType::SOA)
            .map(|r| (r.owner.clone(), r.file, r.line))
            .collect();
        let path = self.files.first().cloned().unwrap_or_default();
        let at = |file: usize, line: usize, message: String, help: &str| Problem {
            file: self.files.get(file).cloned().unwrap_or_default(),
            line,
            col: 1,
            message,
            help: help.into(),
        };
        let Some((owner, file, line)) = soas.first().cloned() else {
            if self.problems.is_empty() {
                self.problems.push(Problem {
                    file: path,
                    line: 0,
                    col: 0,
                    message: "the zone has no SOA record".into(),
                    help: "a zone file starts with the zone's SOA".into(),
                });
            }
            return None;
        };
        let apex = zone.cloned().unwrap_or(owner.clone());
        let mut problems = Vec::new();
        if owner.to_lowercase() != apex.to_lowercase() {
            problems.push(at(
                file,
                line,
                format!(
                    "the SOA's owner {} is not the zone {}",
                    ascii(&owner),
                    ascii(&apex)
                ),
                "the SOA belongs at the zone's apex (@)",
            ));
        }
        for (_, f, l) in soas.iter().skip(1) {
            problems.push(at(
                *f,
                *l,
                "a second SOA record".into(),
                "a zone has exactly one SOA, at its apex",
            ));
        }
        self.problems.extend(problems);
        Some(apex)
    }

    /// The canonical lines: records out of the zone left out, one TTL per RRset, no
    /// duplicates; each left-out record and changed TTL a warning.
    fn finish(mut self, apex: Name) -> Result<ReadZone, Vec<Problem>> {
        let mut serial = 0;
        let mut set_ttl: BTreeMap<(Name, RecordType), u32> = BTreeMap::new();
        let mut lines = Vec::with_capacity(self.records.len());
        for r in std::mem::take(&mut self.records) {
            let owner = r.owner.to_lowercase();
            let warn = |message: String| Problem {
                file: self.files[r.file].clone(),
                line: r.line,
                col: 1,
                message,
                help: String::new(),
            };
            if !apex.zone_of(&owner) {
                self.warnings.push(warn(format!(
                    "{} is outside the zone {}: left out, as BIND leaves it out",
                    ascii(&owner),
                    ascii(&apex)
                )));
                continue;
            }
            if let RData::SOA(soa) = &r.rdata {
                serial = soa.serial;
            }
            let first = *set_ttl.entry((owner.clone(), r.rtype)).or_insert(r.ttl);
            if first != r.ttl {
                self.warnings.push(warn(format!("TTL {} differs from the RRset's first record's, {first}, which BIND uses for all", r.ttl)));
            }
            lines.push(format!(
                "{} {first} IN {} {}",
                ascii(&owner),
                type_name(r.rtype),
                presentation(&r.rdata)
            ));
        }
        lines.sort();
        lines.dedup();
        Ok(ReadZone {
            apex: apex.to_lowercase(),
            lines,
            serial,
            warnings: self.warnings,
        })
    }
}
