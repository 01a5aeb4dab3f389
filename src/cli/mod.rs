//! The command line: flags defined once with their docs (clap derive), one file per
//! subcommand that turns arguments into a call of the library. No DNS logic lives here.

pub mod out;

pub mod apply;
pub mod check;
pub mod completions;
pub mod drift;
pub mod error_json;
pub mod help;
pub mod hook;
pub mod import;
pub mod import_fleet;
pub mod import_report;
#[cfg(feature = "lab")]
pub mod lab;
pub mod maintenance;
pub mod man;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod show;
pub mod state;
pub mod status;
pub mod table;
pub mod unlock;
pub mod validate;
pub mod watch;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Keeps authoritative DNS servers in line with a desired state held in Git.
#[derive(Debug, Parser)]
#[command(
    name = "zonekeeper",
    version,
    about,
    propagate_version = true,
    after_help = help::top()
)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares: listed under "Global options", after each command's own.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
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
    /// Output format: json is documented by schema/output/<command>.schema.json, errors
    /// included (zonekeeper-error/1, on stdout).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Log more on stderr: -v zonekeeper's info, -vv its debug (ZONEKEEPER_LOG, when set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Log errors only (ZONEKEEPER_LOG, when set, wins).
    #[arg(short, long, global = true)]
    pub quiet: bool,
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
    /// Check the desired state at a revision; report every problem at once.
    #[command(after_help = help::after("validate"))]
    Validate,
    /// Show what apply would change: zones created, updated, deleted, record by record.
    #[command(after_help = help::after("plan"))]
    Plan(plan::PlanArgs),
    /// Carry out the plan on the servers, verify every server, record the result.
    #[command(after_help = help::after("apply"))]
    Apply(apply::ApplyArgs),
    /// The primary, groups and servers with their zone counts and last checks, and the
    /// last applied revision.
    #[command(after_help = help::after("status"))]
    Status,
    /// Ask every server about each of its zones now: OK, RETRY or BROKEN, and the zones
    /// each lags on.
    #[command(after_help = help::after("check"))]
    Check(check::CheckArgs),
    /// Take a secondary out knowingly (`on`), or bring it back (`off`).
    #[command(after_help = help::after("maintenance"))]
    Maintenance {
        /// The secondary's name.
        server: String,
        /// on or off.
        #[arg(value_enum)]
        switch: maintenance::Switch,
    },
    /// Show a saved plan (`show plan FILE`), or one zone as desired, recorded and served
    /// (`show zone NAME`).
    #[command(subcommand, after_help = help::after("show"))]
    Show(show::ShowCommand),
    /// Pass a manual gate of an operation (e.g. "registrar updated").
    #[command(after_help = help::after("confirm"))]
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
    #[command(after_help = help::after("reset"))]
    Reset {
        /// The operation's number.
        op: i64,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Drop an unwanted operation.
    #[command(after_help = help::after("cancel"))]
    Cancel {
        /// The operation's number.
        op: i64,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Remove the apply lock of an apply that is gone (its id is shown by `status` and by
    /// the refusal of a second apply).
    #[command(after_help = help::after("unlock"))]
    Unlock {
        /// The lock's id.
        lock_id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// The daemon: apply new commits of the branch, carry waiting operations on, sweep
    /// the fleet; one of several daemons on a PostgreSQL store leads.
    #[command(after_help = help::after("watch"))]
    Watch(watch::WatchArgs),
    /// Compare the primary's zones (AXFR) with what was recorded now; show drift record by
    /// record.
    #[command(after_help = help::after("drift"))]
    Drift(drift::DriftArgs),
    /// Write zones' YAML files into the work tree from the primary, zone files, a BIND
    /// named.conf or transfers, for review and commit.
    #[command(after_help = help::after("import"))]
    Import(import::ImportArgs),
    /// Git server hooks of the desired-state repository: validate pushes, apply them.
    #[command(subcommand, after_help = help::after("hook"))]
    Hook(hook::HookCommand),
    /// A local BIND lab shaped after zonekeeper.yaml, for trying zonekeeper out.
    #[cfg(feature = "lab")]
    #[command(subcommand, after_help = help::after("lab"))]
    Lab(lab::LabCommand),
    /// Print the completion script of a shell (bash, zsh, fish, elvish, powershell).
    #[command(after_help = help::after("completions"))]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(after_help = help::after("man"))]
    Man {
        /// Write zonekeeper.1 and a page per command here instead of printing zonekeeper.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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
    tracing::info!(
        repo = %g.repo.display(),
        rev = %g.rev,
        worktree = g.worktree,
        "zonekeeper {}",
        env!("CARGO_PKG_VERSION")
    );
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
        Command::Completions { shell } => completions::run(*shell),
        Command::Man { dir } => man::run(dir.as_deref()),
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
            &["zonekeeper", "show", "zone", "example.com", "--all"],
            &["zonekeeper", "show", "plan", "p.json", "--format", "json"],
            &["zonekeeper", "confirm", "12", "3", "--yes"],
            &["zonekeeper", "reset", "12"],
            &["zonekeeper", "cancel", "12", "--yes"],
            &["zonekeeper", "unlock", "3f9a1c2e4b5d6e7f", "--yes"],
            &["zonekeeper", "hook", "pre-receive", "--branch", "main"],
            &["zonekeeper", "hook", "post-receive"],
            &["zonekeeper", "completions", "zsh"],
            &["zonekeeper", "man", "--dir", "man"],
            &["zonekeeper", "-vv", "plan"],
            &["zonekeeper", "status", "-q"],
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
        assert!(
            Cli::try_parse_from(["zonekeeper", "-v", "-q", "status"]).is_err(),
            "-v and -q contradict each other"
        );
    }
}
