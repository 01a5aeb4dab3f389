//! One test per reported defect, named after it, each with the reproduction in a comment.
//! Every scenario runs against a real BIND lab, on SQLite and on PostgreSQL
//! (`both_stores!`), unless the defect has nothing to do with the store.
//!
//! Sections follow the issue that reported the defects (issue 7, "never lose a change,
//! never report one that did not happen"); within a section, one test per defect.

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

// ===========================================================================================
// Content, not serials: UPDATEs, verification, adoption, resume, loading, probes (7.1, 7.2,
// 7.5, 7.6, 7.7 at apply, 7.9, 7.19).
// ===========================================================================================

// --- end of section: content ---

// ===========================================================================================
// Input: IDN, names BIND refuses, symlinks, secrets in Git, invalid UTF-8 (7.3, 7.7 at
// validate, 7.15, 7.16, 7.17 invalid UTF-8).
// ===========================================================================================

// --- end of section: input ---

// ===========================================================================================
// Staged operations: catalog serials, cancel, waits, back-off, operator actions (7.8, 7.10,
// 7.11, 7.12, 7.13).
// ===========================================================================================

// --- end of section: operations ---

// ===========================================================================================
// The lock and honest output: stale interactive plans, the apply lock, output (7.4, 7.14,
// 7.17 output).
// ===========================================================================================

// --- end of section: lock ---

// ===========================================================================================
// A fresh machine (7.18).
// ===========================================================================================

// --- end of section: fresh machine ---
