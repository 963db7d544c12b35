//! The Linux E-VPN driver against a real kernel, in network namespaces the tests create.

mod netns;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    DataplaneDriver, Destination, Direction, DriverError, Encapsulation, FloodEntry, InstanceSpec,
    LocalPort, NeighbourEntry, NextHop, Operation, RemoteEndpoint, TunnelId,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::{Label, MacAddress, Vni};
use bagpipe_drivers::linux::{LinuxEvpnConfig, LinuxEvpnDriver};
use netns::Netns;

const I1: InstanceId = InstanceId(1);

fn ip4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn mac(last: u8) -> MacAddress {
    MacAddress([2, 0, 0, 0, 0, last])
}

fn vni(v: u32) -> TunnelId {
    TunnelId::Vni(Vni::new(v).unwrap())
}

fn create(instance: InstanceId, external_id: &str, id: u32) -> Operation {
    Operation::CreateInstance(InstanceSpec {
        vpn_type: VpnType::Evpn,
        instance,
        external_id: external_id.to_string(),
        id: vni(id),
        linuxbr: None,
        gateway: None,
    })
}

fn port(interface: &str, m: MacAddress) -> LocalPort {
    LocalPort {
        interface: interface.to_string(),
        mac: m,
        ip: None,
        label: None,
        direction: Direction::Both,
    }
}

fn remote(m: MacAddress, vtep: IpAddr, id: u32) -> RemoteEndpoint {
    RemoteEndpoint {
        destination: Destination::Mac(m),
        next_hop: NextHop {
            remote_pe: vtep,
            id: vni(id),
            encapsulation: Encapsulation::VXLAN,
        },
        lb_consistent_hash_order: 0,
    }
}

fn flood(vtep: IpAddr, id: u32) -> FloodEntry {
    FloodEntry {
        remote_vtep: vtep,
        id: vni(id),
        encapsulation: Encapsulation::VXLAN,
    }
}

fn driver(local: IpAddr) -> LinuxEvpnDriver {
    LinuxEvpnDriver::new(LinuxEvpnConfig::new(local)).expect("netlink socket")
}

/// What `ip` and `bridge` show of an instance, as sorted lines: the VXLAN device's parameters,
/// its FDB and its neighbour entries (`bridge` leaves out `vni` when it is the device's own).
fn show(ns: &Netns, ext: &str) -> String {
    let vx = format!("vxlan--{ext}");
    let link = ns.ip(&["-d", "link", "show", "dev", &vx]);
    let mut lines: Vec<String> = link
        .lines()
        .filter(|l| l.contains("vxlan id") || l.contains(": vxlan--") || l.contains("bridge_slave"))
        .map(|l| {
            if l.contains("bridge_slave") {
                // Keep the port flags (neigh_suppress ...), drop the changing state.
                l.trim().to_string()
            } else {
                l.split(" state ").next().unwrap_or(l).trim().to_string()
            }
        })
        .collect();
    let mut entries: Vec<String> = ns
        .bridge(&["fdb", "show", "dev", &vx])
        .lines()
        // ARP suppression entries live on the bridge (the VXLAN port has neigh_suppress on).
        .chain(
            ns.ip(&["neigh", "show", "dev", &format!("evpn---{ext}")])
                .lines(),
        )
        .map(|l| l.trim().to_string())
        .collect();
    entries.sort();
    lines.extend(entries);
    lines.join("\n")
}

fn our_links(ns: &Netns) -> Vec<String> {
    ns.ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| n.starts_with("evpn---") || n.starts_with("vxlan--"))
        .collect()
}

fn entries_ops() -> Vec<Operation> {
    vec![
        Operation::SetupRemoteEndpoint {
            instance: I1,
            endpoint: remote(mac(2), ip4(10, 99, 0, 2), 100),
        },
        Operation::AddFloodEntry {
            instance: I1,
            entry: flood(ip4(10, 99, 0, 2), 100),
        },
        Operation::AddFloodEntry {
            instance: I1,
            entry: flood(ip4(10, 99, 0, 3), 100),
        },
        Operation::AddNeighbour {
            instance: I1,
            entry: NeighbourEntry {
                ip: ip4(10, 100, 0, 2),
                mac: mac(2),
            },
        },
    ]
}

#[test]
fn programs_bridge_vxlan_fdb_and_neighbours_idempotently_and_removes_them() {
    let Some(ns) = Netns::new("prog") else { return };
    ns.ip(&["link", "add", "tap1", "type", "veth", "peer", "name", "vm1"]);
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let mut ops = vec![
            create(I1, "t1", 100),
            Operation::VifPlugged {
                instance: I1,
                port: port("tap1", mac(1)),
            },
        ];
        ops.extend(entries_ops());
        d.apply(&ops).expect("apply");

        let shown = show(&ns, "t1");
        for expected in [
            "vxlan id 100 local 10.99.0.1",
            "dstport 4789",
            "nolearning",
            "neigh_suppress on",
            "master evpn---t1",
            "02:00:00:00:00:02 dst 10.99.0.2 self permanent",
            "00:00:00:00:00:00 dst 10.99.0.2 self permanent",
            "00:00:00:00:00:00 dst 10.99.0.3 self permanent",
            "02:00:00:00:00:02 master evpn---t1 static",
            "10.100.0.2 lladdr 02:00:00:00:00:02 PERMANENT",
        ] {
            assert!(
                shown.contains(expected),
                "missing {expected:?} in:\n{shown}"
            );
        }
        let bridge = ns.ip(&["-d", "link", "show", "dev", "evpn---t1"]);
        assert!(bridge.contains("bridge forward_delay 0"), "{bridge}");
        assert!(bridge.contains("stp_state 0"), "{bridge}");
        let tap = ns.bridge(&["fdb", "show", "dev", "tap1"]);
        assert!(
            tap.contains("02:00:00:00:00:01 master evpn---t1 static"),
            "{tap}"
        );
        assert!(ns
            .ip(&["link", "show", "dev", "tap1"])
            .contains("master evpn---t1"));

        // Idempotent: the same batch again changes nothing.
        d.apply(&ops).expect("apply again");
        assert_eq!(show(&ns, "t1"), shown);
        let fdb = ns.bridge(&["fdb", "show", "dev", "vxlan--t1"]);
        assert_eq!(fdb.matches("00:00:00:00:00:00").count(), 2, "{fdb}");

        // Removal: every entry goes; removing again is harmless.
        let removals: Vec<Operation> = entries_ops()
            .into_iter()
            .map(|op| match op {
                Operation::SetupRemoteEndpoint { instance, endpoint } => {
                    Operation::RemoveRemoteEndpoint { instance, endpoint }
                }
                Operation::AddFloodEntry { instance, entry } => {
                    Operation::RemoveFloodEntry { instance, entry }
                }
                Operation::AddNeighbour { instance, entry } => {
                    Operation::RemoveNeighbour { instance, entry }
                }
                other => other,
            })
            .collect();
        d.apply(&removals).expect("remove");
        d.apply(&removals).expect("remove again");
        let after = show(&ns, "t1");
        for gone in ["02:00:00:00:00:02", "00:00:00:00:00:00", "10.100.0.2"] {
            assert!(!after.contains(gone), "{gone} left in:\n{after}");
        }
        d.apply(&[Operation::VifUnplugged {
            instance: I1,
            port: port("tap1", mac(1)),
            last_endpoint: true,
        }])
        .expect("unplug");
        assert!(!ns.ip(&["link", "show", "dev", "tap1"]).contains("master"));
        assert!(!ns
            .bridge(&["fdb", "show", "dev", "tap1"])
            .contains("02:00:00:00:00:01"));

        d.apply(&[Operation::CleanupInstance { instance: I1 }])
            .expect("cleanup");
        assert!(our_links(&ns).is_empty(), "{:?}", our_links(&ns));
        assert!(
            ns.ip_status(&["link", "show", "dev", "tap1"]),
            "tap1 must stay"
        );
    });
}

#[test]
fn a_moved_mac_is_not_removed_by_the_stale_withdraw() {
    let Some(ns) = Netns::new("move") else { return };
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let old = remote(mac(2), ip4(10, 99, 0, 2), 100);
        let new = remote(mac(2), ip4(10, 99, 0, 3), 100);
        d.apply(&[
            create(I1, "mv", 100),
            Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: old,
            },
            Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: new,
            },
            Operation::RemoveRemoteEndpoint {
                instance: I1,
                endpoint: old,
            },
        ])
        .expect("apply");
        let fdb = ns.bridge(&["fdb", "show", "dev", "vxlan--mv"]);
        assert!(
            fdb.contains("02:00:00:00:00:02 dst 10.99.0.3 self permanent"),
            "{fdb}"
        );
        assert!(!fdb.contains("10.99.0.2"), "{fdb}");
    });
}

#[test]
fn failures_are_typed_and_do_not_stop_the_batch() {
    let Some(ns) = Netns::new("err") else { return };
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let mut mpls = remote(mac(3), ip4(10, 99, 0, 2), 100);
        mpls.next_hop.encapsulation = Encapsulation::MPLS;
        mpls.next_hop.id = TunnelId::Label(Label::new(18).unwrap());
        let ops = vec![
            create(I1, "err", 100),
            Operation::VifPlugged {
                instance: I1,
                port: port("nosuchtap", mac(1)),
            },
            Operation::SetupRemoteEndpoint {
                instance: InstanceId(9),
                endpoint: remote(mac(2), ip4(10, 99, 0, 2), 100),
            },
            Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: mpls,
            },
            Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: remote(mac(4), ip4(10, 99, 0, 2), 100),
            },
            create(InstanceId(2), "bad name", 200),
        ];
        let err = d.apply(&ops).expect_err("failures");
        let summary: Vec<(usize, &DriverError)> =
            err.failures.iter().map(|f| (f.index, &f.error)).collect();
        assert_eq!(summary.len(), 4, "{err}");
        assert!(
            matches!(summary[0], (1, DriverError::Kernel { errno: 19, .. })),
            "{err}"
        );
        assert_eq!(
            summary[1],
            (
                2,
                &DriverError::UnknownInstance {
                    instance: InstanceId(9)
                }
            )
        );
        assert!(
            matches!(summary[2], (3, DriverError::Unsupported { .. })),
            "{err}"
        );
        assert!(
            matches!(summary[3], (5, DriverError::InvalidArgument { .. })),
            "{err}"
        );
        eprintln!("error text: {err}");
        // The good operation of the batch was carried out.
        let fdb = ns.bridge(&["fdb", "show", "dev", "vxlan--err"]);
        assert!(fdb.contains("02:00:00:00:00:04 dst 10.99.0.2"), "{fdb}");
    });
}

#[test]
fn kernel_refusals_carry_the_kernel_message() {
    let Some(ns) = Netns::new("kmsg") else { return };
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        d.apply(&[create(I1, "km", 100), create(InstanceId(2), "km2", 200)])
            .expect("create");
        // The kernel refuses to put a bridge into a bridge, and says so (extended ack).
        let err = d
            .apply(&[Operation::VifPlugged {
                instance: I1,
                port: port("evpn---km2", mac(1)),
            }])
            .expect_err("refused");
        let text = err.to_string();
        eprintln!("kernel refusal: {text}");
        assert!(
            matches!(err.failures[0].error, DriverError::Kernel { .. }),
            "{text}"
        );
        assert!(text.contains("set evpn---km2 master"), "{text}");
        assert!(
            text.contains("Can not enslave a bridge to a bridge"),
            "{text}"
        );
        // An IPv6 VTEP on an IPv4 VXLAN device: refused, with strerror.
        let err = d
            .apply(&[Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: remote(mac(2), "2001:db8::2".parse().unwrap(), 100),
            }])
            .expect_err("refused");
        eprintln!("kernel refusal: {err}");
        assert!(err.to_string().contains("dst 2001:db8::2"), "{err}");
    });
}

#[test]
fn without_permission_the_driver_fails_with_the_kernels_reason() {
    let Some(ns) = Netns::new("eperm") else {
        return;
    };
    ns.run(|| {
        // This thread only: no CAP_NET_ADMIN (capabilities are per thread).
        let mut sets = rustix::thread::capabilities(None).expect("capget");
        sets.effective -= rustix::thread::CapabilitySet::NET_ADMIN;
        sets.permitted -= rustix::thread::CapabilitySet::NET_ADMIN;
        rustix::thread::set_capabilities(None, sets).expect("capset");
        let mut d = driver(ip4(10, 99, 0, 1));
        let err = d.apply(&[create(I1, "np", 100)]).expect_err("refused");
        let text = err.to_string();
        eprintln!("without CAP_NET_ADMIN: {text}");
        assert!(
            matches!(err.failures[0].error, DriverError::Kernel { errno: 1, .. }),
            "{text}"
        );
        assert!(
            text.contains("create bridge evpn---np") && text.contains("Operation not permitted"),
            "{text}"
        );
        assert!(
            d.instances().is_empty(),
            "nothing is held for a failed instance"
        );
    });
    assert!(!ns.ip_status(&["link", "show", "dev", "evpn---np"]));
}

#[test]
fn reconcile_repairs_what_was_removed_behind_the_drivers_back() {
    let Some(ns) = Netns::new("reco") else { return };
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let mut ops = vec![create(I1, "rc", 100)];
        ops.extend(entries_ops());
        d.apply(&ops).expect("apply");
        let before = show(&ns, "rc");
        ns.bridge(&[
            "fdb",
            "del",
            "02:00:00:00:00:02",
            "dev",
            "vxlan--rc",
            "dst",
            "10.99.0.2",
            "self",
        ]);
        ns.ip(&["neigh", "del", "10.100.0.2", "dev", "evpn---rc"]);
        assert_ne!(show(&ns, "rc"), before);
        d.reconcile().expect("reconcile");
        assert_eq!(show(&ns, "rc"), before);
    });
}

#[test]
fn a_stale_vxlan_device_is_replaced_and_a_foreign_one_reused() {
    let Some(ns) = Netns::new("stale") else {
        return;
    };
    // Left by an earlier run with another VNI.
    ns.ip(&[
        "link",
        "add",
        "vxlan--st",
        "type",
        "vxlan",
        "id",
        "7",
        "dstport",
        "4789",
    ]);
    // A bridge given by the API, holding a VXLAN port of the instance's VNI.
    ns.ip(&["link", "add", "br-given", "type", "bridge"]);
    ns.ip(&[
        "link",
        "add",
        "vx-given",
        "type",
        "vxlan",
        "id",
        "300",
        "dstport",
        "4789",
        "nolearning",
    ]);
    ns.ip(&["link", "set", "vx-given", "master", "br-given"]);
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let mut given = InstanceSpec {
            vpn_type: VpnType::Evpn,
            instance: InstanceId(3),
            external_id: "gv".to_string(),
            id: vni(300),
            linuxbr: Some("br-given".to_string()),
            gateway: None,
        };
        d.apply(&[
            create(I1, "st", 100),
            Operation::CreateInstance(given.clone()),
            Operation::AddFloodEntry {
                instance: InstanceId(3),
                entry: flood(ip4(10, 99, 0, 2), 300),
            },
        ])
        .expect("apply");
        let vx = ns.ip(&["-d", "link", "show", "dev", "vxlan--st"]);
        assert!(vx.contains("vxlan id 100"), "{vx}");
        assert_eq!(d.instances()[&InstanceId(3)].vxlan_if, "vx-given");
        assert!(!ns.ip_status(&["link", "show", "dev", "vxlan--gv"]));
        let fdb = ns.bridge(&["fdb", "show", "dev", "vx-given"]);
        assert!(
            fdb.contains("00:00:00:00:00:00 dst 10.99.0.2 self permanent"),
            "{fdb}"
        );
        // Same id, other parameters: refused.
        given.id = vni(301);
        assert!(d.apply(&[Operation::CreateInstance(given)]).is_err());
        // Cleanup leaves the devices it did not create, without our entries.
        d.apply(&[Operation::CleanupInstance {
            instance: InstanceId(3),
        }])
        .expect("cleanup");
        assert!(ns.ip_status(&["link", "show", "dev", "vx-given"]));
        assert!(ns.ip_status(&["link", "show", "dev", "br-given"]));
        let fdb = ns.bridge(&["fdb", "show", "dev", "vx-given"]);
        assert!(!fdb.contains("10.99.0.2"), "{fdb}");
    });
}

/// The interface index of `dev`, as `ip -o link` shows it.
fn ifindex(ns: &Netns, dev: &str) -> String {
    let line = ns.ip(&["-o", "link", "show", "dev", dev]);
    line.split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn a_restarted_driver_adopts_what_is_still_valid_and_later_removes_only_the_unclaimed() {
    let Some(ns) = Netns::new("rstrt") else {
        return;
    };
    for (tap, peer) in [("tapa", "tapa-vm"), ("tapb", "tapb-vm")] {
        ns.ip(&["link", "add", tap, "type", "veth", "peer", "name", peer]);
    }
    // The lowest address: a bridge without an address of its own would take it, and change it
    // (flushing its neighbour entries) when tapb leaves.
    ns.ip(&["link", "set", "tapb", "address", "02:00:00:00:00:01"]);
    ns.run(|| {
        // The first run: two instances, two ports, remote MACs, flood entries, neighbours.
        let mut first = driver(ip4(10, 99, 0, 1));
        let mut ops = vec![
            create(I1, "rs", 100),
            create(InstanceId(2), "gone", 200),
            Operation::VifPlugged {
                instance: I1,
                port: port("tapa", mac(0x0a)),
            },
            Operation::VifPlugged {
                instance: I1,
                port: port("tapb", mac(0x0b)),
            },
            Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: remote(mac(3), ip4(10, 99, 0, 3), 100),
            },
            Operation::AddNeighbour {
                instance: I1,
                entry: NeighbourEntry {
                    ip: ip4(10, 100, 0, 3),
                    mac: mac(3),
                },
            },
        ];
        ops.extend(entries_ops());
        first.apply(&ops).expect("first run");
        let before = show(&ns, "rs");
        let (bridge_index, vxlan_index) = (ifindex(&ns, "evpn---rs"), ifindex(&ns, "vxlan--rs"));
        // The daemon dies without cleaning up.
        drop(first);

        // The restarted daemon: the agent re-attaches tapa only; BGP brings back the remote MAC
        // :02, the flood entry of 10.99.0.2 and its neighbour, not :03 nor 10.99.0.3.
        let mut second = driver(ip4(10, 99, 0, 1));
        let mut ops = vec![
            create(I1, "rs", 100),
            Operation::VifPlugged {
                instance: I1,
                port: port("tapa", mac(0x0a)),
            },
        ];
        ops.extend(
            entries_ops()
                .into_iter()
                .filter(|op| !matches!(op, Operation::AddFloodEntry { entry, .. } if entry.remote_vtep == ip4(10, 99, 0, 3))),
        );
        second.apply(&ops).expect("second run");
        // Nothing was recreated or removed: traffic that was flowing still flows.
        assert_eq!(ifindex(&ns, "evpn---rs"), bridge_index);
        assert_eq!(ifindex(&ns, "vxlan--rs"), vxlan_index);
        assert_eq!(show(&ns, "rs"), before, "adoption changed the kernel state");
        assert_eq!(
            our_links(&ns),
            ["evpn---rs", "vxlan--rs", "evpn---gone", "vxlan--gone"]
        );

        // The grace period ends.
        let removed = second.remove_unclaimed().expect("remove_unclaimed");
        eprintln!("removed: {removed:#?}");
        let after = show(&ns, "rs");
        for gone in [
            "02:00:00:00:00:03 dst 10.99.0.3",
            "00:00:00:00:00:00 dst 10.99.0.3",
            "10.100.0.3 lladdr 02:00:00:00:00:03",
        ] {
            assert!(!after.contains(gone), "{gone} left:\n{after}");
        }
        for kept in [
            "02:00:00:00:00:02 dst 10.99.0.2",
            "00:00:00:00:00:00 dst 10.99.0.2",
            "10.100.0.2 lladdr 02:00:00:00:00:02",
        ] {
            assert!(after.contains(kept), "{kept} removed:\n{after}");
        }
        let fdb = ns.bridge(&["fdb", "show", "dev", "vxlan--rs"]);
        assert!(!fdb.contains("02:00:00:00:00:03 master"), "{fdb}");
        assert!(fdb.contains("02:00:00:00:00:02 master"), "{fdb}");
        // The port not re-attached is out of the bridge; the other is still in it.
        assert!(!ns.ip(&["link", "show", "dev", "tapb"]).contains("master"));
        assert!(ns
            .ip(&["link", "show", "dev", "tapa"])
            .contains("master evpn---rs"));
        assert_eq!(our_links(&ns), ["evpn---rs", "vxlan--rs"]);
        assert!(removed.contains(&"delete link evpn---gone".to_string()), "{removed:?}");
        // A second sweep finds nothing.
        assert_eq!(second.remove_unclaimed().expect("again"), Vec::<String>::new());
    });
}

#[test]
fn cleanup_all_removes_everything_the_driver_created_and_nothing_else() {
    let Some(ns) = Netns::new("call") else { return };
    ns.ip(&["link", "add", "br-keep", "type", "bridge"]);
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        let mut ops = vec![create(I1, "c1", 100), create(InstanceId(2), "c2", 200)];
        ops.extend(entries_ops());
        d.apply(&ops).expect("apply");
        assert_eq!(our_links(&ns).len(), 4, "{:?}", our_links(&ns));
        // A new driver (a restart) finds them by name.
        let mut fresh = driver(ip4(10, 99, 0, 1));
        fresh.cleanup_all().expect("cleanup_all");
        assert!(our_links(&ns).is_empty(), "{:?}", our_links(&ns));
        assert!(ns.ip_status(&["link", "show", "dev", "br-keep"]));
        fresh.cleanup_all().expect("cleanup_all again");
    });
}

#[test]
fn thousands_of_entries_take_few_round_trips() {
    let Some(ns) = Netns::new("batch") else {
        return;
    };
    ns.run(|| {
        let mut d = driver(ip4(10, 99, 0, 1));
        d.apply(&[create(I1, "bt", 100)]).expect("create");
        let ops: Vec<Operation> = (0..2000u32)
            .map(|i| Operation::SetupRemoteEndpoint {
                instance: I1,
                endpoint: remote(
                    MacAddress([2, 1, 0, 0, (i >> 8) as u8, i as u8]),
                    ip4(10, 99, 1, (i % 200) as u8 + 1),
                    100,
                ),
            })
            .collect();
        let before = d.round_trips();
        d.apply(&ops).expect("apply");
        let trips = d.round_trips() - before;
        let fdb = ns.bridge(&["fdb", "show", "dev", "vxlan--bt"]);
        assert_eq!(fdb.matches(" self permanent").count(), 2000);
        assert_eq!(fdb.matches(" master evpn---bt static").count(), 2000);
        // 4000 requests: 256 per datagram at most.
        assert!(trips <= 20, "{trips} round trips for 4000 requests");
        eprintln!("4000 FDB requests in {trips} netlink round trips");
    });
}

/// Two compute nodes joined by an underlay veth, one VM namespace each: the driver programs each
/// node's VXLAN towards the other, and a UDP datagram goes VM1 -> VM2 and back over VXLAN (ARP
/// answered from the neighbour entries).
#[test]
fn two_nodes_vms_talk_over_vxlan() {
    let (Some(cn1), Some(cn2), Some(vm1), Some(vm2)) = (
        Netns::new("cn1"),
        Netns::new("cn2"),
        Netns::new("vm1"),
        Netns::new("vm2"),
    ) else {
        return;
    };
    cn1.ip(&[
        "link", "add", "u1", "type", "veth", "peer", "name", "u2", "netns", &cn2.name,
    ]);
    cn1.ip(&["addr", "add", "10.99.0.1/24", "dev", "u1"]);
    cn1.ip(&["link", "set", "u1", "up"]);
    cn2.ip(&["addr", "add", "10.99.0.2/24", "dev", "u2"]);
    cn2.ip(&["link", "set", "u2", "up"]);
    let nodes = [(&cn1, &vm1, 1u8), (&cn2, &vm2, 2u8)];
    for (cn, vm, i) in nodes {
        cn.ip(&[
            "link",
            "add",
            &format!("tap{i}"),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &vm.name,
        ]);
        vm.ip(&["link", "set", "eth0", "address", &mac(i).to_string()]);
        vm.ip(&["addr", "add", &format!("10.100.0.{i}/24"), "dev", "eth0"]);
        vm.ip(&["link", "set", "eth0", "up"]);
    }
    for (cn, _, i) in nodes {
        let other = 3 - i;
        cn.run(|| {
            let mut d = driver(ip4(10, 99, 0, i));
            d.apply(&[
                create(I1, "net100", 100),
                Operation::VifPlugged {
                    instance: I1,
                    port: port(&format!("tap{i}"), mac(i)),
                },
                Operation::AddFloodEntry {
                    instance: I1,
                    entry: flood(ip4(10, 99, 0, other), 100),
                },
                Operation::SetupRemoteEndpoint {
                    instance: I1,
                    endpoint: remote(mac(other), ip4(10, 99, 0, other), 100),
                },
                Operation::AddNeighbour {
                    instance: I1,
                    entry: NeighbourEntry {
                        ip: ip4(10, 100, 0, other),
                        mac: mac(other),
                    },
                },
            ])
            .expect("apply");
        });
    }
    let server = vm2.run(|| UdpSocket::bind("10.100.0.2:7777").expect("bind in vm2"));
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let client = vm1.run(|| UdpSocket::bind("10.100.0.1:0").expect("bind in vm1"));
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let mut received = None;
    // The first datagram may be lost while the neighbour is resolved: try a few times.
    for _ in 0..10 {
        client
            .send_to(b"hello over vxlan", "10.100.0.2:7777")
            .unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        if let Ok((n, from)) = server.recv_from(&mut buf) {
            received = Some((buf[..n].to_vec(), from));
            break;
        }
    }
    let (payload, from) = received.expect("VM2 received nothing from VM1 over VXLAN");
    assert_eq!(payload, b"hello over vxlan");
    server.send_to(b"reply", from).unwrap();
    let (n, _) = client.recv_from(&mut buf).expect("VM1 received no reply");
    assert_eq!(&buf[..n], b"reply");
    // The VM learnt VM2's MAC: from the bridge's ARP suppression answer, or an ARP exchange.
    let neigh = vm1.ip(&["neigh", "show", "10.100.0.2"]);
    assert!(neigh.contains("02:00:00:00:00:02"), "{neigh}");
}
