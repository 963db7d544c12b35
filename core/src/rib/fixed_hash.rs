//! The hash of the route engine's hash tables, seeded with the speaker's seed: the same seed
//! stores routes the same way (core is a deterministic state machine, its only randomness a
//! seed passed in), and a peer that does not know the seed cannot choose route keys that all
//! land in one bucket. Hash order never reaches an output: every iteration that does is sorted
//! by key.

use core::hash::{Hash, Hasher};

/// Multiplier of each word folded in (rustc's FxHash constant).
const MUL: u64 = 0x517c_c1b7_2722_0a95;

/// The hash of `value` under `seed`.
pub(crate) fn hash_of<T: Hash + ?Sized>(seed: u64, value: &T) -> u64 {
    // The seed is the initial state, mixed as a first word so that it reaches every bit.
    let mut hasher = core::hash::BuildHasher::build_hasher(&SeededState(seed));
    value.hash(&mut hasher);
    hasher.finish()
}

/// A [`BuildHasher`](core::hash::BuildHasher) of seeded fixed hashers, for hashbrown's maps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededState(pub(crate) u64);

impl core::hash::BuildHasher for SeededState {
    type Hasher = FixedHasher;

    fn build_hasher(&self) -> FixedHasher {
        let mut hasher = FixedHasher(0);
        hasher.add(self.0);
        hasher
    }
}

/// FxHash's word loop, then MurmurHash3's 64-bit finalizer so that the low bits (the bucket
/// index) and the high bits (hashbrown's tag) both depend on every input bit.
pub(crate) struct FixedHasher(u64);

impl FixedHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MUL);
    }
}

impl Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_always_hashes_the_same() {
        assert_eq!(
            hash_of(0, &(1u32, [1u8, 2, 3])),
            hash_of(0, &(1u32, [1u8, 2, 3]))
        );
        assert_ne!(hash_of(0, &(1u32, 2u32)), hash_of(0, &(2u32, 1u32)));
    }

    #[test]
    fn low_and_high_bits_vary_with_small_inputs() {
        // Keys arriving in order differ in a few low bits: both the bucket index (low bits)
        // and hashbrown's tag (top 7 bits) must still spread: 256 values in 256 buckets give
        // about 162 distinct ones at random.
        let low: std::collections::BTreeSet<u64> =
            (0u32..256).map(|i| hash_of(0, &i) & 0xff).collect();
        let high: std::collections::BTreeSet<u64> =
            (0u32..256).map(|i| hash_of(0, &i) >> 57).collect();
        assert!(low.len() > 140, "{}", low.len());
        // 256 values in 128 tags: about 111 distinct tags at random.
        assert!(high.len() > 96, "{}", high.len());
    }

    #[test]
    fn keys_sharing_a_bucket_under_one_seed_spread_under_another() {
        // What a peer could precompute without the seed: keys in bucket 0 (low 8 bits).
        let crafted: Vec<u64> = (0u64..20_000)
            .filter(|k| hash_of(0, k) & 0xff == 0)
            .collect();
        assert!(crafted.len() > 40, "{}", crafted.len());
        let buckets: std::collections::BTreeSet<u64> = crafted
            .iter()
            .map(|k| hash_of(0x5eed_1234_abcd_0042, k) & 0xff)
            .collect();
        assert!(
            buckets.len() > crafted.len() / 2,
            "{} of {}",
            buckets.len(),
            crafted.len()
        );
    }
}
