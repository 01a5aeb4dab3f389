//! Unit tests of the zone rules: each rule on RRsets built as a zone file would hold them.

use hickory_proto::rr::RData;
use hickory_proto::rr::rdata::NULL;

use super::*;
use crate::desired::problem::{Place, SourceFile};
use crate::model::ParsedRrset;
use crate::model::record::{parse_name, parse_rdata};

fn origin() -> Name {
    Name::from_ascii("example.").unwrap()
}

/// The RRsets of zone `example.`, written (owner, type, values): the nth on line n+1,
/// its type at column 5, its values from column 10.
fn zone(rrsets: &[(&str, &str, &[&str])]) -> Vec<Built> {
    let origin = origin();
    let mut built = Vec::new();
    for (i, (owner, rtype, values)) in rrsets.iter().enumerate() {
        let place = |column| Place {
            offset: i * 100 + column,
            len: 1,
            line: i + 1,
            column,
        };
        let rtype: RecordType = rtype.parse().unwrap();
        // only DNAME's type is looked at, never its RDATA
        let rdata = |v: &&str| match rtype {
            RecordType::DNAME => RData::Unknown {
                code: rtype,
                rdata: NULL::with(v.as_bytes().to_vec()),
            },
            _ => parse_rdata(rtype, v, &origin).unwrap(),
        };
        built.push(Built {
            set: ParsedRrset {
                owner: parse_name(owner, &origin).unwrap(),
                rtype,
                ttl: 300,
                rdatas: values.iter().map(rdata).collect(),
            },
            type_place: place(5),
            value_places: (0..values.len()).map(|j| place(10 + j)).collect(),
        });
    }
    built
}

/// The problems [`check_rules`] finds: code, `line:column`, message and help.
fn problems(built: &[Built]) -> Vec<(&'static str, String, String, String)> {
    let file = SourceFile::new("zones/example.yaml", String::new());
    let mut problems = Vec::new();
    let mut c = Checker {
        file: &file,
        problems: &mut problems,
    };
    check_rules(&mut c, &origin(), built);
    problems
        .into_iter()
        .map(|p| {
            let place = format!("{}:{}", p.place.line, p.place.column);
            (p.code, place, p.message, p.help.unwrap_or_default())
        })
        .collect()
}

/// Code and `line:column` of each problem.
fn found(built: &[Built]) -> Vec<(&'static str, String)> {
    problems(built)
        .into_iter()
        .map(|(code, place, _, _)| (code, place))
        .collect()
}

fn want(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(c, p)| (*c, p.to_string())).collect()
}

#[test]
fn data_below_a_zone_cut_is_occluded_but_glue() {
    let z = zone(&[
        ("sub", "NS", &["ns.sub", "ns.other.net."]),
        ("ns.sub", "A", &["192.0.2.1"]),
        ("ns.sub", "AAAA", &["2001:db8::1"]),
        ("www.sub", "A", &["192.0.2.2"]),
        ("ns.sub", "TXT", &["not glue"]),
        ("deep.www.SUB", "MX", &["10 mail.example.net."]),
        ("child.sub", "NS", &["ns.other.net."]),
        ("*.sub", "A", &["192.0.2.3"]),
        ("sub2", "A", &["192.0.2.4"]),
    ]);
    assert_eq!(
        found(&z),
        want(&[
            ("record::occluded", "4:5"),
            ("record::occluded", "5:5"),
            ("record::occluded", "6:5"),
            ("record::occluded", "7:5"),
            ("record::occluded", "8:5"),
        ])
    );
    let (_, _, message, help) = &problems(&z)[0];
    assert_eq!(
        message,
        "A at www.sub.example. is occluded: it is below the zone cut at sub.example., so this zone never serves it"
    );
    assert!(help.contains("only glue"), "{help}");
    // the highest cut is named for data below two
    let (_, _, message, _) = &problems(&zone(&[
        ("a", "NS", &["ns.example.net."]),
        ("b.a", "NS", &["ns.example.net."]),
        ("c.b.a", "TXT", &["x"]),
    ]))[1];
    assert!(
        message.contains("below the zone cut at a.example."),
        "{message}"
    );
}

#[test]
fn a_delegation_point_holds_only_ns_ds_and_glue() {
    let z = zone(&[
        ("sub", "NS", &["sub", "ns.example.net."]),
        (
            "sub",
            "DS",
            &["60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"],
        ),
        ("sub", "A", &["192.0.2.1"]),
        ("other", "NS", &["ns.example.net."]),
        ("other", "A", &["192.0.2.2"]),
        ("other", "MX", &["10 mail.example.net."]),
        ("other", "TXT", &["x"]),
        ("alias", "NS", &["ns.example.net."]),
        ("alias", "CNAME", &["example.net."]),
    ]);
    assert_eq!(
        found(&z),
        want(&[
            ("record::cname-conflict", "9:5"),
            ("record::delegation-data", "5:5"),
            ("record::delegation-data", "6:5"),
            ("record::delegation-data", "7:5"),
        ])
    );
    let (_, _, message, _) = &problems(&z)[1];
    assert_eq!(
        message,
        "A at the delegation point other.example.: only NS, DS and glue belong at a zone cut"
    );
}

#[test]
fn no_data_below_a_dname() {
    let z = zone(&[
        ("d", "DNAME", &["example.net."]),
        ("d", "A", &["192.0.2.1"]),
        ("x.d", "A", &["192.0.2.2"]),
        ("y.x.d", "TXT", &["x"]),
        ("dd", "A", &["192.0.2.3"]),
    ]);
    assert_eq!(
        found(&z),
        want(&[
            ("record::dname-below", "3:5"),
            ("record::dname-below", "4:5")
        ])
    );
    let (_, _, message, help) = &problems(&z)[1];
    assert_eq!(
        message,
        "TXT at y.x.d.example. is below the DNAME at d.example.: no data may exist under a DNAME"
    );
    assert!(help.contains("RFC 6672"), "{help}");
    // at the apex: next to NS and SOA fine, but then no name below the apex
    let apex = zone(&[
        ("@", "DNAME", &["example.net."]),
        ("@", "NS", &["ns.example.net."]),
        ("@", "MX", &["10 mail.example.net."]),
    ]);
    assert_eq!(found(&apex), want(&[]));
    let mut below = apex;
    below.extend(zone(&[("www", "A", &["192.0.2.1"])]));
    assert_eq!(found(&below), want(&[("record::dname-below", "1:5")]));
}

#[test]
fn a_cname_loop_is_reported_once_naming_the_chain() {
    let z = zone(&[
        ("t", "CNAME", &["a"]),
        ("b", "CNAME", &["c"]),
        ("a", "CNAME", &["b"]),
        ("c", "CNAME", &["A.example."]),
        ("self", "CNAME", &["self"]),
        ("x", "CNAME", &["y"]),
        ("y", "CNAME", &["z"]),
        ("z", "A", &["192.0.2.1"]),
        ("out", "CNAME", &["out.example.net."]),
    ]);
    let p = problems(&z);
    let loops: Vec<_> = p
        .iter()
        .map(|(c, at, m, _)| (*c, at.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        loops,
        [
            (
                "record::cname-loop",
                "2:10",
                "CNAME loop: b.example. → c.example. → a.example. → b.example."
            ),
            (
                "record::cname-loop",
                "5:10",
                "CNAME loop: self.example. → self.example."
            ),
        ]
    );
}

#[test]
fn mx_and_srv_targets_below_a_zone_cut_are_refused_ns_targets_are_glue() {
    let z = zone(&[
        ("sub", "NS", &["ns.sub"]),
        ("ns.sub", "A", &["192.0.2.1"]),
        ("@", "MX", &["10 ns.sub", "20 mail"]),
        ("_sip._tcp", "SRV", &["0 0 5060 sub"]),
        ("mail", "A", &["192.0.2.2"]),
        ("@", "NS", &["ns.sub"]),
    ]);
    assert_eq!(
        found(&z),
        want(&[
            ("record::target-below-cut", "3:10"),
            ("record::target-below-cut", "4:10"),
        ])
    );
    let (_, _, message, _) = &problems(&z)[0];
    assert_eq!(
        message,
        "MX target ns.sub.example. is below the zone cut at sub.example.: its addresses are the child zone's, not this zone's"
    );
}

#[test]
fn a_target_covered_by_a_wildcard_has_its_addresses() {
    let z = zone(&[
        ("*", "A", &["192.0.2.1"]),
        ("@", "MX", &["10 mail", "20 a.b.c"]),
        ("x.ent", "A", &["192.0.2.2"]),
        ("_sip._tcp", "SRV", &["0 0 5060 ent"]),
        ("*.w", "CNAME", &["www.example.net."]),
        ("_sip._udp", "SRV", &["0 0 5060 q.r.w"]),
        ("*.t", "TXT", &["no address"]),
        ("@", "NS", &["ns.t"]),
    ]);
    let p = problems(&z);
    let got: Vec<_> = p
        .iter()
        .map(|(c, at, m, _)| (*c, at.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            // an empty non-terminal exists: no wildcard answers for it
            (
                "record::target-missing",
                "4:10",
                "SRV target ent.example. has no address: it has no A or AAAA record in this zone"
            ),
            (
                "record::target-cname",
                "6:10",
                "SRV target q.r.w.example. is a CNAME (by the wildcard *.w.example. that covers it)"
            ),
            (
                "record::target-missing",
                "8:10",
                "NS target ns.t.example. needs glue: it has no A or AAAA record in this zone (nor has the wildcard *.t.example. that covers it)"
            ),
        ]
    );
}

#[test]
fn every_allowed_shape_is_clean() {
    let z = zone(&[
        ("@", "NS", &["ns1", "ns.sub"]),
        ("@", "MX", &["10 mail", "20 host.wild"]),
        ("ns1", "A", &["192.0.2.1"]),
        ("mail", "AAAA", &["2001:db8::25"]),
        ("sub", "NS", &["ns.sub", "sub", "ns1"]),
        (
            "sub",
            "DS",
            &["60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"],
        ),
        ("sub", "A", &["192.0.2.53"]),
        ("ns.sub", "A", &["192.0.2.54"]),
        ("ns.sub", "AAAA", &["2001:db8::54"]),
        ("old", "DNAME", &["new.example."]),
        ("old", "TXT", &["moved"]),
        ("*.wild", "A", &["192.0.2.80"]),
        ("www", "CNAME", &["host.wild"]),
        ("alias", "CNAME", &["www"]),
        ("_sip._tcp", "SRV", &["0 0 5060 mail"]),
    ]);
    assert_eq!(found(&z), want(&[]));
}

#[test]
fn the_limit_counts_the_groups_apex_ns() {
    let z = zone(&[
        (
            "@",
            "NS",
            &["a.example.net.", "b.example.net.", "c.example.net."],
        ),
        ("www", "A", &["192.0.2.1", "192.0.2.2"]),
    ]);
    let file = SourceFile::new("zones/example.yaml", String::new());
    let mut problems = Vec::new();
    let mut c = Checker {
        file: &file,
        problems: &mut problems,
    };
    for limit in [0, 3] {
        check_limits(&mut c, &origin(), &z, limit);
    }
    assert!(c.problems.is_empty());
    check_limits(&mut c, &origin(), &z, 2);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!((p.code, p.place.line), ("record::too-many", 1));
    assert!(
        p.message.contains("NS RRset at example. has 3 records")
            && p.help
                .as_deref()
                .unwrap_or("")
                .contains("group's `nameservers`"),
        "{p:?}"
    );
}
