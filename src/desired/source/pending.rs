//! Zone files listed but not yet read, and the reader that reads them: listing a revision
//! is cheap (one tree), reading is not (one blob per zone), so reading is left to the
//! threads that check the zones, each with its own [`Reader`].

use std::path::{Path, PathBuf};

use git2::{FileMode, Oid, Repository};

use super::{
    Content, MODE_SYMLINK, Refused, Source, SourceError, not_regular, read_disk, symlink_refused,
    text_of,
};

/// Where a listed zone file's bytes are.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Known while listing: a link or anything but a regular file, refused (or text
    /// already read).
    Known(Content),
    /// A blob of the revision, a regular file.
    Blob(Oid),
    /// A file of the work tree (`--worktree`), read without following links.
    Disk,
}

impl Pending {
    /// A tree entry's file: a regular file's blob; a link or anything else refused.
    pub(super) fn of_entry(path: &str, id: Oid, mode: i32, is_blob: bool) -> Pending {
        if mode == MODE_SYMLINK {
            Pending::Known(Err(symlink_refused(path)))
        } else if !is_blob {
            Pending::Known(Err(not_regular(path)))
        } else {
            Pending::Blob(id)
        }
    }

    /// A file that a diff found changed, from the blob and mode it names.
    pub fn of_change(path: &str, blob: Oid, mode: FileMode) -> Pending {
        match mode {
            FileMode::Link => Pending::Known(Err(symlink_refused(path))),
            FileMode::Blob | FileMode::BlobExecutable | FileMode::BlobGroupWritable => {
                Pending::Blob(blob)
            }
            _ => Pending::Known(Err(not_regular(path))),
        }
    }
}

/// The bytes of a file, or why it is not read.
pub type Bytes = Result<Vec<u8>, Refused>;

/// Reads [`Pending`] files. A Git repository handle is not shared between threads, so
/// each thread gets its own ([`Source::reader`]).
pub struct Reader {
    repo: Option<Repository>,
    root: Option<PathBuf>,
}

impl Reader {
    /// The bytes of one file (`None` when a work-tree file is gone).
    pub fn bytes(&self, path: &str, pending: &Pending) -> Result<Option<Bytes>, SourceError> {
        match pending {
            Pending::Known(Ok(text)) => Ok(Some(Ok(text.clone().into_bytes()))),
            Pending::Known(Err(r)) => Ok(Some(Err(r.clone()))),
            Pending::Blob(id) => {
                match &self.repo {
                    Some(repo) => match repo.find_blob(*id) {
                        Ok(blob) => Ok(Some(Ok(blob.content().to_vec()))),
                        Err(e) => Err(SourceError::from(e)
                            .in_repository(repo.workdir().unwrap_or(repo.path()))),
                    },
                    None => Ok(Some(Err(not_regular(path)))),
                }
            }
            Pending::Disk => match &self.root {
                Some(root) => disk_bytes(root, path),
                None => Ok(None),
            },
        }
    }

    /// The text of one file (`None` when a work-tree file is gone).
    pub fn content(&self, path: &str, pending: &Pending) -> Result<Option<Content>, SourceError> {
        Ok(self
            .bytes(path, pending)?
            .map(|b| b.and_then(|b| text_of(path, b))))
    }
}

/// A work-tree file's bytes, read as [`read_disk`] reads it (links refused).
fn disk_bytes(root: &Path, path: &str) -> Result<Option<Bytes>, SourceError> {
    Ok(read_disk(root, path)?.map(|c| c.map(String::into_bytes)))
}

impl Source {
    /// A reader of this revision's files, for one thread.
    pub fn reader(&self) -> Result<Reader, SourceError> {
        let repo = match (&self.worktree, &self.repo) {
            (None, Some(r)) => Some(super::open_repository(r.path())?),
            _ => None,
        };
        Ok(Reader {
            repo,
            root: self.worktree.clone(),
        })
    }
}
