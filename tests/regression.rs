//! One test per reported defect, named after it, each with the reproduction in a comment.
//! Every scenario runs against a real BIND lab, on SQLite and on PostgreSQL
//! (`both_stores!`), unless the defect has nothing to do with the store.
//!
//! One module per group of defects of the issue that reported them (issue 7, "never lose a
//! change, never report one that did not happen"; issue 8, defects the simulated fleet
//! found, in `interrupted`; issue 9, 40,000 zones, in `scale`; issue 10, running it every
//! day, in `daily`; issue 11, adopting a fleet, in `adoption`); within a module, one test per defect.

/// Adopting an existing fleet (issue 11): record types, names, zone rules.
mod adoption;
/// The command line (issue 12): help, logging, schemas.
mod cli;
/// UPDATEs, content verification, adoption, resume, loading, probes, connections.
mod content;
/// Running it every day (issue 10): unattended applies, CI.
mod daily;
/// Errors in the operator's words (issue 12, point 5).
mod errors;
/// A fresh machine.
mod fresh_machine;
/// IDN, names, limits, symlinks, secrets, UTF-8.
mod input;
/// Interrupted applies and failed reconfigs the simulated fleet found (issue 8); a long
/// apply silent until done (issue 12).
mod interrupted;
/// The apply lock and honest output.
mod lock;
/// Staged operations.
mod operations;
/// 40,000 zones (issue 9): verification, output and plans at scale.
mod scale;
/// Reading what will happen and what is (issue 12, point 4): `show zone`, long lists,
/// Debug formatting.
mod show;
/// Prompts, exit codes and where state lives (issue 12, points 1 and 2).
mod state;
