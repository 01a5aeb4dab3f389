//! `show zone` for people (records and servers in aligned tables, the difference as `plan`
//! shows it, long lists cut with `--all` to see every record) and for programs (JSON,
//! `zonekeeper-show-zone/1`, every record and every server).

use super::zone::{Desired, Shown};
use crate::cli::table;
use crate::live::SoaAnswer;
use crate::model::text::utc_opt;

/// The JSON format this version writes.
pub const FORMAT: &str = "zonekeeper-show-zone/1";

/// How many records (and changed records) text shows without `--all`.
pub const RECORDS_SHOWN: usize = 100;

/// One record of a canonical text: owner, TTL, type, value.
struct Record<'a> {
    owner: &'a str,
    ttl: &'a str,
    rtype: &'a str,
    value: String,
}

fn records(text: &str) -> Vec<Record<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (owner, ttl, _class, rtype) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some(Record {
                owner,
                ttl,
                rtype,
                value: f.collect::<Vec<_>>().join(" "),
            })
        })
        .collect()
}

fn records_json(text: &str) -> Vec<serde_json::Value> {
    records(text)
        .iter()
        .map(|r| {
            serde_json::json!({
                "owner": r.owner, "ttl": r.ttl.parse::<u32>().ok(), "type": r.rtype, "value": r.value,
            })
        })
        .collect()
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The serial a server serves, and whether it answered with AA.
fn serial_aa(answer: &SoaAnswer) -> (Option<u32>, Option<bool>) {
    match answer {
        SoaAnswer::Serves { serial } => (Some(*serial), Some(true)),
        SoaAnswer::NotAuthoritative { aa, .. } => (None, Some(*aa)),
        SoaAnswer::NoAnswer(_) => (None, None),
    }
}

/// The differences between recorded and desired, RRset by RRset (empty when in sync).
fn differences(s: &Shown) -> Vec<crate::plan::RrsetChange> {
    match (&s.desired, &s.recorded) {
        (Desired::Present { text, .. }, Some(r)) if s.in_sync() == Some(false) => {
            crate::plan::rrset_changes(&r.content, text)
        }
        _ => Vec::new(),
    }
}

/// `show zone` as JSON: every record, every server.
pub fn json(s: &Shown) -> serde_json::Value {
    let recorded_serial = s.recorded.as_ref().map(|r| r.serial);
    serde_json::json!({
        "format": FORMAT,
        "zone": s.zone,
        "group": s.group,
        "revision": s.revision,
        "desired": match &s.desired {
            Desired::Present { text, hash } => serde_json::json!({
                "state": "present", "content_hash": hash, "records": records_json(text),
            }),
            Desired::Absent => serde_json::json!({"state": "absent"}),
            Desired::Invalid => serde_json::json!({"state": "invalid"}),
        },
        "recorded": s.recorded.as_ref().map(|r| serde_json::json!({
            "serial": r.serial, "verified": r.verified, "commit": r.commit_id,
            "content_hash": r.content_hash, "records": records_json(&r.content),
        })),
        "in_sync": s.in_sync(),
        "differences": differences(s),
        "servers": s.servers.iter().map(|v| {
            let (serial, aa) = serial_aa(&v.answer);
            serde_json::json!({
                "server": v.server, "address": v.addr.to_string(), "serial": serial, "aa": aa,
                "answer": v.answer.describe(),
                "serial_differs": matches!((serial, recorded_serial), (Some(a), Some(b)) if a != b),
            })
        }).collect::<Vec<_>>(),
        "operations": s.ops.iter().map(|o| {
            let step = o.steps.iter().find(|st| st.state != "done");
            serde_json::json!({
                "id": o.id, "kind": o.kind, "group": o.group, "server": o.server,
                "step": step.map(|st| serde_json::json!({
                    "step": st.idx, "name": st.name, "state": st.state,
                    "not_before": utc_opt(st.not_before), "message": st.message,
                })),
            })
        }).collect::<Vec<_>>(),
    })
}

/// `show zone` as text.
pub fn text(s: &Shown, all: bool, color: bool) -> String {
    let mut out = format!(
        "Zone {} (group {}), revision {}\n",
        s.zone,
        s.group.as_deref().unwrap_or("-"),
        short(&s.revision)
    );
    out.push_str(&match (&s.desired, s.in_sync()) {
        (Desired::Present { .. }, Some(true)) => "  desired   as recorded\n".into(),
        (Desired::Present { .. }, Some(false)) => {
            "  desired   differs from what is recorded (below); `zonekeeper apply` sends the difference\n".into()
        }
        (Desired::Present { .. }, None) => "  desired   not applied yet\n".to_string(),
        (Desired::Absent, _) => {
            "  desired   not in this revision: `zonekeeper apply --allow-delete` deletes it\n".into()
        }
        (Desired::Invalid, _) => {
            "  desired   invalid in this revision: `zonekeeper validate` tells why\n".into()
        }
    });
    out.push_str(&match &s.recorded {
        Some(r) => format!(
            "  recorded  serial {}, {} every server, from commit {}\n",
            r.serial,
            if r.verified {
                "seen on"
            } else {
                "not yet seen on"
            },
            short(&r.commit_id)
        ),
        None => "  recorded  nothing: never applied\n".into(),
    });
    let (title, text) = match (&s.desired, &s.recorded) {
        (Desired::Present { text, .. }, Some(_)) if s.in_sync() == Some(true) => {
            ("Records (desired and recorded)", text)
        }
        (Desired::Present { text, .. }, _) => ("Records (desired)", text),
        (_, Some(r)) => ("Records (recorded)", &r.content),
        (_, None) => ("Records", &String::new()),
    };
    out.push_str(&records_text(title, text, all));
    if let (Desired::Present { text, .. }, Some(r)) = (&s.desired, &s.recorded)
        && s.in_sync() == Some(false)
    {
        out.push_str("\nDesired against recorded (- recorded, + desired; as `plan` shows it):\n");
        out.push_str(&cut(
            &crate::plan::render::text_diff(&r.content, text, color),
            all,
            "changed record(s)",
        ));
    }
    out.push_str(&servers_text(s));
    out.push_str(&operations_text(s));
    out
}

/// The first [`RECORDS_SHOWN`] lines of `text` (every one with `all`), then how many more.
fn cut(text: &str, all: bool, what: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if all || lines.len() <= RECORDS_SHOWN {
        return text.to_string();
    }
    let mut out: String = lines[..RECORDS_SHOWN]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(&format!(
        "  … and {} more {what}, not shown: `--all` shows every one, `--format json` lists them\n",
        lines.len() - RECORDS_SHOWN
    ));
    out
}

fn records_text(title: &str, text: &str, all: bool) -> String {
    let recs = records(text);
    let mut out = format!("\n{title}: {} record(s)\n", recs.len());
    if recs.is_empty() {
        return out;
    }
    let shown = if all {
        recs.len()
    } else {
        recs.len().min(RECORDS_SHOWN)
    };
    let rows: Vec<Vec<String>> = recs[..shown]
        .iter()
        .map(|r| {
            vec![
                r.owner.to_string(),
                r.ttl.to_string(),
                r.rtype.to_string(),
                r.value.clone(),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["OWNER", "TTL", "TYPE", "VALUE"],
        &rows,
        &[1],
        2,
    ));
    if shown < recs.len() {
        out.push_str(&format!(
            "  … and {} more record(s), not shown: `--all` shows every one, `--format json` lists them\n",
            recs.len() - shown
        ));
    }
    out
}

fn servers_text(s: &Shown) -> String {
    if s.servers.is_empty() {
        return "\nServers: not asked (zonekeeper.yaml is invalid at this revision)\n".into();
    }
    let recorded = s.recorded.as_ref().map(|r| r.serial);
    let rows: Vec<Vec<String>> = s
        .servers
        .iter()
        .map(|v| {
            let (serial, aa) = serial_aa(&v.answer);
            let note = match (serial, recorded) {
                (Some(a), Some(b)) if a != b => format!(
                    "{}: differs from the recorded serial {b}",
                    v.answer.describe()
                ),
                (Some(_), Some(_)) => format!("{}, as recorded", v.answer.describe()),
                (Some(_), None) => format!("{}; nothing is recorded", v.answer.describe()),
                (None, _) => v.answer.describe(),
            };
            vec![
                v.server.clone(),
                v.addr.to_string(),
                serial.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
                match aa {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
                note,
            ]
        })
        .collect();
    format!(
        "\nServers (asked now):\n{}",
        table::render(
            &["SERVER", "ADDRESS", "SERIAL", "AA", "NOTE"],
            &rows,
            &[],
            2
        )
    )
}

fn operations_text(s: &Shown) -> String {
    if s.ops.is_empty() {
        return String::new();
    }
    let mut out = "\nOperations:\n".to_string();
    for o in &s.ops {
        let current = o.steps.iter().find(|st| st.state != "done");
        out.push_str(&format!(
            "  op {} {} {}: {}\n",
            o.id,
            o.kind,
            o.server,
            current
                .map(|st| format!("step {} {} {}: {}", st.idx, st.name, st.state, st.message))
                .unwrap_or_else(|| "finishing".into())
        ));
    }
    out
}
