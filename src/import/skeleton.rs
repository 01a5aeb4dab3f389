//! The `zonekeeper.yaml` an import writes when the repository has none: one group,
//! `default`, whose name servers, TTL and SOA values are the ones most imported zones
//! have (so those zones' files leave them to the group), the primary at the server the
//! zones were transferred from (or a placeholder), and every value only the operator
//! knows marked `TODO`. Secondaries are left commented out, one per name server found, for
//! their addresses are not in the zones.

use std::collections::BTreeMap;

use crate::model::served::Served;
use crate::model::zone::soa_of;

/// What the imported zones have in common, counted.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    zones: usize,
    nameservers: BTreeMap<Vec<String>, usize>,
    ttls: BTreeMap<u32, usize>,
    soa: BTreeMap<Vec<String>, usize>,
    soa_ttl: BTreeMap<u32, usize>,
}

fn bump<K: Ord>(map: &mut BTreeMap<K, usize>, key: K) {
    *map.entry(key).or_default() += 1;
}

/// The most common key (the first, in order, on a tie).
fn top<K: Ord + Clone>(map: &BTreeMap<K, usize>) -> Option<K> {
    let best = map.values().copied().max()?;
    map.iter()
        .find(|(_, n)| **n == best)
        .map(|(k, _)| k.clone())
}

impl Tally {
    /// Counts one zone (`zone` lower case with its trailing dot).
    pub fn add(&mut self, zone: &str, served: &Served) {
        self.zones += 1;
        let mut ns = Vec::new();
        let mut ttls: BTreeMap<u32, usize> = BTreeMap::new();
        for l in served.text.lines().skip(1) {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            if let [owner, ttl, _, rtype, rdata] = f.as_slice() {
                bump(&mut ttls, ttl.parse().unwrap_or(0));
                if *owner == zone && *rtype == "NS" {
                    ns.push(rdata.to_string());
                }
            }
        }
        ns.sort();
        bump(&mut self.nameservers, ns);
        if let Some(t) = top(&ttls) {
            bump(&mut self.ttls, t);
        }
        if let Some((ttl, mut fields)) = soa_of(&served.text) {
            if fields.len() > 2 {
                fields.remove(2);
            }
            bump(&mut self.soa, fields);
            bump(&mut self.soa_ttl, ttl);
        }
    }

    /// How many zones were counted.
    pub fn zones(&self) -> usize {
        self.zones
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: Tally) {
        self.zones += other.zones;
        for (k, n) in other.nameservers {
            *self.nameservers.entry(k).or_default() += n;
        }
        for (k, n) in other.ttls {
            *self.ttls.entry(k).or_default() += n;
        }
        for (k, n) in other.soa {
            *self.soa.entry(k).or_default() += n;
        }
        for (k, n) in other.soa_ttl {
            *self.soa_ttl.entry(k).or_default() += n;
        }
    }

    /// The skeleton; `primary`: the address zones were transferred from, if they were.
    pub fn skeleton(&self, primary: Option<std::net::SocketAddr>) -> String {
        let ns = top(&self.nameservers).unwrap_or_default();
        let ttl = top(&self.ttls).unwrap_or(3600);
        let soa = top(&self.soa).unwrap_or_default();
        let field =
            |i: usize, default: &str| soa.get(i).cloned().unwrap_or_else(|| default.to_string());
        let soa_ttl = top(&self.soa_ttl).filter(|t| *t != ttl);
        let (address, port) = match primary {
            Some(a) => (a.ip().to_string(), a.port()),
            None => ("127.0.0.1".to_string(), 53),
        };
        let mut out = format!(
            "# yaml-language-server: $schema=../schema/zonekeeper.schema.json\n\
             # Written by `zonekeeper import` from {zones} imported zone(s). Fill in every TODO,\n\
             # run `zonekeeper validate --worktree`, then commit.\n\
             primary:\n  name: primary\n  address: {address}   # TODO: the hidden primary zonekeeper sends UPDATEs to\n  port: {port}\n\
             \x20 tsig:\n    name: zonekeeper   # TODO: the key the primary accepts UPDATEs and transfers with\n\
             \x20   secret_file: /etc/zonekeeper/tsig.key   # TODO: a BIND key file OUTSIDE this repository\n\
             \x20 control:\n    rndc_conf: /etc/zonekeeper/rndc.conf   # TODO: reaches the primary's control channel\n\
             \x20   config_dir: /var/lib/bind/zonekeeper   # TODO: zonekeeper writes zones.conf and zone files here\n\n\
             # TODO: the secondaries, with their addresses, then list them in the group below.\n\
             secondaries: {{}}\n",
            zones = self.zones
        );
        for (i, n) in ns.iter().enumerate() {
            out.push_str(&format!(
                "#  ns{}: {{ addresses: [192.0.2.{}], nameserver: {n} }}\n",
                i + 1,
                i + 1
            ));
        }
        out.push_str(&format!(
            "\ngroups:\n  default:\n    catalog: catalog.default.zonekeeper.   # RFC 9432: each secondary consumes <name>.catalog.default.zonekeeper.\n\
             \x20   secondaries: []   # TODO\n    nameservers: [{}]   # the apex NS most imported zones have\n    ttl: {ttl}\n\
             \x20   soa:\n      mname: {}\n      rname: {}\n      refresh: {}\n      retry: {}\n      expire: {}\n      minimum: {}\n",
            ns.join(", "),
            field(0, "primary.example.net."),
            field(1, "hostmaster.example.net."),
            field(2, "3600"),
            field(3, "600"),
            field(4, "1209600"),
            field(5, "300"),
        ));
        if let Some(t) = soa_ttl {
            out.push_str(&format!("      ttl: {t}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, soa: &str, ns: &[&str], ttl: u32) -> Served {
        let mut lines = vec![format!("{name} 3600 IN SOA {soa}")];
        for n in ns {
            lines.push(format!("{name} {ttl} IN NS {n}"));
        }
        lines.push(format!("www.{name} {ttl} IN A 192.0.2.1"));
        Served::of(lines)
    }

    #[test]
    fn the_most_common_values_go_to_the_group() {
        let common = "ns0.example.net. hostmaster.example.net. 5 7200 600 1209600 300";
        let mut t = Tally::default();
        t.add(
            "a.test.",
            &zone(
                "a.test.",
                common,
                &["ns1.example.net.", "ns2.example.net."],
                300,
            ),
        );
        let mut other = Tally::default();
        other.add(
            "b.test.",
            &zone(
                "b.test.",
                common,
                &["ns2.example.net.", "ns1.example.net."],
                300,
            ),
        );
        other.add(
            "c.test.",
            &zone("c.test.", "x. y. 1 1 1 1 1", &["ns9.example.org."], 60),
        );
        t.merge(other);
        let y = t.skeleton(Some("192.0.2.7:5353".parse().unwrap()));
        assert!(
            y.contains("nameservers: [ns1.example.net., ns2.example.net.]"),
            "{y}"
        );
        assert!(y.contains("    ttl: 300\n"), "{y}");
        assert!(
            y.contains("mname: ns0.example.net.\n") && y.contains("refresh: 7200\n"),
            "{y}"
        );
        assert!(y.contains("      ttl: 3600\n"), "the SOA's own TTL: {y}");
        assert!(
            y.contains("address: 192.0.2.7 ") && y.contains("port: 5353"),
            "{y}"
        );
        assert!(y.contains("from 3 imported zone(s)"), "{y}");
    }
}
