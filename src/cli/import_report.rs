//! What `zonekeeper import` of files or transfers did: each zone's outcome, the serials
//! recorded in the store, and the summary printed (text, or `--format json`).

use super::plan::now;
use super::{Format, Global};
use crate::import::Problem;
use crate::import::output::Outcome;
use crate::store::SerialFloor;
use crate::{out, outln};

/// One zone's outcome and the warnings of its reading.
pub struct Done {
    /// What became of it.
    pub outcome: Outcome,
    /// What BIND would have warned about.
    pub warnings: Vec<Problem>,
}

/// Records the serial of every zone written; how many, or why not.
pub async fn record_floors(g: &Global, done: &[Done], source: &str) -> Result<usize, String> {
    let at = now();
    let floors: Vec<SerialFloor> = done
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Written { zone, serial, .. } => Some(SerialFloor {
                name: zone.clone(),
                serial: *serial,
                source: source.to_string(),
                imported_at: at,
            }),
            _ => None,
        })
        .collect();
    if floors.is_empty() {
        return Ok(0);
    }
    let store = super::state::create_store(g)
        .await
        .map_err(|e| e.to_string())?;
    let r = store
        .record_serial_floors(&floors)
        .await
        .map_err(|e| e.to_string());
    store.close().await;
    r.map(|()| floors.len())
}

/// Prints what was done; the exit code.
pub fn report(
    format: Format,
    done: &[Done],
    problems: &[Problem],
    wrote_config: bool,
    floors: Result<usize, String>,
) -> miette::Result<u8> {
    let written: Vec<&Outcome> = done
        .iter()
        .map(|d| &d.outcome)
        .filter(|o| matches!(o, Outcome::Written { .. }))
        .collect();
    let records: usize = written
        .iter()
        .map(|o| match o {
            Outcome::Written { records, .. } => *records,
            _ => 0,
        })
        .sum();
    let exists: Vec<&str> = done
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Exists { zone, .. } => Some(zone.as_str()),
            _ => None,
        })
        .collect();
    let mut errors: Vec<&Problem> = problems.iter().collect();
    for d in done {
        if let Outcome::Failed { problems, .. } = &d.outcome {
            errors.extend(problems);
        }
    }
    let failed = done
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Failed { .. }))
        .count();
    let warnings: Vec<&Problem> = done.iter().flat_map(|d| &d.warnings).collect();
    let code = u8::from(!errors.is_empty() || floors.is_err());
    if format == Format::Json {
        outln!(
            "{}",
            serde_json::json!({
                "format": super::import::FORMAT,
                "written": written.len(), "records": records, "exists": exists.len(), "failed": failed,
                "zonekeeper_yaml_written": wrote_config,
                "serials_recorded": floors.as_ref().ok(), "store_error": floors.as_ref().err(),
                "zones": done.iter().map(|d| d.outcome.to_json()).collect::<Vec<_>>(),
                "errors": errors.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
                "warnings": warnings.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
            })
        )?;
        return Ok(code);
    }
    outln!(
        "Imported {} zone(s), {records} records, into zones/ of the work tree.",
        written.len()
    )?;
    if !exists.is_empty() {
        let shown: Vec<&str> = exists.iter().take(20).copied().collect();
        let more = if exists.len() > 20 {
            format!(" and {} more", exists.len() - 20)
        } else {
            String::new()
        };
        outln!(
            "{} zone(s) left as they are, their file exists (--force overwrites): {}{more}",
            exists.len(),
            shown.join(", ")
        )?;
    }
    for w in &warnings {
        outln!("warning: {w}")?;
    }
    if !errors.is_empty() {
        outln!(
            "{failed} zone(s) not imported (nothing written for them), {} problem(s):",
            errors.len()
        )?;
        for e in &errors {
            outln!("  {e}")?;
        }
    }
    match &floors {
        Ok(0) => {}
        Ok(n) => outln!(
            "Recorded the serial of {n} zone(s) in the store: the apply that creates each continues it (RFC 1982)."
        )?,
        Err(e) => outln!(
            "The zone files were written, but their serials could not be recorded in the store: {e}. Run the import again with --force once the store is reachable, or the first apply starts each zone at today's date serial, which secondaries holding a greater serial ignore."
        )?,
    }
    if wrote_config {
        out!(
            "Wrote zonekeeper.yaml, a skeleton: fill in every TODO (primary, key, secondaries), run `zonekeeper validate --worktree`, then commit.\n"
        )?;
    }
    if !written.is_empty() {
        outln!("Review the files (`git status`, `git diff`), then commit them.")?;
    }
    Ok(code)
}
