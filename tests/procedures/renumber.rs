//! A planned cut-over of one RRset: TTL lowered, waited out, switched, soaked, restored.

use super::*;

/// (TTL, data) of `name` `rtype` as `server` answers it.
fn answer(env: &Env, server: &str, name: &str, rtype: &str) -> Vec<(u32, String)> {
    crate::support::answer_lines(env.lab.dns_addr(server).unwrap(), name, rtype)
}

fn mail_zone(addr: &str, cutover: bool) -> String {
    let cut = if cutover {
        "\n      cutover: {short_ttl: 1, soak: 2}"
    } else {
        ""
    };
    format!(
        "group: default\nsoa: {{refresh: 2, retry: 1}}\nrecords:\n  \"@\":\n    MX: 10 mail\n  mail:\n    A:\n      ttl: 3\n      value: {addr}{cut}\n"
    )
}

both_stores!(
    renumber_lowers_the_ttl_waits_switches_soaks_and_restores,
    |db| {
        let env = Env::with(db, 2, &["ns1", "ns2"], 2);
        env.zone("a.test", &mail_zone("192.0.2.25", false));
        env.commit("mail on the old box");
        env.apply(&[], 0);
        let before = env.soa("ns0", "a.test.").serving().unwrap();
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(3, "192.0.2.25".to_string())]
        );

        let monitor = Monitor::start(&env, &["a.test."]);
        env.zone("a.test", &mail_zone("198.51.100.25", true));
        env.commit("move mail to the new box, as a planned cut-over");
        let t0 = std::time::Instant::now();
        let out = env.apply(&[], 3);
        assert!(text(&out).contains("until"), "{}", text(&out));
        assert_eq!(
            answer(&env, "ns2", "mail.a.test.", "A"),
            vec![(1, "192.0.2.25".to_string())],
            "old data, short TTL"
        );
        assert_eq!(env.soa("ns2", "a.test.").serving(), Some(before + 1));

        // Too early: still waiting out refresh (2 s) + old TTL (3 s).
        let out = env.apply(&[], 3);
        assert!(text(&out).contains("refresh + old TTL"), "{}", text(&out));
        let out = apply_past_wait(&env, &[], "refresh + old TTL", 3);
        assert!(
            t0.elapsed() >= Duration::from_secs(5),
            "refresh + old TTL (5 s) waited out"
        );
        assert!(text(&out).contains("soaks"), "{}", text(&out));
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(1, "198.51.100.25".to_string())],
            "new data, short TTL"
        );
        assert_eq!(env.soa("ns1", "a.test.").serving(), Some(before + 2));

        apply_past_wait(&env, &[], "soaks", 0);
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(3, "198.51.100.25".to_string())],
            "normal TTL back"
        );
        assert_eq!(
            env.soa("ns2", "a.test.").serving(),
            Some(before + 3),
            "three UPDATEs, no more"
        );
        monitor.finish();
        env.assert_converged("after apply");
    }
);
