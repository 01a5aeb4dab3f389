//! What a plan warns about before anyone approves it: planning a revision older than the
//! applied one (a rollback), and uncommitted files the plan of a commit does not read.
//! Shown on stderr by `plan` and `apply`, and in JSON as the plan's `warnings` array.

use std::path::Path;

use git2::{Oid, Repository, Status, StatusOptions};

/// How many uncommitted files a warning names; the rest are counted.
const FILES_SHOWN: usize = 5;

/// The warnings for planning commit `planned` of the repository at `repo_dir`, the store
/// having applied `applied` (when it has). `worktree`: the plan reads the work tree, so
/// nothing in it is ignored. Anything Git cannot tell (a bare repository, a commit gone
/// from the repository) makes no warning: a warning is never a guess.
pub fn warnings(
    repo_dir: &Path,
    planned: &str,
    applied: Option<&str>,
    worktree: bool,
) -> Vec<String> {
    if worktree {
        return Vec::new();
    }
    let Ok(repo) = crate::desired::source::open_repository(repo_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(applied) = applied
        && let Some(w) = rollback(&repo, planned, applied)
    {
        out.push(w);
    }
    if let Some(w) = uncommitted(&repo, planned) {
        out.push(w);
    }
    out
}

/// A rollback: the applied commit descends from the planned one.
fn rollback(repo: &Repository, planned: &str, applied: &str) -> Option<String> {
    let (p, a) = (Oid::from_str(planned).ok()?, Oid::from_str(applied).ok()?);
    if p == a || !repo.graph_descendant_of(a, p).ok()? {
        return None;
    }
    let (ahead, _) = repo.graph_ahead_behind(a, p).ok()?;
    Some(format!(
        "this plans revision {}, older than the applied revision {} ({ahead} commit(s) after it): applying it is a rollback that undoes them",
        short(planned),
        short(applied)
    ))
}

/// Files of the desired state (`zonekeeper.yaml`, `zones/`) that differ in the work tree
/// from the current commit, new files included, when the plan reads a commit.
fn uncommitted(repo: &Repository, planned: &str) -> Option<String> {
    repo.workdir()?;
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .pathspec("zonekeeper.yaml")
        .pathspec("zones/");
    let statuses = repo.statuses(Some(&mut opts)).ok()?;
    let files: Vec<String> = statuses
        .iter()
        .filter(|e| e.status() != Status::CURRENT && !e.status().contains(Status::IGNORED))
        .filter_map(|e| e.path().ok().map(str::to_string))
        .collect();
    if files.is_empty() {
        return None;
    }
    Some(format!(
        "the work tree has {} uncommitted file(s) this plan of commit {} does not read: {}; commit them, or see them with `--worktree`",
        files.len(),
        short(planned),
        crate::model::text::first_few(&files, FILES_SHOWN, ", ")
    ))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
