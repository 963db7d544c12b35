//! Loopback addresses and ports for tests that run in parallel.
//!
//! Tests in separate processes (nextest) must not collide. Every address in 127.0.0.0/8 is local
//! on Linux, so each test takes its own random 127.X.Y.Z and free ports on it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

use super::HarnessError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A loopback address in 127.100.0.1 – 127.199.255.254 that no other test is likely to use:
/// random per process (std's randomly keyed hasher) and distinct within a process.
///
/// ```
/// let a = bagpipe_conformance::peers::unique_loopback();
/// assert_eq!(a.octets()[0], 127);
/// ```
pub fn unique_loopback() -> Ipv4Addr {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let r = h.finish();
    let b1 = 100 + (r % 100) as u8;
    let b2 = (r >> 8) as u8;
    let b3 = 1 + ((r >> 16) % 254) as u8;
    Ipv4Addr::new(127, b1, b2, b3)
}

/// A TCP port that is free on `addr` right now (bound to port 0 and released).
pub fn free_port(addr: Ipv4Addr) -> Result<u16, HarnessError> {
    let l = TcpListener::bind((addr, 0))
        .map_err(|e| HarnessError::io(format!("binding {addr}:0 to find a free port"), e))?;
    let port = l
        .local_addr()
        .map_err(|e| HarnessError::io("reading a bound address", e))?
        .port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_loopback_addresses_are_bindable_and_distinct() {
        let a = unique_loopback();
        let b = unique_loopback();
        assert_ne!(a, b);
        assert!(a.is_loopback());
        let p = free_port(a).unwrap();
        assert!(TcpListener::bind((a, p)).is_ok());
    }
}
