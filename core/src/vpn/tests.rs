//! VPN instances driven through a speaker with one iBGP peer: attach and detach over the API,
//! the routes advertised for them, the routes received turned into dataplane operations, and
//! nothing applied when a request or the dataplane fails.

use crate::api::{parse_attach, parse_detach};
use crate::config::VpnType;
use crate::dataplane::{
    Capabilities, Destination, Direction, Encapsulation, FloodEntry, NeighbourEntry, Operation,
    TunnelId,
};
use crate::session::tests::{speaker_config, Harness};
use crate::speaker::{ApiCall, ApiTicket};
use crate::wire::attr::{
    AsPath, MpReach, NextHop, Origin, PathAttribute, PathAttributes, PmsiTunnel,
};
use crate::wire::extcomm::{ExtendedCommunity, TunnelType};
use crate::wire::message::Message;
use crate::wire::nlri::{Esi, EvpnRoute, IpPrefix, Ipv4Prefix, Nlri, PathNlri, VpnRoute};
use crate::wire::update::Update;
use crate::wire::{
    DecodeContext, Family, Label, LabelStackEntry, MacAddress, RouteDistinguisher, Vni,
};
use std::net::{IpAddr, Ipv4Addr};

const DATAPLANE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);

fn evpn_caps() -> Capabilities {
    Capabilities {
        driver: "dummy".into(),
        vpn_type: VpnType::Evpn,
        encapsulations: vec![Encapsulation::VXLAN],
        ecmp: false,
        directions: vec![Direction::Both],
        needs_cleanup_assist: false,
    }
}

fn ipvpn_caps() -> Capabilities {
    Capabilities {
        driver: "dummy".into(),
        vpn_type: VpnType::Ipvpn,
        encapsulations: vec![Encapsulation::Default, Encapsulation::MPLS],
        ecmp: false,
        directions: vec![Direction::Both],
        needs_cleanup_assist: false,
    }
}

fn harness() -> Harness {
    let mut h = Harness::with_drivers(
        speaker_config(false, 90),
        vec![
            (VpnType::Evpn, IpAddr::V4(DATAPLANE), evpn_caps()),
            (VpnType::Ipvpn, IpAddr::V4(DATAPLANE), ipvpn_caps()),
        ],
    );
    // A reflector with the VPN families and FlowSpec-VPN.
    let mut caps = crate::session::tests::vpn_caps(64512);
    caps.push(crate::wire::capability::Capability::Multiprotocol {
        family: Family::FLOWSPEC_VPNV4,
    });
    h.connect(1, crate::speaker::Direction::Outgoing);
    let open = crate::session::tests::peer_open_with(64512, 90, Ipv4Addr::new(10, 0, 0, 2), caps);
    h.receive(1, open.encode(&DecodeContext::default()));
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    // The reflector asks for every route (RFC 4684 default membership) and ends its RT-Constraint
    // table, so that VPN routes flow at once.
    let default = Nlri::Rtc(crate::wire::nlri::RtcMembership::Default);
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::RTC,
            next_hop: NextHop::Ipv4(REMOTE),
            nlri: vec![PathNlri {
                path_id: None,
                nlri: default,
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
    ];
    h.receive(
        1,
        Update {
            attributes: PathAttributes { list },
            ..Update::default()
        }
        .encode(&ctx),
    );
    h.receive(1, Update::end_of_rib(Family::RTC).encode(&ctx));
    h
}

fn attach(h: &mut Harness, ticket: u64, json: &str) {
    let request = parse_attach(json.as_bytes()).expect("a valid attach");
    h.speaker
        .api(h.now, ApiTicket(ticket), ApiCall::Attach(Box::new(request)));
    h.drain();
}

fn detach(h: &mut Harness, ticket: u64, json: &str) {
    let request = parse_detach(json.as_bytes()).expect("a valid detach");
    h.speaker
        .api(h.now, ApiTicket(ticket), ApiCall::Detach(Box::new(request)));
    h.drain();
}

fn reply(h: &Harness, ticket: u64) -> &Result<(), crate::vpn::VpnError> {
    &h.replies
        .iter()
        .find(|(t, _)| *t == ApiTicket(ticket))
        .expect("an answer")
        .1
}

const EVPN_ATTACH: &str = r#"{"vpn_type": "evpn", "vpn_instance_id": "net1",
  "mac_address": "02:00:00:00:00:01", "ip_address": "10.100.0.11/24",
  "local_port": {"linuxif": "tap1"}, "import_rt": ["64512:100"], "export_rt": ["64512:100"]}"#;

const IPVPN_ATTACH: &str = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1",
  "mac_address": "02:00:00:00:00:02", "ip_address": "10.50.0.11/24", "gateway_ip": "10.50.0.1",
  "local_port": {"linuxif": "tap2"}, "import_rt": "64512:200", "export_rt": "64512:200"}"#;

/// The routes we sent to the peer, announced (true) or withdrawn (false), in order.
fn sent_routes(h: &Harness) -> Vec<(bool, Nlri, Option<PathAttributes>)> {
    let mut out = Vec::new();
    for (_, m) in &h.sent {
        let Message::Update(d) = m else { continue };
        if let Some(r) = d.update.attributes.mp_reach() {
            for n in &r.nlri {
                out.push((true, n.nlri.clone(), Some(d.update.attributes.clone())));
            }
        }
        if let Some(u) = d.update.attributes.mp_unreach() {
            for n in &u.withdrawn {
                out.push((false, n.nlri.clone(), None));
            }
        }
    }
    out
}

fn has_community(attrs: &PathAttributes, c: &ExtendedCommunity) -> bool {
    attrs.extended_communities().contains(c)
}

#[test]
fn evpn_attach_creates_the_instance_then_advertises_multicast_and_mac_ip_routes() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    assert_eq!(reply(&h, 1), &Ok(()));
    let (vpn_type, ops) = &h.batches[0];
    assert_eq!(*vpn_type, VpnType::Evpn);
    let [Operation::CreateInstance(spec), Operation::VifPlugged { port, .. }] = ops.as_slice()
    else {
        panic!("create then plug: {ops:?}")
    };
    let TunnelId::Vni(vni) = spec.id else {
        panic!("a VXLAN instance has a VNI")
    };
    assert_eq!(port.interface, "tap1");
    let routes = sent_routes(&h);
    let rd = RouteDistinguisher::Ipv4 {
        addr: Ipv4Addr::new(10, 0, 0, 1),
        number: 0,
    };
    let multicast = routes.iter().find_map(|(up, n, a)| match n {
        Nlri::Evpn(EvpnRoute::InclusiveMulticast {
            rd: r, originator, ..
        }) if *up => Some((*r, *originator, a.clone()?)),
        _ => None,
    });
    let (mrd, originator, attrs) = multicast.expect("an Inclusive Multicast route");
    assert_eq!(
        (mrd, originator),
        (rd, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    let pmsi = attrs.pmsi_tunnel().expect("PMSI Tunnel");
    assert_eq!(pmsi.tunnel_type, PmsiTunnel::INGRESS_REPLICATION);
    assert_eq!(
        pmsi.label.vni(),
        vni,
        "the VNI raw in the label field (RFC 8365)"
    );
    assert_eq!(
        pmsi.ingress_replication_endpoint(),
        Some(IpAddr::V4(DATAPLANE))
    );
    let rt = "64512:100".parse().expect("rt");
    assert!(has_community(
        &attrs,
        &ExtendedCommunity::RouteTarget { target: rt }
    ));
    assert!(has_community(
        &attrs,
        &ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Vxlan
        }
    ));
    let mac_ip = routes.iter().find_map(|(up, n, a)| match n {
        Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
            mac,
            ip,
            label1,
            rd: r,
            ..
        }) if *up => Some((*mac, *ip, *label1, *r, a.clone()?)),
        _ => None,
    });
    let (mac, ip, label1, mrd, attrs) = mac_ip.expect("a MAC/IP route");
    assert_eq!(mac, MacAddress([2, 0, 0, 0, 0, 1]));
    assert_eq!(ip, Some(IpAddr::V4(Ipv4Addr::new(10, 100, 0, 11))));
    assert_eq!(label1.vni(), vni);
    assert_eq!(mrd, rd);
    assert_eq!(attrs.local_pref(), Some(100));
    assert_eq!(
        attrs.mp_reach().map(|m| m.next_hop.clone()),
        Some(NextHop::Ipv4(DATAPLANE))
    );
}

#[test]
fn the_last_detach_withdraws_every_route_and_cleans_the_instance() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let before = sent_routes(&h).len();
    detach(
        &mut h,
        2,
        r#"{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "02:00:00:00:00:01",
            "ip_address": "10.100.0.11/24", "local_port": {"linuxif": "tap1"}}"#,
    );
    assert_eq!(reply(&h, 2), &Ok(()));
    let ops = &h.batches[1].1;
    assert!(matches!(
        ops.first(),
        Some(Operation::VifUnplugged {
            last_endpoint: true,
            ..
        })
    ));
    assert!(matches!(
        ops.last(),
        Some(Operation::CleanupInstance { .. })
    ));
    let withdrawn: Vec<_> = sent_routes(&h)[before..]
        .iter()
        .filter(|(up, ..)| !up)
        .cloned()
        .collect();
    // The MAC/IP and multicast routes, and our RT-Constraint membership for 64512:100.
    assert_eq!(withdrawn.len(), 3, "{withdrawn:?}");
    assert!(matches!(
        withdrawn[0].1,
        Nlri::Evpn(EvpnRoute::MacIpAdvertisement { .. })
    ));
    assert!(matches!(
        withdrawn[1].1,
        Nlri::Evpn(EvpnRoute::InclusiveMulticast { .. })
    ));
    assert!(matches!(withdrawn[2].1, Nlri::Rtc(_)));
    assert!(h.speaker.vpn().instances().next().is_none());
    // The id is free again: a new attach creates a new instance.
    attach(&mut h, 3, EVPN_ATTACH);
    assert_eq!(reply(&h, 3), &Ok(()));
}

#[test]
fn a_failed_dataplane_leaves_nothing_behind() {
    let mut h = harness();
    h.fail_batches = true;
    attach(&mut h, 1, EVPN_ATTACH);
    let Err(e) = reply(&h, 1) else {
        panic!("the attach fails")
    };
    assert_eq!(e.http_status(), 500);
    assert!(h.speaker.vpn().instances().next().is_none());
    assert!(sent_routes(&h).is_empty(), "nothing advertised");
    // What the driver may have created is undone.
    assert!(matches!(
        h.batches.last().map(|b| b.1.as_slice()),
        Some([Operation::CleanupInstance { .. }])
    ));
    h.fail_batches = false;
    attach(&mut h, 2, EVPN_ATTACH);
    assert_eq!(reply(&h, 2), &Ok(()));
}

#[test]
fn state_errors_are_client_errors_and_change_nothing() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let batches = h.batches.len();
    let sent = h.sent.len();
    // Unknown VPN on detach (reference §9 item 14).
    detach(
        &mut h,
        2,
        r#"{"vpn_type": "evpn", "vpn_instance_id": "nope", "mac_address": "02:00:00:00:00:01",
            "local_port": {"linuxif": "tap1"}}"#,
    );
    // The same MAC on another port.
    attach(&mut h, 3, &EVPN_ATTACH.replace("tap1", "tap9"));
    // The same id with another type.
    attach(&mut h, 4, &IPVPN_ATTACH.replace("vrf1", "net1"));
    // Detach of a MAC that is not plugged.
    detach(
        &mut h,
        5,
        r#"{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "02:00:00:00:00:99",
            "local_port": {"linuxif": "tap1"}}"#,
    );
    // A forced VNI already in use.
    attach(
        &mut h,
        7,
        &EVPN_ATTACH
            .replace("\"net1\"", "\"net2\"")
            .replace("\"import_rt\"", "\"vni\": 5000, \"import_rt\""),
    );
    let batches_after_6 = h.batches.len();
    attach(
        &mut h,
        8,
        &EVPN_ATTACH
            .replace("\"net1\"", "\"net3\"")
            .replace("\"import_rt\"", "\"vni\": 5000, \"import_rt\""),
    );
    for ticket in [2, 3, 4, 5, 8] {
        let Err(e) = reply(&h, ticket) else {
            panic!("ticket {ticket} must fail")
        };
        assert_eq!(e.http_status(), 400, "ticket {ticket}: {e}");
    }
    assert!(matches!(reply(&h, 2), Err(e) if e.to_string() == "VPN nope could not be found"));
    assert_eq!(reply(&h, 7), &Ok(()));
    assert_eq!(h.batches.len(), batches_after_6);
    assert!(h.batches.len() >= batches);
    assert!(h.sent.len() >= sent);
}

#[test]
fn ipvpn_attach_advertises_a_host_route_with_the_per_mac_label_and_imports_with_an_import_rt() {
    let mut h = harness();
    attach(&mut h, 1, IPVPN_ATTACH);
    assert_eq!(reply(&h, 1), &Ok(()));
    let Some(Operation::VifPlugged { port, .. }) = h.batches[0].1.get(1) else {
        panic!()
    };
    let label = port.label.expect("a per-MAC label");
    let route = sent_routes(&h).into_iter().find_map(|(up, n, a)| match n {
        Nlri::Vpn(v) if up => Some((v, a?)),
        _ => None,
    });
    let (v, attrs) = route.expect("a VPN-IPv4 route");
    assert_eq!(
        v.prefix,
        IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 50, 0, 11), 32).expect("prefix"))
    );
    assert_eq!(
        v.labels.as_slice(),
        &[LabelStackEntry::from_label(label, true)]
    );
    assert_eq!(
        attrs.mp_reach().map(|m| m.next_hop.clone()),
        Some(NextHop::VpnIpv4 {
            rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
            addr: DATAPLANE
        })
    );
    assert!(has_community(
        &attrs,
        &ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Mpls
        }
    ));

    // A route from the peer with our import RT is programmed; one without is not.
    let imported = vpn_update("10.60.0.0", 24, 3000, "64512:200");
    let foreign = vpn_update("10.61.0.0", 24, 3001, "64512:999");
    let before = h.batches.len();
    h.receive(1, foreign);
    h.receive(1, imported);
    let ops: Vec<&Operation> = h.batches[before..].iter().flat_map(|b| &b.1).collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    let Operation::SetupRemoteEndpoint { endpoint, .. } = ops[0] else {
        panic!("{ops:?}")
    };
    assert_eq!(
        endpoint.destination,
        Destination::Prefix("10.60.0.0/24".parse().expect("net"))
    );
    assert_eq!(endpoint.next_hop.remote_pe, IpAddr::V4(REMOTE));
    assert_eq!(
        endpoint.next_hop.id,
        TunnelId::Label(Label::new(3000).expect("label"))
    );
    assert_eq!(endpoint.next_hop.encapsulation, Encapsulation::Default);
}

#[test]
fn received_evpn_routes_become_fdb_flood_and_neighbour_entries() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let before = h.batches.len();
    let mac = MacAddress([2, 0, 0, 0, 0, 0x42]);
    h.receive(
        1,
        evpn_mac_update(mac, Some(Ipv4Addr::new(10, 100, 0, 42)), 5010, true),
    );
    h.receive(1, evpn_multicast_update(5010));
    // No VXLAN encapsulation community: not usable by a VXLAN driver.
    h.receive(
        1,
        evpn_mac_update(MacAddress([2, 0, 0, 0, 0, 0x43]), None, 5010, false),
    );
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    let vni = TunnelId::Vni(Vni::new(5010).expect("vni"));
    assert!(
        ops.iter().any(
            |op| matches!(op, Operation::SetupRemoteEndpoint { endpoint, .. }
        if endpoint.destination == Destination::Mac(mac) && endpoint.next_hop.id == vni
            && endpoint.next_hop.remote_pe == IpAddr::V4(REMOTE))
        ),
        "{ops:?}"
    );
    assert!(ops.contains(&Operation::AddNeighbour {
        instance: ops[0].instance(),
        entry: NeighbourEntry {
            ip: IpAddr::V4(Ipv4Addr::new(10, 100, 0, 42)),
            mac
        },
    }));
    assert!(ops.contains(&Operation::AddFloodEntry {
        instance: ops[0].instance(),
        entry: FloodEntry {
            remote_vtep: IpAddr::V4(REMOTE),
            id: vni,
            encapsulation: Encapsulation::VXLAN
        },
    }));
    assert_eq!(ops.len(), 3, "the route without VXLAN is ignored: {ops:?}");
    assert!(h.events.iter().any(|e| matches!(e, crate::speaker::SpeakerEvent::VpnWarning { message } if message.contains("encapsulations"))));
}

fn update_bytes(
    family: Family,
    nlri: Nlri,
    next_hop: NextHop,
    mut extra: Vec<PathAttribute>,
    rt: &str,
    vxlan: bool,
) -> Vec<u8> {
    let mut comms = vec![ExtendedCommunity::RouteTarget {
        target: rt.parse().expect("rt"),
    }];
    if vxlan {
        comms.push(ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Vxlan,
        });
    }
    let mut list = vec![
        PathAttribute::MpReach(MpReach {
            family,
            next_hop,
            nlri: vec![PathNlri {
                path_id: None,
                nlri,
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
        PathAttribute::ExtendedCommunities(comms.into()),
    ];
    list.append(&mut extra);
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    Update {
        attributes: PathAttributes { list },
        ..Update::default()
    }
    .encode(&ctx)
}

pub(crate) fn vpn_update(addr: &str, len: u8, label: u32, rt: &str) -> Vec<u8> {
    let prefix = IpPrefix::V4(Ipv4Prefix::new(addr.parse().expect("addr"), len).expect("prefix"));
    let labels = vec![LabelStackEntry::from_label(
        Label::new(label).expect("label"),
        true,
    )];
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 7,
        },
        prefix,
        labels,
    )
    .expect("route");
    update_bytes(
        Family::VPNV4,
        Nlri::Vpn(route),
        NextHop::VpnIpv4 {
            rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
            addr: REMOTE,
        },
        vec![],
        rt,
        false,
    )
}

fn evpn_mac_update(mac: MacAddress, ip: Option<Ipv4Addr>, vni: u32, vxlan: bool) -> Vec<u8> {
    let nlri = Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 1,
        },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac,
        ip: ip.map(IpAddr::V4),
        label1: LabelStackEntry::from_vni(Vni::new(vni).expect("vni")),
        label2: None,
    });
    update_bytes(
        Family::EVPN,
        nlri,
        NextHop::Ipv4(REMOTE),
        vec![],
        "64512:100",
        vxlan,
    )
}

fn evpn_multicast_update(vni: u32) -> Vec<u8> {
    let nlri = Nlri::Evpn(EvpnRoute::InclusiveMulticast {
        rd: RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 1,
        },
        ethernet_tag: 0,
        originator: IpAddr::V4(REMOTE),
    });
    let pmsi = PathAttribute::PmsiTunnel(PmsiTunnel {
        flags: 0,
        tunnel_type: PmsiTunnel::INGRESS_REPLICATION,
        label: LabelStackEntry::from_vni(Vni::new(vni).expect("vni")),
        tunnel_id: REMOTE.octets().to_vec(),
    });
    update_bytes(
        Family::EVPN,
        nlri,
        NextHop::Ipv4(REMOTE),
        vec![pmsi],
        "64512:100",
        true,
    )
}

#[test]
fn a_route_reflected_back_to_us_is_ignored() {
    // RFC 4456 §8: ORIGINATOR_ID equal to our BGP Identifier.
    let mut h = harness();
    attach(&mut h, 1, IPVPN_ATTACH);
    let before = h.batches.len();
    let prefix = IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 60, 0, 0), 24).expect("prefix"));
    let labels = vec![LabelStackEntry::from_label(
        Label::new(3000).expect("label"),
        true,
    )];
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 7,
        },
        prefix,
        labels,
    )
    .expect("route");
    let next_hop = NextHop::VpnIpv4 {
        rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
        addr: REMOTE,
    };
    let ours = PathAttribute::OriginatorId(Ipv4Addr::new(10, 0, 0, 1));
    h.receive(
        1,
        update_bytes(
            Family::VPNV4,
            Nlri::Vpn(route.clone()),
            next_hop.clone(),
            vec![ours],
            "64512:200",
            false,
        ),
    );
    assert_eq!(
        h.batches.len(),
        before,
        "ignored: {:?}",
        &h.batches[before..]
    );
    let other = PathAttribute::OriginatorId(Ipv4Addr::new(10, 0, 0, 7));
    h.receive(
        1,
        update_bytes(
            Family::VPNV4,
            Nlri::Vpn(route),
            next_hop,
            vec![other],
            "64512:200",
            false,
        ),
    );
    assert_eq!(h.batches.len(), before + 1);
}

fn vpn_update_with_records(addr: &str, label: u32, rts: &[&str], records: &[&str]) -> Vec<u8> {
    let prefix = IpPrefix::V4(Ipv4Prefix::new(addr.parse().expect("addr"), 24).expect("prefix"));
    let labels = vec![LabelStackEntry::from_label(
        Label::new(label).expect("label"),
        true,
    )];
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 7,
        },
        prefix,
        labels,
    )
    .expect("route");
    let mut comms: Vec<ExtendedCommunity> = rts
        .iter()
        .map(|rt| ExtendedCommunity::RouteTarget {
            target: rt.parse().expect("rt"),
        })
        .collect();
    comms.extend(records.iter().map(|rt| ExtendedCommunity::RtRecord {
        target: rt.parse().expect("rt"),
    }));
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::VPNV4,
            next_hop: NextHop::VpnIpv4 {
                rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
                addr: REMOTE,
            },
            nlri: vec![PathNlri {
                path_id: None,
                nlri: Nlri::Vpn(route),
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
        PathAttribute::ExtendedCommunities(comms.into()),
    ];
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    Update {
        attributes: PathAttributes { list },
        ..Update::default()
    }
    .encode(&ctx)
}

const CHAIN_ATTACH: &str = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "svc",
  "mac_address": "02:00:00:00:00:05", "ip_address": "10.60.0.5/24", "gateway_ip": "10.60.0.1",
  "local_port": {"linuxif": "tap5"}, "import_rt": ["64512:200"], "export_rt": ["64512:200"],
  "readvertise": {"from_rt": ["64512:300"], "to_rt": ["64512:400"]}}"#;

/// The readvertisements we announced, by prefix: (RD, RTs, RT-Records).
fn readvertisements(h: &Harness) -> Vec<(String, RouteDistinguisher, Vec<String>, Vec<String>)> {
    sent_routes(h)
        .into_iter()
        .filter_map(|(up, n, a)| match (up, n, a) {
            (true, Nlri::Vpn(v), Some(a)) => {
                let rts: Vec<String> = a
                    .extended_communities()
                    .iter()
                    .filter_map(|c| c.route_target().map(|rt| rt.to_string()))
                    .collect();
                let records: Vec<String> = a
                    .extended_communities()
                    .iter()
                    .filter_map(|c| match c {
                        ExtendedCommunity::RtRecord { target } => Some(target.to_string()),
                        _ => None,
                    })
                    .collect();
                (!records.is_empty() || rts == ["64512:400"])
                    .then(|| (v.prefix.to_string(), v.rd, rts, records))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn readvertise_leaks_from_rt_routes_through_each_endpoint_with_rt_records() {
    // reference §8 test_re_advertisement_1/_last.
    let mut h = harness();
    attach(&mut h, 1, CHAIN_ATTACH);
    assert_eq!(reply(&h, 1), &Ok(()));
    let batches = h.batches.len();
    // A route with from_rt and an RT-Record: readvertised to to_rt only, with both RTs as
    // records, with the endpoint's RD; not imported (no import RT), so no dataplane change.
    h.receive(
        1,
        vpn_update_with_records("10.70.0.0", 3000, &["64512:300"], &["64512:100"]),
    );
    let r = readvertisements(&h);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "10.70.0.0/24");
    assert_eq!(r[0].2, vec!["64512:400"]);
    assert_eq!(r[0].3, vec!["64512:100", "64512:300"]);
    assert_ne!(
        r[0].1,
        RouteDistinguisher::Ipv4 {
            addr: Ipv4Addr::new(10, 0, 0, 1),
            number: 0
        },
        "the endpoint's RD"
    );
    assert_eq!(h.batches.len(), batches);
    // A route that went through to_rt already: not readvertised (loop prevention).
    h.receive(
        1,
        vpn_update_with_records("10.71.0.0", 3001, &["64512:300"], &["64512:400"]),
    );
    assert_eq!(readvertisements(&h).len(), 1);
    // A second endpoint readvertises it too, with its own RD.
    attach(
        &mut h,
        2,
        &CHAIN_ATTACH
            .replace("02:00:00:00:00:05", "02:00:00:00:00:06")
            .replace("10.60.0.5", "10.60.0.6")
            .replace("tap5", "tap6"),
    );
    assert_eq!(reply(&h, 2), &Ok(()));
    let r = readvertisements(&h);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_ne!(r[0].1, r[1].1);
    // The route goes: both readvertisements are withdrawn.
    let withdrawn_before = sent_routes(&h).iter().filter(|(up, ..)| !up).count();
    let prefix = IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 70, 0, 0), 24).expect("prefix"));
    let labels = vec![LabelStackEntry::from_label(
        Label::new(3000).expect("label"),
        true,
    )];
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 7,
        },
        prefix,
        labels,
    )
    .expect("route");
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    let withdraw = Update {
        attributes: PathAttributes {
            list: vec![PathAttribute::MpUnreach(crate::wire::attr::MpUnreach {
                family: Family::VPNV4,
                withdrawn: vec![PathNlri {
                    path_id: None,
                    nlri: Nlri::Vpn(route),
                }],
                undecoded_nlri: Vec::new(),
            })],
        },
        ..Update::default()
    };
    h.receive(1, withdraw.encode(&ctx));
    let withdrawn: Vec<_> = sent_routes(&h).into_iter().filter(|(up, ..)| !up).collect();
    assert_eq!(withdrawn.len(), withdrawn_before + 2, "{withdrawn:?}");
}

const ATTRACT_ATTACH: &str = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "classifier",
  "mac_address": "02:00:00:00:00:07", "ip_address": "10.60.0.7/24", "gateway_ip": "10.60.0.1",
  "local_port": {"linuxif": "tap7"}, "import_rt": ["64512:200"], "export_rt": ["64512:200"],
  "readvertise": {"from_rt": ["64512:300"], "to_rt": ["64512:400"]},
  "attract_traffic": {"redirect_rts": ["64512:500"],
                      "classifier": {"destinationPort": "80", "protocol": "tcp"}}}"#;

/// What we announced (true) or withdrew (false): default routes and FlowSpec routes.
fn attract_routes(h: &Harness) -> Vec<(bool, String)> {
    sent_routes(h)
        .into_iter()
        .filter_map(|(up, n, a)| match &n {
            Nlri::Vpn(v) if v.prefix.is_empty() => Some((up, format!("default {}", v.rd))),
            Nlri::FlowSpec(rule) => {
                if let Some(a) = &a {
                    let comms = a.extended_communities();
                    assert!(comms.contains(&ExtendedCommunity::RedirectToRouteTarget {
                        target: "64512:400".parse().expect("rt")
                    }));
                    assert!(comms.contains(&ExtendedCommunity::RouteTarget {
                        target: "64512:500".parse().expect("rt")
                    }));
                }
                let dst = rule
                    .components
                    .first()
                    .map(|c| format!("{c:?}"))
                    .unwrap_or_default();
                Some((up, format!("flowspec {dst}")))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn attract_traffic_advertises_default_routes_and_flowspec_redirects() {
    // reference §8 FlowSpec/attract_traffic (readvertised prefixes).
    let mut h = harness();
    attach(&mut h, 1, ATTRACT_ATTACH);
    assert_eq!(reply(&h, 1), &Ok(()));
    assert!(
        attract_routes(&h).is_empty(),
        "nothing before a route is readvertised"
    );
    h.receive(
        1,
        vpn_update_with_records("10.70.0.0", 3000, &["64512:300"], &[]),
    );
    let r = attract_routes(&h);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        r[0].1.starts_with("default") && r[1].1.starts_with("flowspec"),
        "{r:?}"
    );
    assert!(r[1].1.contains("pattern: [10, 70, 0]"), "{r:?}");
    // A second prefix: only its FlowSpec route.
    h.receive(
        1,
        vpn_update_with_records("10.71.0.0", 3001, &["64512:300"], &[]),
    );
    let r = attract_routes(&h);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[2].1.contains("pattern: [10, 71, 0]"));
    // No prefix is readvertised as such (only the default routes go to to_rt).
    let leaked: Vec<_> = readvertisements(&h)
        .into_iter()
        .filter(|r| r.0 != "0.0.0.0/0")
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    // A second endpoint: only its default route.
    attach(
        &mut h,
        2,
        &ATTRACT_ATTACH
            .replace("02:00:00:00:00:07", "02:00:00:00:00:08")
            .replace("10.60.0.7", "10.60.0.8")
            .replace("tap7", "tap8"),
    );
    let r = attract_routes(&h);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(r[3].1.starts_with("default") && r[3].1 != r[0].1, "{r:?}");
}

#[test]
fn attract_traffic_with_static_destinations_attracts_at_plug_time() {
    let mut h = harness();
    let attach_json = ATTRACT_ATTACH.replace(
        r#""redirect_rts": ["64512:500"],"#,
        r#""redirect_rts": ["64512:500"], "to_rt": ["64512:400"], "static_destination_prefixes": ["10.90.0.0/16"],"#,
    );
    attach(&mut h, 1, &attach_json);
    assert_eq!(reply(&h, 1), &Ok(()));
    let r = attract_routes(&h);
    assert_eq!(
        r.len(),
        2,
        "default + FlowSpec for the static prefix: {r:?}"
    );
    assert!(r.iter().all(|(up, _)| *up));
    assert!(r[1].1.contains("pattern: [10, 90]"), "{r:?}");
    // Unplugging the only endpoint withdraws the default route, then the FlowSpec route.
    detach(
        &mut h,
        2,
        r#"{"vpn_type": "ipvpn", "vpn_instance_id": "classifier", "mac_address": "02:00:00:00:00:07",
            "ip_address": "10.60.0.7/24", "local_port": {"linuxif": "tap7"}}"#,
    );
    assert_eq!(reply(&h, 2), &Ok(()));
    let r = attract_routes(&h);
    let withdrawn: Vec<&String> = r.iter().filter(|(up, _)| !up).map(|(_, d)| d).collect();
    assert_eq!(withdrawn.len(), 2, "{r:?}");
    assert!(withdrawn[0].starts_with("default") && withdrawn[1].starts_with("flowspec"));
}

#[test]
fn attract_traffic_inconsistent_to_rts_are_refused() {
    // The request layer refuses it (reference §2.2), before any state is touched.
    let json = ATTRACT_ATTACH.replace(
        r#""redirect_rts": ["64512:500"],"#,
        r#""redirect_rts": ["64512:500"], "to_rt": ["64512:999"], "static_destination_prefixes": ["10.90.0.0/16"],"#,
    );
    let Err(e) = parse_attach(json.as_bytes()) else {
        panic!("refused")
    };
    assert_eq!(e.http_status(), 400);
}

#[test]
fn with_ecmp_every_equal_route_is_programmed() {
    let mut caps = ipvpn_caps();
    caps.ecmp = true;
    let mut h = Harness::with_drivers(
        speaker_config(false, 90),
        vec![(VpnType::Ipvpn, IpAddr::V4(DATAPLANE), caps)],
    );
    h.establish(90);
    h.receive(
        1,
        Update::end_of_rib(Family::RTC).encode(&DecodeContext {
            families: [Family::EVPN, Family::VPNV4, Family::RTC]
                .into_iter()
                .collect(),
            four_octet_as: true,
            ..DecodeContext::default()
        }),
    );
    attach(&mut h, 1, IPVPN_ATTACH);
    let before = h.batches.len();
    // Two routes for one prefix, equal LOCAL_PREF, different labels (two next hops of a chain).
    h.receive(
        1,
        vpn_update_with_records("10.80.0.0", 4001, &["64512:200"], &[]),
    );
    let second = vpn_update_with_records("10.80.0.0", 4002, &["64512:200"], &[]);
    // Same prefix, another RD: another route of the same entry.
    let second = second
        .windows(8)
        .position(|w| {
            w == RouteDistinguisher::Ipv4 {
                addr: REMOTE,
                number: 7,
            }
            .to_bytes()
        })
        .map(|at| {
            let mut b = second.clone();
            b[at..at + 8].copy_from_slice(
                &RouteDistinguisher::Ipv4 {
                    addr: REMOTE,
                    number: 8,
                }
                .to_bytes(),
            );
            b
        })
        .expect("the RD in the message");
    h.receive(1, second);
    let ops: Vec<&Operation> = h.batches[before..].iter().flat_map(|b| &b.1).collect();
    let setups = ops
        .iter()
        .filter(|op| matches!(op, Operation::SetupRemoteEndpoint { .. }))
        .count();
    assert_eq!(setups, 2, "both equal routes programmed: {ops:?}");
}

#[test]
fn a_vrf_carries_vpn_ipv6_routes_with_an_ipv4_mapped_next_hop() {
    // RFC 4659: IPv6 endpoints of a VRF are advertised as VPN-IPv6; over an IPv4 dataplane the
    // next hop is the IPv4-mapped address; received VPN-IPv6 routes are programmed.
    let mut config = speaker_config(false, 90);
    config.peers[0].families.insert(Family::VPNV6);
    let mut h = Harness::with_drivers(
        config,
        vec![(VpnType::Ipvpn, IpAddr::V4(DATAPLANE), ipvpn_caps())],
    );
    let mut caps = crate::session::tests::vpn_caps(64512);
    caps.push(crate::wire::capability::Capability::Multiprotocol {
        family: Family::VPNV6,
    });
    h.connect(1, crate::speaker::Direction::Outgoing);
    let open = crate::session::tests::peer_open_with(64512, 90, Ipv4Addr::new(10, 0, 0, 2), caps);
    h.receive(1, open.encode(&DecodeContext::default()));
    h.receive(1, Message::Keepalive.encode(&DecodeContext::default()));
    let ctx = DecodeContext {
        families: [Family::VPNV4, Family::VPNV6, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    h.receive(1, Update::end_of_rib(Family::RTC).encode(&ctx));
    attach(
        &mut h,
        1,
        &IPVPN_ATTACH
            .replace("10.50.0.11/24", "2001:db8::11/64")
            .replace("10.50.0.1", "2001:db8::1"),
    );
    assert_eq!(reply(&h, 1), &Ok(()));
    // Without an RT-Constraint membership from the peer nothing is sent: ask for everything.
    let default = Nlri::Rtc(crate::wire::nlri::RtcMembership::Default);
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::RTC,
            next_hop: NextHop::Ipv4(REMOTE),
            nlri: vec![PathNlri {
                path_id: None,
                nlri: default,
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
    ];
    h.receive(
        1,
        Update {
            attributes: PathAttributes { list },
            ..Update::default()
        }
        .encode(&ctx),
    );
    h.advance(std::time::Duration::from_secs(3));
    let sent = sent_routes(&h);
    let v6 = sent.iter().find_map(|(up, n, a)| match n {
        Nlri::Vpn(v) if *up && matches!(v.prefix, IpPrefix::V6(_)) => Some(a.clone()?),
        _ => None,
    });
    let attrs = v6.expect("a VPN-IPv6 route");
    let reach = attrs.mp_reach().expect("MP_REACH");
    assert_eq!(reach.family, Family::VPNV6);
    assert_eq!(
        reach.next_hop,
        NextHop::VpnIpv6 {
            rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
            global: DATAPLANE.to_ipv6_mapped(),
            link_local: None
        }
    );
    // A received VPN-IPv6 route with our import RT.
    let before = h.batches.len();
    let prefix = ip_prefix_v6("2001:db8:1::", 48);
    let labels = vec![LabelStackEntry::from_label(
        Label::new(5000).expect("label"),
        true,
    )];
    let route = VpnRoute::new(
        RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 7,
        },
        prefix,
        labels,
    )
    .expect("route");
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::VPNV6,
            next_hop: NextHop::VpnIpv6 {
                rd: RouteDistinguisher::As2 { asn: 0, number: 0 },
                global: REMOTE.to_ipv6_mapped(),
                link_local: None,
            },
            nlri: vec![PathNlri {
                path_id: None,
                nlri: Nlri::Vpn(route),
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(100),
        PathAttribute::ExtendedCommunities(smallvec::smallvec![ExtendedCommunity::RouteTarget {
            target: "64512:200".parse().expect("rt"),
        }]),
    ];
    h.receive(
        1,
        Update {
            attributes: PathAttributes { list },
            ..Update::default()
        }
        .encode(&ctx),
    );
    let ops: Vec<&Operation> = h.batches[before..].iter().flat_map(|b| &b.1).collect();
    assert!(
        ops.iter().any(|op| matches!(op, Operation::SetupRemoteEndpoint { endpoint, .. }
            if endpoint.next_hop.remote_pe == IpAddr::V4(REMOTE)
                && endpoint.destination == Destination::Prefix("2001:db8:1::/48".parse().expect("net")))),
        "{ops:?}"
    );
}

fn ip_prefix_v6(addr: &str, len: u8) -> IpPrefix {
    IpPrefix::V6(
        crate::wire::nlri::Ipv6Prefix::new(addr.parse().expect("addr"), len).expect("prefix"),
    )
}

fn flowspec_update(withdraw: bool, rts: &[&str], redirect: &str) -> Vec<u8> {
    use crate::wire::nlri::{FlowComponent, FlowPrefix, FlowSpecRule};
    let rule = FlowSpecRule {
        ipv6: false,
        rd: Some(RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 9,
        }),
        components: vec![FlowComponent::Prefix {
            code: 1,
            prefix: FlowPrefix {
                len: 24,
                offset: 0,
                pattern: vec![10, 70, 0],
            },
        }],
    };
    let nlri = PathNlri {
        path_id: None,
        nlri: Nlri::FlowSpec(rule),
    };
    let ctx = DecodeContext {
        families: [
            Family::EVPN,
            Family::VPNV4,
            Family::RTC,
            Family::FLOWSPEC_VPNV4,
        ]
        .into_iter()
        .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    let list = if withdraw {
        vec![PathAttribute::MpUnreach(crate::wire::attr::MpUnreach {
            family: Family::FLOWSPEC_VPNV4,
            withdrawn: vec![nlri],
            undecoded_nlri: Vec::new(),
        })]
    } else {
        let mut comms: Vec<ExtendedCommunity> = rts
            .iter()
            .map(|rt| ExtendedCommunity::RouteTarget {
                target: rt.parse().expect("rt"),
            })
            .collect();
        comms.push(ExtendedCommunity::RedirectToRouteTarget {
            target: redirect.parse().expect("rt"),
        });
        vec![
            PathAttribute::MpReach(MpReach {
                family: Family::FLOWSPEC_VPNV4,
                next_hop: NextHop::None,
                nlri: vec![nlri],
                undecoded_nlri: Vec::new(),
            }),
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
            PathAttribute::LocalPref(100),
            PathAttribute::ExtendedCommunities(comms.into()),
        ]
    };
    Update {
        attributes: PathAttributes { list },
        ..Update::default()
    }
    .encode(&ctx)
}

#[test]
fn flowspec_redirect_to_vrf_becomes_a_classifier_to_a_redirect_vrf() {
    // reference §2.1 "Redirect instances", §2.3 "Redirect (receiving side)".
    let mut h = harness();
    attach(&mut h, 1, IPVPN_ATTACH);
    let vrf = h
        .speaker
        .vpn()
        .instance_by_external_id("vrf1")
        .map(|i| i.identity.id)
        .expect("vrf1");
    let before = h.batches.len();
    h.receive(1, flowspec_update(false, &["64512:200"], "64512:300"));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    let [Operation::CreateInstance(spec), Operation::AddTrafficRedirect {
        instance,
        redirect_to,
        ..
    }] = ops.as_slice()
    else {
        panic!("create the redirect VRF, then redirect: {ops:?}")
    };
    assert_eq!(spec.external_id, "redirect-to-ipvpn-64512_300");
    assert_eq!((*instance, *redirect_to), (vrf, spec.instance));
    let redirect_vrf = spec.instance;
    // The redirect VRF imports routes of the redirect RT.
    let before = h.batches.len();
    h.receive(1, vpn_update("10.90.0.0", 24, 3100, "64512:300"));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    assert!(
        matches!(ops.as_slice(), [Operation::SetupRemoteEndpoint { instance, .. }] if *instance == redirect_vrf),
        "{ops:?}"
    );
    // The FlowSpec route goes: the redirection stops and the redirect VRF with it.
    let before = h.batches.len();
    h.receive(1, flowspec_update(true, &[], ""));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    assert!(
        matches!(ops.first(), Some(Operation::RemoveTrafficRedirect { .. })),
        "{ops:?}"
    );
    assert!(
        matches!(ops.last(), Some(Operation::CleanupInstance { instance }) if *instance == redirect_vrf),
        "{ops:?}"
    );
    assert!(h
        .speaker
        .vpn()
        .instance_by_external_id("redirect-to-ipvpn-64512_300")
        .is_none());
}

#[test]
fn the_looking_glass_walks_bagpipe_bgps_tree() {
    use crate::looking_glass::{LookingGlassInfo, OperationLog};
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let info = LookingGlassInfo::default();
    let ops = OperationLog::default();
    let lg = |h: &Harness, path: &str| {
        let path: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        h.speaker.looking_glass(&path, "http://lg", &info, &ops)
    };
    let root = lg(&h, "").expect("root");
    assert_eq!(root["bgp"]["href"], "http://lg/looking-glass/bgp");
    assert_eq!(
        lg(&h, "summary/vpn_instances_count"),
        Ok(serde_json::json!(1))
    );
    assert_eq!(
        lg(&h, "summary/BGP_established_peers"),
        Ok(serde_json::json!(1))
    );
    let peers = lg(&h, "bgp/peers").expect("peers");
    assert_eq!(peers[0]["id"], "10.0.0.2");
    assert_eq!(peers[0]["state"], "Established");
    let peer = lg(&h, "bgp/peers/10.0.0.2").expect("peer");
    assert_eq!(peer["protocol"]["previous_state"], "(OpenConfirm)");
    assert_eq!(peer["protocol"]["hold_time"], 90);
    assert_eq!(peer["rtc"]["active"], true);
    let instances = lg(&h, "vpns/instances").expect("instances");
    assert_eq!(instances[0]["id"], "net1");
    assert_eq!(
        instances[0]["href"],
        "http://lg/looking-glass/vpns/instances/net1"
    );
    assert_eq!(
        lg(&h, "vpns/instances/net1/route_targets/import/0"),
        Ok(serde_json::json!("64512:100"))
    );
    let endpoints = lg(&h, "vpns/instances/net1/ports/tap1/endpoints").expect("endpoints");
    assert_eq!(endpoints[0]["mac_address"], "02:00:00:00:00:01");
    let workers = lg(&h, "bgp/workers").expect("workers");
    assert_eq!(workers.as_array().map(Vec::len), Some(2));
    assert_eq!(
        lg(&h, "bgp/workers/EVI-1/external_instance_id"),
        Ok(serde_json::json!("net1"))
    );
    assert_eq!(
        lg(&h, "bgp/workers/BGP-10.0.0.2/name"),
        Ok(serde_json::json!("BGP-10.0.0.2"))
    );
    let adv = lg(&h, "bgp/adv_routes").expect("adv_routes");
    assert!(adv.to_string().contains("ipv4/rtc"), "{adv}");
    let driver = lg(&h, "vpns/dataplane/drivers/evpn").expect("driver");
    assert_eq!(driver["local_address"], "10.0.0.1");
    let missing = lg(&h, "vpns/instances/nope").expect_err("404");
    assert_eq!(
        missing.to_string(),
        "No such looking glass object: nope at looking-glass/vpns/instances"
    );
    let missing = lg(&h, "summary/nothing").expect_err("404");
    assert_eq!(
        missing.to_string(),
        "No such looking glass object: nothing at looking-glass/summary"
    );
}

#[test]
fn neighbour_entries_follow_routes_not_readvertisements() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let mac = MacAddress([2, 0, 0, 0, 0, 0x44]);
    let ip = Ipv4Addr::new(10, 100, 0, 44);
    let count = |h: &Harness, add: bool| {
        h.batches
            .iter()
            .flat_map(|b| &b.1)
            .filter(|op| match op {
                Operation::AddNeighbour { entry, .. } => add && entry.mac == mac,
                Operation::RemoveNeighbour { entry, .. } => !add && entry.mac == mac,
                _ => false,
            })
            .count()
    };
    h.receive(1, evpn_mac_update(mac, Some(ip), 5010, true));
    h.receive(1, evpn_mac_update(mac, Some(ip), 5011, true));
    assert_eq!(
        (count(&h, true), count(&h, false)),
        (1, 0),
        "a re-advertisement adds nothing"
    );
    let nlri = Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 1,
        },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac,
        ip: Some(IpAddr::V4(ip)),
        label1: LabelStackEntry::from_vni(Vni::new(5011).expect("vni")),
        label2: None,
    });
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    let withdraw = Update {
        attributes: PathAttributes {
            list: vec![PathAttribute::MpUnreach(crate::wire::attr::MpUnreach {
                family: Family::EVPN,
                withdrawn: vec![PathNlri {
                    path_id: None,
                    nlri,
                }],
                undecoded_nlri: Vec::new(),
            })],
        },
        ..Update::default()
    };
    h.receive(1, withdraw.encode(&ctx));
    assert_eq!((count(&h, true), count(&h, false)), (1, 1));
}

#[test]
fn an_evpn_instance_plugged_into_a_vrf_gets_a_gateway_port() {
    // reference §2.1 "EVPN→IPVPN plug", §3.4 (i).
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let evi = h
        .speaker
        .vpn()
        .instance_by_external_id("net1")
        .map(|i| i.identity.id)
        .expect("evi");
    let before = h.batches.len();
    let plug = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf9", "mac_address": "52:54:00:99:99:22",
        "ip_address": "11.11.11.1/24", "gateway_ip": "11.11.11.254", "import_rt": "64512:512",
        "export_rt": "64512:512", "local_port": {"evpn": {"id": "net1"}}}"#;
    attach(&mut h, 2, plug);
    assert_eq!(reply(&h, 2), &Ok(()));
    let batches = &h.batches[before..];
    assert_eq!(batches.len(), 2, "{batches:?}");
    let (VpnType::Ipvpn, vrf_ops) = &batches[0] else {
        panic!("{batches:?}")
    };
    let Some(Operation::VifPlugged { port, .. }) = vrf_ops.get(1) else {
        panic!("{vrf_ops:?}")
    };
    let vrf = h
        .speaker
        .vpn()
        .instance_by_external_id("vrf9")
        .map(|i| i.identity.id)
        .expect("vrf");
    assert_eq!(port.interface, format!("ipvpn{}-evpn{}", vrf.0, evi.0));
    assert_eq!(
        batches[1],
        (
            VpnType::Evpn,
            vec![Operation::SetGatewayPort {
                instance: evi,
                interface: format!("evpn{}-ipvpn{}", evi.0, vrf.0),
                gateway_ip: IpAddr::V4(Ipv4Addr::new(11, 11, 11, 254)),
            }]
        )
    );
    let lg = h
        .speaker
        .looking_glass(
            &[
                "vpns".into(),
                "instances".into(),
                "net1".into(),
                "gateway_port".into(),
            ],
            "http://lg",
            &crate::looking_glass::LookingGlassInfo::default(),
            &crate::looking_glass::OperationLog::default(),
        )
        .expect("gateway port");
    assert_eq!(lg["ipvpn"]["external_instance_id"], "vrf9", "{lg}");
    // Another VRF cannot take the same E-VPN instance.
    attach(
        &mut h,
        3,
        &plug
            .replace("vrf9", "vrf10")
            .replace("52:54:00:99:99:22", "52:54:00:99:99:23"),
    );
    let Err(e) = reply(&h, 3) else {
        panic!("refused")
    };
    assert_eq!(e.http_status(), 400);
    // The detach of the last endpoint on that port unplugs the E-VPN instance.
    let before = h.batches.len();
    detach(
        &mut h,
        4,
        r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf9", "mac_address": "52:54:00:99:99:22",
            "ip_address": "11.11.11.1/24", "local_port": {"evpn": {"id": "net1"}}}"#,
    );
    assert_eq!(reply(&h, 4), &Ok(()));
    let down: Vec<&Operation> = h.batches[before..].iter().flat_map(|b| &b.1).collect();
    assert!(
        down.iter().any(
            |op| matches!(op, Operation::GatewayPortDown { instance, .. } if *instance == evi)
        ),
        "{down:?}"
    );
    assert!(h
        .speaker
        .vpn()
        .instance_by_external_id("net1")
        .is_some_and(|i| i.gateway_port.is_none()));
}

fn evpn_mac_update_with(
    mac: MacAddress,
    next_hop: Ipv4Addr,
    vni: u32,
    local_pref: u32,
    sequence: Option<u32>,
) -> Vec<u8> {
    let nlri = Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher::Ipv4 {
            addr: next_hop,
            number: 1,
        },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac,
        ip: None,
        label1: LabelStackEntry::from_vni(Vni::new(vni).expect("vni")),
        label2: None,
    });
    let mut comms = vec![
        ExtendedCommunity::RouteTarget {
            target: "64512:100".parse().expect("rt"),
        },
        ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Vxlan,
        },
    ];
    if let Some(sequence) = sequence {
        comms.push(ExtendedCommunity::MacMobility {
            sticky: false,
            sequence,
        });
    }
    let list = vec![
        PathAttribute::MpReach(MpReach {
            family: Family::EVPN,
            next_hop: NextHop::Ipv4(next_hop),
            nlri: vec![PathNlri {
                path_id: None,
                nlri,
            }],
            undecoded_nlri: Vec::new(),
        }),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::default()),
        PathAttribute::LocalPref(local_pref),
        PathAttribute::ExtendedCommunities(comms.into()),
    ];
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    Update {
        attributes: PathAttributes { list },
        ..Update::default()
    }
    .encode(&ctx)
}

#[test]
fn mac_mobility_sequence_numbers_decide_between_moving_macs() {
    // RFC 7432 §15.2: the higher sequence number wins, before LOCAL_PREF.
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let mac = MacAddress([2, 0, 0, 0, 0, 0x55]);
    let old_pe = Ipv4Addr::new(10, 99, 0, 5);
    let new_pe = Ipv4Addr::new(10, 99, 0, 6);
    h.receive(1, evpn_mac_update_with(mac, old_pe, 5010, 200, Some(1)));
    let before = h.batches.len();
    h.receive(1, evpn_mac_update_with(mac, new_pe, 5010, 100, Some(2)));
    let ops: Vec<&Operation> = h.batches[before..].iter().flat_map(|b| &b.1).collect();
    assert!(
        ops.iter().any(
            |op| matches!(op, Operation::SetupRemoteEndpoint { endpoint, .. }
            if endpoint.next_hop.remote_pe == IpAddr::V4(new_pe))
        ),
        "the moved MAC (sequence 2) wins over LOCAL_PREF 200: {ops:?}"
    );
    // The MAC moves here: our route carries sequence 3.
    let moved = EVPN_ATTACH
        .replace("02:00:00:00:00:01", "02:00:00:00:00:55")
        .replace("10.100.0.11", "10.100.0.55")
        .replace("tap1", "tap55");
    attach(&mut h, 2, &moved);
    assert_eq!(reply(&h, 2), &Ok(()));
    let ours = sent_routes(&h).into_iter().find_map(|(up, n, a)| match n {
        Nlri::Evpn(EvpnRoute::MacIpAdvertisement { mac: m, .. }) if up && m == mac => a,
        _ => None,
    });
    let attrs = ours.expect("our route for the moved MAC");
    assert!(
        attrs
            .extended_communities()
            .contains(&ExtendedCommunity::MacMobility {
                sticky: false,
                sequence: 3
            }),
        "{attrs:?}"
    );
}

#[test]
fn attract_traffic_readvertises_flowspec_routes_with_our_rd_and_rt_records() {
    // reference §8: readvertised FlowSpec route ⇒ default route to RT4 + FlowSpec with the
    // instance RD, RT4, RT-Record of RT3, redirect to RT5.
    let mut h = harness();
    attach(&mut h, 1, ATTRACT_ATTACH);
    h.receive(1, flowspec_update(false, &["64512:300"], "64512:999"));
    let sent = sent_routes(&h);
    let default = sent
        .iter()
        .any(|(up, n, _)| *up && matches!(n, Nlri::Vpn(v) if v.prefix.is_empty()));
    assert!(default, "a default route: {sent:?}");
    let flow = sent.iter().find_map(|(up, n, a)| match n {
        Nlri::FlowSpec(rule) if *up => Some((rule.clone(), a.clone()?)),
        _ => None,
    });
    let (rule, attrs) = flow.expect("a FlowSpec route");
    let vrf_rd = h
        .speaker
        .vpn()
        .instance_by_external_id("classifier")
        .map(|i| i.identity.rd());
    assert_eq!(rule.rd, vrf_rd);
    let comms = attrs.extended_communities();
    assert!(
        comms.contains(&ExtendedCommunity::RouteTarget {
            target: "64512:400".parse().expect("rt")
        }),
        "{comms:?}"
    );
    assert!(
        comms.contains(&ExtendedCommunity::RtRecord {
            target: "64512:300".parse().expect("rt")
        }),
        "{comms:?}"
    );
    assert!(
        comms.contains(&ExtendedCommunity::RedirectToRouteTarget {
            target: "64512:500".parse().expect("rt")
        }),
        "{comms:?}"
    );
    // Its withdrawal withdraws both.
    let before = sent_routes(&h).iter().filter(|(up, ..)| !up).count();
    h.receive(1, flowspec_update(true, &[], ""));
    let after = sent_routes(&h).iter().filter(|(up, ..)| !up).count();
    assert_eq!(after, before + 2);
}

#[test]
fn instance_ids_are_never_reused_and_run_out_cleanly() {
    // reference §8 test_vpn_manager: ids unique; past 2^32-1, MaxInstanceIDReached.
    let mut h = harness();
    h.speaker.vpn_mut().set_next_instance_id(u32::MAX - 1);
    attach(&mut h, 1, EVPN_ATTACH);
    assert_eq!(reply(&h, 1), &Ok(()));
    attach(&mut h, 2, IPVPN_ATTACH);
    let Err(e) = reply(&h, 2) else {
        panic!("no id left")
    };
    assert_eq!(e.http_status(), 500);
    assert!(e.to_string().contains("MaxInstanceIDReached"), "{e}");
}

#[test]
fn a_redirect_vrf_is_shared_by_the_vrfs_redirecting_to_its_route_target() {
    // reference §8 test_vpn_manager: redirect instance creation and sharing per RT, removal
    // when no redirected instance remains.
    let mut h = harness();
    attach(&mut h, 1, IPVPN_ATTACH);
    attach(
        &mut h,
        2,
        &IPVPN_ATTACH
            .replace("vrf1", "vrf2")
            .replace("02:00:00:00:00:02", "02:00:00:00:00:03")
            .replace("tap2", "tap3"),
    );
    let before = h.batches.len();
    // One FlowSpec route imported by both VRFs (same import RT): one redirect VRF, two
    // classifiers.
    h.receive(1, flowspec_update(false, &["64512:200"], "64512:300"));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    let creates = ops
        .iter()
        .filter(|o| matches!(o, Operation::CreateInstance(_)))
        .count();
    let redirects = ops
        .iter()
        .filter(|o| matches!(o, Operation::AddTrafficRedirect { .. }))
        .count();
    assert_eq!((creates, redirects), (1, 2), "{ops:?}");
    h.receive(1, flowspec_update(true, &[], ""));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    let cleanups = ops
        .iter()
        .filter(|o| matches!(o, Operation::CleanupInstance { .. }))
        .count();
    assert_eq!(
        cleanups, 1,
        "the redirect VRF goes with its last user: {ops:?}"
    );
}

#[test]
fn a_prefix_readvertised_from_two_routes_is_withdrawn_with_the_last() {
    // reference §8 test_re_advertisement_last.
    let mut h = harness();
    attach(&mut h, 1, CHAIN_ATTACH);
    h.receive(
        1,
        vpn_update_with_records("10.70.0.0", 3000, &["64512:300"], &[]),
    );
    // The same prefix from another RD (another route of the entry).
    let second = vpn_update_with_records("10.70.0.0", 3001, &["64512:300"], &[]);
    let at = second
        .windows(8)
        .position(|w| {
            w == RouteDistinguisher::Ipv4 {
                addr: REMOTE,
                number: 7,
            }
            .to_bytes()
        })
        .expect("rd");
    let mut second = second;
    second[at..at + 8].copy_from_slice(
        &RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: 8,
        }
        .to_bytes(),
    );
    h.receive(1, second.clone());
    let withdrawn = |h: &Harness| sent_routes(h).iter().filter(|(up, ..)| !up).count();
    let before = withdrawn(&h);
    // Withdraw the first: the readvertisement stays.
    let prefix = IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 70, 0, 0), 24).expect("prefix"));
    let unreach = |number: u16| {
        let labels = vec![LabelStackEntry::from_label(
            Label::new(3000).expect("label"),
            true,
        )];
        let route = VpnRoute::new(
            RouteDistinguisher::Ipv4 {
                addr: REMOTE,
                number,
            },
            prefix,
            labels,
        )
        .expect("route");
        let ctx = DecodeContext {
            families: [Family::EVPN, Family::VPNV4, Family::RTC]
                .into_iter()
                .collect(),
            four_octet_as: true,
            ..DecodeContext::default()
        };
        Update {
            attributes: PathAttributes {
                list: vec![PathAttribute::MpUnreach(crate::wire::attr::MpUnreach {
                    family: Family::VPNV4,
                    withdrawn: vec![PathNlri {
                        path_id: None,
                        nlri: Nlri::Vpn(route),
                    }],
                    undecoded_nlri: Vec::new(),
                })],
            },
            ..Update::default()
        }
        .encode(&ctx)
    };
    h.receive(1, unreach(7));
    assert_eq!(
        withdrawn(&h),
        before,
        "still readvertised from the second route"
    );
    h.receive(1, unreach(8));
    assert_eq!(withdrawn(&h), before + 1, "withdrawn with the last");
}

#[test]
fn a_route_whose_route_targets_change_to_include_from_rt_is_readvertised() {
    // reference §8 test_re_advertisement_1: RT change on NLRI1 to include from_rt.
    let mut h = harness();
    attach(&mut h, 1, CHAIN_ATTACH);
    // First imported only (import RT 64512:200), not readvertised.
    h.receive(
        1,
        vpn_update_with_records("10.72.0.0", 3000, &["64512:200"], &[]),
    );
    assert!(readvertisements(&h).iter().all(|r| r.0 != "10.72.0.0/24"));
    // The same route again with from_rt added: readvertised.
    h.receive(
        1,
        vpn_update_with_records("10.72.0.0", 3000, &["64512:200", "64512:300"], &[]),
    );
    assert!(
        readvertisements(&h).iter().any(|r| r.0 == "10.72.0.0/24"),
        "{:?}",
        readvertisements(&h)
    );
}

#[test]
fn removing_a_redirecting_vrf_stops_its_redirections() {
    // reference §8 "Redirected VRF": stop ⇒ the FlowSpec route's redirection removed.
    let mut h = harness();
    attach(&mut h, 1, IPVPN_ATTACH);
    h.receive(1, flowspec_update(false, &["64512:200"], "64512:300"));
    assert!(h
        .speaker
        .vpn()
        .instance_by_external_id("redirect-to-ipvpn-64512_300")
        .is_some());
    let before = h.batches.len();
    detach(
        &mut h,
        2,
        r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "02:00:00:00:00:02",
            "ip_address": "10.50.0.11/24", "local_port": {"linuxif": "tap2"}}"#,
    );
    assert_eq!(reply(&h, 2), &Ok(()));
    let ops: Vec<Operation> = h.batches[before..]
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    let cleaned: Vec<u32> = ops
        .iter()
        .filter_map(|o| match o {
            Operation::CleanupInstance { instance } => Some(instance.0),
            _ => None,
        })
        .collect();
    assert_eq!(cleaned.len(), 2, "the VRF, then its redirect VRF: {ops:?}");
    assert!(h
        .speaker
        .vpn()
        .instance_by_external_id("redirect-to-ipvpn-64512_300")
        .is_none());
}

/// A MAC/IP route of RD `REMOTE:rd` (announced) or its withdrawal.
fn evpn_mac_ip_rd(mac: MacAddress, ip: Ipv4Addr, rd: u16, announce: bool) -> Vec<u8> {
    let nlri = Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher::Ipv4 {
            addr: REMOTE,
            number: rd,
        },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac,
        ip: Some(IpAddr::V4(ip)),
        label1: LabelStackEntry::from_vni(Vni::new(5010).expect("vni")),
        label2: None,
    });
    if announce {
        return update_bytes(
            Family::EVPN,
            nlri,
            NextHop::Ipv4(REMOTE),
            vec![],
            "64512:100",
            true,
        );
    }
    let ctx = DecodeContext {
        families: [Family::EVPN, Family::VPNV4, Family::RTC]
            .into_iter()
            .collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    };
    Update {
        attributes: PathAttributes {
            list: vec![PathAttribute::MpUnreach(crate::wire::attr::MpUnreach {
                family: Family::EVPN,
                withdrawn: vec![PathNlri {
                    path_id: None,
                    nlri,
                }],
                undecoded_nlri: Vec::new(),
            })],
        },
        ..Update::default()
    }
    .encode(&ctx)
}

#[test]
fn a_neighbour_entry_lasts_while_any_route_carries_its_ip_and_mac() {
    let mut h = harness();
    attach(&mut h, 1, EVPN_ATTACH);
    let neighbour_ops = |h: &Harness| -> Vec<Operation> {
        h.batches
            .iter()
            .flat_map(|b| &b.1)
            .filter(|op| {
                matches!(
                    op,
                    Operation::AddNeighbour { .. } | Operation::RemoveNeighbour { .. }
                )
            })
            .cloned()
            .collect()
    };
    let mac = MacAddress([2, 0, 0, 0, 0, 0x55]);
    let ip = Ipv4Addr::new(10, 100, 0, 55);
    // Two routes (two RDs) carry one (IP, MAC): one entry, removed with the last route.
    h.receive(1, evpn_mac_ip_rd(mac, ip, 1, true));
    h.receive(1, evpn_mac_ip_rd(mac, ip, 2, true));
    let entry = NeighbourEntry {
        ip: IpAddr::V4(ip),
        mac,
    };
    let instance = neighbour_ops(&h)[0].instance();
    assert_eq!(
        neighbour_ops(&h),
        vec![Operation::AddNeighbour { instance, entry }]
    );
    h.receive(1, evpn_mac_ip_rd(mac, ip, 1, false));
    h.receive(1, evpn_mac_ip_rd(mac, ip, 1, false));
    assert_eq!(neighbour_ops(&h).len(), 1, "one route still carries it");
    h.receive(1, evpn_mac_ip_rd(mac, ip, 2, false));
    assert_eq!(
        neighbour_ops(&h)[1..],
        [Operation::RemoveNeighbour { instance, entry }]
    );
    // Removing the instance removes the entries left, in entry order (IP, then MAC).
    let other = MacAddress([2, 0, 0, 0, 0, 0x11]);
    let ips = [Ipv4Addr::new(10, 100, 0, 9), Ipv4Addr::new(10, 100, 0, 3)];
    h.receive(1, evpn_mac_ip_rd(other, ips[0], 1, true));
    h.receive(1, evpn_mac_ip_rd(mac, ips[1], 1, true));
    h.receive(1, evpn_mac_ip_rd(other, ips[1], 1, true));
    let before = neighbour_ops(&h).len();
    detach(
        &mut h,
        2,
        r#"{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "02:00:00:00:00:01",
            "ip_address": "10.100.0.11/24", "local_port": {"linuxif": "tap1"}}"#,
    );
    let removed: Vec<NeighbourEntry> = neighbour_ops(&h)[before..]
        .iter()
        .map(|op| match op {
            Operation::RemoveNeighbour { entry, .. } => *entry,
            other => panic!("{other:?}"),
        })
        .collect();
    let expected =
        [(ips[1], other), (ips[1], mac), (ips[0], other)].map(|(ip, mac)| NeighbourEntry {
            ip: IpAddr::V4(ip),
            mac,
        });
    assert_eq!(removed, expected);
}
