//! The route table against BaGPipe-BGP's route table manager tests (reference §8, with our own
//! names) and the peer-bug-history lessons.

use super::testing::*;
use super::*;
use crate::speaker::io::PeerId;
use crate::time::Instant;
use crate::wire::Family;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type Table = RouteTable<TestNlri, TestAttrs>;

const P1: PeerId = PeerId(1);
const P2: PeerId = PeerId(2);
const I1: InstanceId = InstanceId(1);
const I2: InstanceId = InstanceId(2);
const I3: InstanceId = InstanceId(3);
const LOCAL_AS: u32 = 64513;

fn table() -> Table {
    RouteTable::new(RibConfig::new(LOCAL_AS), attrs(0xb16_2c2c, &[]))
}

fn at(secs: u64) -> Instant {
    Instant::from_millis(secs * 1000)
}

fn session(families: &[Family]) -> PeerSession {
    PeerSession {
        families: families.iter().copied().collect(),
        graceful_restart: None,
    }
}

fn gr_session(families: &[Family], restart_secs: u64) -> PeerSession {
    PeerSession {
        families: families.iter().copied().collect(),
        graceful_restart: Some(GracefulRestart {
            restart_time: Duration::from_secs(restart_secs),
            families: families.iter().map(|f| (*f, true)).collect(),
        }),
    }
}

fn sub(n: u32) -> Subscription {
    Subscription::new(Family::VPNV4, rt(n))
}

/// Instance events as (instance, "+"/"-", nlri).
fn events(t: &mut Table) -> Vec<(InstanceId, &'static str, TestNlri)> {
    let mut out = Vec::new();
    while let Some(e) = t.poll_instance_event() {
        match e.event {
            RouteEvent::Advertised(r) => out.push((e.instance, "+", r.nlri().clone())),
            RouteEvent::Withdrawn(r) => out.push((e.instance, "-", r.nlri().clone())),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum U {
    A(TestNlri),
    W(TestNlri),
    Eor(Family),
    Borr(Family),
    Eorr(Family),
}

/// Updates per peer, simplified.
fn updates(t: &mut Table) -> BTreeMap<PeerId, Vec<U>> {
    let mut out: BTreeMap<PeerId, Vec<U>> = BTreeMap::new();
    while let Some((peer, ups)) = t.poll_peer_updates() {
        let list = out.entry(peer).or_default();
        for u in ups {
            list.push(match u {
                PeerUpdate::Announce(r) => U::A(r.nlri().clone()),
                PeerUpdate::Withdraw(r) => U::W(r.nlri().clone()),
                PeerUpdate::EndOfRib(f) => U::Eor(f),
                PeerUpdate::BeginRouteRefresh(f) => U::Borr(f),
                PeerUpdate::EndRouteRefresh(f) => U::Eorr(f),
            });
        }
    }
    out
}

fn membership(n: u32) -> TestNlri {
    TestNlri::Rtc(RtMembership::exact(LOCAL_AS, rt(n)))
}

fn peer_membership(n: u32) -> TestNlri {
    TestNlri::Rtc(RtMembership::exact(65000, rt(n)))
}

fn out_set(t: &Table, p: PeerId) -> BTreeSet<TestNlri> {
    t.adj_rib_out(p).map(|r| r.nlri().clone()).collect()
}

// ----- subscriptions (reference §8 a*, b*) ----------------------------------------------------

#[test]
fn rfc4684_first_local_interest_originates_membership_and_last_withdraws_it() {
    let mut t = table();
    t.peer_up(
        at(0),
        P1,
        session(&[Family::RTC, Family::VPNV4, Family::EVPN]),
    );
    updates(&mut t);
    // Rows: (action, expected updates to the RTC peer).
    t.subscribe(I1, sub(RT1));
    assert_eq!(updates(&mut t)[&P1], vec![U::A(membership(RT1))]);
    t.subscribe(I2, sub(RT1));
    assert!(
        updates(&mut t).is_empty(),
        "second local subscriber: no new membership"
    );
    t.subscribe(I1, sub(RT1));
    assert!(
        updates(&mut t).is_empty(),
        "same subscription twice counts once"
    );
    t.subscribe(I3, Subscription::new(Family::EVPN, rt(RT1)));
    assert!(updates(&mut t).is_empty(), "E-VPN interest in the same RT");
    t.unsubscribe(I1, sub(RT1));
    t.unsubscribe(I1, sub(RT1));
    t.unsubscribe(I2, sub(RT1));
    assert!(
        updates(&mut t).is_empty(),
        "the E-VPN instance still wants RT1 (reference §9 item 5)"
    );
    t.unsubscribe(I3, Subscription::new(Family::EVPN, rt(RT1)));
    assert_eq!(updates(&mut t)[&P1], vec![U::W(membership(RT1))]);
    assert_eq!(t.membership_interest().count(), 0);
}

#[test]
fn reference_rtm_flowspec_subscription_originates_no_membership() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::FLOWSPEC_VPNV4]));
    updates(&mut t);
    t.subscribe(I1, Subscription::new(Family::FLOWSPEC_VPNV4, rt(RT1)));
    assert!(updates(&mut t).is_empty());
}

#[test]
fn reference_rtm_subscribe_replays_peer_routes_once_never_to_peers() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_up(at(0), P2, session(&[Family::VPNV4]));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1, RT2]))
        .unwrap();
    t.peer_announce(P1, vpn(1, 2, 100), attrs(1, &[RT2]))
        .unwrap();
    assert!(events(&mut t).is_empty());
    // (instance, subscription, events expected)
    let rows: [(InstanceId, u32, Vec<TestNlri>); 4] = [
        (I1, RT1, vec![vpn(1, 1, 100)]),
        (I1, RT2, vec![vpn(1, 2, 100)]), // vpn(1,1) already received through RT1
        (I2, RT1, vec![vpn(1, 1, 100)]),
        (I3, RT3, vec![]),
    ];
    for (instance, n, expected) in rows {
        t.subscribe(instance, sub(n));
        let got: Vec<TestNlri> = events(&mut t)
            .into_iter()
            .map(|(i, op, nlri)| {
                assert_eq!((i, op), (instance, "+"));
                nlri
            })
            .collect();
        assert_eq!(got, expected, "{instance:?} subscribing to {n}");
    }
    t.subscribe(I1, sub(RT2));
    assert!(events(&mut t).is_empty(), "re-subscribing sends nothing");
    assert_eq!(t.adj_rib_out_len(P2), 0, "never peer to peer");
    assert!(updates(&mut t)
        .values()
        .flatten()
        .all(|u| matches!(u, U::Eor(_))));
}

#[test]
fn reference_rtm_local_route_reaches_other_subscribed_instances_not_its_source() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.subscribe(I2, sub(RT1));
    t.advertise(I2, vpn(2, 1, 16), attrs(2, &[RT1])).unwrap();
    assert_eq!(events(&mut t), vec![(I1, "+", vpn(2, 1, 16))]);
    assert_eq!(
        t.local_routes().count(),
        2,
        "the route and our RT1 membership route"
    );
    assert!(t.withdraw(I2, &vpn(2, 1, 16)));
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(2, 1, 16))]);
    assert_eq!(t.route_counts().local, 0);
}

#[test]
fn reference_rtm_unknown_unsubscription_is_harmless() {
    let mut t = table();
    t.unsubscribe(I1, sub(RT1));
    t.subscribe(I1, sub(RT1));
    t.unsubscribe(I1, sub(RT2));
    assert!(events(&mut t).is_empty());
    assert_eq!(
        t.subscriptions(I1).copied().collect::<Vec<_>>(),
        vec![sub(RT1)]
    );
}

#[test]
fn reference_rtm_unsubscribe_withdraws_only_routes_no_longer_covered() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1, RT2]))
        .unwrap();
    t.peer_announce(P1, vpn(1, 2, 100), attrs(1, &[RT1]))
        .unwrap();
    t.subscribe(I1, sub(RT1));
    t.subscribe(I1, sub(RT2));
    events(&mut t);
    t.unsubscribe(I1, sub(RT1));
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 2, 100))]);
    t.unsubscribe(I1, sub(RT2));
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
}

// ----- route events (reference §8 c*, d1, f1) -------------------------------------------------

#[test]
fn reference_rtm_peer_route_goes_to_matching_instances_only() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_up(at(0), P2, session(&[Family::VPNV4]));
    updates(&mut t);
    t.subscribe(I1, sub(RT1));
    t.subscribe(I2, sub(RT2));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    assert_eq!(events(&mut t), vec![(I1, "+", vpn(1, 1, 100))]);
    assert!(
        updates(&mut t).is_empty(),
        "not to the source, not to the other peer"
    );
}

#[test]
fn reference_rtm_withdraw_uses_stored_route_targets() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.subscribe(I1, sub(RT1));
    t.subscribe(I2, sub(RT2));
    t.subscribe(I3, sub(RT3));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1, RT2]))
        .unwrap();
    events(&mut t);
    // A BGP withdraw carries no attributes; the label may differ too.
    t.peer_withdraw(P1, &vpn(1, 1, 0)).unwrap();
    assert_eq!(
        events(&mut t),
        vec![(I1, "-", vpn(1, 1, 100)), (I2, "-", vpn(1, 1, 100))]
    );
}

#[test]
fn reference_rtm_readvertise_with_fewer_route_targets_replaces_or_withdraws() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.subscribe(I1, sub(RT1));
    t.subscribe(I2, sub(RT2));
    t.subscribe(I3, sub(RT3));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1, RT2, RT3]))
        .unwrap();
    events(&mut t);
    t.peer_announce(P1, vpn(1, 1, 100), attrs(2, &[RT1, RT2]))
        .unwrap();
    assert_eq!(
        events(&mut t),
        vec![
            (I1, "+", vpn(1, 1, 100)),
            (I2, "+", vpn(1, 1, 100)),
            (I3, "-", vpn(1, 1, 100))
        ]
    );
}

#[test]
fn reference_s9_item4_label_or_next_hop_change_is_a_change() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_up(at(0), P2, session(&[Family::VPNV4]));
    t.subscribe(I1, sub(RT1));
    updates(&mut t);
    // Rows: (peer route as re-advertised, instance gets an update).
    let rows = [
        (vpn(1, 1, 100), attrs(1, &[RT1]), true),
        (vpn(1, 1, 100), attrs(1, &[RT1]), false), // identical: ignored (reference §8 c6)
        (vpn(1, 1, 200), attrs(1, &[RT1]), true),  // new label
        (vpn(1, 1, 200), attrs(9, &[RT1]), true),  // new next hop
    ];
    for (nlri, a, expect) in rows {
        t.peer_announce(P1, nlri.clone(), a).unwrap();
        let got = events(&mut t);
        assert_eq!(!got.is_empty(), expect, "{nlri:?}");
        if expect {
            assert_eq!(got, vec![(I1, "+", nlri)]);
        }
    }
    // Same for a local route towards a peer.
    t.advertise(I2, vpn(2, 1, 16), attrs(2, &[RT1])).unwrap();
    t.advertise(I2, vpn(2, 1, 16), attrs(2, &[RT1])).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(2, 1, 16))]);
    t.advertise(I2, vpn(2, 1, 17), attrs(2, &[RT1])).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(2, 1, 17))]);
    assert_eq!(out_set(&t, P1), BTreeSet::from([vpn(2, 1, 17)]));
}

#[test]
fn reference_rtm_withdraw_of_unknown_route_is_ignored() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.subscribe(I1, sub(RT1));
    t.peer_withdraw(P1, &vpn(1, 1, 100)).unwrap();
    assert!(!t.withdraw(I2, &vpn(1, 1, 100)));
    assert!(events(&mut t).is_empty());
}

#[test]
fn reference_rtm_peer_cleanup_withdraws_its_routes_instance_cleanup_withdraws_membership() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::VPNV4]));
    t.peer_up(at(0), P2, session(&[Family::RTC, Family::VPNV4]));
    t.subscribe(I1, sub(RT1));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    updates(&mut t);
    t.peer_down(at(1), P1);
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
    assert!(
        updates(&mut t).is_empty(),
        "a peer leaving changes no membership"
    );
    assert_eq!(t.adj_rib_in(P1).count(), 0);
    t.advertise(I1, vpn(9, 9, 16), attrs(3, &[RT1])).unwrap();
    t.remove_instance(I1);
    assert_eq!(updates(&mut t)[&P2], vec![U::W(membership(RT1))]);
    assert_eq!(t.local_routes().count(), 0);
    assert_eq!(t.all_subscriptions().len(), 0);
    assert!(events(&mut t).is_empty());
}

#[test]
fn reference_rtm_route_without_route_targets_reaches_wildcard_subscriber() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4, Family::EVPN]));
    t.subscribe(I1, Subscription::any_route_target(Family::VPNV4));
    t.subscribe(I2, sub(RT1));
    let any = Subscription {
        afi: None,
        safi: None,
        route_target: Some(rt(RT1)),
    };
    t.subscribe(I3, any);
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[])).unwrap();
    t.peer_announce(P1, evpn(1, 2), attrs(1, &[RT1])).unwrap();
    assert_eq!(
        events(&mut t),
        vec![(I1, "+", vpn(1, 1, 100)), (I3, "+", evpn(1, 2))]
    );
}

#[test]
fn peer_bug_row4_membership_routes_never_reach_instances() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::VPNV4]));
    let everything = Subscription {
        afi: None,
        safi: None,
        route_target: None,
    };
    t.subscribe(I1, everything);
    t.peer_announce(P1, peer_membership(RT1), attrs(1, &[]))
        .unwrap();
    t.peer_announce(P1, TestNlri::Rtc(RtMembership::Default), attrs(1, &[RT1]))
        .unwrap();
    assert!(events(&mut t).is_empty());
    assert_eq!(
        t.advertise(I1, membership(RT1), attrs(1, &[])),
        Err(RibError::MembershipRouteFromInstance(I1))
    );
}

#[test]
fn rfc4760_route_of_unnegotiated_family_is_refused() {
    let mut t = table();
    assert_eq!(
        t.peer_announce(P1, vpn(1, 1, 1), attrs(1, &[])),
        Err(RibError::NotEstablished(P1))
    );
    t.peer_up(at(0), P1, session(&[Family::EVPN]));
    assert_eq!(
        t.peer_announce(P1, vpn(1, 1, 1), attrs(1, &[])),
        Err(RibError::FamilyNotNegotiated {
            peer: P1,
            family: Family::VPNV4
        })
    );
}

// ----- Adj-RIB-Out and RT-Constraint (peer-bug-history rows 1, 3, 6, 7, 16) -------------------

#[test]
fn rfc4684_s6_peer_without_rtc_gets_every_route_then_end_of_rib() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, evpn(1, 2), attrs(1, &[RT2])).unwrap();
    t.peer_up(at(0), P1, session(&[Family::VPNV4, Family::EVPN]));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![
            U::A(vpn(1, 1, 16)),
            U::A(evpn(1, 2)),
            U::Eor(Family::VPNV4),
            U::Eor(Family::EVPN)
        ]
    );
}

#[test]
fn peer_bug_row7_vpn_routes_wait_for_the_peers_rtc_end_of_rib() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, vpn(1, 2, 16), attrs(1, &[RT2])).unwrap();
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::VPNV4]));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(membership(RT1)), U::Eor(Family::RTC)],
        "memberships first, VPN routes wait"
    );
    assert!(t.is_waiting_for_membership(P1));
    t.peer_announce(P1, peer_membership(RT1), attrs(7, &[]))
        .unwrap();
    t.advertise(I1, vpn(1, 3, 16), attrs(1, &[RT1])).unwrap();
    assert!(
        updates(&mut t).is_empty(),
        "still waiting for the RTC End-of-RIB"
    );
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![
            U::A(vpn(1, 1, 16)),
            U::A(vpn(1, 3, 16)),
            U::Eor(Family::VPNV4)
        ],
        "then the initial table, then End-of-RIB, then increments"
    );
    t.advertise(I1, vpn(1, 4, 16), attrs(1, &[RT1])).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(1, 4, 16))]);
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    assert!(
        updates(&mut t).is_empty(),
        "a second RTC End-of-RIB sends nothing"
    );
}

#[test]
fn peer_bug_row7_rtc_wait_ends_at_its_deadline() {
    // A peer with graceful restart will send End-of-RIB: wait for it up to 30 s.
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.peer_up(at(10), P1, gr_session(&[Family::RTC, Family::VPNV4], 120));
    t.peer_announce(P1, peer_membership(RT1), attrs(7, &[]))
        .unwrap();
    updates(&mut t);
    assert_eq!(t.poll_timeout(), Some(at(40)));
    t.handle_timeout(at(39));
    assert!(updates(&mut t).is_empty());
    t.handle_timeout(at(40));
    let sent = updates(&mut t);
    assert_eq!(
        sent[&P1][..2],
        vec![U::A(vpn(1, 1, 16)), U::Eor(Family::VPNV4)]
    );
}

#[test]
fn rtc_wait_is_short_for_a_peer_without_graceful_restart() {
    // GoBGP sends no End-of-RIB without graceful restart: only a short wait for its initial
    // RT-Constraint routes.
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.peer_up(at(10), P1, session(&[Family::RTC, Family::VPNV4]));
    t.peer_announce(P1, peer_membership(RT1), attrs(7, &[]))
        .unwrap();
    updates(&mut t);
    assert_eq!(t.poll_timeout(), Some(at(12)));
    t.handle_timeout(at(11));
    assert!(updates(&mut t).is_empty());
    t.handle_timeout(at(12));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 1, 16)), U::Eor(Family::VPNV4)]
    );
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn peer_bug_row6_rt_unsubscribed_by_peer_withdraws_what_was_sent() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, vpn(1, 2, 16), attrs(1, &[RT1, RT2]))
        .unwrap();
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::VPNV4]));
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    updates(&mut t);
    // Rows: (membership change, expected updates).
    t.peer_announce(P1, peer_membership(RT1), attrs(7, &[]))
        .unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 1, 16)), U::A(vpn(1, 2, 16))]
    );
    t.peer_announce(P1, peer_membership(RT2), attrs(7, &[]))
        .unwrap();
    assert!(updates(&mut t).is_empty(), "vpn(1,2) was already sent");
    t.peer_withdraw(P1, &peer_membership(RT1)).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::W(vpn(1, 1, 16))]);
    t.peer_withdraw(P1, &peer_membership(RT2)).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::W(vpn(1, 2, 16))]);
    assert_eq!(t.adj_rib_out_len(P1), 0, "nothing stale left");
}

#[test]
fn rfc4684_s4_default_and_partial_memberships_select_routes() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, vpn(1, 2, 16), attrs(1, &[])).unwrap();
    t.advertise(I1, vpn(1, 3, 16), attrs(1, &[])).unwrap();
    t.withdraw(I1, &vpn(1, 3, 16));
    t.peer_up(at(0), P1, session(&[Family::RTC, Family::VPNV4]));
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    updates(&mut t);
    // 32 + 32 bits: every route target of AS 64512.
    let partial = TestNlri::Rtc(
        RtMembership::from_prefix(64, 65000, rt(RT2).to_extended_community_bytes()).unwrap(),
    );
    t.peer_announce(P1, partial.clone(), attrs(7, &[])).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(1, 1, 16))]);
    let default = TestNlri::Rtc(RtMembership::Default);
    t.peer_announce(P1, default.clone(), attrs(7, &[])).unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 2, 16))],
        "no-RT route"
    );
    t.peer_withdraw(P1, &partial).unwrap();
    assert!(
        updates(&mut t).is_empty(),
        "the default membership still asks for everything"
    );
    t.peer_withdraw(P1, &default).unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::W(vpn(1, 1, 16)), U::W(vpn(1, 2, 16))]
    );
}

#[test]
fn peer_bug_row1_same_interest_twice_sends_nothing() {
    let mut t = table();
    t.peer_up(
        at(0),
        P1,
        session(&[Family::RTC, Family::VPNV4, Family::EVPN]),
    );
    updates(&mut t);
    for _ in 0..3 {
        t.subscribe(I1, sub(RT1));
        t.subscribe(I2, Subscription::new(Family::EVPN, rt(RT1)));
    }
    assert_eq!(updates(&mut t)[&P1], vec![U::A(membership(RT1))]);
}

#[test]
fn rfc4271_session_reset_resends_the_whole_table() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    updates(&mut t);
    t.advertise(I1, vpn(1, 2, 16), attrs(1, &[RT1])).unwrap();
    t.peer_down(at(1), P1);
    assert!(
        updates(&mut t).is_empty(),
        "pending output of a lost session is dropped"
    );
    assert_eq!(t.adj_rib_out_len(P1), 0);
    t.withdraw(I1, &vpn(1, 1, 16));
    assert!(
        updates(&mut t).is_empty(),
        "nothing for a peer that is down"
    );
    t.peer_up(at(2), P1, session(&[Family::VPNV4]));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 2, 16)), U::Eor(Family::VPNV4)]
    );
}

#[test]
fn rfc4271_two_local_sources_of_one_key_send_one_route() {
    let mut t = table();
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    updates(&mut t);
    t.advertise(I2, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, vpn(1, 1, 17), attrs(1, &[RT1])).unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 1, 16)), U::A(vpn(1, 1, 17))],
        "the lowest source wins"
    );
    t.withdraw(I1, &vpn(1, 1, 17));
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(1, 1, 16))]);
    t.withdraw(I2, &vpn(1, 1, 16));
    assert_eq!(updates(&mut t)[&P1], vec![U::W(vpn(1, 1, 16))]);
}

// ----- graceful restart (RFC 4724 §4.2, peer-bug-history row 15) -----------------------------

#[test]
fn rfc4724_s4_2_stale_routes_kept_then_flushed_at_end_of_rib() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.peer_up(at(0), P1, gr_session(&[Family::VPNV4], 120));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    t.peer_announce(P1, vpn(1, 2, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    t.peer_down(at(10), P1);
    assert!(events(&mut t).is_empty(), "kept while the peer restarts");
    assert!(t.adj_rib_in(P1).all(|(_, stale)| stale));
    assert_eq!(t.poll_timeout(), Some(at(130)));
    t.peer_up(at(20), P1, gr_session(&[Family::VPNV4], 120));
    assert_eq!(
        t.poll_timeout(),
        Some(at(20 + 360)),
        "bounded by the stale-routes time"
    );
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    assert!(
        events(&mut t).is_empty(),
        "re-advertised unchanged: only the stale mark goes"
    );
    t.peer_end_of_rib(P1, Family::VPNV4).unwrap();
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 2, 100))]);
    assert_eq!(t.adj_rib_in(P1).count(), 1);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn rfc4724_s4_2_stale_routes_flushed_when_restart_time_expires() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.peer_up(at(0), P1, gr_session(&[Family::VPNV4], 120));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    t.peer_down(at(10), P1);
    t.handle_timeout(at(129));
    assert!(events(&mut t).is_empty());
    t.handle_timeout(at(130));
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn rfc4724_s4_2_without_graceful_restart_nothing_is_kept() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    t.peer_down(at(10), P1);
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn rfc4724_s4_2_family_not_preserved_on_reconnect_is_flushed() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.subscribe(I1, Subscription::new(Family::EVPN, rt(RT1)));
    let families = [Family::VPNV4, Family::EVPN];
    t.peer_up(at(0), P1, gr_session(&families, 120));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    t.peer_announce(P1, evpn(1, 2), attrs(1, &[RT1])).unwrap();
    events(&mut t);
    t.peer_down(at(10), P1);
    let mut back = gr_session(&families, 120);
    if let Some(gr) = back.graceful_restart.as_mut() {
        gr.families.insert(Family::EVPN, false); // forwarding state not preserved
    }
    t.peer_up(at(20), P1, back);
    assert_eq!(events(&mut t), vec![(I1, "-", evpn(1, 2))]);
    t.peer_down(at(30), P1);
    t.peer_up(at(40), P1, session(&families));
    assert_eq!(
        events(&mut t),
        vec![(I1, "-", vpn(1, 1, 100))],
        "GR gone: flushed"
    );
}

#[test]
fn rfc4724_s4_2_only_families_in_the_capability_are_kept() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.subscribe(I1, Subscription::new(Family::EVPN, rt(RT1)));
    let mut s = gr_session(&[Family::VPNV4], 120);
    s.families.insert(Family::EVPN);
    t.peer_up(at(0), P1, s);
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    t.peer_announce(P1, evpn(1, 2), attrs(1, &[RT1])).unwrap();
    events(&mut t);
    t.peer_down(at(10), P1);
    assert_eq!(events(&mut t), vec![(I1, "-", evpn(1, 2))]);
}

#[test]
fn rfc8538_s3_a_session_ended_by_a_notification_without_graceful_restart_drops_everything() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.peer_up(at(0), P1, gr_session(&[Family::VPNV4], 120));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    // A Cease/Hard Reset, or any NOTIFICATION without the N bit on both sides.
    t.peer_reset(at(10), P1);
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
    assert_eq!(t.adj_rib_in(P1).count(), 0);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn rfc4724_s4_1_our_end_of_rib_waits_for_the_deferral_after_a_restart() {
    let mut t = table();
    t.defer_end_of_rib(at(60));
    t.peer_up(at(0), P1, session(&[Family::VPNV4, Family::EVPN]));
    assert_eq!(t.poll_timeout(), Some(at(60)));
    assert!(
        updates(&mut t).get(&P1).is_none_or(|u| u.is_empty()),
        "no End-of-RIB yet"
    );
    // A port attached again meanwhile: its route goes at once.
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(vpn(1, 1, 16))]);
    t.handle_timeout(at(59));
    assert!(updates(&mut t).get(&P1).is_none_or(|u| u.is_empty()));
    t.handle_timeout(at(60));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::Eor(Family::VPNV4), U::Eor(Family::EVPN)]
    );
    assert_eq!(t.poll_timeout(), None);
    // Later sessions are not deferred.
    t.peer_down(at(70), P1);
    t.peer_up(at(80), P1, session(&[Family::VPNV4]));
    assert_eq!(
        updates(&mut t)[&P1],
        vec![U::A(vpn(1, 1, 16)), U::Eor(Family::VPNV4)]
    );
}

// ----- route refresh (RFC 2918, RFC 7313) ----------------------------------------------------

#[test]
fn rfc7313_s4_route_refresh_resends_adj_rib_out_between_borr_and_eorr() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    t.advertise(I1, evpn(1, 2), attrs(1, &[RT1])).unwrap();
    t.peer_up(at(0), P1, session(&[Family::VPNV4, Family::EVPN]));
    updates(&mut t);
    t.peer_route_refresh_request(P1, Family::VPNV4, true)
        .unwrap();
    assert_eq!(
        updates(&mut t)[&P1],
        vec![
            U::Borr(Family::VPNV4),
            U::A(vpn(1, 1, 16)),
            U::Eorr(Family::VPNV4)
        ]
    );
    t.peer_route_refresh_request(P1, Family::EVPN, false)
        .unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::A(evpn(1, 2))]);
}

#[test]
fn rfc7313_s4_routes_not_readvertised_between_borr_and_eorr_are_removed() {
    let mut t = table();
    t.subscribe(I1, sub(RT1));
    t.peer_up(at(0), P1, session(&[Family::VPNV4]));
    t.peer_announce(P1, vpn(1, 1, 100), attrs(1, &[RT1]))
        .unwrap();
    t.peer_announce(P1, vpn(1, 2, 100), attrs(1, &[RT1]))
        .unwrap();
    events(&mut t);
    t.peer_begin_route_refresh(P1, Family::VPNV4).unwrap();
    t.peer_announce(P1, vpn(1, 2, 100), attrs(1, &[RT1]))
        .unwrap();
    assert!(events(&mut t).is_empty());
    t.peer_end_route_refresh(P1, Family::VPNV4).unwrap();
    assert_eq!(events(&mut t), vec![(I1, "-", vpn(1, 1, 100))]);
}

#[test]
fn route_table_is_deterministic() {
    fn run() -> String {
        let mut t = table();
        t.peer_up(at(0), P2, session(&[Family::RTC, Family::VPNV4]));
        t.peer_up(at(0), P1, session(&[Family::VPNV4]));
        for i in 0..20u32 {
            t.subscribe(InstanceId(i % 3), sub(RT1 + i % 4));
            t.advertise(
                InstanceId(i % 5),
                vpn(i, i * 7 % 11, 16),
                attrs(i, &[RT1 + i % 3]),
            )
            .unwrap();
        }
        t.peer_end_of_rib(P2, Family::RTC).unwrap();
        format!("{:?}{:?}", events(&mut t), updates(&mut t))
    }
    assert_eq!(run(), run());
}

#[test]
fn rfc4724_with_rfc4684_stale_memberships_go_at_the_rtc_end_of_rib() {
    let mut t = table();
    t.advertise(I1, vpn(1, 1, 16), attrs(1, &[RT1])).unwrap();
    let families = [Family::RTC, Family::VPNV4];
    t.peer_up(at(0), P1, gr_session(&families, 120));
    t.peer_announce(P1, peer_membership(RT1), attrs(7, &[]))
        .unwrap();
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    assert_eq!(out_set(&t, P1), BTreeSet::from([vpn(1, 1, 16)]));
    t.peer_down(at(10), P1);
    t.peer_up(at(20), P1, gr_session(&families, 120));
    assert_eq!(
        t.poll_timeout(),
        Some(at(50)),
        "the RTC wait comes before the stale bound"
    );
    updates(&mut t);
    // The peer no longer asks for RT1: its stale membership must not select anything.
    t.peer_end_of_rib(P1, Family::RTC).unwrap();
    assert_eq!(updates(&mut t)[&P1], vec![U::Eor(Family::VPNV4)]);
    assert_eq!(t.adj_rib_out_len(P1), 0);
    assert_eq!(t.adj_rib_in(P1).count(), 0);
}

#[test]
fn peer_update_serializes_with_readable_names() {
    let route = Route::new(RouteSource::Instance(I1), vpn(1, 2, 16), attrs(3, &[RT1]));
    let json = serde_json::to_value(PeerUpdate::Announce(route)).unwrap();
    assert_eq!(json["kind"], "announce");
    assert_eq!(json["value"]["source"]["instance"], 1);
    assert_eq!(json["value"]["route_targets"][0]["asn"], 64512);
    let eor = serde_json::to_value(PeerUpdate::<TestNlri, TestAttrs>::EndOfRib(Family::EVPN));
    assert_eq!(eor.unwrap()["kind"], "end_of_rib");
}
