//! Received routes through the whole speaker (issue 4 "Speed": at least 1 million routes per
//! second on one core): UPDATE bytes from an Established iBGP peer → framer and decoder →
//! Adj-RIB-In → route table → VPN instance → best-route tracker → dataplane operations, drained
//! with `poll_output` and acknowledged with `dataplane_done`, as a runtime does.
//!
//! Run: `cargo bench -p bagpipe-core --bench route_pipeline`. Each iteration gets a fresh speaker
//! (session Established, RT-Constraint default membership and End-of-RIB received, one instance
//! attached over the API that imports the routes' route target), built outside the timing, and
//! feeds it `ROUTES` new routes with distinct keys, `PER_UPDATE` to an UPDATE, one UPDATE per
//! `NetInput::Received`.

use bagpipe_core::api::parse_attach;
use bagpipe_core::config::{PeerConfig, SpeakerConfig, VpnType};
use bagpipe_core::dataplane::{Capabilities, Direction as DpDirection, Encapsulation, Operation};
use bagpipe_core::speaker::{
    ApiCall, ApiTicket, ConnectionId, Direction, NetInput, NetOutput, Output, PeerId, Speaker,
};
use bagpipe_core::time::Instant;
use bagpipe_core::wire::attr::{AsPath, MpReach, NextHop, Origin, PathAttribute, PathAttributes};
use bagpipe_core::wire::capability::Capability;
use bagpipe_core::wire::extcomm::{ExtendedCommunity, TunnelType};
use bagpipe_core::wire::message::{Message, Open};
use bagpipe_core::wire::nlri::{
    Esi, EvpnRoute, IpPrefix, Ipv4Prefix, Nlri, PathNlri, RtcMembership, VpnRoute,
};
use bagpipe_core::wire::update::Update;
use bagpipe_core::wire::{
    DecodeContext, Family, Label, LabelStackEntry, MacAddress, RouteDistinguisher, Vni,
};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const REMOTE_PE: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
const AS: u32 = 64512;
const CONN: ConnectionId = ConnectionId(1);
/// Routes fed per measured iteration.
const ROUTES: u32 = 10_000;

const EVPN_ATTACH: &str = r#"{"vpn_type": "evpn", "vpn_instance_id": "net1",
  "mac_address": "02:00:00:00:00:01", "ip_address": "10.100.0.11/24",
  "local_port": {"linuxif": "tap1"}, "import_rt": ["64512:100"], "export_rt": ["64512:100"]}"#;

const IPVPN_ATTACH: &str = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1",
  "mac_address": "02:00:00:00:00:02", "ip_address": "10.50.0.11/24", "gateway_ip": "10.50.0.1",
  "local_port": {"linuxif": "tap2"}, "import_rt": "64512:200", "export_rt": "64512:200"}"#;

fn ctx() -> DecodeContext {
    DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC].into(),
        four_octet_as: true,
        ..DecodeContext::default()
    }
}

fn caps(vpn_type: VpnType) -> Capabilities {
    Capabilities {
        driver: "bench".into(),
        vpn_type,
        encapsulations: match vpn_type {
            VpnType::Evpn => vec![Encapsulation::VXLAN],
            VpnType::Ipvpn => vec![Encapsulation::Default, Encapsulation::MPLS],
        },
        ecmp: false,
        directions: vec![DpDirection::Both],
        needs_cleanup_assist: false,
    }
}

/// Drains the speaker as a runtime would: writes acknowledged, dataplane batches accepted.
/// Returns how many `SetupRemoteEndpoint` operations came out, and how many operations in all.
fn drain(speaker: &mut Speaker, now: Instant) -> (usize, usize) {
    let (mut setups, mut all) = (0, 0);
    while let Some(out) = speaker.poll_output() {
        match out {
            Output::Net(NetOutput::Send { conn, bytes }) => speaker.handle_net(
                now,
                NetInput::Written {
                    conn,
                    len: bytes.len(),
                },
            ),
            Output::Dataplane { batch, ops, .. } => {
                all += ops.len();
                setups += ops
                    .iter()
                    .filter(|op| matches!(op, Operation::SetupRemoteEndpoint { .. }))
                    .count();
                speaker.dataplane_done(now, batch, Ok(()));
            }
            _ => {}
        }
    }
    (setups, all)
}

fn receive(speaker: &mut Speaker, now: Instant, bytes: Vec<u8>) -> (usize, usize) {
    speaker.handle_net(now, NetInput::Received { conn: CONN, bytes });
    drain(speaker, now)
}

/// A speaker with one Established iBGP peer that asked for every route (RT-Constraint default
/// membership, then End-of-RIB), and one instance attached (`attach` JSON).
fn speaker(attach: &str) -> (Speaker, Instant) {
    let mut peer = PeerConfig::new(IpAddr::V4(PEER), AS);
    peer.hold_time = Duration::from_secs(90);
    let config = SpeakerConfig {
        local_as: AS,
        router_id: LOCAL,
        local_address: IpAddr::V4(LOCAL),
        peers: vec![peer],
    };
    let now = Instant::from_millis(1000);
    let mut s = Speaker::new(config, 1);
    for t in [VpnType::Evpn, VpnType::Ipvpn] {
        s.register_driver(t, IpAddr::V4(LOCAL), caps(t));
    }
    s.start(now);
    drain(&mut s, now);
    s.handle_net(
        now,
        NetInput::Connected {
            conn: CONN,
            direction: Direction::Outgoing,
            peer: Some(PeerId(0)),
            local: SocketAddr::new(IpAddr::V4(LOCAL), 40001),
            remote: SocketAddr::new(IpAddr::V4(PEER), 179),
        },
    );
    drain(&mut s, now);
    let families = [Family::VPNV4, Family::EVPN, Family::RTC];
    let mut capabilities: Vec<Capability> = families
        .into_iter()
        .map(|family| Capability::Multiprotocol { family })
        .collect();
    capabilities.push(Capability::RouteRefresh);
    capabilities.push(Capability::FourOctetAs { asn: AS });
    let open = Message::Open(Open::new(AS, 90, PEER, capabilities));
    receive(&mut s, now, open.encode(&DecodeContext::default()));
    receive(
        &mut s,
        now,
        Message::Keepalive.encode(&DecodeContext::default()),
    );
    let membership = MpReach {
        family: Family::RTC,
        next_hop: NextHop::Ipv4(REMOTE_PE),
        nlri: vec![PathNlri::new(Nlri::Rtc(RtcMembership::Default))],
        undecoded_nlri: Vec::new(),
    };
    let list = vec![
        PathAttribute::MpReach(membership),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
    ];
    let update = Update {
        attributes: PathAttributes { list },
        ..Update::default()
    };
    receive(&mut s, now, update.encode(&ctx()));
    receive(&mut s, now, Update::end_of_rib(Family::RTC).encode(&ctx()));
    let request = parse_attach(attach.as_bytes()).expect("a valid attach");
    s.api(now, ApiTicket(1), ApiCall::Attach(Box::new(request)));
    drain(&mut s, now);
    assert!(
        s.vpn().instances().next().is_some(),
        "the attach created an instance"
    );
    (s, now)
}

fn update(
    family: Family,
    next_hop: NextHop,
    nlri: Vec<PathNlri>,
    comms: Vec<ExtendedCommunity>,
) -> Vec<u8> {
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family,
            next_hop,
            nlri,
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
        PathAttribute::ExtendedCommunities(comms.into()),
    ];
    Update {
        attributes: PathAttributes { list },
        ..Update::default()
    }
    .encode(&ctx())
}

fn rt(s: &str) -> ExtendedCommunity {
    ExtendedCommunity::RouteTarget {
        target: s.parse().expect("rt"),
    }
}

/// Route `i` of the VPNv4 stream: 10.x.y.0/24 with its own label, one RD, import RT 64512:200.
pub fn vpnv4_route(i: u32) -> PathNlri {
    let prefix = Ipv4Prefix::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)), 24).expect("prefix");
    let label = Label::new(16 + i % 1_000_000).expect("label");
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE_PE,
            number: 7,
        },
        IpPrefix::V4(prefix),
        vec![LabelStackEntry::from_label(label, true)],
    )
    .expect("route");
    PathNlri::new(Nlri::Vpn(route))
}

/// Route `i` of the E-VPN stream: MAC fa:16:xx:xx:xx:xx with IP 10.x.x.x, VNI 5010.
pub fn mac_ip_route(i: u32) -> PathNlri {
    let b = i.to_be_bytes();
    PathNlri::new(Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher::Ipv4 {
            addr: REMOTE_PE,
            number: 1,
        },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac: MacAddress([0xfa, 0x16, b[0], b[1], b[2], b[3]]),
        ip: Some(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 | i))),
        label1: LabelStackEntry::from_vni(Vni::new(5010).expect("vni")),
        label2: None,
    }))
}

/// `routes` VPNv4 routes, `per_update` to an UPDATE.
pub fn vpnv4_updates(routes: u32, per_update: u32) -> Vec<Vec<u8>> {
    (0..routes)
        .step_by(per_update as usize)
        .map(|first| {
            let nlri = (first..(first + per_update).min(routes))
                .map(vpnv4_route)
                .collect();
            let next_hop = NextHop::VpnIpv4 {
                rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
                addr: REMOTE_PE,
            };
            update(Family::VPNV4, next_hop, nlri, vec![rt("64512:200")])
        })
        .collect()
}

/// `routes` E-VPN MAC/IP routes, `per_update` to an UPDATE.
pub fn mac_ip_updates(routes: u32, per_update: u32) -> Vec<Vec<u8>> {
    (0..routes)
        .step_by(per_update as usize)
        .map(|first| {
            let nlri = (first..(first + per_update).min(routes))
                .map(mac_ip_route)
                .collect();
            let comms = vec![
                rt("64512:100"),
                ExtendedCommunity::Encapsulation {
                    tunnel_type: TunnelType::Vxlan,
                },
            ];
            update(Family::EVPN, NextHop::Ipv4(REMOTE_PE), nlri, comms)
        })
        .collect()
}

struct Case {
    name: &'static str,
    attach: &'static str,
    updates: fn(u32, u32) -> Vec<Vec<u8>>,
    /// Operations per route: SetupRemoteEndpoint (+ AddNeighbour for a MAC/IP route with an IP).
    ops_per_route: usize,
}

const CASES: [Case; 2] = [
    Case {
        name: "vpnv4",
        attach: IPVPN_ATTACH,
        updates: vpnv4_updates,
        ops_per_route: 1,
    },
    Case {
        name: "evpn_mac_ip",
        attach: EVPN_ATTACH,
        updates: mac_ip_updates,
        ops_per_route: 2,
    },
];

/// Feeds every UPDATE; returns (SetupRemoteEndpoint operations, all operations).
fn feed(speaker: &mut Speaker, now: Instant, updates: Vec<Vec<u8>>) -> (usize, usize) {
    let (mut setups, mut all) = (0, 0);
    for bytes in updates {
        let (s, a) = receive(speaker, now, bytes);
        setups += s;
        all += a;
    }
    (setups, all)
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_pipeline");
    group.throughput(Throughput::Elements(u64::from(ROUTES)));
    for case in &CASES {
        for per_update in [1, 10, 100] {
            // The work happens: N routes give N SetupRemoteEndpoint operations.
            let (mut s, now) = speaker(case.attach);
            let (setups, all) = feed(&mut s, now, (case.updates)(ROUTES, per_update));
            assert_eq!(
                setups, ROUTES as usize,
                "{}: one endpoint per route",
                case.name
            );
            assert_eq!(all, ROUTES as usize * case.ops_per_route, "{}", case.name);
            assert_eq!(
                s.rib().route_counts().received,
                ROUTES as usize + 1,
                "{}: every route stored (and the membership)",
                case.name
            );
            group.bench_with_input(
                BenchmarkId::new(case.name, format!("{per_update}_per_update")),
                &per_update,
                |b, &per_update| {
                    b.iter_batched(
                        || {
                            let (s, now) = speaker(case.attach);
                            (s, now, (case.updates)(ROUTES, per_update))
                        },
                        |(mut s, now, updates)| {
                            let counts = feed(&mut s, now, updates);
                            (s, counts)
                        },
                        BatchSize::PerIteration,
                    );
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
