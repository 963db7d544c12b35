//! The session FSM driven through a one-peer speaker with hand-made peer messages.

use crate::config::{PeerConfig, SpeakerConfig};
use crate::session::SessionState;
use crate::speaker::{
    ConnectionId, Direction, NetInput, NetOutput, Output, PeerId, Speaker, SpeakerEvent,
};
use crate::time::Instant;
use crate::wire::capability::Capability;
use crate::wire::message::{decode_message, Framer, Message, Notification, Open};
use crate::wire::update::Update;
use crate::wire::{DecodeContext, ErrorCode, Family};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const AS: u32 = 64512;

pub(crate) fn speaker_config(passive: bool, hold: u64) -> SpeakerConfig {
    let mut peer = PeerConfig::new(IpAddr::V4(PEER), AS);
    peer.passive = passive;
    peer.hold_time = Duration::from_secs(hold);
    SpeakerConfig {
        local_as: AS,
        router_id: LOCAL,
        local_address: IpAddr::V4(LOCAL),
        peers: vec![peer],
    }
}

/// A speaker with one peer, the messages it sent, decoded, and its events.
pub(crate) struct Harness {
    pub(crate) speaker: Speaker,
    pub(crate) now: Instant,
    pub(crate) sent: Vec<(ConnectionId, Message)>,
    pub(crate) closed: Vec<ConnectionId>,
    pub(crate) dials: usize,
    pub(crate) events: Vec<SpeakerEvent>,
    /// Dataplane batches, acknowledged at once (failed when `fail_batches` is set).
    pub(crate) batches: Vec<(crate::config::VpnType, Vec<crate::dataplane::Operation>)>,
    pub(crate) fail_batches: bool,
    pub(crate) replies: Vec<(crate::speaker::ApiTicket, Result<(), crate::vpn::VpnError>)>,
    framers: std::collections::BTreeMap<ConnectionId, Framer>,
}

impl Harness {
    pub(crate) fn new(config: SpeakerConfig) -> Self {
        Self::with_drivers(config, Vec::new())
    }

    /// A speaker restarted on a dataplane that kept its forwarding state (RFC 4724 §4.1), its
    /// End-of-RIB deferred by `deferral`.
    pub(crate) fn restarted(config: SpeakerConfig, deferral: Duration) -> Self {
        let mut speaker = Speaker::new(config, 1);
        speaker.forwarding_preserved(deferral);
        Self::start(speaker, Vec::new())
    }

    pub(crate) fn with_drivers(
        config: SpeakerConfig,
        drivers: Vec<(
            crate::config::VpnType,
            IpAddr,
            crate::dataplane::Capabilities,
        )>,
    ) -> Self {
        Self::start(Speaker::new(config, 1), drivers)
    }

    fn start(
        speaker: Speaker,
        drivers: Vec<(
            crate::config::VpnType,
            IpAddr,
            crate::dataplane::Capabilities,
        )>,
    ) -> Self {
        let mut h = Harness {
            speaker,
            now: Instant::from_millis(1000),
            sent: Vec::new(),
            closed: Vec::new(),
            dials: 0,
            events: Vec::new(),
            batches: Vec::new(),
            fail_batches: false,
            replies: Vec::new(),
            framers: Default::default(),
        };
        for (vpn_type, address, caps) in drivers {
            h.speaker.register_driver(vpn_type, address, caps);
        }
        h.speaker.start(h.now);
        h.drain();
        h
    }

    pub(crate) fn drain(&mut self) {
        while let Some(out) = self.speaker.poll_output() {
            match out {
                Output::Net(NetOutput::Dial { .. }) => self.dials += 1,
                Output::Net(NetOutput::Send { conn, bytes }) => {
                    let framer = self.framers.entry(conn).or_default();
                    framer.feed(&bytes);
                    // Everything we send decodes with a permissive context.
                    let ctx = DecodeContext {
                        families: crate::wire::nlri::DECODED_FAMILIES
                            .iter()
                            .copied()
                            .collect(),
                        four_octet_as: true,
                        ..DecodeContext::default()
                    };
                    while let Some(frame) = framer.next_frame(&ctx) {
                        let frame = frame.expect("our own framing is valid");
                        let msg = decode_message(frame.msg_type.to_u8(), &frame.body, &ctx)
                            .expect("our own messages decode");
                        self.sent.push((conn, msg));
                    }
                    self.speaker.handle_net(
                        self.now,
                        NetInput::Written {
                            conn,
                            len: bytes.len(),
                        },
                    );
                }
                Output::Net(NetOutput::Close { conn }) => self.closed.push(conn),
                Output::Event(e) => self.events.push(e),
                Output::Dataplane {
                    batch,
                    vpn_type,
                    ops,
                } => {
                    self.batches.push((vpn_type, ops));
                    let result = if self.fail_batches {
                        Err("driver refused".to_string())
                    } else {
                        Ok(())
                    };
                    self.speaker.dataplane_done(self.now, batch, result);
                }
                Output::ApiReply { ticket, result } => self.replies.push((ticket, result)),
            }
        }
    }

    pub(crate) fn connect(&mut self, conn: u64, direction: Direction) {
        let peer = (direction == Direction::Outgoing).then_some(PeerId(0));
        let (lport, rport) = match direction {
            Direction::Outgoing => (40000 + conn as u16, 179),
            Direction::Incoming => (179, 40000 + conn as u16),
        };
        self.speaker.handle_net(
            self.now,
            NetInput::Connected {
                conn: ConnectionId(conn),
                direction,
                peer,
                local: SocketAddr::new(IpAddr::V4(LOCAL), lport),
                remote: SocketAddr::new(IpAddr::V4(PEER), rport),
            },
        );
        self.drain();
    }

    pub(crate) fn receive(&mut self, conn: u64, bytes: Vec<u8>) {
        self.speaker.handle_net(
            self.now,
            NetInput::Received {
                conn: ConnectionId(conn),
                bytes,
            },
        );
        self.drain();
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.speaker.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.speaker.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    pub(crate) fn state(&self) -> SessionState {
        self.speaker.peer_status()[0].state
    }

    pub(crate) fn last_sent(&self) -> Option<&Message> {
        self.sent.last().map(|(_, m)| m)
    }

    pub(crate) fn notification_sent(&self) -> Option<&Notification> {
        self.sent.iter().rev().find_map(|(_, m)| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
    }

    /// Brings connection 1 to Established with a peer OPEN of `hold` seconds.
    pub(crate) fn establish(&mut self, hold: u16) {
        self.connect(1, Direction::Outgoing);
        self.receive(1, peer_open(hold).encode(&DecodeContext::default()));
        self.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
        assert_eq!(self.state(), SessionState::Established);
    }
}

pub(crate) fn peer_open_with(asn: u32, hold: u16, id: Ipv4Addr, caps: Vec<Capability>) -> Message {
    Message::Open(Open::new(asn, hold, id, caps))
}

pub(crate) fn vpn_caps(asn: u32) -> Vec<Capability> {
    vec![
        Capability::Multiprotocol {
            family: Family::VPNV4,
        },
        Capability::Multiprotocol {
            family: Family::EVPN,
        },
        Capability::Multiprotocol {
            family: Family::RTC,
        },
        Capability::RouteRefresh,
        Capability::FourOctetAs { asn },
    ]
}

pub(crate) fn peer_open(hold: u16) -> Message {
    peer_open_with(AS, hold, PEER, vpn_caps(AS))
}

fn assert_notification(h: &Harness, code: ErrorCode, subcode: u8) {
    let n = h.notification_sent().expect("a NOTIFICATION was sent");
    assert_eq!((n.code, n.subcode), (code, subcode), "{n}");
    assert!(
        h.closed.contains(&ConnectionId(1)),
        "the connection is closed"
    );
    assert_ne!(h.state(), SessionState::Established);
}

#[test]
fn active_peer_is_dialled_at_once_and_reaches_established() {
    let mut h = Harness::new(speaker_config(false, 90));
    assert_eq!(h.dials, 1);
    assert_eq!(h.state(), SessionState::Connect);
    h.connect(1, Direction::Outgoing);
    assert_eq!(h.state(), SessionState::OpenSent);
    let Some(Message::Open(open)) = h.last_sent() else {
        panic!("an OPEN first")
    };
    assert_eq!(
        (open.asn(), open.hold_time, open.bgp_identifier),
        (AS, 90, LOCAL)
    );
    for cap in [
        Capability::Multiprotocol {
            family: Family::EVPN,
        },
        Capability::Multiprotocol {
            family: Family::VPNV4,
        },
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::FourOctetAs { asn: AS },
    ] {
        assert!(open.capabilities.contains(&cap), "{cap:?}");
    }
    h.receive(1, peer_open(30).encode(&DecodeContext::default()));
    assert_eq!(h.state(), SessionState::OpenConfirm);
    assert_eq!(h.last_sent(), Some(&Message::Keepalive));
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    assert_eq!(h.state(), SessionState::Established);
    // VPNv4, E-VPN and RT-Constraint in common; FlowSpec-VPN was not offered by the peer.
    assert_eq!(h.speaker.peer_status()[0].families.len(), 3);
    assert!(h.events.iter().any(
        |e| matches!(e, SpeakerEvent::Warning { message, .. } if message.contains("did not offer"))
    ));
}

#[test]
fn passive_peer_waits_in_active_and_accepts() {
    let mut h = Harness::new(speaker_config(true, 90));
    assert_eq!(h.dials, 0);
    assert_eq!(h.state(), SessionState::Active);
    h.connect(1, Direction::Incoming);
    assert_eq!(h.state(), SessionState::OpenSent);
    h.receive(1, peer_open(90).encode(&DecodeContext::default()));
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    assert_eq!(h.state(), SessionState::Established);
}

#[test]
fn keepalives_every_third_of_the_negotiated_hold_time() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(9);
    // Let the RT-Constraint wait end and its End-of-RIBs go (an UPDATE restarts the timer).
    h.advance(Duration::from_secs(2));
    let keepalives = |h: &Harness| {
        h.sent
            .iter()
            .filter(|(_, m)| matches!(m, Message::Keepalive))
            .count()
    };
    let before = keepalives(&h);
    h.advance(Duration::from_millis(2999));
    assert_eq!(keepalives(&h), before);
    h.advance(Duration::from_millis(1));
    assert_eq!(keepalives(&h), before + 1);
    h.advance(Duration::from_secs(3));
    assert_eq!(keepalives(&h), before + 2);
}

#[test]
fn hold_timer_expiry_sends_code_4() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(9);
    // An UPDATE resets the hold timer as a KEEPALIVE does (RFC 4271 §8.2.2).
    h.advance(Duration::from_secs(8));
    h.receive(
        1,
        Update::end_of_rib(Family::VPNV4).encode(&DecodeContext::default()),
    );
    h.advance(Duration::from_secs(8));
    assert_eq!(h.state(), SessionState::Established);
    h.advance(Duration::from_secs(1));
    assert_notification(&h, ErrorCode::HoldTimerExpired, 0);
}

#[test]
fn hold_time_zero_means_no_keepalives_and_no_expiry() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(0);
    let before = h.sent.len();
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.state(), SessionState::Established);
    assert!(h.sent[before..]
        .iter()
        .all(|(_, m)| !matches!(m, Message::Keepalive)));
}

#[test]
fn hold_time_of_one_or_two_is_refused() {
    for hold in [1u16, 2] {
        let mut h = Harness::new(speaker_config(false, 90));
        h.connect(1, Direction::Outgoing);
        h.receive(1, peer_open(hold).encode(&DecodeContext::default()));
        assert_notification(&h, ErrorCode::Open, 6);
    }
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(3);
}

#[test]
fn open_errors_have_their_subcodes() {
    let cases: Vec<(Vec<u8>, u8, Vec<u8>)> = vec![
        // Bad Peer AS, data: the 2-octet My AS field.
        (
            peer_open_with(64999, 90, PEER, vpn_caps(64999)).encode(&DecodeContext::default()),
            2,
            64999u16.to_be_bytes().to_vec(),
        ),
        // iBGP peer with our own identifier.
        (
            peer_open_with(AS, 90, LOCAL, vpn_caps(AS)).encode(&DecodeContext::default()),
            3,
            vec![],
        ),
        // No family in common: Unsupported Capability listing ours.
        (
            peer_open_with(
                AS,
                90,
                PEER,
                vec![Capability::Multiprotocol {
                    family: Family::IPV6_UNICAST,
                }],
            )
            .encode(&DecodeContext::default()),
            7,
            vec![],
        ),
    ];
    for (bytes, subcode, data) in cases {
        let mut h = Harness::new(speaker_config(false, 90));
        h.connect(1, Direction::Outgoing);
        h.receive(1, bytes);
        assert_notification(&h, ErrorCode::Open, subcode);
        if !data.is_empty() {
            assert_eq!(
                h.notification_sent().map(Notification::data_bytes),
                Some(data)
            );
        }
    }
    // Version 3: Unsupported Version Number, data: 4 (RFC 4271 §6.2).
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    let mut bytes = peer_open(90).encode(&DecodeContext::default());
    bytes[19] = 3;
    h.receive(1, bytes);
    assert_notification(&h, ErrorCode::Open, 1);
    assert_eq!(
        h.notification_sent().map(Notification::data_bytes),
        Some(vec![0, 4])
    );
    // An optional parameter other than Capabilities.
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    let body = [4u8, 0xfc, 0x00, 0, 90, 10, 0, 0, 2, 3, 1, 1, 0];
    h.receive(
        1,
        crate::wire::message::frame(crate::wire::message::MessageType::Open, &body),
    );
    assert_notification(&h, ErrorCode::Open, 4);
}

#[test]
fn unexpected_messages_are_fsm_errors_by_state() {
    // KEEPALIVE in OpenSent.
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    assert_notification(&h, ErrorCode::Fsm, 1);
    // UPDATE in OpenConfirm.
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    h.receive(1, peer_open(90).encode(&DecodeContext::default()));
    h.receive(
        1,
        Update::end_of_rib(Family::IPV4_UNICAST).encode(&DecodeContext::default()),
    );
    assert_notification(&h, ErrorCode::Fsm, 2);
    // OPEN in Established.
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    h.receive(1, peer_open(90).encode(&DecodeContext::default()));
    assert_notification(&h, ErrorCode::Fsm, 3);
}

#[test]
fn header_errors_and_malformed_updates_reset_with_their_notification() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    let mut bytes = Message::Keepalive.encode(&DecodeContext::default());
    bytes[0] = 0;
    h.receive(1, bytes);
    assert_notification(&h, ErrorCode::MessageHeader, 1);
    // An UPDATE whose attribute length overruns the message: Malformed Attribute List.
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    let body = [0u8, 0, 0, 9, 0x40, 1, 1, 0];
    h.receive(
        1,
        crate::wire::message::frame(crate::wire::message::MessageType::Update, &body),
    );
    assert_notification(&h, ErrorCode::Update, 1);
}

#[test]
fn a_notification_from_the_peer_ends_the_session_and_a_retry_follows_with_backoff() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    h.receive(
        1,
        Message::Notification(Notification::cease_shutdown("maintenance"))
            .encode(&DecodeContext::default()),
    );
    assert!(h.closed.contains(&ConnectionId(1)));
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, SpeakerEvent::NotificationReceived { .. })));
    assert_eq!(h.dials, 1);
    // ConnectRetry 5 s, up to 25 % jitter.
    h.advance(Duration::from_millis(4999));
    assert_eq!(h.dials, 1);
    h.advance(Duration::from_millis(1251));
    assert_eq!(h.dials, 2);
    h.speaker.handle_net(
        h.now,
        NetInput::DialFailed {
            peer: PeerId(0),
            reason: "refused".into(),
        },
    );
    h.drain();
    h.advance(Duration::from_millis(9999));
    assert_eq!(h.dials, 2, "the second retry waits twice as long");
    h.advance(Duration::from_millis(2501));
    assert_eq!(h.dials, 3);
}

#[test]
fn stable_session_loss_redials_at_once() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    h.advance(Duration::from_secs(120));
    h.speaker.handle_net(
        h.now,
        NetInput::Closed {
            conn: ConnectionId(1),
            reason: "reset by peer".into(),
        },
    );
    h.drain();
    assert_eq!(h.dials, 2);
    assert_eq!(h.state(), SessionState::Connect);
}

#[test]
fn shutdown_sends_cease_with_the_message_and_never_redials() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    h.speaker.shutdown(h.now, "node going down");
    h.drain();
    let n = h.notification_sent().expect("a Cease");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 2));
    assert_eq!(n.shutdown_message(), Some("node going down"));
    assert_eq!(h.state(), SessionState::Idle);
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.dials, 1);
}

#[test]
fn collision_keeps_the_connection_dialled_by_the_higher_identifier() {
    // The peer's identifier (10.0.0.2) is higher: its connection (incoming) stays.
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    h.connect(2, Direction::Incoming);
    h.receive(1, peer_open(90).encode(&DecodeContext::default()));
    h.receive(2, peer_open(90).encode(&DecodeContext::default()));
    let n = h.notification_sent().expect("a Cease");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 7));
    assert_eq!(h.closed, vec![ConnectionId(1)]);
    h.receive(2, Message::Keepalive.encode(&DecodeContext::default()));
    assert_eq!(h.state(), SessionState::Established);

    // With a lower peer identifier, our dialled connection stays.
    let mut h = Harness::new(speaker_config(false, 90));
    let low = Ipv4Addr::new(10, 0, 0, 0);
    h.connect(1, Direction::Outgoing);
    h.connect(2, Direction::Incoming);
    let open = peer_open_with(AS, 90, low, vpn_caps(AS)).encode(&DecodeContext::default());
    h.receive(2, open.clone());
    h.receive(1, open);
    assert_eq!(h.closed, vec![ConnectionId(2)]);

    // A new connection while Established is the one closed.
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    h.connect(2, Direction::Incoming);
    h.receive(2, peer_open(90).encode(&DecodeContext::default()));
    assert_eq!(h.closed, vec![ConnectionId(2)]);
    assert_eq!(h.state(), SessionState::Established);
}

#[test]
fn unknown_peers_are_refused() {
    let mut h = Harness::new(speaker_config(true, 90));
    h.speaker.handle_net(
        h.now,
        NetInput::Connected {
            conn: ConnectionId(9),
            direction: Direction::Incoming,
            peer: None,
            local: SocketAddr::new(IpAddr::V4(LOCAL), 179),
            remote: "10.9.9.9:50000".parse().unwrap_or_else(|_| unreachable!()),
        },
    );
    h.drain();
    assert_eq!(h.closed, vec![ConnectionId(9)]);
    assert!(matches!(
        h.events.last(),
        Some(SpeakerEvent::UnknownPeerRejected { .. })
    ));
}

#[test]
fn send_hold_timer_expires_when_nothing_is_written() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.establish(90);
    // Queue a KEEPALIVE the runtime never reports written.
    h.speaker.handle_timeout(h.now + Duration::from_secs(30));
    while let Some(out) = h.speaker.poll_output() {
        if let Output::Net(NetOutput::Close { conn }) = out {
            h.closed.push(conn);
        }
    }
    h.now = h.now + Duration::from_secs(30);
    // Keepalives keep being queued, none written: after 8 minutes (RFC 9687) the session goes.
    for _ in 0..20 {
        h.now = h.now + Duration::from_secs(30);
        h.speaker.handle_timeout(h.now);
        while let Some(out) = h.speaker.poll_output() {
            if let Output::Net(NetOutput::Close { conn }) = out {
                h.closed.push(conn);
            }
        }
    }
    assert!(h.closed.contains(&ConnectionId(1)));
}

#[test]
fn only_negotiated_families_get_an_end_of_rib() {
    let mut h = Harness::new(speaker_config(false, 90));
    h.connect(1, Direction::Outgoing);
    let caps = vec![
        Capability::Multiprotocol {
            family: Family::VPNV4,
        },
        Capability::Multiprotocol {
            family: Family::EVPN,
        },
        Capability::FourOctetAs { asn: AS },
    ];
    h.receive(
        1,
        peer_open_with(AS, 90, PEER, caps).encode(&DecodeContext::default()),
    );
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    h.advance(Duration::from_secs(5));
    let eors: Vec<Option<Family>> = h
        .sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Update(d) => Some(d.update.as_end_of_rib()),
            _ => None,
        })
        .collect();
    assert_eq!(eors, vec![Some(Family::VPNV4), Some(Family::EVPN)]);
}
