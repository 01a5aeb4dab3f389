use hickory_proto::rr::{Name, RData, RecordType};

use crate::model::record::{parse_master, parse_rdata, presentation};
use crate::model::types::{LOC, RP, SPF, URI};

fn origin() -> Name {
    Name::from_ascii("example.com.").unwrap()
}

/// Parses, writes, parses the writing again: the same value, and the expected text.
fn round(rtype: RecordType, text: &str, shown: &str) {
    let rdata = parse_rdata(rtype, text, &origin()).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let p = presentation(&rdata);
    assert_eq!(p, shown, "{text}");
    let again = parse_rdata(rtype, &p, &origin()).unwrap_or_else(|e| panic!("{p}: {e:?}"));
    assert_eq!(again, rdata, "{p}");
}

fn refused(rtype: RecordType, text: &str, says: &str) {
    let e = parse_rdata(rtype, text, &origin()).expect_err(text);
    assert!(e.message.contains(says), "{text}: {}", e.message);
}

#[test]
fn dname_rp_uri_spf() {
    round(RecordType::DNAME, "Other.NET.", "other.net.");
    round(RecordType::DNAME, "sub", "sub.example.com.");
    round(
        RP,
        "hostmaster info",
        "hostmaster.example.com. info.example.com.",
    );
    round(RP, ". .", ". .");
    round(
        URI,
        "10 1 \"https://example.com/a b\"",
        "10 1 \"https://example.com/a b\"",
    );
    // SPF is TXT's format: its value the text, its presentation the quoted strings
    let spf = parse_rdata(SPF, "v=spf1 -all", &origin()).unwrap();
    assert_eq!(presentation(&spf), "\"v=spf1 -all\"");
    assert_eq!(
        parse_master(SPF, &presentation(&spf), &origin()).unwrap(),
        spf
    );
    refused(URI, "10 1 https://x", "quoted");
    refused(RecordType::DNAME, "a b", "1 fields");
    refused(RP, "a", "2 fields");
}

#[test]
fn cert_reads_mnemonics_and_writes_numbers() {
    round(
        RecordType::CERT,
        "PKIX 12 RSASHA256 AQID BA==",
        "1 12 8 AQIDBA==",
    );
    round(RecordType::CERT, "1 0 0 AQIDBA==", "1 0 0 AQIDBA==");
    refused(RecordType::CERT, "BOGUS 0 0 AQID", "certificate type");
    refused(RecordType::CERT, "PKIX 0 0 !!", "base64");
}

#[test]
fn loc_as_bind_writes_it() {
    round(
        LOC,
        "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
        "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
    );
    // defaults for what is left out; south and west are negative
    round(
        LOC,
        "42 21 54 S 71 06 18 W -24m",
        "42 21 54.000 S 71 6 18.000 W -24.00m 1.00m 10000.00m 10.00m",
    );
    round(
        LOC,
        "0 N 0 E 0",
        "0 0 0.000 N 0 0 0.000 E 0.00m 1.00m 10000.00m 10.00m",
    );
    refused(LOC, "91 N 0 E 0", "at most 90");
    refused(LOC, "52 22 N 4 E", "altitude");
    refused(LOC, "52 61 N 4 E 0", "under 60");
}

#[test]
fn svcb_and_https() {
    round(
        RecordType::HTTPS,
        "1 . alpn=h3,h2 port=443 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
        "1 . alpn=h3,h2 port=443 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
    );
    // parameters are written in key order, keys by name, quoted values read
    round(
        RecordType::SVCB,
        "16 svc port=\"8443\" mandatory=port,alpn alpn=\"h2\" no-default-alpn key65000=\"x y\"",
        "16 svc.example.com. mandatory=alpn,port alpn=h2 no-default-alpn port=8443 key65000=\"x y\"",
    );
    round(
        RecordType::HTTPS,
        "0 www.example.net.",
        "0 www.example.net.",
    );
    round(RecordType::HTTPS, "1 . ech=AEX+DQBB", "1 . ech=AEX+DQBB");
    // an ALPN identifier with a comma: the generic form says it exactly
    let shown =
        presentation(&parse_rdata(RecordType::HTTPS, r#"1 . alpn="a\\,b""#, &origin()).unwrap());
    assert!(shown.starts_with("\\# "), "{shown}");
    refused(RecordType::HTTPS, "1 . port=x", "port");
    refused(RecordType::HTTPS, "1 . mandatory=port", "not given");
    refused(RecordType::HTTPS, "1 . port=1 port=2", "twice");
    refused(RecordType::HTTPS, "1 . no-default-alpn", "needs an `alpn`");
    refused(RecordType::HTTPS, "0 . alpn=h2", "alias form");
    refused(RecordType::HTTPS, "1 . bogus=1", "not a service parameter");
}

#[test]
fn generic_form_for_any_type() {
    let t = RecordType::Unknown(65534);
    round(t, "\\# 4 0a000001", "\\# 4 0a000001");
    round(t, "\\# 4 0A00 0001", "\\# 4 0a000001");
    round(t, "\\# 0", "\\# 0");
    // a type with its own form given generically reads as that type
    round(RecordType::A, "\\# 4 c0000201", "192.0.2.1");
    round(RecordType::DNAME, "\\# 7 0178036e657400", "x.net.");
    refused(t, "\\# 3 0a000001", "length says 3");
    refused(t, "\\# 2 0g00", "hex");
    refused(t, "10.0.0.1", "generic form");
    refused(RecordType::RRSIG, "\\# 0", "not managed here");
    refused(RecordType::Unknown(250), "\\# 0", "not managed here");
}

#[test]
fn txt_in_master_form_keeps_its_strings() {
    let r = parse_master(RecordType::TXT, r#""a" "b c" d"#, &origin()).unwrap();
    assert_eq!(presentation(&r), r#""a" "b c" "d""#);
    let r = parse_master(SPF, r#""v=spf1" " -all""#, &origin()).unwrap();
    assert_eq!(presentation(&r), r#""v=spf1" " -all""#);
    let r = parse_master(RecordType::TXT, "\\# 3 026869", &origin()).unwrap();
    assert_eq!(presentation(&r), r#""hi""#);
    let long = format!("\"{}\"", "x".repeat(256));
    assert!(parse_master(RecordType::TXT, &long, &origin()).is_err());
    let r = parse_master(RecordType::MX, "10 mail", &origin()).unwrap();
    assert_eq!(presentation(&r), "10 mail.example.com.");
    assert!(parse_master(RecordType::TXT, "\"open", &origin()).is_err());
    let _: RData = r;
}

#[test]
fn rfc_2317_labels() {
    // hickory writes the `/` escaped, which BIND and hickory read back as the same label
    let origin = Name::from_ascii("2.0.192.in-addr.arpa.").unwrap();
    let n = crate::model::record::parse_name("64/26", &origin).unwrap();
    let text = crate::model::ascii(&n);
    assert_eq!(text, "64\\/26.2.0.192.in-addr.arpa.");
    assert_eq!(crate::model::name_of(&text), n);
    assert_eq!(n.iter().next(), Some(&b"64/26"[..]));
    assert_eq!(crate::model::record::parse_name(&text, &origin).unwrap(), n);
    let r = parse_rdata(RecordType::CNAME, "65.64/26", &origin).unwrap();
    assert_eq!(presentation(&r), "65.64\\/26.2.0.192.in-addr.arpa.");
    assert!(crate::model::record::parse_name("64/26/", &origin).is_ok());
    assert!(crate::model::record::parse_name("64 26", &origin).is_err());
}
