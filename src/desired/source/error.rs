//! Why the repository could not be read, in the operator's words: libgit2's errors
//! translated into one sentence each, with what to do, and never its `class=` / `code=`
//! details (nor the same words twice: no error here carries libgit2's as its source).

use std::path::{Path, PathBuf};

use git2::{ErrorClass, ErrorCode, Repository};

/// Errors reading the repository.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `--repo` names nothing.
    #[error(
        "the repository {} does not exist: give --repo (or ZONEKEEPER_REPO) the folder of the desired-state Git repository",
        .path.display()
    )]
    NoSuchPath {
        /// The folder given.
        path: PathBuf,
    },
    /// The folder is not (the top of) a Git repository.
    #[error(
        "{} is not a Git repository{inside}: give --repo the top folder of the desired-state repository (the one holding zonekeeper.yaml), or make this one with `git init`",
        .path.display()
    )]
    NotRepository {
        /// The folder given.
        path: PathBuf,
        /// ` (it is inside the repository X)` when it is.
        inside: String,
    },
    /// The repository has no commit yet.
    #[error(
        "the repository {} has no commits yet: commit zonekeeper.yaml and zones/ first, or read the uncommitted files with --worktree (validate and plan)",
        .path.display()
    )]
    Empty {
        /// The repository.
        path: PathBuf,
    },
    /// The revision is not in the repository.
    #[error(
        "revision `{rev}` is not in repository {}: name a commit, branch or tag it holds (`git -C {} log --oneline --all` lists them), or fetch it first",
        .path.display(), .path.display()
    )]
    Revision {
        /// The revision given.
        rev: String,
        /// The repository.
        path: PathBuf,
    },
    /// The revision is a short commit id that several objects start with.
    #[error(
        "revision `{rev}` is ambiguous in repository {}: several objects start with it; give more characters of the commit id",
        .path.display()
    )]
    Ambiguous {
        /// The revision given.
        rev: String,
        /// The repository.
        path: PathBuf,
    },
    /// The revision names an object that is not a commit (a tree, a blob).
    #[error(
        "revision `{rev}` of repository {} is not a commit: name a commit, branch or tag",
        .path.display()
    )]
    NotCommit {
        /// The revision given.
        rev: String,
        /// The repository.
        path: PathBuf,
    },
    /// An object of the repository is missing or cannot be read.
    #[error(
        "the Git repository{} is damaged: {what}: run `git fsck` in it and restore what it reports (for example by cloning the repository again from its remote)",
        .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
    )]
    Corrupt {
        /// The repository, when known.
        path: Option<PathBuf>,
        /// libgit2's words, without its codes.
        what: String,
    },
    /// Reading from Git failed otherwise.
    #[error(
        "reading the Git repository{} failed: {what}",
        .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
    )]
    Git {
        /// The repository, when known.
        path: Option<PathBuf>,
        /// libgit2's words, without its codes.
        what: String,
    },
    /// Reading a file of the work tree failed.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Whether libgit2 says an object is missing or unreadable: the object database, its
/// compression, or an object's own format.
fn damaged(e: &git2::Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Odb | ErrorClass::Zlib | ErrorClass::Object | ErrorClass::Tree
    )
}

impl From<git2::Error> for SourceError {
    fn from(e: git2::Error) -> SourceError {
        let what = e.message().to_string();
        if damaged(&e) {
            SourceError::Corrupt { path: None, what }
        } else {
            SourceError::Git { path: None, what }
        }
    }
}

impl SourceError {
    /// The error, naming repository `path` when it does not name one yet.
    pub(crate) fn in_repository(mut self, path: &Path) -> SourceError {
        if let SourceError::Corrupt { path: p, .. } | SourceError::Git { path: p, .. } = &mut self
            && p.is_none()
        {
            *p = Some(path.to_path_buf());
        }
        self
    }
}

/// Why `repo_dir` could not be opened as a repository.
pub(super) fn open_failed(repo_dir: &Path, e: git2::Error) -> SourceError {
    let path = repo_dir.to_path_buf();
    if std::fs::symlink_metadata(repo_dir).is_err() {
        return SourceError::NoSuchPath { path };
    }
    if e.code() == ErrorCode::NotFound {
        let inside = Repository::discover(repo_dir)
            .ok()
            .and_then(|r| r.workdir().map(Path::to_path_buf))
            .map(|top| format!(" (it is inside the repository {})", top.display()))
            .unwrap_or_default();
        return SourceError::NotRepository { path, inside };
    }
    SourceError::from(e).in_repository(repo_dir)
}

/// Why `rev` does not give a commit of `repo` (opened from `repo_dir`).
pub(super) fn revision_failed(
    repo: &Repository,
    repo_dir: &Path,
    rev: &str,
    e: git2::Error,
) -> SourceError {
    let path = repo_dir.to_path_buf();
    let rev = rev.to_string();
    if repo.is_empty().unwrap_or(false) {
        return SourceError::Empty { path };
    }
    // a commit id that is not there is a revision not in the repository; a missing
    // object a reference leads to is damage
    let id = rev.len() >= 4 && rev.chars().all(|c| c.is_ascii_hexdigit());
    match e.code() {
        ErrorCode::Ambiguous => SourceError::Ambiguous { rev, path },
        // the object exists but is a tree or a blob
        ErrorCode::Peel => SourceError::NotCommit { rev, path },
        ErrorCode::InvalidSpec if e.class() == ErrorClass::Object => {
            SourceError::NotCommit { rev, path }
        }
        _ if damaged(&e) && !(id && e.code() == ErrorCode::NotFound) => {
            SourceError::from(e).in_repository(repo_dir)
        }
        ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::UnbornBranch => {
            SourceError::Revision { rev, path }
        }
        _ => SourceError::from(e).in_repository(repo_dir),
    }
}
