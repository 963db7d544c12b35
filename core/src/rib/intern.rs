//! One shared copy of each distinct set of route attributes.
//!
//! Every route of one UPDATE shares its attributes, but a route reflector often sends each VPN
//! route in an UPDATE of its own (GoBGP packs only IPv4 unicast routes), so the same attribute
//! set (next hop, route targets, encapsulation, LOCAL_PREF ...) arrives once per route. Kept as
//! is, that set cost over 600 bytes per route; interned, routes with equal attributes share one
//! copy whichever UPDATE brought them.
//!
//! The table holds weak references: a set lives as long as a route uses it. Sets no route uses
//! any more are swept when the table has doubled since the last sweep, so the table stays within
//! twice the live sets. Hashing is seeded like the Adj-RIB-In's (see `fixed_hash`); nothing here
//! reaches an output, only which copy a route points to.

use core::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};

use hashbrown::HashTable;

use super::codec::RouteAttributes;
use super::fixed_hash::hash_of;
use crate::wire::attr::PathAttribute;

/// Sweeping is not worth it below this many entries.
const MIN_SWEEP: usize = 1024;

/// The interning table of route attributes.
#[derive(Debug)]
pub(crate) struct AttributeInterner {
    /// (hash, set): the hash is kept so that a resize never needs the set, which may be gone.
    table: HashTable<(u64, Weak<RouteAttributes>)>,
    seed: u64,
    sweep_at: usize,
}

impl AttributeInterner {
    /// An empty table hashing with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        AttributeInterner {
            table: HashTable::new(),
            seed,
            sweep_at: MIN_SWEEP,
        }
    }

    /// The shared copy of `attributes`: one a route already uses, or a new one.
    pub(crate) fn intern(&mut self, attributes: RouteAttributes) -> Arc<RouteAttributes> {
        let hash = fingerprint(self.seed, &attributes);
        let found = self
            .table
            .find(hash, |(h, set)| {
                *h == hash && set.upgrade().is_some_and(|s| *s == attributes)
            })
            .and_then(|(_, set)| set.upgrade());
        if let Some(shared) = found {
            return shared;
        }
        if self.table.len() >= self.sweep_at {
            self.table.retain(|(_, set)| set.strong_count() > 0);
            self.sweep_at = (2 * self.table.len()).max(MIN_SWEEP);
        }
        let shared = Arc::new(attributes);
        self.table
            .insert_unique(hash, (hash, Arc::downgrade(&shared)), |(h, _)| *h);
        shared
    }

    /// How many sets the table refers to (some may be gone until the next sweep).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

/// A hash of what usually tells attribute sets apart (next hop, AS path, LOCAL_PREF, MED,
/// communities, originator, cluster list, and which attributes there are); sets that differ
/// elsewhere only share a bucket, equality decides.
fn fingerprint(seed: u64, attributes: &RouteAttributes) -> u64 {
    hash_of(seed, &Fingerprint(attributes))
}

struct Fingerprint<'a>(&'a RouteAttributes);

impl Hash for Fingerprint<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.next_hop.hash(state);
        for attribute in &self.0.attributes.list {
            state.write_u8(attribute.code());
            match attribute {
                PathAttribute::AsPath(path) | PathAttribute::As4Path(path) => path.hash(state),
                PathAttribute::LocalPref(v) | PathAttribute::Med(v) => state.write_u32(*v),
                PathAttribute::OriginatorId(id) => state.write_u32(u32::from(*id)),
                PathAttribute::ClusterList(list) => list.hash(state),
                PathAttribute::Communities(list) => list.hash(state),
                PathAttribute::ExtendedCommunities(list) => {
                    list.iter().for_each(|c| c.hash(state));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::{NextHop, Origin, PathAttributes};
    use std::net::Ipv4Addr;

    fn attributes(local_pref: u32, next_hop: [u8; 4]) -> RouteAttributes {
        RouteAttributes {
            next_hop: NextHop::Ipv4(Ipv4Addr::from(next_hop)),
            attributes: PathAttributes {
                list: vec![
                    PathAttribute::Origin(Origin::Igp),
                    PathAttribute::LocalPref(local_pref),
                ],
            },
        }
    }

    #[test]
    fn equal_sets_share_one_copy_and_different_ones_do_not() {
        let mut interner = AttributeInterner::new(7);
        let a = interner.intern(attributes(100, [10, 0, 0, 1]));
        let b = interner.intern(attributes(100, [10, 0, 0, 1]));
        assert!(Arc::ptr_eq(&a, &b));
        let c = interner.intern(attributes(200, [10, 0, 0, 1]));
        let d = interner.intern(attributes(100, [10, 0, 0, 2]));
        assert!(!Arc::ptr_eq(&a, &c) && !Arc::ptr_eq(&a, &d) && !Arc::ptr_eq(&c, &d));
        assert_eq!(*c, attributes(200, [10, 0, 0, 1]));
    }

    #[test]
    fn a_set_no_route_uses_is_made_again_and_swept_later() {
        let mut interner = AttributeInterner::new(7);
        let first = interner.intern(attributes(100, [10, 0, 0, 1]));
        drop(first);
        // Gone: a new copy (equal in value).
        let again = interner.intern(attributes(100, [10, 0, 0, 1]));
        assert_eq!(Arc::strong_count(&again), 1);
        // Many sets used once and dropped: the table stays within twice the live ones.
        let kept: Vec<Arc<RouteAttributes>> = (0..10u32)
            .map(|i| interner.intern(attributes(i, [10, 0, 1, 1])))
            .collect();
        for i in 0..10_000u32 {
            drop(interner.intern(attributes(1000 + i, [10, 0, 2, 1])));
        }
        assert!(interner.len() <= 2 * MIN_SWEEP + 1, "{}", interner.len());
        for (i, set) in kept.iter().enumerate() {
            let again = interner.intern(attributes(u32::try_from(i).unwrap_or(0), [10, 0, 1, 1]));
            assert!(Arc::ptr_eq(set, &again), "live set {i} lost");
        }
    }
}
