//! 10,000 remote MACs and 100 flood entries installed by the Linux E-VPN driver, then the same
//! entries by `bridge -batch`, each in a fresh network namespace. Prints both figures; asserts
//! nothing about time.
//!
//! `cargo bench -p bagpipe-drivers --bench fdb_install`

#[path = "../tests/netns/mod.rs"]
mod netns;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    DataplaneDriver, Destination, Encapsulation, FloodEntry, InstanceSpec, NextHop, Operation,
    RemoteEndpoint, TunnelId,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::{MacAddress, Vni};
use bagpipe_drivers::linux::{LinuxEvpnConfig, LinuxEvpnDriver};
use netns::Netns;

const MACS: u32 = 10_000;
const VTEPS: u32 = 100;
const VNI: u32 = 100;

fn mac(i: u32) -> MacAddress {
    let b = i.to_be_bytes();
    MacAddress([2, 0x42, b[0], b[1], b[2], b[3]])
}

fn vtep(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 1 + (i / 250) as u8, 1 + (i % 250) as u8)
}

fn entry_ops(instance: InstanceId, id: TunnelId) -> Vec<Operation> {
    let mut ops: Vec<Operation> = (0..MACS)
        .map(|i| Operation::SetupRemoteEndpoint {
            instance,
            endpoint: RemoteEndpoint {
                destination: Destination::Mac(mac(i)),
                next_hop: NextHop {
                    remote_pe: IpAddr::V4(vtep(i % VTEPS)),
                    id,
                    encapsulation: Encapsulation::VXLAN,
                },
                lb_consistent_hash_order: 0,
            },
        })
        .collect();
    ops.extend((0..VTEPS).map(|i| Operation::AddFloodEntry {
        instance,
        entry: FloodEntry {
            remote_vtep: IpAddr::V4(vtep(i)),
            id,
            encapsulation: Encapsulation::VXLAN,
        },
    }));
    ops
}

fn fdb_lines(ns: &Netns, dev: &str) -> usize {
    let out = Command::new("bridge")
        .args(["-n", &ns.name, "fdb", "show", "dev", dev])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    out
}

fn with_driver() -> Option<(Duration, Duration, u64, usize)> {
    let ns = Netns::new("bench-drv")?;
    let result = ns.run(|| {
        let mut driver = LinuxEvpnDriver::new(LinuxEvpnConfig::new(IpAddr::V4(Ipv4Addr::new(
            10, 99, 0, 1,
        ))))
        .ok()?;
        let instance = InstanceId(1);
        let id = TunnelId::Vni(Vni::new(VNI)?);
        driver
            .apply(&[Operation::CreateInstance(InstanceSpec {
                vpn_type: VpnType::Evpn,
                instance,
                external_id: "bench".to_string(),
                id,
                linuxbr: None,
                gateway: None,
            })])
            .ok()?;
        let ops = entry_ops(instance, id);
        let trips = driver.round_trips();
        let start = Instant::now();
        if let Err(e) = driver.apply(&ops) {
            eprintln!("driver: {e}");
            return None;
        }
        let install = start.elapsed();
        let trips = driver.round_trips() - trips;
        let start = Instant::now();
        driver.apply(&ops).ok()?;
        let again = start.elapsed();
        Some((install, again, trips))
    })?;
    let lines = fdb_lines(&ns, "vxlan--bench");
    Some((result.0, result.1, result.2, lines))
}

fn with_bridge_batch() -> Option<(Duration, usize)> {
    let ns = Netns::new("bench-cli")?;
    ns.ip(&["link", "add", "evpn---bench", "type", "bridge"]);
    ns.ip(&[
        "link",
        "add",
        "vxlan--bench",
        "master",
        "evpn---bench",
        "type",
        "vxlan",
        "id",
        "100",
        "local",
        "10.99.0.1",
        "dstport",
        "4789",
        "nolearning",
        "proxy",
    ]);
    ns.ip(&["link", "set", "evpn---bench", "up"]);
    ns.ip(&["link", "set", "vxlan--bench", "up"]);
    let mut batch = String::new();
    for i in 0..MACS {
        let m = mac(i);
        let v = vtep(i % VTEPS);
        let _ = writeln!(
            batch,
            "fdb replace {m} dev vxlan--bench dst {v} vni {VNI} self permanent"
        );
        let _ = writeln!(batch, "fdb replace {m} dev vxlan--bench master static");
    }
    for i in 0..VTEPS {
        let _ = writeln!(
            batch,
            "fdb append 00:00:00:00:00:00 dev vxlan--bench dst {} vni {VNI} self permanent",
            vtep(i)
        );
    }
    let file = std::env::temp_dir().join(format!("fdb-batch-{}.txt", std::process::id()));
    std::fs::write(&file, batch).ok()?;
    let start = Instant::now();
    let status = Command::new("bridge")
        .args(["-n", &ns.name, "-batch"])
        .arg(&file)
        .status();
    let elapsed = start.elapsed();
    let _ = std::fs::remove_file(&file);
    if !status.map(|s| s.success()).unwrap_or(false) {
        eprintln!("bridge -batch failed");
        return None;
    }
    Some((elapsed, fdb_lines(&ns, "vxlan--bench")))
}

fn main() {
    // `cargo test --benches` passes --bench; nothing else is accepted.
    let requests = 2 * MACS + VTEPS;
    println!("{MACS} remote MACs + {VTEPS} flood entries = {requests} FDB requests");
    match with_driver() {
        Some((install, again, trips, lines)) => println!(
            "driver (netlink, batched): {:>8.1} ms in {trips} round trips; applied again (idempotent): {:.1} ms; fdb lines {lines}",
            install.as_secs_f64() * 1e3,
            again.as_secs_f64() * 1e3,
        ),
        None => println!("driver: skipped"),
    }
    match with_bridge_batch() {
        Some((elapsed, lines)) => println!(
            "bridge -batch:             {:>8.1} ms; fdb lines {lines}",
            elapsed.as_secs_f64() * 1e3
        ),
        None => println!("bridge -batch: skipped"),
    }
}
