//! SVCB and HTTPS (RFC 9460): `PRIORITY TARGET [key=value …]`, parameters sorted by key in
//! wire form as the RFC requires. ALPN identifiers that need escaping are written in the
//! generic form instead (see the module above).

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hickory_proto::rr::Name;

use super::fields::{Field, fields, quoted};
use super::{name_text, name_wire, read_name};
use crate::model::record::parse_name;

const KEYS: [&str; 7] = [
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
];

fn key_of(name: &str) -> Result<u16, String> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = KEYS.iter().position(|k| *k == lower) {
        return Ok(i as u16);
    }
    lower
        .strip_prefix("key")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .filter(|k: &u16| *k != 65535)
        .ok_or_else(|| {
            format!(
                "`{name}` is not a service parameter: {} or keyNNNNN",
                KEYS.join(", ")
            )
        })
}

fn key_name(key: u16) -> String {
    KEYS.get(usize::from(key))
        .map_or_else(|| format!("key{key}"), |k| (*k).to_string())
}

/// A value-list (RFC 9460 Appendix A.1): items split at commas not escaped by `\`.
fn items(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => {
                if let Some(&n) = bytes.next()
                    && let Some(v) = out.last_mut()
                {
                    v.push(n);
                }
            }
            b',' => out.push(Vec::new()),
            _ => {
                if let Some(v) = out.last_mut() {
                    v.push(b);
                }
            }
        }
    }
    out
}

fn text(item: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(item).map_err(|_| "a parameter value is not text".to_string())
}

/// The wire form of one parameter's value.
fn value<'a>(key: u16, v: Option<&'a [u8]>) -> Result<Vec<u8>, String> {
    let need = |v: Option<&'a [u8]>| v.ok_or_else(|| format!("`{}` needs a value", key_name(key)));
    let mut out = Vec::new();
    match key {
        0 => {
            let mut keys = items(need(v)?)
                .iter()
                .map(|k| text(k).and_then(key_of))
                .collect::<Result<Vec<u16>, String>>()?;
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) || keys.contains(&0) {
                return Err("`mandatory` lists other keys, each once".into());
            }
            keys.iter().for_each(|k| out.extend(k.to_be_bytes()));
        }
        1 => {
            for id in items(need(v)?) {
                if id.is_empty() || id.len() > 255 {
                    return Err("an ALPN identifier is 1 to 255 octets".into());
                }
                out.push(id.len() as u8);
                out.extend(id);
            }
        }
        2 if v.is_some_and(|v| !v.is_empty()) => {
            return Err("`no-default-alpn` takes no value".into());
        }
        2 => {}
        3 => {
            let port: u16 = text(need(v)?)?
                .parse()
                .map_err(|_| "`port` is a number from 0 to 65535".to_string())?;
            out.extend(port.to_be_bytes());
        }
        4 => {
            for a in items(need(v)?) {
                let ip: Ipv4Addr = text(&a)?
                    .parse()
                    .map_err(|_| "`ipv4hint` lists IPv4 addresses".to_string())?;
                out.extend(ip.octets());
            }
        }
        5 => {
            out = STANDARD
                .decode(need(v)?)
                .map_err(|e| format!("`ech` is base64: {e}"))?;
        }
        6 => {
            for a in items(need(v)?) {
                let ip: Ipv6Addr = text(&a)?
                    .parse()
                    .map_err(|_| "`ipv6hint` lists IPv6 addresses".to_string())?;
                out.extend(ip.octets());
            }
        }
        _ => out.extend(v.unwrap_or_default()),
    }
    Ok(out)
}

/// The parameters written after the target: `key`, `key=value`, `key="value"`.
fn params(f: &[Field]) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut out: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while let Some(field) = f.get(i) {
        i += 1;
        if field.quoted {
            return Err(
                "a quoted string stands where a service parameter `key=value` belongs".into(),
            );
        }
        let (k, v) = match field.raw.split_once('=') {
            None => (field.raw.as_str(), None),
            Some((k, "")) => match f.get(i).filter(|n| n.quoted) {
                Some(next) => {
                    i += 1;
                    (k, Some(next.bytes.clone()))
                }
                None => (k, Some(Vec::new())),
            },
            Some((k, _)) => {
                let at = field.bytes.iter().position(|b| *b == b'=').unwrap_or(0);
                (k, Some(field.bytes[at + 1..].to_vec()))
            }
        };
        let key = key_of(k)?;
        if out.iter().any(|(seen, _)| *seen == key) {
            return Err(format!("`{}` is given twice", key_name(key)));
        }
        out.push((key, value(key, v.as_deref())?));
    }
    out.sort_by_key(|(k, _)| *k);
    if let Some((_, m)) = out.iter().find(|(k, _)| *k == 0) {
        for k in m.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])) {
            if !out.iter().any(|(seen, _)| *seen == k) {
                return Err(format!(
                    "`mandatory` names `{}`, which is not given",
                    key_name(k)
                ));
            }
        }
    }
    if out.iter().any(|(k, _)| *k == 2) && !out.iter().any(|(k, _)| *k == 1) {
        return Err("`no-default-alpn` needs an `alpn`".into());
    }
    Ok(out)
}

pub fn parse(text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    let f = fields(text)?;
    if f.len() < 2 {
        return Err("the value starts with its priority and target name".into());
    }
    let priority: u16 = f[0]
        .raw
        .parse()
        .map_err(|_| format!("`{}` is not a priority (0-65535)", f[0].raw))?;
    let target = parse_name(&f[1].raw, origin).map_err(|e| e.message)?;
    let params = params(&f[2..])?;
    if priority == 0 && !params.is_empty() {
        return Err("an alias form (priority 0) has no service parameters".into());
    }
    let mut out = priority.to_be_bytes().to_vec();
    name_wire(&target, &mut out);
    for (k, v) in params {
        let len =
            u16::try_from(v.len()).map_err(|_| "a parameter value is too long".to_string())?;
        out.extend(k.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend(v);
    }
    Ok(out)
}

/// Whether an ALPN identifier can be written bare in a value-list.
fn plain(id: &[u8]) -> bool {
    !id.is_empty()
        && id
            .iter()
            .all(|b| b.is_ascii_graphic() && !b"\\,\";()".contains(b))
}

fn write_value(key: u16, v: &[u8]) -> Option<String> {
    let list = |size: usize| v.len().is_multiple_of(size) && !v.is_empty();
    Some(match key {
        0 if list(2) => v
            .chunks(2)
            .map(|c| key_name(u16::from_be_bytes([c[0], c[1]])))
            .collect::<Vec<_>>()
            .join(","),
        1 => {
            let mut ids = Vec::new();
            let mut rest = v;
            while let Some((&len, after)) = rest.split_first() {
                let (id, after) = after.split_at_checked(usize::from(len))?;
                if !plain(id) {
                    return None;
                }
                ids.push(String::from_utf8_lossy(id).into_owned());
                rest = after;
            }
            (!ids.is_empty()).then(|| ids.join(","))?
        }
        3 if v.len() == 2 => u16::from_be_bytes([v[0], v[1]]).to_string(),
        4 if list(4) => v
            .chunks(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
            .collect::<Vec<_>>()
            .join(","),
        5 if !v.is_empty() => STANDARD.encode(v),
        6 if list(16) => v
            .chunks(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok())
            .map(|c| Ipv6Addr::from(c).to_string())
            .collect::<Vec<_>>()
            .join(","),
        k if k > 6 => quoted(v),
        _ => return None,
    })
}

pub fn write(wire: &[u8]) -> Option<String> {
    let (p, rest) = wire.split_at_checked(2)?;
    let mut at = 0;
    let target = read_name(rest, &mut at)?;
    let mut out = format!(
        "{} {}",
        u16::from_be_bytes([p[0], p[1]]),
        name_text(&target)
    );
    let mut rest = &rest[at..];
    let mut last = None;
    while !rest.is_empty() {
        let (head, after) = rest.split_at_checked(4)?;
        let key = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let (v, after) = after.split_at_checked(len)?;
        if last.is_some_and(|l| l >= key) {
            return None;
        }
        last = Some(key);
        out.push(' ');
        out.push_str(&key_name(key));
        if key == 2 {
            if !v.is_empty() {
                return None;
            }
        } else if !(key > 6 && v.is_empty()) {
            out.push('=');
            out.push_str(&write_value(key, v)?);
        }
        rest = after;
    }
    Some(out)
}
