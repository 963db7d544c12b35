//! Best-route tracking for a VPN instance (reference §1.6 TrackerWorker): per tracked entry (an
//! IP prefix, a MAC, ...), all routes received and the best ones, and the changes a dataplane
//! must follow: "new best route" and "best route removed (last or not)".
//!
//! Selection: highest LOCAL_PREF (absent = 100, RFC 4271 §5.1.5). With ECMP every route of the
//! highest LOCAL_PREF is best; without, ties are broken by a hash of the route's source and key
//! salted per instance — deterministic, yet distinct instances and hosts do not all elect the
//! same route — and then by source and key, so two distinct routes never tie.
//!
//! Two routes are equivalent when they have the same NLRI and forward the same way
//! ([`RibAttributes::same_forwarding`]); a change between equivalent routes is not reported.

use super::route::{RibAttributes, RibNlri, Route, RouteSource};
use core::cmp::Ordering;
use core::hash::{Hash, Hasher};
use serde::Serialize;
use std::collections::BTreeMap;

/// How routes of one tracked entry are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteOrder {
    /// LOCAL_PREF only; equal LOCAL_PREF means equal cost (the dataplane supports ECMP).
    Ecmp,
    /// LOCAL_PREF, then a hash of (salt, source, key), then (source, key).
    Salted {
        /// Per-instance salt (from the speaker's seeded generator, or a hash of host and
        /// instance names).
        salt: u64,
    },
}

/// A change of the best routes of one tracked entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BestChange<E, N, A> {
    /// `route` is now a best route of `entry` (reference §1.6 `new_best_route`).
    NewBest {
        /// The tracked entry.
        entry: E,
        /// The route.
        route: Route<N, A>,
    },
    /// `route` is no longer a best route of `entry`; `last` when no route is left for it
    /// (reference §1.6 `best_route_removed`).
    BestRemoved {
        /// The tracked entry.
        entry: E,
        /// The route.
        route: Route<N, A>,
        /// Whether the entry has no route left.
        last: bool,
    },
}

#[derive(Debug, Clone)]
struct Tracked<N: RibNlri, A> {
    all: BTreeMap<(RouteSource, N::Key), Route<N, A>>,
    best: Vec<Route<N, A>>,
}

impl<N: RibNlri, A> Default for Tracked<N, A> {
    fn default() -> Self {
        Tracked {
            all: BTreeMap::new(),
            best: Vec::new(),
        }
    }
}

/// Best routes per tracked entry `E`. A route is identified by its source and key: a route from
/// the same source with the same key replaces the previous one (implicit withdraw).
#[derive(Debug, Clone)]
pub struct BestRouteTracker<E, N: RibNlri, A> {
    order: RouteOrder,
    entries: BTreeMap<E, Tracked<N, A>>,
}

impl<E: Ord + Clone, N: RibNlri, A: RibAttributes> BestRouteTracker<E, N, A> {
    /// An empty tracker.
    pub fn new(order: RouteOrder) -> Self {
        BestRouteTracker {
            order,
            entries: BTreeMap::new(),
        }
    }

    /// The best routes of `entry`.
    pub fn best_routes(&self, entry: &E) -> &[Route<N, A>] {
        self.entries.get(entry).map_or(&[], |t| t.best.as_slice())
    }

    /// Every route of `entry`.
    pub fn routes(&self, entry: &E) -> impl Iterator<Item = &Route<N, A>> {
        self.entries
            .get(entry)
            .into_iter()
            .flat_map(|t| t.all.values())
    }

    /// The tracked entries that have routes.
    pub fn entries(&self) -> impl Iterator<Item = &E> {
        self.entries.keys()
    }

    /// Compares two routes: `Greater` when `a` is preferred.
    pub fn compare(&self, a: &Route<N, A>, b: &Route<N, A>) -> Ordering {
        compare_with(self.order, a, b)
    }

    /// A route for `entry` was advertised (or replaced the same source's route with the same
    /// key); pushes the resulting changes to `out` (reference §1.6 ADVERTISE handling).
    pub fn advertise(&mut self, entry: E, route: Route<N, A>, out: &mut Vec<BestChange<E, N, A>>) {
        let order = self.order;
        let cmp = |a: &Route<N, A>, b: &Route<N, A>| compare_with(order, a, b);
        let tracked = self.entries.entry(entry.clone()).or_default();
        let id = (route.source(), route.key());
        let mut implicit = Vec::new();
        if let Some(old) = tracked.all.remove(&id) {
            if old == route {
                tracked.all.insert(id, old);
                return;
            }
            if let Some(pos) = tracked.best.iter().position(|b| b.ptr_eq(&old)) {
                implicit.push(tracked.best.remove(pos));
            }
        }
        let mut pending = Vec::new();
        if tracked.best.is_empty() && !tracked.all.is_empty() {
            tracked.best = best_of(tracked.all.values(), &cmp);
            pending.clone_from(&tracked.best);
        }
        match tracked.best.first().map(|b| cmp(&route, b)) {
            None | Some(Ordering::Greater) => {
                implicit.extend(
                    tracked
                        .best
                        .drain(..)
                        .filter(|b| !pending.iter().any(|p: &Route<N, A>| p.ptr_eq(b))),
                );
                tracked.best.push(route.clone());
                out.push(BestChange::NewBest {
                    entry: entry.clone(),
                    route: route.clone(),
                });
            }
            Some(Ordering::Equal) => {
                announce_deduplicated(&entry, &pending, out);
                if !tracked.best.iter().any(|b| b.is_equivalent(&route)) {
                    out.push(BestChange::NewBest {
                        entry: entry.clone(),
                        route: route.clone(),
                    });
                }
                tracked.best.push(route.clone());
            }
            Some(Ordering::Less) => announce_deduplicated(&entry, &pending, out),
        }
        for old in implicit {
            if !tracked.best.iter().any(|b| b.is_equivalent(&old)) {
                out.push(BestChange::BestRemoved {
                    entry: entry.clone(),
                    route: old,
                    last: false,
                });
            }
        }
        tracked.all.insert(id, route);
    }

    /// The route of `route`'s source and key for `entry` was withdrawn; pushes the resulting
    /// changes to `out` (reference §1.6 WITHDRAW handling). Unknown routes are ignored.
    pub fn withdraw(&mut self, entry: &E, route: &Route<N, A>, out: &mut Vec<BestChange<E, N, A>>) {
        let order = self.order;
        let cmp = |a: &Route<N, A>, b: &Route<N, A>| compare_with(order, a, b);
        let Some(tracked) = self.entries.get_mut(entry) else {
            return;
        };
        let Some(old) = tracked.all.remove(&(route.source(), route.key())) else {
            return;
        };
        if let Some(pos) = tracked.best.iter().position(|b| b.ptr_eq(&old)) {
            tracked.best.remove(pos);
            let mut last = false;
            if tracked.best.is_empty() {
                tracked.best = best_of(tracked.all.values(), &cmp);
                announce_deduplicated(entry, &tracked.best, out);
                last = tracked.best.is_empty();
            }
            if !tracked.best.iter().any(|b| b.is_equivalent(&old)) {
                out.push(BestChange::BestRemoved {
                    entry: entry.clone(),
                    route: old,
                    last,
                });
            }
        }
        if tracked.all.is_empty() {
            self.entries.remove(entry);
        }
    }

    /// Withdraws every route of every entry (reference §1.6 `synthesize_withdraw_all`, for the
    /// cleanup of an instance that stops).
    pub fn withdraw_all(&mut self, out: &mut Vec<BestChange<E, N, A>>) {
        let all: Vec<(E, Route<N, A>)> = self
            .entries
            .iter()
            .flat_map(|(e, t)| t.all.values().map(move |r| (e.clone(), r.clone())))
            .collect();
        for (entry, route) in all {
            self.withdraw(&entry, &route, out);
        }
    }
}

fn compare_with<N: RibNlri, A: RibAttributes>(
    order: RouteOrder,
    a: &Route<N, A>,
    b: &Route<N, A>,
) -> Ordering {
    let by_pref = a.local_pref_or_default().cmp(&b.local_pref_or_default());
    match order {
        RouteOrder::Ecmp => by_pref,
        RouteOrder::Salted { salt } => by_pref
            .then_with(|| salted_hash(salt, b).cmp(&salted_hash(salt, a)))
            .then_with(|| (b.source(), b.key()).cmp(&(a.source(), a.key()))),
    }
}

/// Every route that compares equal to the best one.
fn best_of<'r, N: RibNlri + 'r, A: 'r>(
    routes: impl Iterator<Item = &'r Route<N, A>>,
    cmp: &impl Fn(&Route<N, A>, &Route<N, A>) -> Ordering,
) -> Vec<Route<N, A>> {
    let mut best: Vec<Route<N, A>> = Vec::new();
    for route in routes {
        match best.first().map(|b| cmp(route, b)) {
            None | Some(Ordering::Equal) => best.push(route.clone()),
            Some(Ordering::Greater) => {
                best.clear();
                best.push(route.clone());
            }
            Some(Ordering::Less) => {}
        }
    }
    best
}

fn announce_deduplicated<E: Clone, N: RibNlri, A: RibAttributes>(
    entry: &E,
    routes: &[Route<N, A>],
    out: &mut Vec<BestChange<E, N, A>>,
) {
    for (i, route) in routes.iter().enumerate() {
        let seen = routes.iter().take(i).any(|r| r.is_equivalent(route));
        if !seen {
            out.push(BestChange::NewBest {
                entry: entry.clone(),
                route: route.clone(),
            });
        }
    }
}

/// FNV-1a (64 bit) of the salt, source and key: stable across runs, unlike std's RandomState.
fn salted_hash<N: RibNlri, A>(salt: u64, route: &Route<N, A>) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(&salt.to_be_bytes());
    route.source().hash(&mut h);
    route.key().hash(&mut h);
    h.finish()
}
