//! The lock in words: its state for messages ([`describe`]) and the refusal an apply
//! gets while another holds it ([`locked`]): who holds it, and what to do.

use super::{LEASE_SECS, LockInfo, LockState};
use crate::store::{Backend, StoreError};

/// The lock state in words, for messages.
pub fn describe(state: &LockState) -> String {
    match state {
        LockState::Free => "no lock is held".into(),
        LockState::Held(i) => format!("the lock held now is {i}"),
        LockState::HeldUnrecorded { session } => {
            format!("PostgreSQL session {session} holds the lock and has not recorded its id yet")
        }
        LockState::Stale(i) => format!("the only lock recorded is {i}, no longer in force"),
    }
}

/// The refusal when another apply holds the lock: who, and what to do.
pub(super) fn locked(backend: Backend, row: Option<&LockInfo>, session: Option<i64>) -> StoreError {
    let holder = match (row, session) {
        (Some(r), _) => r.to_string(),
        (None, Some(s)) => format!("PostgreSQL session {s}, not yet recorded"),
        (None, None) => "a holder that is not recorded".into(),
    };
    let id = row.map(|r| r.lock_id.as_str()).unwrap_or("LOCK-ID");
    let advice = match backend {
        Backend::Sqlite => format!(
            "Wait for it to finish; if it died, its lease runs out within {LEASE_SECS} s and the next apply takes it over; \
             if you know it is gone, `zonekeeper unlock {id}` removes it now"
        ),
        Backend::Postgres => format!(
            "Wait for it to finish; PostgreSQL releases the lock when its session ends; \
             if its host vanished and the session lingers, `zonekeeper unlock {id}` ends it"
        ),
    };
    StoreError::Locked { holder, advice }
}
