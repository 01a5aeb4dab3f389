//! `zonekeeper unlock LOCK-ID`: removes the apply lock for an operator who knows its
//! holder is gone (a host that vanished, an apply stuck for good). Refused unless the id
//! is the lock's own, shown by `status` and by the refusal of a second apply; asks first
//! unless `--yes`; says what it did.

use miette::IntoDiagnostic;

use super::Global;
use super::plan::open_store;
use crate::outln;
use crate::store::lock::{LockState, describe};
use crate::store::{Backend, StoreError};

/// Runs `unlock`.
pub async fn run(g: &Global, lock_id: &str, yes: bool) -> miette::Result<u8> {
    let store = open_store(g).await?;
    let state = store.lock_state().await.into_diagnostic()?;
    let question = match &state {
        LockState::Held(i) if i.lock_id == lock_id => format!(
            "Remove {i}? If that apply still runs, it stops when it next checks its lock (within {} s); only do this when it is gone.",
            crate::store::lock::RENEW_EVERY.as_secs()
        ),
        LockState::Stale(i) if i.lock_id == lock_id => {
            format!("Remove the record of {i}? It is no longer in force.")
        }
        other => {
            store.close().await;
            return Err(StoreError::NoSuchLock {
                wanted: lock_id.to_string(),
                current: describe(other),
            })
            .into_diagnostic();
        }
    };
    if !super::ops::ask(&question, yes, "--yes")? {
        store.close().await;
        return super::ops::declined("Unlock cancelled: the lock stays; nothing changed.");
    }
    let result = store.break_lock(lock_id).await;
    let backend = store.backend();
    store.close().await;
    let (info, in_force) = result.into_diagnostic()?;
    match (backend, in_force, info.session) {
        (Backend::Postgres, true, Some(session)) => outln!(
            "Ended PostgreSQL session {session}, which held {info}; the lock is free as soon as that session has exited."
        )?,
        (_, true, _) => outln!("Removed {info}; the lock is free.")?,
        (_, false, _) => outln!("Removed the record of {info}; it was no longer in force.")?,
    }
    Ok(0)
}
