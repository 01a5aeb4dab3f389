//! The `zonekeeper` binary: parse arguments, set up logging, call the library, map the
//! result to an exit code. Everything else lives in the library.
//!
//! A reader that closed stdout early (`zonekeeper plan | head -1`) ends any command
//! quietly with exit 0, as ripgrep does: commands write through `outln!`, which reports
//! the closed pipe instead of panicking.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc: checking 40,000 zones on every core allocates millions of small values from
/// several threads at once, which the system allocator serves with lock contention and
/// page faults (measured: `scripts/bench`, README "Scale"). Without transparent huge
/// pages (`no_thp`): asking for them made the kernel compact memory on page faults, a
/// third of a 40,000-zone plan's time on some runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // a usage error exits 1, as every other error: 2 is `--detailed-exitcode`'s "changes"
    let cli = match zonekeeper::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // a daemon's log says what it does; a command's only what went wrong
    let level = match cli.command {
        zonekeeper::cli::Command::Watch(_) => "zonekeeper=info,warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("ZONEKEEPER_LOG").unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    match zonekeeper::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(report) if zonekeeper::cli::out::is_stdout_closed(&report) => ExitCode::SUCCESS,
        Err(report) => {
            // stderr may be closed too: nothing left to tell, and no panic.
            let _ = writeln!(std::io::stderr(), "{report:?}");
            ExitCode::from(1)
        }
    }
}
