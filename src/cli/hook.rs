//! `zonekeeper hook pre-receive` and `hook post-receive`: the server-side Git hooks of the
//! desired-state repository, so that changes arrive by `git push`.
//!
//! pre-receive validates every revision pushed to the tracked branch, oldest first, and
//! refuses the whole push with the problems (file:line:col) when one is invalid: nothing
//! is stored and nothing changes. It reads the pushed objects where Git keeps them until
//! the hook accepts them (its quarantine directory). post-receive leaves the new revision
//! to the daemon when one leads the store (`zonekeeper watch` saw the ref move), and
//! otherwise applies it itself (`apply --auto-approve`), its output shown to the pusher.

use std::io::BufRead;

use clap::{Args, Subcommand};
use miette::IntoDiagnostic;

use super::{Global, validate};
use crate::desired::{self, LoadError, Source};

/// The hooks.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Validate every revision pushed to the tracked branch; refuse the push when one is
    /// invalid (install as the bare repository's hooks/pre-receive).
    PreReceive(HookArgs),
    /// Wake the daemon, or apply the tracked branch's new revision when none runs
    /// (install as hooks/post-receive).
    PostReceive(HookArgs),
}

/// What both hooks need.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The branch whose revisions are the desired state.
    #[arg(long, default_value = "main", env = "ZONEKEEPER_BRANCH")]
    pub branch: String,
    /// Seconds every server gets to serve a new serial (post-receive).
    #[arg(long, default_value_t = 30)]
    pub verify_timeout: u64,
}

/// One line Git gives a receive hook: the ref's old and new object ids and its name.
struct Update {
    old: git2::Oid,
    new: git2::Oid,
    name: String,
}

/// The updates of `branch` among the lines on stdin.
fn updates_of(branch: &str) -> miette::Result<Vec<Update>> {
    let wanted = format!("refs/heads/{branch}");
    let mut out = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.into_diagnostic()?;
        let mut f = line.split_whitespace();
        let (Some(old), Some(new), Some(name)) = (f.next(), f.next(), f.next()) else {
            return Err(miette::miette!(
                "a receive hook reads `OLD NEW REF` lines from Git; got `{line}`"
            ));
        };
        if name == wanted {
            out.push(Update {
                old: git2::Oid::from_str(old).into_diagnostic()?,
                new: git2::Oid::from_str(new).into_diagnostic()?,
                name: name.to_string(),
            });
        }
    }
    Ok(out)
}

/// Runs a hook; the exit code refuses (pre-receive) or reports (post-receive).
pub fn run(g: &Global, cmd: &HookCommand, runtime: &tokio::runtime::Runtime) -> miette::Result<u8> {
    match cmd {
        HookCommand::PreReceive(args) => pre_receive(g, args),
        HookCommand::PostReceive(args) => post_receive(g, args, runtime),
    }
}

fn pre_receive(g: &Global, args: &HookArgs) -> miette::Result<u8> {
    let mut refused = false;
    for u in updates_of(&args.branch)? {
        if u.new.is_zero() {
            eprintln!(
                "zonekeeper: refusing to delete {}: it is the desired state of the fleet",
                u.name
            );
            refused = true;
            continue;
        }
        for id in pushed(g, &u)? {
            let source = Source::open(&g.repo, Some(&id), false).into_diagnostic()?;
            match desired::check(&source) {
                Ok(state) => eprintln!(
                    "zonekeeper: {} is valid ({} zones)",
                    validate::short(&id),
                    state.zones
                ),
                Err(LoadError::Invalid(problems)) => {
                    eprintln!("zonekeeper: {} is invalid:", validate::short(&id));
                    validate::report_problems(g.format, &id, &problems)?;
                    refused = true;
                }
                Err(e) => return Err(e).into_diagnostic(),
            }
        }
    }
    if refused {
        eprintln!("zonekeeper: push refused; fix the problems above and push again");
    }
    Ok(if refused { validate::INVALID } else { 0 })
}

/// The revisions an update brings, oldest first: those reachable from the new tip and
/// from no ref the repository has (its accepted history).
fn pushed(g: &Global, u: &Update) -> miette::Result<Vec<String>> {
    let repo = desired::open_repository(&g.repo).into_diagnostic()?;
    let mut walk = repo.revwalk().into_diagnostic()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .into_diagnostic()?;
    walk.push(u.new).into_diagnostic()?;
    if !u.old.is_zero() {
        walk.hide(u.old).into_diagnostic()?;
    }
    walk.hide_glob("refs/*").into_diagnostic()?;
    walk.map(|id| id.map(|id| id.to_string()))
        .collect::<Result<_, _>>()
        .into_diagnostic()
}

fn post_receive(
    g: &Global,
    args: &HookArgs,
    runtime: &tokio::runtime::Runtime,
) -> miette::Result<u8> {
    let Some(update) = updates_of(&args.branch)?.pop().filter(|u| !u.new.is_zero()) else {
        return Ok(0);
    };
    if g.db.is_none() {
        return Err(miette::miette!(
            help = "set ZONEKEEPER_DB in the hook's environment (see the README, \"Git push\")",
            "the post-receive hook needs the store: without ZONEKEEPER_DB it would make one inside the repository"
        ));
    }
    let g = Global {
        repo: g.repo.clone(),
        rev: update.new.to_string(),
        worktree: false,
        db: g.db.clone(),
        format: g.format,
        verbose: g.verbose,
        quiet: g.quiet,
    };
    // a daemon that leads this store has seen the ref move: the push is its to apply
    let led = runtime.block_on(async {
        let store = super::state::create_store(&g).await?;
        let led = store.led().await;
        store.close().await;
        led.map_err(|e| miette::miette!("{e}"))
    })?;
    if led {
        eprintln!(
            "zonekeeper: {} of {} is applied by the daemon (`zonekeeper status` shows it)",
            validate::short(&g.rev),
            update.name
        );
        return Ok(0);
    }
    let apply = super::apply::ApplyArgs {
        file: None,
        auto_approve: true,
        allow_delete: false,
        adopt: false,
        overwrite_drift: Vec::new(),
        verify_timeout: args.verify_timeout,
    };
    eprintln!(
        "zonekeeper: applying {} of {}",
        validate::short(&g.rev),
        update.name
    );
    runtime.block_on(super::apply::run(&g, &apply))
}
