//! Tests of the Adj-RIB-In: store, replace, remove, stale marks, and iteration in key order
//! whatever the hash order.

use super::adj_in::{AdjRibIn, Stored};
use super::route::{Route, RouteSource};
use super::testing::{attrs, evpn, vpn, TestAttrs, TestNlri, RT1};
use crate::speaker::io::PeerId;
use crate::wire::Family;

type R = Route<TestNlri, TestAttrs>;

fn route(nlri: TestNlri) -> R {
    Route::new(RouteSource::Peer(PeerId(0)), nlri, attrs(1, &[RT1]))
}

/// The prefixes 0..n, each once, not in order (3001 is prime to every n used).
fn scrambled(n: u32) -> Vec<u32> {
    (0..n).map(|i| i * 3_001 % n).collect()
}

fn keys(routes: impl IntoIterator<Item = R>) -> Vec<u32> {
    routes
        .into_iter()
        .map(|r| match r.nlri() {
            TestNlri::Vpn { prefix, .. } => *prefix,
            TestNlri::Rtc(_) => u32::MAX,
        })
        .collect()
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

#[test]
fn store_adds_then_finds_the_same_route_unchanged() {
    let mut rib = AdjRibIn::default();
    assert_eq!(rib.store(route(vpn(1, 7, 100))), Stored::Added);
    assert_eq!(rib.store(route(vpn(1, 7, 100))), Stored::Unchanged);
    assert_eq!(rib.len(), 1);
    let key = route(vpn(1, 7, 0)).key();
    assert_eq!(rib.get(&key), Some(&route(vpn(1, 7, 100))));
}

#[test]
fn a_new_label_replaces_the_route_of_the_same_key() {
    let mut rib = AdjRibIn::default();
    rib.store(route(vpn(1, 7, 100)));
    assert_eq!(
        rib.store(route(vpn(1, 7, 200))),
        Stored::Replaced(route(vpn(1, 7, 100)))
    );
    assert_eq!(rib.len(), 1);
    assert_eq!(
        rib.get(&route(vpn(1, 7, 0)).key()),
        Some(&route(vpn(1, 7, 200)))
    );
}

#[test]
fn remove_takes_the_route_of_the_key_only() {
    let mut rib = AdjRibIn::default();
    rib.store(route(vpn(1, 7, 100)));
    rib.store(route(vpn(2, 7, 100)));
    assert_eq!(
        rib.remove(&route(vpn(1, 7, 0)).key()),
        Some(route(vpn(1, 7, 100)))
    );
    assert_eq!(rib.remove(&route(vpn(1, 7, 0)).key()), None);
    assert_eq!(rib.len(), 1);
    assert!(rib.get(&route(vpn(2, 7, 0)).key()).is_some());
}

#[test]
fn iteration_is_in_key_order_whatever_the_insertion_order() {
    let mut rib = AdjRibIn::default();
    let prefixes = scrambled(5_000);
    for p in &prefixes {
        rib.store(route(vpn(1, *p, 3)));
    }
    let seen = keys(rib.iter().map(|(r, _)| r.clone()));
    assert_eq!(seen, sorted(prefixes.clone()));
    let even = keys(
        rib.routes_where(|r| matches!(r.nlri(), TestNlri::Vpn { prefix, .. } if prefix % 2 == 0))
            .cloned(),
    );
    assert_eq!(
        even,
        sorted(prefixes.into_iter().filter(|p| p % 2 == 0).collect())
    );
}

#[test]
fn stale_marks_follow_families_and_are_cleared_by_a_new_advertisement() {
    let mut rib = AdjRibIn::default();
    for p in scrambled(100) {
        rib.store(route(vpn(1, p, 3)));
        rib.store(route(evpn(1, p)));
    }
    assert!(!rib.has_stale());
    assert_eq!(rib.mark_stale(|f| f == Family::VPNV4), 100);
    assert!(rib.has_stale());
    let stale: Vec<bool> = rib.iter().map(|(_, stale)| stale).collect();
    assert_eq!(stale.iter().filter(|s| **s).count(), 100);
    // Re-advertised (same route): no longer stale. Withdrawn: its mark goes with it.
    let first = scrambled(100)[0];
    let second = scrambled(100)[1];
    assert_eq!(rib.store(route(vpn(1, first, 3))), Stored::Unchanged);
    assert!(rib.remove(&route(vpn(1, second, 0)).key()).is_some());
    let still: Vec<R> = rib
        .iter()
        .filter(|(_, s)| *s)
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(still.len(), 98);
    assert!(!still.contains(&route(vpn(1, first, 3))));
}

#[test]
fn take_stale_and_take_unless_stale_return_routes_in_key_order() {
    let mut rib = AdjRibIn::default();
    let prefixes = scrambled(1_000);
    for p in &prefixes {
        rib.store(route(vpn(1, *p, 3)));
    }
    rib.mark_stale(|_| true);
    let fresh: Vec<u32> = prefixes.iter().copied().filter(|p| p % 3 == 0).collect();
    for p in &fresh {
        rib.store(route(vpn(1, *p, 3)));
    }
    // Not stale: taken (the stale ones stay for the restarting peer).
    let taken = rib.take_unless_stale_in(|f| f == Family::VPNV4);
    assert_eq!(keys(taken), sorted(fresh.clone()));
    assert!(rib.has_stale());
    let stale = rib.take_stale(|f| f == Family::VPNV4);
    assert_eq!(
        keys(stale),
        sorted(prefixes.into_iter().filter(|p| p % 3 != 0).collect())
    );
    assert!(!rib.has_stale());
    assert_eq!(rib.len(), 0);
}

#[test]
fn take_stale_leaves_other_families_and_their_marks() {
    let mut rib = AdjRibIn::default();
    rib.store(route(vpn(1, 1, 3)));
    rib.store(route(evpn(1, 1)));
    rib.mark_stale(|_| true);
    assert_eq!(
        rib.take_stale(|f| f == Family::EVPN),
        vec![route(evpn(1, 1))]
    );
    assert!(rib.has_stale());
    assert_eq!(rib.iter().map(|(_, s)| s).collect::<Vec<_>>(), vec![true]);
}
