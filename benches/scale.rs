//! Scale benchmark (not a test): N zones × 25 records in a Git repository, timing
//! `validate`, a `plan` into an empty store, a no-op `plan`, and a `plan` after one zone,
//! 1% of the zones and every zone changed, with peak memory.
//!
//! Each command changes nothing and runs three times: the median time is shown, with the
//! largest peak memory. Run with `cargo bench --bench scale` (N = 1,000 and 10,000), or
//! `cargo bench --bench scale -- 40000` for other sizes. Each command is run
//! through GNU time (`/usr/bin/time`, Debian package `time`) for its peak RSS.
//! Targets at 10,000 zones: validate ≤ 2 s, no-op plan ≤ 1 s, one-zone plan ≤ 0.3 s,
//! peak memory ≤ 500 MB.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{commit, generated_repo, measure_median, zone_text};

/// Runs of each command; the median is shown.
const RUNS: usize = 3;

use zonekeeper::desired::{self, Source};
use zonekeeper::store::{AppliedRevision, AuditEntry, GroupRow, RecordedZone, Store, db_url};

const CONFIG: &str = "primary:
  address: 127.0.0.1
  tsig: {name: zonekeeper, secret_env: ZONEKEEPER_BENCH_SECRET}
  control: {rndc_conf: /nonexistent/rndc.conf, config_dir: /nonexistent/zonekeeper}
secondaries:
  ns1: {addresses: [192.0.2.53]}
  ns2: {addresses: [198.51.100.53]}
groups:
  default:
    catalog: catalog.default.zonekeeper.
    secondaries: [ns1, ns2]
    nameservers: [ns1.example.net., ns2.example.net.]
    soa: {mname: primary.example.net., rname: hostmaster@example.net}
";

/// Records every zone as applied, as `apply` does after a successful run.
fn record_all(repo: &Path, db: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let source = Source::open(repo, None, false).unwrap();
        let state = desired::load(&source).unwrap();
        let store = Store::open(&db_url(db).unwrap()).await.unwrap();
        let rows: Vec<(RecordedZone, AuditEntry)> = state
            .zones
            .iter()
            .map(|(name, z)| {
                let mut rz = RecordedZone::of(z, 2026112100, &state.revision.id);
                rz.verified = true;
                let audit = AuditEntry {
                    at: 0,
                    commit_id: state.revision.id.clone(),
                    author: "bench".into(),
                    action: "create".into(),
                    target: name.clone(),
                    detail: String::new(),
                };
                (rz, audit)
            })
            .collect();
        store.record_zones(&rows).await.unwrap();
        let groups: Vec<GroupRow> = state.config.groups.values().map(GroupRow::of).collect();
        let rev = AppliedRevision {
            commit_id: state.revision.id.clone(),
            author: "bench".into(),
            summary: "bench".into(),
            applied_at: 0,
        };
        store.set_applied(&rev, &groups, &[]).await.unwrap();
        store.close().await;
    });
}

fn run(n: usize) {
    // ZONEKEEPER_BENCH_KEEP=1 keeps the repository and the store, for profiling: the store
    // records the first revision, the repository's HEAD has every zone changed
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _guard) = match std::env::var_os("ZONEKEEPER_BENCH_KEEP") {
        Some(_) => (tmp.keep(), None),
        None => (tmp.path().to_path_buf(), Some(tmp)),
    };
    let repo_dir = dir.join("repo");
    let t = Instant::now();
    let repo = generated_repo(&repo_dir, CONFIG, n);
    let setup = t.elapsed().as_secs_f64();
    let db = dir.join("store.sqlite").display().to_string();

    let validate = measure_median(&["validate"], &repo_dir, &db, RUNS);
    assert_eq!(validate.2, 0, "validate failed");
    let empty_db = dir.join("empty.sqlite").display().to_string();
    let empty = measure_median(&["plan", "--detailed-exitcode"], &repo_dir, &empty_db, RUNS);
    assert_eq!(empty.2, 2, "plan into an empty store found no change");
    let t = Instant::now();
    record_all(&repo_dir, &db);
    let record = t.elapsed().as_secs_f64();
    let noop = measure_median(&["plan", "--detailed-exitcode"], &repo_dir, &db, RUNS);
    assert_eq!(noop.2, 0, "no-op plan found changes");
    std::fs::write(repo_dir.join("zones/zone7.example.yaml"), zone_text(7, "b")).unwrap();
    commit(&repo, "one zone changed");
    let one = measure_median(&["plan", "--detailed-exitcode"], &repo_dir, &db, RUNS);
    assert_eq!(one.2, 2, "one-zone plan found no change");
    let touch = |step: usize, salt: &str| {
        for i in (0..n).step_by(step) {
            std::fs::write(
                repo_dir.join(format!("zones/zone{i}.example.yaml")),
                zone_text(i, salt),
            )
            .unwrap();
        }
        commit(&repo, salt);
        let m = measure_median(&["plan", "--detailed-exitcode"], &repo_dir, &db, RUNS);
        assert_eq!(m.2, 2, "a plan after changing zones found no change");
        m
    };
    let percent = touch(100, "c");
    let all = touch(1, "d");
    // the same plan with every zone's RRsets, old and new: JSON reads every recorded
    // content, where the text plan reads those it shows in full
    let json = measure_median(
        &["plan", "--detailed-exitcode", "--format", "json"],
        &repo_dir,
        &db,
        RUNS,
    );
    assert_eq!(
        json.2, 2,
        "a JSON plan after changing zones found no change"
    );

    if _guard.is_none() {
        println!("kept: {}", dir.display());
    }
    println!(
        "N = {n} zones × 25 records (repository written and committed in {setup:.1} s, store filled in {record:.1} s)"
    );
    println!("  {:<30} {:>8} {:>12}", "command", "seconds", "peak MB");
    for (what, (secs, mb, _)) in [
        ("validate", validate),
        ("plan (into an empty store)", empty),
        ("plan (no-op)", noop),
        ("plan (one zone changed)", one),
        ("plan (1% of zones changed)", percent),
        ("plan (every zone changed)", all),
        ("  the same, --format json", json),
    ] {
        println!("  {what:<30} {secs:>8.3} {mb:>12.1}");
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    for n in sizes {
        run(n);
    }
}
