//! The route engine against GoBGP as route reflector with RT-Constraint (RFC 4684) and graceful
//! restart (RFC 4724): our membership routes appear at the reflector; we receive only routes of
//! our route targets; removing the last port of a route target withdraws its membership route
//! and the reflector withdraws what it sent us; a reflector restart keeps our imported routes as
//! stale until its End-of-RIB. `gobgp neighbor <us> softresetin` re-reads GoBGP's own Adj-RIB-In
//! (GoBGP's `softResetIn` propagates `peer.adjRibIn.PathList`, it sends no ROUTE-REFRESH): our
//! routes stay at the reflector and nothing is asked of us; `softresetout` makes GoBGP resend
//! its whole table to us, which we take without a dataplane change. Route refresh requests (a
//! full resend by us) are checked against FRR, which sends them, in `interop_sessions`.

#[path = "../../runtime-sync/tests/support/daemon_support.rs"]
mod daemon_support;
#[path = "support/peers.rs"]
mod peers;

use daemon_support::OurDaemon;
use peers::{http, installed, wait_until, PeerProcess, TestDir};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);
const RR: &str = "127.0.9.1";
const OURS: &str = "127.0.9.2";
const PORT: u16 = 11851;
const RR_API: u16 = 51851;
const OUR_API: &str = "127.0.9.2:11852";

fn received_routes() -> String {
    let (_, body) = http(OUR_API, "GET", "/looking-glass/bgp/routes", "");
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    // Only what the reflector sent (its routes have source BGP-<rr>).
    v.as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .flat_map(|list| list.as_array().cloned().unwrap_or_default())
        .filter(|r| r.to_string().contains(&format!("BGP-{RR}")))
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn gobgp(args: &[&str]) -> String {
    let out = Command::new("gobgp")
        .arg("-p")
        .arg(RR_API.to_string())
        .args(args)
        .output()
        .expect("gobgp");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn start_rr(dir: &Path) -> PeerProcess {
    let families: String = ["l2vpn-evpn", "l3vpn-ipv4-unicast", "rtc", "l3vpn-ipv4-flowspec"]
        .iter()
        .map(|f| {
            format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{f}\"\n\
                 \x20   [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n"
            )
        })
        .collect();
    let config = format!(
        "[global.config]\n  as = 64512\n  router-id = \"{RR}\"\n  port = {PORT}\n  local-address-list = [\"{RR}\"]\n\n\
         [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{OURS}\"\n    peer-as = 64512\n\
         \x20 [neighbors.transport.config]\n    local-address = \"{RR}\"\n    passive-mode = true\n\
         \x20 [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n\
         \x20 [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 120\n\
         \x20 [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{RR}\"\n{families}"
    );
    let path = dir.join("rr.toml");
    std::fs::write(&path, config).expect("config");
    let mut command = Command::new("gobgpd");
    command
        .arg("-f")
        .arg(&path)
        .args(["-p", "--pprof-disable", "--api-hosts"])
        .arg(format!("127.0.0.1:{RR_API}"));
    peers::spawn_process("gobgpd-rtc", dir, command)
}

fn vrf_attach(vrf: &str, rt: &str, mac: &str, ip: &str) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "{vrf}", "mac_address": "{mac}", "ip_address": "{ip}",
            "gateway_ip": "10.50.0.1", "local_port": {{"linuxif": "tap-{vrf}"}},
            "import_rt": ["{rt}"], "export_rt": ["{rt}"]}}"#
    )
}

fn rr_inject() {
    for (prefix, label, rt) in [
        ("10.200.0.0/24", "2000", "64512:200"),
        ("10.201.0.0/24", "2001", "64512:201"),
        ("10.209.0.0/24", "2009", "64512:999"),
    ] {
        let out = gobgp(&[
            "global",
            "rib",
            "-a",
            "vpnv4",
            "add",
            prefix,
            "label",
            label,
            "rd",
            "10.99.0.1:9",
            "rt",
            rt,
            "nexthop",
            "10.99.0.1",
        ]);
        assert!(!out.contains("rror"), "{out}");
    }
}

#[test]
fn rtc_route_refresh_and_graceful_restart_with_gobgp() {
    if ["gobgpd", "gobgp"].iter().any(|p| !installed(p)) {
        eprintln!("skipped: gobgpd not installed (run scripts/install-deps)");
        return;
    }
    let dir = TestDir::new("rtc");
    let rr = start_rr(&dir.0);
    std::thread::sleep(Duration::from_millis(500));
    let config = format!(
        "[bgp]\nlocal_as = 64512\nlocal_address = \"{OURS}\"\n\n[[peers]]\naddress = \"{RR}\"\nport = {PORT}\n\
         hold_time = 9\nconnect_retry = 1\ngraceful_restart = 120\n\n[api]\nhost = \"127.0.9.2\"\nport = 11852\n"
    );
    let mut daemon = OurDaemon::start(Path::new(env!("CARGO_BIN_EXE_bagpipe-bgp")), "rtc", &config);
    daemon.wait_state(RR, "Established", LIMIT);
    for (vrf, rt, mac, ip) in [
        ("vrf200", "64512:200", "02:00:00:00:02:00", "10.50.0.11/24"),
        ("vrf201", "64512:201", "02:00:00:00:02:01", "10.51.0.11/24"),
    ] {
        let (status, body) = http(
            OUR_API,
            "POST",
            "/attach_localport",
            &vrf_attach(vrf, rt, mac, ip),
        );
        assert_eq!(status, 200, "{body}");
    }
    // Our membership routes are at the reflector.
    assert!(
        wait_until(LIMIT, || {
            let rib = gobgp(&["global", "rib", "-a", "rtc"]);
            rib.contains("64512:64512:200") && rib.contains("64512:64512:201")
        }),
        "{}",
        gobgp(&["global", "rib", "-a", "rtc"])
    );
    // We receive only the routes of our route targets.
    rr_inject();
    assert!(
        wait_until(LIMIT, || {
            let r = received_routes();
            r.contains("10.200.0.0/24") && r.contains("10.201.0.0/24")
        }),
        "{}",
        received_routes()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !received_routes().contains("10.209.0.0/24"),
        "{}",
        received_routes()
    );

    // Our routes reach the reflector for the route targets it asks for (GoBGP reflects every
    // client's membership, ours included, with itself as originator; a VRF of its own asks
    // for 64512:200 in any case).
    let out = gobgp(&[
        "vrf",
        "add",
        "rrvrf",
        "rd",
        "10.99.0.1:100",
        "rt",
        "both",
        "64512:200",
    ]);
    assert!(!out.contains("rror"), "{out}");
    assert!(
        wait_until(LIMIT, || gobgp(&["global", "rib", "-a", "vpnv4"])
            .contains("10.50.0.11/32")),
        "{}",
        gobgp(&["global", "rib", "-a", "vpnv4"])
    );

    // Soft reset in at the reflector: it re-reads its Adj-RIB-In, asks nothing of us, keeps our
    // route.
    let stats = |direction: usize| -> Vec<u64> {
        let text = gobgp(&["neighbor", OURS]);
        ["Updates:", "Route Refresh:"]
            .iter()
            .map(|label| {
                text.lines()
                    .find(|l| l.trim_start().starts_with(label))
                    .and_then(|l| l.split_whitespace().rev().nth(1 - direction))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(u64::MAX)
            })
            .collect()
    };
    const SENT: usize = 0;
    const RECEIVED: usize = 1;
    let received_before = stats(RECEIVED);
    let out = gobgp(&["neighbor", OURS, "softresetin"]);
    assert!(!out.contains("rror"), "{out}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(gobgp(&["global", "rib", "-a", "vpnv4"]).contains("10.50.0.11/32"));
    assert_eq!(
        stats(RECEIVED),
        received_before,
        "{}",
        gobgp(&["neighbor", OURS])
    );
    // Soft reset out: the reflector resends its table to us; we keep the same routes and the
    // dataplane sees no operation.
    let operations_before = peers::operations(OUR_API, "ipvpn");
    let routes_before = received_routes();
    let sent_before = stats(SENT);
    let out = gobgp(&["neighbor", OURS, "softresetout"]);
    assert!(!out.contains("rror"), "{out}");
    assert!(
        wait_until(LIMIT, || stats(SENT)[0] > sent_before[0]),
        "GoBGP resent nothing: {}",
        gobgp(&["neighbor", OURS])
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(received_routes(), routes_before);
    assert_eq!(
        peers::operations(OUR_API, "ipvpn"),
        operations_before,
        "a resend of the same routes changed the dataplane"
    );

    // Removing the last port of 64512:201 withdraws its membership route, and the reflector
    // then withdraws the route of that RT it had sent us.
    let detach = r#"{"vpn_type": "ipvpn", "vpn_instance_id": "vrf201", "mac_address": "02:00:00:00:02:01",
                     "ip_address": "10.51.0.11/24", "local_port": {"linuxif": "tap-vrf201"}}"#;
    let (status, body) = http(OUR_API, "POST", "/detach_localport", detach);
    assert_eq!(status, 200, "{body}");
    assert!(
        wait_until(LIMIT, || !gobgp(&["global", "rib", "-a", "rtc"])
            .contains("64512:64512:201")),
        "{}",
        gobgp(&["global", "rib", "-a", "rtc"])
    );
    assert!(
        wait_until(LIMIT, || !received_routes().contains("10.201.0.0/24")),
        "{}",
        received_routes()
    );
    assert!(received_routes().contains("10.200.0.0/24"));

    // Graceful restart: the reflector dies; its routes stay (stale) while it is away...
    rr.signal("KILL");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        received_routes().contains("10.200.0.0/24"),
        "stale routes kept: {}",
        received_routes()
    );
    // ...and, once it is back without them, its End-of-RIB flushes them.
    let _rr2 = start_rr(&dir.0);
    daemon.wait_state_count(RR, "Established", 2, Duration::from_secs(30));
    assert!(
        wait_until(LIMIT, || !received_routes().contains("10.200.0.0/24")),
        "{}",
        received_routes()
    );
    assert!(daemon.terminate(Duration::from_secs(10)).success());
}
