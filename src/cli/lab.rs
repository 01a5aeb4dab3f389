//! `zonekeeper lab up|down`: a local BIND lab shaped after the desired state's
//! `zonekeeper.yaml` (its primary, secondaries, catalogs, TSIG key file, rndc.conf and
//! config_dir), for trying zonekeeper on one machine. Not for production. Built with the cargo
//! feature `lab` (on by default); the lab itself is the workspace crate `zonekeeper-lab`.
//! Its files are in `.zonekeeper/lab` of the repository's top directory unless `--dir`
//! says otherwise (`state.rs`); relative paths of zonekeeper.yaml are read from that top.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Subcommand;
use miette::IntoDiagnostic;
use zonekeeper_lab::{self as lab, LabServerSpec, LabSpec};

use super::Global;
use crate::desired::{self, Source};
use crate::model::config::{SecretSource, member_catalog};
use crate::outln;

/// Lab subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start (or keep) the lab's named processes in the background.
    Up {
        /// Where the lab's servers keep their files (default: .zonekeeper/lab in the
        /// repository's top directory; a relative path is read from the working directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Stop the lab's named processes.
    Down {
        /// Where the lab's servers keep their files (default: .zonekeeper/lab in the
        /// repository's top directory; a relative path is read from the working directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn v4(addr: IpAddr, what: &str) -> miette::Result<std::net::Ipv4Addr> {
    match addr {
        IpAddr::V4(a) if a.is_loopback() => Ok(a),
        _ => Err(miette::miette!(
            "the lab runs on IPv4 loopback only, but {what} is {addr}"
        )),
    }
}

/// Runs `lab`.
pub fn run(g: &Global, cmd: &LabCommand) -> miette::Result<u8> {
    match cmd {
        LabCommand::Down { dir } => {
            let dir = super::state::lab_dir(g, dir.as_deref())?;
            lab::stop_detached(&dir).into_diagnostic()?;
            outln!("lab in {} stopped", dir.display())?;
            Ok(0)
        }
        LabCommand::Up { dir } => {
            let dir = super::state::lab_dir(g, dir.as_deref())?;
            let source = Source::open(&g.repo, Some(&g.rev), g.worktree).into_diagnostic()?;
            let mut problems = Vec::new();
            let config = desired::load_config(&source, &mut problems).into_diagnostic()?;
            let Some(config) = config.filter(|_| problems.is_empty()) else {
                super::validate::report_problems(
                    g.format,
                    &source.revision().id,
                    &desired::Problems(problems),
                )?;
                return Ok(super::validate::INVALID);
            };
            let p = &config.primary;
            let SecretSource::File(key_file) = &p.tsig.secret else {
                return Err(miette::miette!(
                    "the lab writes the TSIG key to a file: give the primary's tsig a `secret_file`"
                ));
            };
            let primary = LabServerSpec {
                name: "primary".into(),
                addr: v4(p.addr.ip(), "the primary")?,
                port: p.addr.port(),
                rndc_port: 9531,
            };
            let mut secondaries = Vec::new();
            for (i, s) in config.secondaries.values().enumerate() {
                let addr = s
                    .addresses
                    .first()
                    .copied()
                    .ok_or_else(|| miette::miette!("secondary {} has no address", s.name))?;
                secondaries.push(LabServerSpec {
                    name: s.name.clone(),
                    addr: v4(addr, &s.name)?,
                    port: s.port,
                    rndc_port: 9532 + i as u16,
                });
            }
            let spec = LabSpec {
                dir: dir.clone(),
                primary,
                secondaries,
                catalogs: Vec::new(),
                // each secondary consumes its own catalog of each group it is in
                secondary_catalogs: config
                    .secondaries
                    .keys()
                    .map(|s| {
                        let cats = config
                            .groups
                            .values()
                            .filter(|g| g.secondaries.contains(s))
                            .map(|g| member_catalog(&g.catalog, s).to_string())
                            .collect();
                        (s.clone(), cats)
                    })
                    .collect(),
                tsig_key_name: p.tsig.name.to_string().trim_end_matches('.').to_string(),
                tsig_key_file: key_file.clone(),
                primary_rndc_conf: p.rndc_conf.clone(),
                include_dir: p.config_dir.clone(),
                serial_query_rate: lab::DEFAULT_SERIAL_QUERY_RATE,
                max_refresh_time: lab::DEFAULT_MAX_REFRESH_TIME,
            };
            // the lab's keys never reach Git: each directory made for its files ignores
            // itself (`.gitignore` of `*`)
            crate::store::create_state_dir(&dir).into_diagnostic()?;
            for file in [&spec.tsig_key_file, &spec.primary_rndc_conf] {
                if let Some(parent) = file.parent() {
                    crate::store::create_state_dir(parent).into_diagnostic()?;
                }
            }
            lab::start_detached(spec).into_diagnostic()?;
            outln!(
                "lab up in {}: primary {}, {} secondar{}",
                dir.display(),
                p.addr,
                config.secondaries.len(),
                if config.secondaries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            )?;
            Ok(0)
        }
    }
}
