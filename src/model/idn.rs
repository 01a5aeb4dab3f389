//! Internationalized domain names (IDNA, UTS 46). Inside zonekeeper every name is in its
//! ASCII form: A-labels (`xn--…`) in the store, zone files, UPDATEs and catalogs. Names
//! written in UTF-8 are converted here; A-labels written as such are checked to be what
//! UTS 46 itself would produce, so BIND never receives a label that no IDN maps to.

use std::borrow::Cow;

use hickory_proto::rr::Name;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// The A-label prefix (RFC 5890).
const ACE_PREFIX: &[u8] = b"xn--";

/// Whether a label is an A-label (starts with `xn--`, in any case).
pub fn is_a_label(label: &[u8]) -> bool {
    label.len() >= ACE_PREFIX.len() && label[..ACE_PREFIX.len()].eq_ignore_ascii_case(ACE_PREFIX)
}

/// Why an A-label is not valid, or `None` when it is: it must decode (Punycode), the
/// result must be valid under UTS 46 and not plain ASCII, and encoding it again must give
/// the label back.
pub fn a_label_problem(label: &[u8]) -> Option<String> {
    if !is_a_label(label) {
        return None;
    }
    let lower = label.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower);
    let (unicode, checked) =
        Uts46::new().to_unicode(text.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow);
    if checked.is_err() {
        return Some(format!(
            "`{text}` is not a valid A-label: it does not decode to a valid IDN label"
        ));
    }
    if unicode.is_ascii() {
        return Some(format!(
            "`{text}` is not a valid A-label: it decodes to plain ASCII `{unicode}`"
        ));
    }
    match to_ascii(&unicode) {
        Ok(again) if again == text => None,
        Ok(again) => Some(format!(
            "`{text}` is not the A-label of `{unicode}` (that is `{again}`)"
        )),
        Err(_) => Some(format!("`{text}` is not a valid A-label")),
    }
}

/// The first invalid A-label of `name`, if any.
pub fn name_problem(name: &Name) -> Option<String> {
    name.iter().find_map(a_label_problem)
}

/// A name (or label) written in UTF-8, as A-labels (lower case), or why UTS 46 refuses it.
pub fn to_ascii(text: &str) -> Result<String, String> {
    Uts46::new()
        .to_ascii(
            text.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map(Cow::into_owned)
        .map_err(|_| format!("`{text}` is not a valid internationalized domain name"))
}

/// A name as written (labels separated by dots, maybe absolute) with every non-ASCII
/// label converted to its A-label; ASCII labels (`_sip`, `*`, escapes) are kept as they are.
pub fn name_to_ascii(text: &str) -> Result<String, String> {
    if text.is_ascii() {
        return Ok(text.to_string());
    }
    let labels: Result<Vec<String>, String> = text
        .split('.')
        .map(|label| {
            if label.is_ascii() {
                Ok(label.to_string())
            } else {
                to_ascii(label).map_err(|_| {
                    format!("`{label}` in `{text}` is not a valid internationalized label (UTS 46)")
                })
            }
        })
        .collect();
    Ok(labels?.join("."))
}

/// The name with its A-labels shown as Unicode, for people (plans, messages); `None` when
/// it has no A-label.
pub fn unicode_form(name: &Name) -> Option<String> {
    if !name.iter().any(is_a_label) {
        return None;
    }
    Some(name.to_utf8())
}

/// The hint given with a name that UTS 46 refuses.
pub const HINT: &str = "write the name in UTF-8 as people read it (zonekeeper converts it with UTS 46) or as \
     the A-labels (`xn--…`) the registry gave; letters, digits and `-` only: no symbols, \
     spaces, or a label starting with a combining mark";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_becomes_a_labels() {
        assert_eq!(to_ascii("café.example").unwrap(), "xn--caf-dma.example");
        assert_eq!(to_ascii("Straße").unwrap(), "xn--strae-oqa");
        assert!(to_ascii("\u{301}abc").is_err());
        assert_eq!(
            name_to_ascii("_sip._tcp.Bücher.example.").unwrap(),
            "_sip._tcp.xn--bcher-kva.example."
        );
        assert!(name_to_ascii("x.\u{301}abc").is_err());
    }

    #[test]
    fn a_labels_are_checked() {
        assert_eq!(a_label_problem(b"xn--caf-dma"), None);
        assert_eq!(a_label_problem(b"XN--CAF-DMA"), None);
        assert_eq!(a_label_problem(b"www"), None);
        for bad in [&b"xn--a"[..], b"xn--zz-", b"xn--", b"xn--abc"] {
            assert!(
                a_label_problem(bad).is_some(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn unicode_form_only_for_idn() {
        let n = Name::from_ascii("xn--caf-dma.example.").unwrap();
        assert_eq!(unicode_form(&n).as_deref(), Some("café.example."));
        assert_eq!(
            unicode_form(&Name::from_ascii("www.example.").unwrap()),
            None
        );
    }
}
