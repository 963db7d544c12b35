//! Identifier allocators shared by all VPN instances (reference §2.1): labels (16 to 2^20-1)
//! and route distinguisher numbers (0 to 65535). A released identifier is reused as late as
//! possible: only once the counter has gone past the maximum, oldest release first, so that a
//! label still in a peer's table is not given to another endpoint right away.

use std::collections::{BTreeSet, VecDeque};

/// An allocator over `min..=max`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IdAllocator {
    min: u32,
    max: u32,
    next: u64,
    released: VecDeque<u32>,
    in_use: BTreeSet<u32>,
}

/// No identifier is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl IdAllocator {
    /// An allocator over `min..=max`.
    pub fn new(min: u32, max: u32) -> Self {
        IdAllocator {
            min,
            max,
            next: u64::from(min),
            released: VecDeque::new(),
            in_use: BTreeSet::new(),
        }
    }

    /// A free identifier.
    pub fn allocate(&mut self) -> Result<u32, Exhausted> {
        while self.next <= u64::from(self.max) {
            let candidate = u32::try_from(self.next).map_err(|_| Exhausted)?;
            self.next += 1;
            if self.in_use.insert(candidate) {
                return Ok(candidate);
            }
        }
        while let Some(id) = self.released.pop_front() {
            if self.in_use.insert(id) {
                return Ok(id);
            }
        }
        Err(Exhausted)
    }

    /// Takes `id` when it is in range and free (a forced value); `false` otherwise.
    pub fn reserve(&mut self, id: u32) -> bool {
        (self.min..=self.max).contains(&id) && self.in_use.insert(id)
    }

    /// Gives `id` back.
    pub fn release(&mut self, id: u32) {
        if self.in_use.remove(&id) {
            self.released.push_back(id);
        }
    }

    /// The identifiers in use, in order.
    pub fn in_use(&self) -> impl Iterator<Item = u32> + '_ {
        self.in_use.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_ids_are_reused_only_after_the_range_is_used_up() {
        let mut a = IdAllocator::new(16, 19);
        assert_eq!(a.allocate(), Ok(16));
        assert_eq!(a.allocate(), Ok(17));
        a.release(16);
        assert_eq!(a.allocate(), Ok(18));
        assert_eq!(a.allocate(), Ok(19));
        assert_eq!(a.allocate(), Ok(16));
        assert_eq!(a.allocate(), Err(Exhausted));
        a.release(17);
        a.release(18);
        assert_eq!(a.allocate(), Ok(17));
        assert_eq!(a.allocate(), Ok(18));
    }

    #[test]
    fn reserve_takes_a_forced_value_once() {
        let mut a = IdAllocator::new(16, 100);
        assert!(a.reserve(20));
        assert!(!a.reserve(20));
        assert!(!a.reserve(5));
        for _ in 16..20 {
            assert_ne!(a.allocate(), Ok(20));
        }
        assert_eq!(a.allocate(), Ok(21));
    }
}
