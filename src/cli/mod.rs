//! The command line: flags defined once with their docs (clap derive), one file per
//! subcommand that turns arguments into a call of the library. No DNS logic lives here.

pub mod validate;

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
    /// The desired-state Git repository.
    #[arg(long, global = true, default_value = ".", env = "ZONEKEEPER_REPO")]
    pub repo: PathBuf,
    /// The revision to read (a commit, branch or tag).
    #[arg(long, global = true, default_value = "HEAD")]
    pub rev: String,
    /// Read the uncommitted files of the work tree instead of a commit (validate and plan).
    #[arg(long, global = true)]
    pub worktree: bool,
    /// The store: a SQLite path or sqlite:// URL, or postgres://… (default state/zonekeeper.sqlite).
    #[arg(long, global = true, env = "ZONEKEEPER_DB")]
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
}

/// Whether to colour output: only on a terminal, and never with NO_COLOR set.
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> miette::Result<u8> {
    match &cli.command {
        Command::Validate => validate::run(&cli.global),
    }
}
