//! The `GET /ping` value (reference §3.1, §3.5): chosen once per process, so that the Neutron
//! agent, which compares it between polls, sees a new value exactly when the daemon restarted.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The largest value [`ping_value`] returns: 2^53 - 1, the largest integer a JSON client that
/// reads numbers as IEEE doubles (JavaScript, Go's `interface{}`) still holds exactly.
/// BaGPipe-BGP answers a 128-bit uuid4 integer, which only Python clients read back unchanged.
pub const PING_MAX: u64 = (1 << 53) - 1;

/// This process's ping value: random, in `1..=PING_MAX`, the same on every call.
///
/// The randomness comes from std's `RandomState` (seeded by the OS per process), mixed with the
/// start time and the process id, so that two daemons started in the same instant, or one
/// restarted under the same pid, still differ. No random-number crate needed.
pub fn ping_value() -> u64 {
    static VALUE: OnceLock<u64> = OnceLock::new();
    *VALUE.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hasher.write_u128(now);
        hasher.write_u32(std::process::id());
        let value = hasher.finish() & PING_MAX;
        value.max(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_within_the_process_and_exact_in_a_double() {
        let first = ping_value();
        assert_eq!(first, ping_value());
        assert!((1..=PING_MAX).contains(&first));
        assert_eq!(first as f64 as u64, first);
    }
}
