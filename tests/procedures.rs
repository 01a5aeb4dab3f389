//! Staged procedures against a real BIND lab, each on SQLite and PostgreSQL, while a
//! monitor samples the published NS set every 100 ms and asserts that every listed server
//! answers with AA and at least the serial of the zone version that listed it.

mod delegation;
mod membership;
mod move_primary;
mod move_zone;
mod renumber;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::both_stores;
use crate::support::{
    Db, Env, Kills, config_yaml, confirm_if_asked, dig_short, dig_soa, text, zone_yaml,
};

/// Samples the NS set of `zones` on the primary every 100 ms.
struct Monitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<(usize, Vec<String>)>>,
}

/// `dig +short` at `addr` (recursion off): the answer's lines, trimmed, lower case.
fn dig_ns(addr: std::net::SocketAddr, zone: &str) -> Vec<String> {
    dig_short(addr, zone, "NS")
}

/// What `addr` answers for `zone`'s SOA once it serves `since` or later. A server that
/// answers authoritatively but is still transferring the version that listed it (NOTIFY
/// and IXFR take a moment, longer on a loaded machine) gets up to 3 s; one that does not
/// answer authoritatively is lame at once.
fn caught_up(addr: std::net::SocketAddr, zone: &str, since: u32) -> crate::support::Soa {
    let mut answer = dig_soa(addr, zone);
    for _ in 0..30 {
        match answer.serving() {
            Some(s) if s < since => std::thread::sleep(Duration::from_millis(100)),
            _ => break,
        }
        answer = dig_soa(addr, zone);
    }
    answer
}

impl Monitor {
    fn start(env: &Env, zones: &[&str]) -> Monitor {
        Monitor::start_from(env, zones, "ns0")
    }

    /// Samples the NS set and serial as `source` serves them.
    fn start_from(env: &Env, zones: &[&str], source: &str) -> Monitor {
        let servers: BTreeMap<String, std::net::SocketAddr> = env
            .servers()
            .into_iter()
            .map(|s| (format!("{s}.example.net."), env.lab.dns_addr(&s).unwrap()))
            .collect();
        let primary = env.lab.dns_addr(source).unwrap();
        let zones: Vec<String> = zones.iter().map(|z| z.to_string()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut samples = 0;
            let mut violations = Vec::new();
            // serial of the zone version that first listed each NS name
            let mut listed_at: BTreeMap<(String, String), u32> = BTreeMap::new();
            while !flag.load(Ordering::SeqCst) {
                for zone in &zones {
                    let Some(serial) = dig_soa(primary, zone).serving() else {
                        continue;
                    };
                    for ns in dig_ns(primary, zone) {
                        let since = *listed_at
                            .entry((zone.clone(), ns.clone()))
                            .or_insert(serial);
                        let Some(addr) = servers.get(&ns) else {
                            continue;
                        };
                        let answer = caught_up(*addr, zone, since);
                        match answer.serving() {
                            Some(s) if s >= since => {}
                            _ => violations.push(format!(
                                "{ns} is listed in {zone} (serial {serial}) but answers {answer:?}"
                            )),
                        }
                    }
                }
                samples += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            (samples, violations)
        });
        Monitor {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops sampling; asserts it sampled and saw no lame NS.
    fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let (samples, violations) = self.handle.take().unwrap().join().unwrap();
        assert!(samples >= 2, "the monitor sampled only {samples} times");
        assert!(
            violations.is_empty(),
            "lame delegation seen:\n{}",
            violations.join("\n")
        );
    }
}

/// What apply says of a step whose back-off has not run out.
const BACKOFF: &str = "not checked again before";

/// Applies until the time gate whose message contains `still` has opened (polling, as
/// cron would), then asserts the exit code of the first run past it.
fn apply_past_wait(env: &Env, args: &[&str], still: &str, code: i32) -> std::process::Output {
    for _ in 0..60 {
        let mut all = vec!["apply", "--auto-approve"];
        all.extend_from_slice(args);
        let out = env.zk(&all);
        if out.status.code() == Some(3) && text(&out).contains(still) {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        }
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        return out;
    }
    panic!("the wait \"{still}\" never ended");
}

/// Commits `ns3` joining the group (TTL 2), as an operator would.
fn ns3_joins(env: &Env) {
    env.write(
        "zonekeeper.yaml",
        &config_yaml(&env.lab, &["ns1", "ns2", "ns3"], 2),
    );
    env.commit("add ns3");
}

fn ns_set(env: &Env, server: &str, zone: &str) -> Vec<String> {
    let mut v = dig_ns(env.lab.dns_addr(server).unwrap(), zone);
    v.sort();
    v
}
