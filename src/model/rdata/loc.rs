//! LOC (RFC 1876): `d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`.

/// A decimal number in units of 10^-`places` (`23.5` with 3 places: 23500); `None` when it
/// is not a plain decimal.
fn decimal(text: &str, places: u32) -> Option<i64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > places as usize
        || int.len() > 12
    {
        return None;
    }
    let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    f *= 10_i64.pow(places - frac.len() as u32);
    let v = int * 10_i64.pow(places) + f;
    Some(if neg { -v } else { v })
}

/// Metres (an optional `m` suffix) in centimetres.
fn metres(text: &str) -> Option<i64> {
    decimal(text.strip_suffix(['m', 'M']).unwrap_or(text), 2)
}

/// A size or precision in centimetres as RFC 1876's mantissa/exponent octet (truncated, as
/// BIND does).
fn precision(cm: i64) -> Option<u8> {
    if !(0..=9_000_000_000).contains(&cm) {
        return None;
    }
    let mut e = 0;
    while e < 9 && cm >= 10_i64.pow(e + 1) {
        e += 1;
    }
    let m = cm / 10_i64.pow(e);
    Some(((m as u8) << 4) | e as u8)
}

fn precision_cm(octet: u8) -> Option<u64> {
    let (m, e) = (u64::from(octet >> 4), u32::from(octet & 0xf));
    (m <= 9 && e <= 9).then(|| m * 10_u64.pow(e))
}

/// One coordinate: degrees, optional minutes and seconds, then the hemisphere; in
/// thousandths of an arc-second from the equator or meridian, or `None`.
fn coordinate<'a>(
    words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    positive: &str,
    negative: &str,
    max_degrees: i64,
) -> Result<i64, String> {
    let mut parts = Vec::new();
    let hemisphere = loop {
        let w = words.next().ok_or("the value ends before its hemisphere")?;
        if w.eq_ignore_ascii_case(positive) || w.eq_ignore_ascii_case(negative) {
            break w.eq_ignore_ascii_case(negative);
        }
        if parts.len() == 3 {
            return Err(format!(
                "a coordinate is `degrees [minutes [seconds]] {positive}|{negative}`"
            ));
        }
        parts.push(w);
    };
    let deg = parts
        .first()
        .and_then(|d| decimal(d, 0))
        .ok_or("a coordinate starts with its degrees")?;
    let min = parts.get(1).map_or(Some(0), |m| decimal(m, 0));
    let sec = parts.get(2).map_or(Some(0), |s| decimal(s, 3));
    let (Some(min), Some(sec)) = (min, sec) else {
        return Err("minutes are whole numbers, seconds decimals".into());
    };
    let v = deg * 3_600_000 + min * 60_000 + sec;
    if !(0..60).contains(&min)
        || !(0..60_000).contains(&sec)
        || !(0..=max_degrees * 3_600_000).contains(&v)
    {
        return Err(format!(
            "a coordinate is at most {max_degrees} degrees, minutes and seconds under 60"
        ));
    }
    Ok(if hemisphere { -v } else { v })
}

pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let mut words = text.split_whitespace().peekable();
    let lat = coordinate(&mut words, "N", "S", 90)?;
    let lon = coordinate(&mut words, "E", "W", 180)?;
    let alt = words
        .next()
        .and_then(metres)
        .filter(|a| (-10_000_000..=4_284_967_295).contains(a))
        .ok_or("the altitude is metres from -100000 to 42849672.95, e.g. `-2.00m`")?;
    // centimetres: 1 m, 10 km, 10 m (RFC 1876 defaults)
    let mut prec = [100, 1_000_000, 1_000];
    for p in &mut prec {
        if let Some(w) = words.next() {
            *p = metres(w).ok_or_else(|| format!("`{w}` is not a size in metres"))?;
        }
    }
    if words.next().is_some() {
        return Err("a LOC value has at most 3 sizes after the altitude".into());
    }
    let mut out = vec![0];
    for p in prec {
        out.push(precision(p).ok_or("sizes are 0 to 90000000.00 metres")?);
    }
    out.extend(((1_i64 << 31) + lat).to_be_bytes()[4..].iter());
    out.extend(((1_i64 << 31) + lon).to_be_bytes()[4..].iter());
    out.extend((alt + 10_000_000).to_be_bytes()[4..].iter());
    Ok(out)
}

fn write_coordinate(raw: u32, positive: char, negative: char) -> String {
    let v = i64::from(raw) - (1 << 31);
    let (h, v) = if v < 0 { (negative, -v) } else { (positive, v) };
    format!(
        "{} {} {}.{:03} {h}",
        v / 3_600_000,
        v / 60_000 % 60,
        v / 1000 % 60,
        v % 1000
    )
}

fn write_metres(cm: i64) -> String {
    let sign = if cm < 0 { "-" } else { "" };
    let cm = cm.abs();
    format!("{sign}{}.{:02}m", cm / 100, cm % 100)
}

pub fn write(wire: &[u8]) -> Option<String> {
    if wire.len() != 16 || wire[0] != 0 {
        return None;
    }
    let word = |i: usize| u32::from_be_bytes([wire[i], wire[i + 1], wire[i + 2], wire[i + 3]]);
    let sizes: Option<Vec<String>> = wire[1..4]
        .iter()
        .map(|o| precision_cm(*o).map(|cm| write_metres(cm as i64)))
        .collect();
    Some(format!(
        "{} {} {} {}",
        write_coordinate(word(4), 'N', 'S'),
        write_coordinate(word(8), 'E', 'W'),
        write_metres(i64::from(word(12)) - 10_000_000),
        sizes?.join(" ")
    ))
}
