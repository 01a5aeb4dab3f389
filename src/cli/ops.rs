//! `zonekeeper confirm OP STEP`, `reset OP` and `cancel OP`: the operator's hands on a
//! staged operation (a manual gate passed, a stuck operation retried, an unwanted one
//! dropped).

use std::io::{BufRead, IsTerminal};

use miette::IntoDiagnostic;

use super::Global;
use super::plan::{now, open_store};
use crate::procedures::Kind;
use crate::store::{OperationRow, Operator, Store};
use crate::{out, outln};

/// Exit code of `apply` when an operation waits at a closed gate: not an error, not done.
pub const WAITING: u8 = 3;

/// The line every question ends with.
pub const ONLY_YES: &str = "Only 'yes' will be accepted to approve.";

/// Asks `question` on the terminal unless `yes`; refuses without a terminal, naming
/// `flag`, the option that answers yes in advance. Consent is the answer `yes`, as
/// Terraform asks: anything else (`y`, an empty line, the end of input) is a no.
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
    out!("{question}\n  {ONLY_YES}\n\n  Enter a value: ")?;
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    if !matches!(read, Ok(n) if n > 0 && answer.ends_with('\n')) {
        // the end of input: the prompt's line is ended here
        outln!()?;
    }
    outln!()?;
    Ok(read.is_ok() && answer.trim() == "yes")
}

/// A question answered other than `yes`: prints `message` (what was cancelled, and that
/// nothing changed); exit code 1.
pub fn declined(message: &str) -> miette::Result<u8> {
    outln!("{message}")?;
    Ok(1)
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
    // Each action is one transaction that bumps the operation's version: an apply running
    // meanwhile never writes its stale copy over it (it reads the operation again).
    let (done, message) = match what {
        What::Confirm(_, idx) => {
            let Some(step) = op.steps.iter().find(|s| s.idx == idx) else {
                return Err(miette::miette!("operation {id} has no step {idx}"));
            };
            if !ask(
                &format!("Confirm step {idx} ({}) of operation {id}?", step.name),
                yes,
                "--yes",
            )? {
                return declined(&format!(
                    "Confirm cancelled: step {idx} of operation {id} still waits; nothing changed."
                ));
            }
            let action = Operator::Confirm { idx };
            let done = store
                .operator(id, action, "confirmed by the operator", now)
                .await
                .into_diagnostic()?;
            let message = format!(
                "Step {idx} of operation {id} confirmed; run `zonekeeper apply` to continue (an apply running now honours it)."
            );
            (done, message)
        }
        What::Reset(_) => {
            let Some(step) = op.steps.iter().find(|s| s.state != "done") else {
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
                return declined(&format!(
                    "Reset cancelled: operation {id} is left as it was; nothing changed."
                ));
            }
            let action = Operator::Reset { idx: step.idx };
            let done = store
                .operator(id, action, "reset by the operator", now)
                .await
                .into_diagnostic()?;
            let message = format!(
                "Operation {id} resumes at step {} ({}) on the next apply.",
                step.idx, step.name
            );
            (done, message)
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
                return declined(&format!(
                    "Cancel cancelled: operation {id} goes on; nothing changed."
                ));
            }
            cancel(&store, &op, now).await?
        }
    };
    if !done {
        let state = store
            .operation(id)
            .await
            .into_diagnostic()?
            .map(|o| o.state)
            .unwrap_or_else(|| "gone".into());
        return Err(miette::miette!(
            help = "`zonekeeper status` shows the operations",
            "operation {id} is {state}: nothing was changed"
        ));
    }
    outln!("{message}")?;
    store.close().await;
    Ok(0)
}

/// Cancels `op`. A membership change (a secondary joining or leaving a group) is undone in
/// the recorded group as well: the server's NS must never be published (or withdrawn)
/// without its operation's gates, so the next apply, seeing the desired group differ from
/// the recorded one again, starts the operation afresh. Moves of zones, cut-overs and
/// primary moves are derived from the recorded zones and primary, which only a finished
/// step changes, so they too start afresh. Returns whether it was cancelled, and what to
/// say.
async fn cancel(store: &Store, op: &OperationRow, now: i64) -> miette::Result<(bool, String)> {
    let membership = match Kind::parse(&op.kind) {
        Some(Kind::AddSecondary) => Some((op.group.as_str(), op.server.as_str(), true)),
        Some(Kind::RemoveSecondary) => Some((op.group.as_str(), op.server.as_str(), false)),
        _ => None,
    };
    let done = store
        .operator(
            op.id,
            Operator::Cancel { membership },
            "cancelled by the operator",
            now,
        )
        .await
        .into_diagnostic()?;
    let id = op.id;
    let message = match membership {
        Some((group, server, joined)) => format!(
            "Operation {id} cancelled; group {group} is recorded {} {server} again. The next apply starts the change afresh from zonekeeper.yaml (its NS {} only once its gates hold); to drop it, revert the change in Git first.",
            if joined { "without" } else { "with" },
            if joined {
                "is published"
            } else {
                "is withdrawn"
            },
        ),
        None => format!(
            "Operation {id} cancelled. The next apply starts it afresh from the desired state; to drop it, revert the change in Git first."
        ),
    };
    Ok((done, message))
}
