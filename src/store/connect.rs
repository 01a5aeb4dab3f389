//! Reaching the store, and why it could not be reached in the operator's words: sqlx's
//! errors translated into one sentence each naming the store (PostgreSQL's host and port,
//! the SQLite file) and what to do, never the password.
//!
//! PostgreSQL is first reached by one connection of its own, within
//! [`CONNECT_TIMEOUT`]: a pool retries a refused connection until its acquire timeout and
//! then says only "pool timed out", so the first connection is what tells a server that
//! is down (refused), a host that does not resolve, one that does not answer, a refused
//! role and a missing database apart.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

/// How long reaching PostgreSQL may take before the store is said to be unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens at the address.
    #[error(
        "cannot reach the PostgreSQL store at {at}: connection refused: start PostgreSQL there, or correct the host and port in --db (ZONEKEEPER_DB)"
    )]
    Refused {
        /// `host:port`.
        at: String,
    },
    /// The host does not answer in time.
    #[error(
        "cannot reach the PostgreSQL store at {at}: no answer within {} s: check that the host is up and that no firewall drops the connection, or correct --db (ZONEKEEPER_DB)",
        CONNECT_TIMEOUT.as_secs()
    )]
    NoAnswer {
        /// `host:port`.
        at: String,
    },
    /// The host name does not resolve.
    #[error(
        "cannot find the PostgreSQL host `{host}` of the store: {reason}: correct the host in --db (ZONEKEEPER_DB)"
    )]
    UnknownHost {
        /// The host as given.
        host: String,
        /// The resolver's words.
        reason: String,
    },
    /// The connection failed otherwise on the way.
    #[error("cannot reach the PostgreSQL store at {at}: {reason}")]
    Network {
        /// `host:port`.
        at: String,
        /// Why.
        reason: String,
    },
    /// The server refused the role (authentication, or no such role).
    #[error(
        "the PostgreSQL store at {at} refused role `{user}`: {reason}: check the user name and password in --db (ZONEKEEPER_DB), or the server's pg_hba.conf"
    )]
    Auth {
        /// `host:port`.
        at: String,
        /// The role.
        user: String,
        /// The server's words.
        reason: String,
    },
    /// The database does not exist.
    #[error(
        "the PostgreSQL server at {at} has no database `{database}`: create it (`createdb -h {host} -p {port} {database}`, owned by the role zonekeeper migrates with), or correct the database name in --db"
    )]
    NoDatabase {
        /// `host:port`.
        at: String,
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
        /// The database asked for.
        database: String,
    },
    /// Any other refusal by the server.
    #[error("the PostgreSQL store at {at} refused the connection: {reason}")]
    Refusal {
        /// `host:port`.
        at: String,
        /// The server's words (SQLSTATE included).
        reason: String,
    },
    /// The URL itself is wrong.
    #[error("the store URL given with --db (ZONEKEEPER_DB) is not valid: {reason}")]
    Url {
        /// Why (the password never shown).
        reason: String,
    },
    /// The SQLite file cannot be opened.
    #[error("cannot open the SQLite store {}: {reason}", .path.display())]
    SqliteOpen {
        /// The file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// The file is not an SQLite database.
    #[error(
        "the SQLite store {} is not an SQLite database: give --db the store's file (state/zonekeeper.sqlite by default)",
        .path.display()
    )]
    NotDatabase {
        /// The file.
        path: PathBuf,
    },
    /// Another process holds the file's lock.
    #[error(
        "the SQLite store {} is locked by another process (still after 10 s): wait until it is done (`fuser {}` names it), then run this again",
        .path.display(), .path.display()
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
}

/// What the store is, for messages.
#[derive(Debug, Clone)]
pub enum Target {
    /// A PostgreSQL database.
    Postgres {
        /// The host (or socket folder).
        host: String,
        /// The port.
        port: u16,
        /// The role.
        user: String,
        /// The database.
        database: String,
        /// The password, to keep it out of every message.
        password: Option<String>,
    },
    /// An SQLite file (`:memory:` or a path).
    Sqlite(PathBuf),
}

impl Target {
    /// The store `url` names.
    pub fn of(url: &str) -> Result<Target, ConnectError> {
        if url.starts_with("postgres") {
            let o = PgConnectOptions::from_str(url).map_err(|e| ConnectError::Url {
                reason: hide(&e.to_string(), password(url).as_deref()),
            })?;
            return Ok(Target::Postgres {
                host: o.get_host().to_string(),
                port: o.get_port(),
                user: o.get_username().to_string(),
                database: o.get_database().unwrap_or(o.get_username()).to_string(),
                password: password(url),
            });
        }
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        let path = path.strip_prefix("//").unwrap_or(path);
        Ok(Target::Sqlite(PathBuf::from(
            path.split('?').next().unwrap_or(path),
        )))
    }

    fn at(&self) -> String {
        match self {
            Target::Postgres { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Postgres { host, port, .. } => format!("{host}:{port}"),
            Target::Sqlite(p) => p.display().to_string(),
        }
    }

    /// `text` without the password.
    fn hide(&self, text: &str) -> String {
        match self {
            Target::Postgres { password, .. } => hide(text, password.as_deref()),
            Target::Sqlite(_) => text.to_string(),
        }
    }

    /// Why the store could not be opened, from sqlx's error: `None` when the error is not
    /// about reaching or opening it (a query's own failure).
    pub fn explain(&self, e: &sqlx::Error) -> Option<ConnectError> {
        match self {
            Target::Postgres { .. } => Some(self.explain_postgres(e)),
            Target::Sqlite(path) => explain_sqlite(path, e),
        }
    }

    fn explain_postgres(&self, e: &sqlx::Error) -> ConnectError {
        let at = self.at();
        let Target::Postgres {
            host,
            port,
            user,
            database,
            ..
        } = self
        else {
            return ConnectError::Network {
                at,
                reason: e.to_string(),
            };
        };
        let reason = |text: String| self.hide(&text);
        match e {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ConnectError::Refused { at },
                std::io::ErrorKind::TimedOut => ConnectError::NoAnswer { at },
                _ => match resolves(host, *port) {
                    Err(why) => ConnectError::UnknownHost {
                        host: host.clone(),
                        reason: why,
                    },
                    Ok(()) => ConnectError::Network {
                        at,
                        reason: reason(io.to_string()),
                    },
                },
            },
            sqlx::Error::PoolTimedOut => ConnectError::NoAnswer { at },
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                let words = reason(db.message().to_string());
                match code.as_str() {
                    // invalid_authorization_specification, invalid_password
                    c if c.starts_with("28") => ConnectError::Auth {
                        at,
                        user: user.clone(),
                        reason: words,
                    },
                    // invalid_catalog_name
                    "3D000" => ConnectError::NoDatabase {
                        at,
                        host: host.clone(),
                        port: *port,
                        database: database.clone(),
                    },
                    _ => ConnectError::Refusal {
                        at,
                        reason: format!("{words} (SQLSTATE {code})"),
                    },
                }
            }
            sqlx::Error::Protocol(p) => ConnectError::Network {
                at,
                reason: reason(format!(
                    "what answers there does not speak PostgreSQL's protocol ({p}): check the port"
                )),
            },
            sqlx::Error::Tls(t) => ConnectError::Network {
                at,
                reason: reason(format!("TLS failed: {t}")),
            },
            other => ConnectError::Network {
                at,
                reason: reason(other.to_string()),
            },
        }
    }
}

/// Whether `host` resolves; the resolver's words when not. A socket folder counts.
fn resolves(host: &str, port: u16) -> Result<(), String> {
    if host.starts_with('/') {
        return Ok(());
    }
    use std::net::ToSocketAddrs;
    (host, port)
        .to_socket_addrs()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// SQLite's result code (the primary one, of an extended code), if `e` has one.
fn sqlite_code(e: &sqlx::Error) -> Option<i64> {
    match e {
        sqlx::Error::Database(db) => Some(db.code()?.parse::<i64>().ok()? & 0xff),
        _ => None,
    }
}

/// An SQLite store that cannot be opened or read as a database; `None` for anything else.
fn explain_sqlite(path: &Path, e: &sqlx::Error) -> Option<ConnectError> {
    let path = path.to_path_buf();
    match sqlite_code(e) {
        // SQLITE_BUSY, SQLITE_LOCKED
        Some(5 | 6) => Some(ConnectError::Locked { path }),
        // SQLITE_NOTADB
        Some(26) => Some(ConnectError::NotDatabase { path }),
        // SQLITE_CANTOPEN, SQLITE_PERM
        Some(14 | 3) => Some(ConnectError::SqliteOpen {
            reason: cannot_open(&path),
            path,
        }),
        _ => match e {
            sqlx::Error::Io(io) => Some(ConnectError::SqliteOpen {
                reason: io.to_string(),
                path,
            }),
            _ => None,
        },
    }
}

/// Why SQLite cannot open `path`, found on the file system, and what to do.
fn cannot_open(path: &Path) -> String {
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "it is a folder: give --db the store's file inside it".into(),
        Ok(_) => match std::fs::File::open(path) {
            Err(e) => format!("{e}: make it readable by this user, or run as its owner"),
            Ok(_) => {
                "SQLite cannot open it: check that this user may write it and its folder".into()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !folder.exists() => format!(
            "its folder {} does not exist: create it, or correct --db",
            folder.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "it does not exist: correct --db, or let `zonekeeper apply` create it".into()
        }
        Err(e) => format!("{e}: make it readable by this user, or run as its owner"),
    }
}

/// The password of a `scheme://user:password@host/...` URL, if it has one.
fn password(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let creds = &rest[..rest.rfind('@')?];
    let (_, password) = creds.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

/// `text` with every occurrence of `password` masked.
fn hide(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

/// Reaches PostgreSQL once at `url`, within [`CONNECT_TIMEOUT`], so that a store that
/// cannot be reached is said to be so, and why, at once.
pub async fn reach_postgres(url: &str, target: &Target) -> Result<(), ConnectError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| ConnectError::Url {
        reason: target.hide(&e.to_string()),
    })?;
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(c)) => {
            let _ = sqlx::Connection::close(c).await;
            Ok(())
        }
        Ok(Err(e)) => Err(target.explain_postgres(&e)),
        Err(_) => Err(ConnectError::NoAnswer { at: target.at() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_host_port_and_never_the_password() {
        let t = Target::of("postgres://zk:hunter2@db.example.net:5433/zonekeeper").unwrap();
        assert_eq!(t.at(), "db.example.net:5433");
        assert_eq!(t.hide("password hunter2 refused"), "password *** refused");
        let t = Target::of("sqlite://state/zonekeeper.sqlite?mode=rwc").unwrap();
        assert_eq!(t.at(), "state/zonekeeper.sqlite");
        let t = Target::of("/tmp/s.db").unwrap();
        assert_eq!(t.at(), "/tmp/s.db");
    }
}
