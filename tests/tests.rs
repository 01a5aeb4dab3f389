//! zonekeeper's integration tests: one binary, modules by subject.
//!
//! Everything runs against real parts: BIND `named` processes on loopback (a lab per test,
//! on its own ports), Git repositories made with git2, SQLite files and a PostgreSQL
//! database per test (127.0.0.1:5432, or `ZONEKEEPER_TEST_PG`).

/// The test harness: lab + Git repository + store + the real binary.
mod support;

/// Taking over a live primary (issue 11, point 4).
mod adopt;
/// Reverse zones whose PTRs follow the forward zones (`auto_ptr`, issue 11 point 5).
mod auto_ptr;
/// Checks in CI: planned with a read-only store; usage errors exit 1.
mod ci;
/// --help (examples, exit codes, the README's table), completions, man pages, -v/-q.
mod cli_help;
/// Where state lives and how prompts consent (issue 12, points 1 and 2).
mod cli_state;
/// One version of each crate where two would be built (base64, sha2).
mod dependencies;
/// Drift: found by transfer, shown, and resolved either way (issue 10).
mod drift;
/// End to end: create, change, delete, bad input, unreachable primary, secrets, saved plans.
mod e2e;
/// Errors in the operator's words: Git, the store, the TSIG key file (issue 12, point 5).
mod errors;
/// Changes by `git push`: the hooks in a real bare repository.
mod hooks;
/// `import`: zone files, named.conf, transfers and catalogs; round trips; serials.
mod import;
/// SIGINT and SIGTERM during `apply` and at its prompt (issue 12, point 3).
mod interrupt;
/// The lab harness itself.
mod lab;
/// Staged procedures: add and remove a secondary, with a lame-delegation monitor.
mod procedures;
/// Progress of a long apply: bars on a terminal, lines elsewhere (issue 12, point 3).
mod progress;
/// One test per reported defect, named after it.
mod regression;
/// JSON Schemas: the editor schemas against validate (a corpus), the outputs' schemas
/// against real outputs.
mod schema;
/// `show plan`, `show zone`, plan warnings, RFC 3339 times, the output schemas of plan,
/// status and show zone (issue 12, points 4 and 7).
mod show;
/// The simulated fleet: every procedure, a crash after every store write, and random fault
/// schedules, on in-memory servers and a simulated clock, driving the real driver and store.
mod sim;
/// Stores made by released code open under this code (one migrations tree).
mod store;
/// `validate`: the example repository, and bad input.
mod validate;
/// The daemon as a real process; `check` and `maintenance`.
mod watch;
