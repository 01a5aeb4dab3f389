//! `zonekeeper completions SHELL`: prints the shell's completion script for every command
//! and option (clap_complete), to be sourced or installed where the shell looks.

use clap::CommandFactory;

use super::Cli;

/// Prints the completion script of `shell` to stdout.
pub fn run(shell: clap_complete::Shell) -> miette::Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "zonekeeper", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script))?;
    Ok(0)
}
