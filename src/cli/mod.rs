//! The command line: flags defined once with their docs (clap derive), one file per
//! subcommand that turns arguments into a call of the library. No DNS logic lives here.

pub mod out;

pub mod apply;
pub mod check;
pub mod drift;
pub mod hook;
pub mod import;
pub mod import_fleet;
pub mod import_report;
#[cfg(feature = "lab")]
pub mod lab;
pub mod maintenance;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod show;
pub mod state;
pub mod status;
pub mod unlock;
pub mod validate;
pub mod watch;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Keeps authoritative DNS servers in line with a desired state held in Git.
#[derive(Debug, Parser)]
#[command(name = "zonekeeper", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// The desired-state Git repository (its top directory, or a bare repository). Its top
    /// is where state lives: the default store and lab in `.zonekeeper/`, and relative
    /// paths of zonekeeper.yaml.
    #[arg(long, global = true, default_value = ".", env = "ZONEKEEPER_REPO")]
    pub repo: PathBuf,
    /// The revision to read (a commit, branch or tag).
    #[arg(long, global = true, default_value = "HEAD")]
    pub rev: String,
    /// Read the uncommitted files of the work tree instead of a commit (validate and plan).
    #[arg(long, global = true)]
    pub worktree: bool,
    /// The store: an SQLite file path (relative: from the working directory), sqlite:PATH,
    /// or postgres://… [default: .zonekeeper/zonekeeper.sqlite in the repository's top]
    #[arg(long, global = true, env = "ZONEKEEPER_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the desired state at a revision; report every problem at once (exit 0 valid, 1 invalid).
    Validate,
    /// Show what apply would change: zones created, updated, deleted, record by record.
    Plan(plan::PlanArgs),
    /// Carry out the plan on the servers, verify every server, record the result.
    Apply(apply::ApplyArgs),
    /// The primary, groups and servers with their zone counts and last checks, and the
    /// last applied revision.
    Status,
    /// Ask every server about each of its zones now: OK, RETRY or BROKEN, and the zones
    /// each lags on (exit 0 all OK, 2 not).
    Check(check::CheckArgs),
    /// Take a secondary out knowingly (`on`), or bring it back (`off`).
    Maintenance {
        /// The secondary's name.
        server: String,
        /// on or off.
        #[arg(value_enum)]
        switch: maintenance::Switch,
    },
    /// One zone as desired, recorded and served, with its operations.
    #[command(subcommand)]
    Show(show::ShowCommand),
    /// Pass a manual gate of an operation (e.g. "registrar updated").
    Confirm {
        /// The operation's number.
        op: i64,
        /// The step's number.
        step: i64,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Put a stuck operation's current step back to pending, so the next apply acts again.
    Reset {
        /// The operation's number.
        op: i64,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Drop an unwanted operation.
    Cancel {
        /// The operation's number.
        op: i64,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Remove the apply lock of an apply that is gone (its id is shown by `status` and by
    /// the refusal of a second apply).
    Unlock {
        /// The lock's id.
        lock_id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// The daemon: apply new commits of the branch, carry waiting operations on, sweep
    /// the fleet; one of several daemons on a PostgreSQL store leads.
    Watch(watch::WatchArgs),
    /// Compare the primary's zones (AXFR) with what was recorded now; show drift record by
    /// record (exit 0 none, 2 drift, 1 error).
    Drift(drift::DriftArgs),
    /// Write a zone's YAML file into the work tree from another source (the primary), for
    /// review and commit.
    Import(import::ImportArgs),
    /// Git server hooks of the desired-state repository: validate pushes, apply them.
    #[command(subcommand)]
    Hook(hook::HookCommand),
    /// A local BIND lab shaped after zonekeeper.yaml, for trying zonekeeper out.
    #[cfg(feature = "lab")]
    #[command(subcommand)]
    Lab(lab::LabCommand),
}

/// Whether to colour output: only on a terminal, and never with NO_COLOR set.
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> miette::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))?;
    let g = &cli.global;
    match &cli.command {
        Command::Validate => validate::run(g),
        Command::Plan(args) => runtime.block_on(plan::run(g, args)),
        Command::Apply(args) => runtime.block_on(apply::run(g, args)),
        Command::Status => runtime.block_on(status::run(g)),
        Command::Check(args) => runtime.block_on(check::run(g, args)),
        Command::Maintenance { server, switch } => {
            runtime.block_on(maintenance::run(g, server, *switch))
        }
        #[cfg(feature = "lab")]
        Command::Lab(cmd) => lab::run(g, cmd),
        Command::Show(cmd) => runtime.block_on(show::run(g, cmd)),
        Command::Confirm { op, step, yes } => {
            runtime.block_on(ops::run(g, ops::What::Confirm(*op, *step), *yes))
        }
        Command::Reset { op, yes } => runtime.block_on(ops::run(g, ops::What::Reset(*op), *yes)),
        Command::Cancel { op, yes } => runtime.block_on(ops::run(g, ops::What::Cancel(*op), *yes)),
        Command::Unlock { lock_id, yes } => runtime.block_on(unlock::run(g, lock_id, *yes)),
        Command::Hook(cmd) => hook::run(g, cmd, &runtime),
        Command::Watch(args) => runtime.block_on(watch::run(g, args)),
        Command::Drift(args) => runtime.block_on(drift::run(g, args)),
        Command::Import(args) => runtime.block_on(import::run(g, args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn documented_spellings_parse() {
        for args in [
            &["zonekeeper", "validate", "--worktree", "--format", "json"][..],
            &[
                "zonekeeper",
                "plan",
                "--out",
                "p.json",
                "--detailed-exitcode",
                "--repo",
                "r",
            ],
            &["zonekeeper", "apply", "p.json"],
            &[
                "zonekeeper",
                "apply",
                "--auto-approve",
                "--allow-delete",
                "--verify-timeout",
                "5",
            ],
            &["zonekeeper", "--db", "postgres://u@h/db", "status"],
            &["zonekeeper", "show", "zone", "example.com"],
            &["zonekeeper", "confirm", "12", "3", "--yes"],
            &["zonekeeper", "reset", "12"],
            &["zonekeeper", "cancel", "12", "--yes"],
            &["zonekeeper", "unlock", "3f9a1c2e4b5d6e7f", "--yes"],
            &["zonekeeper", "hook", "pre-receive", "--branch", "main"],
            &["zonekeeper", "hook", "post-receive"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
        let lab = ["zonekeeper", "lab", "up", "--dir", "state/lab"];
        assert_eq!(
            Cli::try_parse_from(lab).is_ok(),
            cfg!(feature = "lab"),
            "the lab command exists exactly with the `lab` feature"
        );
        assert!(
            Cli::try_parse_from(["zonekeeper", "confirm", "x", "1"]).is_err(),
            "operation numbers are numbers"
        );
    }
}
