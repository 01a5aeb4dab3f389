//! Errors for programs: with `--format json`, a command that fails prints one JSON
//! document, `zonekeeper-error/1` (schema/output/error.schema.json), on stdout, where the
//! program reads its output, instead of the text report on stderr; usage errors too.
//! The exit code is the same as in text (1).

use miette::{Diagnostic, SourceSpan};
use serde_json::{Value, json};

/// The format of an error document.
pub const FORMAT: &str = "zonekeeper-error/1";

/// Whether the raw arguments ask for JSON (`--format json` or `--format=json`), for a
/// usage error, when the arguments could not be parsed.
pub fn asked_in(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1))
        .any(|(a, b)| a == "--format" && b == "json")
        || args.iter().any(|a| a == "--format=json")
}

/// One labelled place of a diagnostic: its label, and where it is when the source is known.
fn label_json(diag: &dyn Diagnostic, label: &miette::LabeledSpan) -> Value {
    let span: SourceSpan = *label.inner();
    let place = diag
        .source_code()
        .and_then(|src| src.read_span(&span, 0, 0).ok())
        .map(|c| {
            json!({
                "file": c.name(),
                "line": c.line() + 1,
                "column": c.column() + 1,
            })
        });
    let mut out = json!({"label": label.label(), "offset": span.offset(), "length": span.len()});
    if let (Some(place), Some(map)) = (place, out.as_object_mut()) {
        for (k, v) in place.as_object().into_iter().flatten() {
            map.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The body of one diagnostic (the error, or one of its related ones).
fn diagnostic_json(diag: &dyn Diagnostic) -> Value {
    let mut causes = Vec::new();
    let mut next = diag.source();
    while let Some(e) = next {
        causes.push(e.to_string());
        next = e.source();
    }
    json!({
        "message": diag.to_string(),
        "code": diag.code().map(|c| c.to_string()),
        "help": diag.help().map(|h| h.to_string()),
        "labels": diag
            .labels()
            .map(|ls| ls.map(|l| label_json(diag, &l)).collect::<Vec<_>>())
            .unwrap_or_default(),
        "causes": causes,
        "related": diag
            .related()
            .map(|rs| rs.map(diagnostic_json).collect::<Vec<_>>())
            .unwrap_or_default(),
    })
}

/// A command's error as a `zonekeeper-error/1` document.
pub fn report(report: &miette::Report) -> Value {
    let diag: &dyn Diagnostic = report.as_ref();
    json!({"format": FORMAT, "error": diagnostic_json(diag)})
}

/// A usage error (the arguments could not be parsed) as a `zonekeeper-error/1` document:
/// clap's message, its tips as the help, and the usage line.
pub fn usage(e: &clap::Error) -> Value {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines
        .next()
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    let tips: Vec<&str> = rest
        .iter()
        .filter(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(|l| l.trim_start_matches("tip:").trim())
        .collect();
    let usage = rest.iter().find(|l| l.starts_with("Usage:"));
    let help = match (tips.is_empty(), usage) {
        (false, _) => Some(tips.join("; ")),
        (true, Some(u)) => Some(format!("{u}; see --help")),
        (true, None) => None,
    };
    json!({
        "format": FORMAT,
        "error": {
            "message": message,
            "code": format!("usage::{}", kind_name(e.kind())),
            "help": help,
            "labels": [],
            "causes": [],
            "related": [],
        }
    })
}

/// A stable name for a kind of usage error.
fn kind_name(kind: clap::error::ErrorKind) -> &'static str {
    use clap::error::ErrorKind as K;
    match kind {
        K::InvalidValue => "invalid-value",
        K::UnknownArgument => "unknown-argument",
        K::InvalidSubcommand => "invalid-subcommand",
        K::NoEquals => "no-equals",
        K::ValueValidation => "value-validation",
        K::TooManyValues => "too-many-values",
        K::TooFewValues => "too-few-values",
        K::WrongNumberOfValues => "wrong-number-of-values",
        K::ArgumentConflict => "argument-conflict",
        K::MissingRequiredArgument => "missing-required-argument",
        K::MissingSubcommand => "missing-subcommand",
        K::InvalidUtf8 => "invalid-utf8",
        _ => "other",
    }
}
