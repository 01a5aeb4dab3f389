//! `zonekeeper show`: what will happen (a saved plan, `show plan FILE`) and what is (one
//! zone as desired, recorded and served, `show zone NAME`).

pub mod plan;
pub mod zone;
mod zone_text;

use std::path::PathBuf;

use clap::Subcommand;

use super::Global;

/// What to show.
#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// A plan saved by `zonekeeper plan --out FILE`, as `plan` showed it (text, or JSON
    /// with `--format json`); reads the file only, no store or server.
    Plan {
        /// The saved plan.
        file: PathBuf,
    },
    /// A zone: its records as desired and as recorded (with the difference, as `plan`
    /// shows it), the serial each server serves, and its operations (exit 1 for a zone
    /// neither in the revision nor in the store).
    Zone {
        /// The zone's name.
        name: String,
        /// Show every record, however many (text shows the first 100 otherwise).
        #[arg(long)]
        all: bool,
    },
}

/// Runs `show`.
pub async fn run(g: &Global, cmd: &ShowCommand) -> miette::Result<u8> {
    match cmd {
        ShowCommand::Plan { file } => plan::run(g, file),
        ShowCommand::Zone { name, all } => zone::run(g, name, *all).await,
    }
}
