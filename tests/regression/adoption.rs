//! Adopting an existing fleet (issue 11): the records real zones hold.

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text};

// Repro: a zone as a new user writes it from a real fleet: HTTPS, SVCB and a type in RFC
// 3597 form (`TYPE65534: \# 4 0a000001`) were each "not managed here", and an RFC 2317
// classless delegation (`64/26`) was "invalid domain name": validate refused the zone, so
// it could not even be described.
both_stores!(
    common_types_and_classless_labels_are_not_managed_here,
    |db| {
        let env = Env::new(db);
        env.zone(
        "a.test",
        "group: default\nrecords:\n  \"@\":\n    HTTPS: 1 . alpn=h2\n    TYPE65534: \\# 4 0a000001\n  _dns:\n    SVCB: 1 dns port=853\n  dns:\n    A: 192.0.2.53\n",
    );
        env.zone(
        "2.0.192.in-addr.arpa",
        "group: default\nrecords:\n  64/26:\n    NS: ns1.example.net.\n  \"65\":\n    CNAME: 65.64/26\n",
    );
        env.commit("a zone with the types real fleets have");
        let out = env.apply(&[], 0);
        assert!(!text(&out).contains("not managed"), "{}", text(&out));
        env.assert_converged("every record served");
        let ns1 = env.lab.dns_addr("ns1").unwrap();
        let generic = crate::support::dig_short(ns1, "a.test.", "TYPE65534").join(" ");
        assert_eq!(generic, "\\# 4 0a000001");
        let ns = crate::support::dig_short(ns1, "65.2.0.192.in-addr.arpa.", "CNAME").join(" ");
        assert!(ns.starts_with("65.64"), "{ns}");
    }
);

// Repro: a DKIM key published as two character-strings (`"v=DKIM1; k=rsa; p=MIIB" "…"`)
// could only be written as one text, which zonekeeper split every 255 bytes: the
// boundaries the operator chose were lost.
both_stores!(txt_character_string_boundaries_are_lost, |db| {
    let env = Env::new(db);
    env.zone(
        "a.test",
        "group: default\nrecords:\n  k._domainkey:\n    TXT:\n      - [\"v=DKIM1; k=rsa; \", \"p=MIIBIjAN\"]\n",
    );
    env.commit("a DKIM key in two strings");
    env.apply(&[], 0);
    env.assert_converged("the key served");
    let ns1 = env.lab.dns_addr("ns1").unwrap();
    let txt = crate::support::dig_short(ns1, "k._domainkey.a.test.", "TXT").join(" ");
    assert_eq!(
        txt, r#""v=dkim1; k=rsa; " "p=miibijan""#,
        "dig_short lower-cases"
    );
});

// Repro: a zone the primary served from its own named.conf, adopted with `apply
// --adopt`: zonekeeper wrote a second stanza for it into zones.conf, `rndc reconfig`
// failed ("already exists"), and from then on no zone of the fleet could be created or
// removed.
both_stores!(
    adopting_a_zone_of_the_primary_s_own_configuration_fails_every_reconfig,
    |db| {
        let env = Env::new(db);
        crate::adopt::serve_outside(&env, "legacy.test", 7, "www IN A 192.0.2.1\n");
        env.zone(
            "legacy.test",
            "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n",
        );
        env.commit("legacy.test taken over");
        env.apply(&["--adopt"], 0);
        env.zone(
            "new.test",
            "group: default\nrecords:\n  www:\n    A: 192.0.2.9\n",
        );
        env.commit("a new zone next to it");
        env.apply(&[], 0);
        env.assert_converged("both zones served");
    }
);
