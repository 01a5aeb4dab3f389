//! Where the desired state is read from: a Git commit (the normal case; the work tree is
//! never looked at) or, with `--worktree`, the files on disk as they are.
//!
//! Only two kinds of file matter: `zonekeeper.yaml` at the top and `zones/<zone>.yaml`.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

/// The file that describes the primary, the secondaries and the groups.
pub const CONFIG_FILE: &str = "zonekeeper.yaml";
/// The folder of zone files, one per zone, named after the zone.
pub const ZONES_DIR: &str = "zones";

/// Errors reading the repository.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The folder is not a Git repository.
    #[error("cannot open Git repository at {path}: {source}")]
    Open {
        /// The folder given.
        path: PathBuf,
        /// Why.
        #[source]
        source: git2::Error,
    },
    /// The revision does not name a commit.
    #[error("revision `{rev}` does not name a commit: {source}")]
    Revision {
        /// The revision given.
        rev: String,
        /// Why.
        #[source]
        source: git2::Error,
    },
    /// Reading from Git failed.
    #[error("reading the Git repository failed: {0}")]
    Git(#[from] git2::Error),
    /// Reading a file of the work tree failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not UTF-8.
    #[error("{0} is not UTF-8 text")]
    NotText(String),
}

/// Which revision was read, and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The commit id, or `worktree`.
    pub id: String,
    /// The commit's author, `Name <email>`.
    pub author: String,
    /// The commit's first line.
    pub summary: String,
}

/// How a zone file changed between two revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// New or modified: read it again.
    Changed,
    /// Gone: the zone is to be deleted.
    Deleted,
}

/// The desired state's files at one revision.
pub struct Source {
    repo: Option<Repository>,
    commit: Option<Oid>,
    worktree: Option<PathBuf>,
    revision: Revision,
}

impl Source {
    /// Opens `repo_dir` at `rev` (default `HEAD`), or its work tree when `worktree` is set.
    pub fn open(repo_dir: &Path, rev: Option<&str>, worktree: bool) -> Result<Source, SourceError> {
        if worktree {
            let author = Repository::discover(repo_dir)
                .ok()
                .and_then(|r| r.signature().ok().map(|s| signature(&s)))
                .unwrap_or_else(|| "unknown".into());
            return Ok(Source {
                repo: None,
                commit: None,
                worktree: Some(repo_dir.to_path_buf()),
                revision: Revision {
                    id: "worktree".into(),
                    author,
                    summary: "uncommitted files".into(),
                },
            });
        }
        let repo = Repository::open(repo_dir).map_err(|source| SourceError::Open {
            path: repo_dir.to_path_buf(),
            source,
        })?;
        let rev = rev.unwrap_or("HEAD");
        let commit = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|source| SourceError::Revision {
                rev: rev.to_string(),
                source,
            })?;
        let revision = Revision {
            id: commit.id().to_string(),
            author: signature(&commit.author()),
            summary: commit.summary().ok().flatten().unwrap_or("").to_string(),
        };
        let oid = commit.id();
        drop(commit);
        Ok(Source {
            repo: Some(repo),
            commit: Some(oid),
            worktree: None,
            revision,
        })
    }

    /// The revision read.
    pub fn revision(&self) -> &Revision {
        &self.revision
    }

    /// The repository's work tree, if it has one (used to keep secrets out of it).
    pub fn workdir(&self) -> Option<PathBuf> {
        match (&self.worktree, &self.repo) {
            (Some(w), _) => Some(w.clone()),
            (None, Some(r)) => r.workdir().map(Path::to_path_buf),
            _ => None,
        }
    }

    /// Reads one file; `None` when it does not exist.
    pub fn read(&self, path: &str) -> Result<Option<String>, SourceError> {
        if let Some(root) = &self.worktree {
            let full = root.join(path);
            return match std::fs::read(&full) {
                Ok(bytes) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| SourceError::NotText(path.into())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(SourceError::Io { path: full, source }),
            };
        }
        let (Some(repo), Some(oid)) = (&self.repo, self.commit) else {
            return Ok(None);
        };
        let tree = repo.find_commit(oid)?.tree()?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let blob = repo.find_blob(entry.id())?;
        String::from_utf8(blob.content().to_vec())
            .map(Some)
            .map_err(|_| SourceError::NotText(path.into()))
    }

    /// Every zone file (`zones/*.yaml`) with its text, sorted by path.
    pub fn zone_files(&self) -> Result<Vec<(String, String)>, SourceError> {
        let mut out = Vec::new();
        if let Some(root) = &self.worktree {
            let dir = root.join(ZONES_DIR);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(source) => return Err(SourceError::Io { path: dir, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| SourceError::Io {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name().to_string_lossy().to_string();
                if name.ends_with(".yaml") && entry.path().is_file() {
                    let path = format!("{ZONES_DIR}/{name}");
                    if let Some(text) = self.read(&path)? {
                        out.push((path, text));
                    }
                }
            }
        } else if let (Some(repo), Some(oid)) = (&self.repo, self.commit) {
            let tree = repo.find_commit(oid)?.tree()?;
            let zones = match tree.get_path(Path::new(ZONES_DIR)) {
                Ok(e) => e,
                Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(out),
                Err(e) => return Err(e.into()),
            };
            let zones = repo.find_tree(zones.id())?;
            let mut failed = None;
            zones.walk(TreeWalkMode::PreOrder, |dir, entry| {
                let name = entry.name().unwrap_or("");
                if !dir.is_empty()
                    || entry.kind() != Some(ObjectType::Blob)
                    || !name.ends_with(".yaml")
                {
                    return TreeWalkResult::Skip;
                }
                match repo.find_blob(entry.id()) {
                    Ok(blob) => match String::from_utf8(blob.content().to_vec()) {
                        Ok(text) => out.push((format!("{ZONES_DIR}/{name}"), text)),
                        Err(_) => {
                            failed = Some(SourceError::NotText(format!("{ZONES_DIR}/{name}")))
                        }
                    },
                    Err(e) => failed = Some(e.into()),
                }
                TreeWalkResult::Ok
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The zone files that changed since commit `old`, and whether `zonekeeper.yaml`
    /// changed too. `None` when that cannot be told cheaply (work tree, unknown commit).
    pub fn changes_since(&self, old: &str) -> Option<(bool, Vec<(String, FileChange)>)> {
        let (repo, new) = (self.repo.as_ref()?, self.commit?);
        let old_tree = repo
            .find_commit(Oid::from_str(old).ok()?)
            .ok()?
            .tree()
            .ok()?;
        let new_tree = repo.find_commit(new).ok()?.tree().ok()?;
        let mut opts = DiffOptions::new();
        opts.pathspec(CONFIG_FILE).pathspec(format!("{ZONES_DIR}/"));
        let diff = repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))
            .ok()?;
        let mut config_changed = false;
        let mut zones = Vec::new();
        for delta in diff.deltas() {
            let old_path = delta
                .old_file()
                .path()
                .map(|p| p.to_string_lossy().to_string());
            let new_path = delta
                .new_file()
                .path()
                .map(|p| p.to_string_lossy().to_string());
            for (path, gone) in [(old_path, true), (new_path, false)].into_iter() {
                let Some(path) = path else { continue };
                if path == CONFIG_FILE {
                    config_changed = true;
                } else if path.starts_with("zones/") && path.ends_with(".yaml") {
                    let change = match (delta.status(), gone) {
                        (Delta::Deleted, _) => FileChange::Deleted,
                        (Delta::Renamed, true) => FileChange::Deleted,
                        (_, true) => continue,
                        _ => FileChange::Changed,
                    };
                    if !zones.iter().any(|(p, _)| p == &path) {
                        zones.push((path, change));
                    }
                }
            }
        }
        Some((config_changed, zones))
    }
}

fn signature(s: &git2::Signature<'_>) -> String {
    format!(
        "{} <{}>",
        s.name().unwrap_or("unknown"),
        s.email().unwrap_or("")
    )
}
