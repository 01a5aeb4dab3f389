//! What the benchmarks share: the generated zones, committing them, and running the
//! binary under GNU time for its peak memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A zone of 25 records (plus the group's two apex NS).
pub fn zone_text(i: usize, salt: &str) -> String {
    let mut t = String::from("group: default\nttl: 3600\nrecords:\n  \"@\":\n");
    t.push_str(&format!("    A: 192.0.{}.{}\n", i % 250, i % 200 + 1));
    t.push_str("    MX: [\"10 mail\", \"20 mx.example.net.\"]\n");
    t.push_str(&format!("    TXT: \"v=spf1 mx -all {salt}\"\n"));
    t.push_str("    CAA: 0 issue \"letsencrypt.org\"\n");
    t.push_str("  mail:\n    A: 192.0.2.25\n    AAAA: 2001:db8::25\n");
    t.push_str("  _sip._tcp:\n    SRV: 10 60 5060 mail\n");
    t.push_str("  www:\n    CNAME: \"@\"\n");
    for h in 0..16 {
        t.push_str(&format!("  host{h}:\n    A: 198.51.100.{}\n", h + 1));
    }
    t
}

pub fn commit(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Bench", "bench@example.net").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}

/// Runs the binary under GNU time; returns (seconds, peak RSS in MB, exit code).
pub fn measure(args: &[&str], repo: &Path, db: &str) -> (f64, f64, i32) {
    measure_logged(args, repo, db, None)
}

/// [`measure`], the run's log (`ZONEKEEPER_LOG=info`, timestamped) kept in `log` if given.
pub fn measure_logged(args: &[&str], repo: &Path, db: &str, log: Option<&Path>) -> (f64, f64, i32) {
    let bin = env!("CARGO_BIN_EXE_zonekeeper");
    let times = tempfile::NamedTempFile::new().unwrap();
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
        None => Stdio::null(),
    };
    let start = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(times.path())
        .arg(bin)
        .args(args)
        .args(["--repo", repo.to_str().unwrap(), "--db", db])
        .env("NO_COLOR", "1")
        .env(
            "ZONEKEEPER_LOG",
            if log.is_some() { "info" } else { "warn" },
        )
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .expect("/usr/bin/time (apt-get install time)");
    let secs = start.elapsed().as_secs_f64();
    let kb: f64 = std::fs::read_to_string(times.path())
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    (secs, kb / 1024.0, status.code().unwrap_or(-1))
}

/// Runs a command that changes nothing `runs` times; returns the median time, the
/// largest peak RSS and the exit code (of the last run). The first run after the store
/// or the repository was written often pays for the page cache: one run is noise.
pub fn measure_median(args: &[&str], repo: &Path, db: &str, runs: usize) -> (f64, f64, i32) {
    let all: Vec<(f64, f64, i32)> = (0..runs.max(1)).map(|_| measure(args, repo, db)).collect();
    let mut secs: Vec<f64> = all.iter().map(|m| m.0).collect();
    secs.sort_by(f64::total_cmp);
    let mb = all.iter().map(|m| m.1).fold(0.0, f64::max);
    (secs[secs.len() / 2], mb, all[all.len() - 1].2)
}

/// A Git repository at `dir` with `config` as `zonekeeper.yaml` and `n` generated zones
/// (`zones/zone<i>.example.yaml`), committed.
pub fn generated_repo(dir: &Path, config: &str, n: usize) -> git2::Repository {
    let repo = git2::Repository::init(dir).unwrap();
    std::fs::write(dir.join("zonekeeper.yaml"), config).unwrap();
    std::fs::create_dir(dir.join("zones")).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("zones/zone{i}.example.yaml")),
            zone_text(i, "a"),
        )
        .unwrap();
    }
    commit(&repo, "generated zones");
    repo
}
