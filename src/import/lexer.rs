//! The tokens of an RFC 1035 master file (§5.1): entries (one logical line each, which
//! parentheses may spread over several physical lines), split into tokens at blanks;
//! `;` starts a comment to the end of the physical line; a quoted string is one token and
//! may hold blanks, `;` and parentheses; `\X` and `\DDD` escape a character anywhere. A
//! token keeps its text as written (quotes and escapes included), since names and RDATA
//! are read by their own parsers, which know the escapes. An entry whose first physical
//! line starts with a blank has no owner: the previous owner's.

/// One token, as written, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text as written: a quoted string with its quotes, escapes as they are.
    pub text: String,
    /// It is a quoted string.
    pub quoted: bool,
    /// Line (from 1).
    pub line: usize,
    /// Column (from 1, in characters).
    pub col: usize,
}

/// One logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line it starts on.
    pub line: usize,
    /// It starts with a blank: the owner is the previous entry's.
    pub blank_owner: bool,
    /// Its tokens.
    pub tokens: Vec<Token>,
}

/// A place the text cannot be split into tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LexError {
    /// Line (from 1).
    pub line: usize,
    /// Column (from 1).
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The entries of `text`, and the places that could not be read (each such entry is
/// left out; reading goes on at the next line).
pub fn entries(text: &str) -> (Vec<Entry>, Vec<LexError>) {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    while lexer.pos < lexer.chars.len() {
        match lexer.entry() {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(e) => {
                errors.push(e);
                lexer.skip_line();
            }
        }
    }
    (out, errors)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    /// Past the end of the current physical line.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                return;
            }
        }
    }

    fn err(&self, line: usize, col: usize, message: &str, help: &str) -> LexError {
        LexError {
            line,
            col,
            message: message.into(),
            help: help.into(),
        }
    }

    /// One logical line from the current position (at the start of a physical line);
    /// `None` for a line with no tokens.
    fn entry(&mut self) -> Result<Option<Entry>, LexError> {
        let line = self.line;
        let blank_owner = matches!(self.peek(), Some(' ' | '\t'));
        let mut tokens = Vec::new();
        // where the open parenthesis is, if one is
        let mut open: Option<(usize, usize)> = None;
        loop {
            let Some(c) = self.peek() else {
                if let Some((l, c)) = open {
                    return Err(self.err(
                        l,
                        c,
                        "this parenthesis is never closed",
                        "close it with `)` at the end of the record",
                    ));
                }
                break;
            };
            match c {
                '\n' => {
                    self.bump();
                    if open.is_none() {
                        break;
                    }
                }
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                ';' => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                }
                '(' => {
                    if let Some((l, c)) = open {
                        return Err(self.err(
                            l,
                            c,
                            "parentheses do not nest in a zone file",
                            "close the first `(` before opening another",
                        ));
                    }
                    open = Some((self.line, self.col));
                    self.bump();
                }
                ')' => {
                    if open.is_none() {
                        return Err(self.err(
                            self.line,
                            self.col,
                            "`)` without `(`",
                            "remove it, or open the record with `(`",
                        ));
                    }
                    open = None;
                    self.bump();
                }
                '"' => tokens.push(self.quoted()?),
                _ => tokens.push(self.word()),
            }
        }
        Ok((!tokens.is_empty()).then_some(Entry {
            line,
            blank_owner,
            tokens,
        }))
    }

    /// A quoted string, quotes included.
    fn quoted(&mut self) -> Result<Token, LexError> {
        let (line, col) = (self.line, self.col);
        let mut text = String::new();
        text.extend(self.bump());
        loop {
            if self.peek() == Some('\n') {
                return Err(self.err(
                    line,
                    col,
                    "this quoted string is not closed on its line",
                    "end it with `\"`; write a `\"` inside it as `\\\"`",
                ));
            }
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.err(
                        line,
                        col,
                        "this quoted string is not closed on its line",
                        "end it with `\"`; write a `\"` inside it as `\\\"`",
                    ));
                }
                Some('\\') => {
                    text.push('\\');
                    match self.peek().filter(|c| *c != '\n').and_then(|_| self.bump()) {
                        None => {
                            return Err(self.err(
                                line,
                                col,
                                "this quoted string ends in a lone `\\`",
                                "write a backslash as `\\\\`",
                            ));
                        }
                        Some(c) => text.push(c),
                    }
                }
                Some('"') => {
                    text.push('"');
                    break;
                }
                Some(c) => text.push(c),
            }
        }
        Ok(Token {
            text,
            quoted: true,
            line,
            col,
        })
    }

    /// A token without quotes, up to a blank, `;`, a parenthesis or a quote.
    fn word(&mut self) -> Token {
        let (line, col) = (self.line, self.col);
        let mut text = String::new();
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '(' | ')' | '"' => break,
                '\\' => {
                    self.bump();
                    text.push('\\');
                    if let Some(n) = self.peek().filter(|n| *n != '\n') {
                        self.bump();
                        text.push(n);
                    }
                }
                _ => {
                    self.bump();
                    text.push(c);
                }
            }
        }
        Token {
            text,
            quoted: false,
            line,
            col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(e: &Entry) -> Vec<&str> {
        e.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn parentheses_join_lines_and_comments_are_dropped() {
        let (es, errs) =
            entries("@ IN SOA ns0 host ( 1 ; serial\n  2 3 ; more\n 4 5 )\nwww A 192.0.2.1 ; c\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(es.len(), 2);
        assert_eq!(
            texts(&es[0]),
            ["@", "IN", "SOA", "ns0", "host", "1", "2", "3", "4", "5"]
        );
        assert_eq!(
            (es[1].line, texts(&es[1])),
            (4, vec!["www", "A", "192.0.2.1"])
        );
    }

    #[test]
    fn quoted_strings_keep_blanks_semicolons_and_escapes() {
        let (es, errs) = entries("t TXT \"a; b (c)\" \"say \\\"hi\\\"\" x\\;y \"\\195\\169\"\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            texts(&es[0]),
            [
                "t",
                "TXT",
                "\"a; b (c)\"",
                "\"say \\\"hi\\\"\"",
                "x\\;y",
                "\"\\195\\169\""
            ]
        );
        assert!(es[0].tokens[2].quoted && !es[0].tokens[4].quoted);
        assert_eq!(es[0].tokens[2].col, 7);
    }

    #[test]
    fn a_blank_first_column_means_the_previous_owner() {
        let (es, _) = entries("www A 192.0.2.1\n\tA 192.0.2.2\n\n  ; only a comment\n");
        assert_eq!(es.len(), 2);
        assert!(!es[0].blank_owner && es[1].blank_owner);
    }

    #[test]
    fn errors_name_their_line_and_reading_goes_on() {
        let (es, errs) = entries("a TXT \"open\nb A 192.0.2.1\nc A 1 )\nd ( A\n");
        assert_eq!(
            errs.iter().map(|e| (e.line, e.col)).collect::<Vec<_>>(),
            [(1, 7), (3, 7), (4, 3)]
        );
        assert_eq!(es.len(), 1);
        assert_eq!(texts(&es[0]), ["b", "A", "192.0.2.1"]);
    }
}
