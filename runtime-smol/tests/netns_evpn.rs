//! E-VPN over VXLAN with real traffic, in network namespaces this test creates (issue 7):
//! a GoBGP route reflector (RT-Constraint on) in namespace `rr`, two nodes `n1` and `n2` each
//! running `bagpipe-bgp` with the Linux E-VPN driver, joined by an underlay bridge in `rr`
//! (10.77.0.0/24), and one "VM" namespace per node behind a veth whose node-side end is the
//! attached port. Ports are attached over the REST API (curl inside the node's namespace).
//! VM1 pings VM2 over VXLAN; after a detach on node 2 the FDB and neighbour entries for VM2 are
//! gone on node 1 and ping fails; after re-attach ping works again; node 1's daemon restarted
//! (issue 7, restart safety; it comes back as `bagpipe-bgp-sync`, the one-thread runtime) leaves
//! its dataplane forwarding while it is down and untouched when it starts, VM1 -> VM2 works after the port is attached again and after the stale cleanup,
//! which removes the devices of an instance not attached again and nothing else; a daemon stopped with SIGTERM followed by `bagpipe-bgp-cleanup` leaves no bridge or
//! VXLAN device of the driver.

#[path = "support/netns.rs"]
mod netns;
#[path = "support/peers.rs"]
mod peers;

use netns::{Lab, Proc};
use peers::{installed, wait_until};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const RR: &str = "10.77.0.1";
const API_PORT: u16 = 18477;
const RR_API_PORT: u16 = 50477;
const NODE_PREFIXES: [&str; 2] = ["evpn---", "vxlan--"];
/// The nodes' `stale_cleanup_delay`, in seconds.
const STALE_CLEANUP_DELAY: u64 = 8;

/// One compute node: its namespace, underlay address, VM and port.
struct Node {
    ns: String,
    vm: String,
    address: String,
    tap: String,
    mac: String,
    vm_ip: String,
    config: PathBuf,
}

/// A node's configuration; `restart_time` is the graceful-restart time it announces.
fn node_config(local: &str, restart_time: u64) -> String {
    format!(
        "[bgp]\nlocal_as = 64512\nlocal_address = \"{local}\"\n\n\
         [[peers]]\naddress = \"{RR}\"\nport = 179\nhold_time = 9\nconnect_retry = 1\n\
         graceful_restart = {restart_time}\n\n\
         [api]\nhost = \"127.0.0.1\"\nport = {API_PORT}\n\n\
         [dataplane.evpn]\ndriver = \"linux\"\nlocal_address = \"{local}\"\n\
         stale_cleanup_delay = {STALE_CLEANUP_DELAY}\n"
    )
}

fn rr_config() -> String {
    let families: String = ["l2vpn-evpn", "l3vpn-ipv4-unicast", "rtc"]
        .iter()
        .map(|f| {
            format!(
                "  [[peer-groups.afi-safis]]\n    [peer-groups.afi-safis.config]\n      afi-safi-name = \"{f}\"\n\
                 \x20   [peer-groups.afi-safis.mp-graceful-restart.config]\n      enabled = true\n"
            )
        })
        .collect();
    format!(
        "[global.config]\n  as = 64512\n  router-id = \"{RR}\"\n  port = 179\n  local-address-list = [\"{RR}\"]\n\
         [[peer-groups]]\n  [peer-groups.config]\n    peer-group-name = \"clients\"\n    peer-as = 64512\n\
         \x20 [peer-groups.graceful-restart.config]\n    enabled = true\n    restart-time = 120\n    notification-enabled = true\n\
         \x20 [peer-groups.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{RR}\"\n{families}\
         [[dynamic-neighbors]]\n  [dynamic-neighbors.config]\n    prefix = \"10.77.0.0/24\"\n    peer-group = \"clients\"\n"
    )
}

/// A second network on node 1 only (port `tapx`), attached before its daemon restarts and not
/// after.
fn other_port() -> &'static str {
    r#"{"vpn_type": "evpn", "vpn_instance_id": "net2", "mac_address": "02:00:00:00:22:01",
        "ip_address": "10.200.0.1/24", "local_port": {"linuxif": "tapx"},
        "import_rt": ["64512:200"], "export_rt": ["64512:200"]}"#
}

/// The interface index of `dev` in `ns`.
fn ifindex(lab: &Lab, ns: &str, dev: &str) -> String {
    let line = lab.ip(ns, &["-o", "link", "show", "dev", dev]);
    line.split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn evpn_port(node: &Node) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{}", "ip_address": "{}/24",
            "local_port": {{"linuxif": "{}"}}, "import_rt": ["64512:100"], "export_rt": ["64512:100"]}}"#,
        node.mac, node.vm_ip, node.tap
    )
}

/// `curl` inside the node's namespace: (HTTP status, body).
fn http(lab: &Lab, ns: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let url = format!("http://127.0.0.1:{API_PORT}{path}");
    let mut args = vec![
        "-s",
        "-m",
        "10",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
        "-H",
        "Content-Type: application/json",
    ];
    if !body.is_empty() {
        args.extend(["--data-binary", body]);
    }
    args.push(&url);
    let out = lab.exec(ns, "curl", &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// The states of the session to the reflector, from the daemon's JSON log.
fn established(lab: &Lab, daemon: Proc) -> bool {
    lab.log(daemon)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "peer state changed" && l["peer"] == RR)
        .filter_map(|l| l["to"].as_str().map(str::to_string))
        .next_back()
        .is_some_and(|s| s == "Established")
}

fn start_daemon(lab: &mut Lab, node: &Node, name: &str) -> Proc {
    start_daemon_binary(
        lab,
        node,
        name,
        Path::new(env!("CARGO_BIN_EXE_bagpipe-bgp")),
    )
}

/// `binary` (either runtime's daemon) on `node`, once its session is Established.
fn start_daemon_binary(lab: &mut Lab, node: &Node, name: &str, binary: &Path) -> Proc {
    let config = node.config.to_string_lossy().into_owned();
    let daemon = lab.spawn(
        &node.ns,
        name,
        binary,
        &[
            "--config-file",
            &config,
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ],
    );
    let up = wait_until(LIMIT, || {
        established(lab, daemon) || lab.log(daemon).contains("\"level\":\"ERROR\"")
    });
    assert!(
        up && established(lab, daemon),
        "{name}: session to {RR} not Established within {LIMIT:?}; log:\n{}",
        lab.log(daemon)
    );
    daemon
}

fn ping(lab: &Lab, from: &str, to: &str, count: &str) -> (bool, String) {
    let out = lab.exec(from, "ping", &["-c", count, "-W", "1", "-i", "0.2", to]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Node `ns`'s FDB and neighbour lines about `mac`/`ip`.
fn entries_for(lab: &Lab, ns: &str, mac: &str, ip: &str) -> Vec<String> {
    let fdb = lab.bridge(ns, &["fdb", "show"]);
    let neigh = lab.ip(ns, &["neigh", "show"]);
    fdb.lines()
        .filter(|l| l.contains(mac))
        .chain(
            neigh
                .lines()
                .filter(|l| l.starts_with(&format!("{ip} ")) || l.contains(mac)),
        )
        .map(str::to_string)
        .collect()
}

/// The driver's devices in `ns` (`ip -d link`).
fn driver_devices(lab: &Lab, ns: &str) -> Vec<String> {
    lab.ip(ns, &["-d", "-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .filter(|name| NODE_PREFIXES.iter().any(|p| name.starts_with(p)))
        .collect()
}

/// Packets sent by the VXLAN device of instance `net1` in `ns`.
fn vxlan_tx_packets(lab: &Lab, ns: &str) -> u64 {
    let json = lab.ip(ns, &["-s", "-j", "link", "show", "vxlan--net1"]);
    let links: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    links[0]["stats64"]["tx"]["packets"]
        .as_u64()
        .unwrap_or_default()
}

fn debug_state(lab: &Lab, ns: &str) -> String {
    format!(
        "ip -d link:\n{}\nbridge fdb:\n{}\nip neigh:\n{}",
        lab.ip(ns, &["-d", "link", "show"]),
        lab.bridge(ns, &["fdb", "show"]),
        lab.ip(ns, &["neigh", "show"])
    )
}

fn gobgp_rib(lab: &Lab, rr_ns: &str) -> String {
    let out = lab.exec(
        rr_ns,
        "gobgp",
        &[
            "-p",
            &RR_API_PORT.to_string(),
            "global",
            "rib",
            "-a",
            "evpn",
        ],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_nodes_ping_over_vxlan_with_gobgp_reflector() {
    if let Some(missing) = ["gobgpd", "gobgp", "curl", "ping", "ip", "bridge"]
        .into_iter()
        .find(|p| !installed(p))
    {
        eprintln!("skipped: {missing} not installed (run scripts/install-deps)");
        return;
    }
    let Some(mut lab) = Lab::new("evpn") else {
        return;
    };

    // Underlay: a bridge in the reflector's namespace, a veth to each node.
    let rr_ns = lab.add_ns("rr");
    lab.ip(&rr_ns, &["link", "add", "ul", "type", "bridge"]);
    lab.ip(&rr_ns, &["addr", "add", &format!("{RR}/24"), "dev", "ul"]);
    lab.ip(&rr_ns, &["link", "set", "ul", "up"]);
    let mut nodes = Vec::new();
    for i in 1..=2u8 {
        let ns = lab.add_ns(&format!("n{i}"));
        let vm = lab.add_ns(&format!("vm{i}"));
        let address = format!("10.77.0.{}", i + 1);
        let uplink = format!("ul-n{i}");
        lab.ip(
            &rr_ns,
            &[
                "link", "add", &uplink, "type", "veth", "peer", "name", "up0", "netns", &ns,
            ],
        );
        lab.ip(&rr_ns, &["link", "set", &uplink, "master", "ul", "up"]);
        lab.ip(
            &ns,
            &["addr", "add", &format!("{address}/24"), "dev", "up0"],
        );
        lab.ip(&ns, &["link", "set", "up0", "up"]);
        // The VM: eth0 in its namespace, tapN in the node's.
        let tap = format!("tap{i}");
        let mac = format!("02:00:00:77:00:0{i}");
        let vm_ip = format!("10.100.0.1{i}");
        lab.ip(
            &ns,
            &[
                "link", "add", &tap, "type", "veth", "peer", "name", "eth0", "netns", &vm,
            ],
        );
        lab.ip(&ns, &["link", "set", &tap, "up"]);
        lab.ip(&vm, &["link", "set", "eth0", "address", &mac]);
        lab.ip(&vm, &["addr", "add", &format!("{vm_ip}/24"), "dev", "eth0"]);
        lab.ip(&vm, &["link", "set", "eth0", "up"]);
        let config = lab.dir.join(format!("n{i}.toml"));
        // Node 1 restarts during the test (a long restart time); node 2 stops for good.
        let restart_time = if i == 1 { 120 } else { 4 };
        std::fs::write(&config, node_config(&address, restart_time)).expect("node config");
        nodes.push(Node {
            ns,
            vm,
            address,
            tap,
            mac,
            vm_ip,
            config,
        });
    }
    let (n1, n2) = (&nodes[0], &nodes[1]);
    let (ok, out) = ping(&lab, &n1.ns, RR, "1");
    assert!(ok, "underlay: {out}");

    // The reflector, then the daemons.
    let rr_conf = lab.dir.join("rr.toml");
    std::fs::write(&rr_conf, rr_config()).expect("rr config");
    let rr_conf = rr_conf.to_string_lossy().into_owned();
    let api = format!("127.0.0.1:{RR_API_PORT}");
    let _rr = lab.spawn(
        &rr_ns,
        "gobgpd-rr",
        Path::new("gobgpd"),
        &["-f", &rr_conf, "-p", "--pprof-disable", "--api-hosts", &api],
    );
    let d1 = start_daemon(&mut lab, n1, "bagpipe-n1");
    let d2 = start_daemon(&mut lab, n2, "bagpipe-n2");

    // Attach each VM's port.
    for node in &nodes {
        let (status, body) = http(
            &lab,
            &node.ns,
            "POST",
            "/attach_localport",
            &evpn_port(node),
        );
        assert_eq!(status, 200, "attach on {}: {body}", node.ns);
    }
    // Node 1 has the driver's devices and the entries towards node 2's VTEP.
    assert!(
        wait_until(LIMIT, || entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip)
            .iter()
            .any(|l| l.contains(&format!("dst {}", n2.address)))),
        "no FDB entry for VM2 on node 1\nrib at the reflector:\n{}\n{}",
        gobgp_rib(&lab, &rr_ns),
        debug_state(&lab, &n1.ns)
    );
    assert!(
        wait_until(LIMIT, || lab
            .bridge(&n1.ns, &["fdb", "show"])
            .lines()
            .any(|l| l.starts_with("00:00:00:00:00:00")
                && l.contains(&format!("dst {}", n2.address)))),
        "no flood entry towards node 2 on node 1:\n{}",
        debug_state(&lab, &n1.ns)
    );
    assert!(
        wait_until(LIMIT, || lab.ip(&n1.ns, &["neigh", "show"]).lines().any(
            |l| l.starts_with(&format!("{} ", n2.vm_ip)) && l.contains(&n2.mac)
        )),
        "no neighbour entry for VM2 on node 1\n{}",
        debug_state(&lab, &n1.ns)
    );
    let link = lab.ip(&n1.ns, &["-d", "link", "show"]);
    let vxlan_line = link
        .lines()
        .find(|l| l.contains("vxlan id"))
        .unwrap_or_default();
    assert!(
        vxlan_line.contains(&format!("local {}", n1.address))
            && vxlan_line.contains("dstport 4789")
            && vxlan_line.contains("nolearning"),
        "{link}"
    );
    assert_eq!(driver_devices(&lab, &n1.ns).len(), 2, "{link}");

    // VM1 pings VM2 over VXLAN.
    assert!(
        wait_until(LIMIT, || ping(&lab, &n1.vm, &n2.vm_ip, "1").0),
        "VM1 cannot reach VM2\n{}\n{}",
        debug_state(&lab, &n1.ns),
        debug_state(&lab, &n2.ns)
    );
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(ok, "{out}");
    // The packets went through node 1's VXLAN device, not some other path.
    let sent = vxlan_tx_packets(&lab, &n1.ns);
    assert!(sent >= 3, "{sent} packets sent on node 1's VXLAN device");
    eprintln!("attached: VM1 -> VM2 over VXLAN ({sent} packets out of vxlan--net1):\n{out}");

    // Detach on node 2: VM2's entries are gone on node 1 and ping fails.
    let (status, body) = http(&lab, &n2.ns, "POST", "/detach_localport", &evpn_port(n2));
    assert_eq!(status, 200, "detach on node 2: {body}");
    assert!(
        wait_until(LIMIT, || entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip)
            .is_empty()),
        "VM2's entries still on node 1 after detach: {:?}\n{}",
        entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip),
        debug_state(&lab, &n1.ns)
    );
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(!ok, "ping still works after detach:\n{out}");
    eprintln!("detached: ping fails as expected");

    // Re-attach: ping works again.
    let (status, body) = http(&lab, &n2.ns, "POST", "/attach_localport", &evpn_port(n2));
    assert_eq!(status, 200, "re-attach on node 2: {body}");
    assert!(
        wait_until(LIMIT, || ping(&lab, &n1.vm, &n2.vm_ip, "1").0),
        "VM1 cannot reach VM2 after re-attach\n{}\n{}",
        debug_state(&lab, &n1.ns),
        debug_state(&lab, &n2.ns)
    );
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(ok, "{out}");
    eprintln!("re-attached: VM1 -> VM2 works again");

    // A port that does not exist: the driver's error fails the attach with the kernel's
    // reason, and nothing is advertised for it.
    let missing = r#"{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "02:00:00:00:99:01",
        "ip_address": "10.100.0.99/24", "local_port": {"linuxif": "tap-missing"},
        "import_rt": ["64512:100"], "export_rt": ["64512:100"]}"#;
    let (status, body) = http(&lab, &n1.ns, "POST", "/attach_localport", missing);
    eprintln!("attach of a missing interface: {status} {body}");
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("set tap-missing master evpn---net1 up: No such device"),
        "{body}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let rib = gobgp_rib(&lab, &rr_ns);
    assert!(
        !rib.contains("02:00:00:00:99:01"),
        "advertised anyway:\n{rib}"
    );
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "1");
    assert!(ok, "the failed attach broke VM1's port:\n{out}");

    // Restart safety. Node 1 also has a port in a second network; then its daemon stops (SIGTERM
    // does not clean up) and VM1 keeps reaching VM2 while it is down.
    lab.ip(
        &n1.ns,
        &[
            "link", "add", "tapx", "type", "veth", "peer", "name", "tapx-vm",
        ],
    );
    let (status, body) = http(&lab, &n1.ns, "POST", "/attach_localport", other_port());
    assert_eq!(status, 200, "attach net2 on node 1: {body}");
    assert_eq!(
        driver_devices(&lab, &n1.ns).len(),
        4,
        "{}",
        debug_state(&lab, &n1.ns)
    );
    let vxlan_index = ifindex(&lab, &n1.ns, "vxlan--net1");
    let status = lab.terminate(d1, Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "node 1: {status:?}");
    // While it is down VM1 still reaches VM2: node 1's dataplane is untouched, and the
    // reflector keeps node 1's routes (graceful restart with the N bit: our Cease does not end
    // it, RFC 8538), so node 2 keeps VM1's entries.
    let sent_before = vxlan_tx_packets(&lab, &n1.ns);
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(
        ok,
        "VM1 cannot reach VM2 while node 1's daemon is down:\n{out}\n{}",
        gobgp_rib(&lab, &rr_ns)
    );
    let sent = vxlan_tx_packets(&lab, &n1.ns) - sent_before;
    assert!(
        sent >= 3,
        "node 1 sent {sent} packets into the tunnel while its daemon was down"
    );
    // It starts again: the driver adopts what it finds; nothing is removed or recreated.
    // The one-thread runtime takes over: both runtimes share the drivers' restart handling.
    let sync_daemon = peers::sync_daemon_binary();
    let d1 = start_daemon_binary(&mut lab, n1, "bagpipe-sync-n1-restarted", &sync_daemon);
    // Before the port is attached again: our End-of-RIB is deferred, the reflector keeps our
    // stale routes, traffic flows.
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(
        ok,
        "VM1 cannot reach VM2 before the re-attach on node 1:\n{out}"
    );
    assert!(
        !entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip).is_empty(),
        "VM2's entries removed when node 1's daemon started\n{}",
        debug_state(&lab, &n1.ns)
    );
    assert_eq!(
        driver_devices(&lab, &n1.ns).len(),
        4,
        "{}",
        debug_state(&lab, &n1.ns)
    );
    // The agent attaches VM1's port again (net2's port is gone meanwhile: not attached again).
    let (status, body) = http(&lab, &n1.ns, "POST", "/attach_localport", &evpn_port(n1));
    assert_eq!(status, 200, "re-attach on restarted node 1: {body}");
    assert_eq!(
        ifindex(&lab, &n1.ns, "vxlan--net1"),
        vxlan_index,
        "vxlan--net1 recreated"
    );
    // Node 2 relearns VM1 through the reflector.
    assert!(
        wait_until(LIMIT, || ping(&lab, &n1.vm, &n2.vm_ip, "1").0),
        "VM1 cannot reach VM2 after re-attach on node 1\n{}\n{}",
        debug_state(&lab, &n1.ns),
        debug_state(&lab, &n2.ns)
    );
    // The grace period ends: net2's devices go, net1's entries stay.
    assert!(
        wait_until(Duration::from_secs(STALE_CLEANUP_DELAY) + LIMIT, || lab
            .log(d1)
            .contains("stale cleanup:")),
        "no stale cleanup on node 1; log:\n{}",
        lab.log(d1)
    );
    let log = lab.log(d1);
    assert!(
        log.contains("stale cleanup: delete link vxlan--net2")
            && log.contains("stale cleanup: delete link evpn---net2"),
        "{log}"
    );
    assert_eq!(
        driver_devices(&lab, &n1.ns),
        ["evpn---net1", "vxlan--net1"],
        "{}",
        debug_state(&lab, &n1.ns)
    );
    assert!(
        !entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip).is_empty(),
        "VM2's entries removed by the stale cleanup\n{}",
        debug_state(&lab, &n1.ns)
    );
    let (ok, out) = ping(&lab, &n1.vm, &n2.vm_ip, "3");
    assert!(ok, "VM1 cannot reach VM2 after the stale cleanup:\n{out}");
    eprintln!("restart: VM1 -> VM2 worked throughout; stale net2 removed");

    // Stop node 2's daemon with SIGTERM and clean up: no bridge or VXLAN device is left.
    let status = lab.terminate(d2, Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "node 2's daemon after SIGTERM: {status:?}"
    );
    eprintln!(
        "after SIGTERM, node 2 still has {:?}",
        driver_devices(&lab, &n2.ns)
    );
    let cleanup = env!("CARGO_BIN_EXE_bagpipe-bgp-cleanup");
    let config = n2.config.to_string_lossy().into_owned();
    let out = lab.exec(&n2.ns, cleanup, &["--config-file", &config]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bagpipe-bgp-cleanup: {text}");
    assert_eq!(
        driver_devices(&lab, &n2.ns),
        Vec::<String>::new(),
        "after cleanup:\n{}",
        debug_state(&lab, &n2.ns)
    );
    assert!(
        entries_for(&lab, &n2.ns, &n1.mac, &n1.vm_ip).is_empty(),
        "{}",
        debug_state(&lab, &n2.ns)
    );
    // The VM's port is not the driver's: it stays.
    lab.ip(&n2.ns, &["link", "show", &n2.tap]);
    // Node 1 loses VM2 and node 2's flood entry once node 2's session is gone and the
    // reflector stopped keeping its routes (node 2 announced a short restart time).
    assert!(
        wait_until(LIMIT, || entries_for(&lab, &n1.ns, &n2.mac, &n2.vm_ip)
            .is_empty()),
        "{}",
        debug_state(&lab, &n1.ns)
    );
    let (ok, _) = ping(&lab, &n1.vm, &n2.vm_ip, "1");
    assert!(!ok, "ping works with node 2 stopped");
    // Node 1 too: it had remote MACs, flood and neighbour entries.
    let status = lab.terminate(d1, Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "node 1: {status:?}");
    let config = n1.config.to_string_lossy().into_owned();
    let out = lab.exec(&n1.ns, cleanup, &["--config-file", &config]);
    assert!(
        out.status.success(),
        "bagpipe-bgp-cleanup on node 1: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        driver_devices(&lab, &n1.ns),
        Vec::<String>::new(),
        "after cleanup:\n{}",
        debug_state(&lab, &n1.ns)
    );
    eprintln!(
        "cleanup: no driver device left on either node: {}",
        text.trim()
    );
}
