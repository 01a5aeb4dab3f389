//! Writing to stdout. A reader that closes its end early (`zonekeeper plan | head -1`)
//! is not an error: the write returns [`StdoutClosed`], the command stops there, and
//! `main` exits 0 without a word, as ripgrep does. Commands write through [`out!`](crate::out) and
//! [`outln!`](crate::outln), never `print!`, which panics on a closed pipe.

use std::io::Write;

/// stdout was closed by its reader. Not a failure: `main` turns it into exit code 0.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("stdout was closed by its reader")]
pub struct StdoutClosed;

/// Writes `args` to stdout and flushes (so a prompt shows before the answer is read).
pub fn write(args: std::fmt::Arguments<'_>) -> miette::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(miette::miette!("cannot write to stdout: {e}")),
    }
}

/// Whether `report` is (or wraps) [`StdoutClosed`].
pub fn is_stdout_closed(report: &miette::Report) -> bool {
    report.downcast_ref::<StdoutClosed>().is_some()
        || report.chain().any(|e| e.is::<StdoutClosed>())
}

/// `print!` that returns `miette::Result<()>` instead of panicking on a closed stdout.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*))
    };
}

/// `println!` that returns `miette::Result<()>` instead of panicking on a closed stdout.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
