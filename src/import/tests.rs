//! Unit tests of the master-file reader: directives, owners, TTLs, problems by line.

use std::path::Path;

use hickory_proto::rr::Name;

use super::zonefile::{FileSource, ReadZone, read};

fn source(dir: &Path, file: &str, zone: Option<&str>) -> FileSource {
    FileSource {
        path: dir.join(file),
        zone: zone.map(|z| Name::from_ascii(z).unwrap()),
        hint: None,
        base_dir: None,
    }
}

fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in list {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn lines(z: &ReadZone) -> Vec<&str> {
    z.lines.iter().map(String::as_str).collect()
}

const SOA: &str = "@ IN SOA ns0.example.net. hostmaster.example.net. ( 42 ; serial\n  3600 600 ; refresh retry\n  1209600 300 )\n";

#[test]
fn owners_ttls_and_classes_as_bind_reads_them() {
    let text = format!(
        "$TTL 1h\n{SOA}  NS ns1.example.net.\nwww 300 IN A 192.0.2.1\n IN 300 A 192.0.2.2\nmail IN A 192.0.2.25\nWWW.a.test. 300 A 192.0.2.3\nc CNAME @\n"
    );
    let dir = files(&[("a.test", &text)]);
    let z = read(&source(dir.path(), "a.test", Some("a.test."))).unwrap();
    assert_eq!(z.serial, 42);
    assert_eq!(
        lines(&z),
        [
            "a.test. 3600 IN NS ns1.example.net.",
            "a.test. 3600 IN SOA ns0.example.net. hostmaster.example.net. 42 3600 600 1209600 300",
            "c.a.test. 3600 IN CNAME a.test.",
            "mail.a.test. 3600 IN A 192.0.2.25",
            "www.a.test. 300 IN A 192.0.2.1",
            "www.a.test. 300 IN A 192.0.2.2",
            "www.a.test. 300 IN A 192.0.2.3",
        ]
    );
}

#[test]
fn without_ttl_the_last_one_and_at_first_the_soa_minimum() {
    let text = format!("$ORIGIN a.test.\n{SOA}www A 192.0.2.1\nx 60 A 192.0.2.2\ny A 192.0.2.3\n");
    let dir = files(&[("zone", &text)]);
    let z = read(&source(dir.path(), "zone", None)).unwrap();
    assert_eq!(z.apex, Name::from_ascii("a.test.").unwrap());
    assert!(
        z.lines
            .contains(&"www.a.test. 300 IN A 192.0.2.1".to_string())
    );
    assert!(z.lines.contains(&"y.a.test. 60 IN A 192.0.2.3".to_string()));
}

#[test]
fn origin_include_and_generate() {
    let main = format!(
        "$TTL 300\n$ORIGIN a.test.\n{SOA}$INCLUDE sub/part.inc b\nafter A 192.0.2.9\n$ORIGIN c.a.test.\nd A 192.0.2.4\n$GENERATE 1-3/2 h$ PTR host-${{10,3}}.example.\n$GENERATE 8-9 ${{0,2,x}} CNAME t$\n"
    );
    let dir = files(&[
        ("a.test", &main),
        (
            "sub/part.inc",
            "x A 192.0.2.7\n  AAAA 2001:db8::7\n@ TXT \"at b\"\n",
        ),
    ]);
    let z = read(&source(dir.path(), "a.test", None)).unwrap();
    let l = lines(&z);
    for want in [
        "x.b.a.test. 300 IN A 192.0.2.7",
        "x.b.a.test. 300 IN AAAA 2001:db8::7",
        "b.a.test. 300 IN TXT \"at b\"",
        // the including file's origin is back after the include
        "after.a.test. 300 IN A 192.0.2.9",
        "d.c.a.test. 300 IN A 192.0.2.4",
        "h1.c.a.test. 300 IN PTR host-011.example.",
        "h3.c.a.test. 300 IN PTR host-013.example.",
        "08.c.a.test. 300 IN CNAME t8.c.a.test.",
        "09.c.a.test. 300 IN CNAME t9.c.a.test.",
    ] {
        assert!(l.contains(&want), "{want} in {l:#?}");
    }
    assert!(!l.iter().any(|x| x.starts_with("h2.")), "step 2: {l:#?}");
}

#[test]
fn an_rrset_takes_its_first_ttl_with_a_warning_and_duplicates_go() {
    let text = format!(
        "$TTL 300\n{SOA}w 60 A 192.0.2.1\nw 120 A 192.0.2.2\nw A 192.0.2.1\nout.example. A 192.0.2.3\n"
    );
    let dir = files(&[("a.test", &text)]);
    let z = read(&source(dir.path(), "a.test", Some("a.test."))).unwrap();
    let l = lines(&z);
    assert!(l.contains(&"w.a.test. 60 IN A 192.0.2.1"), "{l:#?}");
    assert!(l.contains(&"w.a.test. 60 IN A 192.0.2.2"), "{l:#?}");
    assert_eq!(l.iter().filter(|x| x.starts_with("w.")).count(), 2);
    assert!(!l.iter().any(|x| x.contains("out.example")));
    let w: Vec<(usize, bool)> = z
        .warnings
        .iter()
        .map(|w| (w.line, w.message.contains("outside the zone")))
        .collect();
    assert_eq!(w, [(6, false), (7, false), (8, true)], "{:#?}", z.warnings);
}

#[test]
fn every_problem_names_its_file_line_and_column() {
    let text = format!(
        "$TTL 300\n{SOA}ok A 192.0.2.1\nbad A 192.0.2.300\nnotype 300 IN\nx IN FOO bar\n$BOGUS 1\nq TXT \"open\n$GENERATE 5-1 h$ A 192.0.2.$\nch CH A 192.0.2.1\n$INCLUDE missing.inc\n"
    );
    let dir = files(&[("a.test", &text)]);
    let problems = read(&source(dir.path(), "a.test", Some("a.test."))).unwrap_err();
    let at: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.col)).collect();
    assert_eq!(
        at,
        [
            (10, 7),
            (6, 7),
            (7, 12),
            (8, 6),
            (9, 1),
            (11, 11),
            (12, 4),
            (13, 10)
        ],
        "{problems:#?}"
    );
    assert!(problems.iter().all(|p| p.file.ends_with("a.test")));
    let shown = problems[0].to_string();
    assert!(shown.contains("a.test:10:7: this quoted string"), "{shown}");
}

#[test]
fn the_soa_must_be_there_once_at_the_apex() {
    let dir = files(&[
        ("none", "$TTL 300\n@ NS ns1.example.net.\n"),
        ("two", &format!("$TTL 300\n{SOA}{SOA}")),
        ("elsewhere", &format!("$TTL 300\n$ORIGIN b.a.test.\n{SOA}")),
    ]);
    for (file, line) in [("none", 0), ("two", 5), ("elsewhere", 3)] {
        let p = read(&source(dir.path(), file, Some("a.test."))).unwrap_err();
        assert_eq!(p.len(), 1, "{file}: {p:#?}");
        assert_eq!(p[0].line, line, "{file}: {p:#?}");
    }
}

#[test]
fn relative_names_need_an_origin() {
    let dir = files(&[("x", &format!("$TTL 300\n{SOA}"))]);
    let p = read(&source(dir.path(), "x", None)).unwrap_err();
    assert!(p[0].help.contains("--zone"), "{p:#?}");
    let mut hinted = source(dir.path(), "x", None);
    hinted.hint = Some(Name::from_ascii("h.test.").unwrap());
    assert_eq!(
        read(&hinted).unwrap().apex,
        Name::from_ascii("h.test.").unwrap()
    );
}
