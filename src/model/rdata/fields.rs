//! The fields of RDATA in presentation form (RFC 1035 §5.1): runs of characters between
//! blanks, or quoted character-strings, with `\X` and `\DDD` escapes decoded.

/// One field: its text as written, and its octets with escapes decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field as written (quotes removed, escapes kept), for names.
    pub raw: String,
    /// Its octets, escapes decoded.
    pub bytes: Vec<u8>,
    /// Whether it was quoted.
    pub quoted: bool,
}

/// The fields of `text`; an unterminated quote or a bad `\DDD` escape is an error.
pub fn fields(text: &str) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let quoted = c == '"';
        if quoted {
            chars.next();
        }
        let (mut raw, mut bytes) = (String::new(), Vec::new());
        let mut closed = !quoted;
        while let Some(&(_, c)) = chars.peek() {
            if quoted && c == '"' {
                chars.next();
                closed = true;
                break;
            }
            if !quoted && (c.is_whitespace() || c == '"') {
                break;
            }
            chars.next();
            raw.push(c);
            if c != '\\' {
                let mut buf = [0; 4];
                bytes.extend(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            let Some((_, e)) = chars.next() else {
                return Err("a `\\` ends the value: escape a backslash as `\\\\`".into());
            };
            raw.push(e);
            if e.is_ascii_digit() {
                let mut digits = String::from(e);
                for _ in 0..2 {
                    match chars.next() {
                        Some((_, d)) if d.is_ascii_digit() => {
                            raw.push(d);
                            digits.push(d);
                        }
                        _ => {
                            return Err(format!(
                                "`\\{digits}` is not a `\\DDD` escape of three digits"
                            ));
                        }
                    }
                }
                let n: u16 = digits
                    .parse()
                    .map_err(|_| format!("bad escape `\\{digits}`"))?;
                let b = u8::try_from(n).map_err(|_| {
                    format!("`\\{digits}` is over 255: a `\\DDD` escape is one octet")
                })?;
                bytes.push(b);
            } else {
                let mut buf = [0; 4];
                bytes.extend(e.encode_utf8(&mut buf).as_bytes());
            }
        }
        if !closed {
            return Err(format!(
                "the quoted string starting at `{}` is not closed",
                &text[start..]
            ));
        }
        out.push(Field { raw, bytes, quoted });
    }
    Ok(out)
}

/// One character-string quoted for a zone file: `"` and `\` escaped, octets outside
/// printable ASCII as `\DDD`.
pub fn quoted(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        let f = fields(r#"10 "a b\"c" \065x "" "\195\169""#).unwrap();
        let bytes: Vec<&[u8]> = f.iter().map(|f| f.bytes.as_slice()).collect();
        assert_eq!(
            bytes,
            vec![&b"10"[..], b"a b\"c", b"Ax", b"", "é".as_bytes()]
        );
        assert!(f[1].quoted && !f[0].quoted);
        assert_eq!(f[2].raw, r"\065x");
        assert!(fields("\"open").is_err());
        assert!(fields(r"\25").is_err());
        assert!(fields(r"\300").is_err());
        assert!(fields("a\\").is_err());
        assert_eq!(quoted("é\"\\".as_bytes()), r#""\195\169\"\\""#);
    }
}
