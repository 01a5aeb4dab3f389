//! A problem found in the desired state, pointing at the file, line and column of the
//! offending value, with a hint saying what to do. Rendered by miette, or as JSON.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde_saphyr::Location;

/// One file's text, shared by every problem found in it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path inside the repository, e.g. `zones/example.com.yaml`.
    pub path: String,
    /// The file's text.
    pub text: Arc<String>,
}

impl SourceFile {
    /// A file with its text.
    pub fn new(path: impl Into<String>, text: String) -> Self {
        SourceFile {
            path: path.into(),
            text: Arc::new(text),
        }
    }
}

/// Where in a file: byte span plus 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Place {
    /// The place of a value parsed with serde-saphyr.
    pub fn of(loc: &Location) -> Place {
        let span = loc.span();
        Place {
            offset: span.byte_offset().unwrap_or(0) as usize,
            len: span.byte_len().unwrap_or(0) as usize,
            line: loc.line() as usize,
            column: loc.column() as usize,
        }
    }

    /// The start of a file.
    pub fn start() -> Place {
        Place {
            offset: 0,
            len: 0,
            line: 1,
            column: 1,
        }
    }
}

/// A problem in the desired state.
#[derive(Debug, Clone)]
pub struct Problem {
    /// A stable code, e.g. `zone::cname-conflict`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The file it is in.
    pub file: SourceFile,
    /// The main place, and its label.
    pub place: Place,
    /// The label on the main place.
    pub label: String,
    /// Other places that explain it (e.g. the record a CNAME conflicts with).
    pub related: Vec<(Place, String)>,
    source: NamedSource<Arc<String>>,
}

impl Problem {
    /// A problem at a place.
    pub fn new(
        code: &'static str,
        file: &SourceFile,
        place: Place,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Problem {
            code,
            label: "here".into(),
            message,
            help: None,
            file: file.clone(),
            place,
            related: Vec::new(),
            source: NamedSource::new(file.path.clone(), file.text.clone()),
        }
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the label on the main place.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a related place.
    pub fn also(mut self, place: Place, label: impl Into<String>) -> Self {
        self.related.push((place, label.into()));
        self
    }

    /// `file:line:col`.
    pub fn location(&self) -> String {
        format!(
            "{}:{}:{}",
            self.file.path, self.place.line, self.place.column
        )
    }

    /// The problem as JSON, for `--format json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "file": self.file.path,
            "line": self.place.line,
            "column": self.place.column,
            "message": self.message,
            "help": self.help,
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = |p: &Place| SourceSpan::from((p.offset, p.len));
        let main = LabeledSpan::new_primary_with_span(Some(self.label.clone()), span(&self.place));
        let rest = self
            .related
            .iter()
            .map(move |(p, l)| LabeledSpan::new_with_span(Some(l.clone()), span(p)));
        Some(Box::new(std::iter::once(main).chain(rest)))
    }
}

/// Every problem found in one revision.
#[derive(Debug, Clone, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Renders every problem as miette diagnostics (colour only when asked).
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        // wrapped at spaces only, as every message (main.rs): a path stays whole
        let handler = miette::GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_break_words(false)
            .with_word_separator(textwrap::WordSeparator::AsciiSpace)
            .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
        let mut out = String::new();
        for p in &self.0 {
            let _ = handler.render_report(&mut out, p);
            out.push('\n');
        }
        out.push_str(&format!(
            "{} problem{} found; nothing was changed.\n",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        ));
        out
    }
}
