//! Unit tests of the derivation of PTRs from forward data: reverse names, which zone gets
//! a PTR, what is left to the operator's data, the problems, and incremental loads.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use git2::Repository;
use hickory_proto::rr::Name;

use super::{prefix_of, reverse_name};
use crate::desired::{DesiredState, LoadError, Scope, Source, load, load_changes};
use crate::model::record::parse_name;
use crate::plan::tests::CONFIG;

/// A second group, `other`, beside the test configuration's `default`.
fn config() -> String {
    format!(
        "{CONFIG}  other:\n    catalog: catalog.other.\n    secondaries: [ns1]\n    nameservers: [ns1.example.net.]\n    soa: {{mname: p.example.net., rname: h.example.net.}}\n"
    )
}

fn write_repo(dir: &Path, config: &str, zones: &[(&str, &str)]) {
    std::fs::write(dir.join("zonekeeper.yaml"), config).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("zones"));
    std::fs::create_dir(dir.join("zones")).unwrap();
    for (name, text) in zones {
        std::fs::write(dir.join(format!("zones/{name}.yaml")), text).unwrap();
    }
}

/// The desired state of a work tree holding `zones` (file name without `.yaml`, text).
fn state_with(config: &str, zones: &[(&str, &str)]) -> Result<DesiredState, LoadError> {
    let dir = tempfile::tempdir().unwrap();
    write_repo(dir.path(), config, zones);
    load(&Source::open(dir.path(), None, true).unwrap())
}

fn state(zones: &[(&str, &str)]) -> DesiredState {
    state_with(&config(), zones).unwrap_or_else(|e| panic!("{e:?}"))
}

/// The PTR lines of a zone's content.
fn ptrs(state: &DesiredState, zone: &str) -> Vec<String> {
    state.zones[zone]
        .canonical_text(1)
        .lines()
        .filter(|l| l.contains(" IN PTR "))
        .map(str::to_string)
        .collect()
}

/// Problems as (code, `file:line:col`, message).
fn problems(result: Result<DesiredState, LoadError>) -> Vec<(String, String, String)> {
    match result {
        Err(LoadError::Invalid(p)) => {
            p.0.iter()
                .map(|p| (p.code.to_string(), p.location(), p.message.clone()))
                .collect()
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the revision was valid"),
    }
}

const FORWARD: &str = "group: default
records:
  www: {A: {ttl: 300, value: 192.0.2.1}, AAAA: 2001:db8::1}
  mail: {A: 192.0.2.25}
";
const REV4: &str = "group: default\nauto_ptr: true\n";
const REV6: &str = "group: default\nauto_ptr: true\n";
const V6: &str = "8.b.d.0.1.0.0.2.ip6.arpa";

#[test]
fn reverse_names_and_the_addresses_a_zone_covers() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let name = |s: &str| parse_name(s, &Name::root()).unwrap();
    assert_eq!(
        reverse_name(ip("192.0.2.1")).to_ascii(),
        "1.2.0.192.in-addr.arpa."
    );
    assert_eq!(
        reverse_name(ip("2001:db8::1")).to_ascii(),
        format!("1.{}.{V6}.", ["0"; 23].join("."))
    );
    let p = prefix_of(&name("2.0.192.in-addr.arpa.")).unwrap();
    assert_eq!((p.family, p.len, p.bits), (4, 3, 0xc00002));
    let p = prefix_of(&name(&format!("{V6}."))).unwrap();
    assert_eq!((p.family, p.len, p.bits), (6, 8, 0x20010db8));
    assert_eq!(prefix_of(&name("in-addr.arpa.")).unwrap().len, 0);
    for not in [
        "0/26.2.0.192.in-addr.arpa.",
        "0-26.2.0.192.in-addr.arpa.",
        "02.0.192.in-addr.arpa.",
        "256.0.192.in-addr.arpa.",
        "1.2.3.4.5.in-addr.arpa.",
        "ab.ip6.arpa.",
        "example.com.",
        "xin-addr.arpa.",
    ] {
        assert_eq!(prefix_of(&name(not)), None, "{not}");
    }
}

#[test]
fn ipv4_and_ipv6_addresses_get_ptrs_at_the_forward_ttl() {
    let s = state(&[
        ("example.test", FORWARD),
        ("2.0.192.in-addr.arpa", REV4),
        (V6, REV6),
    ]);
    assert_eq!(
        ptrs(&s, "2.0.192.in-addr.arpa."),
        [
            "1.2.0.192.in-addr.arpa. 300 IN PTR www.example.test.",
            "25.2.0.192.in-addr.arpa. 3600 IN PTR mail.example.test.",
        ]
    );
    let owner = format!("1.{}.{V6}.", ["0"; 23].join("."));
    assert_eq!(
        ptrs(&s, &format!("{V6}.")),
        [format!("{owner} 3600 IN PTR www.example.test.")]
    );
    // the forward zone is as written
    assert!(ptrs(&s, "example.test.").is_empty());
}

#[test]
fn the_most_specific_zone_gets_the_ptr_and_only_if_it_says_auto_ptr() {
    let forward = "group: default\nrecords:\n  a: {A: [192.0.2.1, 192.0.3.1, 192.0.4.1]}\n";
    let s = state(&[
        ("example.test", forward),
        ("0.192.in-addr.arpa", REV4),
        ("2.0.192.in-addr.arpa", REV4),
        // more specific, without auto_ptr: the operator's to fill
        ("3.0.192.in-addr.arpa", "group: default\n"),
    ]);
    assert_eq!(
        ptrs(&s, "0.192.in-addr.arpa."),
        ["1.4.0.192.in-addr.arpa. 3600 IN PTR a.example.test."]
    );
    assert_eq!(
        ptrs(&s, "2.0.192.in-addr.arpa."),
        ["1.2.0.192.in-addr.arpa. 3600 IN PTR a.example.test."]
    );
    assert!(ptrs(&s, "3.0.192.in-addr.arpa.").is_empty());
}

#[test]
fn opted_out_rrsets_and_wildcards_get_no_ptr() {
    let forward = "group: default
records:
  www: {A: {value: 192.0.2.1, ptr: false}, AAAA: {value: 2001:db8::1, ptr: true}}
  web: {A: {value: 192.0.2.2, ptr: true}}
  \"*\": {A: 192.0.2.3}
";
    let s = state(&[
        ("example.test", forward),
        ("2.0.192.in-addr.arpa", REV4),
        (V6, REV6),
    ]);
    assert_eq!(
        ptrs(&s, "2.0.192.in-addr.arpa."),
        ["2.2.0.192.in-addr.arpa. 3600 IN PTR web.example.test."]
    );
    assert_eq!(ptrs(&s, &format!("{V6}.")).len(), 1);
}

#[test]
fn written_ptrs_and_cnames_win_and_cuts_and_dnames_keep_theirs() {
    let forward = "group: default
records:
  a: {A: [192.0.2.1, 192.0.2.2, 192.0.2.3]}
  b: {AAAA: [\"2001:db8:1::1\", \"2001:db8:2::1\", \"2001:db8:3::1\"]}
";
    let rev4 = "group: default
auto_ptr: true
records:
  \"1\": {PTR: host.example.net.}
  \"2\": {CNAME: 2.0/26}
  0/26: {NS: ns1.example.net.}
";
    // 2001:db8:1::/48 is delegated, 2001:db8:2::/48 redirected by a DNAME
    let rev6 = "group: default
auto_ptr: true
records:
  1.0.0.0: {NS: ns1.example.net.}
  2.0.0.0: {DNAME: example.net.}
";
    let s = state(&[
        ("example.test", forward),
        ("2.0.192.in-addr.arpa", rev4),
        (V6, rev6),
    ]);
    assert_eq!(
        ptrs(&s, "2.0.192.in-addr.arpa."),
        [
            "1.2.0.192.in-addr.arpa. 3600 IN PTR host.example.net.",
            "3.2.0.192.in-addr.arpa. 3600 IN PTR a.example.test.",
        ]
    );
    let v6 = ptrs(&s, &format!("{V6}."));
    assert_eq!(v6.len(), 1, "{v6:?}");
    assert!(v6[0].ends_with(".3.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN PTR b.example.test."));
}

#[test]
fn several_names_for_one_address_make_one_sorted_rrset_at_the_smallest_ttl() {
    let one = "group: default
records:
  www: {A: {ttl: 600, value: 192.0.2.1}}
  Api: {A: {ttl: 120, value: 192.0.2.1}}
";
    // a zone of another group: its addresses count too
    let two = "group: other\nttl: 900\nrecords:\n  \"@\": {A: 192.0.2.1}\n";
    let s = state(&[
        ("example.test", one),
        ("other.test", two),
        ("2.0.192.in-addr.arpa", REV4),
    ]);
    assert_eq!(
        ptrs(&s, "2.0.192.in-addr.arpa."),
        [
            "1.2.0.192.in-addr.arpa. 120 IN PTR api.example.test.",
            "1.2.0.192.in-addr.arpa. 120 IN PTR other.test.",
            "1.2.0.192.in-addr.arpa. 120 IN PTR www.example.test.",
        ]
    );
}

#[test]
fn problems_name_the_key_where_it_is_written() {
    let forward = "group: default
auto_ptr: true
records:
  mail: {MX: {value: 10 mx.example.net., ptr: false}}
";
    let got = problems(state_with(
        &config(),
        &[
            ("example.test", forward),
            ("0-26.2.0.192.in-addr.arpa", REV4),
        ],
    ));
    let codes: Vec<(&str, &str)> = got
        .iter()
        .map(|(c, l, _)| (c.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (
                "zone::auto-ptr",
                "zones/0-26.2.0.192.in-addr.arpa.yaml:2:11"
            ),
            ("zone::auto-ptr", "zones/example.test.yaml:2:11"),
            ("record::ptr", "zones/example.test.yaml:4:47"),
        ],
        "{got:?}"
    );
}

#[test]
fn an_rrset_over_the_servers_limit_is_a_problem_at_auto_ptr_in_load_and_validate() {
    let forward =
        "group: default\nrecords:\n  a: {A: 192.0.2.1}\n  b: {A: 192.0.2.1}\n  c: {A: 192.0.2.1}\n";
    let limited = config().replace(
        "  address: 127.0.0.1\n",
        "  address: 127.0.0.1\n  max_records_per_type: 2\n",
    );
    let zones = [("example.test", forward), ("2.0.192.in-addr.arpa", REV4)];
    let got = problems(state_with(&limited, &zones));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "zone::auto-ptr");
    assert_eq!(got[0].1, "zones/2.0.192.in-addr.arpa.yaml:2:11");
    assert!(got[0].2.contains("1.2.0.192.in-addr.arpa."), "{got:?}");
    // validate, which keeps no zone, finds it too
    let dir = tempfile::tempdir().unwrap();
    write_repo(dir.path(), &limited, &zones);
    let source = Source::open(dir.path(), None, true).unwrap();
    match crate::desired::check(&source) {
        Err(LoadError::Invalid(p)) => assert_eq!(p.0.len(), 1, "{p:?}"),
        other => panic!("validate: {:?}", other.map(|v| v.zones)),
    }
    // within the limit: valid both ways
    write_repo(dir.path(), &config(), &zones);
    let source = Source::open(dir.path(), None, true).unwrap();
    assert_eq!(
        crate::desired::check(&source).map(|v| v.zones).ok(),
        Some(2)
    );
    let mut problems = Vec::new();
    let c = crate::desired::load_config(&source, &mut problems)
        .unwrap()
        .unwrap();
    let one = crate::desired::load_zone(&source, &c, "2.0.192.in-addr.arpa.", &mut problems)
        .unwrap()
        .unwrap();
    assert_eq!(one.canonical_text(1).matches(" IN PTR ").count(), 3);
    assert!(problems.is_empty(), "{problems:?}");
}

fn commit(repo: &Repository) -> String {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("T", "t@example.net").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
        .unwrap()
        .to_string()
}

/// The zones read since `since` with sources `recorded`, and those named deleted.
fn changes(
    dir: &Path,
    rev: &str,
    since: &str,
    recorded: &BTreeMap<String, String>,
) -> (DesiredState, Vec<String>) {
    let source = Source::open(dir, Some(rev), false).unwrap();
    let recorded = recorded
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let state = load_changes(&source, since, &recorded).unwrap();
    let Scope::Changes { deleted, .. } = state.scope.clone() else {
        panic!("a full load")
    };
    (state, deleted)
}

#[test]
fn incremental_loads_derive_the_reverse_zones_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = Repository::init(d).unwrap();
    let other = "group: default\nrecords:\n  x: {A: 198.51.100.1}\n";
    let zones = [
        ("example.test", FORWARD),
        ("other.test", other),
        ("2.0.192.in-addr.arpa", REV4),
    ];
    write_repo(d, &config(), &zones);
    let first = commit(&repo);
    let full = load(&Source::open(d, Some(&first), false).unwrap()).unwrap();
    let recorded: BTreeMap<String, String> = full
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.source.clone()))
        .collect();
    let rev = "2.0.192.in-addr.arpa.";

    // a forward A record changes: the forward zone and the reverse zone are read
    std::fs::write(
        d.join("zones/example.test.yaml"),
        FORWARD.replace("192.0.2.25", "192.0.2.26"),
    )
    .unwrap();
    let second = commit(&repo);
    // the reverse zone's source covers what it derives, not its file alone
    let again = load(&Source::open(d, Some(&second), false).unwrap()).unwrap();
    assert_ne!(again.zones[rev].source, full.zones[rev].source);
    assert_eq!(
        again.zones["other.test."].source,
        full.zones["other.test."].source
    );
    let (state, deleted) = changes(d, &second, &first, &recorded);
    let names: Vec<&str> = state.zones.keys().map(String::as_str).collect();
    assert_eq!(names, ["2.0.192.in-addr.arpa.", "example.test."]);
    assert!(deleted.is_empty());
    assert!(
        ptrs(&state, rev)
            .iter()
            .any(|l| l.starts_with("26.2.0.192.in-addr.arpa. "))
    );
    assert!(!ptrs(&state, rev).iter().any(|l| l.starts_with("25.")));
    // the same when the applied commit is gone (sources compared)
    let (by_source, _) = changes(d, &second, &"0".repeat(40), &recorded);
    assert_eq!(ptrs(&by_source, rev), ptrs(&state, rev));
    assert!(by_source.zones.contains_key("example.test."));
    assert!(!by_source.zones.contains_key("other.test."));

    // nothing of the zones changes: nothing is read
    std::fs::write(d.join("README"), "notes\n").unwrap();
    let third = commit(&repo);
    let (state, _) = changes(d, &third, &second, &recorded);
    assert!(state.zones.is_empty(), "{:?}", state.zones.keys());

    // the forward zone is deleted: its PTRs go with it
    std::fs::remove_file(d.join("zones/example.test.yaml")).unwrap();
    let fourth = commit(&repo);
    let (state, deleted) = changes(d, &fourth, &third, &recorded);
    assert_eq!(deleted, ["example.test."]);
    let names: Vec<&str> = state.zones.keys().map(String::as_str).collect();
    assert_eq!(names, [rev]);
    assert!(ptrs(&state, rev).is_empty());
}

#[test]
fn without_auto_ptr_only_the_changed_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = Repository::init(d).unwrap();
    let zones = [
        ("example.test", FORWARD),
        (
            "2.0.192.in-addr.arpa",
            "group: default\nrecords:\n  \"1\": {PTR: www.example.test.}\n",
        ),
    ];
    write_repo(d, &config(), &zones);
    let first = commit(&repo);
    std::fs::write(
        d.join("zones/example.test.yaml"),
        FORWARD.replace("192.0.2.25", "192.0.2.26"),
    )
    .unwrap();
    let second = commit(&repo);
    let (state, _) = changes(d, &second, &first, &BTreeMap::new());
    let names: Vec<&str> = state.zones.keys().map(String::as_str).collect();
    assert_eq!(names, ["example.test."]);
}
