//! Adj-RIB-In of one peer (RFC 4271 §3.2): the routes it advertised to us, with the stale mark of
//! graceful restart (RFC 4724 §4.2) and enhanced route refresh (RFC 7313 §4).

use super::route::{RibAttributes, RibNlri, Route};
use crate::wire::Family;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

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
/// The stale marks are kept apart: they exist only during a graceful restart or an enhanced
/// route refresh, and a flag next to every route would cost 8 bytes per route.
#[derive(Debug, Clone)]
pub(crate) struct AdjRibIn<N: RibNlri, A> {
    routes: BTreeMap<N::Key, Route<N, A>>,
    stale: BTreeSet<N::Key>,
}

impl<N: RibNlri, A> Default for AdjRibIn<N, A> {
    fn default() -> Self {
        AdjRibIn {
            routes: BTreeMap::new(),
            stale: BTreeSet::new(),
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
        match self.routes.entry(key) {
            Entry::Occupied(slot) if *slot.get() == route => Stored::Unchanged,
            Entry::Occupied(mut slot) => Stored::Replaced(slot.insert(route)),
            Entry::Vacant(slot) => {
                slot.insert(route);
                Stored::Added
            }
        }
    }

    /// Removes the route with `key`.
    pub(crate) fn remove(&mut self, key: &N::Key) -> Option<Route<N, A>> {
        let route = self.routes.remove(key)?;
        if !self.stale.is_empty() {
            self.stale.remove(key);
        }
        Some(route)
    }

    /// The route with `key`.
    pub(crate) fn get(&self, key: &N::Key) -> Option<&Route<N, A>> {
        self.routes.get(key)
    }

    /// Marks every route of a family in `families` stale; returns how many.
    pub(crate) fn mark_stale(&mut self, mut families: impl FnMut(Family) -> bool) -> usize {
        let mut n = 0;
        for (key, route) in &self.routes {
            if families(route.family()) {
                self.stale.insert(key.clone());
                n += 1;
            }
        }
        n
    }

    /// Removes and returns the stale routes of the families selected.
    pub(crate) fn take_stale(
        &mut self,
        mut families: impl FnMut(Family) -> bool,
    ) -> Vec<Route<N, A>> {
        self.take_where(|route, stale| stale && families(route.family()))
    }

    /// Removes and returns the routes that are not stale, or whose family is not selected.
    pub(crate) fn take_unless_stale_in(
        &mut self,
        mut families: impl FnMut(Family) -> bool,
    ) -> Vec<Route<N, A>> {
        self.take_where(|route, stale| !(stale && families(route.family())))
    }

    fn take_where(&mut self, mut pred: impl FnMut(&Route<N, A>, bool) -> bool) -> Vec<Route<N, A>> {
        let keys: Vec<N::Key> = self
            .routes
            .iter()
            .filter(|(k, r)| pred(r, self.stale.contains(*k)))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Whether any route is stale.
    pub(crate) fn has_stale(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Every route, with its stale mark, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Route<N, A>, bool)> {
        self.routes
            .iter()
            .map(|(k, r)| (r, !self.stale.is_empty() && self.stale.contains(k)))
    }

    /// How many routes.
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }
}
