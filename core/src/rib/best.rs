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

use super::fixed_hash::SeededState;
use super::route::{RibAttributes, RibNlri, Route, RouteSource};
use core::cmp::Ordering;
use core::hash::{Hash, Hasher};
use hashbrown::hash_map;
use hashbrown::HashMap;
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

/// The routes of one tracked entry with several routes.
#[derive(Debug, Clone)]
struct Many<N: RibNlri, A> {
    all: BTreeMap<(RouteSource, N::Key), Route<N, A>>,
    best: Vec<Route<N, A>>,
}

impl<N: RibNlri, A> Default for Many<N, A> {
    fn default() -> Self {
        Many {
            all: BTreeMap::new(),
            best: Vec::new(),
        }
    }
}

/// The routes of one tracked entry. Most entries have a single route, which is then the best
/// one: it is kept inline (a map and a vector per entry would cost about 800 bytes).
#[derive(Debug, Clone)]
enum Tracked<N: RibNlri, A> {
    One(Route<N, A>),
    Many(Box<Many<N, A>>),
}

impl<N: RibNlri, A> Tracked<N, A> {
    fn into_many(self) -> Box<Many<N, A>> {
        match self {
            Tracked::Many(m) => m,
            Tracked::One(route) => {
                let mut many = Box::<Many<N, A>>::default();
                many.all
                    .insert((route.source(), route.key()), route.clone());
                many.best.push(route);
                many
            }
        }
    }

    /// `None` when no route is left. With one route left, it is the best one (every operation
    /// keeps a best route while any route is left).
    fn from_many(many: Box<Many<N, A>>) -> Option<Self> {
        match many.all.len() {
            0 => None,
            1 => many.all.into_values().next().map(Tracked::One),
            _ => Some(Tracked::Many(many)),
        }
    }

    fn best(&self) -> &[Route<N, A>] {
        match self {
            Tracked::One(route) => core::slice::from_ref(route),
            Tracked::Many(m) => &m.best,
        }
    }

    fn all(&self) -> impl Iterator<Item = &Route<N, A>> {
        let (one, many) = match self {
            Tracked::One(route) => (Some(route), None),
            Tracked::Many(m) => (None, Some(m.all.values())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// Best routes per tracked entry `E`. A route is identified by its source and key: a route from
/// the same source with the same key replaces the previous one (implicit withdraw).
#[derive(Debug, Clone)]
pub struct BestRouteTracker<E, N: RibNlri, A> {
    order: RouteOrder,
    /// By entry, hashed with a seed (one probe per lookup rather than a B-tree descent over
    /// entries that arrive in order); every iteration that reaches an output is sorted.
    entries: HashMap<E, Tracked<N, A>, SeededState>,
}

impl<E: Ord + Hash + Clone, N: RibNlri, A: RibAttributes> BestRouteTracker<E, N, A> {
    /// An empty tracker; `hash_seed` seeds its table (a peer that does not know it cannot make
    /// its routes' entries collide).
    pub fn new(order: RouteOrder, hash_seed: u64) -> Self {
        BestRouteTracker {
            order,
            entries: HashMap::with_hasher(SeededState(hash_seed)),
        }
    }

    /// The best routes of `entry`.
    pub fn best_routes(&self, entry: &E) -> &[Route<N, A>] {
        self.entries.get(entry).map_or(&[], |t| t.best())
    }

    /// Every route of `entry`.
    pub fn routes(&self, entry: &E) -> impl Iterator<Item = &Route<N, A>> {
        self.entries.get(entry).into_iter().flat_map(|t| t.all())
    }

    /// The tracked entries that have routes.
    pub fn entries(&self) -> impl Iterator<Item = &E> {
        let mut entries: Vec<&E> = self.entries.keys().collect();
        entries.sort_unstable();
        entries.into_iter()
    }

    /// Compares two routes: `Greater` when `a` is preferred.
    pub fn compare(&self, a: &Route<N, A>, b: &Route<N, A>) -> Ordering {
        compare_with(self.order, a, b)
    }

    /// A route for `entry` was advertised (or replaced the same source's route with the same
    /// key); pushes the resulting changes to `out` (reference §1.6 ADVERTISE handling).
    pub fn advertise(&mut self, entry: E, route: Route<N, A>, out: &mut Vec<BestChange<E, N, A>>) {
        let tracked = match self.entries.entry(entry) {
            hash_map::Entry::Vacant(slot) => {
                // The first route of an entry is its best route.
                out.push(BestChange::NewBest {
                    entry: slot.key().clone(),
                    route: route.clone(),
                });
                slot.insert(Tracked::One(route));
                return;
            }
            hash_map::Entry::Occupied(slot) => slot,
        };
        if let Tracked::One(only) = tracked.get() {
            if *only == route {
                return;
            }
        }
        let (entry, tracked) = tracked.remove_entry();
        let mut many = tracked.into_many();
        advertise_many(self.order, &entry, &mut many, route, out);
        if let Some(tracked) = Tracked::from_many(many) {
            self.entries.insert(entry, tracked);
        }
    }

    /// The route of `route`'s source and key for `entry` was withdrawn; pushes the resulting
    /// changes to `out` (reference §1.6 WITHDRAW handling). Unknown routes are ignored.
    pub fn withdraw(&mut self, entry: &E, route: &Route<N, A>, out: &mut Vec<BestChange<E, N, A>>) {
        let Some(tracked) = self.entries.get_mut(entry) else {
            return;
        };
        let id = (route.source(), route.key());
        if let Tracked::One(only) = tracked {
            if (only.source(), only.key()) != id {
                return;
            }
            let Some(Tracked::One(old)) = self.entries.remove(entry) else {
                return;
            };
            out.push(BestChange::BestRemoved {
                entry: entry.clone(),
                route: old,
                last: true,
            });
            return;
        }
        let Some(Tracked::Many(mut many)) = self.entries.remove(entry) else {
            return;
        };
        withdraw_many(self.order, entry, &mut many, &id, out);
        if let Some(tracked) = Tracked::from_many(many) {
            self.entries.insert(entry.clone(), tracked);
        }
    }

    /// Withdraws every route of every entry (reference §1.6 `synthesize_withdraw_all`, for the
    /// cleanup of an instance that stops).
    pub fn withdraw_all(&mut self, out: &mut Vec<BestChange<E, N, A>>) {
        let mut all: Vec<(E, Route<N, A>)> = self
            .entries
            .iter()
            .flat_map(|(e, t)| t.all().map(move |r| (e.clone(), r.clone())))
            .collect();
        // In entry order: the changes reach the dataplane.
        all.sort_by(|(a, _), (b, _)| a.cmp(b));
        for (entry, route) in all {
            self.withdraw(&entry, &route, out);
        }
    }
}

/// [`BestRouteTracker::advertise`] for an entry that had routes.
fn advertise_many<E: Clone, N: RibNlri, A: RibAttributes>(
    order: RouteOrder,
    entry: &E,
    tracked: &mut Many<N, A>,
    route: Route<N, A>,
    out: &mut Vec<BestChange<E, N, A>>,
) {
    let cmp = |a: &Route<N, A>, b: &Route<N, A>| compare_with(order, a, b);
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
            announce_deduplicated(entry, &pending, out);
            if !tracked.best.iter().any(|b| b.is_equivalent(&route)) {
                out.push(BestChange::NewBest {
                    entry: entry.clone(),
                    route: route.clone(),
                });
            }
            tracked.best.push(route.clone());
        }
        Some(Ordering::Less) => announce_deduplicated(entry, &pending, out),
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

/// [`BestRouteTracker::withdraw`] for an entry with several routes.
fn withdraw_many<E: Clone, N: RibNlri, A: RibAttributes>(
    order: RouteOrder,
    entry: &E,
    tracked: &mut Many<N, A>,
    id: &(RouteSource, N::Key),
    out: &mut Vec<BestChange<E, N, A>>,
) {
    let cmp = |a: &Route<N, A>, b: &Route<N, A>| compare_with(order, a, b);
    let Some(old) = tracked.all.remove(id) else {
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
}

fn compare_with<N: RibNlri, A: RibAttributes>(
    order: RouteOrder,
    a: &Route<N, A>,
    b: &Route<N, A>,
) -> Ordering {
    // RFC 7432 §15.2: for routes of one MAC, a sticky MAC, then the higher MAC Mobility
    // sequence number wins (a route without the community has sequence 0).
    let mobility = |r: &Route<N, A>| r.attributes().mac_mobility().unwrap_or((false, 0));
    let by_pref = mobility(a)
        .cmp(&mobility(b))
        .then_with(|| a.local_pref_or_default().cmp(&b.local_pref_or_default()));
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
