//! Running the real binary with a pseudo-terminal as its standard input, for what only
//! happens on a terminal (prompts): the answer is typed into the terminal before the
//! program reads it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `cmd` with a pseudo-terminal as stdin (stdout and stderr captured), `typed`
/// written into it first: a line such as `"yes\n"`, or `"\x04"` (Ctrl-D at the start of
/// a line: the end of input). The terminal stays open until the program ends.
pub fn run_typing(cmd: &mut Command, typed: &str) -> Output {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut master = std::fs::File::from(master);
    master.write_all(typed.as_bytes()).unwrap();
    let child = cmd
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    drop(master);
    out
}
