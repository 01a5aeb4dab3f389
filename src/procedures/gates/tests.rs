//! `holds` for every gate kind: observations in, verdict out, time an argument.

use std::net::SocketAddr;

use super::*;
use crate::model::name_of;

const T: i64 = 1_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn step() -> StepRecord {
    StepRecord {
        op: 7,
        idx: 3,
        ..StepRecord::default()
    }
}

fn serves(server: &str, zone: &str, serial: u32, answer: SoaAnswer) -> Probe {
    Probe {
        check: Check::serves(name_of(zone), server, addr("192.0.2.1:53"), serial),
        answer,
    }
}

fn stops(server: &str, zone: &str, answer: SoaAnswer) -> Probe {
    Probe {
        check: Check {
            silent_ok: true,
            ..Check::refuses(name_of(zone), server, addr("192.0.2.2:53"))
        },
        answer,
    }
}

fn at(serial: u32) -> SoaAnswer {
    SoaAnswer::Serves { serial }
}

fn refused() -> SoaAnswer {
    SoaAnswer::NotAuthoritative {
        rcode: "REFUSED".into(),
        aa: false,
    }
}

fn with_probes(probes: Vec<Probe>) -> Observations {
    Observations {
        step: step(),
        zones: 1,
        probes,
        ..Observations::default()
    }
}

fn fails(v: Verdict) -> Unmet {
    match v {
        Verdict::Fails(u) => u,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_wait_counts_from_the_previous_steps_finish() {
    // The previous step finished 30 s into the apply: a 60 s wait ends 60 s (and the
    // second lost to whole-second clocks) after that, not 60 s after the apply began.
    let apply_start = 1_000;
    let finished = apply_start + 30;
    assert_eq!(wait_until(finished, 60), 1_091);
    assert!(wait_until(finished, 60) > apply_start + 60 + 30);
    assert_eq!(wait_until(finished, 0), finished + 1);
    assert_eq!(wait_until(i64::MAX - 1, u64::MAX), i64::MAX);
}

#[test]
fn backoff_doubles_from_the_check_start_up_to_its_cap() {
    assert_eq!(next_check(100, 1), 102);
    assert_eq!(next_check(100, 2), 104);
    assert_eq!(next_check(100, 5), 132);
    assert_eq!(next_check(100, 9), 100 + MAX_BACKOFF);
    assert_eq!(next_check(100, 1_000), 100 + MAX_BACKOFF);
    // A step reset to 0 attempts that fails still backs off.
    assert_eq!(next_check(100, 0), 102);
}

#[test]
fn a_wait_gate_holds_from_its_end_on() {
    let gate = Gate::Wait {
        seconds: 60,
        why: "resolvers may hold the old NS".into(),
    };
    let obs = Observations::of(StepRecord {
        previous_finished: Some(T),
        ..step()
    });
    let end = T + 61;
    let before = holds(&gate, &obs, end - 1);
    assert_eq!(
        before,
        Verdict::Waits(Wait {
            until: Some(end),
            reason: Waiting::Time {
                why: "resolvers may hold the old NS".into(),
                until: end
            }
        })
    );
    let Verdict::Waits(w) = before else {
        unreachable!()
    };
    assert!(
        w.reason
            .to_string()
            .starts_with("resolvers may hold the old NS; waiting until ")
    );
    assert!(w.reason.summary(7).starts_with("op 7 waits: resolvers"));
    assert_eq!(holds(&gate, &obs, end), Verdict::Holds(Proof::Passed));
    assert_eq!(holds(&gate, &obs, end + 500), Verdict::Holds(Proof::Passed));
}

#[test]
fn a_wait_keeps_the_end_it_was_given_and_starts_now_without_a_previous_step() {
    let gate = Gate::Wait {
        seconds: 60,
        why: "w".into(),
    };
    // Fixed earlier: a later finish of the previous step does not move it.
    let fixed = Observations::of(StepRecord {
        previous_finished: Some(T + 500),
        not_before: Some(T + 10),
        ..step()
    });
    assert_eq!(holds(&gate, &fixed, T + 10), Verdict::Holds(Proof::Passed));
    assert!(matches!(
        holds(&gate, &fixed, T + 9),
        Verdict::Waits(Wait {
            until: Some(u),
            ..
        }) if u == T + 10
    ));
    // No previous step: counted from now.
    let first = Observations::of(step());
    assert_eq!(wait_end(60, &first.step, T), T + 61);
    assert!(matches!(holds(&gate, &first, T), Verdict::Waits(_)));
}

#[test]
fn a_manual_gate_waits_for_its_confirmation_only() {
    let gate = Gate::Manual {
        what: "point ns9 at the new primary".into(),
    };
    let unconfirmed = holds(&gate, &Observations::of(step()), T);
    let Verdict::Waits(w) = unconfirmed else {
        panic!("{unconfirmed:?}")
    };
    assert_eq!(w.until, None, "no time opens it");
    assert_eq!(
        w.reason.to_string(),
        "point ns9 at the new primary; then run: zonekeeper confirm 7 3"
    );
    assert_eq!(
        w.reason.summary(7),
        "op 7 waits: point ns9 at the new primary (confirm with `zonekeeper confirm 7 3`)"
    );
    let confirmed = Observations::of(StepRecord {
        confirmed: true,
        ..step()
    });
    assert_eq!(holds(&gate, &confirmed, T), Verdict::Holds(Proof::Passed));
}

#[test]
fn a_failed_check_is_not_repeated_before_its_backoff_by_the_same_revision() {
    let gate = Gate::AllServe;
    let failed = StepRecord {
        next_check_at: Some(T + 4),
        same_revision: true,
        message: "ns2 must serve a.test. serial 5 with AA: it serves serial 4".into(),
        ..step()
    };
    let w = before_acting(&gate, &failed, T + 3).expect("backs off");
    assert_eq!(w.until, Some(T + 4));
    assert!(
        w.reason
            .summary(7)
            .starts_with("op 7 waits: ns2 must serve a.test. serial 5 with AA: it serves serial 4 (not checked again before ")
    );
    assert_eq!(before_acting(&gate, &failed, T + 4), None, "due at its end");
    let new_commit = StepRecord {
        same_revision: false,
        ..failed.clone()
    };
    assert_eq!(
        before_acting(&gate, &new_commit, T),
        None,
        "a new commit may be the fix"
    );
    // A time gate before acting, and the back-off before the time gate.
    let wait = Gate::Wait {
        seconds: 10,
        why: "w".into(),
    };
    let fresh = StepRecord {
        previous_finished: Some(T),
        ..step()
    };
    assert!(matches!(
        before_acting(&wait, &fresh, T),
        Some(Wait {
            reason: Waiting::Time { .. },
            ..
        })
    ));
    assert_eq!(before_acting(&wait, &fresh, T + 11), None);
    assert!(matches!(
        before_acting(&wait, &failed, T),
        Some(Wait {
            reason: Waiting::Backoff { .. },
            ..
        })
    ));
}

#[test]
fn serving_gates_hold_when_every_probe_does() {
    let probes = vec![
        serves("ns1", "a.test.", 5, at(5)),
        serves("ns2", "a.test.", 5, at(6)),
    ];
    for gate in [
        Gate::Serves {
            server: "ns1".into(),
        },
        Gate::AllServe,
        Gate::GroupServes { group: "g".into() },
        Gate::Propagated {
            primary: "p2".into(),
            addr: addr("192.0.2.9:53"),
        },
    ] {
        assert_eq!(
            holds(&gate, &with_probes(probes.clone()), T),
            Verdict::Holds(Proof::Checks { count: 2 })
        );
        assert_eq!(
            holds(&gate, &with_probes(probes.clone()), T)
                .clone()
                .to_message(),
            "2 check(s) passed"
        );
    }
    assert!(verifies_zones(&Gate::AllServe));
    assert!(!verifies_zones(&Gate::Propagated {
        primary: "p2".into(),
        addr: addr("192.0.2.9:53")
    }));
}

#[test]
fn a_serving_gate_names_the_first_server_behind() {
    let obs = with_probes(vec![
        serves("ns1", "a.test.", 5, at(5)),
        serves("ns2", "a.test.", 5, at(4)),
        serves("ns3", "a.test.", 5, SoaAnswer::NoAnswer("timed out".into())),
    ]);
    let unmet = fails(holds(&Gate::AllServe, &obs, T));
    assert!(unmet.polled(), "servers converge: polled");
    assert_eq!(
        unmet.to_string(),
        "ns2 must serve a.test. serial 5 with AA: it serves serial 4"
    );
    let none = with_probes(vec![serves("ns3", "a.test.", 5, refused())]);
    assert_eq!(
        fails(holds(&Gate::AllServe, &none, T)).to_string(),
        "ns3 must serve a.test. serial 5 with AA: it answers REFUSED without AA"
    );
}

#[test]
fn a_retired_server_must_stop_serving_and_silence_counts() {
    let gate = Gate::Retired {
        server: "old".into(),
        addr: addr("192.0.2.2:53"),
    };
    let silent = with_probes(vec![
        stops(
            "old",
            "a.test.",
            SoaAnswer::NoAnswer("connection refused".into()),
        ),
        stops("old", "cat.invalid.", refused()),
    ]);
    assert_eq!(
        holds(&gate, &silent, T),
        Verdict::Holds(Proof::Checks { count: 2 })
    );
    let serving = with_probes(vec![stops("old", "a.test.", at(5))]);
    assert_eq!(
        fails(holds(&gate, &serving, T)).to_string(),
        "old must stop serving a.test.: it serves serial 5"
    );
}

#[test]
fn stopped_serving_gates_say_what_the_operator_does() {
    let gate = Gate::StoppedServing {
        server: "ns2".into(),
        how: "stop BIND on ns2".into(),
    };
    let mut obs = with_probes(vec![stops("ns2", "a.test.", refused())]);
    obs.stopping = vec!["ns2".into()];
    obs.zones = 3;
    let v = holds(&gate, &obs, T);
    assert_eq!(v.to_message(), "ns2 no longer serve(s) the 3 zone(s)");
    obs.probes = vec![stops("ns2", "a.test.", at(5))];
    let unmet = fails(holds(&gate, &obs, T));
    assert!(unmet.polled());
    assert_eq!(
        unmet.to_string(),
        "ns2 must stop serving a.test.: it serves serial 5 — stop BIND on ns2"
    );
    let group = Gate::GroupStopped {
        group: "old".into(),
        except: "new".into(),
    };
    assert_eq!(
        fails(holds(&group, &obs, T)).to_string(),
        "ns2 must stop serving a.test.: it serves serial 5 — they left the catalog of group old; check their logs if they keep serving"
    );
}

fn delegation(parent: Option<&str>, servers: &[&str]) -> ZoneDelegation {
    ZoneDelegation {
        zone: "lab.example.com.".into(),
        ns: vec!["ns1.example.net.".into(), "ns3.example.net.".into()],
        glue: vec![],
        parent: parent.map(str::to_string),
        parent_servers: servers.iter().map(|s| s.to_string()).collect(),
    }
}

fn delegation_gate(zones: Vec<ZoneDelegation>, manual: bool) -> Gate {
    Gate::Delegation {
        zones,
        manual,
        instructions: "lab.example.com.: NS ns1.example.net. ns3.example.net.".into(),
    }
}

const PARENT: &str = "example.com. 60 IN SOA m. r. 9 1 1 1 1\n\
    example.com. 60 IN NS ns1.example.net.\n\
    lab.example.com. 60 IN NS ns1.example.net.\n\
    lab.example.com. 60 IN NS ns3.example.net.\n";

#[test]
fn a_managed_parent_must_serve_and_record_the_delegation() {
    let gate = delegation_gate(vec![delegation(Some("example.com."), &[])], false);
    let mut obs = with_probes(vec![serves("ns2", "example.com.", 9, at(9))]);
    obs.parents.insert("example.com.".into(), PARENT.into());
    assert_eq!(holds(&gate, &obs, T), Verdict::Holds(Proof::Delegated));
    assert_eq!(
        holds(&gate, &obs, T).to_message(),
        "the parents delegate as desired"
    );

    let behind = Observations {
        probes: vec![serves("ns2", "example.com.", 9, at(8))],
        ..obs.clone()
    };
    let unmet = fails(holds(&gate, &behind, T));
    assert!(unmet.polled());
    assert_eq!(
        unmet.to_string(),
        "ns2 must serve the parent zone example.com. serial 9: it serves serial 8"
    );

    let mut other = obs.clone();
    other.parents.insert(
        "example.com.".into(),
        PARENT.replace("ns3.example.net.", "ns2.example.net."),
    );
    let unmet = fails(holds(&gate, &other, T));
    assert!(!unmet.polled(), "the store does not change by waiting");
    assert_eq!(
        unmet.to_string(),
        "the parent zone example.com. delegates lab.example.com. to ns1.example.net. ns2.example.net.; write NS ns1.example.net. ns3.example.net. for it in zones/example.com.yaml"
    );
    other.parents.insert(
        "example.com.".into(),
        "example.com. 60 IN SOA m. r. 9 1 1 1 1\n".into(),
    );
    assert!(
        fails(holds(&gate, &other, T))
            .to_string()
            .contains("delegates lab.example.com. to nothing;")
    );
}

#[test]
fn an_unmanaged_parents_servers_must_refer_to_the_desired_set() {
    let gate = delegation_gate(vec![delegation(None, &["192.0.2.53:53"])], false);
    let referral = |answer| Observations {
        referrals: vec![Referral {
            zone: "lab.example.com.".into(),
            server: "192.0.2.53:53".into(),
            answer,
        }],
        ..Observations::of(step())
    };
    let good = referral(Ok(vec![
        "ns1.example.net.".into(),
        "ns3.example.net.".into(),
    ]));
    assert_eq!(holds(&gate, &good, T), Verdict::Holds(Proof::Delegated));
    let old = referral(Ok(vec!["ns1.example.net.".into()]));
    assert_eq!(
        fails(holds(&gate, &old, T)).to_string(),
        "the parent's server 192.0.2.53:53 delegates lab.example.com. to ns1.example.net.; it must delegate to ns1.example.net. ns3.example.net."
    );
    let silent = referral(Err("timed out".into()));
    assert_eq!(
        fails(holds(&gate, &silent, T)).to_string(),
        "the parent's server 192.0.2.53:53 does not answer for lab.example.com.: timed out"
    );
}

#[test]
fn a_delegation_by_hand_holds_once_confirmed() {
    let gate = delegation_gate(vec![delegation(None, &[])], true);
    let unmet = fails(holds(&gate, &Observations::of(step()), T));
    assert!(!unmet.polled());
    assert_eq!(
        unmet.to_string(),
        "the registrar must publish lab.example.com.: NS ns1.example.net. ns3.example.net.; then run `zonekeeper confirm 7 3`"
    );
    let confirmed = Observations::of(StepRecord {
        confirmed: true,
        ..step()
    });
    assert_eq!(
        holds(&gate, &confirmed, T),
        Verdict::Holds(Proof::Delegated)
    );
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

const ZONE: &str =
    "a.test. 60 IN SOA m. r. 5 1 1 1 1\na.test. 60 IN NS ns1.test.\nwww.a.test. 60 IN A 192.0.2.1";

#[test]
fn the_new_primary_must_serve_the_same_data() {
    let gate = Gate::SameData {
        new: addr("192.0.2.9:53"),
        old: addr("192.0.2.1:53"),
    };
    let transfer = |new: Result<Vec<String>, String>| Observations {
        transfers: vec![Transfer {
            zone: "a.test.".into(),
            new,
            old: Ok(lines(ZONE)),
        }],
        ..with_probes(vec![serves("the new primary", "a.test.", 5, at(5))])
    };
    let same = transfer(Ok(lines(ZONE)));
    assert_eq!(
        holds(&gate, &same, T).to_message(),
        "the new primary holds the same RRsets as the old one in 1 zone(s)"
    );
    let other = transfer(Ok(lines(&ZONE.replace("192.0.2.1", "192.0.2.7"))));
    let unmet = fails(holds(&gate, &other, T));
    assert!(!unmet.polled());
    assert!(unmet.to_string().starts_with(
        "the new primary's a.test. differs from the old primary's: www.a.test. A: new has www.a.test. 60 IN A 192.0.2.7, old has"
    ));
    let broken = transfer(Err("zone transfer refused".into()));
    assert_eq!(
        fails(holds(&gate, &broken, T)).to_string(),
        "zone transfer refused"
    );
    let behind = Observations {
        probes: vec![serves("the new primary", "a.test.", 5, at(4))],
        ..same
    };
    assert!(fails(holds(&gate, &behind, T)).polled());
}

#[test]
fn every_secondary_must_follow_the_primarys_catalogs() {
    let primary = addr("192.0.2.9:53");
    let gate = |how: &str| Gate::CatalogsServed {
        primary,
        copy: None,
        how: how.into(),
    };
    let mut obs = with_probes(vec![serves("ns2", "cat.invalid.", 3, at(3))]);
    obs.catalogs = vec![("cat.invalid.".into(), at(3))];
    assert_eq!(
        holds(&gate(""), &obs, T),
        Verdict::Holds(Proof::CatalogsFollowed)
    );
    assert_eq!(
        holds(&gate(""), &obs, T).to_message(),
        "every secondary follows the catalogs"
    );
    obs.probes = vec![serves("ns2", "cat.invalid.", 3, at(2))];
    assert_eq!(
        fails(holds(&gate(""), &obs, T)).to_string(),
        "ns2 must serve cat.invalid. serial 3 with AA: it serves serial 2"
    );
    assert_eq!(
        fails(holds(&gate("point ns2 at p2"), &obs, T)).to_string(),
        "ns2 must serve cat.invalid. serial 3 with AA: it serves serial 2 — point ns2 at p2"
    );
    obs.catalogs = vec![("cat.invalid.".into(), refused())];
    let unmet = fails(holds(&gate("x"), &obs, T));
    assert!(!unmet.polled());
    assert_eq!(
        unmet.to_string(),
        "the primary at 192.0.2.9:53 does not serve cat.invalid."
    );
}

#[test]
fn transfer_order_does_not_matter_but_records_do() {
    let a = lines(
        "a.test. 60 IN SOA m. r. 5 1 1 1 1\na.test. 60 IN NS ns1.test.\na.test. 60 IN NS ns2.test.\nwww.a.test. 60 IN A 192.0.2.1",
    );
    let shuffled = lines(
        "www.a.test. 60 IN A 192.0.2.1\na.test. 60 IN NS ns2.test.\na.test. 60 IN SOA m. r. 5 1 1 1 1\na.test. 60 IN NS ns1.test.",
    );
    assert_eq!(first_difference(&a, &shuffled), None);

    let mut changed = a.clone();
    changed[3] = "www.a.test. 60 IN A 192.0.2.9".into();
    assert_eq!(
        first_difference(&changed, &a).as_deref(),
        Some(
            "www.a.test. A: new has www.a.test. 60 IN A 192.0.2.9, old has www.a.test. 60 IN A 192.0.2.1"
        )
    );

    let mut serial = a.clone();
    serial[0] = "a.test. 60 IN SOA m. r. 6 1 1 1 1".into();
    assert!(first_difference(&serial, &a).unwrap().starts_with("@ SOA"));

    let fewer = a[..3].to_vec();
    assert_eq!(
        first_difference(&fewer, &a).as_deref(),
        Some("www.a.test. A: new has nothing, old has www.a.test. 60 IN A 192.0.2.1")
    );
}

/// A verdict's text as the step would record it.
trait Message {
    fn to_message(self) -> String;
}

impl Message for Verdict {
    fn to_message(self) -> String {
        match self {
            Verdict::Holds(p) => p.to_string(),
            Verdict::Waits(w) => w.reason.to_string(),
            Verdict::Fails(u) => u.to_string(),
        }
    }
}
