//! The vocabulary of zonekeeper: DNS names, TTLs, serials, RRsets, zones, servers and
//! groups, as plain data.
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Times and dates are
//! always arguments. DNS data types (names, record types, RDATA) are hickory's; this
//! module adds what zonekeeper needs on top: a canonical presentation form used for
//! diffs, hashes and zone files, and the managed serial.

pub mod config;
pub mod idn;
pub mod parallel;
pub mod rdata;
pub mod record;
pub mod rrset;
pub mod serial;
pub mod served;
pub mod text;
pub mod types;
pub mod zone;

pub use config::{Config, Group, Primary, Secondary, SoaDefaults, TsigKeyRef};
pub use record::{ascii, name_of, presentation};
pub use rrset::{ParsedRrset, Rrset};
pub use serial::next_serial;
pub use zone::{Soa, Zone};

/// Bytes as lower-case hex digits (hashes in the store, catalog member labels).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}
