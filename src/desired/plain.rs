//! A zone file written plainly, read straight from the YAML parser's events.
//!
//! Most zone files are plain mappings of strings and numbers. Reading them through serde
//! costs three times what the parser itself does, and at 40,000 zones that is most of a
//! validation. So a zone file is first read here, from `granit-parser`'s events (the parser
//! under serde-saphyr), into the same [`ZoneFile`] with the same places. Anything this
//! reader is not sure it reads exactly as serde-saphyr would (an anchor, alias or tag, a
//! duplicate key, an unknown or rare field, a plain scalar that YAML could read as a
//! number, boolean or null, a parse error) makes it give up: the caller then reads the
//! file with serde-saphyr, which also words any error. A test holds both readers equal.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use indexmap::IndexMap;

use super::problem::Place;
use super::yaml::{At, RrsetYaml, SoaYaml, ZoneFile};

/// serde-saphyr's default budget of nodes in a document: past it, serde decides.
const MAX_EVENTS: usize = 250_000;

/// The zone file in `text`, or `None` when it is not plainly written (read it with serde).
pub fn zone_file(text: &str) -> Option<ZoneFile> {
    // as serde-saphyr reads: without comment events
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    let mut r = Reader {
        events: Parser::new_from_str_with_options(text, options),
        seen: 0,
    };
    r.expect(|e| matches!(e, Event::StreamStart))?;
    r.expect(|e| matches!(e, Event::DocumentStart(_, None)))?;
    let file = r.top()?;
    r.expect(|e| matches!(e, Event::DocumentEnd))?;
    r.expect(|e| matches!(e, Event::StreamEnd))?;
    Some(file)
}

struct Reader<I> {
    events: I,
    seen: usize,
}

type Item<'a> = (Event<'a>, Span);

impl<'a, I: Iterator<Item = Result<Item<'a>, ScanError>>> Reader<I> {
    /// The next event; none for an error, an alias, an anchor or a tag.
    fn next(&mut self) -> Option<Item<'a>> {
        self.seen += 1;
        if self.seen > MAX_EVENTS {
            return None;
        }
        let (event, span) = self.events.next()?.ok()?;
        match &event {
            Event::Scalar(_, _, anchor, tag)
            | Event::SequenceStart(_, anchor, tag)
            | Event::MappingStart(_, anchor, tag)
                if *anchor != 0 || tag.is_some() =>
            {
                None
            }
            Event::Alias(_) | Event::Anchor(..) | Event::UnresolvedAlias(_) => None,
            _ => Some((event, span)),
        }
    }

    fn expect(&mut self, want: impl Fn(&Event<'a>) -> bool) -> Option<()> {
        let (event, _) = self.next()?;
        want(&event).then_some(())
    }

    /// The top-level mapping.
    fn top(&mut self) -> Option<ZoneFile> {
        self.expect(|e| matches!(e, Event::MappingStart(..)))?;
        let (mut group, mut ttl, mut soa, mut group_nameservers, mut records) =
            (None, None, None, None, None);
        let mut auto_ptr = None;
        while let Some(key) = self.key()? {
            let fresh = match key.as_ref() {
                "group" => group.replace(self.text()?).is_none(),
                "ttl" => ttl.replace(self.number()?).is_none(),
                "soa" => soa.replace(self.soa()?).is_none(),
                "group_nameservers" => group_nameservers.replace(self.boolean()?).is_none(),
                "auto_ptr" => auto_ptr.replace(self.boolean()?).is_none(),
                "records" => records.replace(self.records()?).is_none(),
                _ => false,
            };
            if !fresh {
                return None;
            }
        }
        Some(ZoneFile {
            group: group?,
            ttl,
            soa: soa.unwrap_or_default(),
            group_nameservers,
            delegation: None,
            auto_ptr,
            records: records.unwrap_or_default(),
        })
    }

    /// The next key of a mapping as plain text, or `Some(None)` at the mapping's end.
    fn key(&mut self) -> Option<Option<Cow<'a, str>>> {
        let (event, _) = self.next()?;
        match event {
            Event::MappingEnd => Some(None),
            Event::Scalar(v, style, ..) if !special(&v, style) => Some(Some(v)),
            _ => None,
        }
    }

    /// The next key of a mapping with its place, or `Some(None)` at the mapping's end.
    fn key_at(&mut self) -> Option<Option<At<String>>> {
        let (event, span) = self.next()?;
        match event {
            Event::MappingEnd => Some(None),
            event => Some(Some(text_of(event, &span)?)),
        }
    }

    fn text(&mut self) -> Option<At<String>> {
        let (event, span) = self.next()?;
        text_of(event, &span)
    }

    /// A decimal number written plainly.
    fn number(&mut self) -> Option<At<u64>> {
        let (event, span) = self.next()?;
        let Event::Scalar(v, ScalarStyle::Plain, ..) = event else {
            return None;
        };
        let plain = v.bytes().all(|b| b.is_ascii_digit()) && (v.len() == 1 || !v.starts_with('0'));
        Some(At {
            value: if plain { v.parse().ok()? } else { return None },
            place: place(&span)?,
        })
    }

    fn boolean(&mut self) -> Option<At<bool>> {
        let (event, span) = self.next()?;
        let value = match event {
            Event::Scalar(v, ScalarStyle::Plain, ..) if v == "true" => true,
            Event::Scalar(v, ScalarStyle::Plain, ..) if v == "false" => false,
            _ => return None,
        };
        Some(At {
            value,
            place: place(&span)?,
        })
    }

    fn soa(&mut self) -> Option<SoaYaml> {
        self.expect(|e| matches!(e, Event::MappingStart(..)))?;
        let mut soa = SoaYaml::default();
        while let Some(key) = self.key()? {
            let fresh = match key.as_ref() {
                "mname" => soa.mname.replace(self.text()?).is_none(),
                "rname" => soa.rname.replace(self.text()?).is_none(),
                "refresh" => soa.refresh.replace(self.number()?).is_none(),
                "retry" => soa.retry.replace(self.number()?).is_none(),
                "expire" => soa.expire.replace(self.number()?).is_none(),
                "minimum" => soa.minimum.replace(self.number()?).is_none(),
                "ttl" => soa.ttl.replace(self.number()?).is_none(),
                _ => false,
            };
            if !fresh {
                return None;
            }
        }
        Some(soa)
    }

    /// Owner name → type → RRset.
    fn records(&mut self) -> Option<Records> {
        self.expect(|e| matches!(e, Event::MappingStart(..)))?;
        let mut records = IndexMap::new();
        while let Some(owner) = self.key_at()? {
            self.expect(|e| matches!(e, Event::MappingStart(..)))?;
            let mut types = IndexMap::new();
            while let Some(rtype) = self.key_at()? {
                if types.insert(rtype, self.rrset()?).is_some() {
                    return None;
                }
            }
            if records.insert(owner, types).is_some() {
                return None;
            }
        }
        Some(records)
    }

    /// A value, a list of values, or `{ttl, values}` / `{ttl, value}` (and `ptr`).
    fn rrset(&mut self) -> Option<At<RrsetYaml>> {
        let (event, span) = self.next()?;
        let place = place(&span)?;
        let value = match event {
            Event::SequenceStart(..) => RrsetYaml {
                values: self.values()?,
                ..Default::default()
            },
            Event::MappingStart(..) => self.rrset_mapping()?,
            event => RrsetYaml {
                scalar: Some(text_of(event, &span)?.value),
                ..Default::default()
            },
        };
        Some(At { value, place })
    }

    fn rrset_mapping(&mut self) -> Option<RrsetYaml> {
        let mut out = RrsetYaml::default();
        let (mut ttl, mut values) = (false, false);
        while let Some(key) = self.key()? {
            let fresh = match key.as_ref() {
                "ttl" => {
                    out.ttl = Some(self.number()?);
                    !std::mem::replace(&mut ttl, true)
                }
                "values" => {
                    self.expect(|e| matches!(e, Event::SequenceStart(..)))?;
                    out.values = self.values()?;
                    !std::mem::replace(&mut values, true)
                }
                "value" => {
                    out.values = vec![self.text()?];
                    !std::mem::replace(&mut values, true)
                }
                "ptr" => out.ptr.replace(self.boolean()?).is_none(),
                _ => false,
            };
            if !fresh {
                return None;
            }
        }
        Some(out)
    }

    /// The texts of a sequence whose start was read.
    fn values(&mut self) -> Option<Vec<At<String>>> {
        let mut values = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                return Some(values);
            }
            values.push(text_of(event, &span)?);
        }
    }
}

type Records = IndexMap<At<String>, IndexMap<At<String>, At<RrsetYaml>>>;

/// A scalar as text, unless YAML could read it as something else.
fn text_of(event: Event<'_>, span: &Span) -> Option<At<String>> {
    match event {
        Event::Scalar(v, style, ..) if !special(&v, style) => Some(At {
            value: v.into_owned(),
            place: place(span)?,
        }),
        _ => None,
    }
}

/// The place serde-saphyr gives a value at `span`.
fn place(span: &Span) -> Option<Place> {
    let start = span.start.byte_offset()?;
    Some(Place {
        offset: start,
        len: span.end.byte_offset()?.checked_sub(start)?,
        line: span.start.line(),
        column: span.start.col() + 1,
    })
}

/// Whether a scalar might not read as the text it is: a plain scalar that YAML (1.1 or
/// 1.2) could resolve to a number, boolean or null, or that is empty. Quoted and block
/// scalars are text.
fn special(v: &str, style: ScalarStyle) -> bool {
    if style != ScalarStyle::Plain {
        return false;
    }
    const WORDS: [&str; 15] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "inf", "nan", "infinity",
        "<<", "=",
    ];
    let Some(&first) = v.as_bytes().first() else {
        return true;
    };
    if WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)) || first == b'.' {
        return true;
    }
    if !matches!(first, b'0'..=b'9' | b'+' | b'-') {
        return false;
    }
    let body = v.trim_start_matches(['+', '-']).as_bytes();
    let radix = body.len() > 1 && body[0] == b'0' && b"xXoObB".contains(&body[1]);
    let sexagesimal = v.contains(':')
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b":._+-".contains(&b));
    v.parse::<f64>().is_ok() || v.contains('_') || radix || sexagesimal
}

#[cfg(test)]
mod tests;
