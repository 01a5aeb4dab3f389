//! Import benchmark (not a test; issue 11, point 6): N zone files of 35 records each (A,
//! AAAA, MX, TXT, CAA, SRV, CNAME, a delegation with glue, a wildcard, and 16 hosts by
//! `$GENERATE`), listed in a `named.conf`, imported into an empty Git repository
//! (`zonekeeper import --named-conf`: a `zonekeeper.yaml` skeleton written first, so the
//! files are read twice), the result validated (`validate --worktree`), and imported
//! again over it (`--force`, the configuration there: read once). Each step runs once,
//! through GNU time for its peak RSS. Run with `scripts/bench import [N ...]` (default
//! N = 1,000 and 10,000). Target: 40,000 zones imported in under 60 s.

// the helpers the other benchmarks share; this one uses a few
#[allow(dead_code)]
mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use common::measure;

/// One zone file: 35 records.
fn zone_file(i: usize) -> String {
    let mut t = format!(
        "$ORIGIN zone{i}.example.\n$TTL 3600\n@ IN SOA ns0.example.net. hostmaster.example.net. (\n    {} ; serial\n    3600 600 1209600 300 )\n",
        2_024_010_100 + i as u64 % 100
    );
    t.push_str("  NS ns1.example.net.\n  NS ns2.example.net.\n");
    let _ = writeln!(t, "  A 192.0.{}.{}", i % 250, i % 200 + 1);
    t.push_str("  MX 10 mail\n  MX 20 mx.example.net.\n  TXT \"v=spf1 mx -all\"\n  CAA 0 issue \"letsencrypt.org\"\n");
    t.push_str("mail 300 A 192.0.2.25\n  AAAA 2001:db8::25\n_sip._tcp SRV 10 60 5060 mail\n");
    t.push_str(
        "www CNAME @\nftp CNAME www\n_dmarc TXT \"v=DMARC1; p=none\"\n*.wild A 192.0.2.80\n",
    );
    t.push_str("lab NS ns1.lab\n    NS ns2.example.net.\nns1.lab A 192.0.2.153\n");
    t.push_str("$GENERATE 1-16 host$ A 198.51.100.$\n");
    t
}

/// `n` zone files and a named.conf listing them, under `dir`.
fn generated(dir: &Path, n: usize) {
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    let mut conf = format!("options {{ directory \"{}\"; }};\n", zones.display());
    for i in 0..n {
        std::fs::write(zones.join(format!("db.zone{i}.example")), zone_file(i)).unwrap();
        let _ = writeln!(
            conf,
            "zone \"zone{i}.example\" {{ type primary; file \"db.zone{i}.example\"; }};"
        );
    }
    std::fs::write(dir.join("named.conf"), conf).unwrap();
}

fn run(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t = Instant::now();
    generated(dir, n);
    let repo = dir.join("repo");
    git2::Repository::init(&repo).unwrap();
    let setup = t.elapsed().as_secs_f64();
    let db = dir.join("store.sqlite").display().to_string();
    let conf = dir.join("named.conf").display().to_string();
    let first = measure(&["import", "--named-conf", &conf], &repo, &db);
    assert_eq!(first.2, 0, "import failed");
    let written = std::fs::read_dir(repo.join("zones")).unwrap().count();
    assert_eq!(written, n, "every zone written");
    let validate = measure(&["validate", "--worktree"], &repo, &db);
    assert_eq!(validate.2, 0, "the imported zones do not validate");
    let again = measure(&["import", "--named-conf", &conf, "--force"], &repo, &db);
    assert_eq!(again.2, 0, "import --force failed");
    println!("N = {n} zone files × 35 records (written in {setup:.1} s)");
    println!("  {:<44} {:>8} {:>10}", "command", "seconds", "peak MB");
    for (what, (secs, mb, _)) in [
        ("import --named-conf (no zonekeeper.yaml)", first),
        ("validate --worktree", validate),
        ("import --named-conf --force (config there)", again),
    ] {
        println!("  {what:<44} {secs:>8.2} {mb:>10.1}");
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
