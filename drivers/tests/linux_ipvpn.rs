//! The Linux IP-VPN driver: snapshots of the netlink messages it builds (this machine's kernel
//! has no VRF and no MPLS routing), and the kernel path in a network namespace the test creates,
//! skipped with a plain message when the kernel lacks the support.

mod netns;

use std::net::{IpAddr, Ipv4Addr};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    DataplaneDriver, Destination, Direction, DriverError, Encapsulation, InstanceSpec, LocalPort,
    NextHop, Operation, RemoteEndpoint, TunnelId,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::{Label, MacAddress};
use bagpipe_drivers::linux_ipvpn::messages::{IpvpnRequest, EAFNOSUPPORT, EOPNOTSUPP};
use bagpipe_drivers::linux_ipvpn::{
    cleanup_requests, create_requests, placement::VrfPlacement, plan, InstanceState, Interfaces,
    LinuxIpvpnConfig, LinuxIpvpnDriver,
};
use netns::Netns;

const I: InstanceId = InstanceId(1);

fn spec() -> InstanceSpec {
    InstanceSpec {
        vpn_type: VpnType::Ipvpn,
        instance: I,
        external_id: "vrf-blue".to_string(),
        id: TunnelId::Label(Label::new(100).unwrap()),
        linuxbr: None,
        gateway: Some("10.0.0.1/24".parse().unwrap()),
    }
}

fn port(interface: &str, label: u32) -> LocalPort {
    LocalPort {
        interface: interface.to_string(),
        mac: MacAddress([2, 0, 0, 0, 0, 2]),
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

/// One block per request: the `ip` command, the flags, the octets in hex (16 per line).
fn render(requests: &[IpvpnRequest]) -> String {
    let mut out = String::new();
    for r in requests {
        // The octets decode and encode again to the same octets (the library decodes the MPLS
        // encapsulation of a multipath next hop as an opaque attribute, hence no comparison of
        // the decoded values).
        let bytes = r.to_bytes();
        let decoded = netlink_packet_core::NetlinkMessage::<
            netlink_packet_route::RouteNetlinkMessage,
        >::deserialize(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", r.what));
        let mut again = vec![0; decoded.buffer_len()];
        decoded.serialize(&mut again);
        assert_eq!(again, bytes, "{}", r.what);
        out.push_str(&format!("# {}\nflags 0x{:04x}\n", r.what, r.flags));
        let hex = r.to_hex();
        for line in hex.as_bytes().chunks(32) {
            out.push_str(std::str::from_utf8(line).unwrap());
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The instance after `ops`, with VRF index 7 and MPLS interface `eth0` index 3, and the
/// requests of the last operation.
fn after(ops: &[Operation]) -> (InstanceState, Vec<IpvpnRequest>) {
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
    (state, last)
}

fn setup(e: RemoteEndpoint) -> Operation {
    Operation::SetupRemoteEndpoint {
        instance: I,
        endpoint: e,
    }
}

#[test]
fn snapshot_create_instance() {
    insta::assert_snapshot!(
        "create_instance",
        render(&create_requests(&spec(), &VrfPlacement::default_for(I)))
    );
}

#[test]
fn snapshot_vif_plugged() {
    let (_, requests) = after(&[Operation::VifPlugged {
        instance: I,
        port: port("tap1", 16),
    }]);
    insta::assert_snapshot!("vif_plugged", render(&requests));
}

#[test]
fn snapshot_remote_route() {
    let (_, requests) = after(&[setup(remote("192.168.1.0/24", [10, 0, 0, 1], 200, 0))]);
    insta::assert_snapshot!("remote_route", render(&requests));
}

#[test]
fn snapshot_ecmp_route() {
    let (_, requests) = after(&[
        setup(remote("192.168.1.0/24", [10, 0, 0, 1], 200, 0)),
        setup(remote("192.168.1.0/24", [10, 0, 0, 2], 300, 1)),
    ]);
    insta::assert_snapshot!("ecmp_route", render(&requests));
}

#[test]
fn snapshot_cleanup_instance() {
    let (state, _) = after(&[
        Operation::VifPlugged {
            instance: I,
            port: port("tap1", 16),
        },
        setup(remote("192.168.1.0/24", [10, 0, 0, 1], 200, 0)),
    ]);
    insta::assert_snapshot!("cleanup_instance", render(&cleanup_requests(&state)));
}

#[test]
fn capabilities() {
    // Opening a netlink socket needs no privilege.
    let driver = LinuxIpvpnDriver::new(LinuxIpvpnConfig::default()).expect("netlink socket");
    let c = driver.capabilities();
    assert_eq!(c.vpn_type, VpnType::Ipvpn);
    assert_eq!(
        c.encapsulations,
        [Encapsulation::MPLS, Encapsulation::Default]
    );
    assert!(c.ecmp);
    assert_eq!(c.directions, [Direction::Both]);
    assert!(LinuxIpvpnDriver::new(LinuxIpvpnConfig {
        mpls_interface: Some("gre0".to_string()),
    })
    .is_err());
}

/// The kernel path: create a VRF, plug a port, add an MPLS label and remote routes, restart
/// (adopt the VRF by its alias, remove what is not claimed again), clean up.
/// Skipped, saying so, when the kernel has no VRF or MPLS support.
#[test]
fn kernel_vrf_and_mpls_routes() {
    let Some(ns) = Netns::new("ipvpn") else {
        return;
    };
    ns.ip(&["link", "add", "tap1", "type", "veth", "peer", "name", "vm1"]);
    ns.ip(&[
        "link", "add", "mpls0", "type", "veth", "peer", "name", "core0",
    ]);
    ns.ip(&["link", "set", "mpls0", "up"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "mpls0"]);
    let outcome = ns.run(|| {
        let mut driver = LinuxIpvpnDriver::new(LinuxIpvpnConfig {
            mpls_interface: Some("mpls0".to_string()),
        })
        .expect("netlink socket");
        // Cleanup and the stale cleanup work whatever the kernel supports (nothing to remove).
        driver.cleanup_all().expect("cleanup_all at start");
        assert_eq!(
            driver.remove_unclaimed().expect("remove_unclaimed"),
            Vec::<String>::new()
        );
        if let Err(e) = driver.apply(&[Operation::CreateInstance(spec())]) {
            let error = &e.failures[0].error;
            // The kernel settings come first: no /proc/sys/net/mpls without MPLS routing.
            if let DriverError::Io { context, .. } = error {
                if context.contains("/proc/sys/net/mpls") {
                    return Err(format!("no MPLS sysctls: {error}"));
                }
            }
            if let DriverError::Kernel { errno, .. } = error {
                if *errno == EOPNOTSUPP || *errno == EAFNOSUPPORT {
                    let name = if *errno == EOPNOTSUPP {
                        "EOPNOTSUPP"
                    } else {
                        "EAFNOSUPPORT"
                    };
                    return Err(format!("{name}: {error}"));
                }
            }
            panic!("create instance: {e}");
        }
        let ops = [
            Operation::VifPlugged {
                instance: I,
                port: port("tap1", 16),
            },
            setup(remote("198.51.100.0/24", [192, 0, 2, 2], 200, 0)),
            setup(remote("198.51.100.0/24", [192, 0, 2, 3], 300, 1)),
        ];
        match driver.apply(&ops) {
            Ok(()) => {}
            Err(e) => match &e.failures[0].error {
                DriverError::Kernel { errno, .. } if *errno == EAFNOSUPPORT => {
                    driver.cleanup_all().expect("cleanup");
                    return Err(format!("EAFNOSUPPORT: {e}"));
                }
                _ => panic!("apply: {e}"),
            },
        }
        let routes = ns.ip(&["route", "show", "table", "1001"]);
        assert!(routes.contains("198.51.100.0/24"), "{routes}");
        assert!(routes.contains("mpls 200"), "{routes}");
        assert!(routes.contains("mpls 300"), "{routes}");
        let link = ns.ip(&["-d", "link", "show", "tap1"]);
        assert!(link.contains("master bvrf-1"), "{link}");
        let mpls = ns.ip(&["-f", "mpls", "route", "show"]);
        assert!(mpls.contains("16 via inet 10.0.0.2 dev tap1"), "{mpls}");
        let addresses = ns.ip(&["addr", "show", "dev", "tap1"]);
        assert!(addresses.contains("inet 10.0.0.1/24"), "{addresses}");
        let neighbours = ns.ip(&["neigh", "show", "dev", "tap1"]);
        assert!(
            neighbours.contains("10.0.0.2 lladdr 02:00:00:00:00:02 PERMANENT"),
            "{neighbours}"
        );
        let proxy_arp = std::fs::read_to_string("/proc/sys/net/ipv4/conf/tap1/proxy_arp");
        assert_eq!(proxy_arp.ok().as_deref(), Some("1\n"));
        // Applying again changes nothing.
        driver.apply(&ops).expect("idempotent");
        driver
            .apply(&[setup(remote("203.0.113.0/24", [192, 0, 2, 2], 201, 0))])
            .expect("second route");

        // Restart: the daemon dies; the new one numbers the VPNs in another order (red is
        // instance 1 now). Blue adopts its VRF by alias (bvrf-1, table 1001, routes kept), red
        // gets a free name and table.
        drop(driver);
        let mut driver = LinuxIpvpnDriver::new(LinuxIpvpnConfig {
            mpls_interface: Some("mpls0".to_string()),
        })
        .expect("netlink socket");
        let mut red = spec();
        red.external_id = "vrf-red".to_string();
        let mut blue = spec();
        blue.instance = InstanceId(2);
        driver
            .apply(&[
                Operation::CreateInstance(red),
                Operation::CreateInstance(blue),
            ])
            .expect("restart: create");
        let held = driver.instances();
        assert_eq!((held[&I].vrf_if.as_str(), held[&I].table), ("bvrf-2", 1002));
        assert_eq!(
            (
                held[&InstanceId(2)].vrf_if.as_str(),
                held[&InstanceId(2)].table
            ),
            ("bvrf-1", 1001)
        );
        let routes = ns.ip(&["route", "show", "table", "1001"]);
        assert!(
            routes.contains("203.0.113.0/24"),
            "adoption lost routes: {routes}"
        );
        driver
            .apply(&[
                Operation::VifPlugged {
                    instance: InstanceId(2),
                    port: port("tap1", 16),
                },
                Operation::SetupRemoteEndpoint {
                    instance: InstanceId(2),
                    endpoint: remote("198.51.100.0/24", [192, 0, 2, 2], 200, 0),
                },
            ])
            .expect("restart: re-attach");
        let removed = driver.remove_unclaimed().expect("remove_unclaimed");
        eprintln!("removed after restart: {removed:#?}");
        let routes = ns.ip(&["route", "show", "table", "1001"]);
        assert!(!routes.contains("203.0.113.0/24"), "{routes}");
        assert!(routes.contains("198.51.100.0/24"), "{routes}");
        driver
            .apply(&[
                Operation::CleanupInstance { instance: I },
                Operation::CleanupInstance {
                    instance: InstanceId(2),
                },
            ])
            .expect("cleanup instances");
        assert!(!ns.ip_status(&["link", "show", "bvrf-1"]));
        driver.cleanup_all().expect("cleanup all");
        Ok(())
    });
    if let Err(reason) = outcome {
        let line = format!(
            "SKIPPED: drivers linux_ipvpn kernel_vrf_and_mpls_routes: kernel has no VRF/MPLS support ({reason})"
        );
        println!("{line}");
        // The test command's summary lists what was skipped (scripts/test, BAGPIPE_SKIP_LOG).
        if let Ok(path) = std::env::var("BAGPIPE_SKIP_LOG") {
            use std::io::Write;
            if let Ok(mut log) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                let _ = writeln!(log, "{}", line.split(" (").next().unwrap_or(&line));
            }
        }
    }
    // `ns` is dropped here: the namespace is deleted whatever happened.
}
