//! Session scenarios in the simulator (`bagpipe_conformance::sim`): speakers under virtual
//! time, faults injected by the test, and scripted raw endpoints that send what a real speaker
//! never would. Each scenario runs twice and must give the same transcript byte for byte
//! (determinism), then the transcript is an insta snapshot; the key facts (final states,
//! NOTIFICATION code/subcode) are also asserted explicitly.
//!
//! The last test is a property test: arbitrary inputs to one speaker never make it panic or
//! break its contract with the runtime.

use bagpipe_conformance::sim::{NodeId, Sim};
use bagpipe_core::config::{PeerConfig, SpeakerConfig};
use bagpipe_core::session::backoff::{MAX_DAMPED_RETRY, STABLE_SESSION};
use bagpipe_core::session::SessionState;
use bagpipe_core::speaker::{
    ConnectionId, Direction, NetInput, NetOutput, Output, PeerId, Speaker, SpeakerEvent,
};
use bagpipe_core::time::Instant;
use bagpipe_core::wire::capability::Capability;
use bagpipe_core::wire::message::{frame, Message, MessageType, Notification, Open};
use bagpipe_core::wire::message::{RouteRefresh, MARKER};
use bagpipe_core::wire::update::Update;
use bagpipe_core::wire::{DecodeContext, ErrorCode, Family};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

const A_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const S_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const AS: u32 = 64512;
const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn peer(address: Ipv4Addr, remote_as: u32, passive: bool, hold: u64) -> PeerConfig {
    let mut p = PeerConfig::new(IpAddr::V4(address), remote_as);
    p.passive = passive;
    p.hold_time = secs(hold);
    p
}

fn speaker(local: Ipv4Addr, local_as: u32, peers: Vec<PeerConfig>) -> SpeakerConfig {
    SpeakerConfig {
        local_as,
        router_id: local,
        local_address: IpAddr::V4(local),
        peers,
    }
}

/// A (10.0.0.1) and B (10.0.0.2), iBGP unless `b_as` differs, each with the other as peer.
fn pair(a_passive: bool, b_passive: bool, hold: u64, b_as: u32) -> Sim {
    let mut sim = Sim::new();
    let a = sim.add_speaker(
        "A",
        speaker(A_ADDR, AS, vec![peer(B_ADDR, b_as, a_passive, hold)]),
        1,
    );
    let b = sim.add_speaker(
        "B",
        speaker(B_ADDR, b_as, vec![peer(A_ADDR, AS, b_passive, hold)]),
        2,
    );
    assert_eq!((a, b), (A, B));
    sim
}

/// A scenario that ran twice with byte-identical transcripts (determinism). Its transcript is
/// checked against the insta snapshot `name` when the test's own assertions are done (when it
/// is dropped without a panic), so that a failing scenario reports the broken fact first and
/// the transcript diff second.
struct Scenario {
    name: &'static str,
    sim: Sim,
}

impl std::ops::Deref for Scenario {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.sim
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            insta::assert_snapshot!(self.name, self.sim.transcript());
        }
    }
}

/// Runs a scenario twice and checks both transcripts are identical.
fn scenario(name: &'static str, run: impl Fn() -> Sim) -> Scenario {
    let first = run();
    let second = run();
    assert_eq!(
        first.transcript(),
        second.transcript(),
        "scenario {name} is not deterministic"
    );
    Scenario { name, sim: first }
}

fn codes(notifications: &[(Instant, Notification)]) -> Vec<(u8, u8)> {
    notifications
        .iter()
        .map(|(_, n)| (n.code.to_u8(), n.subcode))
        .collect()
}

fn keepalives_after(sim: &Sim, from: NodeId, after: Instant) -> usize {
    sim.messages()
        .iter()
        .filter(|m| m.from == from && m.at > after && matches!(m.message, Ok(Message::Keepalive)))
        .count()
}

/// When `node`'s session with its peer last reached `state`.
fn last_reached(sim: &Sim, node: NodeId, state: SessionState) -> Option<Instant> {
    sim.states()
        .iter()
        .rev()
        .find(|s| s.node == node && s.to == state)
        .map(|s| s.at)
}

#[test]
fn active_and_passive_reach_established() {
    let sim = scenario("active_passive_established", || {
        let mut sim = pair(false, true, 90, AS);
        sim.start_all();
        // Long enough for two keepalives each (every 30 s with hold time 90 s).
        sim.run_for(secs(65));
        sim
    });
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    assert_eq!(sim.dial_times(A, B).len(), 1);
    assert!(sim.dial_times(B, A).is_empty(), "B is passive");
    assert!(sim.notifications(A, B).is_empty() && sim.notifications(B, A).is_empty());
    assert!(keepalives_after(&sim, A, Instant::from_millis(1000)) >= 2);
    let families = &sim.speaker(A).map(|s| s.peer_status()).unwrap_or_default()[0].families;
    assert_eq!(families.len(), 4, "{families:?}");
}

#[test]
fn both_active_collision_keeps_the_connection_dialled_by_the_higher_identifier() {
    let sim = scenario("both_active_collision", || {
        let mut sim = pair(false, false, 90, AS);
        sim.start_all();
        sim.run_for(secs(5));
        sim
    });
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    let ceases: Vec<_> = sim
        .messages()
        .iter()
        .filter_map(|m| match &m.message {
            Ok(Message::Notification(n)) => Some((m.conn, n.code, n.subcode)),
            _ => None,
        })
        .collect();
    assert!(
        !ceases.is_empty(),
        "a Cease/Connection Collision Resolution"
    );
    for (conn, code, subcode) in &ceases {
        assert_eq!((*code, *subcode), (ErrorCode::Cease, 7));
        // B (10.0.0.2) has the higher identifier: A's connection is the one closed.
        assert_eq!(sim.dialled_by(*conn), Some(A), "connection {conn:?}");
    }
    // The session runs on the connection B dialled: the last KEEPALIVEs travel on it.
    let last = sim
        .messages()
        .iter()
        .rev()
        .find(|m| matches!(m.message, Ok(Message::Keepalive)))
        .map(|m| m.conn);
    assert_eq!(last.and_then(|c| sim.dialled_by(c)), Some(B));
}

#[test]
fn hold_timer_expires_when_the_peer_is_frozen_and_the_session_comes_back() {
    let sim = scenario("hold_expiry_frozen_peer", || {
        let mut sim = pair(false, true, 9, AS);
        sim.start_all();
        sim.run_for(secs(1));
        sim.freeze(B);
        sim.run_for(secs(29));
        sim.unfreeze(B);
        sim.run_for(secs(10));
        sim
    });
    let hold = sim.notifications(A, B);
    assert_eq!(codes(&hold), vec![(4, 0)], "Hold Timer Expired from A");
    // A last heard from B at about t=0.003: the hold timer (9 s) fires then.
    let at = hold[0].0;
    assert!(
        at >= Instant::from_millis(9000) && at <= Instant::from_millis(9010),
        "{at:?}"
    );
    assert!(sim.dial_times(A, B).len() >= 2, "A reconnects");
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    assert!(last_reached(&sim, A, SessionState::Established) > Some(Instant::from_millis(30000)));
}

#[test]
fn peer_killed_and_restarted_is_redialled_with_backoff() {
    let sim = scenario("peer_restart_backoff", || {
        let mut sim = pair(false, true, 90, AS);
        sim.start_all();
        sim.run_for(secs(10));
        sim.kill(B);
        sim.run_for(secs(80));
        sim.restart(B);
        sim.run_for(secs(100));
        sim
    });
    let dials = sim.dial_times(A, B);
    assert!(dials.len() >= 5, "{dials:?}");
    let gaps: Vec<Duration> = dials.windows(2).map(|w| w[1] - w[0]).collect();
    // After the first (lost after 10 s), every failed attempt doubles the wait (5 s, 10 s,
    // 20 s, 40 s, with up to 25 % jitter).
    for w in gaps[1..].windows(2) {
        assert!(w[1] > w[0], "back-off does not grow: {gaps:?}");
    }
    // The first wait, after a session that lasted 10 s (not stable): ConnectRetry, 5 s + jitter.
    let first_wait = dials[1] - Instant::from_millis(10_001);
    assert!(first_wait >= secs(5) && first_wait <= ms(6250), "{dials:?}");
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
}

#[test]
fn shutdown_sends_cease_with_the_message_and_the_peer_waits_again() {
    let sim = scenario("shutdown_cease", || {
        let mut sim = pair(false, true, 90, AS);
        sim.start_all();
        sim.run_for(secs(5));
        sim.shutdown(A, "maintenance window");
        sim.run_for(secs(3600));
        sim
    });
    let sent = sim.notifications(A, B);
    assert_eq!(codes(&sent), vec![(6, 2)]);
    assert_eq!(sent[0].1.shutdown_message(), Some("maintenance window"));
    assert_eq!(sim.state(A, B), Some(SessionState::Idle));
    assert_eq!(sim.state(B, A), Some(SessionState::Active), "B is passive");
    assert_eq!(sim.dial_times(A, B).len(), 1, "no dial after shutdown");
}

#[test]
fn shutdown_refuses_an_active_peer_that_keeps_dialling() {
    let sim = scenario("shutdown_cease_active_peer", || {
        let mut sim = pair(false, false, 90, AS);
        sim.start_all();
        sim.run_for(secs(5));
        sim.shutdown(A, "decommissioned");
        sim.run_for(secs(60));
        sim
    });
    let sent = sim.notifications(A, B);
    let codes = codes(&sent);
    // Both dialled at start: A lost the collision (Cease/7) before the session came up.
    assert_eq!(codes.first(), Some(&(6, 7)), "{codes:?}");
    let shutdown = codes.iter().position(|c| *c == (6, 2));
    assert_eq!(shutdown, Some(1), "{codes:?}");
    assert_eq!(sent[1].1.shutdown_message(), Some("decommissioned"));
    // RFC 4486: every later attempt of B is refused with Cease/Connection Rejected.
    assert!(codes.len() >= 4, "{codes:?}");
    assert!(codes[2..].iter().all(|c| *c == (6, 5)), "{codes:?}");
    assert_eq!(sim.state(A, B), Some(SessionState::Idle));
    assert_ne!(sim.state(B, A), Some(SessionState::Established));
    assert_eq!(sim.dial_times(A, B).len(), 1, "A never dials again");
}

#[test]
fn partition_expires_both_hold_timers_and_the_session_returns_after_healing() {
    let sim = scenario("partition_and_heal", || {
        let mut sim = pair(false, true, 9, AS);
        sim.start_all();
        sim.run_for(secs(1));
        sim.partition(A, B);
        sim.run_for(secs(40));
        sim.heal(A, B);
        sim.run_for(secs(15));
        sim
    });
    assert_eq!(codes(&sim.notifications(A, B))[0], (4, 0));
    assert_eq!(codes(&sim.notifications(B, A))[0], (4, 0));
    assert!(sim.transcript().contains("dial B failed: no route to host"));
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    assert!(last_reached(&sim, A, SessionState::Established) > Some(Instant::from_millis(41_000)));
}

#[test]
fn hold_time_zero_means_no_keepalives_for_an_hour() {
    let sim = scenario("hold_time_zero", || {
        let mut sim = pair(false, true, 0, AS);
        sim.start_all();
        sim.run_for(secs(3600));
        sim
    });
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    let up = last_reached(&sim, A, SessionState::Established).unwrap_or(Instant::ZERO);
    assert_eq!(keepalives_after(&sim, A, up), 0);
    assert_eq!(keepalives_after(&sim, B, up), 0);
}

#[test]
fn mismatched_as_is_an_open_error_with_the_peer_as() {
    let sim = scenario("mismatched_as", || {
        let mut sim = Sim::new();
        // A expects AS 64999 behind 10.0.0.2; B is in AS 64512.
        sim.add_speaker(
            "A",
            speaker(A_ADDR, AS, vec![peer(B_ADDR, 64999, false, 90)]),
            1,
        );
        sim.add_speaker(
            "B",
            speaker(B_ADDR, AS, vec![peer(A_ADDR, AS, true, 90)]),
            2,
        );
        sim.start_all();
        sim.run_for(secs(30));
        sim
    });
    let sent = sim.notifications(A, B);
    assert!(!sent.is_empty());
    for (_, n) in &sent {
        assert_eq!((n.code.to_u8(), n.subcode), (2, 2), "{n}");
        // RFC 4271 §6.2: the data is the 2-octet My AS field of the OPEN.
        assert_eq!(n.data_bytes(), 64512u16.to_be_bytes().to_vec());
    }
    assert!(sent.len() >= 2, "A retries");
    assert_ne!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Active));
}

#[test]
fn no_common_family_is_unsupported_capability() {
    let sim = scenario("no_common_family", || {
        let mut sim = Sim::new();
        let mut a = peer(B_ADDR, AS, false, 90);
        a.families = BTreeSet::from([Family::VPNV4]);
        let mut b = peer(A_ADDR, AS, true, 90);
        b.families = BTreeSet::from([Family::EVPN]);
        sim.add_speaker("A", speaker(A_ADDR, AS, vec![a]), 1);
        sim.add_speaker("B", speaker(B_ADDR, AS, vec![b]), 2);
        sim.start_all();
        sim.run_for(secs(20));
        sim
    });
    let all: Vec<(u8, u8)> = codes(&sim.notifications(A, B))
        .into_iter()
        .chain(codes(&sim.notifications(B, A)))
        .collect();
    assert!(all.contains(&(2, 7)), "{all:?}");
    assert!(all.iter().all(|c| *c == (2, 7)), "{all:?}");
    assert!(last_reached(&sim, A, SessionState::Established).is_none());
    assert!(last_reached(&sim, B, SessionState::Established).is_none());
}

#[test]
fn flapping_peer_is_damped() {
    let sim = scenario("flapping_damped", || {
        let mut sim = pair(false, true, 90, AS);
        sim.start_all();
        for flap in 0..4 {
            // Wait (at most 20 minutes) for the session, let it run 2 s, then cut the link.
            for _ in 0..1200 {
                if sim.state(A, B) == Some(SessionState::Established) {
                    break;
                }
                sim.run_for(secs(1));
            }
            sim.run_for(secs(2));
            sim.note(&format!("flap {}", flap + 1));
            sim.drop_link(A, B);
            sim.run_for(ms(10));
        }
        sim.run_for(secs(800));
        sim
    });
    let dials = sim.dial_times(A, B);
    let gaps: Vec<Duration> = dials.windows(2).map(|w| w[1] - w[0]).collect();
    // Every session lasts about 2 s (< STABLE_SESSION): the third loss in a row damps the peer,
    // and from then on the wait is the damped cap plus jitter.
    assert!(secs(2) < STABLE_SESSION);
    assert!(dials.len() >= 5, "{dials:?}");
    let damped: Vec<&Duration> = gaps.iter().filter(|g| **g >= MAX_DAMPED_RETRY).collect();
    assert!(damped.len() >= 2, "{gaps:?}");
    for g in &damped {
        assert!(
            **g <= MAX_DAMPED_RETRY + MAX_DAMPED_RETRY / 4 + secs(3),
            "{gaps:?}"
        );
    }
    assert!(
        gaps[0] < secs(10),
        "the first loss is retried soon: {gaps:?}"
    );
    assert!(sim
        .states()
        .iter()
        .any(|s| s.node == A && s.to == SessionState::Idle && s.reason.contains("damped")));
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
}

#[test]
fn ebgp_pair_reaches_established() {
    let sim = scenario("ebgp_pair", || {
        let mut sim = pair(false, true, 90, 65001);
        sim.start_all();
        sim.run_for(secs(5));
        sim
    });
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
    let opens: Vec<u32> = sim
        .messages()
        .iter()
        .filter_map(|m| match &m.message {
            Ok(Message::Open(o)) => Some(o.asn()),
            _ => None,
        })
        .collect();
    assert_eq!(opens, vec![AS, 65001]);
}

#[test]
fn ebgp_collision_with_equal_identifiers_keeps_the_connection_of_the_larger_as() {
    let sim = scenario("ebgp_collision_equal_identifiers", || {
        let mut sim = Sim::new();
        let id = Ipv4Addr::new(192, 0, 2, 1);
        let mut a = speaker(A_ADDR, AS, vec![peer(B_ADDR, 65001, false, 90)]);
        a.router_id = id;
        let mut b = speaker(B_ADDR, 65001, vec![peer(A_ADDR, AS, false, 90)]);
        b.router_id = id;
        sim.add_speaker("A", a, 1);
        sim.add_speaker("B", b, 2);
        sim.start_all();
        sim.run_for(secs(1));
        sim
    });
    // RFC 6286 §2.3: with identical identifiers, the connection initiated by the speaker with
    // the larger AS number (B, 65001) is preserved; only A's is closed, and at once the session
    // comes up on B's.
    for m in sim.messages() {
        if let Ok(Message::Notification(n)) = &m.message {
            assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 7), "{n}");
            assert_eq!(
                sim.dialled_by(m.conn),
                Some(A),
                "B's connection was closed: {n}"
            );
        }
    }
    assert_eq!(sim.state(A, B), Some(SessionState::Established));
    assert_eq!(sim.state(B, A), Some(SessionState::Established));
}

// Scripted raw endpoint S (10.0.0.9) against speaker B (passive, iBGP, hold time 90 s).

const S: NodeId = NodeId(1);
const SB: NodeId = NodeId(0);

fn vpn_caps() -> Vec<Capability> {
    vec![
        Capability::Multiprotocol {
            family: Family::VPNV4,
        },
        Capability::Multiprotocol {
            family: Family::EVPN,
        },
        Capability::RouteRefresh,
        Capability::FourOctetAs { asn: AS },
    ]
}

fn open_bytes(hold: u16) -> Vec<u8> {
    Message::Open(Open::new(AS, hold, S_ADDR, vpn_caps())).encode(&DecodeContext::default())
}

fn keepalive() -> Vec<u8> {
    Message::Keepalive.encode(&DecodeContext::default())
}

/// B with S as its peer; S dials B. Returns the simulator and S's side of the connection, in
/// OpenSent on B's side (B's OPEN has reached S).
fn scripted() -> (Sim, ConnectionId) {
    let mut sim = Sim::new();
    let b = sim.add_speaker(
        "B",
        speaker(B_ADDR, AS, vec![peer(S_ADDR, AS, true, 90)]),
        2,
    );
    let s = sim.add_scripted("S", IpAddr::V4(S_ADDR));
    assert_eq!((b, s), (SB, S));
    sim.start_all();
    let conn = sim.script_dial(S, SB);
    sim.run_for(ms(10));
    assert_eq!(sim.state(SB, S), Some(SessionState::OpenSent));
    (sim, conn)
}

/// As [`scripted`], then S sends its OPEN and a KEEPALIVE: Established.
fn scripted_established() -> (Sim, ConnectionId) {
    let (mut sim, conn) = scripted();
    sim.script_send(S, conn, open_bytes(90));
    sim.script_send(S, conn, keepalive());
    sim.run_for(ms(10));
    assert_eq!(sim.state(SB, S), Some(SessionState::Established));
    (sim, conn)
}

/// Runs a scripted scenario: `send` gives the bytes S sends; B must answer with exactly one
/// NOTIFICATION of `code`/`subcode` (and `data` when given), then close.
fn scripted_error(
    name: &'static str,
    established: bool,
    send: impl Fn() -> Vec<u8>,
    code: u8,
    subcode: u8,
    data: Option<Vec<u8>>,
) -> Scenario {
    let sim = scenario(name, || {
        let (mut sim, conn) = if established {
            scripted_established()
        } else {
            scripted()
        };
        sim.script_send(S, conn, send());
        sim.run_for(secs(1));
        sim
    });
    let sent = sim.notifications(SB, S);
    assert_eq!(codes(&sent), vec![(code, subcode)], "{sent:?}");
    if let Some(data) = data {
        assert_eq!(sent[0].1.data_bytes(), data);
    }
    let conn = ConnectionId(1);
    assert!(sim.script_closed(S, conn), "B closed the connection");
    let received = sim.script_messages(S, conn);
    assert!(
        matches!(received.last(), Some(Ok(Message::Notification(_)))),
        "the NOTIFICATION is the last thing S reads: {received:?}"
    );
    assert_eq!(sim.state(SB, S), Some(SessionState::Active));
    sim
}

#[test]
fn scripted_bad_marker_is_header_error_1() {
    scripted_error(
        "scripted_bad_marker",
        false,
        || {
            let mut bytes = keepalive();
            bytes[3] = 0;
            bytes
        },
        1,
        1,
        None,
    );
}

#[test]
fn scripted_bad_length_is_header_error_2_with_the_length() {
    scripted_error(
        "scripted_bad_length",
        true,
        || {
            // A KEEPALIVE must be exactly 19 octets; this one says 20.
            let mut bytes = MARKER.to_vec();
            bytes.extend_from_slice(&20u16.to_be_bytes());
            bytes.push(4);
            bytes.push(0);
            bytes
        },
        1,
        2,
        Some(vec![0, 20]),
    );
}

#[test]
fn scripted_bad_type_is_header_error_3_with_the_type() {
    scripted_error(
        "scripted_bad_type",
        true,
        || {
            let mut bytes = MARKER.to_vec();
            bytes.extend_from_slice(&19u16.to_be_bytes());
            bytes.push(9);
            bytes
        },
        1,
        3,
        Some(vec![9]),
    );
}

#[test]
fn scripted_open_with_hold_time_1_is_open_error_6() {
    scripted_error("scripted_open_hold_1", false, || open_bytes(1), 2, 6, None);
}

#[test]
fn scripted_keepalive_in_open_sent_is_fsm_error_1() {
    // RFC 6608: subcode 1, Receive Unexpected Message in OpenSent State.
    scripted_error(
        "scripted_keepalive_in_opensent",
        false,
        keepalive,
        5,
        1,
        None,
    );
}

#[test]
fn scripted_open_in_established_is_fsm_error_3() {
    scripted_error(
        "scripted_open_in_established",
        true,
        || open_bytes(90),
        5,
        3,
        None,
    );
}

#[test]
fn scripted_malformed_update_is_update_error_1() {
    // RFC 7606 §4: when the attribute list cannot be parsed (here an attribute overruns the
    // Total Path Attribute Length), the NLRI cannot be located: session reset, Malformed
    // Attribute List.
    scripted_error(
        "scripted_malformed_update",
        true,
        || frame(MessageType::Update, &[0, 0, 0, 9, 0x40, 1, 1, 0]),
        3,
        1,
        None,
    );
}

#[test]
fn scripted_update_in_open_confirm_is_fsm_error_2() {
    // RFC 6608: subcode 2, Receive Unexpected Message in OpenConfirm State.
    let sim = scenario("scripted_update_in_openconfirm", || {
        let (mut sim, conn) = scripted();
        sim.script_send(S, conn, open_bytes(90));
        sim.run_for(ms(10));
        assert_eq!(sim.state(SB, S), Some(SessionState::OpenConfirm));
        sim.script_send(
            S,
            conn,
            Update::end_of_rib(Family::VPNV4).encode(&DecodeContext::default()),
        );
        sim.run_for(secs(1));
        sim
    });
    assert_eq!(codes(&sim.notifications(SB, S)), vec![(5, 2)]);
    assert!(sim.script_closed(S, ConnectionId(1)));
    assert_eq!(sim.state(SB, S), Some(SessionState::Active));
}

#[test]
fn scripted_notification_is_never_answered() {
    // RFC 4271 §6.4: no NOTIFICATION in reply to a NOTIFICATION; the connection is closed.
    let sim = scenario("scripted_notification_received", || {
        let (mut sim, conn) = scripted_established();
        let n = Notification::new(ErrorCode::Cease, 4, Vec::new());
        sim.script_send(
            S,
            conn,
            Message::Notification(n).encode(&DecodeContext::default()),
        );
        sim.run_for(secs(1));
        sim
    });
    assert!(sim.notifications(SB, S).is_empty());
    assert!(sim.script_closed(S, ConnectionId(1)));
    assert_eq!(sim.state(SB, S), Some(SessionState::Active));
    assert!(sim
        .transcript()
        .contains("NOTIFICATION received: Cease/Administrative Reset"));
}

#[test]
fn scripted_peer_dialled_by_the_speaker_with_our_identifier_is_open_error_3() {
    // RFC 4271 §6.2, RFC 6286 §2.2: an internal peer with our own BGP Identifier.
    let sim = scenario("scripted_accepts_bad_identifier", || {
        let mut sim = Sim::new();
        sim.add_speaker(
            "B",
            speaker(B_ADDR, AS, vec![peer(S_ADDR, AS, false, 90)]),
            2,
        );
        sim.add_scripted("S", IpAddr::V4(S_ADDR));
        sim.start_all();
        sim.run_for(ms(10));
        let conn = sim.script_accepted(S).expect("B dialled S");
        let open = Message::Open(Open::new(AS, 90, B_ADDR, vpn_caps()));
        sim.script_send(S, conn, open.encode(&DecodeContext::default()));
        sim.run_for(secs(1));
        sim
    });
    assert_eq!(codes(&sim.notifications(SB, S)), vec![(2, 3)]);
    let conn = sim.script_accepted(S).expect("B dialled S");
    assert!(sim.script_closed(S, conn));
    assert_eq!(
        sim.state(SB, S),
        Some(SessionState::Active),
        "waiting to retry"
    );
}

/// An UPDATE of one VPN-IPv4 route whose ORIGIN is `origin`.
fn vpnv4_update(origin: u8) -> Vec<u8> {
    let mp_reach: Vec<u8> = [
        &[0, 1, 128, 12][..],
        &[0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 9],
        &[0],
        // 112 bits: label 16 (bottom of stack), RD 0:64512:1, 10.1.1.0/24.
        &[112, 0x00, 0x01, 0x01, 0, 0, 0xfc, 0, 0, 0, 0, 1, 10, 1, 1],
    ]
    .concat();
    let mut attrs = vec![0x80, 14, u8::try_from(mp_reach.len()).unwrap_or(0)];
    attrs.extend_from_slice(&mp_reach);
    attrs.extend_from_slice(&[0x40, 1, 1, origin]);
    attrs.extend_from_slice(&[0x40, 2, 0]);
    attrs.extend_from_slice(&[0x40, 5, 4, 0, 0, 0, 100]);
    let mut body = vec![0, 0];
    body.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&attrs);
    frame(MessageType::Update, &body)
}

#[test]
fn scripted_treat_as_withdraw_update_keeps_the_session_up() {
    let sim = scenario("scripted_treat_as_withdraw", || {
        let (mut sim, conn) = scripted_established();
        sim.note("a valid route, then the same route with ORIGIN 7 (undefined)");
        sim.script_send(S, conn, vpnv4_update(0));
        sim.run_for(ms(10));
        sim.script_send(S, conn, vpnv4_update(7));
        sim.run_for(ms(10));
        sim.script_send(S, conn, keepalive());
        sim.run_for(secs(40));
        sim
    });
    assert!(sim.notifications(SB, S).is_empty());
    assert_eq!(sim.state(SB, S), Some(SessionState::Established));
    assert!(sim.transcript().contains("treated as withdraw"));
    assert!(!sim.script_closed(S, ConnectionId(1)));
    // B keeps sending KEEPALIVEs on the session.
    assert!(keepalives_after(&sim, SB, Instant::from_millis(1000)) >= 1);
}

// Property test: arbitrary inputs to one speaker.

mod props {
    use super::*;
    use proptest::prelude::*;

    const P0: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const P1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

    #[derive(Debug, Clone)]
    enum Op {
        Connect {
            incoming: bool,
            peer: u8,
        },
        ConnectUnknown,
        DialFail {
            peer: u8,
        },
        Receive {
            conn: u8,
            bytes: Vec<u8>,
        },
        ReceiveValid {
            conn: u8,
            kind: u8,
            hold: u16,
            mutate: Option<(u16, u8)>,
            cut: Option<u16>,
        },
        Written {
            conn: u8,
            len: u16,
        },
        Close {
            conn: u8,
        },
        Advance {
            ms: u32,
        },
        ToDeadline,
        Shutdown,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<bool>(), 0u8..2).prop_map(|(incoming, peer)| Op::Connect { incoming, peer }),
            1 => Just(Op::ConnectUnknown),
            1 => (0u8..2).prop_map(|peer| Op::DialFail { peer }),
            2 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64))
                .prop_map(|(conn, bytes)| Op::Receive { conn, bytes }),
            8 => (
                any::<u8>(),
                0u8..8,
                prop_oneof![Just(0u16), Just(1), Just(3), Just(90), any::<u16>()],
                proptest::option::weighted(0.3, (any::<u16>(), 1u8..=255)),
                proptest::option::weighted(0.1, any::<u16>()),
            )
                .prop_map(|(conn, kind, hold, mutate, cut)| Op::ReceiveValid {
                    conn,
                    kind,
                    hold,
                    mutate,
                    cut
                }),
            2 => (any::<u8>(), any::<u16>()).prop_map(|(conn, len)| Op::Written { conn, len }),
            1 => any::<u8>().prop_map(|conn| Op::Close { conn }),
            2 => (0u32..200_000).prop_map(|ms| Op::Advance { ms }),
            2 => Just(Op::ToDeadline),
            1 => Just(Op::Shutdown),
        ]
    }

    fn valid(kind: u8, hold: u16, id: Ipv4Addr) -> Vec<u8> {
        let ctx = DecodeContext::default();
        match kind {
            0 | 1 => Message::Open(Open::new(AS, hold, id, vpn_caps())).encode(&ctx),
            2 | 3 => keepalive(),
            4 => Message::Notification(Notification::cease_shutdown("bye")).encode(&ctx),
            5 => Update::end_of_rib(Family::VPNV4).encode(&ctx),
            6 => vpnv4_update(u8::try_from(hold % 4).unwrap_or(0)),
            _ => Message::RouteRefresh(RouteRefresh::request(Family::VPNV4)).encode(&ctx),
        }
    }

    struct Driver {
        speaker: Speaker,
        now: Instant,
        next_conn: u64,
        /// Live connections handed to the speaker, with the peer address.
        live: BTreeMap<ConnectionId, Ipv4Addr>,
        /// Connections the speaker closed or was told are closed.
        gone: BTreeSet<ConnectionId>,
        /// The state each peer last reported, by index.
        reported: Vec<SessionState>,
        stopped: bool,
    }

    impl Driver {
        fn new(hold: u64) -> Self {
            let config = speaker(
                A_ADDR,
                AS,
                vec![peer(P0, AS, false, hold), peer(P1, AS, true, hold)],
            );
            let mut d = Driver {
                speaker: Speaker::new(config, 7),
                now: Instant::from_millis(1000),
                next_conn: 1,
                live: BTreeMap::new(),
                gone: BTreeSet::new(),
                reported: vec![SessionState::Idle; 2],
                stopped: false,
            };
            d.speaker.start(d.now);
            d.check();
            d
        }

        fn conn(&self, i: u8) -> Option<ConnectionId> {
            let n = self.live.len();
            (n > 0).then(|| self.live.keys().nth(usize::from(i) % n).copied())?
        }

        fn net(&mut self, input: NetInput) {
            self.speaker.handle_net(self.now, input);
            self.check();
        }

        fn connect(&mut self, direction: Direction, peer: Option<PeerId>, remote: Ipv4Addr) {
            let conn = ConnectionId(self.next_conn);
            self.next_conn += 1;
            self.live.insert(conn, remote);
            self.net(NetInput::Connected {
                conn,
                direction,
                peer,
                local: SocketAddr::new(IpAddr::V4(A_ADDR), 179),
                remote: SocketAddr::new(IpAddr::V4(remote), 40000),
            });
        }

        fn run(&mut self, op: Op) {
            match op {
                Op::Connect { incoming, peer } => {
                    let address = if peer == 0 { P0 } else { P1 };
                    if incoming {
                        self.connect(Direction::Incoming, None, address);
                    } else {
                        self.connect(Direction::Outgoing, Some(PeerId(u32::from(peer))), address);
                    }
                }
                Op::ConnectUnknown => {
                    self.connect(Direction::Incoming, None, Ipv4Addr::new(10, 9, 9, 9));
                }
                Op::DialFail { peer } => self.net(NetInput::DialFailed {
                    peer: PeerId(u32::from(peer)),
                    reason: "refused".into(),
                }),
                Op::Receive { conn, bytes } => {
                    if let Some(conn) = self.conn(conn) {
                        self.net(NetInput::Received { conn, bytes });
                    }
                }
                Op::ReceiveValid {
                    conn,
                    kind,
                    hold,
                    mutate,
                    cut,
                } => {
                    let Some(conn) = self.conn(conn) else {
                        return;
                    };
                    let id = self.live.get(&conn).copied().unwrap_or(P0);
                    let mut bytes = valid(kind, hold, id);
                    if let Some((pos, x)) = mutate {
                        let i = usize::from(pos) % bytes.len();
                        bytes[i] ^= x;
                    }
                    if let Some(cut) = cut {
                        bytes.truncate(usize::from(cut) % (bytes.len() + 1));
                    }
                    self.net(NetInput::Received { conn, bytes });
                }
                Op::Written { conn, len } => {
                    if let Some(conn) = self.conn(conn) {
                        self.net(NetInput::Written {
                            conn,
                            len: usize::from(len),
                        });
                    }
                }
                Op::Close { conn } => {
                    if let Some(conn) = self.conn(conn) {
                        self.live.remove(&conn);
                        self.gone.insert(conn);
                        self.net(NetInput::Closed {
                            conn,
                            reason: "reset".into(),
                        });
                    }
                }
                Op::Advance { ms } => {
                    self.now = self.now + Duration::from_millis(u64::from(ms));
                    self.timeout();
                }
                Op::ToDeadline => {
                    if let Some(d) = self.speaker.poll_timeout() {
                        self.now = self.now.max(d);
                    }
                    self.timeout();
                }
                Op::Shutdown => {
                    self.stopped = true;
                    self.speaker.shutdown(self.now, "stop");
                    self.check();
                }
            }
        }

        fn timeout(&mut self) {
            self.speaker.handle_timeout(self.now);
            self.check();
            if let Some(d) = self.speaker.poll_timeout() {
                assert!(
                    d > self.now,
                    "poll_timeout {d:?} is not after now {:?} after handle_timeout",
                    self.now
                );
            }
        }

        /// Drains the outputs and checks the speaker's contract.
        fn check(&mut self) {
            while let Some(out) = self.speaker.poll_output() {
                match out {
                    Output::Net(NetOutput::Dial { peer, .. }) => {
                        assert!(!self.stopped, "dial after shutdown");
                        assert_eq!(peer, PeerId(0), "only the active peer is dialled");
                    }
                    Output::Net(NetOutput::Send { conn, .. }) => {
                        assert!(
                            self.live.contains_key(&conn),
                            "send on {conn:?}, not a live connection (gone: {})",
                            self.gone.contains(&conn)
                        );
                    }
                    Output::Net(NetOutput::Close { conn }) => {
                        assert!(
                            self.live.contains_key(&conn),
                            "close of {conn:?}, not a live connection"
                        );
                        self.live.remove(&conn);
                        self.gone.insert(conn);
                    }
                    Output::Event(SpeakerEvent::StateChanged { peer, from, to, .. }) => {
                        let i = usize::try_from(peer.0).unwrap_or(usize::MAX);
                        assert!(i < 2);
                        assert_eq!(self.reported[i], from, "state changes form a chain");
                        assert_ne!(from, to);
                        self.reported[i] = to;
                    }
                    _ => {}
                }
            }
            let status = self.speaker.peer_status();
            assert_eq!(status.len(), 2);
            for (i, s) in status.iter().enumerate() {
                assert_eq!(
                    s.state, self.reported[i],
                    "peer_status agrees with the events"
                );
                if i == 1 {
                    assert_ne!(
                        s.state,
                        SessionState::Connect,
                        "a passive peer is never dialled"
                    );
                }
                if self.stopped {
                    assert_eq!(s.state, SessionState::Idle, "stopped");
                }
                if s.state >= SessionState::OpenSent {
                    let address = if i == 0 { P0 } else { P1 };
                    assert!(
                        self.live.values().any(|a| *a == address),
                        "{:?} without a connection",
                        s.state
                    );
                }
                if s.state == SessionState::Established {
                    assert!(!s.families.is_empty());
                }
            }
            assert!(self.speaker.poll_timeout().is_none_or(|_| !self.stopped));
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Fault {
        Freeze(bool),
        Unfreeze(bool),
        Kill(bool),
        Restart(bool),
        DropLink,
        Partition,
        Heal,
    }

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            any::<bool>().prop_map(Fault::Freeze),
            any::<bool>().prop_map(Fault::Unfreeze),
            any::<bool>().prop_map(Fault::Kill),
            any::<bool>().prop_map(Fault::Restart),
            Just(Fault::DropLink),
            Just(Fault::Partition),
            Just(Fault::Heal),
        ]
    }

    /// Two speakers under random faults, then every fault repaired: they must end Established,
    /// and the run must be deterministic.
    fn chaos(b_passive: bool, hold: u64, faults: &[(u32, Fault)]) -> Sim {
        let mut sim = pair(false, b_passive, hold, AS);
        sim.start_all();
        let node = |a: bool| if a { A } else { B };
        for &(wait, fault) in faults {
            sim.run_for(Duration::from_millis(u64::from(wait)));
            match fault {
                Fault::Freeze(a) if sim.is_up(node(a)) && !sim.is_frozen(node(a)) => {
                    sim.freeze(node(a));
                }
                Fault::Unfreeze(a) if sim.is_frozen(node(a)) => sim.unfreeze(node(a)),
                Fault::Kill(a) if sim.is_up(node(a)) => sim.kill(node(a)),
                Fault::Restart(a) if !sim.is_up(node(a)) => sim.restart(node(a)),
                Fault::DropLink => sim.drop_link(A, B),
                Fault::Partition if !sim.is_partitioned(A, B) => sim.partition(A, B),
                Fault::Heal if sim.is_partitioned(A, B) => sim.heal(A, B),
                _ => {}
            }
        }
        sim.note("repair everything");
        for n in [A, B] {
            if sim.is_frozen(n) {
                sim.unfreeze(n);
            }
            if !sim.is_up(n) {
                sim.restart(n);
            }
        }
        if sim.is_partitioned(A, B) {
            sim.heal(A, B);
        }
        // The longest wait: a damped peer (600 s + 25 %), behind a stale session's hold time
        // or an OpenSent connection's 240 s.
        sim.run_for(secs(2000));
        sim
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn speakers_recover_from_any_faults(
            b_passive in any::<bool>(),
            hold in prop_oneof![Just(0u64), Just(9), Just(90)],
            faults in proptest::collection::vec((0u32..300_000, fault()), 0..12),
        ) {
            let sim = chaos(b_passive, hold, &faults);
            let again = chaos(b_passive, hold, &faults);
            prop_assert_eq!(sim.transcript(), again.transcript());
            for bad in ["written after close", "unknown connection", "not its connection"] {
                prop_assert!(!sim.transcript().contains(bad), "{}:\n{}", bad, sim.transcript());
            }
            prop_assert_eq!(
                (sim.state(A, B), sim.state(B, A)),
                (Some(SessionState::Established), Some(SessionState::Established)),
                "{}",
                sim.transcript()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_inputs_keep_the_speaker_sound(
            hold in prop_oneof![Just(0u64), Just(3), Just(90)],
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            let mut d = Driver::new(hold);
            for op in ops {
                d.run(op);
            }
        }
    }
}
