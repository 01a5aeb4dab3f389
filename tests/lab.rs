//! The lab harness itself: a real BIND lab on loopback (needs root and BIND 9).

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use zonekeeper_lab::{Lab, LabSpec, probe_soa};

const ANSWER_TIMEOUT: Duration = Duration::from_millis(300);

/// Pids of processes whose command line mentions `dir`.
fn processes_under(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lab_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LabSpec::for_test(tmp.path(), 2, vec!["catalog.test.".to_string()]).unwrap();
    let t0 = Instant::now();
    let mut lab = Lab::start(spec).unwrap();
    eprintln!("lab started in {:?}", t0.elapsed());
    let dir = lab.spec().dir.clone();
    let names: Vec<String> = lab.spec().servers().map(|s| s.name.clone()).collect();
    assert_eq!(names, ["ns0", "ns1", "ns2"]);

    for name in &names {
        assert!(lab.answers(name, ANSWER_TIMEOUT).unwrap(), "{name} answers");
    }
    assert_eq!(
        base64_len(&lab.tsig_secret().unwrap()),
        32,
        "32-byte TSIG secret"
    );
    let status = lab.rndc("ns0", &["status"]).unwrap();
    assert!(status.contains("server is up and running"), "{status}");
    assert!(lab.spec().primary_rndc_conf.exists());
    assert!(lab.spec().zones_conf_path().exists());

    // The catalog works: give the primary a catalog with one member zone, and both
    // secondaries serve the member by themselves.
    catalog_follows(&lab);

    // kill / start_server
    lab.kill("ns2").unwrap();
    assert!(
        !lab.answers("ns2", ANSWER_TIMEOUT).unwrap(),
        "killed ns2 is silent"
    );
    assert!(lab.pid("ns2").is_none());
    lab.start_server("ns2").unwrap();
    assert!(
        lab.answers("ns2", ANSWER_TIMEOUT).unwrap(),
        "restarted ns2 answers"
    );

    // pause / resume
    lab.pause("ns1").unwrap();
    assert!(
        !lab.answers("ns1", ANSWER_TIMEOUT).unwrap(),
        "paused ns1 is silent"
    );
    let t = Instant::now();
    assert!(
        lab.rndc("ns1", &["status"]).is_err(),
        "rndc on a paused server fails"
    );
    assert!(t.elapsed() < Duration::from_secs(8), "rndc timeout works");
    lab.resume("ns1").unwrap();
    assert!(
        lab.answers("ns1", ANSWER_TIMEOUT).unwrap(),
        "resumed ns1 answers"
    );

    // stop one cleanly, unknown names
    lab.stop("ns1").unwrap();
    assert!(!lab.answers("ns1", ANSWER_TIMEOUT).unwrap());
    assert!(lab.pause("ns1").is_err(), "pause of a stopped server fails");
    assert!(lab.kill("nope").is_err());
    lab.start_server("ns1").unwrap();

    let log = lab.log_text();
    assert!(log.contains("named.log"), "log text names the files");
    assert!(
        !log.contains(&lab.tsig_secret().unwrap()),
        "TSIG secret not logged"
    );

    assert!(!processes_under(&dir).is_empty());
    let t = Instant::now();
    lab.shutdown();
    eprintln!("lab shut down in {:?}", t.elapsed());
    assert_eq!(processes_under(&dir), Vec::<u32>::new(), "no named left");
    for name in &names {
        assert!(!lab.answers(name, ANSWER_TIMEOUT).unwrap());
    }
    drop(lab);
}

fn base64_len(secret: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(secret)
        .unwrap()
        .len()
}

fn catalog_follows(lab: &Lab) {
    let spec = lab.spec();
    let key = &spec.tsig_key_name;
    let include = &spec.include_dir;
    let notify: String = spec
        .secondaries
        .iter()
        .map(|s| format!("{} port {} key \"{key}\"; ", s.addr, s.port))
        .collect();
    fs::write(
        include.join("catalog.test.db"),
        "$TTL 0\n@ IN SOA invalid. invalid. 1 60 5 1209600 0\n@ IN NS invalid.\n\
         version IN TXT \"2\"\nm1.zones IN PTR member.test.\n",
    )
    .unwrap();
    fs::write(
        include.join("member.test.db"),
        format!(
            "$TTL 300\n@ IN SOA ns0 hostmaster 7 60 5 1209600 300\n@ IN NS ns0\nns0 IN A {}\n",
            spec.primary.addr
        ),
    )
    .unwrap();
    let mut zones = String::new();
    for zone in ["catalog.test", "member.test"] {
        zones.push_str(&format!(
            "zone \"{zone}\" {{ type primary; file \"{}/{zone}.db\"; also-notify {{ {notify}}}; }};\n",
            include.display()
        ));
    }
    fs::write(spec.zones_conf_path(), zones).unwrap();
    let t = Instant::now();
    lab.rndc("ns0", &["reconfig"]).unwrap();
    let primary = spec.primary.dns_addr();
    wait_until(
        "the primary serves the catalog",
        Duration::from_secs(5),
        || probe_soa(primary, "catalog.test", ANSWER_TIMEOUT).is_ok_and(|a| a.authoritative),
    );
    // The secondaries asked for the catalog at start-up and were refused; the NOTIFY of
    // the new zone makes them ask again.
    for s in &spec.secondaries {
        let addr = s.dns_addr();
        wait_until(
            &format!("{} serves member.test", s.name),
            Duration::from_secs(15),
            || {
                probe_soa(addr, "member.test", ANSWER_TIMEOUT)
                    .is_ok_and(|a| a.authoritative && a.rcode == 0 && a.answer_count == 1)
            },
        );
    }
    eprintln!(
        "catalog member reached both secondaries in {:?}",
        t.elapsed()
    );
}

#[test]
fn parallel_labs_get_disjoint_ports() {
    let handles: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let tmp = tempfile::tempdir().unwrap();
                let spec =
                    LabSpec::for_test(tmp.path(), 2, vec!["catalog.test".to_string()]).unwrap();
                let lab = Lab::start(spec).unwrap();
                for s in lab.spec().servers() {
                    assert!(lab.answers(&s.name, ANSWER_TIMEOUT).unwrap());
                }
                let ports: HashSet<u16> = lab
                    .spec()
                    .servers()
                    .flat_map(|s| [s.port, s.rndc_port])
                    .collect();
                (ports, lab, tmp)
            })
        })
        .collect();
    let labs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (a, b) = (&labs[0].0, &labs[1].0);
    assert!(a.is_disjoint(b), "ports overlap: {a:?} {b:?}");
    // Both labs run at once and still answer.
    for (_, lab, _) in &labs {
        for s in lab.spec().servers() {
            assert!(lab.answers(&s.name, ANSWER_TIMEOUT).unwrap());
        }
    }
    let dirs: Vec<_> = labs
        .iter()
        .map(|(_, lab, _)| lab.spec().dir.clone())
        .collect();
    drop(labs);
    for dir in dirs {
        assert!(processes_under(&dir).is_empty());
    }
}

#[test]
fn detached_lab_is_idempotent_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LabSpec::for_test(tmp.path(), 1, vec!["catalog.test".to_string()]).unwrap();
    let t = Instant::now();
    zonekeeper_lab::start_detached(spec.clone()).unwrap();
    eprintln!("detached lab started in {:?}", t.elapsed());
    let dir = fs::canonicalize(tmp.path()).unwrap();
    let pid_files = |dir: &Path| -> Vec<String> {
        ["ns0", "ns1"]
            .iter()
            .map(|n| fs::read_to_string(dir.join(n).join("named.pid.run")).unwrap())
            .collect()
    };
    let pids = pid_files(&dir);
    for s in spec.servers() {
        assert!(probe_soa(s.dns_addr(), ".", ANSWER_TIMEOUT).is_ok());
    }
    // Again: nothing restarted.
    zonekeeper_lab::start_detached(spec.clone()).unwrap();
    assert_eq!(pid_files(&dir), pids);
    assert_eq!(processes_under(&dir).len(), 2);
    let t = Instant::now();
    zonekeeper_lab::stop_detached(tmp.path()).unwrap();
    eprintln!("detached lab stopped in {:?}", t.elapsed());
    assert_eq!(processes_under(&dir), Vec::<u32>::new());
    assert!(!dir.join("ns0").join("named.pid.run").exists());
    // Stopping again, or a missing lab, is fine.
    zonekeeper_lab::stop_detached(tmp.path()).unwrap();
    zonekeeper_lab::stop_detached(&tmp.path().join("missing")).unwrap();
}

#[test]
fn broken_config_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LabSpec::for_test(tmp.path(), 1, vec![]).unwrap();
    fs::create_dir_all(&spec.include_dir).unwrap();
    fs::write(
        spec.zones_conf_path(),
        "zone \"x.test\" { type nonsense; };\n",
    )
    .unwrap();
    let err = Lab::start(spec).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("named-checkconf") && text.contains("nonsense"),
        "{text}"
    );
    assert!(processes_under(tmp.path()).is_empty());
}
