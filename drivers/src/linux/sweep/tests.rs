use std::net::{IpAddr, Ipv4Addr};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    Destination, Direction, Encapsulation, FloodEntry, InstanceSpec, LocalPort, NextHop,
    RemoteEndpoint, TunnelId,
};
use bagpipe_core::wire::Vni;
use netlink_packet_route::link::InfoKind;

use super::*;

const BRIDGE: u32 = 10;
const VXLAN: u32 = 11;
const TAP: u32 = 12;
const OLD_TAP: u32 = 13;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn mac(last: u8) -> MacAddress {
    MacAddress([2, 0, 0, 0, 0, last])
}

fn vni() -> TunnelId {
    TunnelId::Vni(Vni::new(100).expect("vni"))
}

/// An adopted instance holding one plugged port (tap1, MAC :01), one remote MAC (:02 at
/// 10.0.0.2), one flood entry (10.0.0.2) and one neighbour (10.1.0.2 is :02).
fn instance(bridge_is_ours: bool) -> BTreeMap<InstanceId, InstanceState> {
    let next_hop = NextHop {
        remote_pe: ip(2),
        id: vni(),
        encapsulation: Encapsulation::VXLAN,
    };
    let state = InstanceState {
        spec: InstanceSpec {
            vpn_type: VpnType::Evpn,
            instance: InstanceId(1),
            external_id: "net1".to_string(),
            id: vni(),
            linuxbr: None,
            gateway: None,
        },
        linux_bridge: "evpn---net1".to_string(),
        bridge_is_ours,
        vxlan_if: "vxlan--net1".to_string(),
        vxlan_is_ours: true,
        vxlan_index: VXLAN,
        bridge_index: BRIDGE,
        vni: 100,
        ports: [LocalPort {
            interface: "tap1".to_string(),
            mac: mac(1),
            ip: None,
            label: None,
            direction: Direction::Both,
        }]
        .into(),
        remote_macs: [(
            mac(2),
            RemoteEndpoint {
                destination: Destination::Mac(mac(2)),
                next_hop,
                lb_consistent_hash_order: 0,
            },
        )]
        .into(),
        flood: [FloodEntry {
            remote_vtep: ip(2),
            id: vni(),
            encapsulation: Encapsulation::VXLAN,
        }]
        .into(),
        neighbours: [(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2)), mac(2))].into(),
        gateway_ports: BTreeMap::new(),
    };
    [(InstanceId(1), state)].into()
}

fn link(index: u32, name: &str, kind: Option<InfoKind>, master: Option<u32>) -> LinkView {
    LinkView {
        index,
        name: name.to_string(),
        kind,
        master,
        vxlan: None,
    }
}

/// The links of the adopted instance, a port unplugged while the daemon was down, and the
/// devices of an instance not created again.
fn links() -> Vec<LinkView> {
    vec![
        link(1, "lo", None, None),
        link(BRIDGE, "evpn---net1", Some(InfoKind::Bridge), None),
        link(VXLAN, "vxlan--net1", Some(InfoKind::Vxlan), Some(BRIDGE)),
        link(TAP, "tap1", None, Some(BRIDGE)),
        link(OLD_TAP, "tap-old", None, Some(BRIDGE)),
        link(20, "evpn---net2", Some(InfoKind::Bridge), None),
        link(21, "vxlan--net2", Some(InfoKind::Vxlan), Some(20)),
        link(30, "br-other", Some(InfoKind::Bridge), None),
    ]
}

fn fdb(ifindex: u32, mac: MacAddress, state: NeighbourState, own: bool) -> NeighbourView {
    NeighbourView {
        family: AddressFamily::Bridge,
        ifindex,
        state,
        own,
        controller: !own,
        mac: Some(mac),
        destination: None,
        vni: None,
    }
}

fn tunnel(mac: MacAddress, vtep: IpAddr) -> NeighbourView {
    NeighbourView {
        destination: Some(vtep),
        ..fdb(VXLAN, mac, NeighbourState::Permanent, true)
    }
}

fn neighbour(ifindex: u32, last: u8, mac: MacAddress, state: NeighbourState) -> NeighbourView {
    NeighbourView {
        family: AddressFamily::Inet,
        ifindex,
        state,
        own: false,
        controller: false,
        mac: Some(mac),
        destination: Some(IpAddr::V4(Ipv4Addr::new(10, 1, 0, last))),
        vni: None,
    }
}

fn whats(requests: &[Request]) -> Vec<&str> {
    requests.iter().map(|r| r.what.as_str()).collect()
}

#[test]
fn nothing_is_removed_when_everything_is_claimed() {
    let entries = vec![
        tunnel(mac(2), ip(2)),
        tunnel(MacAddress::ZERO, ip(2)),
        fdb(VXLAN, mac(2), NeighbourState::Noarp, false),
        fdb(TAP, mac(1), NeighbourState::Noarp, false),
        neighbour(BRIDGE, 2, mac(2), NeighbourState::Permanent),
    ];
    let only_claimed: Vec<LinkView> = links()
        .into_iter()
        .filter(|l| !["tap-old", "evpn---net2", "vxlan--net2"].contains(&l.name.as_str()))
        .collect();
    assert_eq!(
        whats(&plan(&instance(true), &only_claimed, &entries)),
        Vec::<&str>::new()
    );
}

#[test]
fn stale_entries_ports_and_devices_are_removed_in_order() {
    let entries = vec![
        // Held: kept.
        tunnel(mac(2), ip(2)),
        tunnel(MacAddress::ZERO, ip(2)),
        fdb(VXLAN, mac(2), NeighbourState::Noarp, false),
        fdb(TAP, mac(1), NeighbourState::Noarp, false),
        neighbour(BRIDGE, 2, mac(2), NeighbourState::Permanent),
        // A MAC that moved to another VTEP while the daemon was down, under the old VTEP.
        tunnel(mac(2), ip(9)),
        // A MAC withdrawn while the daemon was down, with its bridge entry.
        NeighbourView {
            vni: Some(200),
            ..tunnel(mac(3), ip(3))
        },
        fdb(VXLAN, mac(3), NeighbourState::Noarp, false),
        // A VTEP that left the flood list.
        tunnel(MacAddress::ZERO, ip(3)),
        // A MAC no longer plugged on a plugged port.
        fdb(TAP, mac(7), NeighbourState::Noarp, false),
        // A neighbour withdrawn, and one whose MAC changed.
        neighbour(BRIDGE, 3, mac(3), NeighbourState::Permanent),
        neighbour(BRIDGE, 2, mac(4), NeighbourState::Permanent),
        // The kernel's own entries: never touched.
        fdb(VXLAN, mac(0x11), NeighbourState::Permanent, false),
        fdb(TAP, mac(0x12), NeighbourState::Permanent, false),
        fdb(VXLAN, mac(0x13), NeighbourState::Reachable, false),
        fdb(VXLAN, mac(0x14), NeighbourState::Permanent, true),
        neighbour(BRIDGE, 5, mac(5), NeighbourState::Reachable),
        // Another device's entries: not this instance's.
        fdb(30, mac(6), NeighbourState::Noarp, false),
        neighbour(30, 6, mac(6), NeighbourState::Permanent),
    ];
    assert_eq!(
        whats(&plan(&instance(true), &links(), &entries)),
        vec![
            "remove fdb 02:00:00:00:00:02 dev vxlan--net1 dst 10.0.0.9 vni 100 self",
            "remove fdb 02:00:00:00:00:03 dev vxlan--net1 dst 10.0.0.3 vni 200 self",
            "remove fdb 02:00:00:00:00:03 dev vxlan--net1 master static",
            "remove fdb 00:00:00:00:00:00 dev vxlan--net1 dst 10.0.0.3 vni 100 self",
            "set tap-old nomaster",
            "remove fdb 02:00:00:00:00:07 dev tap1 master static",
            "remove neighbour 10.1.0.3 lladdr 02:00:00:00:00:03 dev evpn---net1",
            "remove neighbour 10.1.0.2 lladdr 02:00:00:00:00:04 dev evpn---net1",
            "delete link vxlan--net2",
            "delete link evpn---net2",
        ]
    );
}

#[test]
fn a_bridge_the_driver_does_not_own_keeps_its_ports_and_neighbours() {
    let entries = vec![
        tunnel(mac(3), ip(3)),
        fdb(TAP, mac(7), NeighbourState::Noarp, false),
        neighbour(BRIDGE, 3, mac(3), NeighbourState::Permanent),
    ];
    let links: Vec<LinkView> = links()
        .into_iter()
        .filter(|l| !l.name.ends_with("net2"))
        .collect();
    assert_eq!(
        whats(&plan(&instance(false), &links, &entries)),
        vec!["remove fdb 02:00:00:00:00:03 dev vxlan--net1 dst 10.0.0.3 vni 100 self"]
    );
}

#[test]
fn gateway_ports_stay_in_the_bridge() {
    let mut instances = instance(true);
    if let Some(state) = instances.get_mut(&InstanceId(1)) {
        state.gateway_ports.insert("tap-old".to_string(), ip(1));
    }
    let links: Vec<LinkView> = links()
        .into_iter()
        .filter(|l| !l.name.ends_with("net2"))
        .collect();
    assert_eq!(whats(&plan(&instances, &links, &[])), Vec::<&str>::new());
}
