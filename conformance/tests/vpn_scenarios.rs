//! VPN scenarios in the simulator (`bagpipe_conformance::sim`): three "compute" speakers in an
//! iBGP full mesh (no route reflector is simulated: a speaker is not one, and a full mesh is
//! enough for every node to learn the others' routes), with dummy-like E-VPN and IP-VPN drivers.
//! Attaches and detaches are injected on each node at virtual times; every dataplane batch is
//! acknowledged at once and recorded per node.
//!
//! Each scenario runs twice and must give the same transcript byte for byte (determinism); the
//! dataplane operations each node received are an insta snapshot, and the key operations are
//! asserted explicitly: the other nodes' MACs/prefixes with their VNI/label and dataplane
//! address, flood entries, ARP entries, and their removal after the detaches.

use bagpipe_conformance::sim::{NodeId, Sim};
use bagpipe_core::api::{parse_attach, parse_detach};
use bagpipe_core::config::{PeerConfig, SpeakerConfig, VpnType};
use bagpipe_core::dataplane::{
    Capabilities, Destination, Direction, Encapsulation, FloodEntry, NeighbourEntry, NextHop,
    Operation, RemoteEndpoint, TunnelId,
};
use bagpipe_core::speaker::{ApiCall, ApiTicket};
use bagpipe_core::time::Instant;
use bagpipe_core::wire::{Label, MacAddress, Vni};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

const AS: u32 = 64512;
const NODES: [NodeId; 3] = [NodeId(0), NodeId(1), NodeId(2)];
const NAMES: [&str; 3] = ["A", "B", "C"];

/// The BGP address of node `i` (10.0.0.1, 10.0.0.2, 10.0.0.3).
fn bgp_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1 + i as u8)
}

/// The dataplane (VTEP / MPLS) address of node `i`, distinct from its BGP address so that the
/// tests see which one a route carries (192.0.2.1, ...).
fn dataplane_address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + i as u8))
}

/// The MAC of the VM on node `i` (02:00:00:00:00:0a, ...0b, ...0c).
fn vm_mac(i: usize) -> MacAddress {
    MacAddress([2, 0, 0, 0, 0, 0x0a + i as u8])
}

fn vm_mac_text(i: usize) -> String {
    vm_mac(i).to_string()
}

fn vm_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 100, 0, 11 + i as u8)
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

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

/// Three speakers, each peering iBGP with the two others; the node with the lower address
/// dials (the other is passive), so that no collision happens.
fn full_mesh() -> Sim {
    let mut sim = Sim::new();
    for (i, name) in NAMES.iter().enumerate() {
        let peers = (0..NAMES.len())
            .filter(|&j| j != i)
            .map(|j| {
                let mut p = PeerConfig::new(IpAddr::V4(bgp_address(j)), AS);
                p.passive = j < i;
                p
            })
            .collect();
        let config = SpeakerConfig {
            local_as: AS,
            router_id: bgp_address(i),
            local_address: IpAddr::V4(bgp_address(i)),
            peers,
        };
        let node = sim.add_speaker(name, config, 100 + i as u64);
        assert_eq!(node, NODES[i]);
        sim.register_driver(node, VpnType::Evpn, dataplane_address(i), evpn_caps());
        sim.register_driver(node, VpnType::Ipvpn, dataplane_address(i), ipvpn_caps());
    }
    sim.start_all();
    sim
}

fn attach(sim: &mut Sim, node: NodeId, t: Instant, json: &str) -> ApiTicket {
    let request = parse_attach(json.as_bytes()).expect("a valid attach");
    sim.api_at(node, t, ApiCall::Attach(Box::new(request)))
}

fn detach(sim: &mut Sim, node: NodeId, t: Instant, json: &str) -> ApiTicket {
    let request = parse_detach(json.as_bytes()).expect("a valid detach");
    sim.api_at(node, t, ApiCall::Detach(Box::new(request)))
}

fn evpn_attach(i: usize) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{}",
            "ip_address": "{}/24", "local_port": {{"linuxif": "tap{i}"}}, "vni": 101,
            "import_rt": ["64512:101"], "export_rt": ["64512:101"]}}"#,
        vm_mac_text(i),
        vm_ip(i)
    )
}

fn evpn_detach(i: usize) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{}",
            "ip_address": "{}/24", "local_port": {{"linuxif": "tap{i}"}}}}"#,
        vm_mac_text(i),
        vm_ip(i)
    )
}

fn ipvpn_attach(i: usize) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "{}",
            "ip_address": "10.50.0.{}/24", "gateway_ip": "10.50.0.1",
            "local_port": {{"linuxif": "tap{i}"}}, "import_rt": ["64512:200"],
            "export_rt": ["64512:200"]}}"#,
        vm_mac_text(i),
        11 + i
    )
}

fn ipvpn_detach(i: usize) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "{}",
            "ip_address": "10.50.0.{}/24", "local_port": {{"linuxif": "tap{i}"}}}}"#,
        vm_mac_text(i),
        11 + i
    )
}

/// A scenario that ran twice with byte-identical transcripts; its per-node dataplane log is
/// checked against the insta snapshot `name` once the test's own assertions passed.
struct Scenario {
    name: &'static str,
    sim: Sim,
    tickets: Vec<ApiTicket>,
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
            insta::assert_snapshot!(self.name, dataplane_snapshot(&self.sim));
        }
    }
}

fn dataplane_snapshot(sim: &Sim) -> String {
    let mut out = String::new();
    for node in NODES {
        let _ = writeln!(out, "== {} ==", sim.name(node));
        out.push_str(&sim.dataplane_log(node));
    }
    out
}

fn scenario(name: &'static str, run: impl Fn() -> (Sim, Vec<ApiTicket>)) -> Scenario {
    let (first, tickets) = run();
    let (second, _) = run();
    assert_eq!(
        first.transcript(),
        second.transcript(),
        "scenario {name} is not deterministic"
    );
    assert_eq!(dataplane_snapshot(&first), dataplane_snapshot(&second));
    Scenario {
        name,
        sim: first,
        tickets,
    }
}

/// The operations `node` received at or after `from` and before `to`.
fn ops_between(sim: &Sim, node: NodeId, from: Instant, to: Instant) -> Vec<Operation> {
    sim.dataplane()
        .iter()
        .filter(|r| r.node == node && r.at >= from && r.at < to)
        .flat_map(|r| r.ops.iter().cloned())
        .collect()
}

fn instance_of(ops: &[Operation]) -> bagpipe_core::rib::InstanceId {
    ops.iter()
        .find_map(|op| match op {
            Operation::CreateInstance(spec) => Some(spec.instance),
            _ => None,
        })
        .expect("the instance was created")
}

fn vni(v: u32) -> TunnelId {
    TunnelId::Vni(Vni::new(v).expect("vni"))
}

fn remote_mac(j: usize) -> RemoteEndpoint {
    RemoteEndpoint {
        destination: Destination::Mac(vm_mac(j)),
        next_hop: NextHop {
            remote_pe: dataplane_address(j),
            id: vni(101),
            encapsulation: Encapsulation::VXLAN,
        },
        lb_consistent_hash_order: 0,
    }
}

fn flood(j: usize) -> FloodEntry {
    FloodEntry {
        remote_vtep: dataplane_address(j),
        id: vni(101),
        encapsulation: Encapsulation::VXLAN,
    }
}

fn neighbour(j: usize) -> NeighbourEntry {
    NeighbourEntry {
        ip: IpAddr::V4(vm_ip(j)),
        mac: vm_mac(j),
    }
}

/// E-VPN: A, B and C attach a VM each to `net1` (forced VNI 101) at 1 s, 2 s and 3 s; each
/// node learns the two others' MAC/IP and Inclusive Multicast routes. C then B detach (8 s,
/// 9 s): the others remove what they had for them. A stays attached.
fn evpn_run() -> (Sim, Vec<ApiTicket>) {
    let mut sim = full_mesh();
    let mut tickets = Vec::new();
    for (i, node) in NODES.iter().enumerate() {
        tickets.push(attach(
            &mut sim,
            *node,
            at(1000 * (i as u64 + 1)),
            &evpn_attach(i),
        ));
    }
    tickets.push(detach(&mut sim, NODES[2], at(8000), &evpn_detach(2)));
    tickets.push(detach(&mut sim, NODES[1], at(9000), &evpn_detach(1)));
    sim.run_until(at(15_000));
    (sim, tickets)
}

#[test]
fn evpn_three_nodes_learn_each_others_macs_and_flood_lists_then_forget_them() {
    let s = scenario("evpn_full_mesh_attach_detach", evpn_run);
    for t in &s.tickets {
        assert_eq!(s.api_reply(*t), Some(&Ok(())), "ticket {t:?}");
    }
    // Every session is up.
    for a in NODES {
        for b in NODES.iter().filter(|b| **b != a) {
            assert_eq!(
                s.state(a, *b),
                Some(bagpipe_core::session::SessionState::Established)
            );
        }
    }
    // While all three are attached (3 s to 8 s, plus the propagation), every node has the two
    // others' MACs with VNI 101 at their dataplane address, a flood entry and an ARP entry.
    for (i, node) in NODES.iter().enumerate() {
        let ops = ops_between(&s, *node, at(0), at(8000));
        let instance = instance_of(&ops);
        let Some(Operation::CreateInstance(spec)) = ops.first() else {
            panic!("{}: create first: {ops:?}", NAMES[i])
        };
        assert_eq!(spec.id, vni(101), "forced VNI");
        for j in (0..3).filter(|&j| j != i) {
            let setup = Operation::SetupRemoteEndpoint {
                instance,
                endpoint: remote_mac(j),
            };
            assert!(
                ops.contains(&setup),
                "{} has {}'s MAC: {ops:#?}",
                NAMES[i],
                NAMES[j]
            );
            assert!(ops.contains(&Operation::AddFloodEntry {
                instance,
                entry: flood(j)
            }));
            assert!(ops.contains(&Operation::AddNeighbour {
                instance,
                entry: neighbour(j)
            }));
        }
        // Nothing for its own MAC or its own VTEP.
        assert!(!ops.iter().any(|op| matches!(op,
            Operation::SetupRemoteEndpoint { endpoint, .. }
                if endpoint.destination == Destination::Mac(vm_mac(i)))));
        assert!(!ops.iter().any(|op| matches!(op,
            Operation::AddFloodEntry { entry, .. } if entry.remote_vtep == dataplane_address(i))));
        assert!(!ops.iter().any(|op| !op.is_addition()), "{ops:?}");
    }
    // C detaches at 8 s: A and B remove C's MAC, flood entry and ARP entry; C cleans up.
    let a_ops = ops_between(&s, NODES[0], at(8000), at(9000));
    let a_instance = instance_of(&s.dataplane_ops(NODES[0]));
    for op in [
        Operation::RemoveRemoteEndpoint {
            instance: a_instance,
            endpoint: remote_mac(2),
        },
        Operation::RemoveFloodEntry {
            instance: a_instance,
            entry: flood(2),
        },
        Operation::RemoveNeighbour {
            instance: a_instance,
            entry: neighbour(2),
        },
    ] {
        assert!(a_ops.contains(&op), "A after C left: {a_ops:#?}");
    }
    assert_eq!(a_ops.len(), 3, "{a_ops:#?}");
    let c_ops = ops_between(&s, NODES[2], at(8000), at(9000));
    assert!(
        matches!(
            c_ops.first(),
            Some(Operation::VifUnplugged {
                last_endpoint: true,
                ..
            })
        ),
        "{c_ops:#?}"
    );
    assert!(matches!(
        c_ops.last(),
        Some(Operation::CleanupInstance { .. })
    ));
    // B detaches at 9 s: A is left alone with its own instance.
    let a_ops = ops_between(&s, NODES[0], at(9000), at(15_000));
    assert!(a_ops.contains(&Operation::RemoveRemoteEndpoint {
        instance: a_instance,
        endpoint: remote_mac(1),
    }));
    assert!(a_ops.contains(&Operation::RemoveFloodEntry {
        instance: a_instance,
        entry: flood(1),
    }));
    let a = s.speaker(NODES[0]).expect("A is up");
    assert_eq!(a.vpn().instances().count(), 1);
    for node in &NODES[1..] {
        let sp = s.speaker(*node).expect("up");
        assert_eq!(sp.vpn().instances().count(), 0);
    }
}

/// IP-VPN: A, B and C attach a VM each to `vrf1`; each programs the two others' /32 with their
/// per-MAC label at their dataplane address. A then C detach.
fn ipvpn_run() -> (Sim, Vec<ApiTicket>) {
    let mut sim = full_mesh();
    let mut tickets = Vec::new();
    for (i, node) in NODES.iter().enumerate() {
        tickets.push(attach(
            &mut sim,
            *node,
            at(1000 + 500 * i as u64),
            &ipvpn_attach(i),
        ));
    }
    tickets.push(detach(&mut sim, NODES[0], at(6000), &ipvpn_detach(0)));
    tickets.push(detach(&mut sim, NODES[2], at(7000), &ipvpn_detach(2)));
    sim.run_until(at(12_000));
    (sim, tickets)
}

/// The label node `j` allocated for its VM's MAC (its `vif_plugged`).
fn plugged_label(sim: &Sim, j: usize) -> Label {
    sim.dataplane_ops(NODES[j])
        .iter()
        .find_map(|op| match op {
            Operation::VifPlugged { port, .. } => port.label,
            _ => None,
        })
        .expect("a plugged port with a label")
}

fn remote_prefix(sim: &Sim, j: usize) -> RemoteEndpoint {
    RemoteEndpoint {
        destination: Destination::Prefix(format!("10.50.0.{}/32", 11 + j).parse().expect("net")),
        next_hop: NextHop {
            remote_pe: dataplane_address(j),
            id: TunnelId::Label(plugged_label(sim, j)),
            // Our routes offer MPLS (the driver's encapsulations but the default one).
            encapsulation: Encapsulation::MPLS,
        },
        lb_consistent_hash_order: 0,
    }
}

#[test]
fn ipvpn_three_nodes_program_each_others_host_routes_then_remove_them() {
    let s = scenario("ipvpn_full_mesh_attach_detach", ipvpn_run);
    for t in &s.tickets {
        assert_eq!(s.api_reply(*t), Some(&Ok(())), "ticket {t:?}");
    }
    for (i, node) in NODES.iter().enumerate() {
        let ops = ops_between(&s, *node, at(0), at(6000));
        let instance = instance_of(&ops);
        for j in (0..3).filter(|&j| j != i) {
            let setup = Operation::SetupRemoteEndpoint {
                instance,
                endpoint: remote_prefix(&s, j),
            };
            assert!(
                ops.contains(&setup),
                "{} has {}'s /32: {ops:#?}",
                NAMES[i],
                NAMES[j]
            );
        }
        // An IP-VPN has no flood list nor ARP entries.
        assert!(!ops.iter().any(|op| matches!(
            op,
            Operation::AddFloodEntry { .. } | Operation::AddNeighbour { .. }
        )));
    }
    // A detaches at 6 s: B and C remove A's /32.
    for j in [1, 2] {
        let ops = ops_between(&s, NODES[j], at(6000), at(7000));
        let instance = instance_of(&s.dataplane_ops(NODES[j]));
        assert_eq!(
            ops,
            vec![Operation::RemoveRemoteEndpoint {
                instance,
                endpoint: remote_prefix(&s, 0),
            }],
            "{} after A left",
            NAMES[j]
        );
    }
    // C detaches at 7 s: B removes C's /32 and is alone.
    let ops = ops_between(&s, NODES[1], at(7000), at(12_000));
    let instance = instance_of(&s.dataplane_ops(NODES[1]));
    assert_eq!(
        ops,
        vec![Operation::RemoveRemoteEndpoint {
            instance,
            endpoint: remote_prefix(&s, 2),
        }]
    );
    // A and C cleaned their instance up: the unplug of the last endpoint first, the cleanup
    // last.
    for j in [0, 2] {
        let ops = ops_between(&s, NODES[j], at(6000 + 1000 * (j as u64 / 2)), at(12_000));
        assert!(
            matches!(
                ops.first(),
                Some(Operation::VifUnplugged {
                    last_endpoint: true,
                    ..
                })
            ),
            "{ops:#?}"
        );
        assert!(matches!(
            ops.last(),
            Some(Operation::CleanupInstance { .. })
        ));
        assert_eq!(
            s.speaker(NODES[j]).expect("up").vpn().instances().count(),
            0
        );
    }
}
