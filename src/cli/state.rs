//! Where zonekeeper's state lives, for every command: one place, the desired-state
//! repository's top directory (the `--repo` work tree; a bare repository's Git
//! directory), never the working directory.
//!
//! - The store, unless `--db` / `ZONEKEEPER_DB` names one:
//!   `<top>/.zonekeeper/zonekeeper.sqlite`. A relative `--db` path is the shell's (read
//!   from the working directory) and is made absolute; messages name the absolute path.
//! - The lab's files, unless `lab --dir` names a directory: `<top>/.zonekeeper/lab`.
//! - Relative paths in `zonekeeper.yaml` are read from `<top>` too (`Source::resolve`).
//!
//! Commands that only read never create a store: `plan` without one plans against an
//! empty store in memory and says where it looked; `status`, `show` and the others that
//! need what was recorded say there is no store, and exit 1. Only commands that record
//! (`apply`, `watch`, `hook post-receive`, `import`) create it, in a directory holding a
//! `.gitignore` of `*`.

use std::path::{Path, PathBuf};

use miette::IntoDiagnostic;

use super::Global;
use crate::store::{Location, STATE_DIR, Store};

/// The repository's top directory, absolute: the work tree of `--repo`, a bare
/// repository's Git directory, or with `--worktree` a directory that is not a repository.
pub fn top(g: &Global) -> miette::Result<PathBuf> {
    let found = match git2::Repository::open(&g.repo) {
        Ok(repo) => repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| repo.path().to_path_buf()),
        Err(_) if g.worktree && g.repo.is_dir() => g.repo.clone(),
        Err(e) => {
            return Err(miette::miette!(
                help = "pass --repo with the top directory of the desired-state repository (or set ZONEKEEPER_REPO); or name the store with --db",
                "{} is not a Git repository ({}), and zonekeeper keeps its state in the repository's top directory ({STATE_DIR}/)",
                g.repo.display(),
                e.message()
            ));
        }
    };
    Ok(std::fs::canonicalize(&found).unwrap_or(found))
}

/// Where the store is: `--db` / `ZONEKEEPER_DB`, or the repository's default.
pub fn location(g: &Global) -> miette::Result<Location> {
    match &g.db {
        Some(db) => Ok(Location::parse(db)?),
        None => Ok(Location::default_in(&top(g)?)),
    }
}

/// The error of a command that needs what was recorded, when there is no store.
fn no_store(at: &Location, g: &Global) -> miette::Report {
    let whence = if g.db.is_some() {
        "named by --db or ZONEKEEPER_DB"
    } else {
        "the repository's default"
    };
    miette::miette!(
        code = "store::missing",
        help = "nothing has been applied with this store: `zonekeeper apply` creates it; if the store is elsewhere, name it with --db or ZONEKEEPER_DB (a relative path is read from the working directory), or run with --repo of the repository it belongs to",
        "no store at {} ({whence})",
        at.shown()
    )
}

/// Opens the store for a command that needs what was recorded: an error naming where it
/// looked when there is none (nothing is created).
pub async fn open_store(g: &Global) -> miette::Result<Store> {
    let at = location(g)?;
    if at.is_missing() {
        return Err(no_store(&at, g));
    }
    Store::open(&at.url(false)).await.into_diagnostic()
}

/// Opens the store if there is one; `None` when there is none (nothing is created).
pub async fn store_if_any(g: &Global) -> miette::Result<Option<Store>> {
    let at = location(g)?;
    if at.is_missing() {
        return Ok(None);
    }
    Ok(Some(Store::open(&at.url(false)).await.into_diagnostic()?))
}

/// Opens the store for `plan`: the store, or when there is none an empty one in memory,
/// after saying on stderr where it looked (nothing is created).
pub async fn plan_store(g: &Global) -> miette::Result<Store> {
    let at = location(g)?;
    if !at.is_missing() {
        return Store::open(&at.url(false)).await.into_diagnostic();
    }
    eprintln!(
        "No store at {}: nothing is recorded, every zone is shown as new (`zonekeeper apply` creates it; --db or ZONEKEEPER_DB names another).",
        at.shown()
    );
    Store::open(&Location::Memory.url(false))
        .await
        .into_diagnostic()
}

/// Opens the store for a command that records, creating it (and its directory, with a
/// `.gitignore` of `*`) when missing.
pub async fn create_store(g: &Global) -> miette::Result<Store> {
    let at = location(g)?;
    if at.is_missing() {
        at.create_dir().map_err(|e| {
            miette::miette!(
                help = "name a store in a writable place with --db or ZONEKEEPER_DB",
                "cannot make the directory of the store {}: {e}",
                at.shown()
            )
        })?;
    }
    Store::open(&at.url(true)).await.into_diagnostic()
}

#[cfg(feature = "lab")]
/// The lab's directory: `--dir` as given (the shell's, made absolute), or
/// `<top>/.zonekeeper/lab`.
pub fn lab_dir(g: &Global, given: Option<&Path>) -> miette::Result<PathBuf> {
    match given {
        Some(dir) => std::path::absolute(dir).into_diagnostic(),
        None => Ok(top(g)?.join(STATE_DIR).join("lab")),
    }
}
