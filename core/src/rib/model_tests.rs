//! Model-based test: after any sequence of local advertise/withdraw, subscribe/unsubscribe,
//! RT-Constraint membership changes, peer routes and peer flaps, every peer's Adj-RIB-Out (and
//! what it was actually sent) equals exactly what a naive model says it should have, and every
//! instance holds exactly the routes its subscriptions ask for. Each announce must change the
//! peer's view and each withdraw must remove something it holds: nothing redundant, nothing
//! stale, nothing missing (peer-bug-history rows 1, 3, 6, 7, 16).

use super::testing::*;
use super::*;
use crate::speaker::io::PeerId;
use crate::time::Instant;
use crate::wire::{Family, RouteTarget};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const LOCAL_AS: u32 = 64513;
const RTS: [u32; 4] = [10, 20, 30, 40];
const FAMILIES: [Family; 2] = [Family::VPNV4, Family::EVPN];

#[derive(Debug, Clone)]
enum Op {
    Advertise {
        inst: u32,
        fam: usize,
        rd: u32,
        prefix: u32,
        label: u32,
        rts: u8,
    },
    Withdraw {
        inst: u32,
        fam: usize,
        rd: u32,
        prefix: u32,
    },
    Subscribe {
        inst: u32,
        fam: usize,
        rt: Option<usize>,
    },
    Unsubscribe {
        inst: u32,
        fam: usize,
        rt: Option<usize>,
    },
    RemoveInstance {
        inst: u32,
    },
    PeerUp {
        peer: u32,
        rtc: bool,
        evpn: bool,
    },
    PeerDown {
        peer: u32,
    },
    Membership {
        peer: u32,
        rt: Option<usize>,
        announce: bool,
    },
    RtcEndOfRib {
        peer: u32,
    },
    PeerRoute {
        peer: u32,
        fam: usize,
        rd: u32,
        prefix: u32,
        rts: u8,
        announce: bool,
    },
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let inst = 0u32..3;
    let peer = 0u32..2;
    let fam = 0usize..2;
    let rt = proptest::option::weighted(0.85, 0usize..4);
    prop_oneof![
        4 => (inst.clone(), fam.clone(), 0u32..2, 0u32..3, 16u32..18, 0u8..16).prop_map(
            |(inst, fam, rd, prefix, label, rts)| Op::Advertise { inst, fam, rd, prefix, label, rts }
        ),
        2 => (inst.clone(), fam.clone(), 0u32..2, 0u32..3)
            .prop_map(|(inst, fam, rd, prefix)| Op::Withdraw { inst, fam, rd, prefix }),
        3 => (inst.clone(), fam.clone(), rt.clone())
            .prop_map(|(inst, fam, rt)| Op::Subscribe { inst, fam, rt }),
        2 => (inst.clone(), fam.clone(), rt.clone())
            .prop_map(|(inst, fam, rt)| Op::Unsubscribe { inst, fam, rt }),
        1 => inst.clone().prop_map(|inst| Op::RemoveInstance { inst }),
        2 => (peer.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(peer, rtc, evpn)| Op::PeerUp { peer, rtc, evpn }),
        1 => peer.clone().prop_map(|peer| Op::PeerDown { peer }),
        3 => (peer.clone(), rt, any::<bool>())
            .prop_map(|(peer, rt, announce)| Op::Membership { peer, rt, announce }),
        1 => peer.clone().prop_map(|peer| Op::RtcEndOfRib { peer }),
        2 => (peer, fam, 0u32..2, 0u32..3, 0u8..16, any::<bool>()).prop_map(
            |(peer, fam, rd, prefix, rts, announce)| Op::PeerRoute { peer, fam, rd, prefix, rts, announce }
        ),
        1 => Just(Op::Tick),
    ]
}

fn rts_of(mask: u8) -> Vec<u32> {
    RTS.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn nlri(fam: usize, rd: u32, prefix: u32, label: u32) -> TestNlri {
    TestNlri::Vpn {
        family: FAMILIES[fam % 2],
        rd,
        prefix,
        label,
    }
}

fn sub_of(fam: usize, rt_idx: Option<usize>) -> Subscription {
    let family = FAMILIES[fam % 2];
    match rt_idx {
        Some(i) => Subscription::new(family, rt(RTS[i % 4])),
        None => Subscription::any_route_target(family),
    }
}

fn membership_of(rt_idx: Option<usize>) -> TestNlri {
    TestNlri::Rtc(match rt_idx {
        Some(i) => RtMembership::exact(65000, rt(RTS[i % 4])),
        None => RtMembership::Default,
    })
}

/// A route as the model sees it: NLRI and route targets (attributes are derived from both).
type Plain = (TestNlri, Vec<RouteTarget>);

#[derive(Debug, Default)]
struct ModelPeer {
    up: Option<(bool, bool, u64)>, // (rtc, evpn, up time)
    eor: bool,
    memberships: BTreeSet<TestNlri>,
    routes: BTreeMap<TestKey, Plain>,
}

#[derive(Debug, Default)]
struct Model {
    now: u64,
    local: BTreeMap<TestKey, BTreeMap<u32, Plain>>,
    subs: BTreeMap<u32, BTreeSet<Subscription>>,
    peers: BTreeMap<u32, ModelPeer>,
}

impl Model {
    fn interest(&self) -> BTreeSet<Option<RouteTarget>> {
        self.subs
            .values()
            .flatten()
            .filter(|s| FAMILIES.contains(&Family::new(s.afi.unwrap(), s.safi.unwrap())))
            .map(|s| s.route_target)
            .collect()
    }

    fn expected_out(&self, p: u32) -> BTreeSet<TestNlri> {
        let mut out = BTreeSet::new();
        let Some(peer) = self.peers.get(&p) else {
            return out;
        };
        let Some((rtc, evpn, since)) = peer.up else {
            return out;
        };
        if rtc {
            for rt in self.interest() {
                out.insert(TestNlri::membership_route(LOCAL_AS, rt));
            }
        }
        let open = !rtc || peer.eor || self.now >= since + 30;
        if !open {
            return out;
        }
        for by_inst in self.local.values() {
            let wanted = by_inst.values().find(|(n, rts)| {
                let fam_ok = n.family() == Family::VPNV4 || (evpn && n.family() == Family::EVPN);
                let rtc_ok = !rtc
                    || peer.memberships.iter().any(|m| match m.rt_membership() {
                        Some(RtMembership::Default) => true,
                        Some(m) => rts.iter().any(|rt| m.matches(*rt)),
                        None => false,
                    });
                fam_ok && rtc_ok
            });
            if let Some((n, _)) = wanted {
                out.insert(n.clone());
            }
        }
        out
    }

    fn expected_instance(&self, inst: u32) -> BTreeSet<(RouteSource, TestNlri)> {
        let mut out = BTreeSet::new();
        let Some(subs) = self.subs.get(&inst) else {
            return out;
        };
        let matches = |(n, rts): &Plain| subs.iter().any(|s| s.matches(n.family(), rts));
        for by_inst in self.local.values() {
            for (i, plain) in by_inst {
                if *i != inst && matches(plain) {
                    out.insert((RouteSource::Instance(InstanceId(*i)), plain.0.clone()));
                }
            }
        }
        for (p, peer) in &self.peers {
            for plain in peer.routes.values() {
                if matches(plain) {
                    out.insert((RouteSource::Peer(PeerId(*p)), plain.0.clone()));
                }
            }
        }
        out
    }
}

fn attrs_for(rts: &[u32], label: u32) -> Arc<TestAttrs> {
    attrs(label, rts)
}

fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    // The model waits the same for every peer, with or without graceful restart.
    let mut config = RibConfig::new(LOCAL_AS);
    config.rtc_end_of_rib_wait_without_graceful_restart = config.rtc_end_of_rib_wait;
    let mut t: RouteTable<TestNlri, TestAttrs> = RouteTable::new(config, attrs(1, &[]));
    let mut m = Model::default();
    // What each peer and instance has been told.
    let mut peer_view: BTreeMap<u32, BTreeMap<TestKey, (TestNlri, Arc<TestAttrs>)>> =
        BTreeMap::new();
    let mut inst_view: BTreeMap<u32, BTreeMap<(RouteSource, TestKey), TestNlri>> = BTreeMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        let now = Instant::from_millis(m.now * 1000);
        match op.clone() {
            Op::Advertise {
                inst,
                fam,
                rd,
                prefix,
                label,
                rts,
            } => {
                let n = nlri(fam, rd, prefix, label);
                let r = rts_of(rts);
                t.advertise(InstanceId(inst), n.clone(), attrs_for(&r, label))
                    .unwrap();
                let plain = (n.clone(), r.iter().map(|x| rt(*x)).collect());
                m.local.entry(n.key()).or_default().insert(inst, plain);
            }
            Op::Withdraw {
                inst,
                fam,
                rd,
                prefix,
            } => {
                let n = nlri(fam, rd, prefix, 0);
                t.withdraw(InstanceId(inst), &n);
                if let Some(e) = m.local.get_mut(&n.key()) {
                    e.remove(&inst);
                    if e.is_empty() {
                        m.local.remove(&n.key());
                    }
                }
            }
            Op::Subscribe { inst, fam, rt } => {
                t.subscribe(InstanceId(inst), sub_of(fam, rt));
                m.subs.entry(inst).or_default().insert(sub_of(fam, rt));
            }
            Op::Unsubscribe { inst, fam, rt } => {
                t.unsubscribe(InstanceId(inst), sub_of(fam, rt));
                if let Some(s) = m.subs.get_mut(&inst) {
                    s.remove(&sub_of(fam, rt));
                }
            }
            Op::RemoveInstance { inst } => {
                t.remove_instance(InstanceId(inst));
                m.subs.remove(&inst);
                for e in m.local.values_mut() {
                    e.remove(&inst);
                }
                m.local.retain(|_, e| !e.is_empty());
                inst_view.remove(&inst);
            }
            Op::PeerUp { peer, rtc, evpn } => {
                let mut families = BTreeSet::from([Family::VPNV4]);
                if rtc {
                    families.insert(Family::RTC);
                }
                if evpn {
                    families.insert(Family::EVPN);
                }
                t.peer_up(
                    now,
                    PeerId(peer),
                    PeerSession {
                        families,
                        graceful_restart: None,
                    },
                );
                let mp = m.peers.entry(peer).or_default();
                *mp = ModelPeer {
                    up: Some((rtc, evpn, m.now)),
                    ..ModelPeer::default()
                };
                peer_view.remove(&peer);
            }
            Op::PeerDown { peer } => {
                t.peer_down(now, PeerId(peer));
                m.peers.remove(&peer);
                peer_view.remove(&peer);
            }
            Op::Membership { peer, rt, announce } => {
                let n = membership_of(rt);
                let res = if announce {
                    t.peer_announce(PeerId(peer), n.clone(), attrs(9, &[]))
                } else {
                    t.peer_withdraw(PeerId(peer), &n)
                };
                let mp = m.peers.get_mut(&peer);
                match mp {
                    Some(mp) if mp.up.is_some_and(|u| u.0) => {
                        prop_assert!(res.is_ok());
                        if announce {
                            mp.memberships.insert(n);
                        } else {
                            mp.memberships.remove(&n);
                        }
                    }
                    _ => prop_assert!(res.is_err()),
                }
            }
            Op::RtcEndOfRib { peer } => {
                let res = t.peer_end_of_rib(PeerId(peer), Family::RTC);
                match m.peers.get_mut(&peer) {
                    Some(mp) if mp.up.is_some_and(|u| u.0) => {
                        prop_assert!(res.is_ok());
                        mp.eor = true;
                    }
                    _ => prop_assert!(res.is_err()),
                }
            }
            Op::PeerRoute {
                peer,
                fam,
                rd,
                prefix,
                rts,
                announce,
            } => {
                let n = nlri(fam, rd + 10, prefix, 100);
                let r = rts_of(rts);
                let res = if announce {
                    t.peer_announce(PeerId(peer), n.clone(), attrs_for(&r, 5))
                } else {
                    t.peer_withdraw(PeerId(peer), &n)
                };
                let up = m.peers.get(&peer).and_then(|p| p.up);
                let negotiated = up.is_some_and(|(_, evpn, _)| fam % 2 == 0 || evpn);
                prop_assert_eq!(res.is_ok(), negotiated);
                if negotiated {
                    if let Some(mp) = m.peers.get_mut(&peer) {
                        if announce {
                            mp.routes
                                .insert(n.key(), (n, r.iter().map(|x| rt(*x)).collect()));
                        } else {
                            mp.routes.remove(&n.key());
                        }
                    }
                }
            }
            Op::Tick => {
                m.now += 20;
                t.handle_timeout(Instant::from_millis(m.now * 1000));
            }
        }
        // Apply what the peers were sent.
        while let Some((peer, updates)) = t.poll_peer_updates() {
            let view = peer_view.entry(peer.0).or_default();
            for u in updates {
                match u {
                    PeerUpdate::Announce(r) => {
                        let new = (r.nlri().clone(), Arc::clone(r.attributes()));
                        let old = view.insert(r.key(), new.clone());
                        prop_assert_ne!(old, Some(new), "step {}: redundant announce", step);
                    }
                    PeerUpdate::Withdraw(r) => {
                        prop_assert!(
                            view.remove(&r.key()).is_some(),
                            "step {}: withdraw of nothing",
                            step
                        );
                    }
                    _ => {}
                }
            }
        }
        // Apply what the instances were told.
        while let Some(e) = t.poll_instance_event() {
            let view = inst_view.entry(e.instance.0).or_default();
            match e.event {
                RouteEvent::Advertised(r) => {
                    view.insert((r.source(), r.key()), r.nlri().clone());
                }
                RouteEvent::Withdrawn(r) => {
                    prop_assert!(
                        view.remove(&(r.source(), r.key())).is_some(),
                        "step {}: instance withdraw of nothing",
                        step
                    );
                }
            }
        }
        for p in 0..2u32 {
            let sent: BTreeSet<TestNlri> = peer_view
                .get(&p)
                .map(|v| v.values().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default();
            let adj_out: BTreeSet<TestNlri> =
                t.adj_rib_out(PeerId(p)).map(|r| r.nlri().clone()).collect();
            prop_assert_eq!(
                &sent,
                &adj_out,
                "step {}: peer {} view vs Adj-RIB-Out",
                step,
                p
            );
            prop_assert_eq!(
                &adj_out,
                &m.expected_out(p),
                "step {} {:?}: peer {}",
                step,
                &op,
                p
            );
        }
        for i in 0..3u32 {
            let got: BTreeSet<(RouteSource, TestNlri)> = inst_view
                .get(&i)
                .map(|v| v.iter().map(|((s, _), n)| (*s, n.clone())).collect())
                .unwrap_or_default();
            prop_assert_eq!(
                &got,
                &m.expected_instance(i),
                "step {} {:?}: instance {}",
                step,
                &op,
                i
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn adj_rib_out_and_instances_match_naive_model(ops in proptest::collection::vec(op(), 1..60)) {
        check(ops)?;
    }
}
