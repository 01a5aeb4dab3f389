//! BIND's `$GENERATE range lhs [ttl] [class] type rhs`: the range (`start-stop[/step]`)
//! and the substitution of the iterator into `lhs` and `rhs`: `$` is the value,
//! `${offset[,width[,base]]}` the value plus `offset`, zero-padded to `width`, in base
//! `d` (decimal), `o` (octal), `x`/`X` (hexadecimal) or `n`/`N` (nibbles, reversed and
//! dot-separated as in `ip6.arpa`, `width` counting nibbles); `\$` is a `$`, `$$` too.

/// How many records one `$GENERATE` may make.
pub const MAX_GENERATED: u64 = 1_000_000;

/// A `start-stop[/step]` range, or why it is not one.
pub fn range(text: &str) -> Result<(u64, u64, u64), String> {
    let (span, step) = match text.split_once('/') {
        Some((s, step)) => (s, step),
        None => (text, "1"),
    };
    let (start, stop) = span
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not a range: write START-STOP[/STEP], e.g. 1-100"))?;
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("`{s}` in the range `{text}` is not a number"))
    };
    let (start, stop, step) = (num(start)?, num(stop)?, num(step)?);
    if step == 0 || start > stop {
        return Err(format!(
            "the range `{text}` is empty: START must not be above STOP, and STEP is at least 1"
        ));
    }
    if (stop - start) / step + 1 > MAX_GENERATED {
        return Err(format!(
            "the range `{text}` makes more than {MAX_GENERATED} records"
        ));
    }
    Ok((start, stop, step))
}

/// `value` in `base`, zero-padded to `width`.
fn format_value(value: i64, width: usize, base: char) -> Result<String, String> {
    if value < 0 {
        return Err(format!("the offset makes the value negative ({value})"));
    }
    Ok(match base {
        'd' => format!("{value:0width$}"),
        'o' => format!("{value:0width$o}"),
        'x' => format!("{value:0width$x}"),
        'X' => format!("{value:0width$X}"),
        'n' | 'N' => {
            let hex = format!("{value:0width$x}");
            let nibbles: Vec<String> = hex
                .chars()
                .rev()
                .map(|c| match base {
                    'N' => c.to_ascii_uppercase().to_string(),
                    _ => c.to_string(),
                })
                .collect();
            nibbles.join(".")
        }
        other => {
            return Err(format!("`{other}` is not a base: use d, o, x, X, n or N"));
        }
    })
}

/// The modifier of `${offset,width,base}`.
fn modifier(spec: &str, value: u64) -> Result<String, String> {
    let parts: Vec<&str> = spec.split(',').collect();
    if parts.len() > 3 {
        return Err(format!(
            "`${{{spec}}}` has more than offset, width and base"
        ));
    }
    let offset: i64 = parts
        .first()
        .filter(|p| !p.is_empty())
        .map_or(Ok(0), |p| p.trim().parse())
        .map_err(|_| format!("the offset in `${{{spec}}}` is not a number"))?;
    let width: usize = parts
        .get(1)
        .filter(|p| !p.is_empty())
        .map_or(Ok(0), |p| p.trim().parse())
        .map_err(|_| format!("the width in `${{{spec}}}` is not a number"))?;
    let base = parts
        .get(2)
        .map_or('d', |b| b.trim().chars().next().unwrap_or('d'));
    if parts.get(2).is_some_and(|b| b.trim().len() != 1) {
        return Err(format!(
            "the base in `${{{spec}}}` is one of d, o, x, X, n, N"
        ));
    }
    let v = i64::try_from(value)
        .unwrap_or(i64::MAX)
        .saturating_add(offset);
    format_value(v, width.min(255), base)
}

/// `template` with the iterator `value` substituted.
pub fn substitute(template: &str, value: u64) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 8);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'$') => {
                chars.next();
                out.push('$');
            }
            '\\' => {
                out.push('\\');
                out.extend(chars.next());
            }
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                out.push('$');
            }
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut spec = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => spec.push(c),
                        None => return Err(format!("`${{{spec}` is not closed with `}}`")),
                    }
                }
                out.push_str(&modifier(&spec, value)?);
            }
            '$' => out.push_str(&value.to_string()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range("1-10"), Ok((1, 10, 1)));
        assert_eq!(range("0-254/2"), Ok((0, 254, 2)));
        assert!(range("10-1").is_err());
        assert!(range("1-10/0").is_err());
        assert!(range("a-b").is_err());
        assert!(range("5").is_err());
        assert!(range("0-99999999").is_err());
    }

    #[test]
    fn substitutions() {
        assert_eq!(substitute("host-$", 7).unwrap(), "host-7");
        assert_eq!(substitute("$.0.2.192", 7).unwrap(), "7.0.2.192");
        assert_eq!(substitute("h${10}", 7).unwrap(), "h17");
        assert_eq!(substitute("h${-7,3}", 7).unwrap(), "h000");
        assert_eq!(substitute("h${0,4,x}", 255).unwrap(), "h00ff");
        assert_eq!(substitute("h${0,2,X}", 255).unwrap(), "hFF");
        assert_eq!(substitute("h${0,3,o}", 8).unwrap(), "h010");
        assert_eq!(substitute("${0,4,n}", 0x1a).unwrap(), "a.1.0.0");
        assert_eq!(substitute("${0,2,N}", 0xab).unwrap(), "B.A");
        assert_eq!(substitute("cost\\$ $$", 3).unwrap(), "cost$ $");
        assert_eq!(substitute("a\\.b$", 1).unwrap(), "a\\.b1");
        assert!(substitute("${1,2,q}", 1).is_err());
        assert!(substitute("${1", 1).is_err());
        assert!(substitute("${-9}", 1).is_err());
    }
}
