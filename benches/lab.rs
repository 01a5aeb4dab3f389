//! Lab benchmark (not a test): N zones × 25 records applied to a real BIND lab (a hidden
//! primary and two secondaries on loopback, each fed by its own catalog zone), SQLite
//! store. Measures, with peak memory: the initial apply (verified on every server, in one
//! run), the latency of one changed record (from `apply` starting to both secondaries
//! answering with the new serial), a no-op apply, and a sweep (`check`: every server
//! asked about each of its zones, the verdict recorded).
//!
//! `cargo bench --bench lab` (N = 10,000), or `cargo bench --bench lab -- 1000 40000`.
//! The secondaries refresh each zone at most hourly (`max-refresh-time 3600`), so an idle
//! lab does not load the machine; `refresh=30` (the tests' lab) measures with every zone
//! refreshed every 30 s. `ZONEKEEPER_BENCH_LOG=FILE` keeps the one-change apply's log
//! (`ZONEKEEPER_LOG=info`, timestamped) in FILE, the initial apply's in FILE.initial. Needs BIND (`scripts/setup.sh`'s `ensure_bind`)
//! and GNU time.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{commit, generated_repo, measure_logged, measure_median, zone_text};
use hickory_proto::rr::{Name, RData, RecordType};
use zonekeeper_lab::{Lab, LabSpec};
use zonekeeper_query::{Transport, query_blocking};

const CATALOG: &str = "catalog.test.";

/// `zonekeeper.yaml` for the lab: its primary, both secondaries in group `default`.
fn config(spec: &LabSpec) -> String {
    let p = &spec.primary;
    let mut out = format!(
        "primary:\n  name: {}\n  address: {}\n  port: {}\n  tsig:\n    name: zonekeeper\n    secret_file: {}\n  control:\n    rndc_conf: {}\n    config_dir: {}\nsecondaries:\n",
        p.name,
        p.addr,
        p.port,
        spec.tsig_key_file.display(),
        spec.primary_rndc_conf.display(),
        spec.include_dir.display()
    );
    for s in &spec.secondaries {
        out.push_str(&format!(
            "  {}:\n    addresses: [{}]\n    port: {}\n    nameserver: {}.example.net.\n",
            s.name, s.addr, s.port, s.name
        ));
    }
    let names: Vec<&str> = spec.secondaries.iter().map(|s| s.name.as_str()).collect();
    let ns: Vec<String> = names.iter().map(|n| format!("{n}.example.net.")).collect();
    out.push_str(&format!(
        "groups:\n  default:\n    catalog: {CATALOG}\n    secondaries: [{}]\n    nameservers: [{}]\n    soa:\n      mname: primary.example.net.\n      rname: hostmaster@example.net\n",
        names.join(", "),
        ns.join(", ")
    ));
    out
}

/// The serial `server` serves `zone` at with AA, if it does.
fn serial(server: SocketAddr, zone: &Name) -> Option<u32> {
    let reply = query_blocking(
        server,
        zone,
        RecordType::SOA,
        Transport::Udp,
        Duration::from_millis(500),
    )
    .ok()?;
    if !reply.authoritative {
        return None;
    }
    reply.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

fn run(n: usize, refresh: u32) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = LabSpec::for_test(&dir.path().join("lab"), 2, vec![CATALOG.into()]).unwrap();
    spec.secondary_catalogs = spec
        .secondaries
        .iter()
        .map(|s| (s.name.clone(), vec![format!("{}.{CATALOG}", s.name)]))
        .collect();
    spec.max_refresh_time = refresh;
    let lab = Lab::start(spec).unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = generated_repo(&repo_dir, &config(lab.spec()), n);
    let db = dir.path().join("store.sqlite").display().to_string();
    let apply = ["apply", "--auto-approve"];

    let log = std::env::var_os("ZONEKEEPER_BENCH_LOG").map(std::path::PathBuf::from);
    let initial_log = log.as_ref().map(|l| l.with_extension("initial"));
    let initial = measure_logged(&apply, &repo_dir, &db, initial_log.as_deref());
    assert_eq!(
        initial.2, 0,
        "the initial apply did not complete in one run"
    );

    // One record changed: from `apply` starting until both secondaries serve it.
    let zone = Name::from_ascii("zone7.example.").unwrap();
    let secondaries: Vec<SocketAddr> = lab
        .spec()
        .secondaries
        .iter()
        .map(|s| s.dns_addr())
        .collect();
    let before: Vec<Option<u32>> = secondaries.iter().map(|s| serial(*s, &zone)).collect();
    std::fs::write(repo_dir.join("zones/zone7.example.yaml"), zone_text(7, "b")).unwrap();
    commit(&repo, "one record changed");
    let started = Instant::now();
    let stderr = match &log {
        Some(path) => std::process::Stdio::from(std::fs::File::create(path).unwrap()),
        None => std::process::Stdio::null(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(apply)
        .args(["--repo", repo_dir.to_str().unwrap(), "--db", &db])
        .env("NO_COLOR", "1")
        .env("ZONEKEEPER_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut live = None;
    while started.elapsed() < Duration::from_secs(120) {
        let now: Vec<Option<u32>> = secondaries.iter().map(|s| serial(*s, &zone)).collect();
        if now.iter().zip(&before).all(|(a, b)| a.is_some() && a != b) {
            live = Some(started.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    let change_apply = started.elapsed().as_secs_f64();
    assert!(status.success(), "the one-change apply failed");
    let live = live.expect("the change never reached both secondaries");

    // nothing to do: repeatable, the median of three runs
    let noop = measure_median(&apply, &repo_dir, &db, 3);
    assert_eq!(noop.2, 0, "the no-op apply failed");

    // a sweep: every server asked about each of its zones (N × 3 questions), recorded
    let sweep = measure_median(&["check"], &repo_dir, &db, 3);
    assert_eq!(sweep.2, 0, "a server was not OK in the sweep");

    println!(
        "N = {n} zones × 25 records, BIND lab (primary + 2 secondaries, max-refresh-time {refresh}), SQLite"
    );
    println!("  {:<40} {:>8} {:>12}", "step", "seconds", "peak MB");
    println!(
        "  {:<40} {:>8.2} {:>12.1}",
        "initial apply (verified everywhere)", initial.0, initial.1
    );
    println!(
        "  {:<40} {:>8.3} {:>12}",
        "one record changed: live on both", live, "-"
    );
    println!(
        "  {:<40} {:>8.3} {:>12}",
        "one record changed: apply finished", change_apply, "-"
    );
    println!("  {:<40} {:>8.3} {:>12.1}", "no-op apply", noop.0, noop.1);
    println!(
        "  {:<40} {:>8.3} {:>12.1}",
        format!("sweep (check): {} questions", 3 * n),
        sweep.0,
        sweep.1
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let refresh = args
        .iter()
        .find_map(|a| a.strip_prefix("refresh=")?.parse().ok())
        .unwrap_or(3600);
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![10_000]
    } else {
        sizes
    };
    for n in sizes {
        run(n, refresh);
    }
}
