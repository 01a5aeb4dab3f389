//! How values read in text for people: times in UTC RFC 3339, long lists cut to their
//! first few items and counted. JSON always keeps every item; only text is summarised.

use time::format_description::well_known::Rfc3339;

/// A Unix time as UTC RFC 3339 (`2026-12-06T21:50:00Z`), in text and in JSON alike. A time
/// `time` cannot represent is said as such, never printed as a raw number alone.
pub fn utc(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{t} (Unix time out of range)"))
}

/// [`utc`] of an optional time; `None` stays `None` (JSON `null`).
pub fn utc_opt(t: Option<i64>) -> Option<String> {
    t.map(utc)
}

/// How many items of a long list text shows before counting the rest.
pub const SHOWN: usize = 5;

/// The first `shown` of `items` joined by `sep`, then "… and N more" when there are more:
/// one readable line for a list of any length (a delegation for 1,003 zones is five zones
/// and a count, not 74,499 characters).
pub fn first_few<S: AsRef<str>>(items: &[S], shown: usize, sep: &str) -> String {
    let mut out = items
        .iter()
        .take(shown)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > shown {
        out.push_str(&format!(" … and {} more", items.len() - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_796_593_800), "2026-12-06T21:50:00Z");
        assert_eq!(utc_opt(None), None);
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let items: Vec<String> = (0..1003).map(|i| format!("z{i}.test.")).collect();
        let line = first_few(&items, 3, "; ");
        assert_eq!(line, "z0.test.; z1.test.; z2.test. … and 1000 more");
        assert_eq!(first_few(&items[..2], 3, ", "), "z0.test., z1.test.");
        assert_eq!(first_few::<&str>(&[], 3, ", "), "");
    }
}
