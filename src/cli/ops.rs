//! `zonekeeper confirm OP STEP`, `reset OP` and `cancel OP`: the operator's hands on a
//! staged operation (a manual gate passed, a stuck operation retried, an unwanted one
//! dropped).

use std::io::{BufRead, IsTerminal, Write};

use miette::IntoDiagnostic;

use super::Global;
use super::plan::{now, open_store};
use crate::{out, outln};

/// Exit code of `apply` when an operation waits at a closed gate: not an error, not done.
pub const WAITING: u8 = 3;

/// Asks `question` on the terminal unless `yes`; refuses without a terminal, naming
/// `flag`, the option that answers yes in advance.
pub fn ask(question: &str, yes: bool, flag: &str) -> miette::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(miette::miette!(
            help = format!("pass {flag}"),
            "not asking \"{question}\" without a terminal"
        ));
    }
    out!("{question} [y/N] ")?;
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "yes"))
}

/// What to do to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Confirm a manual gate.
    Confirm(i64, i64),
    /// Put the current step back to pending.
    Reset(i64),
    /// Drop the operation.
    Cancel(i64),
}

/// Runs confirm, reset or cancel.
pub async fn run(g: &Global, what: What, yes: bool) -> miette::Result<u8> {
    let store = open_store(g).await?;
    let id = match what {
        What::Confirm(op, _) | What::Reset(op) | What::Cancel(op) => op,
    };
    let Some(op) = store.operation(id).await.into_diagnostic()? else {
        return Err(miette::miette!(
            help = "`zonekeeper status` lists the operations",
            "there is no operation {id}"
        ));
    };
    if op.state != "active" {
        return Err(miette::miette!(
            "operation {id} is {}; nothing to do",
            op.state
        ));
    }
    let now = now();
    match what {
        What::Confirm(_, idx) => {
            let Some(mut step) = op.steps.iter().find(|s| s.idx == idx).cloned() else {
                return Err(miette::miette!("operation {id} has no step {idx}"));
            };
            if !ask(
                &format!("Confirm step {idx} ({}) of operation {id}?", step.name),
                yes,
                "--yes",
            )? {
                return Ok(1);
            }
            step.confirmed = true;
            step.updated_at = now;
            step.message = "confirmed by the operator".into();
            store.set_step(id, &step).await.into_diagnostic()?;
            outln!("Step {idx} of operation {id} confirmed; run `zonekeeper apply` to continue.")?;
        }
        What::Reset(_) => {
            let Some(mut step) = op.steps.iter().find(|s| s.state != "done").cloned() else {
                return Err(miette::miette!("every step of operation {id} is done"));
            };
            if !ask(
                &format!(
                    "Reset step {} ({}) of operation {id}, so it acts again?",
                    step.idx, step.name
                ),
                yes,
                "--yes",
            )? {
                return Ok(1);
            }
            step.state = "pending".into();
            step.attempts = 0;
            step.not_before = None;
            step.message = "reset by the operator".into();
            step.updated_at = now;
            store.set_step(id, &step).await.into_diagnostic()?;
            outln!(
                "Operation {id} resumes at step {} ({}) on the next apply.",
                step.idx,
                step.name
            )?;
        }
        What::Cancel(_) => {
            if !ask(
                &format!(
                    "Cancel operation {id} ({} {} in group {})?",
                    op.kind, op.server, op.group
                ),
                yes,
                "--yes",
            )? {
                return Ok(1);
            }
            store
                .set_operation_state(id, "cancelled", now)
                .await
                .into_diagnostic()?;
            outln!(
                "Operation {id} cancelled. Its zones are no longer held back: revert the change in Git, or the next apply publishes it directly."
            )?;
        }
    }
    store.close().await;
    Ok(0)
}
