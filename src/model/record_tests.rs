//! Tests of record values: names, addresses, field counts, TXT, CAA, and the types read
//! by hickory's zone-file parser.

use super::*;

#[test]
fn canonical_keys_order_names_as_dns_does() {
    let mut names: Vec<Name> = [
        "example.",
        "a.example.",
        "yljkjljk.a.example.",
        "Z.a.example.",
        "zABC.a.EXAMPLE.",
        "z.example.",
        "*.z.example.",
        "a.",
        "b.",
        "_sip._tcp.example.",
        ".",
    ]
    .iter()
    .map(|n| Name::from_ascii(n).expect(n))
    .collect();
    // the octet examples of RFC 4034 §6.1, and a label with a zero octet
    for first in [&b"\x01"[..], b"\xc8", b"a\x00b", b"a"] {
        let labels: Vec<&[u8]> = vec![first, b"z", b"example"];
        names.push(Name::from_labels(labels).expect("labels"));
    }
    for a in &names {
        for b in &names {
            assert_eq!(canonical_key(a).cmp(&canonical_key(b)), a.cmp(b), "{a} {b}");
        }
    }
}

fn origin() -> Name {
    Name::from_ascii("example.com.").unwrap()
}

fn p(t: RecordType, s: &str) -> String {
    presentation(&parse_rdata(t, s, &origin()).unwrap())
}

#[test]
fn names_are_relative_unless_dotted() {
    assert_eq!(p(RecordType::CNAME, "www"), "www.example.com.");
    assert_eq!(p(RecordType::CNAME, "web.example.net."), "web.example.net.");
    assert_eq!(p(RecordType::NS, "@"), "example.com.");
    assert_eq!(p(RecordType::MX, "10 Mail"), "10 mail.example.com.");
    assert_eq!(
        p(RecordType::SRV, "10 60 5060 sip"),
        "10 60 5060 sip.example.com."
    );
}

#[test]
fn addresses_are_checked() {
    assert_eq!(p(RecordType::A, "192.0.2.1"), "192.0.2.1");
    assert_eq!(p(RecordType::AAAA, "2001:DB8::1"), "2001:db8::1");
    let e = parse_rdata(RecordType::A, "192.0.2.300", &origin()).unwrap_err();
    assert!(e.message.contains("not an IPv4 address"), "{e:?}");
    assert!(parse_rdata(RecordType::A, "2001:db8::1", &origin()).is_err());
    assert!(parse_rdata(RecordType::AAAA, "192.0.2.1", &origin()).is_err());
}

#[test]
fn field_counts_are_checked() {
    let e = parse_rdata(RecordType::MX, "mail", &origin()).unwrap_err();
    assert!(e.message.contains("needs 2 fields"), "{e:?}");
    assert!(parse_rdata(RecordType::SRV, "1 2 x sip", &origin()).is_err());
}

#[test]
fn long_txt_is_split_at_255_bytes() {
    let long = "a".repeat(300);
    let RData::TXT(txt) = parse_rdata(RecordType::TXT, &long, &origin()).unwrap() else {
        panic!()
    };
    let lens: Vec<usize> = txt.txt_data.iter().map(|c| c.len()).collect();
    assert_eq!(lens, vec![255, 45]);
    assert_eq!(
        p(RecordType::TXT, "say \"hi\" \\ bye"),
        r#""say \"hi\" \\ bye""#
    );
    assert_eq!(p(RecordType::TXT, "é"), r#""\195\169""#);
    assert_eq!(p(RecordType::TXT, ""), r#""""#);
}

#[test]
fn caa_round_trips() {
    assert_eq!(
        p(RecordType::CAA, "0 issue \"letsencrypt.org\""),
        "0 issue \"letsencrypt.org\""
    );
    assert!(parse_rdata(RecordType::CAA, "0 issue", &origin()).is_err());
}

mod more_types {
    use super::super::*;

    /// A value of each type beyond the core ones, as an operator writes it.
    pub const SAMPLES: &[(RecordType, &str)] = &[
        (
            RecordType::DS,
            "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
        ),
        (
            RecordType::SSHFP,
            "4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789",
        ),
        (
            RecordType::TLSA,
            "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
        ),
        (
            RecordType::SMIMEA,
            "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
        ),
        (RecordType::NAPTR, "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp"),
        (RecordType::HINFO, "\"INTEL-386\" \"Linux\""),
        (
            RecordType::NAPTR,
            "100 10 \"U\" \"E2U+sip\" \"!^\\\\+?(.*)$!sip:\\\\1@example.net!\" .",
        ),
        (
            RecordType::OPENPGPKEY,
            "mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq",
        ),
    ];

    #[test]
    fn every_type_reads_and_writes_back_the_same() {
        let origin = Name::from_ascii("example.com.").unwrap();
        for (t, text) in SAMPLES {
            let rdata = parse_rdata(*t, text, &origin).unwrap_or_else(|e| panic!("{t}: {e}"));
            let shown = presentation(&rdata);
            println!("{t} {shown}");
            let again =
                parse_rdata(*t, &shown, &origin).unwrap_or_else(|e| panic!("{t} {shown}: {e}"));
            assert_eq!(again, rdata, "{t}");
        }
    }
}
