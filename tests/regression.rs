//! One test per reported defect, named after it, each with the reproduction in a comment.
//! Every scenario runs against a real BIND lab, on SQLite and on PostgreSQL
//! (`both_stores!`), unless the defect has nothing to do with the store.
//!
//! Sections follow the issue that reported the defects (issue 7, "never lose a change,
//! never report one that did not happen"); within a section, one test per defect.

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

// ===========================================================================================
// Content, not serials: UPDATEs, verification, adoption, resume, loading, probes (7.1, 7.2,
// 7.5, 7.6, 7.7 at apply, 7.9, 7.19).
// ===========================================================================================

mod content {
    //! Helpers of the content section: what the primary really serves, and changes made
    //! behind zonekeeper's back.
    use std::process::Command;

    use super::*;

    /// The primary's AXFR of `zone` (TSIG-signed), one record per line, SOA once.
    pub fn axfr(env: &Env, zone: &str) -> Vec<String> {
        let p = env.lab.dns_addr("ns0").unwrap();
        let out = Command::new("dig")
            .arg("-k")
            .arg(&env.lab.spec().tsig_key_file)
            .args([
                format!("@{}", p.ip()),
                "-p".into(),
                p.port().to_string(),
                "+nocmd".into(),
                "+nostats".into(),
                zone.into(),
                "AXFR".into(),
            ])
            .output()
            .unwrap();
        let mut soa = 0;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .filter(|l| l.split_whitespace().nth(3) != Some("TSIG"))
            .filter(|l| {
                let is_soa = l.split_whitespace().nth(3) == Some("SOA");
                soa += usize::from(is_soa);
                !is_soa || soa == 1
            })
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// `rndc ARGS` against the primary.
    pub fn rndc(env: &Env, args: &[&str]) {
        let out = Command::new("rndc")
            .arg("-c")
            .arg(&env.lab.spec().primary_rndc_conf)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "rndc {args:?}: {}", text(&out));
    }

    /// A signed UPDATE sent with `nsupdate` to the primary, behind zonekeeper's back.
    pub fn nsupdate(env: &Env, zone: &str, line: &str) {
        use std::io::Write;
        let p = env.lab.dns_addr("ns0").unwrap();
        let mut child = Command::new("nsupdate")
            .arg("-k")
            .arg(&env.lab.spec().tsig_key_file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let script = format!(
            "server {} {}\nzone {zone}\nupdate {line}\nsend\n",
            p.ip(),
            p.port()
        );
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "nsupdate: {}", text(&out));
    }

    /// Empties the store: nothing applied, nothing recorded (a fresh store).
    pub fn fresh_store(env: &Env, db: Db) {
        match db {
            Db::Sqlite => std::fs::remove_file(&env.db).unwrap(),
            Db::Postgres => {
                use sqlx::Connection;
                let url = env.db.clone();
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async move {
                        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                        sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
                            .execute(&mut c)
                            .await
                            .unwrap();
                    });
            }
        }
    }

    /// A zone with one A record per owner in `records`.
    pub fn zone_with(records: &str) -> String {
        format!("group: default\nrecords:\n  www:\n    A: 192.0.2.1\n{records}")
    }
}

// Repro: a zone with one A record, applied; commit 300 TXT records of 230 bytes (one per
// owner); apply exited 0 but 71 records were missing on every server (the encoder truncated
// the one UPDATE at 64 KiB), and `plan` said "No changes".
both_stores!(large_update_is_split_not_truncated, |db| {
    let env = Env::new(db);
    env.zone("big.test", &content::zone_with(""));
    env.commit("one A record");
    env.apply(&[], 0);
    let txt = "x".repeat(230);
    let many: String = (0..300)
        .map(|i| format!("  t{i:03}:\n    TXT: \"{txt}\"\n"))
        .collect();
    env.zone("big.test", &content::zone_with(&many));
    env.commit("300 TXT records");
    env.apply(&[], 0);
    let served = content::axfr(&env, "big.test.");
    let txts = served.iter().filter(|l| l.contains(" TXT ")).count();
    assert_eq!(txts, 300, "every TXT record on the primary");
    let primary = env.soa("ns0", "big.test.").serving();
    for s in ["ns1", "ns2"] {
        assert_eq!(
            env.soa(s, "big.test.").serving(),
            primary,
            "{s} at the primary's serial"
        );
        let a = env.lab.dns_addr(s).unwrap();
        let out = std::process::Command::new("dig")
            .args([format!("@{}", a.ip()), "-p".into(), a.port().to_string()])
            .args(["+norec", "+short", "t299.big.test.", "TXT"])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&txt),
            "{s} serves the last TXT"
        );
    }
    env.assert_converged("after the large change");
});

// Repro: apply a zone; change it on the primary behind zonekeeper's back without changing
// the serial (`rndc freeze`, edit the zone file, `rndc thaw`); commit another change and
// apply: the UPDATE's SOA prerequisite holds, every server shows the expected serial, and
// apply said "verified" although the primary serves a record nobody desired.
both_stores!(verify_compares_content_not_serials, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    content::rndc(&env, &["freeze", "a.test"]);
    let file = env.lab.spec().include_dir.join("zones/a.test.db");
    let mut zone_file = std::fs::read_to_string(&file).unwrap();
    zone_file.push_str("oob.a.test. 300 IN A 192.0.2.99\n");
    std::fs::write(&file, zone_file).unwrap();
    content::rndc(&env, &["thaw", "a.test"]);
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("www moves");
    let out = env.apply(&[], 1);
    let t = text(&out);
    assert!(
        t.contains("zone a.test.") && t.contains("oob.a.test. A") && t.contains("192.0.2.99"),
        "names the zone and the differing RRset: {t}"
    );
    let plan = env.zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "not recorded as applied: {}",
        text(&plan)
    );
});

// Repro: zone a.test applied; a record added on the primary behind zonekeeper's back; a
// fresh store adopts the zone: records only on the primary stayed, `plan` said "No changes".
both_stores!(adoption_removes_records_only_on_the_primary, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    content::nsupdate(&env, "a.test", "add extra.a.test. 300 IN A 192.0.2.77");
    assert!(
        content::axfr(&env, "a.test.")
            .iter()
            .any(|l| l.starts_with("extra.a.test."))
    );
    content::fresh_store(&env, db);
    env.apply(&["--adopt"], 0);
    let served = content::axfr(&env, "a.test.");
    assert!(
        !served.iter().any(|l| l.starts_with("extra.a.test.")),
        "the record only on the primary is gone: {served:?}"
    );
    assert!(
        served
            .iter()
            .any(|l| l.starts_with("www.a.test.") && l.ends_with("192.0.2.1"))
    );
    env.assert_converged("after adoption");
});

// Repro: zone a.test applied with one store; a fresh store (no applied revision, no zones)
// pointed at the same primary silently adopted every zone it already served.
both_stores!(fresh_store_refuses_to_adopt_served_zones, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    let before = content::axfr(&env, "a.test.");
    content::fresh_store(&env, db);
    env.zone("a.test", &zone_yaml("192.0.2.9"));
    env.commit("www changes");
    let t = text(&env.apply(&[], 1));
    assert!(
        t.contains("--adopt") && t.contains("ns0") && t.contains("a.test."),
        "{t}"
    );
    assert_eq!(
        content::axfr(&env, "a.test."),
        before,
        "nothing changed on the primary"
    );
});

// Repro: apply killed (SIGKILL) right after a zone's UPDATE landed, before it was recorded;
// then a new commit changes the same zone: every later apply failed with "drift" forever.
both_stores!(
    landed_unrecorded_update_then_new_commit_is_not_drift,
    |db| {
        let env = Env::new(db);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("a.test");
        env.apply(&[], 0);
        env.zone("a.test", &zone_yaml("192.0.2.2"));
        env.commit("C1: www moves");
        let counter = env.dir.path().join("boundaries");
        let out = env.zk_env(
            &["apply", "--auto-approve", "--verify-timeout", "20"],
            &[
                ("ZONEKEEPER_TEST_KILL_AT", "1"),
                (
                    "ZONEKEEPER_TEST_KILL_COUNTER",
                    &counter.display().to_string(),
                ),
            ],
        );
        assert_eq!(
            out.status.code(),
            None,
            "killed after the UPDATE: {}",
            text(&out)
        );
        assert!(
            content::axfr(&env, "a.test.")
                .iter()
                .any(|l| l.starts_with("www.a.test.") && l.ends_with("192.0.2.2"))
        );
        let mut changed = zone_yaml("192.0.2.2");
        changed = changed.replace("192.0.2.25", "192.0.2.26");
        env.zone("a.test", &changed);
        env.commit("C2: mail moves");
        env.apply(&[], 0);
        let served = content::axfr(&env, "a.test.");
        assert!(
            served
                .iter()
                .any(|l| l.starts_with("mail.a.test.") && l.ends_with("192.0.2.26")),
            "{served:?}"
        );
        env.assert_converged("after the resumed change");
    }
);

// Repro: a new zone that validate accepts but BIND refuses to load blocked every zone of the
// apply (30 s wait, then error) and every later apply. The shape used here is an A record at
// an owner name with an underscore (BIND's `check-names primary fail`), which validate
// accepts; it stands for every shape BIND refuses but validate does not catch (yet).
both_stores!(zone_bind_refuses_fails_alone, |db| {
    let env = Env::new(db);
    env.zone("good.test", &zone_yaml("192.0.2.1"));
    env.zone(
        "bad.test",
        "group: default\nrecords:\n  bad_host:\n    A: 192.0.2.5\n",
    );
    env.commit("good and bad");
    let t = text(&env.apply(&[], 1));
    assert!(
        t.contains("did not load zone bad.test.") && t.contains("ns0"),
        "{t}"
    );
    for s in env.servers() {
        assert!(
            env.soa(&s, "good.test.").serving().is_some(),
            "{s} serves good.test"
        );
    }
    let conf = std::fs::read_to_string(env.lab.spec().include_dir.join("zones.conf")).unwrap();
    assert!(!conf.contains("bad.test"), "stanza removed: {conf}");
    assert!(
        !env.lab
            .spec()
            .include_dir
            .join("zones/bad.test.db")
            .exists(),
        "file removed"
    );
    // later applies of other zones are not blocked
    env.zone("c.test", &zone_yaml("192.0.2.3"));
    env.commit("c.test");
    env.apply(&[], 1);
    for s in env.servers() {
        assert!(
            env.soa(&s, "c.test.").serving().is_some(),
            "{s} serves c.test"
        );
    }
    let plan = text(&env.zk(&["plan"]));
    assert!(
        plan.contains("bad.test") && !plan.contains("good.test") && !plan.contains("c.test."),
        "{plan}"
    );
});

// Repro: the primary stops answering (here: SIGSTOP, so TCP connects still complete) early
// in an apply of many new zones: apply probed each zone in turn with a 2 s timeout, then said
// "rndc: connect failed" without naming the primary.
both_stores!(dead_primary_fails_fast_naming_it, |db| {
    let mut env = Env::new(db);
    for i in 0..20 {
        env.zone(&format!("z{i}.test"), &zone_yaml("192.0.2.1"));
    }
    env.commit("20 zones");
    env.lab.pause("ns0").unwrap();
    let out = env.zk(&["apply", "--auto-approve"]);
    env.lab.resume("ns0").unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let p = env.lab.dns_addr("ns0").unwrap();
    assert!(
        t.contains(&format!("the primary ns0 at {p}")) && t.contains("does not answer"),
        "{t}"
    );
    assert!(t.contains("Nothing was changed"), "{t}");
});

// Repro: at 40,000 zones the UPDATE connection opened early sat idle past the primary's TCP
// idle timeout; the catalog UPDATE then failed ("resource too busy") and the other
// secondary's catalog was not tried. Here the primary's timeouts are lowered
// (tcp-initial-timeout 2.5 s, tcp-idle-timeout 0.1 s) and the connection held idle past them;
// and one catalog that fails (one the primary does not serve) must not stop the other.
both_stores!(idle_update_connection_is_reopened, |db| {
    use zonekeeper::apply::catalogs::{MemberCatalog, edit};
    use zonekeeper::backend::update::{Update, Updater};
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    let conf = env.lab.spec().named_conf_path("ns0");
    let named = std::fs::read_to_string(&conf).unwrap();
    let named = named.replacen(
        "options {",
        "options {\n  tcp-initial-timeout 25;\n  tcp-idle-timeout 1;\n",
        1,
    );
    std::fs::write(&conf, named).unwrap();
    content::rndc(&env, &["reconfig"]);
    let key = zonekeeper::model::config::TsigKeyRef {
        name: hickory_proto::rr::Name::from_ascii("zonekeeper.").unwrap(),
        algorithm: "hmac-sha256".into(),
        secret: zonekeeper::model::config::SecretSource::File(env.lab.spec().tsig_key_file.clone()),
    };
    let signer = zonekeeper::backend::tsig::signer(&key).unwrap();
    let primary = env.lab.dns_addr("ns0").unwrap();
    let name = |s: &str| hickory_proto::rr::Name::from_ascii(s).unwrap();
    let cat = |server: &str, catalog: &str| MemberCatalog {
        group: "default".into(),
        server: server.into(),
        name: name(catalog),
        notify: Vec::new(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let u = Updater::connect(primary, signer, std::time::Duration::from_secs(5))
                .await
                .unwrap();
            u.send(&name("a.test."), &Update::default(), None)
                .await
                .unwrap();
            // idle past both timeouts: the primary closes the connection
            tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
            let missing = cat("ns9", "ns9.nowhere.test.");
            let ns2 = cat(
                "ns2",
                &crate::support::member_catalog("ns2", crate::support::CATALOG),
            );
            let err = edit(&u, &[&missing, &ns2], &[name("late.test.")], true)
                .await
                .unwrap_err();
            assert!(
                err.contains("ns9.nowhere.test.") && !err.contains("ns2."),
                "{err}"
            );
        });
    let served = content::axfr(
        &env,
        &crate::support::member_catalog("ns2", crate::support::CATALOG),
    );
    assert!(
        served.iter().any(|l| l.ends_with("PTR late.test.")),
        "the other catalog got its member over a reopened connection: {served:?}"
    );
});

// --- end of section: content ---

// ===========================================================================================
// Input: IDN, names BIND refuses, symlinks, secrets in Git, invalid UTF-8 (7.3, 7.7 at
// validate, 7.15, 7.16, 7.17 invalid UTF-8).
// ===========================================================================================

/// What `name` `rtype` is answered with by server `server` (`dig +short +norec`), sorted.
fn dig_short(env: &Env, server: &str, name: &str, rtype: &str) -> String {
    let addr = env.lab.dns_addr(server).unwrap();
    let out = std::process::Command::new("dig")
        .args([
            format!("@{}", addr.ip()),
            "-p".into(),
            addr.port().to_string(),
        ])
        .args(["+short", "+norec", "+time=1", "+tries=2", name, rtype])
        .output()
        .expect("dig (bind9-dnsutils)");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Every server of the lab (primary first) answers `name` `rtype` with `want`.
fn assert_served_everywhere(env: &Env, name: &str, rtype: &str, want: &str) {
    for s in env.servers() {
        assert_eq!(
            dig_short(env, &s, name, rtype),
            want,
            "{s} answers {name} {rtype}"
        );
    }
}

both_stores!(idn_owner_is_written_as_a_label, |db| {
    // Repro: a new zone with an owner written as an A-label (`xn--caf-dma`) and one written
    // in UTF-8 (`bücher`): the zone file of the new zone held the owners in UTF-8, named
    // refused it, and apply never recorded the zone. An owner added to an existing zone was
    // skipped (`continue` on a failed Name::from_ascii) and apply said "verified".
    let env = Env::new(db);
    env.zone(
        "idn.test",
        "group: default\nrecords:\n  xn--caf-dma:\n    A: 192.0.2.7\n  bücher:\n    A: 192.0.2.8\n",
    );
    env.commit("new zone with IDN owners");
    env.apply(&[], 0);
    assert_served_everywhere(&env, "xn--caf-dma.idn.test.", "A", "192.0.2.7");
    assert_served_everywhere(&env, "xn--bcher-kva.idn.test.", "A", "192.0.2.8");
    // the same in an existing zone, through an UPDATE
    env.zone(
        "idn.test",
        "group: default\nrecords:\n  xn--caf-dma:\n    A: 192.0.2.7\n  bücher:\n    A: 192.0.2.8\n  straße:\n    A: 192.0.2.9\n  xn--mnchen-3ya:\n    A: 192.0.2.10\n",
    );
    env.commit("IDN owners in an existing zone");
    env.apply(&[], 0);
    assert_served_everywhere(&env, "xn--strae-oqa.idn.test.", "A", "192.0.2.9");
    assert_served_everywhere(&env, "xn--mnchen-3ya.idn.test.", "A", "192.0.2.10");
    env.assert_converged("after the IDN owners");
});

both_stores!(utf8_cname_target_is_converted, |db| {
    // Repro: `www: {CNAME: café.example.com.}` in a new zone was written into its zone
    // file in UTF-8 and served as `caf\195\169.example.com.`; the same target added to an
    // existing zone was never sent.
    let env = Env::new(db);
    env.zone(
        "cname.test",
        "group: default\nrecords:\n  www:\n    CNAME: café.example.com.\n  mail:\n    A: 192.0.2.25\n  \"@\":\n    MX: 10 mail\n",
    );
    env.commit("UTF-8 CNAME target");
    env.apply(&[], 0);
    assert_served_everywhere(&env, "www.cname.test.", "CNAME", "xn--caf-dma.example.com.");
    env.zone(
        "cname.test",
        "group: default\nrecords:\n  www:\n    CNAME: café.example.com.\n  shop:\n    CNAME: bücher\n  bücher:\n    A: 192.0.2.8\n  mail:\n    A: 192.0.2.25\n  \"@\":\n    MX: 10 mail\n  _sip._tcp:\n    SRV: 10 60 5060 straße.example.net.\n",
    );
    env.commit("UTF-8 targets in an existing zone");
    env.apply(&[], 0);
    assert_served_everywhere(
        &env,
        "shop.cname.test.",
        "CNAME",
        "xn--bcher-kva.cname.test.",
    );
    assert_served_everywhere(
        &env,
        "_sip._tcp.cname.test.",
        "SRV",
        "10 60 5060 xn--strae-oqa.example.net.",
    );
    env.assert_converged("after the UTF-8 targets");
});

/// A validate-only repository: the example `zonekeeper.yaml` with the secret file outside
/// the repository, plus `files`, committed with git2.
struct ValidateRepo {
    dir: tempfile::TempDir,
}

impl ValidateRepo {
    fn new(files: &[(&str, &[u8])]) -> ValidateRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        git2::Repository::init(&repo).unwrap();
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let config = std::fs::read_to_string(examples.join("zonekeeper.yaml"))
            .unwrap()
            .replace("state/lab/tsig.key", "/etc/zonekeeper/tsig.key");
        let r = ValidateRepo { dir };
        r.write("zonekeeper.yaml", config.as_bytes());
        for (path, bytes) in files {
            r.write(path, bytes);
        }
        r
    }

    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    fn write(&self, path: &str, bytes: &[u8]) {
        let full = self.repo().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }

    fn commit(&self) {
        let repo = git2::Repository::open(self.repo()).unwrap();
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Test Operator", "ops@example.net").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "test", &tree, &parents)
            .unwrap();
    }

    /// Runs `zonekeeper validate --repo <repo> extra…` from `cwd` (default: the temp dir,
    /// outside the repository); returns the exit code and all output.
    fn validate(&self, extra: &[&str], cwd: Option<&std::path::Path>) -> (Option<i32>, String) {
        self.validate_at(&self.repo(), extra, cwd, &[])
    }

    fn validate_at(
        &self,
        repo: &std::path::Path,
        extra: &[&str],
        cwd: Option<&std::path::Path>,
        vars: &[(&str, &str)],
    ) -> (Option<i32>, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .arg("validate")
            .arg("--repo")
            .arg(repo)
            .args(extra)
            .envs(vars.iter().copied())
            .current_dir(cwd.unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("ZONEKEEPER_REPO")
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    }
}

/// Output with miette's line wrapping undone: words separated by single spaces.
fn flat(out: &str) -> String {
    out.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A valid zone file's text, for the files next to the broken one.
const GOOD_ZONE: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n";

#[test]
fn invalid_idn_is_refused_at_validate() {
    // Repro: an owner `xn--a` (not a valid A-label) or a UTF-8 owner that UTS 46 refuses
    // (a label starting with a combining mark) passed validate and reached BIND as bytes.
    let r = ValidateRepo::new(&[
        (
            "zones/idn.test.yaml",
            "group: default\nrecords:\n  xn--a:\n    A: 192.0.2.1\n  \u{301}abc:\n    A: 192.0.2.2\n  www:\n    CNAME: xn--zz-.example.net.\n"
                .as_bytes(),
        ),
        ("zones/ok.test.yaml", GOOD_ZONE.as_bytes()),
    ]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    for place in [
        "zones/idn.test.yaml:3:3",
        "zones/idn.test.yaml:5:3",
        "zones/idn.test.yaml:8:12",
    ] {
        assert!(out.contains(place), "{place} missing:\n{out}");
    }
    assert!(
        flat(&out).contains("A-label") || flat(&out).contains("IDN"),
        "{out}"
    );
    assert!(out.contains("3 problems found"), "{out}");
}

#[test]
fn rrset_over_max_records_per_type_refused() {
    // Repro: 101 A records at one owner pass validate; BIND (max-records-per-type 100 by
    // default in 9.18) refuses to load the zone, and every later apply waited and failed.
    let mut zone = String::from("group: default\nrecords:\n  many:\n    A:\n");
    for i in 0..101 {
        zone.push_str(&format!("      - 10.0.{}.{}\n", i / 200, i % 200 + 1));
    }
    let r = ValidateRepo::new(&[("zones/many.test.yaml", zone.as_bytes())]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("zones/many.test.yaml:4:5"), "{out}");
    assert!(
        flat(&out).contains("101 records") && flat(&out).contains("max_records_per_type"),
        "{out}"
    );
    // the limit is a setting: raised, or 0 for unlimited (as in BIND), the zone passes
    let config = std::fs::read_to_string(r.repo().join("zonekeeper.yaml")).unwrap();
    for limit in ["200", "0"] {
        r.write(
            "zonekeeper.yaml",
            config
                .replace(
                    "  port: 53\n  tsig:",
                    &format!("  port: 53\n  max_records_per_type: {limit}\n  tsig:"),
                )
                .as_bytes(),
        );
        r.commit();
        let (code, out) = r.validate(&[], None);
        assert_eq!(code, Some(0), "limit {limit}: {out}");
    }
    r.write(
        "zonekeeper.yaml",
        config
            .replace(
                "  port: 53\n  tsig:",
                "  port: 53\n  max_records_per_type: 50\n  tsig:",
            )
            .as_bytes(),
    );
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(flat(&out).contains("at most 50 records"), "{out}");
}

#[test]
fn wildcard_zone_file_name_refused() {
    // Repro: `zones/*.wild.test.yaml` passed validate; BIND refuses `*.wild.test` as a zone
    // name, and every later apply of every zone waited for it and failed.
    let r = ValidateRepo::new(&[
        ("zones/*.wild.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/ok.test.yaml", GOOD_ZONE.as_bytes()),
    ]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("zones/*.wild.test.yaml:1:1"), "{out}");
    assert!(flat(&out).contains("wildcard"), "{out}");
    assert!(out.contains("1 problem found"), "{out}");
}

#[test]
fn escaped_dot_zone_file_name_refused() {
    // Repro: `zones/a\.b.test.yaml` passed validate as the zone `a\.b.test.` (a label
    // holding a dot); BIND cannot take it as a zone or file name and every apply failed.
    let long = format!("zones/{}.test.yaml", "x".repeat(64));
    let r = ValidateRepo::new(&[
        ("zones/a\\.b.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/a\\065.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/a..test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/a b.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/Ok.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/ok.test.yaml", GOOD_ZONE.as_bytes()),
        ("zones/café.test.yaml", GOOD_ZONE.as_bytes()),
        (long.as_str(), GOOD_ZONE.as_bytes()),
    ]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    for (place, hint) in [
        ("zones/a\\.b.test.yaml:1:1", "escape"),
        ("zones/a\\065.test.yaml:1:1", "escape"),
        ("zones/a..test.yaml:1:1", "empty label"),
        ("zones/a b.test.yaml:1:1", "letters, digits"),
        ("zones/Ok.test.yaml:1:1", "lower case"),
        ("zones/café.test.yaml:1:1", "zones/xn--caf-dma.test.yaml"),
        (&format!("{long}:1:1"), "63"),
    ] {
        assert!(out.contains(place), "{place} missing:\n{out}");
        assert!(flat(&out).contains(hint), "hint `{hint}` missing:\n{out}");
    }
    assert!(out.contains("7 problems found"), "{out}");
}

#[test]
fn symlink_out_of_repo_is_not_followed() {
    // Repro: `ln -s /proc/self/environ zones/env.yaml; zonekeeper validate --worktree`
    // printed the process environment, TSIG secret included, as the zone file's snippet.
    let secret = "c3VwZXJzZWNyZXQtdHNpZy1rZXktbWF0ZXJpYWwtNDI=";
    let r = ValidateRepo::new(&[("zones/ok.test.yaml", GOOD_ZONE.as_bytes())]);
    std::os::unix::fs::symlink("/proc/self/environ", r.repo().join("zones/env.yaml")).unwrap();
    let outside = r.dir.path().join("outside.yaml");
    std::fs::write(
        &outside,
        format!("group: default\n# {secret}\nrecords: {{\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, r.repo().join("zones/out.test.yaml")).unwrap();
    let vars = [("ZONEKEEPER_TSIG_SECRET", secret)];
    let (code, out) = r.validate_at(&r.repo(), &["--worktree"], None, &vars);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains(secret), "secret printed:\n{out}");
    assert!(out.contains("zones/env.yaml:1:1"), "{out}");
    assert!(out.contains("zones/out.test.yaml:1:1"), "{out}");
    assert!(flat(&out).contains("symbolic link"), "{out}");
    assert!(out.contains("2 problems found"), "{out}");
    // committed, a symlink is a blob of mode 120000: refused, never resolved
    r.commit();
    let (code, out) = r.validate_at(&r.repo(), &[], None, &vars);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains(secret), "secret printed:\n{out}");
    assert!(
        out.contains("zones/env.yaml:1:1") && flat(&out).contains("symbolic link"),
        "{out}"
    );
    // a symlinked zonekeeper.yaml too
    let config = r.dir.path().join("config.yaml");
    std::fs::rename(r.repo().join("zonekeeper.yaml"), &config).unwrap();
    std::os::unix::fs::symlink(&config, r.repo().join("zonekeeper.yaml")).unwrap();
    let (code, out) = r.validate_at(&r.repo(), &["--worktree"], None, &vars);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("zonekeeper.yaml:1:1") && flat(&out).contains("symbolic link"),
        "{out}"
    );
}

#[test]
fn tsig_key_in_git_found_from_outside_bare_and_missing() {
    // Repro: `secret_file: keys/tsig.key` committed with the key: validate passed when run
    // from outside the repository (the relative path was resolved against the working
    // directory), in a bare clone (no work tree), or once the file was deleted from the
    // work tree. A BIND `key` clause committed in any other file was never looked for.
    let secret = "c3VwZXJzZWNyZXQtdHNpZy1rZXktbWF0ZXJpYWwtNDI=";
    let key =
        format!("key \"zonekeeper\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n");
    let r = ValidateRepo::new(&[
        ("zones/ok.test.yaml", GOOD_ZONE.as_bytes()),
        ("keys/tsig.key", key.as_bytes()),
    ]);
    let config = std::fs::read_to_string(r.repo().join("zonekeeper.yaml"))
        .unwrap()
        .replace("/etc/zonekeeper/tsig.key", "keys/tsig.key");
    r.write("zonekeeper.yaml", config.as_bytes());
    r.commit();
    let check = |(code, out): (Option<i32>, String), what: &str| {
        assert_eq!(code, Some(1), "{what}: {out}");
        assert!(!out.contains(secret), "{what}: secret printed:\n{out}");
        assert!(out.contains("zonekeeper.yaml:16:18"), "{what}: {out}");
        assert!(out.contains("keys/tsig.key:3:2"), "{what}: {out}");
        assert!(flat(&out).contains("committed"), "{what}: {out}");
    };
    // from outside the repository
    check(r.validate(&[], None), "from outside");
    // in a bare clone
    let bare = r.dir.path().join("bare.git");
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(r.repo().to_str().unwrap(), &bare)
        .unwrap();
    check(r.validate_at(&bare, &[], None, &[]), "bare clone");
    // missing from the work tree (still committed)
    std::fs::remove_file(r.repo().join("keys/tsig.key")).unwrap();
    check(
        r.validate(&[], Some(&r.repo())),
        "missing from the work tree",
    );
    // key material in any other file of the revision, with the secret from the environment
    r.write(
        "zonekeeper.yaml",
        config
            .replace(
                "secret_file: keys/tsig.key",
                "secret_env: ZONEKEEPER_TSIG_SECRET",
            )
            .as_bytes(),
    );
    r.write(
        "notes/named.conf",
        format!("options {{ }};\n{key}").as_bytes(),
    );
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains(secret), "secret printed:\n{out}");
    assert!(out.contains("notes/named.conf:4:2"), "{out}");
    assert!(out.contains("1 problem found"), "{out}");
}

#[test]
fn inline_secret_is_not_echoed() {
    // Repro: `secret: <base64>` in zonekeeper.yaml was refused, but the diagnostic's
    // snippet showed the line with the secret.
    let secret = "c3VwZXJzZWNyZXQtdHNpZy1rZXktbWF0ZXJpYWwtNDI=";
    let r = ValidateRepo::new(&[("zones/ok.test.yaml", GOOD_ZONE.as_bytes())]);
    let config = std::fs::read_to_string(r.repo().join("zonekeeper.yaml"))
        .unwrap()
        .replace(
            "secret_file: /etc/zonekeeper/tsig.key",
            &format!("secret: \"{secret}\""),
        )
        .replace("algorithm: hmac-sha256", "algorithm: hmac-md5");
    r.write("zonekeeper.yaml", config.as_bytes());
    r.commit();
    for format in ["text", "json"] {
        let (code, out) = r.validate(&["--format", format], None);
        assert_eq!(code, Some(1), "{out}");
        assert!(!out.contains(secret), "secret printed ({format}):\n{out}");
        assert!(
            !out.contains("c3VwZXJz"),
            "part of the secret printed ({format}):\n{out}"
        );
        if format == "text" {
            assert!(out.contains("zonekeeper.yaml:16:13"), "{out}");
            assert!(
                flat(&out).contains("never be written in the repository"),
                "{out}"
            );
            // the neighbouring problem (algorithm, line 13) renders a snippet without it
            assert!(out.contains("zonekeeper.yaml:13:16"), "{out}");
        }
    }
}

#[test]
fn invalid_utf8_located_and_others_still_checked() {
    // Repro: a zone file with a byte that is not UTF-8 stopped validate with "… is not
    // UTF-8 text": no line or column, and no other file was checked.
    let mut bad = b"group: default\nrecords:\n  www:\n    A: 192.0.2.1\n  m".to_vec();
    bad.extend_from_slice(&[0xe9, b'l']);
    bad.extend_from_slice(b":\n    A: 192.0.2.2\n");
    let r = ValidateRepo::new(&[
        ("zones/bad.test.yaml", &bad),
        ("zones/other.test.yaml", b"group: nope\n"),
    ]);
    r.commit();
    for extra in [&[][..], &["--worktree"][..]] {
        let (code, out) = r.validate(extra, None);
        assert_eq!(code, Some(1), "{extra:?}: {out}");
        assert!(out.contains("zones/bad.test.yaml:5:4"), "{extra:?}: {out}");
        assert!(flat(&out).contains("UTF-8"), "{extra:?}: {out}");
        assert!(
            out.contains("zones/other.test.yaml:1:8"),
            "{extra:?}: {out}"
        );
        assert!(out.contains("2 problems found"), "{extra:?}: {out}");
    }
}

// --- end of section: input ---

// ===========================================================================================
// Staged operations: catalog serials, cancel, waits, back-off, operator actions (7.8, 7.10,
// 7.11, 7.12, 7.13).
// ===========================================================================================

/// `dig +short +norec` at `server` of the lab: the answer's lines, lower case, sorted.
fn ops_dig(env: &Env, server: &str, name: &str, rtype: &str) -> Vec<String> {
    let addr = env.lab.dns_addr(server).unwrap();
    let out = std::process::Command::new("dig")
        .args([
            format!("@{}", addr.ip()),
            "-p".into(),
            addr.port().to_string(),
        ])
        .args(["+short", "+norec", "+time=1", "+tries=2", name, rtype])
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

/// The TTL `server` answers `name` `rtype` with (recursion off).
fn ops_ttl(env: &Env, server: &str, name: &str, rtype: &str) -> Option<u32> {
    let addr = env.lab.dns_addr(server).unwrap();
    let out = std::process::Command::new("dig")
        .args([
            format!("@{}", addr.ip()),
            "-p".into(),
            addr.port().to_string(),
        ])
        .args([
            "+noall", "+answer", "+norec", "+time=1", "+tries=2", name, rtype,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// When `out` asks for `zonekeeper confirm OP STEP`, gives it; whether it did.
fn ops_confirm_if_asked(env: &Env, out: &std::process::Output) -> bool {
    let t = text(out);
    let Some(rest) = t.split("`zonekeeper confirm ").nth(1) else {
        return false;
    };
    let args: Vec<&str> = rest.split('`').next().unwrap().split_whitespace().collect();
    let done = env.zk(&["confirm", args[0], args[1], "--yes"]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    true
}

/// Applies (giving every confirmation asked for, polling time gates as cron would) until
/// an apply exits 0; panics after `runs` runs.
fn ops_apply_until_done(env: &Env, runs: usize) -> std::process::Output {
    for _ in 0..runs {
        let out = env.zk(&["apply", "--auto-approve", "--verify-timeout", "10"]);
        match out.status.code() {
            Some(0) => return out,
            Some(3) if ops_confirm_if_asked(env, &out) => {}
            Some(3) => std::thread::sleep(std::time::Duration::from_millis(400)),
            _ => panic!("apply failed:\n{}", text(&out)),
        }
    }
    panic!("apply did not finish in {runs} runs");
}

/// Starts the real binary (with `--repo` and `--db`) without waiting for it.
fn ops_spawn(env: &Env, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .arg("--repo")
        .arg(&env.repo)
        .arg("--db")
        .arg(&env.db)
        .current_dir(env.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `show zone ZONE` until it contains `what` (an apply in progress got there).
fn ops_wait_for_show(env: &Env, zone: &str, what: &str) {
    for _ in 0..200 {
        if text(&env.zk(&["show", "zone", zone])).contains(what) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("`show zone {zone}` never showed \"{what}\"");
}

/// Runs one SQL statement on the store of `env` (to set up a state a test needs).
fn ops_store_exec(env: &Env, sql: &str) {
    let url = zonekeeper::store::db_url(Some(&env.db));
    let sql = sql.to_string();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
}

/// Commits `members` as the group's secondaries (zones' TTL `ttl`).
fn ops_members(env: &Env, members: &[&str], ttl: u32) {
    env.write(
        "zonekeeper.yaml",
        &crate::support::config_yaml(&env.lab, members, ttl),
    );
    env.commit(&format!("group: {}", members.join(" ")));
}

// 7.8. Repro: ns2 leaves the group (remove-secondary runs to the end: its catalog
// ns2.catalog.test. is emptied, then leaves the primary, ns2 keeps its copy at serial 3);
// then ns2 is added back. The recreated catalog started at serial 1, below the 3 ns2
// holds, so ns2 never transferred it: the add-secondary operation waited forever at
// provision ("ns2 must serve a.test. …: it answers Query Refused").
both_stores!(readded_secondary_gets_its_catalog, |db| {
    let env = Env::with(db, 2, &["ns1", "ns2"], 1);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    let catalog = "ns2.catalog.test.";
    let first = env.soa("ns0", catalog).serving().unwrap();

    ops_members(&env, &["ns1"], 1);
    ops_apply_until_done(&env, 40);
    assert_eq!(
        env.soa("ns2", "a.test.").status,
        "REFUSED",
        "ns2 dropped it"
    );
    assert_eq!(env.soa("ns0", catalog).status, "REFUSED", "catalog retired");
    let held = env
        .soa("ns2", catalog)
        .serving()
        .expect("ns2 keeps its copy");
    assert!(held > first, "the catalog was edited: {first} → {held}");

    ops_members(&env, &["ns1", "ns2"], 1);
    ops_apply_until_done(&env, 40);
    let again = env.soa("ns0", catalog).serving().unwrap();
    assert!(
        zonekeeper::model::serial::serial_gt(again, held),
        "the recreated catalog ({again}) is above the one ns2 held ({held})"
    );
    let serial = env.soa("ns0", "a.test.").serving();
    assert_eq!(
        env.soa("ns2", "a.test.").serving(),
        serial,
        "ns2 serves a.test."
    );
    assert_eq!(
        ops_dig(&env, "ns2", "a.test.", "NS"),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    env.assert_converged("after ns2 came back");
});

// 7.10. Repro: ns3 joins the group while it hangs (SIGSTOP): the add-secondary operation
// waits at provision; `zonekeeper cancel 1 --yes`; `apply` then published
// ns3.example.net. in every zone of the group (exit 0) although ns3 never served them.
both_stores!(cancelled_add_secondary_never_publishes_ns, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("two zones");
    env.apply(&[], 0);
    env.lab.pause("ns3").unwrap();
    ops_members(&env, &["ns1", "ns2", "ns3"], 2);
    let out = env.apply(&["--verify-timeout", "1"], 3);
    assert!(text(&out).contains("ns3"), "{}", text(&out));
    let out = env.zk(&["cancel", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The change is started afresh, gates and all: ns3's NS stays out of every zone.
    let out = env.apply(&["--verify-timeout", "1"], 3);
    assert!(text(&out).contains("ns3"), "{}", text(&out));
    for z in ["a.test.", "b.test."] {
        for s in ["ns0", "ns1", "ns2"] {
            assert_eq!(
                ops_dig(&env, s, z, "NS"),
                vec!["ns1.example.net.", "ns2.example.net."],
                "{s} {z}"
            );
        }
    }
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("add-secondary ns3"), "{status}");

    // Once ns3 serves, it is published.
    env.lab.resume("ns3").unwrap();
    ops_apply_until_done(&env, 20);
    let serial = env.soa("ns0", "a.test.").serving();
    assert_eq!(env.soa("ns3", "a.test.").serving(), serial);
    assert!(ops_dig(&env, "ns0", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
    env.assert_converged("after ns3 joined");
});

// 7.11. Repro: ns2 leaves the group (zones' TTL 2 s); the delegation is confirmed; ns1
// hangs for 5 s while the NS RRset without ns2 propagates, so that step finishes 5 s into
// the apply. The TTL wait was counted from the start of that apply (2 + 1 s): the next
// apply, run at once, found it over and took ns2 out of its catalog well under 2 s after
// the NS change.
both_stores!(ttl_wait_counts_from_previous_step_finish, |db| {
    let mut env = Env::with(db, 2, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    ops_members(&env, &["ns1"], 2);
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(ops_confirm_if_asked(&env, &out), "{}", text(&out));

    env.lab.pause("ns1").unwrap();
    let apply = ops_spawn(&env, &["apply", "--auto-approve", "--verify-timeout", "30"]);
    ops_wait_for_show(&env, "a.test", "unpublish-ns running");
    std::thread::sleep(std::time::Duration::from_secs(5));
    env.lab.resume("ns1").unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("resolvers may hold"), "{}", text(&out));
    assert_eq!(
        ops_dig(&env, "ns1", "a.test.", "NS"),
        vec!["ns1.example.net."]
    );
    assert!(
        env.soa("ns2", "a.test.").serving().is_some(),
        "ns2 serves on while resolvers may hold its NS record"
    );
    // At once again: the wait runs from the end of the NS change, not from the apply's start.
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(text(&out).contains("resolvers may hold"), "{}", text(&out));
    assert!(
        env.soa("ns2", "a.test.").serving().is_some(),
        "ns2 still serves, 2 s have not passed since the NS change"
    );
    ops_apply_until_done(&env, 40);
    assert_eq!(env.soa("ns2", "a.test.").status, "REFUSED");
    env.assert_converged("after the removal");
});

/// `zonekeeper.yaml` with a second group, `other` (catalog other.test.), served by ns1.
fn ops_two_groups(lab: &zonekeeper::lab::Lab, members: &[&str]) -> String {
    crate::support::config_yaml(lab, members, 2)
        + "  other:\n    catalog: other.test.\n    secondaries: [ns1]\n    nameservers: [ns1.example.net.]\n    ttl: 2\n    soa: {mname: ns0.example.net., rname: hostmaster@example.net, refresh: 3600, retry: 60, minimum: 60}\n"
}

/// A zone of group `other` whose `mail` A record moves to `addr` as a planned cut-over.
fn ops_mail_zone(addr: &str) -> String {
    format!(
        "group: other\nsoa: {{refresh: 600, retry: 60}}\nrecords:\n  mail:\n    A:\n      ttl: 3\n      value: {addr}\n      cutover: {{short_ttl: 1, soak: 2}}\n"
    )
}

// 7.12. Repro: ns3 joins group default while it hangs (op 1 waits at provision) and, in the
// same commit, mail.c.test. of group `other` is renumbered (op 2). Op 2 never started
// (the pass stopped at op 1's wait), and the summary named op 1 only. A provision check
// that had failed 9 times said "next check from <5 min later>", yet the next apply
// checked again at once (and published ns3's NS as soon as it answered).
both_stores!(backoff_is_stored_and_other_operations_progress, |db| {
    let mut env = Env::custom(
        db,
        3,
        |spec| {
            spec.catalogs.push("other.test.".into());
            spec.secondary_catalogs.insert(
                "ns1".into(),
                vec!["ns1.catalog.test.".into(), "ns1.other.test.".into()],
            );
        },
        |lab| ops_two_groups(lab, &["ns1", "ns2"]),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone(
        "c.test",
        &ops_mail_zone("192.0.2.25").replace("      cutover: {short_ttl: 1, soak: 2}\n", ""),
    );
    env.commit("zones");
    env.apply(&[], 0);
    assert_eq!(ops_ttl(&env, "ns1", "mail.c.test.", "A"), Some(3));

    env.lab.pause("ns3").unwrap();
    env.write(
        "zonekeeper.yaml",
        &ops_two_groups(&env.lab, &["ns1", "ns2", "ns3"]),
    );
    env.zone("c.test", &ops_mail_zone("198.51.100.25"));
    env.commit("ns3 joins default; mail.c.test. moves");
    let out = env.apply(&["--verify-timeout", "1"], 3);
    let t = text(&out);
    assert!(t.contains("op 1 waits") && t.contains("ns3"), "{t}");
    assert!(
        t.contains("op 2 waits") && t.contains("refresh + old TTL"),
        "{t}"
    );
    assert_eq!(
        ops_ttl(&env, "ns1", "mail.c.test.", "A"),
        Some(1),
        "op 2 lowered the TTL while op 1 waits"
    );

    // A provision check that failed 8 times before: the next failure backs off 5 min.
    ops_store_exec(
        &env,
        "UPDATE steps SET attempts = 8 WHERE op_id = 1 AND idx = 1",
    );
    let mut checked = None;
    for _ in 0..20 {
        let out = env.apply(&["--verify-timeout", "1"], 3);
        if !text(&out).contains("not checked again before") {
            checked = Some(out);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = checked.expect("the first back-off (2 s) ended");
    assert!(text(&out).contains("next check from"), "{}", text(&out));
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("checked 9 time(s)"), "{status}");

    // ns3 answers now, but its check is not due: nothing is checked or published.
    env.lab.resume("ns3").unwrap();
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(
        text(&out).contains("not checked again before"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("op 2"),
        "every waiting operation is listed"
    );
    assert_eq!(
        ops_dig(&env, "ns0", "a.test.", "NS"),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    assert!(text(&env.zk(&["status"])).contains("checked 9 time(s)"));

    // `reset` lifts the back-off: the next apply checks, and ns3 is published.
    let out = env.zk(&["reset", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.apply(&["--verify-timeout", "10"], 3);
    assert!(
        text(&out).contains("registrar must publish a.test."),
        "{}",
        text(&out)
    );
    assert!(ops_dig(&env, "ns0", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
});

// 7.13. Repro: ns3 joins the group while it hangs; an apply runs, checking provision
// (verify timeout 30 s); meanwhile the operator runs `zonekeeper confirm 1 3 --yes` for the
// registrar's step ("Step 3 of operation 1 confirmed"), then ns3 answers. The apply went
// on to step 3 with the copy it read at its start and wrote it back unconfirmed: it asked
// for the confirmation again, and so did every later apply.
both_stores!(operator_actions_during_apply_are_not_lost, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    env.lab.pause("ns3").unwrap();
    ops_members(&env, &["ns1", "ns2", "ns3"], 2);
    env.apply(&["--verify-timeout", "1"], 3);
    std::thread::sleep(std::time::Duration::from_secs(3)); // the first back-off (2 s)

    let apply = ops_spawn(&env, &["apply", "--auto-approve", "--verify-timeout", "30"]);
    ops_wait_for_show(&env, "a.test", "step 1 provision running");
    let out = env.zk(&["confirm", "1", "3", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    env.lab.resume("ns3").unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the running apply honoured the confirmation:\n{}",
        text(&out)
    );
    assert!(!text(&out).contains("zonekeeper confirm"), "{}", text(&out));
    assert!(!text(&env.zk(&["status"])).contains("Operations:"));
    assert!(ops_dig(&env, "ns3", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
});

// --- end of section: operations ---

// ===========================================================================================
// The lock and honest output: stale interactive plans, the apply lock, output (7.4, 7.14,
// 7.17 output).
// ===========================================================================================

// --- end of section: lock ---

// ===========================================================================================
// A fresh machine (7.18).
// ===========================================================================================

// Repro (7.18): on a fresh machine `TMPDIR` is empty; `scripts/test` then failed in the unit
// test `lab::tests::port_lock_reserve_release_and_takeover`, because reserving a lab port
// assumed `$TMPDIR/zonekeeper-lab-ports` existed, which only an earlier lab run created.
// The parent runs the child below in a new process whose `TMPDIR` is a new, empty directory.
#[test]
fn lab_port_lock_works_in_a_fresh_tmpdir() {
    let fresh = tempfile::tempdir().unwrap();
    let tmp = fresh.path().join("empty-tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "regression::fresh_tmpdir_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "the child failed:\n{log}");
    assert!(log.contains("1 passed"), "the child test ran:\n{log}");
    assert!(
        tmp.join("zonekeeper-lab-ports").is_dir(),
        "the lock directory was made in the fresh TMPDIR"
    );
}

/// Run by [`lab_port_lock_works_in_a_fresh_tmpdir`] in a process with an empty `TMPDIR`.
#[test]
#[ignore = "run by lab_port_lock_works_in_a_fresh_tmpdir with its own TMPDIR"]
fn fresh_tmpdir_child() {
    use zonekeeper::lab::{TEST_PORT_LAST, release_port, try_reserve_port};
    let dir = std::env::temp_dir().join("zonekeeper-lab-ports");
    assert!(!dir.exists(), "the TMPDIR is fresh");
    let port = (TEST_PORT_LAST - 50..=TEST_PORT_LAST)
        .find(|&p| try_reserve_port(p).expect("reserving a port in a fresh TMPDIR"))
        .expect("a free port");
    assert!(dir.join(format!("{port}.lock")).exists());
    release_port(port);
    assert!(!dir.join(format!("{port}.lock")).exists());
}

// --- end of section: fresh machine ---
