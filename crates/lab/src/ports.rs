//! Test port reservation: each port a test lab uses is held with an `flock`ed file under
//! `$TMPDIR/zonekeeper-lab-ports/`, so labs of many threads and processes never share one,
//! and the ports of a process that died are taken over.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{LabError, io_err};
use crate::{TEST_PORT_FIRST, TEST_PORT_LAST, TEST_PORT_TRIES};

/// Lock files this process holds, by port. The `File` keeps the `flock`.
fn reservations() -> MutexGuard<'static, HashMap<u16, File>> {
    static RESERVED: OnceLock<Mutex<HashMap<u16, File>>> = OnceLock::new();
    RESERVED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn port_lock_dir() -> PathBuf {
    std::env::temp_dir().join("zonekeeper-lab-ports")
}

fn port_lock_path(port: u16) -> PathBuf {
    port_lock_dir().join(format!("{port}.lock"))
}

/// Tries to reserve `port` for this process: creates `<port>.lock` with `create_new` (or
/// opens a leftover one) and takes an exclusive `flock` on it. The lock is ours only if
/// the path still names the locked file afterwards (its owner may have removed it in
/// between). A lock held by a live process means the port is taken; the kernel drops the
/// locks of dead processes, so their leftover files are taken over. The lock directory is
/// created here, so a fresh machine (an empty `TMPDIR`) needs nothing made beforehand.
pub fn try_reserve_port(port: u16) -> Result<bool, LabError> {
    let mut reserved = reservations();
    if reserved.contains_key(&port) {
        return Ok(false);
    }
    let lock_dir = port_lock_dir();
    fs::create_dir_all(&lock_dir).map_err(io_err("create directory", &lock_dir))?;
    let path = port_lock_path(port);
    let file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            match OpenOptions::new().write(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(source) => {
                    return Err(LabError::Io {
                        action: "open",
                        path,
                        source,
                    });
                }
            }
        }
        Err(source) => {
            return Err(LabError::Io {
                action: "create",
                path,
                source,
            });
        }
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(false),
        Err(fs::TryLockError::Error(source)) => {
            return Err(LabError::Io {
                action: "lock",
                path,
                source,
            });
        }
    }
    let same = match (file.metadata(), fs::metadata(&path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if !same {
        return Ok(false);
    }
    // For people looking at the directory: who holds it.
    let _ = file.set_len(0);
    let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
    reserved.insert(port, file);
    Ok(true)
}

/// Releases a port this process reserved: removes the lock file while still holding the
/// lock, then drops the lock.
pub fn release_port(port: u16) {
    if let Some(file) = reservations().remove(&port) {
        let _ = fs::remove_file(port_lock_path(port));
        drop(file);
    }
}

/// Whether `port` can be bound on every address (TCP, and UDP if `udp`).
fn port_is_free(addrs: &[Ipv4Addr], port: u16, udp: bool) -> bool {
    addrs.iter().all(|&addr| {
        TcpListener::bind((addr, port)).is_ok() && (!udp || UdpSocket::bind((addr, port)).is_ok())
    })
}

/// Picks and reserves a DNS port free (UDP and TCP) on all `addrs` and `n_rndc` rndc ports
/// free (TCP) on 127.0.0.1.
pub(crate) fn pick_test_ports(
    addrs: &[Ipv4Addr],
    n_rndc: usize,
) -> Result<(u16, Vec<u16>), LabError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let span = u64::from(TEST_PORT_LAST - TEST_PORT_FIRST) + 1;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    let seed = splitmix64(
        (u64::from(std::process::id()) << 32)
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9)
            ^ nanos,
    );
    let start = seed % span;
    let mut candidates = (0..span).map(move |i| TEST_PORT_FIRST + ((start + i) % span) as u16);

    let mut taken: Vec<u16> = Vec::new();
    let mut tries = 0usize;
    let mut next =
        |addrs: &[Ipv4Addr], udp: bool, taken: &mut Vec<u16>| -> Result<bool, LabError> {
            for port in candidates.by_ref() {
                tries += 1;
                if tries > TEST_PORT_TRIES {
                    return Ok(false);
                }
                if !try_reserve_port(port)? {
                    continue;
                }
                if port_is_free(addrs, port, udp) {
                    taken.push(port);
                    return Ok(true);
                }
                release_port(port);
            }
            Ok(false)
        };
    // No addresses: rndc ports only.
    let mut ok = addrs.is_empty() || next(addrs, true, &mut taken)?;
    for _ in 0..n_rndc {
        if !ok {
            break;
        }
        ok = next(&[Ipv4Addr::LOCALHOST], false, &mut taken)?;
    }
    if !ok {
        for port in taken {
            release_port(port);
        }
        return Err(LabError::NoFreePorts {
            first: TEST_PORT_FIRST,
            last: TEST_PORT_LAST,
            tries: TEST_PORT_TRIES,
        });
    }
    if addrs.is_empty() {
        return Ok((0, taken));
    }
    let dns = taken[0];
    Ok((dns, taken[1..].to_vec()))
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lock_reserve_release_and_takeover() {
        // Find a port in the range that nobody holds right now.
        let port = (TEST_PORT_LAST - 50..=TEST_PORT_LAST)
            .find(|&p| try_reserve_port(p).unwrap())
            .unwrap();
        let path = port_lock_path(port);
        assert!(path.exists());
        // Held: neither this process nor another open file description gets it.
        assert!(!try_reserve_port(port).unwrap());
        let other = File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(other);
        release_port(port);
        assert!(!path.exists());
        // A leftover, unlocked file (its process died) is taken over.
        fs::write(&path, "999999\n").unwrap();
        assert!(try_reserve_port(port).unwrap());
        release_port(port);
        assert!(!path.exists());
    }
}
