//! Reverse zones with `auto_ptr: true` against a real BIND lab: their PTRs follow the
//! forward zones' A/AAAA records through plan and apply, are served by every server, and
//! honour `ptr: false`; misplaced keys are refused at their `file:line:col`.

use std::process::Command;

use crate::both_stores;
use crate::support::{Db, Env, dig_short, text};

const REV4: &str = "2.0.192.in-addr.arpa";
const REV6: &str = "8.b.d.0.1.0.0.2.ip6.arpa";

/// A forward zone: `www` at `www`, `mail` twice (A and AAAA), `quiet` opted out.
fn forward(www: &str) -> String {
    format!(
        "group: default
records:
  www: {{A: {{ttl: 120, value: {www}}}}}
  mail: {{A: 192.0.2.25, AAAA: \"2001:db8::25\"}}
  quiet: {{A: {{value: 192.0.2.30, ptr: false}}}}
"
    )
}

const REVERSE: &str = "group: default\nauto_ptr: true\n";

/// What every server answers for `name` PTR.
fn ptr_everywhere(env: &Env, name: &str) -> Vec<Vec<String>> {
    env.servers()
        .iter()
        .map(|s| dig_short(env.lab.dns_addr(s).unwrap(), name, "PTR"))
        .collect()
}

fn assert_served(env: &Env, name: &str, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    let got = ptr_everywhere(env, name);
    assert_eq!(got.len(), 3, "primary and two secondaries");
    for (server, answer) in env.servers().iter().zip(&got) {
        assert_eq!(answer, &want, "{server} answers {name} PTR");
    }
}

both_stores!(ptrs_follow_the_forward_zone_on_every_server, |db| {
    let env = Env::new(db);
    env.zone("fwd.test", &forward("192.0.2.10"));
    env.zone(REV4, REVERSE);
    env.zone(REV6, REVERSE);
    env.commit("a forward zone and its reverse zones");
    env.apply(&[], 0);
    assert_served(&env, "10.2.0.192.in-addr.arpa.", &["www.fwd.test."]);
    assert_served(&env, "25.2.0.192.in-addr.arpa.", &["mail.fwd.test."]);
    let v6 = format!("5.2.{}.{REV6}.", ["0"; 22].join("."));
    assert_served(&env, &v6, &["mail.fwd.test."]);
    // ptr: false is honoured
    assert_served(&env, "30.2.0.192.in-addr.arpa.", &[]);
    env.assert_converged("after the first apply");

    // the A record moves: the plan shows the reverse zone's change, apply serves it
    env.zone("fwd.test", &forward("192.0.2.12"));
    env.commit("renumber www");
    let plan = env.zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let shown = text(&plan);
    assert!(shown.contains(&format!("{REV4}.")), "{shown}");
    for line in [
        "10.2.0.192.in-addr.arpa. 120 IN PTR www.fwd.test.",
        "12.2.0.192.in-addr.arpa. 120 IN PTR www.fwd.test.",
    ] {
        assert!(shown.contains(line), "the plan shows `{line}`:\n{shown}");
    }
    assert!(
        !shown.contains(&format!("{REV6}.")),
        "the IPv6 zone does not change:\n{shown}"
    );
    env.apply(&[], 0);
    assert_served(&env, "12.2.0.192.in-addr.arpa.", &["www.fwd.test."]);
    assert_served(&env, "10.2.0.192.in-addr.arpa.", &[]);
    env.assert_converged("after the renumbering");

    // the forward zone goes: its PTRs go with it
    env.remove("zones/fwd.test.yaml");
    env.commit("fwd.test retired");
    env.apply(&["--allow-delete"], 0);
    assert_served(&env, "12.2.0.192.in-addr.arpa.", &[]);
    assert_served(&env, &v6, &[]);
    env.assert_converged("after the deletion");
});

fn zk(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `auto_ptr` on a forward zone, and `ptr:` on another type than A/AAAA, are refused at
/// the value, with what to do.
#[test]
fn misplaced_keys_are_refused_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml")).unwrap();
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config.replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("zones/fwd.test.yaml"),
        "group: default\nauto_ptr: true\nrecords:\n  mail: {MX: {value: 10 mx.example.net., ptr: false}}\n",
    )
    .unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "zones/fwd.test.yaml:2:11",
        "fwd.test. is not a reverse zone",
        "zones/fwd.test.yaml:4:47",
        "`ptr:` is written on a MX RRset",
    ] {
        assert!(err.contains(want), "`{want}` in:\n{err}");
    }
    let json = zk(
        &["validate", "--worktree", "--repo", ".", "--format", "json"],
        dir.path(),
    );
    let shown = String::from_utf8_lossy(&json.stdout);
    assert!(
        shown.contains("zone::auto-ptr") && shown.contains("record::ptr"),
        "{shown}"
    );
}
