//! Keeping TSIG secrets out of Git, and out of every message about it.
//!
//! - The `secret_file` named in `zonekeeper.yaml` must not be a file of the revision: the
//!   revision's tree is looked at (git2), not the disk, so the check holds from any
//!   working directory, in a bare clone, and when the file is missing from the work tree.
//!   A relative path is read from the repository's top. Inside the work tree it is taken
//!   only where Git ignores it and does not track it.
//! - No file of the revision may hold key material (a BIND `secret "…";`).
//! - Every text shown with a problem is redacted first ([`redact`]): a secret's value is
//!   replaced by `*`, byte for byte, so spans still point at the right place.

use std::path::{Component, Path};

use super::yaml::At;

use super::problem::{Place, Problem, SourceFile};
use super::source::Source;

/// Where a `secret` keyword starts in `text`, with the span of the value after it (YAML
/// `secret: value`, BIND `secret "value";`). `secret_file` and `secret_env` are not
/// secrets.
fn secret_values(text: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    values_of(text, b"secret")
}

/// Where the keyword `key` starts in `text` (as a word of its own), with the span of the
/// value after it.
fn values_of(text: &[u8], key: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = find(&text[from..], key).map(|i| i + from) {
        from = i + key.len();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        if i > 0 && word(text[i - 1]) || text.get(from).is_some_and(|b| word(*b)) {
            continue;
        }
        let mut j = from;
        while j < text.len() && matches!(text[j], b' ' | b'\t') {
            j += 1;
        }
        if j < text.len() && matches!(text[j], b':' | b'=') {
            j += 1;
            while j < text.len() && matches!(text[j], b' ' | b'\t') {
                j += 1;
            }
        }
        let end = match text.get(j) {
            Some(q @ (b'"' | b'\'')) => text[j + 1..]
                .iter()
                .position(|b| b == q || *b == b'\n')
                .map_or(text.len(), |p| j + 2 + p),
            _ => text[j..]
                .iter()
                .position(|b| matches!(b, b'\n' | b';' | b'#'))
                .map_or(text.len(), |p| j + p),
        };
        if end > j {
            out.push((i, j..end));
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// `text` with every secret's value replaced by `*` (same length in bytes; newlines kept):
/// TSIG secrets, and webhook URLs written in the repository (they may carry a token). A
/// YAML block scalar (`secret: |`) is masked up to the next line indented no deeper.
pub fn redact(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut values = secret_values(text.as_bytes());
    values.extend(values_of(text.as_bytes(), b"url"));
    for (key, value) in values {
        let block = matches!(bytes.get(value.start), Some(b'|' | b'>'));
        let mut end = value.end;
        if block {
            let line_start = text[..key].rfind('\n').map_or(0, |i| i + 1);
            let indent = key - line_start;
            let mut pos = text[end..].find('\n').map_or(text.len(), |i| end + i);
            while pos < text.len() {
                let next = pos + 1;
                let line_end = text[next..].find('\n').map_or(text.len(), |i| next + i);
                let line = &text[next..line_end];
                let depth = line.len() - line.trim_start().len();
                if !line.trim().is_empty() && depth <= indent {
                    break;
                }
                end = line_end;
                pos = line_end;
            }
        }
        for b in &mut bytes[value.start..end] {
            if *b != b'\n' {
                *b = b'*';
            }
        }
    }
    // only ASCII bytes were written over whole values: still UTF-8 unless a value was cut
    // inside a character, which `*` everywhere in it rules out
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
}

/// Key material in one file: BIND's `secret "<base64>";` (as in a `key` clause): the
/// keyword, blanks, then the quoted base64 value.
fn key_material(bytes: &[u8]) -> Vec<usize> {
    secret_values(bytes)
        .into_iter()
        .filter(|(k, v)| {
            let value = &bytes[v.clone()];
            let between = &bytes[k + "secret".len()..v.start];
            !between.is_empty()
                && between.iter().all(|b| matches!(b, b' ' | b'\t'))
                && value.first() == Some(&b'"')
                && value.len() >= 18
                && value[1..value.len() - 1]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        })
        .map(|(k, _)| k)
        .collect()
}

/// Problems for every file of the revision (or those changed since `since`) that holds
/// key material; the place is the `secret` keyword, the value is never shown. Zone files
/// are left out when `zones_checked`: their checker looked at them as it read them
/// ([`keys_in`]).
pub fn committed_keys(
    source: &Source,
    since: Option<&str>,
    zones_checked: bool,
    problems: &mut Vec<Problem>,
) -> Result<(), super::SourceError> {
    let skip = |path: &str| zones_checked && super::source::is_zone_file(path);
    source.each_file(since, &skip, &mut |path, bytes| {
        keys_in(path, bytes, problems)
    })
}

/// A problem for each piece of key material in one committed file.
pub fn keys_in(path: &str, bytes: &[u8], problems: &mut Vec<Problem>) {
    let found = key_material(bytes);
    if found.is_empty() {
        return;
    }
    let text = redact(&String::from_utf8_lossy(bytes));
    let file = SourceFile::new(path, text);
    for offset in found {
        let place = place_of(&file.text, offset, "secret".len());
        problems.push(
            Problem::new(
                "tsig::secret-in-repository",
                &file,
                place,
                format!("{path} holds a TSIG key's secret, committed to Git"),
            )
            .label("secret (value hidden)")
            .help("remove the file from the repository and its history, rotate the key, and keep key files outside the repository (secret_file: /etc/zonekeeper/tsig.key)"),
        );
    }
}

/// The place of a byte span in a text: line and column (characters) counted from 1.
pub fn place_of(text: &str, offset: usize, len: usize) -> Place {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let before = String::from_utf8_lossy(before);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Place {
        offset,
        len,
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// `path` (absolute) relative to the repository's top `top`, cleaned, if it lies inside
/// it: as written, or once links are followed (a link may lead into the repository).
fn in_repository(path: &Path, top: &Path) -> Option<String> {
    let clean = |p: &Path| -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    parts.pop()?;
                }
                _ => return None,
            }
        }
        (!parts.is_empty()).then(|| parts.join("/"))
    };
    if let Some(rel) = path.strip_prefix(top).ok().and_then(clean) {
        return Some(rel);
    }
    let real = std::fs::canonicalize(path).ok()?;
    real.strip_prefix(top).ok().and_then(clean)
}

/// Why the secret file named at `f` must not be used, if it must not: `(message,
/// help)`. A relative path is read from the repository's top. The file must not be in the
/// revision's tree (from any working directory, in a bare clone, and when it is gone from
/// the work tree). Inside the work tree it is taken only when Git ignores it and does not
/// track it (`.zonekeeper/` of the example repository: its `.gitignore` says so), so no
/// `git add -A` ever commits it.
pub fn secret_file_problem(f: &At<String>, source: &Source) -> Option<(String, String)> {
    let top = source.top()?;
    let path = source.resolve(&f.value);
    let rel = in_repository(&path, &top)?;
    if source.has_committed(&rel) {
        return Some((
            format!(
                "the TSIG secret file {} is committed to Git (as {rel})",
                f.value
            ),
            "remove it from Git (and its history), rotate the key, and keep the key file outside the repository, e.g. /etc/zonekeeper/tsig.key".into(),
        ));
    }
    // a bare repository's Git directory: no work tree to commit the file from
    source.workdir()?;
    let path = top.join(&rel);
    match source.git_status_of(&path) {
        Some((true, false)) => None,
        Some((_, true)) => Some((
            format!(
                "the TSIG secret file {} is inside the repository, and Git tracks it (as {rel})",
                f.value
            ),
            format!(
                "unstage it (`git rm --cached {rel}`), add it to .gitignore, or move it outside the repository, e.g. /etc/zonekeeper/tsig.key"
            ),
        )),
        _ => Some((
            format!(
                "the TSIG secret file {} is inside the repository, and Git does not ignore it (as {rel})",
                f.value
            ),
            format!(
                "add `/{rel}` (or its directory) to the repository's .gitignore so it is never committed, or move it outside the repository, e.g. /etc/zonekeeper/tsig.key"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_place() {
        let t = "tsig:\n  secret: \"abc=\" # x\n  secret_file: /k\nkey k { secret \"QUJD\"; };\n";
        let r = redact(t);
        assert_eq!(r.len(), t.len());
        assert!(!r.contains("abc=") && !r.contains("QUJD"), "{r}");
        assert!(r.contains("secret_file: /k"), "{r}");
        let block = "a:\n  secret: |\n    c2VjcmV0\n    bW9yZQ==\n  name: k\n";
        let r = redact(block);
        assert!(!r.contains("c2VjcmV0") && !r.contains("bW9yZQ"), "{r}");
        assert!(r.contains("name: k"), "{r}");
        let hooks = "webhooks:\n  - url: https://h.example/T0KEN\n  - url_env: HOOK\n";
        let r = redact(hooks);
        assert!(!r.contains("T0KEN") && r.contains("url_env: HOOK"), "{r}");
    }

    #[test]
    fn bind_key_clauses_are_found() {
        let t =
            b"key \"k\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n";
        assert_eq!(key_material(t).len(), 1);
        assert!(key_material(b"secret_file: /etc/k\nsecret_env: X\n").is_empty());
        assert!(key_material(b"# the secret \"x\" is elsewhere").is_empty());
        assert!(key_material(b"let secret = \"c2VjcmV0c2VjcmV0c2VjcmV0\";").is_empty());
    }

    #[test]
    fn paths_in_the_repository() {
        let top = Path::new("/nonexistent-repo");
        assert_eq!(
            in_repository(&top.join("./keys/../keys/t.key"), top).as_deref(),
            Some("keys/t.key")
        );
        assert_eq!(in_repository(&top.join("../t.key"), top), None);
        assert_eq!(in_repository(Path::new("/etc/t.key"), top), None);
        assert_eq!(
            in_repository(&top.join("k/t.key"), top).as_deref(),
            Some("k/t.key")
        );
    }
}
