//! Noticing new commits: the tracked branch's tip, read with git2, and a file-system
//! watch (inotify, through `notify`) on the repository's refs that wakes the daemon when
//! a push or a commit moves one. The daemon also looks every `--poll` seconds, so a watch
//! that cannot be set up (or misses an event, as on some network file systems) only makes
//! it slower to react.

use std::path::Path;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify;

/// The commit `rev` names in the repository at `repo` now.
pub fn tip(repo: &Path, rev: &str) -> Result<String, String> {
    let r = crate::desired::open_repository(repo).map_err(|e| e.to_string())?;
    let commit = r
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| {
            format!(
                "cannot resolve {rev} in {}: {}",
                repo.display(),
                e.message()
            )
        })?;
    Ok(commit.id().to_string())
}

/// A watch on the refs of the repository at `repo`; `changed` is notified on every
/// change. None (with why) when it cannot be set up.
pub fn watch(repo: &Path, changed: Arc<Notify>) -> Result<notify::RecommendedWatcher, String> {
    let r = crate::desired::open_repository(repo).map_err(|e| e.to_string())?;
    let git_dir = r.path().to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            changed.notify_one();
        }
    })
    .map_err(|e| e.to_string())?;
    // HEAD and packed-refs live at the top, branches under refs/
    watcher
        .watch(&git_dir, RecursiveMode::NonRecursive)
        .map_err(|e| e.to_string())?;
    let refs = git_dir.join("refs");
    if refs.is_dir() {
        watcher
            .watch(&refs, RecursiveMode::Recursive)
            .map_err(|e| e.to_string())?;
    }
    Ok(watcher)
}
