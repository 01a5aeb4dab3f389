//! A TSIG key file read by BIND's grammar (the one `named.conf` and `tsig-keygen` use):
//! any number of `key "name" { algorithm …; secret "…"; };` statements, comments (`//`,
//! `#`, `/* */`), other statements ignored; or a file holding the base64 secret alone.
//! The key wanted is chosen by name. Nothing here ever puts a secret in a message: the
//! grammar's errors name a line and what is wrong, never the text found.

use crate::import::named_conf::{Statement, parse};

/// The key a file holds under the name asked for: its algorithm as written (none for a
/// bare secret) and its secret (base64, never shown).
pub struct Found {
    /// The algorithm of the `key` statement, lower case, without a trailing dot.
    pub algorithm: Option<String>,
    /// The secret, base64.
    pub secret: String,
    /// The line of the `key` statement (none for a bare secret).
    pub line: Option<usize>,
}

/// Why the file gives no key of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing but white space and comments.
    Empty,
    /// Not BIND's grammar: the line and what is wrong there.
    Syntax(usize, String),
    /// Valid grammar, but no `key` statement (and not a bare secret).
    NoKeys,
    /// Keys, none of that name: the names found.
    NotFound(Vec<String>),
    /// Two keys of that name (BIND refuses such a file): their lines.
    Twice(usize, usize),
    /// The key lacks `secret` or `algorithm`: which, and the key's line.
    Lacks(&'static str, usize),
}

/// A key name as BIND compares them: a domain name, case-insensitive, the trailing dot
/// optional.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Whether `text` is a bare base64 secret: nothing but base64 characters and white space,
/// not starting as a comment.
fn bare(text: &str) -> Option<String> {
    let joined: String = text.split_whitespace().collect();
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    // `//` and `/*` open comments: a file of comments alone is not a secret
    let comment = joined.starts_with("//") || joined.starts_with("/*");
    (!joined.is_empty() && joined.chars().all(alphabet) && !comment).then_some(joined)
}

/// The `key` statements of a parsed file: `key NAME { … };`.
fn keys(list: &[Statement]) -> impl Iterator<Item = &Statement> {
    list.iter().filter(|s| {
        s.words.len() == 2 && s.words[0].eq_ignore_ascii_case("key") && s.block.is_some()
    })
}

/// Reads the key named `name` from the text of a key file.
pub fn find(text: &str, name: &str) -> Result<Found, Refusal> {
    if let Some(secret) = bare(text) {
        return Ok(Found {
            algorithm: None,
            secret,
            line: None,
        });
    }
    let list = parse(text).map_err(|(line, what)| Refusal::Syntax(line, what))?;
    if list.is_empty() {
        return Err(Refusal::Empty);
    }
    let all: Vec<&Statement> = keys(&list).collect();
    if all.is_empty() {
        return Err(Refusal::NoKeys);
    }
    let mut named = all.iter().filter(|k| same_name(&k.words[1], name));
    let Some(key) = named.next() else {
        return Err(Refusal::NotFound(
            all.iter().map(|k| k.words[1].clone()).collect(),
        ));
    };
    if let Some(again) = named.next() {
        return Err(Refusal::Twice(key.line, again.line));
    }
    let secret = key
        .value("secret")
        .ok_or(Refusal::Lacks("secret", key.line))?;
    let algorithm = key
        .value("algorithm")
        .ok_or(Refusal::Lacks("algorithm", key.line))?;
    Ok(Found {
        algorithm: Some(algorithm.trim_end_matches('.').to_ascii_lowercase()),
        secret: secret.split_whitespace().collect(),
        line: Some(key.line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "# made by tsig-keygen\n\
        key \"other\" {\n\talgorithm hmac-sha512;\n\tsecret \"b3RoZXI=\";\n};\n\
        /* the one zonekeeper uses\n   (several lines) */\n\
        key zonekeeper-secret. { // any name\n\talgorithm HMAC-SHA256;\n\tsecret \"c2VjcmV0\";\n};\n";

    #[test]
    fn chooses_the_key_by_name_among_several() {
        let k = find(TWO, "zonekeeper-secret").map_err(|e| format!("{e:?}"));
        let k = k.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.secret, "c2VjcmV0");
        assert_eq!(k.algorithm.as_deref(), Some("hmac-sha256"));
        assert_eq!(k.line, Some(8));
        let k = find(TWO, "OTHER.").map_err(|e| format!("{e:?}"));
        assert_eq!(k.unwrap_or_else(|e| panic!("{e}")).secret, "b3RoZXI=");
    }

    #[test]
    fn names_the_keys_found_when_the_one_asked_for_is_absent() {
        assert_eq!(
            find(TWO, "zonekeeper").err(),
            Some(Refusal::NotFound(vec![
                "other".into(),
                "zonekeeper-secret.".into()
            ]))
        );
    }

    #[test]
    fn bare_secrets_and_refusals() {
        assert_eq!(
            find("  c2Vj\ncmV0\n", "any").map(|k| k.secret).ok(),
            Some("c2VjcmV0".into())
        );
        assert_eq!(find("// nothing\n", "k").err(), Some(Refusal::Empty));
        assert_eq!(find("options { };\n", "k").err(), Some(Refusal::NoKeys));
        let unclosed = "key \"k\" {\n algorithm hmac-sha256;\n secret \"c2Vj\";\n";
        assert!(matches!(find(unclosed, "k"), Err(Refusal::Syntax(1, _))));
        let twice = "key k { algorithm hmac-sha256; secret \"YQ==\"; };\nkey K. { algorithm hmac-sha256; secret \"Yg==\"; };\n";
        assert_eq!(find(twice, "k").err(), Some(Refusal::Twice(1, 2)));
        let lacks = "key k {\n algorithm hmac-sha256;\n};\n";
        assert_eq!(find(lacks, "k").err(), Some(Refusal::Lacks("secret", 1)));
    }

    #[test]
    fn a_syntax_error_never_shows_the_text() {
        let secret = "c2VjcmV0c2VjcmV0";
        let text = format!("key k {{ algorithm hmac-sha256; secret \"{secret}\" }};\n");
        match find(&text, "k") {
            Err(Refusal::Syntax(_, what)) => assert!(!what.contains(secret), "{what}"),
            other => panic!("{:?}", other.err()),
        }
    }
}
