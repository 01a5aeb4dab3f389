//! `zonekeeper validate`: load and check a revision, print every problem.

use miette::IntoDiagnostic;

use super::{Format, Global, color_wanted};
use crate::desired::{self, LoadError, Source};
use crate::outln;

/// The format of validate's JSON (schema/output/validate.schema.json), also printed by
/// every command that finds the desired state invalid.
pub const FORMAT: &str = "zonekeeper-validate/1";

/// Exit code of an invalid desired state.
pub const INVALID: u8 = 1;

/// Runs `validate`.
pub fn run(g: &Global) -> miette::Result<u8> {
    let source = Source::open(&g.repo, Some(&g.rev), g.worktree).into_diagnostic()?;
    match desired::check(&source) {
        Ok(state) => {
            match g.format {
                Format::Text => outln!(
                    "{} is valid: {} zone(s), {} group(s), {} secondar{}.",
                    short(&state.revision.id),
                    state.zones,
                    state.config.groups.len(),
                    state.config.secondaries.len(),
                    if state.config.secondaries.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                )?,
                Format::Json => outln!(
                    "{}",
                    serde_json::json!({"format": FORMAT, "valid": true, "revision": state.revision.id, "zones": state.zones, "problems": []})
                )?,
            }
            Ok(0)
        }
        Err(LoadError::Invalid(problems)) => {
            report_problems(g.format, &source.revision().id, &problems)?;
            Ok(INVALID)
        }
        Err(e) => Err(e).into_diagnostic(),
    }
}

/// Prints problems in the chosen format (text to stderr, JSON to stdout).
pub fn report_problems(
    format: Format,
    revision: &str,
    problems: &desired::Problems,
) -> miette::Result<()> {
    match format {
        Format::Text => {
            eprint!("{}", problems.render(color_wanted()));
            Ok(())
        }
        Format::Json => outln!(
            "{}",
            serde_json::json!({
                "format": FORMAT,
                "valid": false,
                "revision": revision,
                "problems": problems.0.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
            })
        ),
    }
}

/// The first 12 characters of a commit id.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
