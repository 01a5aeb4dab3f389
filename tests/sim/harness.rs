//! Driving the real driver on the simulated fleet: a desired-state Git repository, a
//! fleet, an in-memory store, and the apply loop an operator (or cron) would run.
//!
//! Each apply is prepared exactly as `zonekeeper apply` prepares it (`cli::plan::prepare`:
//! the desired state at a revision, the plan against the store, under the store's apply
//! lock), then `zonekeeper::apply::apply` runs with the fleet's effects. The test plays the
//! operators: between applies the clock moves on, the registrar publishes the delegation
//! an operation asks for, and the secondaries' operators re-point their catalogs when a
//! primary move asks them to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use zonekeeper::apply::{self, Options};
use zonekeeper::cli::plan::prepare;
use zonekeeper::cli::{Format, Global};
use zonekeeper::store::Store;

use super::effects::Fleet;
use super::world::{Role, Source, World};
use super::zone::ZoneData;

/// Midnight, 1 June 2026: every run stays within the day, so serials depend on nothing
/// but the changes.
pub const EPOCH: u64 = 1_780_272_000;

/// The old primary, the new one (a primary move), the secondaries and the registry.
pub const P0: &str = "10.0.0.1:53";
/// The primary a move goes to.
pub const P1: &str = "10.0.0.2:53";
/// The registry serving `test.`.
pub const REGISTRY: &str = "10.0.2.1:53";
/// The secondaries: name and address.
pub const SECONDARIES: [(&str, &str); 3] = [
    ("ns1", "10.0.1.1:53"),
    ("ns2", "10.0.1.2:53"),
    ("ns3", "10.0.1.3:53"),
];
/// The TTL of the registry's delegations.
pub const PARENT_TTL: u32 = 4;

/// A socket address constant.
pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

/// A desired-state repository with its revisions, in order.
pub struct Repo {
    _dir: tempfile::TempDir,
    /// Its path.
    pub path: PathBuf,
    /// Each revision committed, in order.
    pub revs: Vec<String>,
    /// The group catalogs each secondary consumes: `<server>.<catalog>`.
    pub catalogs: Vec<(String, String)>,
}

impl Repo {
    /// A repository with one commit per `(message, files)`; each commit replaces the
    /// whole tree. `catalogs`: the group catalogs every secondary is configured for.
    pub fn new(revisions: &[Vec<(String, String)>], catalogs: &[&str]) -> Repo {
        let dir = tempfile::tempdir().expect("a temp dir");
        let key = dir.path().join("tsig.key");
        std::fs::write(&key, "c2ltdWxhdGVkIGtleSBmb3IgdGVzdHM=\n").expect("key file");
        let path = dir.path().join("repo");
        let repo = git2::Repository::init(&path).expect("git init");
        let mut revs = Vec::new();
        for (i, files) in revisions.iter().enumerate() {
            let _ = std::fs::remove_dir_all(path.join("zones"));
            std::fs::create_dir_all(path.join("zones")).expect("zones dir");
            for (file, text) in files {
                let text = text.replace("{key}", &key.display().to_string());
                std::fs::write(path.join(file), text).expect("write file");
            }
            let mut index = repo.index().expect("index");
            index
                .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
                .expect("add");
            index.update_all(["*"], None).expect("update");
            index.write().expect("write index");
            let tree = repo
                .find_tree(index.write_tree().expect("tree"))
                .expect("find tree");
            let sig = git2::Signature::new("Sim", "sim@example.net", &git2::Time::new(0, 0))
                .expect("signature");
            let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
            let parents: Vec<&git2::Commit> = parent.iter().collect();
            let id = repo
                .commit(
                    Some("HEAD"),
                    &sig,
                    &sig,
                    &format!("rev {i}"),
                    &tree,
                    &parents,
                )
                .expect("commit");
            revs.push(id.to_string());
        }
        let catalogs = SECONDARIES
            .iter()
            .flat_map(|(s, _)| {
                catalogs
                    .iter()
                    .map(move |c| (s.to_string(), format!("{s}.{c}")))
            })
            .collect();
        Repo {
            _dir: dir,
            path,
            revs,
            catalogs,
        }
    }
}

/// How one apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// The revision was recorded as applied.
    Recorded,
    /// An operation waits, or something failed: the message.
    NotYet(String),
    /// The crash hook stopped it.
    Crashed,
}

/// A fleet, a store, and a repository.
pub struct Sim<'r> {
    /// The fleet.
    pub fleet: Fleet,
    /// The store (SQLite in memory).
    pub store: Store,
    /// The repository.
    pub repo: &'r Repo,
    /// Applies run so far.
    pub applies: usize,
}

/// A fresh fleet: two primaries (the second empty, for a move), three secondaries each
/// configured for its member catalog of every group in `repo`, and the registry serving
/// `test.` with `delegated` zones delegated to the secondaries `ns`.
pub fn fleet(repo: &Repo, seed: u64, delegated: &[&str], ns: &[&str]) -> Fleet {
    let mut w = World::new(Duration::from_secs(EPOCH), seed);
    for (name, a) in [("p0", P0), ("p1", P1)] {
        w.add(
            addr(a),
            name,
            None,
            Role::Primary {
                files: Default::default(),
                conf: Vec::new(),
            },
        );
    }
    for (name, a) in SECONDARIES {
        let catalogs = repo
            .catalogs
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, c)| (c.clone(), addr(P0)))
            .collect();
        w.add(
            addr(a),
            name,
            Some(&format!("{name}.example.net.")),
            Role::Secondary {
                catalogs,
                seen: Default::default(),
            },
        );
    }
    w.add(addr(REGISTRY), "registry", None, Role::Registry);
    let mut text = String::from(
        "test. 3600 IN SOA a.nic.test. hostmaster.nic.test. 1 3600 600 86400 60\ntest. 3600 IN NS a.nic.test.\n",
    );
    for z in delegated {
        for ns in ns {
            text.push_str(&format!("{z} {PARENT_TTL} IN NS {ns}.example.net.\n"));
        }
    }
    let data = ZoneData::parse("test.", &text).expect("the registry's zone");
    w.hold(addr(REGISTRY), "test.", data, Source::Static);
    Fleet(Arc::new(Mutex::new(w)))
}

impl<'r> Sim<'r> {
    /// A fleet from [`fleet`] and an empty store.
    pub async fn new(repo: &'r Repo, seed: u64, delegated: &[&str], ns: &[&str]) -> Sim<'r> {
        let store = Store::open("sqlite::memory:").await.expect("store");
        Sim {
            fleet: fleet(repo, seed, delegated, ns),
            store,
            repo,
            applies: 0,
        }
    }

    /// One apply of revision `rev`, as `zonekeeper apply --auto-approve` runs it.
    pub async fn apply(&mut self, rev: &str, allow_delete: bool) -> Run {
        self.applies += 1;
        let lock = match self.store.lock().await {
            Ok(l) => l,
            Err(e) => return Run::NotYet(format!("lock: {e}")),
        };
        let run = self.locked(rev, allow_delete, &lock).await;
        lock.release().await;
        run
    }

    async fn locked(
        &self,
        rev: &str,
        allow_delete: bool,
        lock: &zonekeeper::store::ApplyLock,
    ) -> Run {
        let g = Global {
            repo: self.repo.path.clone(),
            rev: rev.to_string(),
            worktree: false,
            db: None,
            format: Format::Text,
            verbose: 0,
            quiet: false,
        };
        let now = i64::try_from(self.fleet.world().now.as_secs()).unwrap_or(i64::MAX);
        let today = zonekeeper::model::serial::yyyymmdd(now);
        let prepared = match prepare(
            &g,
            &self.store,
            rev,
            today,
            self.fleet.effects().prober.as_ref(),
            zonekeeper::plan::Detail::Apply,
        )
        .await
        {
            Ok(Ok(p)) => p,
            Ok(Err(code)) => return Run::NotYet(format!("invalid desired state ({code})")),
            Err(e) => return Run::NotYet(format!("prepare: {e}")),
        };
        let active = self.store.operations(false).await.map(|o| !o.is_empty());
        if !prepared.plan.has_changes() && active.as_ref().is_ok_and(|a| !a) {
            // `zonekeeper apply` stops here: nothing to do; it records the revision if an
            // interrupted apply left it unrecorded.
            let id = &prepared.desired.revision.id;
            let recorded =
                apply::record_unchanged(&self.store, lock, &prepared.desired, &prepared.plan, now)
                    .await;
            let applied = self.store.applied_revision().await;
            return match (recorded, applied) {
                (Ok(_), Ok(Some(a))) if a.commit_id == *id => Run::Recorded,
                (Err(e), _) => Run::NotYet(format!("recording the revision: {e}")),
                _ => Run::NotYet(format!("nothing to do, but revision {id} is not recorded")),
            };
        }
        let opts = Options {
            allow_delete,
            adopt: false,
            verify_timeout: Duration::from_secs(2),
            now,
            today,
            effects: self.fleet.effects(),
            stop: None,
            meter: Default::default(),
        };
        let mut fut = pin!(apply::apply(
            &self.store,
            lock,
            &prepared.desired,
            &prepared.plan,
            &opts
        ));
        let fleet = self.fleet.clone();
        let outcome = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending if fleet.world().crashed => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        match outcome {
            None => Run::Crashed,
            Some(Ok(r)) if r.revision_recorded => Run::Recorded,
            Some(Ok(r)) => Run::NotYet(
                r.waiting
                    .into_iter()
                    .chain(r.failures)
                    .chain(r.skipped_deletes)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Some(Err(e)) => Run::NotYet(e.to_string()),
        }
    }

    /// Applies `rev` until it is recorded (at most `max` applies), the clock moving on a
    /// second between applies and the operators doing what they are asked. Returns the
    /// last message when it never converges.
    pub async fn converge(
        &mut self,
        rev: &str,
        allow_delete: bool,
        max: usize,
    ) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..max {
            match self.apply(rev, allow_delete).await {
                Run::Recorded => return Ok(()),
                Run::Crashed => return Err("crashed".into()),
                Run::NotYet(message) => {
                    self.operators(&message);
                    self.wait_as_asked(&message);
                    last = message;
                }
            }
        }
        Err(format!("not converged after {max} applies: {last}"))
    }

    /// Waits as a daemon would before the next apply: until the earliest time the
    /// message names (RFC 3339 in UTC, `2026-06-01T00:00:30Z`, when a wait or a back-off
    /// ends), else a second.
    pub fn wait_as_asked(&self, message: &str) {
        let mut w = self.fleet.world();
        let now = w.now.as_secs();
        let format = time::format_description::well_known::Rfc3339;
        let times = message.match_indices('Z').filter_map(|(i, _)| {
            let text = message.get(i.checked_sub(19)?..=i)?;
            let t = time::OffsetDateTime::parse(text, &format).ok()?;
            u64::try_from(t.unix_timestamp()).ok()
        });
        let next = times.filter(|t| *t > now).min().unwrap_or(now + 1);
        w.advance(Duration::from_secs(next.saturating_sub(now).clamp(1, 600)));
    }

    /// The operators read the apply's message and do what it asks.
    pub fn operators(&self, message: &str) {
        let mut w = self.fleet.world();
        if message.contains("point its catalog zones at the new primary") {
            w.repoint_catalogs(addr(P1));
        }
        for line in message.lines() {
            // "the parent's server S delegates Z to X; it must delegate to A B"
            let (Some(i), Some(j)) = (line.find(" delegates "), line.find("it must delegate to "))
            else {
                continue;
            };
            let Some(zone) = line[i + 11..].split_whitespace().next() else {
                continue;
            };
            let ns: Vec<String> = line[j + 20..]
                .split_whitespace()
                .map(|s| s.trim_end_matches([';', ',']).to_string())
                .take_while(|s| s.ends_with('.'))
                .collect();
            w.delegate(addr(REGISTRY), "test.", zone, &ns, PARENT_TTL);
        }
    }
}
