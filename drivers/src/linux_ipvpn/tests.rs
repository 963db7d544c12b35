//! The operation → requests mapping, table-driven, without a kernel.

use std::net::{IpAddr, Ipv4Addr};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    Destination, Direction, DriverError, Encapsulation, FloodEntry, InstanceSpec, LocalPort,
    NeighbourEntry, NextHop, Operation, RemoteEndpoint, TunnelId,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::{Label, MacAddress};

use super::*;

const I: InstanceId = InstanceId(3);

fn spec() -> InstanceSpec {
    InstanceSpec {
        vpn_type: VpnType::Ipvpn,
        instance: I,
        external_id: "vrf-blue".to_string(),
        id: TunnelId::Label(Label::new(100).unwrap()),
        linuxbr: None,
        gateway: None,
    }
}

fn port(interface: &str, label: u32) -> LocalPort {
    LocalPort {
        interface: interface.to_string(),
        mac: MacAddress([2, 0, 0, 0, 0, 1]),
        ip: Some("10.0.0.2/24".parse().unwrap()),
        label: Some(Label::new(label).unwrap()),
        direction: Direction::Both,
    }
}

fn remote(prefix: &str, pe: [u8; 4], label: u32, order: u32) -> RemoteEndpoint {
    RemoteEndpoint {
        destination: Destination::Prefix(prefix.parse().unwrap()),
        next_hop: NextHop {
            remote_pe: IpAddr::V4(Ipv4Addr::from(pe)),
            id: TunnelId::Label(Label::new(label).unwrap()),
            encapsulation: Encapsulation::MPLS,
        },
        lb_consistent_hash_order: order,
    }
}

fn plug(interface: &str, label: u32) -> Operation {
    Operation::VifPlugged {
        instance: I,
        port: port(interface, label),
    }
}

fn unplug(interface: &str, label: u32) -> Operation {
    Operation::VifUnplugged {
        instance: I,
        port: port(interface, label),
        last_endpoint: true,
    }
}

fn setup(e: RemoteEndpoint) -> Operation {
    Operation::SetupRemoteEndpoint {
        instance: I,
        endpoint: e,
    }
}

fn remove(e: RemoteEndpoint) -> Operation {
    Operation::RemoveRemoteEndpoint {
        instance: I,
        endpoint: e,
    }
}

/// Applies `ops` in order to a fresh instance (VRF index 7, MPLS interface `eth0` index 3) and
/// returns the `ip` command of every request of the last operation.
fn requests_of_last(ops: &[Operation]) -> Vec<String> {
    let mut state = InstanceState::new(spec(), VrfPlacement::default_for(I), 7);
    let mut last = Vec::new();
    for op in ops {
        last = plan(
            &mut state,
            op,
            Interfaces {
                mpls: Some((3, "eth0")),
                port: Some(5),
            },
        )
        .expect("plan");
    }
    last.into_iter().map(|r| r.what).collect()
}

#[test]
fn operations_map_to_requests() {
    let a1 = remote("192.168.1.0/24", [10, 0, 0, 1], 200, 0);
    let a2 = remote("192.168.1.0/24", [10, 0, 0, 2], 300, 1);
    let default = remote("0.0.0.0/0", [10, 0, 0, 1], 201, 0);
    let table: Vec<(&str, Vec<Operation>, Vec<&str>)> = vec![
        (
            "plug",
            vec![plug("tap1", 16)],
            vec![
                "ip link set tap1 master bvrf-3 up",
                "add neighbour 10.0.0.2 lladdr 02:00:00:00:00:01 dev tap1",
                "ip -f mpls route replace 16 via inet 10.0.0.2 dev tap1",
            ],
        ),
        (
            "unplug",
            vec![plug("tap1", 16), unplug("tap1", 16)],
            vec![
                "ip -f mpls route del 16",
                "remove neighbour 10.0.0.2 lladdr 02:00:00:00:00:01 dev tap1",
                "ip link set tap1 down nomaster",
            ],
        ),
        (
            "remote route",
            vec![setup(a1)],
            vec!["ip route replace 192.168.1.0/24 table 1003 encap mpls 200 via 10.0.0.1 dev eth0"],
        ),
        (
            "default route",
            vec![setup(default)],
            vec!["ip route replace default table 1003 encap mpls 201 via 10.0.0.1 dev eth0"],
        ),
        (
            "second next hop: ECMP",
            vec![setup(a1), setup(a2)],
            vec![
                "ip route replace 192.168.1.0/24 table 1003 nexthop encap mpls 200 via 10.0.0.1 dev eth0 nexthop encap mpls 300 via 10.0.0.2 dev eth0",
            ],
        ),
        (
            "next hops in load-balancing order",
            vec![setup(a2), setup(a1)],
            vec![
                "ip route replace 192.168.1.0/24 table 1003 nexthop encap mpls 200 via 10.0.0.1 dev eth0 nexthop encap mpls 300 via 10.0.0.2 dev eth0",
            ],
        ),
        (
            "one of two next hops removed",
            vec![setup(a1), setup(a2), remove(a1)],
            vec!["ip route replace 192.168.1.0/24 table 1003 encap mpls 300 via 10.0.0.2 dev eth0"],
        ),
        (
            "last next hop removed",
            vec![setup(a1), remove(a1)],
            vec!["ip route del 192.168.1.0/24 table 1003"],
        ),
        ("removing an unknown route", vec![remove(a1)], vec![]),
        (
            "same route twice",
            vec![setup(a1), setup(a1)],
            vec!["ip route replace 192.168.1.0/24 table 1003 encap mpls 200 via 10.0.0.1 dev eth0"],
        ),
    ];
    for (name, ops, expected) in table {
        assert_eq!(requests_of_last(&ops), expected, "{name}");
    }
}

#[test]
fn the_gateway_address_goes_on_the_port_and_leaves_with_its_last_endpoint() {
    let mut with_gateway = spec();
    with_gateway.gateway = Some("10.0.0.1/24".parse().unwrap());
    let mut state = InstanceState::new(with_gateway, VrfPlacement::default_for(I), 7);
    let port_5 = Interfaces {
        mpls: None,
        port: Some(5),
    };
    let what = |requests: Vec<IpvpnRequest>| -> Vec<String> {
        requests.into_iter().map(|r| r.what).collect()
    };
    let plugged = what(plan(&mut state, &plug("tap1", 16), port_5).unwrap());
    assert_eq!(plugged[1], "ip addr add 10.0.0.1/24 dev tap1");
    assert_eq!(plugged.len(), 4);
    let unplugged = what(plan(&mut state, &unplug("tap1", 16), port_5).unwrap());
    assert_eq!(
        unplugged[2..],
        [
            "ip addr del 10.0.0.1/24 dev tap1",
            "ip link set tap1 down nomaster"
        ]
    );
    // A port that is gone: nothing that needs its index.
    plan(&mut state, &plug("tap1", 16), port_5).unwrap();
    let gone = what(plan(&mut state, &unplug("tap1", 16), Interfaces::default()).unwrap());
    assert_eq!(
        gone,
        ["ip -f mpls route del 16", "ip link set tap1 down nomaster"]
    );
}

#[test]
fn without_mpls_interface_the_kernel_chooses() {
    let mut state = InstanceState::new(spec(), VrfPlacement::default_for(I), 7);
    let r = plan(
        &mut state,
        &setup(remote("10.9.0.0/16", [10, 0, 0, 1], 200, 0)),
        Interfaces::default(),
    )
    .unwrap();
    assert_eq!(
        r[0].what,
        "ip route replace 10.9.0.0/16 table 1003 encap mpls 200 via 10.0.0.1"
    );
}

#[test]
fn create_and_cleanup_requests() {
    let what: Vec<String> = create_requests(&spec(), &VrfPlacement::default_for(I))
        .into_iter()
        .map(|r| r.what)
        .collect();
    assert_eq!(
        what[0],
        "ip link add bvrf-3 up type vrf table 1003 (alias bagpipe:vrf-blue)"
    );
    assert_eq!(what.len(), 9);
    assert!(what.contains(&"ip rule add prio 100 iif bvrf-3 lookup 1003".to_string()));
    assert!(what.contains(&"ip -6 rule add prio 101 oif bvrf-3 unreachable".to_string()));

    let mut state = InstanceState::new(spec(), VrfPlacement::default_for(I), 7);
    for op in [
        plug("tap1", 16),
        setup(remote("192.168.1.0/24", [10, 0, 0, 1], 200, 0)),
    ] {
        plan(&mut state, &op, Interfaces::default()).unwrap();
    }
    let what: Vec<String> = cleanup_requests(&state)
        .into_iter()
        .map(|r| r.what)
        .collect();
    assert_eq!(what[0], "ip route del 192.168.1.0/24 table 1003");
    assert_eq!(what[1], "ip -f mpls route del 16");
    assert_eq!(what[2], "ip link set tap1 down nomaster");
    assert_eq!(what.last().unwrap(), "ip link del bvrf-3");
    assert_eq!(what.len(), 12);

    let what: Vec<String> = restore_requests(&state, None, |name| (name == "tap1").then_some(5))
        .into_iter()
        .map(|r| r.what)
        .collect();
    assert_eq!(
        what,
        [
            "ip link set tap1 master bvrf-3 up",
            "add neighbour 10.0.0.2 lladdr 02:00:00:00:00:01 dev tap1",
            "ip -f mpls route replace 16 via inet 10.0.0.2 dev tap1",
            "ip route replace 192.168.1.0/24 table 1003 encap mpls 200 via 10.0.0.1",
        ]
    );
    // A port that is gone: its label pops into the VRF, no entry needs its index.
    let what: Vec<String> = restore_requests(&state, None, |_| None)
        .into_iter()
        .map(|r| r.what)
        .collect();
    assert_eq!(
        what[..2],
        [
            "ip link set tap1 master bvrf-3 up",
            "ip -f mpls route replace 16 dev bvrf-3",
        ]
    );
}

#[test]
fn e_vpn_operations_are_unsupported() {
    let flood = FloodEntry {
        remote_vtep: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        id: TunnelId::Label(Label::new(16).unwrap()),
        encapsulation: Encapsulation::MPLS,
    };
    let ops = [
        Operation::AddFloodEntry {
            instance: I,
            entry: flood,
        },
        Operation::RemoveFloodEntry {
            instance: I,
            entry: flood,
        },
        Operation::SetGatewayPort {
            instance: I,
            interface: "gw".to_string(),
            gateway_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        },
        Operation::GatewayPortDown {
            instance: I,
            interface: "gw".to_string(),
        },
        Operation::AddNeighbour {
            instance: I,
            entry: NeighbourEntry {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                mac: MacAddress([2, 0, 0, 0, 0, 1]),
            },
        },
    ];
    for op in ops {
        let mut state = InstanceState::new(spec(), VrfPlacement::default_for(I), 7);
        let err = plan(&mut state, &op, Interfaces::default()).unwrap_err();
        assert!(
            matches!(err, DriverError::Unsupported { .. }),
            "{}: {err:?}",
            op.name()
        );
    }
    // A MAC destination is not an IP-VPN route.
    let mut e = remote("10.0.0.0/8", [10, 0, 0, 1], 16, 0);
    e.destination = Destination::Mac(MacAddress([2, 0, 0, 0, 0, 1]));
    let mut state = InstanceState::new(spec(), VrfPlacement::default_for(I), 7);
    assert!(matches!(
        plan(&mut state, &setup(e), Interfaces::default()),
        Err(DriverError::Unsupported { .. })
    ));
}

#[test]
fn table_ids_above_255_go_in_rta_table() {
    let r = messages::remote_route(
        1003,
        messages::Prefix {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)),
            len: 8,
        },
        &[],
        None,
    );
    let netlink_packet_route::RouteNetlinkMessage::DelRoute(m) = &r.message else {
        panic!("not a route deletion: {:?}", r.message);
    };
    assert_eq!(m.header.table, 0);
    assert!(m
        .attributes
        .contains(&netlink_packet_route::route::RouteAttribute::Table(1003)));
}
