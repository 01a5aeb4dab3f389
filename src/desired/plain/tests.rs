//! The plain reader and serde-saphyr read every file the plain reader accepts alike,
//! places included; what it is unsure of it leaves to serde.

use super::zone_file;
use crate::desired::yaml::{ZoneFile, parse};

/// Reads `text` both ways; returns whether the plain reader took it.
fn both(text: &str) -> bool {
    let Some(plain) = zone_file(text) else {
        return false;
    };
    let serde: ZoneFile = parse(text)
        .unwrap_or_else(|e| panic!("the plain reader took what serde refuses ({e}):\n{text}"));
    // Debug shows every value and place (equality of `At` is by value alone)
    assert_eq!(format!("{plain:#?}"), format!("{serde:#?}"), "{text}");
    true
}

const ZONE: &str = "group: default
ttl: 3600
soa:
  refresh: 7200
  rname: hostmaster@example.net
records:
  \"@\":
    A: 192.0.2.1
    MX: [\"10 mail\", \"20 mx.example.net.\"]
    TXT: \"v=spf1 mx -all\"
    CAA: 0 issue \"letsencrypt.org\"
  mail:
    A: 192.0.2.25
    AAAA: 2001:db8::25
  _sip._tcp:
    SRV: 10 60 5060 mail
  www:
    CNAME: '@'
  multi:
    A:
      - 192.0.2.7   # a comment
      - 192.0.2.8
    TXT:
      ttl: 60
      values: [one, 'two', \"three\"]
  single:
    TXT: {ttl: 300, value: x}
  block:
    TXT: |
      a literal
";

#[test]
fn a_plainly_written_zone_reads_as_serde_reads_it() {
    assert!(both(ZONE), "the plain reader should take a plain zone");
    assert!(both("group: default\n"));
    assert!(both("---\ngroup: default\nrecords: {}\n...\n"));
    assert!(both("{group: default, group_nameservers: false}\n"));
    // non-ASCII text before a value: places are bytes, columns characters
    assert!(both(
        "group: default\nrecords:\n  www:\n    TXT: [\"é\", \"ü\"]\n"
    ));
}

#[test]
fn what_yaml_could_read_otherwise_is_left_to_serde() {
    let cases = [
        // scalars YAML may resolve to numbers, booleans or null
        "    TXT: 10\n",
        "    TXT: 0x1F\n",
        "    TXT: 1_000\n",
        "    TXT: 1e3\n",
        "    TXT: .inf\n",
        "    TXT: yes\n",
        "    TXT: Off\n",
        "    TXT: ~\n",
        "    TXT:\n",
        "    TXT: 1:20\n",
        "    TXT: -5\n",
        "    TXT: [10, 20]\n",
        // anchors, aliases, tags, merge keys
        "    TXT: &a x\n    SPF: *a\n",
        "    TXT: !!str 10\n",
        "    TXT: {<<: {ttl: 1}, value: x}\n",
        // duplicate keys, unknown and rare fields, wrong shapes
        "    TXT: a\n    TXT: b\n",
        "    TXT: {ttl: 1, ttl: 2, value: x}\n",
        "    TXT: {value: x, values: [y]}\n",
        "    TXT: {cutover: {short_ttl: 60}, value: x}\n",
        "    TXT: {ttl: 01, value: x}\n",
        "    TXT: {ttl: '60', value: x}\n",
        "    TXT: {colour: red}\n",
        "    TXT: [[a]]\n",
        "    TXT: [{a: b}]\n",
    ];
    for case in cases {
        let text = format!("group: default\nrecords:\n  www:\n{case}");
        assert!(!both(&text), "the plain reader took:\n{text}");
    }
    for case in ["  www: x\n", "  1: {PTR: host.example.}\n", "  www:\n"] {
        let text = format!("group: default\nrecords:\n{case}");
        assert!(!both(&text), "the plain reader took:\n{text}");
    }
    for text in [
        "group: default\ngroup: other\n",
        "group: default\ndelegation: {parent_servers: [192.0.2.1]}\n",
        "group: default\ncolour: red\n",
        "ttl: 60\n",
        "group: default\nttl: yes\n",
        "group: default\n---\ngroup: other\n",
        "%YAML 1.2\n---\ngroup: default\n",
        "group: [default\n",
        "- group\n",
        "",
    ] {
        assert!(!both(text), "the plain reader took:\n{text}");
    }
}

#[test]
fn the_example_zones_read_alike_both_ways() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/zones");
    let mut plain = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/zones") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("text");
        // a file the plain reader leaves must still read through serde (the caller's path)
        plain += usize::from(both(&text));
    }
    assert!(plain >= 2, "the example forward zones should read plainly");
}
/// A plain scalar YAML resolves to a number or boolean is the text written, through
/// serde as through the plain reader; a list inside the values is a TXT record's strings.
#[test]
fn values_are_the_text_written() {
    let text = "group: default\nrecords:\n  www:\n    TXT: [1.10, 010, 0x1F, yes, \"x\", [a, 1.10]]\n    SPF: {ttl: 5, value: 1.10}\n  a:\n    TXT: Off\n";
    let mut serde: ZoneFile = parse(text).unwrap();
    serde.raw_scalars(text);
    let www = &serde.records.values().next().unwrap();
    let txt = &www.values().next().unwrap().value;
    let values: Vec<&str> = txt.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["1.10", "010", "0x1F", "yes", "x"]);
    assert_eq!(txt.strings[0].value, ["a", "1.10"]);
    let spf = &www.values().nth(1).unwrap().value;
    assert_eq!(spf.values[0].value, "1.10");
    let a = &serde
        .records
        .values()
        .nth(1)
        .unwrap()
        .values()
        .next()
        .unwrap()
        .value;
    assert_eq!(a.scalar.as_deref(), Some("Off"));
}
