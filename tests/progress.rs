//! Progress of a long apply (issue 12, point 3), with the real binary and a real BIND lab:
//! on a terminal (a pseudo-terminal made by `script(1)`) indicatif bars are drawn with
//! counts; off a terminal only plain lines every interval, never an escape sequence, and
//! nothing for work that ends within the interval; `--format json` on stdout is never
//! mixed with progress.

use std::time::Duration;

use crate::interrupt::{Running, changed_zones, on_pty, zk_line};
use crate::support::{Db, Env, text, zone_yaml};

/// The progress lines of `stderr`: those counting zones.
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(" zones, ") && l.ends_with(" s"))
        .collect()
}

/// `(done, total)` of `word` in a progress line ("updated 412/1000 zones, ...").
fn count(line: &str, word: &str) -> Option<(u64, u64)> {
    let rest = line.split(&format!("{word} ")).nth(1)?;
    let figures = rest.split([' ', ',']).next()?;
    let (done, total) = figures.split_once('/')?;
    Some((done.parse().ok()?, total.parse().ok()?))
}

/// Off a terminal, a long apply prints plain progress lines on stderr while it works;
/// stdout holds only the JSON report.
#[test]
fn off_a_terminal_progress_is_plain_lines_and_json_stays_clean() {
    let env = Env::new(Db::Sqlite);
    changed_zones(&env, 300);
    let mut cmd = env.command(&[
        "apply",
        "--auto-approve",
        "--format",
        "json",
        "--verify-timeout",
        "20",
    ]);
    cmd.env("ZONEKEEPER_PROGRESS_INTERVAL_MS", "100");
    let (code, out, err) = Running::spawn(cmd).finish(Duration::from_secs(300));
    assert_eq!(code, Some(0), "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}):\n{out}"));
    assert_eq!(report["state"], "applied", "{out}");
    let schema =
        crate::schema::validator(&crate::schema::top().join("schema/output/apply.schema.json"));
    let why = crate::schema::why_not(&schema, &report);
    assert!(why.is_empty(), "{why:?}\n{out}");
    assert!(!out.contains('\x1b') && !err.contains('\x1b'), "{err}");
    let lines = progress_lines(&err);
    assert!(!lines.is_empty(), "progress lines on stderr:\n{err}");
    for l in &lines {
        let (_, total) = count(l, "updated").unwrap_or_else(|| panic!("{l}"));
        assert_eq!(total, 300, "{l}");
        assert!(count(l, "verified").is_some(), "{l}");
    }
}

/// Work that ends within the interval prints no progress at all.
#[test]
fn a_short_apply_prints_no_progress() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    // the default interval, 5 s: one zone is created and verified well within it
    let out = env.apply(&[], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(progress_lines(&err).is_empty(), "{}", text(&out));
    assert!(!err.contains("created"), "{}", text(&out));
}

/// On a terminal, indicatif bars are drawn (escape sequences, each count with its total).
#[test]
fn on_a_terminal_progress_bars_are_drawn() {
    let env = Env::new(Db::Sqlite);
    changed_zones(&env, 300);
    let pid_file = env.dir.path().join("apply.pid");
    let line = zk_line(&env, "apply --auto-approve --verify-timeout 20");
    let (code, out, err) = on_pty(&env, &line, &pid_file, &[]).finish(Duration::from_secs(300));
    let all = format!("{out}{err}");
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("Applied revision"), "{all}");
    assert!(all.contains('\x1b'), "escape sequences drawn: {all:?}");
    assert!(all.contains("updated ["), "an updated bar: {all:?}");
    assert!(all.contains("verified ["), "a verified bar: {all:?}");
    assert!(all.contains("/300"), "counts with their total: {all:?}");
    // bars, not log lines
    assert!(progress_lines(&all).is_empty(), "{all:?}");
}
