//! Best-route tracking against BaGPipe-BGP's tracker worker tests (reference §8, with our own
//! names). The tracked entry is the prefix; ECMP order is the reference's test comparator
//! (equal LOCAL_PREF = equal cost).

use super::best::{BestChange, BestRouteTracker, RouteOrder};
use super::route::{InstanceId, Route, RouteSource};
use super::testing::*;
use crate::speaker::io::PeerId;
use core::cmp::Ordering;
use std::sync::Arc;

type R = Route<TestNlri, TestAttrs>;
type Tracker = BestRouteTracker<u32, TestNlri, TestAttrs>;
type Change = BestChange<u32, TestNlri, TestAttrs>;

const A: RouteSource = RouteSource::Peer(PeerId(1));
const B: RouteSource = RouteSource::Peer(PeerId(2));
const C: RouteSource = RouteSource::Instance(InstanceId(7));

fn route(source: RouteSource, rd: u32, prefix: u32, next_hop: u32, lp: u32) -> R {
    Route::new(source, vpn(rd, prefix, 100), attrs_lp(next_hop, lp))
}

fn prefix(r: &R) -> u32 {
    match r.nlri() {
        TestNlri::Vpn { prefix, .. } => *prefix,
        TestNlri::Rtc(_) => 0,
    }
}

fn nbr(r: &R) -> Change {
    BestChange::NewBest {
        entry: prefix(r),
        route: r.clone(),
    }
}

fn brr(r: &R, last: bool) -> Change {
    BestChange::BestRemoved {
        entry: prefix(r),
        route: r.clone(),
        last,
    }
}

fn adv(t: &mut Tracker, r: &R) -> Vec<Change> {
    let mut out = Vec::new();
    t.advertise(prefix(r), r.clone(), &mut out);
    out
}

fn wd(t: &mut Tracker, r: &R) -> Vec<Change> {
    let mut out = Vec::new();
    t.withdraw(&prefix(r), r, &mut out);
    out
}

#[derive(Clone, Copy)]
enum Op {
    Adv,
    Wd,
}

/// Runs (operation, route, expected changes) rows.
fn run(order: RouteOrder, rows: &[(Op, &R, Vec<Change>)]) {
    let mut t = Tracker::new(order, 7);
    for (i, (op, r, expected)) in rows.iter().enumerate() {
        let got = match op {
            Op::Adv => adv(&mut t, r),
            Op::Wd => wd(&mut t, r),
        };
        assert_eq!(&got, expected, "row {i}");
    }
    assert_eq!(
        t.entries().count(),
        0,
        "every route withdrawn: no state left"
    );
}

#[test]
fn reference_tracker_distinct_entries_each_get_new_best_and_last_removal() {
    for (s1, s2) in [(A, A), (A, B)] {
        let r1 = route(s1, 1, 1, 1, 100);
        let r2 = route(s2, 1, 2, 1, 100);
        run(
            RouteOrder::Ecmp,
            &[
                (Op::Adv, &r1, vec![nbr(&r1)]),
                (Op::Adv, &r2, vec![nbr(&r2)]),
                (Op::Wd, &r1, vec![brr(&r1, true)]),
                (Op::Wd, &r2, vec![brr(&r2, true)]),
            ],
        );
    }
}

#[test]
fn reference_tracker_same_route_twice_and_unknown_withdraw() {
    let r1 = route(A, 1, 1, 1, 100);
    let unknown = route(B, 1, 1, 1, 100);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Wd, &unknown, vec![]),
            (Op::Adv, &r1, vec![nbr(&r1)]),
            (Op::Adv, &r1, vec![]),
            (Op::Wd, &unknown, vec![]),
            (Op::Wd, &r1, vec![brr(&r1, true)]),
        ],
    );
}

#[test]
fn reference_tracker_equivalent_routes_from_two_sources_report_once() {
    let ra = route(A, 1, 1, 1, 100);
    let rb = route(B, 1, 1, 1, 100);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Adv, &ra, vec![nbr(&ra)]),
            (Op::Adv, &rb, vec![]),
            (Op::Wd, &ra, vec![]),
            (Op::Wd, &rb, vec![brr(&rb, true)]),
        ],
    );
}

#[test]
fn reference_tracker_withdrawn_best_is_replaced_by_next_best() {
    let ra = route(A, 1, 1, 1, 300);
    let rb = route(B, 1, 1, 2, 200);
    let rc = route(C, 1, 1, 2, 200);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Adv, &ra, vec![nbr(&ra)]),
            (Op::Adv, &rb, vec![]),
            (Op::Adv, &rc, vec![]),
            // B and C are equivalent: one new best (the first in source order), then A goes.
            (Op::Wd, &ra, vec![nbr(&rc), brr(&ra, false)]),
            (Op::Wd, &rb, vec![]),
            (Op::Wd, &rc, vec![brr(&rc, true)]),
        ],
    );
}

#[test]
fn reference_tracker_better_route_wins_and_withdrawals_cascade() {
    let ra = route(A, 1, 1, 1, 100);
    let rb = route(B, 1, 1, 2, 200);
    let rc = route(C, 1, 1, 3, 150);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Adv, &ra, vec![nbr(&ra)]),
            (Op::Adv, &rb, vec![nbr(&rb), brr(&ra, false)]),
            (Op::Adv, &rc, vec![]),
            (Op::Wd, &rb, vec![nbr(&rc), brr(&rb, false)]),
            (Op::Wd, &rc, vec![nbr(&ra), brr(&rc, false)]),
            (Op::Wd, &ra, vec![brr(&ra, true)]),
        ],
    );
}

#[test]
fn reference_tracker_ecmp_keeps_every_equal_route() {
    // Same source, same prefix, two RDs (two NLRIs), different next hops.
    let r1 = route(A, 1, 5, 1, 100);
    let r2 = route(A, 2, 5, 2, 100);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Adv, &r1, vec![nbr(&r1)]),
            (Op::Adv, &r2, vec![nbr(&r2)]),
            (Op::Wd, &r1, vec![brr(&r1, false)]),
            (Op::Wd, &r2, vec![brr(&r2, true)]),
        ],
    );
}

#[test]
fn reference_tracker_replacement_by_same_source_and_key() {
    let a100 = route(A, 1, 1, 1, 100);
    let a200 = route(A, 1, 1, 1, 200);
    let a50 = route(A, 1, 1, 1, 50);
    let a300 = route(A, 1, 1, 1, 300);
    let b100 = route(B, 1, 1, 2, 100);
    let b200 = route(B, 1, 1, 2, 200);
    // (setup, replacement, expected changes of the replacement)
    let cases: [(Vec<&R>, &R, &R, Vec<Change>); 4] = [
        // the only route gets better
        (
            vec![&a100],
            &a200,
            &a200,
            vec![nbr(&a200), brr(&a100, false)],
        ),
        // the best route becomes worse than another
        (
            vec![&a200, &b100],
            &a50,
            &b100,
            vec![nbr(&b100), brr(&a200, false)],
        ),
        // a non-best route becomes best
        (
            vec![&a100, &b200],
            &a300,
            &a300,
            vec![nbr(&a300), brr(&b200, false)],
        ),
        // the best route gets better still
        (
            vec![&a200, &b100],
            &a300,
            &a300,
            vec![nbr(&a300), brr(&a200, false)],
        ),
    ];
    for (i, (setup, replacement, best, expected)) in cases.into_iter().enumerate() {
        let mut t = Tracker::new(RouteOrder::Ecmp, 7);
        for r in setup {
            adv(&mut t, r);
        }
        assert_eq!(adv(&mut t, replacement), expected, "case {i}");
        assert_eq!(t.best_routes(&1), std::slice::from_ref(best), "case {i}");
        assert_eq!(t.routes(&1).count(), if i == 0 { 1 } else { 2 });
    }
}

#[test]
fn reference_tracker_replacement_equal_to_two_others_makes_three_best() {
    let a300 = route(A, 1, 1, 1, 300);
    let b = route(B, 1, 1, 2, 200);
    let c = route(C, 1, 1, 3, 200);
    let a200 = route(A, 1, 1, 4, 200);
    let mut t = Tracker::new(RouteOrder::Ecmp, 7);
    adv(&mut t, &a300);
    assert!(adv(&mut t, &b).is_empty());
    assert!(adv(&mut t, &c).is_empty());
    let got = adv(&mut t, &a200);
    assert_eq!(got.len(), 4);
    let news: Vec<&Change> = got
        .iter()
        .filter(|c| matches!(c, BestChange::NewBest { .. }))
        .collect();
    for r in [&b, &c, &a200] {
        assert!(news.contains(&&nbr(r)), "{r:?}");
    }
    assert_eq!(got.last(), Some(&brr(&a300, false)));
    assert_eq!(t.best_routes(&1).len(), 3);
}

#[test]
fn reference_tracker_higher_local_pref_is_best_in_both_orders() {
    for order in [RouteOrder::Ecmp, RouteOrder::Salted { salt: 42 }] {
        let low = route(A, 1, 1, 1, 100);
        let high = route(B, 1, 1, 2, 200);
        for arrival in [[&low, &high], [&high, &low]] {
            let mut t = Tracker::new(order, 7);
            for r in arrival {
                adv(&mut t, r);
            }
            assert_eq!(t.best_routes(&1), std::slice::from_ref(&high), "{order:?}");
            assert_eq!(t.compare(&high, &low), Ordering::Greater);
        }
    }
}

#[test]
fn salted_tie_break_is_deterministic_total_and_varies_with_the_salt() {
    let r1 = route(A, 1, 1, 1, 100);
    let r2 = route(B, 2, 1, 2, 100);
    let mut winners = std::collections::BTreeSet::new();
    for salt in 0..64u64 {
        let order = RouteOrder::Salted { salt };
        let mut t = Tracker::new(order, 7);
        adv(&mut t, &r1);
        adv(&mut t, &r2);
        let best = t.best_routes(&1).to_vec();
        assert_eq!(best.len(), 1, "no ECMP without it");
        assert_ne!(t.compare(&r1, &r2), Ordering::Equal);
        assert_eq!(t.compare(&r1, &r2), t.compare(&r2, &r1).reverse());
        // Arrival order does not matter.
        let mut u = Tracker::new(order, 7);
        adv(&mut u, &r2);
        adv(&mut u, &r1);
        assert_eq!(u.best_routes(&1), best.as_slice());
        winners.insert(best[0].source());
    }
    assert_eq!(winners.len(), 2, "different salts elect different routes");
}

#[test]
fn reference_tracker_non_forwarding_difference_triggers_nothing() {
    let ra = route(A, 1, 1, 1, 100);
    let other = Arc::new(TestAttrs {
        originator: 99,
        ..(**ra.attributes()).clone()
    });
    let rb = Route::new(B, ra.nlri().clone(), other);
    run(
        RouteOrder::Ecmp,
        &[
            (Op::Adv, &ra, vec![nbr(&ra)]),
            (Op::Adv, &rb, vec![]),
            (Op::Wd, &ra, vec![]),
            (Op::Wd, &rb, vec![brr(&rb, true)]),
        ],
    );
}

#[test]
fn reference_tracker_withdraw_all_cleans_up() {
    let mut t = Tracker::new(RouteOrder::Ecmp, 7);
    let r1 = route(A, 1, 1, 1, 100);
    let r2 = route(A, 1, 2, 1, 100);
    adv(&mut t, &r1);
    adv(&mut t, &r2);
    let mut out = Vec::new();
    t.withdraw_all(&mut out);
    assert_eq!(out, vec![brr(&r1, true), brr(&r2, true)]);
    assert_eq!(t.entries().count(), 0);
}
