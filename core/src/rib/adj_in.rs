//! Adj-RIB-In of one peer (RFC 4271 §3.2): the routes it advertised to us, with the stale mark of
//! graceful restart (RFC 4724 §4.2) and enhanced route refresh (RFC 7313 §4).

use super::route::{RibAttributes, RibNlri, Route};
use crate::wire::Family;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Entry<N, A> {
    route: Route<N, A>,
    stale: bool,
}

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
#[derive(Debug, Clone)]
pub(crate) struct AdjRibIn<N: RibNlri, A> {
    routes: BTreeMap<N::Key, Entry<N, A>>,
}

impl<N: RibNlri, A> Default for AdjRibIn<N, A> {
    fn default() -> Self {
        AdjRibIn {
            routes: BTreeMap::new(),
        }
    }
}

impl<N: RibNlri, A: RibAttributes> AdjRibIn<N, A> {
    /// Stores `route`, replacing any route with the same key.
    pub(crate) fn store(&mut self, route: Route<N, A>) -> Stored<Route<N, A>> {
        match self.routes.get_mut(&route.key()) {
            Some(entry) if entry.route == route => {
                entry.stale = false;
                Stored::Unchanged
            }
            Some(entry) => {
                entry.stale = false;
                Stored::Replaced(core::mem::replace(&mut entry.route, route))
            }
            None => {
                self.routes.insert(
                    route.key(),
                    Entry {
                        route,
                        stale: false,
                    },
                );
                Stored::Added
            }
        }
    }

    /// Removes the route with `key`.
    pub(crate) fn remove(&mut self, key: &N::Key) -> Option<Route<N, A>> {
        self.routes.remove(key).map(|e| e.route)
    }

    /// The route with `key`.
    pub(crate) fn get(&self, key: &N::Key) -> Option<&Route<N, A>> {
        self.routes.get(key).map(|e| &e.route)
    }

    /// Marks every route of a family in `families` stale; returns how many.
    pub(crate) fn mark_stale(&mut self, mut families: impl FnMut(Family) -> bool) -> usize {
        let mut n = 0;
        for entry in self.routes.values_mut() {
            if families(entry.route.family()) {
                entry.stale = true;
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
        self.take_where(|e| e.stale && families(e.route.family()))
    }

    /// Removes and returns the routes that are not stale, or whose family is not selected.
    pub(crate) fn take_unless_stale_in(
        &mut self,
        mut families: impl FnMut(Family) -> bool,
    ) -> Vec<Route<N, A>> {
        self.take_where(|e| !(e.stale && families(e.route.family())))
    }

    fn take_where(&mut self, mut pred: impl FnMut(&Entry<N, A>) -> bool) -> Vec<Route<N, A>> {
        let keys: Vec<N::Key> = self
            .routes
            .iter()
            .filter(|(_, e)| pred(e))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Whether any route is stale.
    pub(crate) fn has_stale(&self) -> bool {
        self.routes.values().any(|e| e.stale)
    }

    /// Every route, with its stale mark, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Route<N, A>, bool)> {
        self.routes.values().map(|e| (&e.route, e.stale))
    }

    /// How many routes.
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }
}
