//! End to end: a GoBGP route reflector (RT-Constraint on) and two bagpipe daemons. Ports
//! attached over the REST API on one node appear at the reflector with their RD, route target,
//! VNI or label, encapsulation and PMSI, and on the other node as best routes in its looking
//! glass and as dummy-driver operations; a detach withdraws them; a restarted daemon answers
//! `/ping` with a new value and its routes come back after re-attach. Run for each runtime.

#[path = "../../runtime-sync/tests/support/daemon_support.rs"]
mod daemon_support;
#[path = "support/peers.rs"]
mod peers;

use daemon_support::OurDaemon;
use peers::{
    has_operation, http, installed, looking_glass as lg, operations, sync_daemon_binary,
    wait_until, Gobgp, TestDir,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn gobgp_rib(api: u16, family: &str) -> String {
    let out = Command::new("gobgp")
        .args(["-p", &api.to_string(), "global", "rib", "-a", family])
        .output()
        .expect("gobgp");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn node_config(local: &str, rr: &str, rr_port: u16, api_port: u16) -> String {
    format!(
        "[bgp]\nlocal_as = 64512\nlocal_address = \"{local}\"\n\n[[peers]]\naddress = \"{rr}\"\nport = {rr_port}\nhold_time = 9\nconnect_retry = 1\n\n\
         [api]\nhost = \"{local}\"\nport = {api_port}\n"
    )
}

fn evpn_attach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{mac}", "ip_address": "{ip}",
            "local_port": {{"linuxif": "{port}"}}, "import_rt": ["64512:100"], "export_rt": ["64512:100"]}}"#
    )
}

fn ipvpn_attach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "{mac}", "ip_address": "{ip}",
            "gateway_ip": "10.50.0.1", "local_port": {{"linuxif": "{port}"}},
            "import_rt": ["64512:200"], "export_rt": ["64512:200"]}}"#
    )
}

fn run(binary: &Path, tag: &str, base: u8, port: u16) {
    if ["gobgpd", "gobgp"].iter().any(|p| !installed(p)) {
        eprintln!("skipped: gobgpd not installed (run scripts/install-deps)");
        return;
    }
    let dir = TestDir::new(&format!("e2e-{tag}"));
    let rr = format!("127.0.{base}.1");
    let a_addr = format!("127.0.{base}.2");
    let b_addr = format!("127.0.{base}.3");
    let rr_api = port + 10;
    let _rr = Gobgp::start_reflector(&dir.0, &rr, port, rr_api);
    std::thread::sleep(Duration::from_millis(500));
    let a_api = format!("{a_addr}:{}", port + 1);
    let b_api = format!("{b_addr}:{}", port + 2);
    let mut a = OurDaemon::start(
        binary,
        &format!("{tag}-a"),
        &node_config(&a_addr, &rr, port, port + 1),
    );
    let mut b = OurDaemon::start(
        binary,
        &format!("{tag}-b"),
        &node_config(&b_addr, &rr, port, port + 2),
    );
    a.wait_state(&rr, "Established", LIMIT);
    b.wait_state(&rr, "Established", LIMIT);

    // E-VPN: a port on each node in the same network.
    let (status, body) = http(
        &a_api,
        "POST",
        "/attach_localport",
        &evpn_attach("02:00:00:00:0a:01", "10.100.0.11/24", "tapa1"),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        &b_api,
        "POST",
        "/attach_localport",
        &evpn_attach("02:00:00:00:0b:01", "10.100.0.21/24", "tapb1"),
    );
    assert_eq!(status, 200, "{body}");
    // At the reflector: A's MAC/IP route with its RD, VNI and encapsulation, and its
    // multicast route with the PMSI tunnel to A.
    assert!(
        wait_until(LIMIT, || {
            let rib = gobgp_rib(rr_api, "evpn");
            rib.contains("[mac:02:00:00:00:0a:01]")
                && rib.contains(&format!(
                    "[type:multicast][rd:{a_addr}:0][etag:0][ip:{a_addr}]"
                ))
        }),
        "{}",
        gobgp_rib(rr_api, "evpn")
    );
    let rib = gobgp_rib(rr_api, "evpn");
    let a_line = rib
        .lines()
        .find(|l| l.contains("[mac:02:00:00:00:0a:01]"))
        .unwrap_or_default()
        .to_string();
    assert!(
        a_line.contains(&format!("[rd:{a_addr}:0]")) && a_line.contains("[ip:10.100.0.11]"),
        "{rib}"
    );
    assert!(
        a_line.contains("[VXLAN]") && a_line.contains("[64512:100]"),
        "{rib}"
    );
    let mcast = rib
        .lines()
        .find(|l| l.contains(&format!("[ip:{a_addr}]")) && l.contains("multicast"))
        .unwrap_or_default()
        .to_string();
    assert!(
        mcast.contains("Pmsi") || mcast.contains("pmsi") || rib.contains("ingress-repl"),
        "{rib}"
    );

    // On B: A's MAC as a best route, and the dummy driver got the FDB and flood entries.
    assert!(
        wait_until(LIMIT, || has_operation(
            &b_api,
            "evpn",
            "setup_remote_endpoint",
            "02:00:00:00:0a:01"
        )),
        "{:?}",
        operations(&b_api, "evpn")
    );
    assert!(
        has_operation(&b_api, "evpn", "add_flood_entry", &a_addr),
        "{:?}",
        operations(&b_api, "evpn")
    );
    assert!(
        has_operation(&b_api, "evpn", "add_neighbour", "10.100.0.11"),
        "{:?}",
        operations(&b_api, "evpn")
    );
    let best = lg(&b_api, "vpns/instances/net1/best_routes");
    assert!(best.to_string().contains("02:00:00:00:0a:01"), "{best}");

    // IP-VPN: a VRF on each node; B programs A's host route with A's label.
    let (status, body) = http(
        &a_api,
        "POST",
        "/attach_localport",
        &ipvpn_attach("02:00:00:00:0a:02", "10.50.0.11/24", "tapa2"),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        &b_api,
        "POST",
        "/attach_localport",
        &ipvpn_attach("02:00:00:00:0b:02", "10.50.0.21/24", "tapb2"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        wait_until(LIMIT, || gobgp_rib(rr_api, "vpnv4")
            .contains(&format!("{a_addr}:1:10.50.0.11/32"))),
        "{}",
        gobgp_rib(rr_api, "vpnv4")
    );
    assert!(
        wait_until(LIMIT, || has_operation(
            &b_api,
            "ipvpn",
            "setup_remote_endpoint",
            "10.50.0.11/32"
        )),
        "{:?}",
        operations(&b_api, "ipvpn")
    );

    // Bad requests change nothing.
    let (status, _) = http(
        &a_api,
        "POST",
        "/attach_localport",
        r#"{"vpn_type": "evpn"}"#,
    );
    assert_eq!(status, 400);
    let (status, body) = http(
        &a_api,
        "POST",
        "/detach_localport",
        r#"{"vpn_type": "evpn", "vpn_instance_id": "nope", "mac_address": "02:00:00:00:0a:01", "local_port": {"linuxif": "tapa1"}}"#,
    );
    assert_eq!(
        (status, body.contains("could not be found")),
        (400, true),
        "{body}"
    );
    // The configuration as BaGPipe-BGP's looking glass shows it, by bgp.conf section.
    assert_eq!(lg(&a_api, "config/BGP/my_as"), serde_json::json!(64512));
    assert_eq!(lg(&a_api, "config/BGP/peers/0"), serde_json::json!(rr));
    assert_eq!(
        lg(&a_api, "config/DATAPLANE_DRIVER_EVPN/dataplane_driver"),
        serde_json::json!("dummy")
    );
    // Refusals are warnings, kept for the looking glass.
    let logs = lg(&a_api, "logs");
    assert!(
        logs.as_array()
            .is_some_and(|l| l.iter().any(|r| r["level"] == "WARNING"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("could not be found")))),
        "{logs}"
    );
    assert!(lg(&a_api, "summary/warnings_and_errors")
        .as_u64()
        .is_some_and(|n| n >= 2));

    // Detach on A: withdrawn at the reflector and removed on B.
    let detach = r#"{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "02:00:00:00:0a:01",
                     "ip_address": "10.100.0.11/24", "local_port": {"linuxif": "tapa1"}}"#;
    let (status, body) = http(&a_api, "POST", "/detach_localport", detach);
    assert_eq!(status, 200, "{body}");
    assert!(
        wait_until(LIMIT, || !gobgp_rib(rr_api, "evpn")
            .contains("[mac:02:00:00:00:0a:01]")),
        "{}",
        gobgp_rib(rr_api, "evpn")
    );
    assert!(wait_until(LIMIT, || has_operation(
        &b_api,
        "evpn",
        "remove_remote_endpoint",
        "02:00:00:00:0a:01"
    )));
    assert!(wait_until(LIMIT, || has_operation(
        &b_api,
        "evpn",
        "remove_flood_entry",
        &a_addr
    )));

    // A restarts: /ping changes, its routes are gone until re-attached.
    let (_, ping_before) = http(&a_api, "GET", "/ping", "");
    assert!(a.terminate(Duration::from_secs(10)).success());
    assert!(
        wait_until(LIMIT, || !gobgp_rib(rr_api, "vpnv4")
            .contains(&format!("{a_addr}:1:10.50.0.11/32"))),
        "{}",
        gobgp_rib(rr_api, "vpnv4")
    );
    let mut a = OurDaemon::start(
        binary,
        &format!("{tag}-a2"),
        &node_config(&a_addr, &rr, port, port + 1),
    );
    a.wait_state(&rr, "Established", LIMIT);
    let (_, ping_after) = http(&a_api, "GET", "/ping", "");
    assert!(
        !ping_after.is_empty() && ping_after != ping_before,
        "{ping_before} {ping_after}"
    );
    let (status, _) = http(
        &a_api,
        "POST",
        "/attach_localport",
        &ipvpn_attach("02:00:00:00:0a:02", "10.50.0.11/24", "tapa2"),
    );
    assert_eq!(status, 200);
    assert!(wait_until(LIMIT, || gobgp_rib(rr_api, "vpnv4")
        .contains("10.50.0.11/32")));
    assert!(a.terminate(Duration::from_secs(10)).success());
    assert!(b.terminate(Duration::from_secs(10)).success());
}

#[test]
fn two_nodes_and_gobgp_smol() {
    run(
        Path::new(env!("CARGO_BIN_EXE_bagpipe-bgp")),
        "smol",
        5,
        11811,
    );
}

#[test]
fn two_nodes_and_gobgp_sync() {
    run(&sync_daemon_binary(), "sync", 6, 11821);
}
