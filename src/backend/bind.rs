//! The primary's zone configuration, rendered by zonekeeper: `<config_dir>/zones.conf`
//! (which the primary's named.conf includes) and the zone files of new zones under
//! `<config_dir>/zones/`. Any number of new zones cost one `rndc reconfig`, never a
//! process per zone. A reconfiguration owed (zones.conf changed, no `rndc reconfig`
//! succeeded since) is remembered in `<config_dir>/zones.conf.pending`, so a failed or
//! timed-out reconfig is done again by whichever apply writes zones.conf next.
//!
//! `rndc` runs with an argument vector (no shell) and a timeout: against a hung server it
//! would otherwise wait 60 s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::Name;

/// Errors driving the primary's configuration.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// rndc could not be run or failed.
    #[error("`{command}` failed: {message}")]
    Rndc {
        /// The command line (no secrets: the key is in the rndc.conf file).
        command: String,
        /// What it said.
        message: String,
    },
}

/// One zone the primary serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// Zone name.
    pub zone: Name,
    /// The secondaries to NOTIFY.
    pub notify: Vec<SocketAddr>,
    /// A copy transferred from this primary (`type secondary`, in text format so that it
    /// can become a primary zone later), instead of a primary zone.
    pub copy_of: Option<SocketAddr>,
}

/// The primary's zone configuration and control channel.
#[derive(Debug, Clone)]
pub struct PrimaryControl {
    /// Where zones.conf and zone files live.
    pub config_dir: PathBuf,
    /// The rndc program.
    pub rndc: PathBuf,
    /// rndc.conf reaching the primary.
    pub rndc_conf: PathBuf,
    /// The TSIG key allowed to UPDATE.
    pub key_name: String,
}

fn write_atomic(path: &Path, text: &str) -> Result<(), BindError> {
    let err = |source| BindError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

impl PrimaryControl {
    /// The configuration directory, absolute (BIND changes directory at start).
    fn dir(&self) -> PathBuf {
        let d = if self.config_dir.is_absolute() {
            self.config_dir.clone()
        } else {
            std::env::current_dir()
                .unwrap_or_default()
                .join(&self.config_dir)
        };
        std::fs::canonicalize(&d).unwrap_or(d)
    }

    /// The zone file of a zone.
    pub fn zone_file(&self, zone: &Name) -> PathBuf {
        self.dir()
            .join("zones")
            .join(format!("{}db", crate::model::ascii(zone)))
    }

    /// Whether zonekeeper already wrote a zone file for this zone.
    pub fn has_zone_file(&self, zone: &Name) -> bool {
        self.zone_file(zone).exists()
    }

    /// Writes a new zone's file.
    pub fn write_zone_file(&self, zone: &Name, text: &str) -> Result<(), BindError> {
        write_atomic(&self.zone_file(zone), text)
    }

    /// Removes a deleted zone's file and journal.
    pub fn remove_zone_files(&self, zone: &Name) {
        let file = self.zone_file(zone);
        let _ = std::fs::remove_file(file.with_extension("db.jnl"));
        let _ = std::fs::remove_file(&file);
    }

    /// Renders zones.conf for these zones.
    pub fn render(&self, stanzas: &[Stanza]) -> String {
        let mut out = String::from(
            "// Written by zonekeeper; do not edit. Included by the primary's named.conf.\n",
        );
        for s in stanzas {
            let notify: Vec<String> = s
                .notify
                .iter()
                .map(|a| format!("{} port {};", a.ip(), a.port()))
                .collect();
            let zone = crate::model::ascii(&s.zone);
            let file = self.zone_file(&s.zone);
            let key = self.key_name.trim_end_matches('.');
            let notify = notify.join(" ");
            out.push_str(&match s.copy_of {
                None => format!(
                    "zone \"{zone}\" {{ type primary; file \"{file}\"; allow-update {{ key \"{key}\"; }}; notify explicit; also-notify {{ {notify} }}; }};\n",
                    file = file.display(),
                ),
                Some(from) => format!(
                    "zone \"{zone}\" {{ type secondary; file \"{file}\"; masterfile-format text; primaries {{ {ip} port {port} key \"{key}\"; }}; notify no; }};\n",
                    file = file.display(),
                    ip = from.ip(),
                    port = from.port(),
                ),
            });
        }
        out
    }

    /// The marker of a reconfiguration owed: `<config_dir>/zones.conf.pending`, written
    /// before `zones.conf` changes and removed once `rndc reconfig` succeeded.
    fn pending(&self) -> PathBuf {
        self.dir().join("zones.conf.pending")
    }

    /// Writes zones.conf if it differs; returns whether the primary must reconfigure: the
    /// file changed now, or it changed earlier and no `rndc reconfig` succeeded since (one
    /// failed or timed out, or the process died in between), so the primary may not have
    /// loaded it yet. Safe to repeat: the marker goes only with a successful reconfig.
    ///
    /// A zone of `stanzas` whose file zonekeeper does not hold is left out: the primary
    /// serves it from its own configuration (a zone adopted in place, `apply --adopt`),
    /// which keeps it; a second stanza for it would fail the whole reconfiguration.
    pub fn write_conf(&self, stanzas: &[Stanza]) -> Result<bool, BindError> {
        let path = self.dir().join("zones.conf");
        let own: Vec<Stanza> = stanzas
            .iter()
            .filter(|s| s.copy_of.is_some() || self.has_zone_file(&s.zone))
            .cloned()
            .collect();
        let text = self.render(&own);
        let owed = self.pending();
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(owed.exists());
        }
        std::fs::write(&owed, "zones.conf changed; `rndc reconfig` not yet done\n").map_err(
            |source| BindError::Write {
                path: owed.clone(),
                source,
            },
        )?;
        write_atomic(&path, &text)?;
        Ok(true)
    }

    /// `rndc -c <rndc.conf> ARGS`, with a timeout.
    pub async fn rndc(&self, args: &[&str], timeout: Duration) -> Result<String, BindError> {
        let command = format!(
            "{} -c {} {}",
            self.rndc.display(),
            self.rndc_conf.display(),
            args.join(" ")
        );
        tracing::debug!(%command, "running rndc");
        let mut cmd = tokio::process::Command::new(&self.rndc);
        cmd.arg("-c")
            .arg(&self.rndc_conf)
            .args(args)
            .kill_on_drop(true);
        let output = match tokio::time::timeout(timeout, cmd.output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                return Err(BindError::Rndc {
                    command,
                    message: e.to_string(),
                });
            }
            Err(_) => {
                return Err(BindError::Rndc {
                    command,
                    message: format!("no answer within {} s", timeout.as_secs()),
                });
            }
        };
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).to_string())
        } else {
            let mut message = String::from_utf8_lossy(&output.stderr).trim().to_string();
            if message.is_empty() {
                message = format!("exit status {}", output.status);
            }
            Err(BindError::Rndc { command, message })
        }
    }

    /// `rndc reconfig`: the primary loads new zones and drops removed ones. Once it
    /// succeeded, no reconfiguration is owed any more (see [`Self::write_conf`]).
    pub async fn reconfig(&self) -> Result<(), BindError> {
        self.rndc(&["reconfig"], Duration::from_secs(60)).await?;
        // A marker left behind only costs one more reconfig later.
        let _ = std::fs::remove_file(self.pending());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control whose `rndc` is `program` (`true` succeeds, `false` fails).
    fn control(dir: &Path, program: &str) -> PrimaryControl {
        PrimaryControl {
            config_dir: dir.to_path_buf(),
            rndc: PathBuf::from(program),
            rndc_conf: dir.join("rndc.conf"),
            key_name: "zonekeeper".into(),
        }
    }

    fn stanza(zone: &str) -> Stanza {
        Stanza {
            zone: Name::from_ascii(zone).unwrap(),
            notify: Vec::new(),
            copy_of: None,
        }
    }

    #[tokio::test]
    async fn a_failed_reconfig_stays_owed_until_one_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let (failing, working) = (control(dir.path(), "false"), control(dir.path(), "true"));
        let conf = [stanza("a.test.")];
        assert!(failing.write_conf(&conf).unwrap(), "new zones.conf");
        assert!(failing.reconfig().await.is_err());
        assert!(
            failing.write_conf(&conf).unwrap(),
            "unchanged, but the reconfig is owed"
        );
        working.reconfig().await.unwrap();
        assert!(!working.write_conf(&conf).unwrap(), "nothing owed");
        assert!(working.write_conf(&[]).unwrap(), "changed again");
    }
}
