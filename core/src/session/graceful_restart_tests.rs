//! Graceful restart as the restarting speaker (RFC 4724 §3, §4.1) and the N bit (RFC 8538): what
//! our OPEN announces, when our End-of-RIB goes, and which session losses keep the peer's routes.

use std::time::Duration;

use super::tests::{peer_open_with, speaker_config, vpn_caps, Harness};
use crate::config::SpeakerConfig;
use crate::speaker::{ConnectionId, Direction, NetInput};
use crate::wire::capability::{Capability, GracefulRestart, GracefulRestartFamily};
use crate::wire::error::cease_subcode;
use crate::wire::message::{Message, Notification};
use crate::wire::{DecodeContext, ErrorCode, Family};
use std::net::Ipv4Addr;

const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const AS: u32 = 64512;

fn gr_config() -> SpeakerConfig {
    let mut config = speaker_config(false, 90);
    config.peers[0].graceful_restart = Some(Duration::from_secs(120));
    config
}

/// The graceful-restart capability of every OPEN we sent, in order.
fn our_gr(h: &Harness) -> Vec<GracefulRestart> {
    h.sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Open(open) => open.capabilities.iter().find_map(|c| match c {
                Capability::GracefulRestart(gr) => Some(gr.clone()),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// The peer's OPEN, announcing graceful restart with the N bit when `notification`.
fn peer_gr_open(notification: bool) -> Vec<u8> {
    let mut caps = vpn_caps(AS);
    caps.push(Capability::GracefulRestart(GracefulRestart {
        restart_state: false,
        notification,
        restart_time: 120,
        families: vec![GracefulRestartFamily {
            family: Family::VPNV4,
            forwarding_state: true,
        }],
    }));
    peer_open_with(AS, 90, PEER, caps).encode(&DecodeContext::default())
}

fn establish(h: &mut Harness, conn: u64, notification: bool) {
    h.connect(conn, Direction::Outgoing);
    h.receive(conn, peer_gr_open(notification));
    h.receive(conn, Message::Keepalive.encode(&DecodeContext::default()));
}

/// One VPN-IPv4 route from the peer.
fn peer_route() -> Vec<u8> {
    crate::vpn::tests::vpn_update("10.1.0.0", 24, 100, "64512:1")
}

fn end_of_ribs(h: &Harness) -> Vec<Family> {
    h.sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Update(d) => d.update.as_end_of_rib(),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc4724_s3_the_capability_lists_every_family_with_the_n_bit() {
    let mut h = Harness::new(gr_config());
    h.connect(1, Direction::Outgoing);
    let gr = our_gr(&h);
    assert_eq!(gr.len(), 1, "{:?}", h.sent);
    assert!(!gr[0].restart_state);
    assert!(gr[0].notification);
    assert_eq!(gr[0].restart_time, 120);
    let families: Vec<(Family, bool)> = gr[0]
        .families
        .iter()
        .map(|f| (f.family, f.forwarding_state))
        .collect();
    let expected: Vec<(Family, bool)> = gr_config().peers[0]
        .families
        .iter()
        .map(|f| (*f, false))
        .collect();
    assert_eq!(families, expected, "a cold start preserved nothing");
}

#[test]
fn rfc4724_s4_1_a_restart_with_preserved_forwarding_sets_r_and_f_and_defers_end_of_rib() {
    let mut h = Harness::restarted(gr_config(), Duration::from_secs(60));
    establish(&mut h, 1, true);
    let gr = our_gr(&h);
    assert!(
        gr[0].restart_state,
        "R bit on the first OPEN after the restart"
    );
    assert!(gr[0].families.iter().all(|f| f.forwarding_state));
    // The peer's RT-Constraint End-of-RIB: without the deferral our VPN routes and their
    // End-of-RIB would follow at once.
    let ctx = DecodeContext {
        families: [Family::RTC].into_iter().collect(),
        ..DecodeContext::default()
    };
    h.receive(
        1,
        crate::wire::update::Update::end_of_rib(Family::RTC).encode(&ctx),
    );
    h.advance(Duration::from_secs(5));
    assert_eq!(
        end_of_ribs(&h),
        vec![Family::RTC],
        "only RT-Constraint at once"
    );
    h.advance(Duration::from_secs(55));
    assert_eq!(
        end_of_ribs(&h),
        vec![Family::RTC, Family::VPNV4, Family::EVPN],
        "the negotiated families, once the deferral is over"
    );
    // The next session: the restart is over (R clear), forwarding state still preserved.
    h.speaker.handle_net(
        h.now,
        NetInput::Closed {
            conn: ConnectionId(1),
            reason: "reset".into(),
        },
    );
    h.drain();
    establish(&mut h, 2, true);
    let gr = our_gr(&h);
    assert_eq!(gr.len(), 2);
    assert!(!gr[1].restart_state);
    assert!(gr[1].families.iter().all(|f| f.forwarding_state));
}

/// The peer's routes after the session ended by `end` (with graceful restart negotiated, the N
/// bit from the peer when `notification`).
fn routes_after(notification: bool, end: impl FnOnce(&mut Harness)) -> usize {
    let mut h = Harness::new(gr_config());
    establish(&mut h, 1, notification);
    h.receive(1, peer_route());
    assert_eq!(
        h.speaker
            .rib()
            .adj_rib_in(crate::speaker::PeerId(0))
            .count(),
        1
    );
    end(&mut h);
    h.speaker
        .rib()
        .adj_rib_in(crate::speaker::PeerId(0))
        .count()
}

fn notification(subcode: u8) -> Vec<u8> {
    Message::Notification(Notification::new(ErrorCode::Cease, subcode, Vec::new()))
        .encode(&DecodeContext::default())
}

#[test]
fn rfc8538_s3_which_session_losses_keep_the_peers_routes() {
    let tcp_loss = |h: &mut Harness| {
        h.speaker.handle_net(
            h.now,
            NetInput::Closed {
                conn: ConnectionId(1),
                reason: "reset".into(),
            },
        );
        h.drain();
    };
    assert_eq!(
        routes_after(false, tcp_loss),
        1,
        "TCP loss: kept (RFC 4724)"
    );
    let shutdown =
        |h: &mut Harness| h.receive(1, notification(cease_subcode::ADMINISTRATIVE_SHUTDOWN));
    assert_eq!(routes_after(true, shutdown), 1, "N bit both ways: kept");
    let shutdown =
        |h: &mut Harness| h.receive(1, notification(cease_subcode::ADMINISTRATIVE_SHUTDOWN));
    assert_eq!(
        routes_after(false, shutdown),
        0,
        "no N bit from the peer: dropped"
    );
    let hard = |h: &mut Harness| h.receive(1, notification(cease_subcode::HARD_RESET));
    assert_eq!(routes_after(true, hard), 0, "Hard Reset: dropped");
    // Our own NOTIFICATION (hold timer expiry) with the N bit both ways: kept.
    let hold = |h: &mut Harness| h.advance(Duration::from_secs(91));
    assert_eq!(routes_after(true, hold), 1);
    let hold = |h: &mut Harness| h.advance(Duration::from_secs(91));
    assert_eq!(routes_after(false, hold), 0);
}
