//! Where the store is: `--db` / `ZONEKEEPER_DB` read as a file path or a URL, or, when
//! neither is given, the default beside the desired state,
//! `<repository top>/.zonekeeper/zonekeeper.sqlite` (as Terraform keeps its state beside
//! its configuration). The repository's top is the `--repo` work tree, or a bare
//! repository's Git directory; the command line finds it, this file only joins it.
//!
//! A relative path given with `--db` is the shell's: it is read from the working
//! directory, as every path typed on a command line is, and made absolute at once, so
//! every message names the store by its absolute path. A URL scheme other than
//! `sqlite:`, `postgres:` and `postgresql:` is refused: a mistyped `postgress://…` would
//! otherwise be a file name, and a new empty store.
//!
//! Every directory zonekeeper makes for its state holds a `.gitignore` of `*`
//! ([`create_state_dir`]): state and keys never reach Git, whichever repository the
//! directory lies in.

use std::path::{Path, PathBuf};

/// The directory of zonekeeper's state in the repository's top directory.
pub const STATE_DIR: &str = ".zonekeeper";
/// The file name of the default SQLite store in [`STATE_DIR`].
pub const DEFAULT_FILE: &str = "zonekeeper.sqlite";

/// The URL schemes `--db` accepts, as the error about another names them.
pub const SCHEMES: &str = "postgres:// or postgresql:// (PostgreSQL), sqlite:PATH or sqlite://PATH (SQLite), or a file path (SQLite)";

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file, by its absolute path, with the URL's query when one was given
    /// (e.g. `mode=ro`).
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The query of a `sqlite:` URL, without `?`.
        query: Option<String>,
    },
    /// An SQLite database in memory (`sqlite::memory:`): gone with the process.
    Memory,
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

/// `--db` that cannot name a store.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LocationError {
    /// A URL whose scheme zonekeeper does not read.
    #[error("the store `{given}` has the URL scheme `{scheme}:`, which zonekeeper does not read")]
    #[diagnostic(code(store::scheme), help("give {SCHEMES}; nothing was created"))]
    Scheme {
        /// What was given, without its password.
        given: String,
        /// Its scheme.
        scheme: String,
    },
    /// An empty `--db` or `ZONEKEEPER_DB`.
    #[error("the store named by --db or ZONEKEEPER_DB is empty")]
    #[diagnostic(
        code(store::empty),
        help("give {SCHEMES}, or unset ZONEKEEPER_DB to use the default store of the repository")
    )]
    Empty,
    /// The working directory, which a relative path is read from, is unknown.
    #[error("cannot read the store path `{given}` from the working directory: {source}")]
    Cwd {
        /// What was given.
        given: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The scheme of `text` when it reads as a URL (`word://…`).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// `path` made absolute against the working directory (lexically: the file may not
/// exist yet).
fn absolute(path: &str, given: &str) -> Result<PathBuf, LocationError> {
    std::path::absolute(path).map_err(|source| LocationError::Cwd {
        given: given.to_string(),
        source,
    })
}

impl Location {
    /// The default store of the repository whose top directory is `top`.
    pub fn default_in(top: &Path) -> Location {
        Location::Sqlite {
            path: top.join(STATE_DIR).join(DEFAULT_FILE),
            query: None,
        }
    }

    /// Reads `--db`: a PostgreSQL URL, an SQLite URL or file path (relative to the working
    /// directory), or an error for any other URL scheme.
    pub fn parse(db: &str) -> Result<Location, LocationError> {
        if db.is_empty() {
            return Err(LocationError::Empty);
        }
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            return Ok(Location::Postgres(db.to_string()));
        }
        if let Some(rest) = db.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (file, query) = match rest.split_once('?') {
                Some((f, q)) => (f, Some(q.to_string())),
                None => (rest, None),
            };
            if file.is_empty() || file == ":memory:" {
                return Ok(Location::Memory);
            }
            return Ok(Location::Sqlite {
                path: absolute(file, db)?,
                query,
            });
        }
        if let Some(scheme) = url_scheme(db) {
            return Err(LocationError::Scheme {
                given: super::open::redact(db),
                scheme: scheme.to_string(),
            });
        }
        Ok(Location::Sqlite {
            path: absolute(db, db)?,
            query: None,
        })
    }

    /// The URL to connect to. An SQLite file is created only when `create` (a URL that
    /// gave its own query keeps it).
    pub fn url(&self, create: bool) -> String {
        match self {
            Location::Sqlite { path, query } => {
                let mode = if create { "mode=rwc" } else { "mode=rw" };
                format!(
                    "sqlite://{}?{}",
                    url_path(path),
                    query.as_deref().unwrap_or(mode)
                )
            }
            Location::Memory => "sqlite::memory:".into(),
            Location::Postgres(url) => url.clone(),
        }
    }

    /// The store as messages name it: the SQLite file's absolute path, or the URL without
    /// its password.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite { path, .. } => path.display().to_string(),
            Location::Memory => "sqlite::memory:".into(),
            Location::Postgres(url) => super::open::redact(url),
        }
    }

    /// The SQLite file, if the store is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::Sqlite { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether the store may be missing and is: an SQLite file that does not exist (a
    /// PostgreSQL database is made by its administrator, and is there or unreachable).
    pub fn is_missing(&self) -> bool {
        self.file().is_some_and(|f| !f.exists())
    }

    /// Makes the SQLite file's directory, if missing, with a `.gitignore` of `*` in each
    /// directory made ([`create_state_dir`]).
    pub fn create_dir(&self) -> std::io::Result<()> {
        match self.file().and_then(Path::parent) {
            Some(dir) => create_state_dir(dir),
            None => Ok(()),
        }
    }
}

/// `path` as the path of an `sqlite://` URL: sqlx percent-decodes it and cuts it at `?`,
/// so `%`, `?` and `#` are written percent-encoded.
fn url_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Makes `dir` and its missing parents; the outermost directory made gets a `.gitignore`
/// holding `*`, so Git never picks up what zonekeeper keeps there (stores, lab keys).
/// A directory that exists is left as it is.
pub fn create_state_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut outermost = dir;
    while let Some(parent) = outermost.parent() {
        if parent.as_os_str().is_empty() || parent.exists() {
            break;
        }
        outermost = parent;
    }
    let outermost = outermost.to_path_buf();
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        outermost.join(".gitignore"),
        "# made by zonekeeper: its state (stores, lab keys) never goes into Git\n*\n",
    )
}

/// Turns `--db` into a URL that creates an SQLite file if missing.
pub fn db_url(db: &str) -> Result<String, LocationError> {
    Ok(Location::parse(db)?.url(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            Location::parse("x.db").unwrap().url(true),
            format!("sqlite://{}?mode=rwc", cwd.join("x.db").display())
        );
        assert_eq!(
            Location::parse("/tmp/x.db").unwrap().url(false),
            "sqlite:///tmp/x.db?mode=rw"
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/x.db?mode=ro")
                .unwrap()
                .url(true),
            "sqlite:///tmp/x.db?mode=ro"
        );
        assert_eq!(
            Location::parse("sqlite:/tmp/a?b%").unwrap().shown(),
            "/tmp/a"
        );
        assert_eq!(
            Location::parse("/tmp/a%b#c").unwrap().url(true),
            "sqlite:///tmp/a%25b%23c?mode=rwc"
        );
        assert_eq!(
            Location::parse("sqlite::memory:").unwrap(),
            Location::Memory
        );
        assert_eq!(
            Location::parse("postgres://u:pw@h/db").unwrap().shown(),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            Location::default_in(Path::new("/r")).shown(),
            "/r/.zonekeeper/zonekeeper.sqlite"
        );
    }

    #[test]
    fn unknown_schemes_are_refused() {
        for (db, scheme) in [
            ("postgress://u@h/db", "postgress"),
            ("sqlit:///tmp/x", "sqlit"),
            ("mysql://u:pw@h/db", "mysql"),
            ("file:///tmp/x", "file"),
        ] {
            match Location::parse(db) {
                Err(LocationError::Scheme { scheme: s, given }) => {
                    assert_eq!(s, scheme);
                    assert!(!given.contains("pw"), "{given}");
                }
                other => panic!("{db}: {other:?}"),
            }
        }
        assert!(matches!(Location::parse(""), Err(LocationError::Empty)));
        // a path that only looks a little like a URL is a path
        assert!(Location::parse("./a://b").is_ok());
    }

    #[test]
    fn state_directories_ignore_themselves() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("top/.zonekeeper/lab");
        create_state_dir(&dir).unwrap();
        assert!(dir.is_dir());
        let ignore = std::fs::read_to_string(t.path().join("top/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
        // an existing directory is left alone
        std::fs::create_dir(t.path().join("mine")).unwrap();
        create_state_dir(&t.path().join("mine")).unwrap();
        assert!(!t.path().join("mine/.gitignore").exists());
        create_state_dir(&t.path().join("mine/sub")).unwrap();
        assert!(t.path().join("mine/sub/.gitignore").exists());
    }
}
