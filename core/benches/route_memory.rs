//! Memory per stored VPN route (issue 4 "Speed": at most 300 bytes), measured with a counting
//! global allocator: the bytes live after routes are installed, minus the bytes live before,
//! divided by the number of routes.
//!
//! Received routes: an Established iBGP peer announces `RECEIVED` routes (100 per UPDATE, then one, with one
//! import RT) to a speaker with one attached instance importing them; each is stored in the
//! Adj-RIB-In, indexed by route target in the route table, and tracked by the instance's
//! best-route tracker (whose MAC/IP routes also give the ARP-suppression entries). Local routes:
//! `LOCAL` endpoints attached over the API to one instance; each is the endpoint's state in the
//! instance, its route in the route table and the peer's Adj-RIB-Out.
//!
//! Run: `cargo bench -p bagpipe-core --bench route_memory`.

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
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The system allocator, counting the bytes live (as requested, without allocator overhead) and
/// the allocations live.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> (usize, usize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const REMOTE_PE: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
const AS: u32 = 64512;
const CONN: ConnectionId = ConnectionId(1);
const RECEIVED: u32 = 100_000;
const LOCAL_ROUTES: u32 = 10_000;

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

/// Drains the speaker as a runtime would; returns the `SetupRemoteEndpoint` operations seen.
fn drain(speaker: &mut Speaker, now: Instant) -> usize {
    let mut setups = 0;
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
                setups += ops
                    .iter()
                    .filter(|op| matches!(op, Operation::SetupRemoteEndpoint { .. }))
                    .count();
                speaker.dataplane_done(now, batch, Ok(()));
            }
            Output::ApiReply { result, .. } => result.expect("attach accepted"),
            _ => {}
        }
    }
    setups
}

fn receive(speaker: &mut Speaker, now: Instant, bytes: Vec<u8>) -> usize {
    speaker.handle_net(now, NetInput::Received { conn: CONN, bytes });
    drain(speaker, now)
}

fn attach(s: &mut Speaker, now: Instant, ticket: u64, json: &str) {
    let request = parse_attach(json.as_bytes()).expect("a valid attach");
    s.api(now, ApiTicket(ticket), ApiCall::Attach(Box::new(request)));
    drain(s, now);
}

/// A speaker with one Established iBGP peer that asked for every route (RT-Constraint default
/// membership, then End-of-RIB), and one instance attached (`json`).
fn speaker(json: &str) -> (Speaker, Instant) {
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
    let mut capabilities: Vec<Capability> = [Family::VPNV4, Family::EVPN, Family::RTC]
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
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::RTC,
            next_hop: NextHop::Ipv4(REMOTE_PE),
            nlri: vec![PathNlri::new(Nlri::Rtc(RtcMembership::Default))],
            undecoded_nlri: Vec::new(),
        }),
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
    attach(&mut s, now, 1, json);
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

fn vpnv4_update(first: u32, per_update: u32) -> Vec<u8> {
    let nlri = (first..first + per_update)
        .map(|i| {
            let prefix = Ipv4Prefix::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)), 24).expect("p");
            let label = Label::new(16 + i).expect("label");
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
        })
        .collect();
    let next_hop = NextHop::VpnIpv4 {
        rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
        addr: REMOTE_PE,
    };
    update(Family::VPNV4, next_hop, nlri, vec![rt("64512:200")])
}

fn mac_ip_update(first: u32, per_update: u32) -> Vec<u8> {
    let nlri = (first..first + per_update)
        .map(|i| {
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
        })
        .collect();
    let comms = vec![
        rt("64512:100"),
        ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Vxlan,
        },
    ];
    update(Family::EVPN, NextHop::Ipv4(REMOTE_PE), nlri, comms)
}

fn received(name: &str, json: &str, make: fn(u32, u32) -> Vec<u8>, per_update: u32) {
    let (mut s, now) = speaker(json);
    let (bytes0, blocks0) = live();
    let mut setups = 0;
    for first in (0..RECEIVED).step_by(per_update as usize) {
        setups += receive(&mut s, now, make(first, per_update));
    }
    let (bytes1, blocks1) = live();
    assert_eq!(setups, RECEIVED as usize, "{name}: one endpoint per route");
    assert_eq!(s.rib().route_counts().received, RECEIVED as usize + 1);
    let n = RECEIVED as f64;
    println!(
        "received {name:<12} {RECEIVED} routes, {per_update:>3} per UPDATE: {:>7.1} bytes/route live, {:>5.2} allocations/route",
        (bytes1 - bytes0) as f64 / n,
        (blocks1 - blocks0) as f64 / n
    );
}

fn local(name: &str, vpn_type: &str, import_rt: &str) {
    let first = format!(
        r#"{{"vpn_type": "{vpn_type}", "vpn_instance_id": "inst", "mac_address": "02:00:00:00:00:01",
        "ip_address": "10.0.0.1/8", "gateway_ip": "10.0.0.254", "local_port": {{"linuxif": "tap0"}},
        "import_rt": "{import_rt}", "export_rt": "{import_rt}"}}"#
    );
    let (mut s, now) = speaker(&first);
    let local_before = s.rib().route_counts().local;
    let (bytes0, blocks0) = live();
    for i in 1..=LOCAL_ROUTES {
        let b = i.to_be_bytes();
        let json = format!(
            r#"{{"vpn_type": "{vpn_type}", "vpn_instance_id": "inst",
            "mac_address": "02:01:{:02x}:{:02x}:{:02x}:{:02x}", "ip_address": "10.{}.{}.{}/8",
            "gateway_ip": "10.0.0.254", "local_port": {{"linuxif": "tap{i}"}},
            "import_rt": "{import_rt}", "export_rt": "{import_rt}"}}"#,
            b[0],
            b[1],
            b[2],
            b[3],
            b[1] + 1,
            b[2],
            b[3]
        );
        attach(&mut s, now, u64::from(i) + 1, &json);
    }
    let (bytes1, blocks1) = live();
    let added = s.rib().route_counts().local - local_before;
    assert_eq!(
        added, LOCAL_ROUTES as usize,
        "{name}: one route per endpoint"
    );
    let n = f64::from(LOCAL_ROUTES);
    println!(
        "local    {name:<12} {LOCAL_ROUTES} routes: {:>7.1} bytes/route live, {:>5.2} allocations/route \
         (endpoint, route table, Adj-RIB-Out)",
        (bytes1 - bytes0) as f64 / n,
        (blocks1 - blocks0) as f64 / n
    );
}

fn main() {
    // Under `cargo test --benches` (or `cargo bench` with a filter), run nothing heavy.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("memory per stored route (requested bytes, allocator overhead excluded; target 300)");
    // 100 routes per UPDATE, and one: GoBGP, as route reflector, packs only IPv4 unicast routes
    // with equal attributes (and only in large batches); every VPN route comes alone.
    for per_update in [100, 1] {
        received("vpnv4", IPVPN_ATTACH, vpnv4_update, per_update);
        received("evpn_mac_ip", EVPN_ATTACH, mac_ip_update, per_update);
    }
    local("ipvpn", "ipvpn", "64512:200");
    local("evpn", "evpn", "64512:100");
}
