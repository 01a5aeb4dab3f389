//! `zonekeeper import --file | --dir | --named-conf | --axfr`: an existing fleet brought
//! into the work tree. Zone files are read on every core, each zone read, written and
//! dropped before the next (so 40,000 zones are never held at once); transfers run 16 at
//! a time. Each zone becomes `zones/<zone>.yaml`, checked to build to exactly what was
//! read; a zone with any problem is not written, every other zone is, and the exit code
//! is 1 with every problem listed (`file:line:col`). Without a `zonekeeper.yaml`, a
//! skeleton is written first from what the zones have in common (read once more for it).
//! The serial of each zone written is recorded in the store, so the first apply continues
//! it (RFC 1982). Nothing is committed.

use std::path::{Path, PathBuf};

use hickory_proto::rr::Name;
use miette::IntoDiagnostic;

use super::Global;
use super::import::ImportArgs;
use super::import_report::{Done, record_floors, report};
use crate::desired::{self, Source};
use crate::drift::resolve::normalize;
use crate::import::axfr::{self, Transferred};
use crate::import::output::{self, Outcome, Target};
use crate::import::skeleton::Tally;
use crate::import::zonefile::{self, FileSource};
use crate::import::{Problem, named_conf};
use crate::model::config::Config;
use crate::model::parallel;
use crate::model::served::Served;

/// What is imported: zone files, or zones transferred from a server.
enum Work {
    Files(Vec<FileSource>),
    Transfers {
        addr: std::net::SocketAddr,
        signer: hickory_proto::rr::TSigner,
        zones: Vec<Name>,
    },
}

/// A zone name as given, checked.
fn zone_name(text: &str) -> Result<Name, String> {
    let z = normalize(text);
    Name::from_ascii(&z)
        .map(|n| n.to_lowercase())
        .map_err(|e| format!("`{text}` is not a zone name: {e}"))
}

/// The zone a file's name suggests: `db.example.com`, `example.com.zone`, `.db`, `.hosts`.
fn hint_of(path: &Path) -> Option<Name> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_prefix("db.").unwrap_or(name);
    let name = [".zone", ".db", ".hosts", ".signed"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    zone_name(name).ok()
}

/// The zone files of `--file`, `--dir` or `--named-conf`, and the problems in finding them.
fn file_work(args: &ImportArgs, problems: &mut Vec<Problem>) -> miette::Result<Vec<FileSource>> {
    let from = &args.from;
    if let Some(file) = &from.file {
        let zone = match args.zones.as_slice() {
            [] => None,
            [z] => Some(zone_name(z).map_err(|e| miette::miette!("{e}"))?),
            _ => {
                return Err(miette::miette!(
                    help = "use --dir or --named-conf for several zones",
                    "--file takes at most one --zone"
                ));
            }
        };
        return Ok(vec![FileSource {
            path: file.clone(),
            hint: zone.is_none().then(|| hint_of(file)).flatten(),
            zone,
            base_dir: None,
        }]);
    }
    if let Some(dir) = &from.dir {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| miette::miette!("cannot read the directory {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        paths.sort();
        return Ok(paths
            .into_iter()
            .map(|p| FileSource {
                hint: hint_of(&p),
                path: p,
                zone: None,
                base_dir: Some(dir.clone()),
            })
            .collect());
    }
    let Some(conf) = &from.named_conf else {
        return Ok(Vec::new());
    };
    let (zones, _others) = match named_conf::zones(conf) {
        Ok(z) => z,
        Err(p) => {
            problems.extend(p);
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for z in zones {
        match zone_name(&z.name) {
            Ok(zone) => out.push(FileSource {
                path: z.file,
                zone: Some(zone),
                hint: None,
                base_dir: Some(z.directory),
            }),
            Err(e) => problems.push(Problem::whole(conf, e, "")),
        }
    }
    Ok(out)
}

/// The zones `--axfr` transfers: `--zone`, `--zones-from`, or a catalog's members.
async fn transfer_work(args: &ImportArgs, problems: &mut Vec<Problem>) -> miette::Result<Work> {
    let addr = args.from.axfr.as_deref().unwrap_or_default();
    let addr = axfr::address(addr).map_err(|e| miette::miette!("{e}"))?;
    let key_path = args.tsig_key_file.clone().unwrap_or_default();
    let key = named_conf::key_file(&key_path).map_err(|p| miette::miette!("{p}"))?;
    let signer = axfr::signer(&key).map_err(|e| {
        miette::miette!(
            help = "the key file names the key BIND allows transfers with",
            "{e}"
        )
    })?;
    let mut zones = Vec::new();
    for z in &args.zones {
        match zone_name(z) {
            Ok(n) => zones.push(n),
            Err(e) => problems.push(Problem::whole("--zone", e, "")),
        }
    }
    if let Some(list) = &args.zones_from {
        let text = std::fs::read_to_string(list)
            .map_err(|e| miette::miette!("cannot read {}: {e}", list.display()))?;
        for (line, z) in named_conf::listing(&text) {
            match zone_name(&z) {
                Ok(n) => zones.push(n),
                Err(e) => problems.push(Problem {
                    file: list.clone(),
                    line,
                    col: 0,
                    message: e,
                    help: String::new(),
                }),
            }
        }
    }
    if let Some(cat) = &args.catalog {
        let cat = zone_name(cat).map_err(|e| miette::miette!("{e}"))?;
        let got = axfr::transfer_each(addr, signer.clone(), std::slice::from_ref(&cat), &|_, t| t)
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        let served = got
            .into_iter()
            .next()
            .unwrap_or_else(|| Err("no transfer".into()))
            .map_err(|e| {
                miette::miette!(
                    "cannot transfer the catalog zone {}: {e}",
                    crate::model::ascii(&cat)
                )
            })?;
        for m in axfr::catalog_members(&cat, &served) {
            match zone_name(&m) {
                Ok(n) => zones.push(n),
                Err(e) => problems.push(Problem::whole(
                    format!("catalog {}", crate::model::ascii(&cat)),
                    e,
                    "",
                )),
            }
        }
    }
    zones.sort();
    zones.dedup();
    if zones.is_empty() && problems.is_empty() {
        return Err(miette::miette!(
            help = "name them with --zone, --zones-from or --catalog",
            "--axfr has no zones to transfer"
        ));
    }
    Ok(Work::Transfers {
        addr,
        signer,
        zones,
    })
}

/// The configuration imported zones are written against.
enum Conf {
    /// Read (and written first, as a skeleton, when the flag says so).
    Ready(Box<Config>, bool),
    /// It does not validate (problems printed): the exit code.
    Invalid(u8),
    /// There is none, and no zone could be read to make a skeleton from.
    NothingRead,
}

/// The configuration in the work tree, a skeleton written first when there is none (from
/// `tally`, unless no zone could be read).
fn config(
    g: &Global,
    workdir: &Path,
    tally: impl FnOnce() -> Tally,
    primary: Option<std::net::SocketAddr>,
) -> miette::Result<Conf> {
    let path = workdir.join(crate::desired::source::CONFIG_FILE);
    let wrote = !path.exists();
    if wrote {
        let tally = tally();
        if tally.zones() == 0 {
            return Ok(Conf::NothingRead);
        }
        output::write_atomically(&path, tally.skeleton(primary).as_bytes())
            .map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))?;
    }
    let tree = Source::open(&g.repo, None, true).into_diagnostic()?;
    let mut problems = Vec::new();
    let c = desired::load_config(&tree, &mut problems).into_diagnostic()?;
    match c {
        Some(c) if problems.is_empty() => Ok(Conf::Ready(Box::new(c), wrote)),
        _ => {
            super::validate::report_problems(
                g.format,
                &tree.revision().id,
                &desired::Problems(problems),
            )?;
            Ok(Conf::Invalid(super::validate::INVALID))
        }
    }
}

/// The group zones go to: asked for, or the only one.
fn group_name(config: &Config, asked: Option<&str>) -> miette::Result<String> {
    if let Some(a) = asked {
        return match config.groups.contains_key(a) {
            true => Ok(a.to_string()),
            false => Err(miette::miette!(
                help = "use a group zonekeeper.yaml defines",
                "unknown group `{a}`"
            )),
        };
    }
    let mut groups = config.groups.keys();
    match (groups.next(), groups.next()) {
        (Some(only), None) => Ok(only.clone()),
        _ => Err(miette::miette!(
            help = "name it with --group",
            "zonekeeper.yaml has several groups (or none): which one serves the imported zones?"
        )),
    }
}

/// A zone file that could not be read (`problems`), as an outcome.
fn unread(problems: Option<Vec<Problem>>, src: &FileSource) -> Done {
    Done {
        outcome: Outcome::Failed {
            zone: src.path.display().to_string(),
            problems: problems.unwrap_or_default(),
        },
        warnings: Vec::new(),
    }
}

/// One zone file read and written.
fn file_zone(src: &FileSource, t: &Target) -> Done {
    match zonefile::read(src) {
        Err(problems) => Done {
            outcome: Outcome::Failed {
                zone: src
                    .zone
                    .as_ref()
                    .map_or_else(|| src.path.display().to_string(), crate::model::ascii),
                problems,
            },
            warnings: Vec::new(),
        },
        Ok(read) => {
            let zone = crate::model::ascii(&read.apex);
            let served = Served::of(read.lines);
            let how = format!("from {} (serial {})", src.path.display(), read.serial);
            Done {
                outcome: output::write_zone(&zone, &served, &src.path, &how, t),
                warnings: read.warnings,
            }
        }
    }
}

/// What an import source gave: the zones, the source their serials are recorded with,
/// whether a skeleton `zonekeeper.yaml` was written; or the exit code, all said.
enum Imported {
    Done(Vec<Done>, String, bool),
    Exit(u8),
}

/// The group's target for `config`.
fn target<'a>(
    workdir: &'a Path,
    config: &'a Config,
    args: &ImportArgs,
) -> miette::Result<Target<'a>> {
    let group = group_name(config, args.group.as_deref())?;
    Ok(Target {
        workdir,
        config,
        group: &config.groups[&group],
        force: args.force,
        claimed: Default::default(),
    })
}

/// Imports zone files: read once for a skeleton when there is no configuration, then each
/// read, written and dropped, on every core.
fn import_files(
    g: &Global,
    args: &ImportArgs,
    workdir: &Path,
    files: &[FileSource],
    problems: &[Problem],
) -> miette::Result<Imported> {
    let tally = || {
        let parts = parallel::map_parts(files, |part| {
            let mut t = Tally::default();
            for f in part {
                if let Ok(r) = zonefile::read(f) {
                    t.add(&crate::model::ascii(&r.apex), &Served::of(r.lines));
                }
            }
            t
        });
        parts.into_iter().fold(Tally::default(), |mut a, b| {
            a.merge(b);
            a
        })
    };
    let (config, wrote) = match config(g, workdir, tally, None)? {
        Conf::Ready(c, wrote) => (c, wrote),
        Conf::Invalid(code) => return Ok(Imported::Exit(code)),
        Conf::NothingRead => {
            let done = parallel::map(files, |f| unread(zonefile::read(f).err(), f));
            return Ok(Imported::Exit(report(
                g.format,
                &done,
                problems,
                false,
                Ok(0),
            )?));
        }
    };
    let t = target(workdir, &config, args)?;
    let done = parallel::map(files, |f| file_zone(f, &t));
    Ok(Imported::Done(done, "file".to_string(), wrote))
}

/// One transferred zone written, or why not.
fn transferred(addr: std::net::SocketAddr, z: &Name, s: Transferred, t: Option<&Target>) -> Done {
    let zone = crate::model::ascii(z);
    let source = PathBuf::from(format!("axfr {addr} {zone}"));
    let outcome = match (s, t) {
        (Ok(s), Some(t)) => {
            let how = format!("by transfer from {addr} (serial {})", s.serial.unwrap_or(0));
            output::write_zone(&zone, &s, &source, &how, t)
        }
        (Ok(_), None) => Outcome::Failed {
            zone,
            problems: vec![Problem::whole(
                &source,
                "not written: there is no zonekeeper.yaml",
                "",
            )],
        },
        (Err(e), _) => Outcome::Failed {
            zone,
            problems: vec![Problem::whole(&source, e, "")],
        },
    };
    Done {
        outcome,
        warnings: Vec::new(),
    }
}

/// Imports zones transferred from `addr`: all transferred first (a skeleton needs them
/// all), then each written.
async fn import_transfers(
    g: &Global,
    args: &ImportArgs,
    workdir: &Path,
    (addr, signer, zones): (std::net::SocketAddr, hickory_proto::rr::TSigner, Vec<Name>),
    problems: &[Problem],
) -> miette::Result<Imported> {
    let got: Vec<(Name, Transferred)> =
        axfr::transfer_each(addr, signer, &zones, &|z, t| (z.clone(), t))
            .await
            .map_err(|e| {
                miette::miette!(
                    help = "check the address, and that the server allows transfers with this key",
                    "{e}"
                )
            })?;
    let tally = || {
        let mut t = Tally::default();
        for (z, s) in &got {
            if let Ok(s) = s {
                t.add(&crate::model::ascii(z), s);
            }
        }
        t
    };
    let (config, wrote) = match config(g, workdir, tally, Some(addr))? {
        Conf::Ready(c, wrote) => (c, wrote),
        Conf::Invalid(code) => return Ok(Imported::Exit(code)),
        Conf::NothingRead => {
            let done: Vec<Done> = got
                .into_iter()
                .map(|(z, s)| transferred(addr, &z, s, None))
                .collect();
            return Ok(Imported::Exit(report(
                g.format,
                &done,
                problems,
                false,
                Ok(0),
            )?));
        }
    };
    let t = target(workdir, &config, args)?;
    let done = got
        .into_iter()
        .map(|(z, s)| transferred(addr, &z, s, Some(&t)))
        .collect();
    Ok(Imported::Done(done, format!("axfr {addr}"), wrote))
}

/// Runs the import of files or transfers.
pub async fn run(g: &Global, args: &ImportArgs) -> miette::Result<u8> {
    let workdir = Source::open(&g.repo, None, true)
        .into_diagnostic()?
        .workdir()
        .ok_or_else(|| {
            miette::miette!(
                help = "run it in a clone with a work tree (git init, for a new repository)",
                "the repository {} has no work tree to write zone files into",
                g.repo.display()
            )
        })?;
    let mut problems = Vec::new();
    let work = match &args.from.axfr {
        Some(_) => transfer_work(args, &mut problems).await?,
        None => Work::Files(file_work(args, &mut problems)?),
    };
    let imported = match work {
        Work::Files(files) => import_files(g, args, &workdir, &files, &problems)?,
        Work::Transfers {
            addr,
            signer,
            zones,
        } => import_transfers(g, args, &workdir, (addr, signer, zones), &problems).await?,
    };
    let (done, source, wrote_config) = match imported {
        Imported::Done(done, source, wrote) => (done, source, wrote),
        Imported::Exit(code) => return Ok(code),
    };
    let floors = record_floors(g, &done, &source).await;
    report(g.format, &done, &problems, wrote_config, floors)
}
