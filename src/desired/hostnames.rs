//! BIND's `check-names`: the names that must be host names, or the primary refuses to load
//! the zone (`check-names primary fail`, BIND's default) and refuses UPDATEs that add them.
//!
//! Checked as BIND 9.18 checks them (verified with `named-checkzone -k fail`): the owner of
//! A, AAAA and MX records, the exchange of MX, the target of NS and SRV (the root, SRV's "no
//! service", aside), and the target of PTR in reverse zones (`in-addr.arpa.`, `ip6.arpa.`).
//! A host name's labels are letters, digits and hyphens, and neither start nor end with a
//! hyphen; an owner may also start with the wildcard label `*`. Pure: no I/O.

use hickory_proto::rr::{Name, RData, RecordType};

use crate::model::record::target;

/// Whether `name` is a host name in BIND's sense; with `wildcard`, a first label `*` too.
pub fn is_hostname(name: &Name, wildcard: bool) -> bool {
    name.iter().enumerate().all(|(i, label)| {
        if wildcard && i == 0 && label == b"*" {
            return true;
        }
        let last = label.len().saturating_sub(1);
        !label.is_empty()
            && label
                .iter()
                .enumerate()
                .all(|(j, &c)| c.is_ascii_alphanumeric() || (c == b'-' && j != 0 && j != last))
    })
}

/// One name BIND would refuse: which value (None: the owner), and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAHostname {
    /// The index of the offending value in the RRset, or None for the owner name.
    pub value: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// What to do about a [`NotAHostname`].
pub const HELP: &str = "BIND refuses the whole zone (check-names): host names hold only letters, digits and inner hyphens (no `_`); use such a name, or set `primary.check_names: false` if every server runs with `check-names ... ignore`";

/// The names of one RRset (of zone `origin`) that BIND's check-names refuses.
pub fn check(
    origin: &Name,
    owner: &Name,
    rtype: RecordType,
    rdatas: &[RData],
) -> Vec<NotAHostname> {
    let mut out = Vec::new();
    if matches!(rtype, RecordType::A | RecordType::AAAA | RecordType::MX)
        && !is_hostname(owner, true)
    {
        out.push(NotAHostname {
            value: None,
            message: format!("{rtype} records cannot be at {owner}: it is not a host name"),
        });
    }
    let reverse = || {
        ["in-addr.arpa.", "ip6.arpa."]
            .iter()
            .filter_map(|z| Name::from_ascii(z).ok())
            .any(|z| z.zone_of(origin))
    };
    let checked = match rtype {
        RecordType::MX | RecordType::NS | RecordType::SRV => true,
        RecordType::PTR => reverse(),
        _ => false,
    };
    if !checked {
        return out;
    }
    for (i, rdata) in rdatas.iter().enumerate() {
        if let Some(t) = target(rdata)
            && !t.is_root()
            && !is_hostname(t, false)
        {
            out.push(NotAHostname {
                value: Some(i),
                message: format!("{rtype} target {t} is not a host name"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{MX, PTR};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn host_names_as_bind_sees_them() {
        for ok in ["a.test.", "1a.test.", "a-b.test.", "xn--caf-dma.test.", "."] {
            assert!(is_hostname(&n(ok), false), "{ok}");
        }
        for bad in ["a_b.test.", "*.test."] {
            assert!(!is_hostname(&n(bad), false), "{bad}");
        }
        // hickory refuses these when parsing text; built from labels they still are no host
        for labels in [["-x", "test"], ["y-", "test"]] {
            let name = Name::from_labels(labels.iter().map(|l| l.as_bytes())).unwrap();
            assert!(!is_hostname(&name, false), "{labels:?}");
        }
        assert!(is_hostname(&n("*.w.test."), true));
        assert!(!is_hostname(&n("a.*.test."), true));
    }

    #[test]
    fn owners_and_targets_that_bind_refuses() {
        let origin = n("t.test.");
        let a = check(&origin, &n("a_b.t.test."), RecordType::A, &[]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].value, None);
        let mx = RData::MX(MX::new(10, n("mail_x.example.net.")));
        let bad = check(&origin, &origin, RecordType::MX, &[mx]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].value, Some(0));
        // TXT and CNAME owners and targets are free
        assert!(check(&origin, &n("_dmarc.t.test."), RecordType::TXT, &[]).is_empty());
        let ptr = RData::PTR(PTR(n("bad_p.example.net.")));
        assert!(
            check(
                &origin,
                &origin,
                RecordType::PTR,
                std::slice::from_ref(&ptr)
            )
            .is_empty()
        );
        let reverse = n("2.0.192.in-addr.arpa.");
        assert_eq!(check(&reverse, &reverse, RecordType::PTR, &[ptr]).len(), 1);
    }
}
