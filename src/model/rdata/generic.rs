//! RFC 3597 §5: the generic presentation of any RDATA, `\# LENGTH HEX`.

/// The octets of a value in generic form (`\# 4 0a000001`; the hex may be split by
/// blanks; `\# 0` is empty RDATA).
pub fn parse_generic(text: &str) -> Result<Vec<u8>, String> {
    let mut words = text.split_whitespace();
    if words.next() != Some("\\#") {
        return Err("a value in RFC 3597 generic form starts with `\\#`".into());
    }
    let len: usize = words
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or("`\\#` is followed by the RDATA's length in octets")?;
    let hex: String = words.collect();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the RDATA after the length is hex digits, two per octet".into());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    if bytes.len() != len {
        return Err(format!(
            "the length says {len} octets but {} are given",
            bytes.len()
        ));
    }
    if len > 65_535 {
        return Err("RDATA is at most 65,535 octets".into());
    }
    Ok(bytes)
}

/// The generic form of `wire`: `\# 4 0a000001`, `\# 0` when empty.
pub fn write_generic(wire: &[u8]) -> String {
    if wire.is_empty() {
        return "\\# 0".into();
    }
    format!("\\# {} {}", wire.len(), super::super::hex(wire))
}
