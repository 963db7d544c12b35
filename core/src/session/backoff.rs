//! Reconnect pacing: exponential back-off with seeded jitter, and damping of a peer whose
//! sessions keep failing (RFC 4271 §8.1.1 DampPeerOscillations, §8.2.2 ConnectRetryTimer).

use std::time::Duration;

/// A small deterministic generator (SplitMix64): the core's only source of randomness, seeded
/// by the runtime so that a run can be replayed.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator from `seed`.
    pub const fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

/// The longest wait between attempts for a peer that fails without flapping.
pub const MAX_RETRY: Duration = Duration::from_secs(120);
/// The longest wait for a damped peer: one whose sessions reach Established and then fail
/// quickly, again and again.
pub const MAX_DAMPED_RETRY: Duration = Duration::from_secs(600);
/// A session that stayed Established this long is stable: its loss starts the back-off afresh.
pub const STABLE_SESSION: Duration = Duration::from_secs(60);
/// Quick losses of an Established session in a row after which the peer is damped.
pub const DAMP_AFTER_FLAPS: u32 = 3;

/// The reconnect schedule of one peer.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    /// Failed attempts since the last stable session.
    failures: u32,
    /// Established sessions lost before [`STABLE_SESSION`], in a row.
    flaps: u32,
    rng: SeededRng,
}

impl Backoff {
    /// A schedule whose first retry waits `base` (the ConnectRetry time), seeded by `seed`.
    pub fn new(base: Duration, seed: u64) -> Self {
        Backoff {
            base,
            failures: 0,
            flaps: 0,
            rng: SeededRng::new(seed),
        }
    }

    /// Failed attempts since the last stable session.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the peer is damped (it flapped [`DAMP_AFTER_FLAPS`] times in a row).
    pub fn is_damped(&self) -> bool {
        self.flaps >= DAMP_AFTER_FLAPS
    }

    /// An attempt failed before Established (refused, closed, NOTIFICATION during OPEN).
    pub fn attempt_failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// An Established session was lost after `lasted`.
    pub fn session_lost(&mut self, lasted: Duration) {
        if lasted >= STABLE_SESSION {
            self.failures = 0;
            self.flaps = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.flaps = self.flaps.saturating_add(1);
        }
    }

    /// How long to wait before the next attempt: nothing after a stable session or at start,
    /// then `base`, doubling with each failure up to a cap ([`MAX_RETRY`], or
    /// [`MAX_DAMPED_RETRY`] for a damped peer), each stretched by a random 0 to 25 % so that
    /// nodes restarted together do not reconnect together.
    pub fn next_delay(&mut self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let cap = if self.is_damped() {
            MAX_DAMPED_RETRY
        } else {
            MAX_RETRY
        };
        let exponent = (self.failures - 1).min(16);
        let delay = self.base.saturating_mul(1 << exponent).min(cap);
        let delay = if self.is_damped() { cap } else { delay };
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        delay + Duration::from_millis(self.rng.below(millis / 4 + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_attempt_is_immediate_then_doubles_with_jitter() {
        let mut b = Backoff::new(Duration::from_secs(5), 7);
        assert_eq!(b.next_delay(), Duration::ZERO);
        let mut expected = Duration::from_secs(5);
        for _ in 0..4 {
            b.attempt_failed();
            let d = b.next_delay();
            assert!(
                d >= expected && d <= expected + expected / 4,
                "{d:?} vs {expected:?}"
            );
            expected *= 2;
        }
    }

    #[test]
    fn delay_is_capped() {
        let mut b = Backoff::new(Duration::from_secs(5), 1);
        for _ in 0..40 {
            b.attempt_failed();
        }
        let d = b.next_delay();
        assert!(d >= MAX_RETRY && d <= MAX_RETRY + MAX_RETRY / 4);
    }

    #[test]
    fn stable_session_resets_and_flapping_damps() {
        let mut b = Backoff::new(Duration::from_secs(5), 3);
        b.attempt_failed();
        b.session_lost(STABLE_SESSION);
        assert_eq!(b.next_delay(), Duration::ZERO);
        for _ in 0..DAMP_AFTER_FLAPS {
            assert!(!b.is_damped());
            b.session_lost(Duration::from_secs(1));
        }
        assert!(b.is_damped());
        assert!(b.next_delay() >= MAX_DAMPED_RETRY);
        b.session_lost(STABLE_SESSION);
        assert!(!b.is_damped());
    }

    #[test]
    fn same_seed_same_delays() {
        let run = |seed| {
            let mut b = Backoff::new(Duration::from_secs(5), seed);
            (0..10)
                .map(|_| {
                    b.attempt_failed();
                    b.next_delay()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }
}
