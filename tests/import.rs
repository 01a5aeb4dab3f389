//! `zonekeeper import` (issue 11, point 3) through the real binary: zone files, a
//! directory and a `named.conf` (a bad line named by file and line while the other zones
//! are imported); on a real BIND lab, each on SQLite and PostgreSQL: a zone BIND loads
//! from a master file, imported from that file and by transfer (TSIG) to the same YAML,
//! then applied to the lab after BIND dropped it, which serves the same RRsets with a
//! serial continuing the imported one (RFC 1982, past 2^32); and the members of a catalog
//! zone.

use std::path::Path;
use std::process::Output;

use zonekeeper::model::serial::serial_gt;

use crate::both_stores;
use crate::drift::converged;
use crate::support::{Db, Env, axfr, block_on, text};

/// The real binary on repository `repo` and SQLite store `db`.
fn zk(repo: &Path, db: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .arg("--repo")
        .arg(repo)
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .output()
        .unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The serials the store recorded for imported zones.
fn floors(db: &str) -> Vec<(String, u32)> {
    let url = zonekeeper::store::db_url(db).unwrap();
    block_on(async move {
        let s = zonekeeper::store::Store::open(&url).await.unwrap();
        let f = s.serial_floors().await.unwrap();
        s.close().await;
        f.into_iter().map(|f| (f.name, f.serial)).collect()
    })
}

const SOA: &str = "@ IN SOA ns0.example.net. hostmaster.example.net. ( 2024010101 ; serial\n\t3600 60 1209600 60 )\n  IN NS ns1.example.net.\n  IN NS ns2.example.net.\n";

#[test]
fn a_named_conf_is_imported_and_a_bad_line_is_named_while_the_rest_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, db) = (dir.path().join("repo"), dir.path().join("s.sqlite"));
    git2::Repository::init(&repo).unwrap();
    let etc = dir.path().join("etc");
    write(
        &etc.join("named.conf"),
        "options { directory \"../var\"; /* zones live there */ };\n# the zones\ninclude \"zones.conf\";\nzone \"sec.test\" { type secondary; primaries { 192.0.2.1; }; file \"sec.db\"; };\n",
    );
    write(
        &etc.join("zones.conf"),
        "zone \"a.test\" IN { type master; file \"a.test.db\"; };\nview \"inside\" { zone \"b.test\" { type primary; file \"sub/b.db\"; }; };\nzone \"bad.test\" { type primary; file \"bad.db\"; };\n",
    );
    let var = dir.path().join("var");
    write(
        &var.join("a.test.db"),
        &format!("$TTL 300\n{SOA}www A 192.0.2.1\n$GENERATE 1-3 h$ A 192.0.2.$\n$INCLUDE a.inc\n"),
    );
    write(&var.join("a.inc"), "mail 60 A 192.0.2.25\n@ MX 10 mail\n");
    write(
        &var.join("sub/b.db"),
        &format!("$TTL 3600\n{SOA}_sip._tcp SRV 10 60 5060 sip\nsip A 192.0.2.60\n"),
    );
    write(
        &var.join("bad.db"),
        &format!("$TTL 300\n{SOA}ok A 192.0.2.1\nbroken A 192.0.2.300\n"),
    );
    let conf = etc.join("named.conf").display().to_string();
    let out = zk(&repo, &db, &["import", "--named-conf", &conf]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("Imported 2 zone(s)"), "{t}");
    assert!(
        t.contains("bad.db:7:10: `192.0.2.300` is not an IPv4 address"),
        "the file, line and column: {t}"
    );
    assert!(t.contains("Wrote zonekeeper.yaml, a skeleton"), "{t}");
    assert!(
        !repo.join("zones/bad.test.yaml").exists(),
        "no partial zone"
    );
    assert!(
        !repo.join("zones/sec.test.yaml").exists(),
        "a secondary zone is not imported"
    );
    let a = std::fs::read_to_string(repo.join("zones/a.test.yaml")).unwrap();
    for want in [
        "\"h2\":\n    A: \"192.0.2.2\"",
        "MX: \"10 mail\"",
        "A: { ttl: 60, values: [\"192.0.2.25\"] }",
    ] {
        assert!(a.contains(want), "{want} in {a}");
    }
    let config = std::fs::read_to_string(repo.join("zonekeeper.yaml")).unwrap();
    assert!(
        config.contains("nameservers: [ns1.example.net., ns2.example.net.]"),
        "{config}"
    );
    assert!(config.contains("mname: ns0.example.net."), "{config}");
    let valid = zk(&repo, &db, &["validate", "--worktree"]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    let mut got = floors(&db.display().to_string());
    got.sort();
    assert_eq!(
        got,
        [
            ("a.test.".to_string(), 2024010101),
            ("b.test.".to_string(), 2024010101)
        ]
    );

    // again: written files are left alone without --force; JSON lists every zone
    std::fs::write(
        var.join("bad.db"),
        format!("$TTL 300\n{SOA}ok A 192.0.2.1\n"),
    )
    .unwrap();
    let out = zk(
        &repo,
        &db,
        &["import", "--named-conf", &conf, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            j["written"].as_u64(),
            j["exists"].as_u64(),
            j["failed"].as_u64()
        ),
        (Some(1), Some(2), Some(0)),
        "{j}"
    );
    assert_eq!(j["zonekeeper_yaml_written"], false);
    let forced = zk(&repo, &db, &["import", "--named-conf", &conf, "--force"]);
    assert!(
        text(&forced).contains("Imported 3 zone(s)"),
        "{}",
        text(&forced)
    );
}

#[test]
fn a_file_and_a_directory_name_their_zones_from_the_soa_or_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, db) = (dir.path().join("repo"), dir.path().join("s.sqlite"));
    git2::Repository::init(&repo).unwrap();
    let old = dir.path().join("old");
    write(
        &old.join("db.c.test"),
        &format!("$TTL 300\n{SOA}x TXT \"say \\\"hi\\\"; bye\"\n"),
    );
    write(
        &old.join("d.test.zone"),
        &format!("$ORIGIN d.test.\n$TTL 300\n{SOA}"),
    );
    write(&old.join(".hidden"), "not a zone");
    // nothing readable, no zonekeeper.yaml: the problems, and no skeleton made of nothing
    let broken = dir.path().join("broken.zone");
    write(&broken, "$TTL 300\n@ NS ns1.example.net.\n");
    let out = zk(
        &repo,
        &db,
        &[
            "import",
            "--file",
            &broken.display().to_string(),
            "--zone",
            "f.test",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("broken.zone: the zone has no SOA record"),
        "{}",
        text(&out)
    );
    assert!(!repo.join("zonekeeper.yaml").exists());
    let out = zk(&repo, &db, &["import", "--dir", &old.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = std::fs::read_to_string(repo.join("zones/c.test.yaml")).unwrap();
    assert!(c.contains("TXT: \"say \\\"hi\\\"; bye\""), "{c}");
    assert!(repo.join("zones/d.test.yaml").exists());
    // one file under another zone's name: the SOA must be that zone's apex
    let out = zk(
        &repo,
        &db,
        &[
            "import",
            "--file",
            &old.join("d.test.zone").display().to_string(),
            "--zone",
            "e.test",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the SOA's owner d.test. is not the zone e.test."),
        "{}",
        text(&out)
    );
    assert!(!repo.join("zones/e.test.yaml").exists());
    // two files of one zone: one is imported, the other named
    let dup = dir.path().join("dup");
    write(
        &dup.join("db.g.test"),
        &format!("$TTL 300\n{SOA}a A 192.0.2.1\n"),
    );
    write(
        &dup.join("g.test.zone"),
        &format!("$TTL 300\n{SOA}a A 192.0.2.2\n"),
    );
    let out = zk(&repo, &db, &["import", "--dir", &dup.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("zone g.test. is also in"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("Imported 1 zone(s)"), "{}", text(&out));
}

/// A zone of the types the YAML states, with the shapes that are hard to carry over.
const ZONE: &str = r#"$TTL 300
$ORIGIN legacy.test.
@ IN SOA ns0.example.net. hostmaster.example.net. (
        4000000000 ; a serial greater than any date serial
        3600 60 1209600 60 )
  IN NS ns1.example.net.
  IN NS ns2.example.net.
  IN MX 0 .                                ; null MX: a `.` target
  IN TXT "v=spf1 -all; \"quoted\" back\\slash"
  IN CAA 0 issue "letsencrypt.org"
www     0 IN A 192.0.2.1                    ; TTL 0
        0 IN AAAA 2001:db8::1
long 2147483647 A 192.0.2.2                 ; the largest TTL
*.wild  IN TXT "wildcard"
_dmarc  TXT "v=DMARC1; p=none"
_sip._tcp SRV 10 60 5060 sip
_x._tcp SRV 0 0 0 .
sip     A 192.0.2.60
alias   CNAME www
ptr     PTR host.example.
sub     NS ns1.sub                          ; a delegation, with its glue
        NS ns.example.org.
ns1.sub A 192.0.2.53
$GENERATE 1-3 gen$ A 192.0.2.1$
"#;

/// Loads `text` as `zone` on the lab's primary, outside zonekeeper (as an old primary
/// serves it), with `rndc addzone`.
fn serve_outside(env: &Env, zone: &str, text: &str) -> std::path::PathBuf {
    let file = env.dir.path().join(format!("{zone}db"));
    std::fs::write(&file, text).unwrap();
    let conf = format!("{{ type primary; file \"{}\"; }};", file.display());
    env.lab.rndc("ns0", &["addzone", zone, &conf]).unwrap();
    converged_primary(env, zone);
    file
}

/// Waits until the primary serves `zone`.
fn converged_primary(env: &Env, zone: &str) {
    for _ in 0..50 {
        if env.soa("ns0", zone).serving().is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the primary does not serve {zone}");
}

/// The lines of a transfer without the SOA's serial.
fn without_serial(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            if f.get(3) == Some(&"SOA") {
                let mut f = f.clone();
                f[6] = "-";
                f.join(" ")
            } else {
                l
            }
        })
        .collect()
}

/// Imports `zone` (which the lab's primary serves from a master file, outside
/// zonekeeper) from its file and by transfer: the same YAML. Then the primary drops it,
/// apply creates it: the same RRsets as BIND read from the file, at a serial continuing
/// the imported one, on every server.
fn round_trip(env: &Env, zone: &str, source: &str, imported_serial: u32) {
    let file = serve_outside(env, zone, source);
    let from_bind = without_serial(axfr(&env.lab, zone));
    let out = env.zk(&["import", "--file", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let path = env.repo.join(format!("zones/{zone}yaml"));
    let by_file = std::fs::read_to_string(&path).unwrap();
    let key = env.lab.spec().tsig_key_file.display().to_string();
    let addr = env.lab.dns_addr("ns0").unwrap().to_string();
    let out = env.zk(&[
        "import",
        "--axfr",
        &addr,
        "--tsig-key-file",
        &key,
        "--zone",
        zone,
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let by_axfr = std::fs::read_to_string(&path).unwrap();
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(
        body(&by_file),
        body(&by_axfr),
        "the file and the transfer give one YAML"
    );
    assert!(
        !text(&out).contains(&env.lab.tsig_secret().unwrap()),
        "no secret shown"
    );
    env.commit(&format!("import {zone}"));

    env.lab.rndc("ns0", &["delzone", zone]).unwrap();
    let plan = text(&env.zk(&["plan"]));
    assert!(
        plan.contains(&format!("serial continues from {imported_serial}")),
        "{plan}"
    );
    env.apply(&[], 0);
    let serial = converged(env, zone);
    assert!(
        serial_gt(serial, imported_serial),
        "{serial} after {imported_serial} (RFC 1982)"
    );
    assert_eq!(
        without_serial(axfr(&env.lab, zone)),
        from_bind,
        "the same RRsets as BIND read from the file"
    );
    env.assert_converged("after the import's apply");
}

both_stores!(
    a_zone_file_round_trips_through_import_and_apply_and_its_serial_continues,
    |db| {
        let env = Env::new(db);
        round_trip(&env, "legacy.test.", ZONE, 4_000_000_000);
        let stored = floors(&env.db);
        assert_eq!(stored, [("legacy.test.".to_string(), 4_000_000_000)]);
    }
);

both_stores!(
    catalog_members_and_listed_zones_are_transferred_and_unserved_ones_named,
    |db| {
        let env = Env::new(db);
        let zone = |serial: u32| {
            format!(
                "$TTL 300\n@ SOA ns0.example.net. hostmaster.example.net. {serial} 3600 60 1209600 60\n@ NS ns1.example.net.\n@ NS ns2.example.net.\nwww A 192.0.2.{}\n",
                serial % 200
            )
        };
        serve_outside(&env, "m1.test.", &zone(11));
        serve_outside(&env, "m2.test.", &zone(4_294_967_295));
        serve_outside(
            &env,
            "old-catalog.test.",
            "$TTL 0\n@ SOA invalid. invalid. 1 3600 600 86400 0\n@ NS invalid.\nversion TXT \"2\"\nid1.zones PTR m1.test.\nid2.zones PTR m2.test.\n",
        );
        let key = env.lab.spec().tsig_key_file.display().to_string();
        let addr = env.lab.dns_addr("ns0").unwrap().to_string();
        let out = env.zk(&[
            "import",
            "--axfr",
            &addr,
            "--tsig-key-file",
            &key,
            "--catalog",
            "old-catalog.test",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains("Imported 2 zone(s)"), "{}", text(&out));
        let mut got = floors(&env.db);
        got.sort();
        assert_eq!(
            got,
            [
                ("m1.test.".to_string(), 11),
                ("m2.test.".to_string(), 4_294_967_295)
            ]
        );

        // a listing as `rndc showzone` prints it; a zone the server does not serve is named
        let list = env.dir.path().join("zones.txt");
        std::fs::write(
            &list,
            "zone \"m1.test\" { type primary; file \"x\"; };\n# comment\nnowhere.test\n",
        )
        .unwrap();
        let out = env.zk(&[
            "import",
            "--axfr",
            &addr,
            "--tsig-key-file",
            &key,
            "--zones-from",
            &list.display().to_string(),
            "--force",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("does not serve zone nowhere.test."),
            "{}",
            text(&out)
        );
        assert!(text(&out).contains("Imported 1 zone(s)"), "{}", text(&out));
        assert!(!env.store_dump().contains(&env.lab.tsig_secret().unwrap()));

        // m2's serial wraps: the first apply gives it a serial RFC 1982-greater
        for z in ["m1.test", "m2.test"] {
            env.lab.rndc("ns0", &["delzone", z]).unwrap();
        }
        env.commit("imported from the old catalog");
        env.apply(&[], 0);
        for (z, imported) in [("m1.test.", 11), ("m2.test.", 4_294_967_295)] {
            let s = converged(&env, z);
            assert!(serial_gt(s, imported), "{z}: {s} after {imported}");
        }
    }
);

/// A zone of every type zonekeeper manages, generic (RFC 3597) form included.
const EVERY_TYPE: &str = r#"$TTL 300
$ORIGIN types.test.
@ SOA ns0.example.net. hostmaster.example.net. 2024010101 3600 60 1209600 60
@ NS ns1.example.net.
@ NS ns2.example.net.
@ A 192.0.2.1
@ AAAA 2001:db8::1
@ CAA 128 issue "letsencrypt.org; validationmethods=dns-01"
@ MX 10 mail
@ TXT "v=spf1 -all"
@ SPF "v=spf1 -all"
@ HINFO "INTEL-386" "Linux"
@ LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
@ RP hostmaster.example.net. info
@ URI 10 1 "https://www.example.net/"
@ HTTPS 1 . alpn="h2,h3" port=8443
@ OPENPGPKEY AQID
@ CERT 1 0 0 MIIBIjANBgkq
@ SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ TYPE65534 \# 4 0a000001
mail A 192.0.2.25
www CNAME @
_sip._tcp SRV 10 60 5060 sip
sip A 192.0.2.60
_svc SVCB 1 sip alpn=h2
_443._tcp TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
x._smimecert SMIMEA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
naptr NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
info TXT "contact"
old DNAME new.example.
ptr PTR host.example.
sub NS ns.sub
sub DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub A 192.0.2.53
"#;

/// The hard shapes: quotes, semicolons, backslashes, UTF-8 escapes, TXT over 255 bytes in
/// several strings, a wildcard, `_` labels, TTL 0 and 2^31 - 1, a delegation with glue,
/// `.` targets.
fn torture() -> String {
    let (a, b) = ("a".repeat(255), "b".repeat(100));
    let (c, d) = ("c".repeat(100), "d".repeat(200));
    format!(
        r#"$TTL 300
$ORIGIN torture.test.
@ SOA ns0.example.net. hostmaster.example.net. ( 2024010101 3600 60 1209600 60 ) ; comment
  NS ns1.example.net.
  NS ns2.example.net.
  MX 0 .
q1 TXT "semi;colon" "quote\"inside" "back\\slash" "paren (x)"
q2 TXT "caf\195\169 \226\130\172"
q3 TXT unquoted\;semi
q4 TXT ""
split TXT "{a}" "{b}"
strings TXT "{c}" "{d}"
*.wild TXT "wildcard"
*.wild A 192.0.2.1
_dmarc TXT "v=DMARC1; p=none"
_srv._tcp SRV 0 0 0 .
zero 0 A 192.0.2.2
max 2147483647 A 192.0.2.3
sub NS ns.sub
sub NS ns2.example.net.
ns.sub A 192.0.2.53
ns.sub AAAA 2001:db8::53
"#
    )
}

both_stores!(a_zone_of_every_type_round_trips, |db| {
    let env = Env::new(db);
    round_trip(&env, "types.test.", EVERY_TYPE, 2_024_010_101);
});

both_stores!(the_hard_shapes_round_trip, |db| {
    let env = Env::new(db);
    round_trip(&env, "torture.test.", &torture(), 2_024_010_101);
});
