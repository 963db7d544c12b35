//! Adj-RIB-In of one peer (RFC 4271 §3.2): the routes it advertised to us, with the stale mark of
//! graceful restart (RFC 4724 §4.2) and enhanced route refresh (RFC 7313 §4).

use super::fixed_hash::hash_of;
use super::route::{RibAttributes, RibNlri, Route};
use crate::wire::Family;
use core::mem;
use hashbrown::hash_table::{Entry, HashTable};
use std::collections::BTreeSet;

/// What storing a received route did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored<R> {
    /// The same route was already there (its stale mark, if any, is cleared).
    Unchanged,
    /// A route for a key that had none.
    Added,
    /// It replaced this route (implicit withdraw, RFC 4271 §3.1).
    Replaced(R),
}

/// The routes received from one peer, by route key.
///
/// A hash table of the routes themselves, hashed and compared by the key computed from each
/// route's NLRI: no copy of the key per route (48 bytes), and no B-tree nodes left half full
/// by keys arriving in order (a `BTreeMap<Key, Route>` cost about 105 bytes per route, this
/// about 12). Every iteration is sorted by key, so that nothing depends on hash order.
///
/// The stale marks are kept apart: they exist only during a graceful restart or an enhanced
/// route refresh, and a flag next to every route would cost 8 bytes per route.
#[derive(Debug, Clone)]
pub(crate) struct AdjRibIn<N: RibNlri, A> {
    routes: HashTable<Route<N, A>>,
    stale: BTreeSet<N::Key>,
    /// The hash seed (the speaker's: see [`super::fixed_hash`]).
    seed: u64,
}

impl<N: RibNlri, A> Default for AdjRibIn<N, A> {
    fn default() -> Self {
        Self::with_seed(0)
    }
}

impl<N: RibNlri, A> AdjRibIn<N, A> {
    /// An empty Adj-RIB-In hashing with `seed`.
    pub(crate) fn with_seed(seed: u64) -> Self {
        AdjRibIn {
            routes: HashTable::new(),
            stale: BTreeSet::new(),
            seed,
        }
    }
}

impl<N: RibNlri, A: RibAttributes> AdjRibIn<N, A> {
    /// Stores `route`, replacing any route with the same key.
    pub(crate) fn store(&mut self, route: Route<N, A>) -> Stored<Route<N, A>> {
        let key = route.key();
        if !self.stale.is_empty() {
            self.stale.remove(&key);
        }
        let seed = self.seed;
        let hash = hash_of(seed, &key);
        match self
            .routes
            .entry(hash, |r| r.key() == key, |r| hash_of(seed, &r.key()))
        {
            Entry::Occupied(slot) if *slot.get() == route => Stored::Unchanged,
            Entry::Occupied(mut slot) => Stored::Replaced(mem::replace(slot.get_mut(), route)),
            Entry::Vacant(slot) => {
                slot.insert(route);
                Stored::Added
            }
        }
    }

    /// Removes the route with `key`.
    pub(crate) fn remove(&mut self, key: &N::Key) -> Option<Route<N, A>> {
        let slot = self
            .routes
            .find_entry(hash_of(self.seed, key), |r| r.key() == *key)
            .ok()?;
        let (route, _) = slot.remove();
        if !self.stale.is_empty() {
            self.stale.remove(key);
        }
        Some(route)
    }

    /// The route with `key`.
    pub(crate) fn get(&self, key: &N::Key) -> Option<&Route<N, A>> {
        self.routes
            .find(hash_of(self.seed, key), |r| r.key() == *key)
    }

    /// Marks every route of a family in `families` stale; returns how many.
    pub(crate) fn mark_stale(&mut self, mut families: impl FnMut(Family) -> bool) -> usize {
        let mut n = 0;
        for route in &self.routes {
            if families(route.family()) {
                self.stale.insert(route.key());
                n += 1;
            }
        }
        n
    }

    /// Removes and returns the stale routes of the families selected, in key order.
    pub(crate) fn take_stale(
        &mut self,
        mut families: impl FnMut(Family) -> bool,
    ) -> Vec<Route<N, A>> {
        self.take_where(|route, stale| stale && families(route.family()))
    }

    /// Removes and returns the routes that are not stale, or whose family is not selected, in
    /// key order.
    pub(crate) fn take_unless_stale_in(
        &mut self,
        mut families: impl FnMut(Family) -> bool,
    ) -> Vec<Route<N, A>> {
        self.take_where(|route, stale| !(stale && families(route.family())))
    }

    fn take_where(&mut self, mut pred: impl FnMut(&Route<N, A>, bool) -> bool) -> Vec<Route<N, A>> {
        let stale = &self.stale;
        let mut taken: Vec<(N::Key, Route<N, A>)> = self
            .routes
            .extract_if(|r| pred(r, !stale.is_empty() && stale.contains(&r.key())))
            .map(|r| (r.key(), r))
            .collect();
        taken.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        if !self.stale.is_empty() {
            for (key, _) in &taken {
                self.stale.remove(key);
            }
        }
        taken.into_iter().map(|(_, r)| r).collect()
    }

    /// Whether any route is stale.
    pub(crate) fn has_stale(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Every route, with its stale mark, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Route<N, A>, bool)> {
        self.sorted(|_| true)
            .map(|(key, r)| (r, !self.stale.is_empty() && self.stale.contains(&key)))
    }

    /// The routes for which `pred` holds, in key order.
    pub(crate) fn routes_where(
        &self,
        pred: impl FnMut(&&Route<N, A>) -> bool,
    ) -> impl Iterator<Item = &Route<N, A>> {
        self.sorted(pred).map(|(_, r)| r)
    }

    /// The routes for which `pred` holds, with their keys, sorted by key (keys are unique, so
    /// the unstable sort gives one order).
    fn sorted(
        &self,
        pred: impl FnMut(&&Route<N, A>) -> bool,
    ) -> std::vec::IntoIter<(N::Key, &Route<N, A>)> {
        let mut routes: Vec<(N::Key, &Route<N, A>)> = self
            .routes
            .iter()
            .filter(pred)
            .map(|r| (r.key(), r))
            .collect();
        routes.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        routes.into_iter()
    }

    /// How many routes.
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }
}
