//! `zonekeeper import`: zones brought into the repository's work tree as
//! `zones/<zone>.yaml`, from exactly one source (the flags of [`ImportFrom`]):
//!
//! - `--from-primary` (with one `--zone`): what the configured primary serves now (AXFR,
//!   TSIG-signed), at the path the zone's file has, in the repository's zone format,
//!   records sorted, the SOA serial left to zonekeeper. The file is then built as
//!   `validate` and `plan` build it and must give exactly the served RRsets; a record the
//!   format cannot state is an error naming it, and on any error the work tree is left as
//!   it was. It overwrites the zone's file: it is how drift is resolved in the desired
//!   state, and the next apply records the zone as served and clears its drift.
//! - `--file`, `--dir`, `--named-conf`, `--axfr`: an existing fleet brought in
//!   ([`super::import_fleet`]).
//!
//! Nothing is committed: the operator reviews and commits.

use std::path::PathBuf;

use miette::IntoDiagnostic;

use super::{Format, Global};
use crate::apply::content::{self, same_content};
use crate::desired::{self, Source};
use crate::drift::resolve::normalize;
use crate::drift::zone_yaml;
use crate::model::Config;
use crate::outln;

/// The format of import's JSON (schema/output/import.schema.json): `--from-primary`
/// prints one zone's object, every other source the report of all zones.
pub const FORMAT: &str = "zonekeeper-import/1";

/// Where zones are imported from: exactly one source.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ImportFrom {
    /// The zone (one --zone) as the configured primary serves it now (AXFR, TSIG-signed);
    /// overwrites its file.
    #[arg(long, requires = "zones")]
    pub from_primary: bool,
    /// An RFC 1035 zone file; the zone is --zone, else the SOA's owner ($ORIGIN).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Every zone file in a directory (hidden files skipped); each zone is its SOA's
    /// owner, relative names starting from the file's name (`db.example.com`,
    /// `example.com.zone` and `example.com` name example.com.) unless $ORIGIN says.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Every primary zone of a BIND named.conf (includes followed, views too), read from
    /// its file (relative paths against the `directory` option).
    #[arg(long, value_name = "PATH")]
    pub named_conf: Option<PathBuf>,
    /// Transfers (AXFR, TSIG) from this server: the zones of --zone, --zones-from or
    /// --catalog, 16 at a time.
    #[arg(long, value_name = "ADDR[:PORT]", requires = "tsig_key_file")]
    pub axfr: Option<String>,
}

/// Options of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A zone to import (repeatable with --axfr; one with --from-primary or --file).
    #[arg(long = "zone", value_name = "ZONE")]
    pub zones: Vec<String>,
    /// Where from.
    #[command(flatten)]
    pub from: ImportFrom,
    /// With --axfr: the BIND key file of the TSIG key (`key "name" { algorithm …; secret "…"; };`).
    #[arg(long, value_name = "FILE", requires = "axfr")]
    pub tsig_key_file: Option<PathBuf>,
    /// With --axfr: the zones to transfer, one per line, or `zone "x" { … };` lines as
    /// `rndc showzone` prints them.
    #[arg(long, value_name = "FILE", requires = "axfr")]
    pub zones_from: Option<PathBuf>,
    /// With --axfr: transfer this catalog zone and import every member zone (RFC 9432).
    #[arg(long, value_name = "ZONE", requires = "axfr")]
    pub catalog: Option<String>,
    /// The group the zones go to (default: the zone's group, or the only group there is;
    /// `default` in a skeleton zonekeeper.yaml).
    #[arg(long)]
    pub group: Option<String>,
    /// Overwrite zone files that exist (--from-primary always does).
    #[arg(long)]
    pub force: bool,
}

/// The zone's group: asked for, as the revision or the store has it, or the only one.
async fn group_of(
    g: &Global,
    config: &Config,
    source: &Source,
    zone: &str,
    asked: Option<&str>,
) -> miette::Result<String> {
    if let Some(a) = asked {
        return Ok(a.to_string());
    }
    let mut problems = Vec::new();
    if let Ok(Some(z)) = desired::load_zone(source, config, zone, &mut problems) {
        return Ok(z.group);
    }
    let recorded = match super::state::store_if_any(g).await? {
        Some(store) => {
            let recorded = store.zone(zone).await.into_diagnostic()?;
            store.close().await;
            recorded
        }
        None => None,
    };
    if let Some(r) = recorded {
        return Ok(r.group);
    }
    let mut groups = config.groups.keys();
    match (groups.next(), groups.next()) {
        (Some(only), None) => Ok(only.clone()),
        _ => Err(miette::miette!(
            help = "name it with --group",
            "zone {zone} is in neither the repository nor the store, and zonekeeper.yaml has several groups: which one serves it?"
        )),
    }
}

/// Runs `import`.
pub async fn run(g: &Global, args: &ImportArgs) -> miette::Result<u8> {
    if !args.from.from_primary {
        return super::import_fleet::run(g, args).await;
    }
    let [asked] = args.zones.as_slice() else {
        return Err(miette::miette!(
            help = "import one zone at a time from the primary",
            "--from-primary takes exactly one --zone"
        ));
    };
    let zone = normalize(asked);
    if hickory_proto::rr::Name::from_ascii(&zone).is_err() {
        return Err(miette::miette!(
            help = "give the zone's name in ASCII (A-labels), e.g. example.com",
            "`{asked}` is not a zone name"
        ));
    }
    let (source, config) = match super::drift::config(g)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let group_name = group_of(g, &config, &source, &zone, args.group.as_deref()).await?;
    let Some(group) = config.groups.get(&group_name) else {
        return Err(miette::miette!(
            help = "use a group zonekeeper.yaml defines",
            "unknown group `{group_name}`"
        ));
    };
    let sender = super::drift::connect(&config).await?;
    let served = content::transfer(sender.as_ref(), &crate::model::name_of(&zone))
        .await
        .map_err(|e| {
            miette::miette!("cannot transfer {zone} from the primary: {e}; nothing was written")
        })?;
    if served.serial.is_none() {
        return Err(miette::miette!(
            help = "check the zone's name: the primary must serve it",
            "the primary serves no zone {zone} (its transfer has no SOA); nothing was written"
        ));
    }
    let text = zone_yaml::write(&zone, &served, group).map_err(|bad| {
        let list: Vec<String> = bad.iter().map(|b| format!("  {b}")).collect();
        miette::miette!(
            help = "change or remove these records on the primary, or keep managing the zone there; nothing was written",
            "zone {zone}: {} record set(s) the primary serves cannot be written as zone YAML:\n{}",
            bad.len(),
            list.join("\n")
        )
    })?;
    let workdir = source.workdir().ok_or_else(|| {
        miette::miette!(
            help = "run it in a clone with a work tree",
            "the repository {} has no work tree to write the zone file into",
            g.repo.display()
        )
    })?;
    let rel = format!("zones/{zone}yaml");
    let path = workdir.join(&rel);
    let before = std::fs::read(&path).ok();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).into_diagnostic()?;
    }
    std::fs::write(&path, &text)
        .map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))?;
    if let Err(e) = check_written(g, &zone, &served) {
        match &before {
            Some(old) => {
                let _ = std::fs::write(&path, old);
            }
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        return Err(e);
    }
    let serial = served.serial.unwrap_or(0);
    if g.format == Format::Json {
        outln!(
            "{}",
            serde_json::json!({"format": FORMAT, "zone": zone, "file": rel, "serial": serial, "group": group_name, "written": true})
        )?;
    } else {
        outln!(
            "Wrote {rel} from what the primary serves (serial {serial}); it builds to exactly the served RRsets.\nReview it (`git diff`), then commit it: the next apply records the zone as served, sends nothing to the primary, and clears its drift."
        )?;
    }
    Ok(0)
}

/// The written file, built as validate builds it, must be exactly what is served.
fn check_written(g: &Global, zone: &str, served: &content::Served) -> miette::Result<()> {
    let tree = Source::open(&g.repo, None, true).into_diagnostic()?;
    let mut problems = Vec::new();
    let config = desired::load_config(&tree, &mut problems).into_diagnostic()?;
    let built = match &config {
        Some(c) => desired::load_zone(&tree, c, zone, &mut problems).into_diagnostic()?,
        None => None,
    };
    if !problems.is_empty() {
        let problems = desired::Problems(problems);
        eprint!("{}", problems.render(super::color_wanted()));
        return Err(miette::miette!(
            help = "the primary serves something the desired state refuses; correct it on the primary or write the file by hand",
            "the zone file written for {zone} does not validate (problems above); the work tree is left as it was"
        ));
    }
    let Some(built) = built else {
        return Err(miette::miette!(
            "the zone file written for {zone} could not be read back; the work tree is left as it was"
        ));
    };
    if !same_content(&built.canonical_text(0), served) {
        let why = content::difference(zone, &built.canonical_text(0), served, 0)
            .unwrap_or_else(|| "they differ".into());
        return Err(miette::miette!(
            "the zone file written for {zone} does not build to what the primary serves: {why}; the work tree is left as it was"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn the_drift_spellings_parse() {
        for args in [
            &["zonekeeper", "drift"][..],
            &[
                "zonekeeper",
                "drift",
                "--zone",
                "a.test",
                "--zone",
                "b.test.",
                "--format",
                "json",
            ],
            &["zonekeeper", "import", "--zone", "a.test", "--from-primary"],
            &[
                "zonekeeper",
                "import",
                "--zone",
                "a.test",
                "--from-primary",
                "--group",
                "g",
            ],
            &[
                "zonekeeper",
                "apply",
                "--overwrite-drift",
                "a.test",
                "--overwrite-drift",
                "b.test",
            ],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
        // an import names its source
        assert!(Cli::try_parse_from(["zonekeeper", "import", "--zone", "a.test"]).is_err());
        assert!(Cli::try_parse_from(["zonekeeper", "import", "--from-primary"]).is_err());
        // exactly one source; the transfer's options go with --axfr
        let ok = |a: &[&str]| {
            let mut all = vec!["zonekeeper", "import"];
            all.extend_from_slice(a);
            Cli::try_parse_from(all).is_ok()
        };
        assert!(ok(&["--file", "db.a", "--zone", "a.test"]));
        assert!(ok(&["--dir", "zones-old", "--force"]));
        assert!(ok(&[
            "--named-conf",
            "/etc/bind/named.conf",
            "--group",
            "g"
        ]));
        assert!(ok(&[
            "--axfr",
            "192.0.2.1:53",
            "--tsig-key-file",
            "k",
            "--zone",
            "a",
            "--zone",
            "b"
        ]));
        assert!(ok(&[
            "--axfr",
            "192.0.2.1",
            "--tsig-key-file",
            "k",
            "--zones-from",
            "list"
        ]));
        assert!(ok(&[
            "--axfr",
            "192.0.2.1",
            "--tsig-key-file",
            "k",
            "--catalog",
            "cat"
        ]));
        assert!(!ok(&["--axfr", "192.0.2.1", "--zone", "a"]), "no key");
        assert!(!ok(&["--file", "db.a", "--zones-from", "list"]));
        assert!(!ok(&["--file", "db.a", "--dir", "d"]));
        assert!(!ok(&["--from-primary", "--file", "db.a", "--zone", "a"]));
    }
}
