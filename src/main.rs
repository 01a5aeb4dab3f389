//! The `zonekeeper` binary: parse arguments, set up logging, call the library, map the
//! result to an exit code. Everything else lives in the library.
//!
//! With `--format json`, an error (a usage error too) is a `zonekeeper-error/1` document
//! on stdout instead of the report on stderr; the exit code is 1 either way.
//!
//! A reader that closed stdout early (`zonekeeper plan | head -1`) ends any command
//! quietly with exit 0, as ripgrep does: commands write through `outln!`, which reports
//! the closed pipe instead of panicking.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use zonekeeper::cli::error_json;

/// mimalloc: checking 40,000 zones on every core allocates millions of small values from
/// several threads at once, which the system allocator serves with lock contention and
/// page faults (measured: `scripts/bench`, README "Scale"). Without transparent huge
/// pages (`no_thp`): asking for them made the kernel compact memory on page faults, a
/// third of a 40,000-zone plan's time on some runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // a usage error exits 1, as every other error: 2 is `--detailed-exitcode`'s "changes"
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match zonekeeper::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if error_json::asked_in(&args) {
                let _ = writeln!(std::io::stdout(), "{}", error_json::usage(&e));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(1);
        }
    };
    // a daemon's log says what it does; a command's only what went wrong; -v/-q move
    // that, ZONEKEEPER_LOG (when set) replaces it
    let default = match cli.command {
        zonekeeper::cli::Command::Watch(_) => "zonekeeper=info,warn",
        _ => "warn",
    };
    let level = zonekeeper::cli::help::log_filter(cli.global.verbose, cli.global.quiet, default);
    let from_env = EnvFilter::try_from_env("ZONEKEEPER_LOG").ok();
    let said = from_env.as_ref().map(|f| format!("ZONEKEEPER_LOG={f}"));
    tracing_subscriber::fmt()
        .with_env_filter(from_env.unwrap_or_else(|| EnvFilter::new(&level)))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    tracing::debug!(
        "log filter {}",
        said.unwrap_or_else(|| format!("{level} (-v, -vv, -q; ZONEKEEPER_LOG wins when set)"))
    );
    let json = cli.global.format == zonekeeper::cli::Format::Json;
    // messages are wrapped at spaces only: a path, URL or command in an error stays whole
    // on its line, to be copied as it is
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .break_words(false)
                .word_separator(textwrap::WordSeparator::AsciiSpace)
                .word_splitter(textwrap::WordSplitter::NoHyphenation)
                .build(),
        )
    }));
    match zonekeeper::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(report) if zonekeeper::cli::out::is_stdout_closed(&report) => ExitCode::SUCCESS,
        Err(report) if json => {
            let _ = writeln!(std::io::stdout(), "{}", error_json::report(&report));
            ExitCode::from(1)
        }
        Err(report) => {
            // stderr may be closed too: nothing left to tell, and no panic.
            let _ = writeln!(std::io::stderr(), "{report:?}");
            ExitCode::from(1)
        }
    }
}
