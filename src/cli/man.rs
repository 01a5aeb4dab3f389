//! `zonekeeper man [--dir DIR]`: the manual in roff (clap_mangen), made from the same
//! definitions as `--help`. Without `--dir`, the page of zonekeeper(1) on stdout
//! (`zonekeeper man | man -l -`); with it, one page per command written into DIR
//! (zonekeeper.1, zonekeeper-plan.1, zonekeeper-show-zone.1, …), as packagers install them.

use std::path::Path;

use clap::CommandFactory;

use super::Cli;
use crate::outln;

/// Prints the top page, or writes every page into `dir`.
pub fn run(dir: Option<&Path>) -> miette::Result<u8> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .map_err(|e| miette::miette!("cannot render the manual page: {e}"))?;
        crate::out!("{}", String::from_utf8_lossy(&page))?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        miette::miette!(
            help = "give a directory you may write, e.g. --dir ./man",
            "cannot create {}: {e}",
            dir.display()
        )
    })?;
    clap_mangen::generate_to(cmd, dir).map_err(|e| {
        miette::miette!("cannot write the manual pages into {}: {e}", dir.display())
    })?;
    let pages = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("zonekeeper"))
                .count()
        })
        .unwrap_or(0);
    outln!("wrote {pages} manual page(s) into {}", dir.display())?;
    Ok(0)
}
