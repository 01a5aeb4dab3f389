//! What BIND's configuration grammar holds for an import: the primary zones of a
//! `named.conf` (`zone "x" { type primary; file "…"; };`, in views too, `include`
//! statements followed, relative paths resolved against the `directory` option), the
//! TSIG key of a key file (`key "name" { algorithm hmac-sha256; secret "…"; };`), and the
//! zone names of a listing (one per line, or `rndc showzone`-style `zone "x" { … };`).
//!
//! The grammar: statements of words, quoted strings and `{ … }` blocks, ended by `;`;
//! comments `//`, `#` and `/* */`. Secrets are read only where a key is wanted and never
//! put in a message.

use std::path::{Path, PathBuf};

use super::Problem;

/// A statement: its words (quotes taken off), its block when it has one, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The words before the block.
    pub words: Vec<String>,
    /// The block's statements.
    pub block: Option<Vec<Statement>>,
    /// Where it starts.
    pub line: usize,
}

impl Statement {
    /// The first word, lower case.
    fn keyword(&self) -> String {
        self.words
            .first()
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The value of the sub-statement `key` of the block (`type primary;` → `primary`).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.block
            .as_ref()?
            .iter()
            .find(|s| s.keyword() == key)
            .and_then(|s| s.words.get(1))
            .map(String::as_str)
    }
}

/// One token of the grammar, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    End,
}

fn tokens(text: &str) -> Result<Vec<(Tok, usize)>, (usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line) = (0, 1);
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = line;
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                if i >= chars.len() {
                    return Err((start, "this /* comment is never closed".into()));
                }
                i += 2;
            }
            '{' | '}' | ';' => {
                out.push((
                    match c {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        _ => Tok::End,
                    },
                    line,
                ));
                i += 1;
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    line += usize::from(chars[i] == '\n');
                    s.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err((start, "this quoted string is never closed".into()));
                }
                i += 1;
                out.push((Tok::Word(s), start));
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() && !chars[i].is_whitespace() && !"{};\"".contains(chars[i]) {
                    s.push(chars[i]);
                    i += 1;
                }
                out.push((Tok::Word(s), line));
            }
        }
    }
    Ok(out)
}

/// The statements of `text`, or the line and what is wrong.
pub fn parse(text: &str) -> Result<Vec<Statement>, (usize, String)> {
    let toks = tokens(text)?;
    let mut pos = 0;
    let list = statements(&toks, &mut pos, 0)?;
    if let Some((_, line)) = toks.get(pos) {
        return Err((*line, "`}` without `{`".into()));
    }
    Ok(list)
}

fn statements(
    toks: &[(Tok, usize)],
    pos: &mut usize,
    depth: usize,
) -> Result<Vec<Statement>, (usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<Statement> = None;
    while let Some((tok, line)) = toks.get(*pos) {
        let st = current.get_or_insert_with(|| Statement {
            words: Vec::new(),
            block: None,
            line: *line,
        });
        match tok {
            Tok::Word(w) => {
                st.words.push(w.clone());
                *pos += 1;
            }
            Tok::Open => {
                *pos += 1;
                if depth > 32 {
                    return Err((*line, "blocks nest too deep".into()));
                }
                st.block = Some(statements(toks, pos, depth + 1)?);
                match toks.get(*pos) {
                    Some((Tok::Close, _)) => *pos += 1,
                    _ => return Err((*line, "this `{` is never closed".into())),
                }
            }
            Tok::Close => {
                if let Some(st) = current.take().filter(|s| !s.words.is_empty()) {
                    return Err((st.line, "a statement without `;` before `}`".into()));
                }
                return Ok(out);
            }
            Tok::End => {
                *pos += 1;
                if let Some(st) = current
                    .take()
                    .filter(|s| !s.words.is_empty() || s.block.is_some())
                {
                    out.push(st);
                }
            }
        }
    }
    if let Some(st) = current.filter(|s| !s.words.is_empty() || s.block.is_some()) {
        return Err((st.line, "this statement has no `;`".into()));
    }
    Ok(out)
}

/// A primary zone of a `named.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfZone {
    /// Its name as written.
    pub name: String,
    /// Its file, resolved.
    pub file: PathBuf,
    /// The server's `directory` (for `$INCLUDE`s).
    pub directory: PathBuf,
}

/// The zones of a `named.conf`: the primary ones, and the others' names with their type
/// (not imported from files: a secondary's file is the server's copy, often in raw
/// format).
pub type ConfZones = (Vec<ConfZone>, Vec<(String, String)>);

/// The zones of `named.conf` at `path` (includes followed).
pub fn zones(path: &Path) -> Result<ConfZones, Vec<Problem>> {
    let mut all = Vec::new();
    let mut problems = Vec::new();
    read_conf(path, 0, &mut all, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let conf_dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let directory = all
        .iter()
        .find(|s| s.keyword() == "options")
        .and_then(|o| o.value("directory"))
        .map(|d| conf_dir.join(d))
        .unwrap_or(conf_dir);
    let mut primaries = Vec::new();
    let mut others = Vec::new();
    let mut visit = |s: &Statement| {
        if s.keyword() != "zone" || s.words.len() < 2 {
            return;
        }
        let name = s.words[1].clone();
        let kind = s.value("type").unwrap_or("").to_ascii_lowercase();
        match (kind.as_str(), s.value("file")) {
            ("primary" | "master", Some(file)) => primaries.push(ConfZone {
                name,
                file: directory.join(file),
                directory: directory.clone(),
            }),
            _ => others.push((name, kind)),
        }
    };
    for s in &all {
        if s.keyword() == "view" {
            s.block.iter().flatten().for_each(&mut visit);
        } else {
            visit(s);
        }
    }
    Ok((primaries, others))
}

/// Reads one configuration file into `out`, following its `include`s.
fn read_conf(path: &Path, depth: usize, out: &mut Vec<Statement>, problems: &mut Vec<Problem>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::whole(
                path,
                format!("cannot read {}: {e}", path.display()),
                "check the path",
            ));
            return;
        }
    };
    let list = match parse(&text) {
        Ok(l) => l,
        Err((line, message)) => {
            problems.push(Problem {
                file: path.to_path_buf(),
                line,
                col: 0,
                message,
                help: "BIND's grammar: statements end with `;`, blocks are `{ … };`".into(),
            });
            return;
        }
    };
    for s in list {
        if s.keyword() == "include" && s.words.len() == 2 && depth < 16 {
            let inc = PathBuf::from(&s.words[1]);
            let inc = match inc.is_absolute() {
                true => inc,
                false => path.parent().unwrap_or(Path::new(".")).join(inc),
            };
            read_conf(&inc, depth + 1, out, problems);
        } else {
            out.push(s);
        }
    }
}

/// A TSIG key from a BIND key file: name, algorithm and base64 secret.
pub struct KeyFile {
    /// The key's name.
    pub name: String,
    /// Its algorithm, lower case (`hmac-sha256`).
    pub algorithm: String,
    /// The secret, base64 (never shown).
    pub secret: String,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyFile {{ name: {}, algorithm: {}, secret: **** }}",
            self.name, self.algorithm
        )
    }
}

/// The first key of the key file at `path`. Messages never hold the secret.
pub fn key_file(path: &Path) -> Result<KeyFile, Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problem::whole(
            path,
            format!("cannot read the key file {}: {e}", path.display()),
            "check the path",
        )
    })?;
    let grammar = "a BIND key file: key \"name\" { algorithm hmac-sha256; secret \"…\"; };";
    let list = parse(&text).map_err(|(line, _)| Problem {
        file: path.to_path_buf(),
        line,
        col: 0,
        message: "the key file cannot be read".into(),
        help: grammar.into(),
    })?;
    let key = list
        .iter()
        .find(|s| s.keyword() == "key" && s.words.len() == 2 && s.block.is_some())
        .ok_or_else(|| Problem::whole(path, "the file holds no key statement", grammar))?;
    let (Some(algorithm), Some(secret)) = (key.value("algorithm"), key.value("secret")) else {
        return Err(Problem::whole(
            path,
            format!("key {} lacks its algorithm or secret", key.words[1]),
            grammar,
        ));
    };
    Ok(KeyFile {
        name: key.words[1].clone(),
        algorithm: algorithm.to_ascii_lowercase(),
        secret: secret.to_string(),
    })
}

/// The zone names of a listing: one per line, or `zone "x" …` lines (`rndc showzone`,
/// a `named.conf` excerpt); blank lines and comments (`#`, `;`, `//`) skipped.
pub fn listing(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') || l.starts_with("//") {
            continue;
        }
        let name = match l.strip_prefix("zone") {
            Some(rest) if rest.starts_with([' ', '\t']) => {
                let rest = rest.trim_start();
                match rest.strip_prefix('"') {
                    Some(q) => q.split('"').next().unwrap_or(""),
                    None => rest.split_whitespace().next().unwrap_or(""),
                }
            }
            _ => l.split_whitespace().next().unwrap_or(""),
        };
        if !name.is_empty() {
            out.push((i + 1, name.to_string()));
        }
    }
    out
}
