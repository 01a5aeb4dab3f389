//! Input: IDN, zone names BIND refuses, RRsets over BIND's limit, symlinks, TSIG keys in
//! Git, invalid UTF-8 (issue 7: items 3, 7 at validate, 15, 16, 17 invalid UTF-8).

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

/// What `name` `rtype` is answered with by server `server` (`dig +short +norec`), sorted.
fn dig_short(env: &Env, server: &str, name: &str, rtype: &str) -> String {
    let mut lines = crate::support::dig_short(env.lab.dns_addr(server).unwrap(), name, rtype);
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

both_stores!(idn_zone_name_is_served_changed_and_deleted, |db| {
    // Repro: an IDN zone (`zones/xn--caf-dma.test.yaml`) reached BIND's zones.conf, its zone
    // file name, the store and the catalogs in the Unicode form (`café.test.`), so the
    // zone never looked done. Every step is A-labels: create, change, delete.
    let env = Env::new(db);
    env.zone("xn--caf-dma.test", &zone_yaml("192.0.2.1"));
    env.commit("an IDN zone");
    env.apply(&[], 0);
    for s in env.servers() {
        assert!(
            env.soa(&s, "xn--caf-dma.test.").serving().is_some(),
            "{s} serves xn--caf-dma.test."
        );
    }
    let conf = std::fs::read_to_string(env.lab.spec().include_dir.join("zones.conf")).unwrap();
    assert!(conf.contains("\"xn--caf-dma.test.\""), "{conf}");
    assert!(!conf.contains("café"), "{conf}");
    env.assert_converged("after creating the IDN zone");
    env.zone("xn--caf-dma.test", &zone_yaml("192.0.2.2"));
    env.commit("change it");
    env.apply(&[], 0);
    assert_served_everywhere(&env, "www.xn--caf-dma.test.", "A", "192.0.2.2");
    env.assert_converged("after changing the IDN zone");
    env.remove("zones/xn--caf-dma.test.yaml");
    env.commit("delete it");
    env.apply(&["--allow-delete"], 0);
    for s in env.servers() {
        assert!(
            env.soa(&s, "xn--caf-dma.test.").serving().is_none(),
            "{s} no longer serves xn--caf-dma.test."
        );
    }
    env.assert_converged("after deleting the IDN zone");
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
            .replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key");
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
        crate::support::commit_all(&self.repo(), "test");
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
fn host_names_bind_refuses_are_refused_at_validate() {
    // Repro: `bad_host: { A: 192.0.2.5 }` (or an MX/NS/SRV target with `_`) passes validate;
    // BIND's default `check-names primary fail` refuses the whole zone, which then failed
    // at every apply. Validate refuses each such name at its value; TXT owners like
    // `_dmarc` stay allowed, and `check_names: false` turns the rule off.
    let zone = "group: default\nrecords:\n  bad_host:\n    A: 192.0.2.5\n  \"@\":\n    MX: 10 mail_x.example.net.\n  _dmarc:\n    TXT: \"v=DMARC1; p=none\"\n  _sip._tcp:\n    SRV: 0 0 5060 sip-1.example.net.\n";
    let r = ValidateRepo::new(&[("zones/names.test.yaml", zone.as_bytes())]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    for place in ["zones/names.test.yaml:4:5", "zones/names.test.yaml:6:9"] {
        assert!(out.contains(place), "{place} missing:\n{out}");
    }
    assert!(
        out.contains("2 problems found"),
        "only the two bad names: {out}"
    );
    assert!(flat(&out).contains("check-names"), "{out}");
    let config = std::fs::read_to_string(r.repo().join("zonekeeper.yaml")).unwrap();
    r.write(
        "zonekeeper.yaml",
        config
            .replace(
                "  port: 53\n  tsig:",
                "  port: 53\n  check_names: false\n  tsig:",
            )
            .as_bytes(),
    );
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(0), "check_names: false: {out}");
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
fn mx_target_covered_by_a_wildcard_is_refused() {
    // Repro: `"*": {A: 192.0.2.10}` with `"@": {MX: 10 mail}` and no `mail` owner was
    // refused ("MX target mail.wild.test. has no address"), though the wildcard answers
    // `mail.wild.test. A 192.0.2.10` (RFC 4592) and named-checkzone loads the zone. So was
    // an SRV target under a `*.eu` holding AAAA. A target no wildcard covers (an empty
    // non-terminal exists, so no wildcard answers for it) is still refused.
    let r = ValidateRepo::new(&[(
        "zones/wild.test.yaml",
        b"group: default\nrecords:\n  \"*\":\n    A: 192.0.2.10\n  \"@\":\n    MX: 10 mail\n  _sip._tcp:\n    SRV: 0 0 5060 sip.eu\n  \"*.eu\":\n    AAAA: 2001:db8::5\n",
    )]);
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(0), "{out}");
    r.write(
        "zones/ent.test.yaml",
        b"group: default\nrecords:\n  \"*\":\n    A: 192.0.2.10\n  x.ent:\n    A: 192.0.2.11\n  \"@\":\n    MX: 10 ent\n",
    );
    r.commit();
    let (code, out) = r.validate(&[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("zones/ent.test.yaml:8:9"), "{out}");
    assert!(
        flat(&out).contains("MX target ent.ent.test. has no address"),
        "{out}"
    );
    assert!(out.contains("1 problem found"), "{out}");
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
