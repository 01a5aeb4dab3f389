//! `zonekeeper validate` on the shipped example repository and on bad input.

use std::process::Command;

fn zk(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The example repository an operator copies is valid.
#[test]
fn examples_are_valid() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = zk(
        &[
            "validate",
            "--worktree",
            "--repo",
            examples.to_str().unwrap(),
        ],
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 zone(s)"));
}

/// A secret written into the repository, or a secret file inside it, is refused.
#[test]
fn secrets_in_the_repository_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml")).unwrap();
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config.replace("secret_file: .zonekeeper/lab/tsig.key", "secret: c2VjcmV0"),
    )
    .unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zonekeeper.yaml:16:13") && err.contains("never be written in the repository"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config.replace(".zonekeeper/lab/tsig.key", "keys/tsig.key"),
    )
    .unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the repository"));
}

/// Every rule reports at once, each with file:line:col.
#[test]
fn all_problems_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml")).unwrap();
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config
            .replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key")
            .replace(
                "\nsecondaries:\n",
                "\nsecondaries:\n  ns_3:\n    addresses: [192.0.2.33]\n",
            ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("zones/x.test.yaml"),
        "group: nope\nsoa: {refresh: 100, retry: 200}\nrecords:\n  \"@\":\n    CNAME: y\n  mx:\n    MX: 10 nowhere\n  ns:\n    NS: ns1.ns\n  out.example.org.:\n    A: 192.0.2.1\n  t:\n    A: [192.0.2.1, 192.0.2.1]\n    TTL: 1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("zones/Y.test.yaml"), "group: default\n").unwrap();
    let out = zk(
        &["validate", "--worktree", "--repo", ".", "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    for code in [
        "zone::unknown-group",
        "soa::retry",
        "record::cname-apex",
        "record::target-missing",
        "record::outside-zone",
        "record::duplicate",
        "record::type",
        "zone::file-name",
        "secondary::name",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(
        json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["line"].as_u64().unwrap() >= 1)
    );
}

/// A webhook's URL written in the repository is refused (it may carry a token), as are an
/// unknown event and a quorum larger than the group; each with file:line:col.
#[test]
fn webhook_url_in_the_repository_and_a_bad_quorum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    // the key file outside this copy of the repository
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml"))
        .unwrap()
        .replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key");
    let bad = config.replace(
        "    secondaries: [ns1, ns2]\n",
        "    secondaries: [ns1, ns2]\n    quorum: 3\n",
    ) + "webhooks:\n  - url: https://hooks.example.net/T0KEN\n  - url_env: HOOK\n    events: [apply-failed, server-down]\n";
    assert!(
        bad.contains("quorum: 3"),
        "the example has a group of ns1, ns2"
    );
    std::fs::write(dir.path().join("zonekeeper.yaml"), &bad).unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines = bad.lines().count();
    assert!(
        err.contains(&format!("zonekeeper.yaml:{}:", lines - 2))
            && err.contains("webhook URL must not be written in the repository"),
        "{err}"
    );
    assert!(!err.contains("T0KEN"), "the URL is not echoed: {err}");
    assert!(err.contains("unknown webhook event `server-down`"), "{err}");
    assert!(err.contains("a quorum of 3 but 2 secondaries"), "{err}");
    // written right, it is valid
    let good = config + "webhooks:\n  - url_env: HOOK\n";
    std::fs::write(dir.path().join("zonekeeper.yaml"), good).unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `zonekeeper validate` on a Git repository holding the example `zonekeeper.yaml`
/// (its key file outside the repository, `edit` applied) and `zones`, committed; returns
/// the exit code and the output with miette's line wrapping undone.
fn validate_zones(
    zones: &[(&str, &str)],
    edit: &dyn Fn(String) -> String,
) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml"))
        .unwrap()
        .replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key");
    std::fs::write(dir.path().join("zonekeeper.yaml"), edit(config)).unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    for (file, text) in zones {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    crate::support::commit_all(dir.path(), "zones");
    let out = zk(&["validate", "--repo", "."], dir.path());
    let all = crate::support::text(&out).replace('│', " ");
    (
        out.status.code(),
        all.split_whitespace().collect::<Vec<_>>().join(" "),
    )
}

/// One zone file, `zones/x.test.yaml`, with the example configuration.
fn validate_zone(zone: &str) -> (Option<i32>, String) {
    validate_zones(&[("zones/x.test.yaml", zone)], &|c| c)
}

/// Each of `wanted` is in `out`, and exactly `problems` problems are reported.
fn assert_reported(out: &str, problems: usize, wanted: &[&str]) {
    for w in wanted {
        assert!(out.contains(w), "`{w}` missing:\n{out}");
    }
    let plural = if problems == 1 { "" } else { "s" };
    assert!(
        out.contains(&format!("{problems} problem{plural} found")),
        "{out}"
    );
}

/// Data below a delegation point is occluded, glue aside: refused at each RRset's type.
#[test]
fn data_below_a_zone_cut_is_refused() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  sub:\n    NS: [ns.sub, ns.example.net.]\n  ns.sub:\n    A: 192.0.2.1\n  www.sub:\n    A: 192.0.2.2\n  deep.www.sub:\n    TXT: hidden\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        2,
        &[
            "record::occluded",
            "zones/x.test.yaml:8:5",
            "zones/x.test.yaml:10:5",
            "A at www.sub.x.test. is occluded: it is below the zone cut at sub.x.test., so this zone never serves it",
            "help: the child zone sub.x.test. is authoritative for names below it",
        ],
    );
}

/// At a delegation point only NS, DS and glue: an MX there is refused at its type.
#[test]
fn other_data_at_a_delegation_point_is_refused() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  sub:\n    NS: ns.example.net.\n    DS: 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n    MX: 10 mail.example.net.\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        1,
        &[
            "record::delegation-data",
            "zones/x.test.yaml:6:5",
            "MX at the delegation point sub.x.test.: only NS, DS and glue belong at a zone cut",
            "help: the child zone sub.x.test. is authoritative for its apex",
        ],
    );
}

/// No data under a DNAME's owner (RFC 6672 2.3).
#[test]
fn data_below_a_dname_is_refused() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  old:\n    DNAME: new.example.net.\n  www.old:\n    A: 192.0.2.1\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        1,
        &[
            "record::dname-below",
            "zones/x.test.yaml:6:5",
            "A at www.old.x.test. is below the DNAME at old.x.test.: no data may exist under a DNAME",
            "help: a DNAME redirects every name under old.x.test. (RFC 6672 2.3)",
        ],
    );
}

/// A CNAME chain that comes back to itself is reported once, at its first CNAME's value.
#[test]
fn a_cname_loop_is_refused() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  a:\n    CNAME: b\n  b:\n    CNAME: c.x.test.\n  c:\n    CNAME: a\n  d:\n    CNAME: a\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        1,
        &[
            "record::cname-loop",
            "zones/x.test.yaml:4:12",
            "CNAME loop: a.x.test. → b.x.test. → c.x.test. → a.x.test.",
            "help: a chain of CNAMEs must end at a name with data",
        ],
    );
}

/// MX and SRV targets in a delegated child are refused at their value; an NS target
/// there is glue.
#[test]
fn mx_and_srv_targets_below_a_zone_cut_are_refused() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  sub:\n    NS: ns.sub\n  ns.sub:\n    A: 192.0.2.1\n  \"@\":\n    MX: 10 ns.sub\n  _sip._tcp:\n    SRV: 0 0 5060 sub\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        2,
        &[
            "record::target-below-cut",
            "zones/x.test.yaml:8:9",
            "zones/x.test.yaml:10:10",
            "MX target ns.sub.x.test. is below the zone cut at sub.x.test.: its addresses are the child zone's, not this zone's",
            "SRV target sub.x.test. is below the zone cut at sub.x.test.",
            "help: named-checkzone reports a MX target below a zone cut",
        ],
    );
}

/// `primary.max_records_per_type` counts the apex NS RRset the group provides too:
/// reported at the zone's `group:`.
#[test]
fn the_groups_apex_ns_over_the_per_type_limit_is_refused() {
    let limit = |n: &'static str| {
        move |c: String| {
            c.replace(
                "  port: 53\n  tsig:",
                &format!("  port: 53\n  max_records_per_type: {n}\n  tsig:"),
            )
        }
    };
    let zone = [("zones/x.test.yaml", "group: default\n")];
    let (code, out) = validate_zones(&zone, &limit("1"));
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        1,
        &[
            "record::too-many",
            "zones/x.test.yaml:1:8",
            "NS RRset at x.test. has 2 records: the servers load at most 1 records",
            "the group's `nameservers`",
        ],
    );
    let (code, out) = validate_zones(&zone, &limit("2"));
    assert_eq!(code, Some(0), "{out}");
}

/// A wildcard label or an escape in a zone file's name is refused, naming the rule.
#[test]
fn wildcard_and_escaped_dot_zone_names_are_refused() {
    let good = "group: default\n";
    let (code, out) = validate_zones(
        &[
            ("zones/*.wild.test.yaml", good),
            ("zones/a\\.b.test.yaml", good),
            ("zones/ok.test.yaml", good),
        ],
        &|c| c,
    );
    assert_eq!(code, Some(1), "{out}");
    assert_reported(
        &out,
        2,
        &[
            "zone::file-name",
            "zones/*.wild.test.yaml:1:1",
            "a zone name cannot hold a wildcard label",
            "zones/a\\.b.test.yaml:1:1",
            "a zone name cannot hold an escape",
        ],
    );
}

/// An MX target with no owner of its own, covered by a wildcard with addresses, is valid
/// (RFC 4592).
#[test]
fn an_mx_target_covered_by_a_wildcard_is_valid() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  \"*\":\n    A: 192.0.2.10\n  \"@\":\n    MX: 10 mail\n",
    );
    assert_eq!(code, Some(0), "{out}");
}

/// Every allowed shape at once: a delegation with NS, DS and glue (at the delegation point
/// and below it), a DNAME at a leaf, a wildcard an MX target and a CNAME lean on, a CNAME
/// chain.
#[test]
fn a_zone_of_every_allowed_shape_is_valid() {
    let (code, out) = validate_zone(
        "group: default\nrecords:\n  \"@\":\n    MX: [10 mail, 20 host.wild]\n  mail:\n    AAAA: 2001:db8::25\n  sub:\n    NS: [ns.sub, sub, ns.example.net.]\n    DS: 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n    A: 192.0.2.53\n  ns.sub:\n    A: 192.0.2.54\n    AAAA: 2001:db8::54\n  old:\n    DNAME: new.example.net.\n    TXT: moved\n  \"*.wild\":\n    A: 192.0.2.80\n  www:\n    CNAME: host.wild\n  alias:\n    CNAME: www\n  _sip._tcp:\n    SRV: 0 0 5060 mail\n",
    );
    assert_eq!(code, Some(0), "{out}");
}
