//! Where the desired state is read from: a Git commit (the normal case; the work tree is
//! never looked at) or, with `--worktree`, the files on disk as they are.
//!
//! Only two kinds of file matter: `zonekeeper.yaml` at the top and `zones/<zone>.yaml`.

use std::path::{Path, PathBuf};

use super::problem::Place;
use git2::{Delta, FileMode, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

/// The file that describes the primary, the secondaries and the groups.
pub const CONFIG_FILE: &str = "zonekeeper.yaml";
/// The folder of zone files, one per zone, named after the zone.
pub const ZONES_DIR: &str = "zones";

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
    /// New or modified: read it again ([`Pending::of_change`]), from the blob the new
    /// commit's tree lists (its id and mode, as the diff gave them: no path lookup).
    Changed {
        /// The blob's id.
        blob: Oid,
        /// Its mode (a link or a submodule is refused, never followed).
        mode: FileMode,
    },
    /// Gone: the zone is to be deleted.
    Deleted,
}

/// The desired state's files at one revision.
pub struct Source {
    /// The repository: the one read from, or (with `--worktree`) the one the work tree
    /// belongs to, if any, used only to look for committed secrets.
    repo: Option<Repository>,
    /// The commit read from; with `--worktree`, none.
    commit: Option<Oid>,
    worktree: Option<PathBuf>,
    revision: Revision,
    /// The tree diff since a recorded commit, once made ([`Source::diff_since`]).
    diff: std::cell::OnceCell<(String, Option<Vec<DiffFile>>)>,
}

/// Whether `path` is a zone file as [`Source::zone_list`] lists them: `zones/<name>.yaml`.
pub fn is_zone_file(path: &str) -> bool {
    path.strip_prefix(ZONES_DIR)
        .and_then(|p| p.strip_prefix('/'))
        .is_some_and(|name| name.ends_with(".yaml") && !name.contains('/'))
}

/// Git's file mode of a symbolic link: the blob holds the link's target, never resolved.
const MODE_SYMLINK: i32 = 0o120000;

/// A file of the revision that is not read, and why: a symbolic link (never followed, so
/// nothing outside the repository is ever read or printed), not a regular file, or not
/// UTF-8. Turned into a problem by the caller; the other files are still checked.
#[derive(Debug, Clone)]
pub struct Refused {
    /// A stable code, e.g. `file::symlink`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
    /// The text to show with the problem: the file's own text (for one that is not
    /// UTF-8, with the bad bytes replaced), or nothing.
    pub shown: String,
    /// Where: the first byte that is not UTF-8, or the start of the file.
    pub place: Place,
}

/// A file's text, or why it is not read.
pub type Content = Result<String, Refused>;

fn symlink_refused(path: &str) -> Refused {
    Refused {
        code: "file::symlink",
        message: format!("{path} is a symbolic link"),
        help: "zonekeeper never follows links (one could point outside the repository): commit the file itself".into(),
        shown: String::new(),
        place: Place::start(),
    }
}

fn not_regular(path: &str) -> Refused {
    Refused {
        code: "file::not-regular",
        message: format!("{path} is not a regular file"),
        help: "make it a regular file holding YAML, or remove it".into(),
        shown: String::new(),
        place: Place::start(),
    }
}

/// The text of a file, or where its first byte that is not UTF-8 is.
pub(crate) fn text_of(path: &str, bytes: Vec<u8>) -> Content {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let good = std::str::from_utf8(&bytes[..at]).unwrap_or("");
            let line = good.matches('\n').count() + 1;
            let line_start = good.rfind('\n').map_or(0, |i| i + 1);
            let column = good[line_start..].chars().count() + 1;
            Err(Refused {
                code: "file::not-utf8",
                message: format!("{path} is not UTF-8 text: byte 0x{:02x} at line {line}, column {column}", bytes[at]),
                help: "save the file as UTF-8 (names in other scripts are written in UTF-8 or as A-labels, xn--…)".into(),
                shown: String::from_utf8_lossy(&bytes).into_owned(),
                place: Place { offset: at, len: 3, line, column },
            })
        }
    }
}

/// Opens a repository. In a receive hook (Git sets `GIT_QUARANTINE_PATH`), the objects
/// being pushed are read too: Git keeps them apart until the hook accepts them.
pub fn open_repository(repo_dir: &Path) -> Result<Repository, SourceError> {
    let open = |e| error::open_failed(repo_dir, e);
    let repo = Repository::open(repo_dir).map_err(open)?;
    if let Some(quarantine) = std::env::var_os("GIT_QUARANTINE_PATH") {
        let quarantine = Path::new(&quarantine);
        let odb = repo.odb().map_err(open)?;
        odb.add_disk_alternate(&quarantine.to_string_lossy())
            .map_err(open)?;
    }
    Ok(repo)
}

impl Source {
    /// Opens `repo_dir` at `rev` (default `HEAD`), or its work tree when `worktree` is set.
    pub fn open(repo_dir: &Path, rev: Option<&str>, worktree: bool) -> Result<Source, SourceError> {
        if worktree {
            // the repository whose top the work tree is, if any: its current commit is
            // where committed secrets are looked for (not an enclosing repository's)
            let same = |a: &Path, b: &Path| {
                std::fs::canonicalize(a)
                    .ok()
                    .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
            };
            let found = Repository::discover(repo_dir).ok();
            let author = found
                .as_ref()
                .and_then(|r| r.signature().ok().map(|s| signature(&s)))
                .unwrap_or_else(|| "unknown".into());
            let repo = found.filter(|r| r.workdir().is_some_and(|w| same(w, repo_dir)));
            return Ok(Source {
                repo,
                commit: None,
                worktree: Some(repo_dir.to_path_buf()),
                revision: Revision {
                    id: "worktree".into(),
                    author,
                    summary: "uncommitted files".into(),
                },
                diff: Default::default(),
            });
        }
        // Objects are read by id from Git's own store: re-hashing each one read (libgit2's
        // default) costs a tenth of a 40,000-zone validation and guards against disk
        // corruption only, which `git fsck` is for.
        git2::opts::strict_hash_verification(false);
        let repo = open_repository(repo_dir)?;
        let rev = rev.unwrap_or("HEAD");
        let commit = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| error::revision_failed(&repo, repo_dir, rev, e))?;
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
            diff: Default::default(),
        })
    }

    /// `e`, naming this repository when it names none.
    fn locate(&self, e: SourceError) -> SourceError {
        match &self.repo {
            Some(r) => e.in_repository(r.workdir().unwrap_or(r.path())),
            None => e,
        }
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

    /// The repository's top directory, absolute: the work tree read (`--worktree`), the
    /// repository's work tree, or a bare repository's Git directory. Relative paths of
    /// `zonekeeper.yaml` are read from here ([`Source::resolve`]), whatever the working
    /// directory.
    pub fn top(&self) -> Option<PathBuf> {
        let dir = match (&self.worktree, &self.repo) {
            (Some(w), _) => w.clone(),
            (None, Some(r)) => r.workdir().unwrap_or_else(|| r.path()).to_path_buf(),
            _ => return None,
        };
        Some(std::fs::canonicalize(&dir).unwrap_or(dir))
    }

    /// A path written in `zonekeeper.yaml`: as written when absolute, else under
    /// [`Source::top`].
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        match self.top() {
            Some(top) if p.is_relative() => top.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// What Git says of the file at `path` (absolute) in the work tree it lies in: whether
    /// its ignore rules ignore it, and whether its index tracks it. The repository read,
    /// or with `--worktree` of a directory below a repository's top that repository.
    /// `None` when no work tree of a repository holds `path`.
    pub fn git_status_of(&self, path: &Path) -> Option<(bool, bool)> {
        let discovered;
        let repo = match (&self.repo, &self.worktree) {
            (Some(r), _) => r,
            (None, Some(w)) => {
                discovered = Repository::discover(w).ok()?;
                &discovered
            }
            _ => return None,
        };
        let wd = repo.workdir()?;
        let wd = std::fs::canonicalize(wd).unwrap_or_else(|_| wd.to_path_buf());
        let rel = path.strip_prefix(&wd).ok()?;
        let ignored = repo.is_path_ignored(rel).unwrap_or(false);
        let tracked = repo
            .index()
            .ok()
            .is_some_and(|i| i.get_path(rel, 0).is_some());
        Some((ignored, tracked))
    }

    /// Reads one file; `None` when it does not exist. A symbolic link (on disk, or a blob
    /// of mode 120000 in Git), anywhere on the path, is refused, never followed.
    pub fn read(&self, path: &str) -> Result<Option<Content>, SourceError> {
        self.read_file(path).map_err(|e| self.locate(e))
    }

    fn read_file(&self, path: &str) -> Result<Option<Content>, SourceError> {
        if let Some(root) = &self.worktree {
            return read_disk(root, path);
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
        Ok(Some(blob_content(repo, path, &entry)?))
    }

    /// Every zone file (`zones/*.yaml`), sorted by path, listed but not read: reading is
    /// left to the threads that check them ([`Source::reader`]).
    pub fn zone_list(&self) -> Result<Vec<(String, Pending)>, SourceError> {
        self.list_zones().map_err(|e| self.locate(e))
    }

    fn list_zones(&self) -> Result<Vec<(String, Pending)>, SourceError> {
        let mut out = Vec::new();
        if let Some(root) = &self.worktree {
            let dir = root.join(ZONES_DIR);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    let path = format!("{ZONES_DIR}/");
                    let refused = Err(symlink_refused(ZONES_DIR));
                    return Ok(vec![(path, Pending::Known(refused))]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                _ => {}
            }
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
                let kind = entry.file_type().map_err(|source| SourceError::Io {
                    path: entry.path(),
                    source,
                })?;
                if name.ends_with(".yaml") && !kind.is_dir() {
                    out.push((format!("{ZONES_DIR}/{name}"), Pending::Disk));
                }
            }
        } else if let (Some(repo), Some(oid)) = (&self.repo, self.commit) {
            let tree = repo.find_commit(oid)?.tree()?;
            let zones = match tree.get_path(Path::new(ZONES_DIR)) {
                Ok(e) => e,
                Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(out),
                Err(e) => return Err(e.into()),
            };
            if zones.filemode() == MODE_SYMLINK {
                let path = format!("{ZONES_DIR}/");
                let refused = Err(symlink_refused(ZONES_DIR));
                return Ok(vec![(path, Pending::Known(refused))]);
            }
            let zones = repo.find_tree(zones.id())?;
            for entry in zones.iter() {
                let name = String::from_utf8_lossy(entry.name_bytes()).to_string();
                if !name.ends_with(".yaml") || entry.kind() == Some(ObjectType::Tree) {
                    continue;
                }
                let path = format!("{ZONES_DIR}/{name}");
                let is_blob = entry.kind() == Some(ObjectType::Blob);
                let pending = Pending::of_entry(&path, entry.id(), entry.filemode(), is_blob);
                out.push((path, pending));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Whether the zone files listed by [`Source::zone_list`] are the committed ones (a
    /// commit is read, not a work tree), so checking them for key material as they are
    /// read stands for [`Source::each_file`] reading them again.
    pub fn zone_files_are_committed(&self) -> bool {
        self.worktree.is_none() && self.repo.is_some()
    }

    /// The tree secrets are looked for in: the revision's, or with `--worktree` the
    /// current commit's of the repository the work tree belongs to.
    fn secret_tree(&self) -> Option<git2::Tree<'_>> {
        let repo = self.repo.as_ref()?;
        let commit = match self.commit {
            Some(oid) => repo.find_commit(oid).ok()?,
            None => repo.head().ok()?.peel_to_commit().ok()?,
        };
        commit.tree().ok()
    }

    /// Whether the revision (see `Source::secret_tree`) holds a file at `path`.
    pub fn has_committed(&self, path: &str) -> bool {
        self.secret_tree()
            .and_then(|t| t.get_path(Path::new(path)).ok())
            .is_some_and(|e| e.kind() == Some(ObjectType::Blob))
    }

    /// Calls `f` with the path and bytes of every file of the revision (every file changed
    /// since commit `since`, when given and known), links and submodules left out, and
    /// the files `skip` names not read. With `--worktree`, the files of the current commit.
    pub fn each_file(
        &self,
        since: Option<&str>,
        skip: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), SourceError> {
        self.walk_files(since, skip, f).map_err(|e| self.locate(e))
    }

    fn walk_files(
        &self,
        since: Option<&str>,
        skip: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), SourceError> {
        let (Some(repo), Some(tree)) = (&self.repo, self.secret_tree()) else {
            return Ok(());
        };
        if let Some(files) = since.and_then(|old| self.diff_since(old)) {
            for file in files {
                let Some(path) = &file.new_path else { continue };
                if file.status == Delta::Deleted
                    || !matches!(file.mode, FileMode::Blob | FileMode::BlobExecutable)
                    || skip(path)
                {
                    continue;
                }
                if let Ok(blob) = repo.find_blob(file.blob) {
                    f(path, blob.content());
                }
            }
            return Ok(());
        }
        let mut failed = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == MODE_SYMLINK {
                return TreeWalkResult::Ok;
            }
            let path = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
            if skip(&path) {
                return TreeWalkResult::Ok;
            }
            match repo.find_blob(entry.id()) {
                Ok(blob) => f(&path, blob.content()),
                Err(e) => failed = Some(e),
            }
            TreeWalkResult::Ok
        })?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// The zone files that changed since commit `old`, and whether `zonekeeper.yaml`
    /// changed too. `None` when that cannot be told cheaply (work tree, unknown commit).
    pub fn changes_since(&self, old: &str) -> Option<(bool, Vec<(String, FileChange)>)> {
        let files = self.diff_since(old)?;
        let mut config_changed = false;
        let mut zones = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for file in files {
            for (path, gone) in [(file.old_path, true), (file.new_path, false)] {
                let Some(path) = path else { continue };
                if path == CONFIG_FILE {
                    config_changed = true;
                } else if is_zone_file(&path) {
                    let change = match (file.status, gone) {
                        (Delta::Deleted, _) => FileChange::Deleted,
                        (Delta::Renamed, true) => FileChange::Deleted,
                        (_, true) => continue,
                        _ => FileChange::Changed {
                            blob: file.blob,
                            mode: file.mode,
                        },
                    };
                    if seen.insert(path.clone()) {
                        zones.push((path, change));
                    }
                }
            }
        }
        Some((config_changed, zones))
    }

    /// Every file changed between commit `old` and the revision (one tree diff, made once
    /// for [`Source::changes_since`] and [`Source::each_file`]; none when the trees are the
    /// same). `None` when that cannot be told (work tree, unknown commit).
    fn diff_since(&self, old: &str) -> Option<Vec<DiffFile>> {
        if let Some((since, files)) = self.diff.get()
            && since == old
        {
            return files.clone();
        }
        let files = self.tree_diff(old);
        let _ = self.diff.set((old.to_string(), files.clone()));
        files
    }

    fn tree_diff(&self, old: &str) -> Option<Vec<DiffFile>> {
        let (repo, new) = (self.repo.as_ref()?, self.commit?);
        let old_tree = repo
            .find_commit(Oid::from_str(old).ok()?)
            .ok()?
            .tree()
            .ok()?;
        let new_tree = repo.find_commit(new).ok()?.tree().ok()?;
        if old_tree.id() == new_tree.id() {
            return Some(Vec::new());
        }
        let diff = repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
            .ok()?;
        let path = |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().to_string());
        let files = diff
            .deltas()
            .map(|d| DiffFile {
                status: d.status(),
                old_path: path(d.old_file()),
                new_path: path(d.new_file()),
                blob: d.new_file().id(),
                mode: d.new_file().mode(),
            })
            .collect();
        Some(files)
    }
}

/// A file a tree diff found changed.
#[derive(Debug, Clone)]
struct DiffFile {
    status: Delta,
    old_path: Option<String>,
    new_path: Option<String>,
    /// The new blob's id and mode.
    blob: Oid,
    mode: FileMode,
}

fn signature(s: &git2::Signature<'_>) -> String {
    format!(
        "{} <{}>",
        s.name().unwrap_or("unknown"),
        s.email().unwrap_or("")
    )
}

/// Reads `path` under `root` without following a symbolic link anywhere on the way.
fn read_disk(root: &Path, path: &str) -> Result<Option<Content>, SourceError> {
    let mut full = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        full.push(part);
        let shown = parts[..=i].join("/");
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SourceError::Io { path: full, source }),
        };
        if meta.file_type().is_symlink() {
            return Ok(Some(Err(symlink_refused(&shown))));
        }
        if i + 1 == parts.len() && !meta.file_type().is_file() {
            return Ok(Some(Err(not_regular(&shown))));
        }
    }
    let bytes = std::fs::read(&full).map_err(|source| SourceError::Io { path: full, source })?;
    Ok(Some(text_of(path, bytes)))
}

/// The text of a tree entry: a blob of a regular file; a link or anything else refused.
fn blob_content(
    repo: &Repository,
    path: &str,
    entry: &git2::TreeEntry<'_>,
) -> Result<Content, SourceError> {
    if entry.filemode() == MODE_SYMLINK {
        return Ok(Err(symlink_refused(path)));
    }
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(Err(not_regular(path)));
    }
    let blob = repo.find_blob(entry.id())?;
    Ok(text_of(path, blob.content().to_vec()))
}

mod error;
mod pending;

pub use error::SourceError;
pub use pending::{Bytes, Pending, Reader};

#[cfg(test)]
mod tests;
