//! The operator tools against a fake API server (a thread serving canned looking-glass JSON and
//! recording requests) and raw TCP clients: `bagpipe-looking-glass`, `bagpipe-rest-attach`,
//! `bagpipe-fakerr`, `bagpipe-impex2dot` and `bagpipe-bgp-cleanup` (reference §3.4, §4, §7).
//!
//! Each test has its own address in 127.0.4.0/24 and ports in 124xx.

use bagpipe_core::api::{parse_attach, parse_detach, Direction};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const LOOKING_GLASS: &str = env!("CARGO_BIN_EXE_bagpipe-looking-glass");
const REST_ATTACH: &str = env!("CARGO_BIN_EXE_bagpipe-rest-attach");
const FAKERR: &str = env!("CARGO_BIN_EXE_bagpipe-fakerr");
const IMPEX2DOT: &str = env!("CARGO_BIN_EXE_bagpipe-impex2dot");
const CLEANUP: &str = env!("CARGO_BIN_EXE_bagpipe-bgp-cleanup");

// ---- a fake API server ----

/// A request the fake server received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    head: String,
    body: String,
}

/// Serves `routes` (path → status, body; `{base}` in a body becomes `http://addr`) on `addr`,
/// one request per connection, answering HTTP/1.0 and closing. Unknown paths get a 404.
struct FakeServer {
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServer {
    fn start(addr: &str, routes: Vec<(String, u16, String)>) -> FakeServer {
        let listener = TcpListener::bind(addr).unwrap();
        let base = format!("http://{addr}");
        let routes: BTreeMap<String, (u16, String)> = routes
            .into_iter()
            .map(|(path, status, body)| (path, (status, body.replace("{base}", &base))))
            .collect();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let (status, body) = routes.get(&request.path).cloned().unwrap_or_else(|| {
                    (
                        404,
                        format!("No such looking glass object: {}", request.path),
                    )
                });
                recorded.lock().unwrap().push(request);
                let reason = match status {
                    200 => "OK",
                    400 => "Bad Request",
                    404 => "Not Found",
                    _ => "Error",
                };
                let answer = format!(
                    "HTTP/1.0 {status} {reason}\r\nContent-Type: application/json\r\n\r\n{body}"
                );
                let _ = stream.write_all(answer.as_bytes());
                let _ = stream.shutdown(Shutdown::Both);
            }
        });
        FakeServer { requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    let mut words = head.split_whitespace();
    Some(Recorded {
        method: words.next()?.to_string(),
        path: words.next()?.to_string(),
        head: head.clone(),
        body: String::from_utf8_lossy(&data[head_end..]).into_owned(),
    })
}

fn route(path: &str, body: Value) -> (String, u16, String) {
    (path.to_string(), 200, body.to_string())
}

/// A looking glass shaped as reference §4.2 shows it: a VRF with readvertise and
/// attract-traffic, an EVI plugged into it, a dataplane, BGP peers.
fn looking_glass_routes() -> Vec<(String, u16, String)> {
    let lg = "/looking-glass";
    let href = |path: &str| json!({ "href": format!("{{base}}{lg}{path}") });
    let summary = json!({
        "BGP_established_peers": 1,
        "route_counts": {"local_routes_count": 3, "received_routes_count": 5},
        "vpn_instances_count": 2,
        "warnings_and_errors": 0,
        "start_time": "2025-01-02 03:04:05",
        "version": "0.1.0"
    });
    let vrf = json!({
        "instance_type": "VRF",
        "external_instance_id": "ipvpn-1",
        "description": null,
        "dataplane": {"driver": {"id": "ipvpn", "href": format!("{{base}}{lg}/vpns/dataplane/drivers/ipvpn")}},
        "route_targets": {"import": ["target:64512:512", "target:64512:96"], "export": ["target:64512:512"]},
        "gateway_ip": "10.0.0.254",
        "subnet_prefix_length": 24,
        "instance_dataplane_id": 16,
        "ports": href("/vpns/instances/ipvpn-1/ports"),
        "readvertise": {"from": ["target:64512:96"], "to": ["target:64512:98"]},
        "attract_traffic": {
            "redirect_rts": ["target:64512:97"],
            "classifier": {"destinationPort": "80", "protocol": "tcp"},
            "to": ["target:64512:98"],
            "static_destination_prefixes": ["12.0.0.0/24"]
        },
        "fallback": null,
        "name": "VRF-1"
    });
    let vrf_ports = json!({
        "tap1": {"endpoints": [{
            "label": 16, "mac_address": "52:54:00:99:99:22", "ip_address": "10.0.0.5/24",
            "local_pref": null, "rd": "127.0.0.1:1", "description": null, "direction": "both"
        }]},
        "to_dest1_x": {"endpoints": []}
    });
    let evi = json!({
        "instance_type": "EVI",
        "external_instance_id": "evpn-1",
        "description": "a multi-line\ndescription\n",
        "dataplane": {"driver": {"id": "evpn", "href": format!("{{base}}{lg}/vpns/dataplane/drivers/evpn")}},
        "route_targets": {"import": ["target:64512:513"], "export": ["target:64512:513"]},
        "gateway_ip": "10.0.0.254",
        "subnet_prefix_length": 24,
        "instance_dataplane_id": 101,
        "ports": href("/vpns/instances/evpn-1/ports"),
        "readvertise": {},
        "attract_traffic": {},
        "fallback": null,
        "gateway_port": {
            "interface": "'evpn-gw'",
            "ipvpn": {"href": format!("{{base}}{lg}/vpns/instances/ipvpn-1"), "id": "VRF-1", "external_instance_id": "ipvpn-1"}
        },
        "name": "EVI-2"
    });
    let evi_ports = json!({"tap2": {"endpoints": [{
        "label": 101, "mac_address": "52:54:00:00:00:02", "ip_address": "10.0.0.6/32",
        "local_pref": 200, "rd": "127.0.0.1:2", "description": {"port": "p2"}, "direction": "to-port"
    }]}});
    vec![
        // Written out so that the members are not in alphabetical order: the tool keeps the
        // server's order.
        (
            format!("{lg}/"),
            200,
            format!(
                r#"{{"summary": {{"vpn_instances_count": 2, "BGP_established_peers": 1}},
                    "config": {{"href": "{{base}}{lg}/config"}},
                    "bgp": {{"href": "{{base}}{lg}/bgp"}},
                    "vpns": {{"href": "{{base}}{lg}/vpns"}},
                    "logs": {{"href": "{{base}}{lg}/logs"}}}}"#
            ),
        ),
        route(&format!("{lg}/summary"), summary.clone()),
        route(&format!("{lg}/summary/vpn_instances_count"), json!(2)),
        route(&format!("{lg}/logs"), json!([])),
        route(
            &format!("{lg}/vpns"),
            json!({
                "instances": href("/vpns/instances"),
                "dataplane": href("/vpns/dataplane"),
                "instances_per_vni": {"101": {"name": "EVI-2", "external_instance_id": "evpn-1"}}
            }),
        ),
        route(
            &format!("{lg}/vpns/instances"),
            json!([
                {"id": "ipvpn-1", "name": "VRF-1", "href": format!("{{base}}{lg}/vpns/instances/ipvpn-1")},
                {"id": "evpn-1", "name": "EVI-2", "description": "evi", "href": format!("{{base}}{lg}/vpns/instances/evpn-1")}
            ]),
        ),
        route(&format!("{lg}/vpns/instances/ipvpn-1"), vrf),
        route(&format!("{lg}/vpns/instances/ipvpn-1/ports"), vrf_ports),
        route(&format!("{lg}/vpns/instances/evpn-1"), evi),
        route(&format!("{lg}/vpns/instances/evpn-1/ports"), evi_ports),
        route(
            &format!("{lg}/vpns/dataplane"),
            json!({"drivers": href("/vpns/dataplane/drivers"), "ids": href("/vpns/dataplane/ids")}),
        ),
        route(
            &format!("{lg}/vpns/dataplane/drivers"),
            json!([
                {"id": "evpn", "href": format!("{{base}}{lg}/vpns/dataplane/drivers/evpn")},
                {"id": "ipvpn", "href": format!("{{base}}{lg}/vpns/dataplane/drivers/ipvpn")}
            ]),
        ),
        route(
            &format!("{lg}/vpns/dataplane/drivers/evpn"),
            json!({"name": "DummyDataplaneDriver", "local_address": "127.0.0.1",
                   "supported_encaps": ["<Encapsulation: VXLAN>"], "config": {}}),
        ),
        route(
            &format!("{lg}/vpns/dataplane/ids"),
            json!({"16": "Incoming traffic for VRF 1", "101": "EVI 2 (forced VNI)"}),
        ),
        route(
            &format!("{lg}/bgp/peers"),
            json!([{"id": "10.0.0.2", "state": "Established", "href": format!("{{base}}{lg}/bgp/peers/10.0.0.2")}]),
        ),
        // A top-level link, which the tool follows once.
        route(
            &format!("{lg}/bgp/workers/VRF-1"),
            href("/vpns/instances/ipvpn-1"),
        ),
    ]
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A file in a fresh temporary directory of this test.
fn temp_file(test: &str, name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bagpipe-cli-tools-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn bgp_conf(test: &str, api_port: u16) -> PathBuf {
    temp_file(
        test,
        "bgp.conf",
        &format!("[BGP]\nlocal_address=127.0.0.1\nmy_as=64512\n\n[API]\nport={api_port}\n"),
    )
}

// ---- bagpipe-looking-glass ----

const LG_ADDR: &str = "127.0.4.1:12401";

fn lg_server() -> &'static FakeServer {
    static SERVER: std::sync::OnceLock<FakeServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| FakeServer::start(LG_ADDR, looking_glass_routes()))
}

fn looking_glass(args: &[&str]) -> Output {
    lg_server();
    let mut all = vec!["--server", "127.0.4.1", "--port", "12401"];
    all.extend_from_slice(args);
    run(LOOKING_GLASS, &all)
}

#[test]
fn looking_glass_root() {
    let out = looking_glass(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("lg_root", stdout(&out));
    assert!(lg_server()
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path == "/looking-glass/"));
}

#[test]
fn looking_glass_instances_and_instance() {
    let out = looking_glass(&["vpns", "instances"]);
    assert!(out.status.success());
    insta::assert_snapshot!("lg_vpns_instances", stdout(&out));
    let out = looking_glass(&["vpns", "instances", "evpn-1"]);
    assert!(out.status.success());
    insta::assert_snapshot!("lg_evi", stdout(&out));
}

#[test]
fn looking_glass_bare_value() {
    let out = looking_glass(&["summary", "vpn_instances_count"]);
    assert_eq!(stdout(&out), "2\n");
}

#[test]
fn looking_glass_follows_a_top_level_link_once() {
    let via_link = looking_glass(&["bgp", "workers", "VRF-1"]);
    let direct = looking_glass(&["vpns", "instances", "ipvpn-1"]);
    assert!(via_link.status.success());
    assert_eq!(stdout(&via_link), stdout(&direct));
    insta::assert_snapshot!("lg_vrf", stdout(&direct));
}

#[test]
fn looking_glass_recurse() {
    let out = looking_glass(&["-r", "vpns"]);
    assert!(out.status.success());
    insta::assert_snapshot!("lg_recurse_vpns", stdout(&out));
}

#[test]
fn looking_glass_no_such_path() {
    let out = looking_glass(&["no such", "thing"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "No such looking glass path: no%20such thing\n\
         (http://127.0.4.1:12401/looking-glass/no%20such/thing)\n"
    );
}

#[test]
fn looking_glass_no_server() {
    let out = run(
        LOOKING_GLASS,
        &["--server", "127.0.4.9", "--port", "12499", "summary"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("No server at http://127.0.4.9:12499 : "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn looking_glass_port_from_config_file() {
    lg_server();
    let conf = bgp_conf("lg-port", 12401);
    let out = run(
        LOOKING_GLASS,
        &[
            "--server",
            "127.0.4.1",
            "--config-file",
            conf.to_str().unwrap(),
            "summary",
        ],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("BGP_established_peers: 1\n"));
}

// ---- bagpipe-rest-attach ----

fn dry_run(args: &[&str]) -> (String, Value, String) {
    let mut all = vec!["--dry-run"];
    all.extend_from_slice(args);
    let out = run(REST_ATTACH, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = stdout(&out).trim_end().to_string();
    let value: Value = serde_json::from_str(&body).unwrap();
    (body, value, stderr(&out))
}

#[test]
fn rest_attach_ipvpn_defaults() {
    let (body, value, info) = dry_run(&[
        "--attach",
        "--network-type",
        "ipvpn",
        "--port",
        "tap1",
        "--ip",
        "10.0.0.5",
    ]);
    // The exact body: members in BaGPipe-BGP's order.
    assert_eq!(
        body,
        r#"{"import_rt":["64512:512"],"export_rt":["64512:512"],"local_port":{"linuxif":"tap1"},"vpn_instance_id":"ipvpn-bagpipe-test","vpn_type":"ipvpn","gateway_ip":"10.0.0.254","mac_address":"52:54:00:99:99:22","ip_address":"10.0.0.5/24","advertise_subnet":false,"readvertise":null,"attract_traffic":{},"lb_consistent_hash_order":0,"vni":0,"direction":"both"}"#
    );
    assert_eq!(info, "using 10.0.0.254 as gateway address\n");
    // The daemon's own parser accepts it.
    let parsed = parse_attach(body.as_bytes()).unwrap();
    assert_eq!(parsed.vpn_instance_id.as_str(), "ipvpn-bagpipe-test");
    assert_eq!(parsed.local_pref, None);
    assert!(value.get("local_pref").is_none());
}

#[test]
fn rest_attach_evpn_defaults_and_mac_required() {
    let out = run(
        REST_ATTACH,
        &[
            "--dry-run",
            "--attach",
            "--network-type",
            "evpn",
            "--port",
            "tap2",
            "--ip",
            "10.0.0.6/32",
            "--gateway-ip",
            "10.0.0.1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Need to specify --mac for an EVPN network attachment"));

    let (body, value, _) = dry_run(&[
        "--attach",
        "--network-type",
        "evpn",
        "--port",
        "tap2",
        "--ip",
        "10.0.0.6",
        "--mac",
        "52:54:00:00:00:02",
    ]);
    assert_eq!(
        value,
        json!({
            "import_rt": ["64512:513"], "export_rt": ["64512:513"],
            "local_port": {"linuxif": "tap2"},
            "vpn_instance_id": "evpn-bagpipe-test", "vpn_type": "evpn",
            "gateway_ip": "10.0.0.254", "mac_address": "52:54:00:00:00:02",
            "ip_address": "10.0.0.6/24", "advertise_subnet": false,
            "readvertise": null, "attract_traffic": {},
            "lb_consistent_hash_order": 0, "vni": 0, "direction": "both"
        })
    );
    parse_attach(body.as_bytes()).unwrap();
}

#[test]
fn rest_attach_detach_sends_the_same_body() {
    for (network_type, extra) in [
        ("ipvpn", vec![]),
        ("evpn", vec!["--mac", "52:54:00:00:00:02"]),
    ] {
        let mut attach = vec![
            "--attach",
            "--network-type",
            network_type,
            "--port",
            "tap1",
            "--ip",
            "10.0.0.5/24",
        ];
        attach.extend(&extra);
        let mut detach = attach.clone();
        detach[0] = "--detach";
        let (attach_body, _, _) = dry_run(&attach);
        let (detach_body, _, _) = dry_run(&detach);
        assert_eq!(attach_body, detach_body);
        let parsed = parse_detach(detach_body.as_bytes()).unwrap();
        assert_eq!(parsed.vpn_type.name(), network_type);
    }
}

#[test]
fn rest_attach_every_option() {
    let (body, value, info) = dry_run(&[
        "--attach",
        "--network-type",
        "ipvpn",
        "--vpn-instance-id",
        "vrf-a",
        "--port",
        "tap9",
        "--direction",
        "to-port",
        "--rt",
        "64512:1",
        "--rt",
        "64512:2",
        "--import-rt",
        "64512:3",
        "--export-rt",
        "64512:4",
        "--ip",
        "192.168.10.5/16",
        "--gateway-ip",
        "192.168.0.1",
        "--mac",
        "fa:16:3e:11:22:33",
        "--advertise-singleton",
        "--advertise-subnet",
        "--ovs-preplug",
        "--ovs-bridge",
        "br-x",
        "--ovs-vlan",
        "3",
        "--readv-from-rt",
        "64512:96",
        "--readv-to-rt",
        "64512:98",
        "--redirect-rts",
        "64512:97",
        "--source-prefix",
        "1.0.0.0/8",
        "--destination-prefix",
        "12.0.0.0/24",
        "--source-port",
        "1000:2000",
        "--destination-port",
        "80",
        "--protocol",
        "tcp",
        "--attract-to-rt",
        "64512:98",
        "--static-destination-prefix",
        "12.0.0.0/24",
        "--lb-consistent-hash-order",
        "2",
        "--vni",
        "0",
        "--local-pref",
        "44",
    ]);
    assert_eq!(
        value,
        json!({
            "import_rt": ["64512:1", "64512:2", "64512:3"],
            "export_rt": ["64512:1", "64512:2", "64512:4"],
            "local_port": {"linuxif": "tap9", "ovs": {"port_name": "tap9", "plugged": true, "vlan": 3}},
            "vpn_instance_id": "vrf-a", "vpn_type": "ipvpn",
            "gateway_ip": "192.168.0.1", "mac_address": "fa:16:3e:11:22:33",
            "ip_address": "192.168.10.5/16", "advertise_subnet": true,
            "readvertise": {"from_rt": ["64512:96"], "to_rt": ["64512:98"]},
            "attract_traffic": {
                "redirect_rts": ["64512:97"],
                "classifier": {"sourcePrefix": "1.0.0.0/8", "destinationPrefix": "12.0.0.0/24",
                               "sourcePort": "1000:2000", "destinationPort": "80", "protocol": "tcp"},
                "to_rt": ["64512:98"],
                "static_destination_prefixes": ["12.0.0.0/24"]
            },
            "lb_consistent_hash_order": 2, "vni": 0, "local_pref": 44, "direction": "to-port"
        })
    );
    assert_eq!(
        info,
        "pre-plugging tap9 into br-x\n\
         would run: ovs-vsctl del-port br-x tap9\n\
         would run: ovs-vsctl add-port br-x tap9\n"
    );
    let parsed = parse_attach(body.as_bytes()).unwrap();
    assert_eq!(parsed.direction, Direction::ToPort);
    assert_eq!(parsed.local_pref, Some(44));
    assert!(parsed.advertise_subnet);
    let attract = parsed.attract_traffic.expect("attract_traffic enabled");
    assert_eq!(attract.static_destination_prefixes.len(), 1);
}

/// BaGPipe-BGP's tool sent the attract-to RTs as `to`, which the server ignores; without
/// `readvertise` the server then had no target RT. Sent as `to_rt`, the daemon takes it.
#[test]
fn rest_attach_attract_to_rt_is_sent_as_to_rt() {
    let (body, value, _) = dry_run(&[
        "--attach",
        "--network-type",
        "ipvpn",
        "--port",
        "tap1",
        "--ip",
        "10.0.0.5",
        "--redirect-rts",
        "64512:97",
        "--destination-port",
        "80",
        "--attract-to-rt",
        "64512:98",
        "--static-destination-prefix",
        "12.0.0.0/24",
    ]);
    assert!(value["attract_traffic"].get("to").is_none());
    let attract = parse_attach(body.as_bytes())
        .unwrap()
        .attract_traffic
        .unwrap();
    assert_eq!(attract.to_rt.unwrap().to_string(), "64512:98");
}

#[test]
fn rest_attach_chaining_options_need_their_partners() {
    for (args, message) in [
        (
            vec!["--redirect-rts", "64512:97"],
            "Need to specify --redirect-rt and at least one traffic classifier option",
        ),
        (
            vec![
                "--redirect-rts",
                "64512:97",
                "--protocol",
                "udp",
                "--attract-to-rt",
                "64512:98",
            ],
            "Need to specify --attract-to-rt and at least one static destination prefix option",
        ),
    ] {
        let mut all = vec![
            "--dry-run",
            "--attach",
            "--network-type",
            "ipvpn",
            "--port",
            "tap1",
            "--ip",
            "10.0.0.5",
        ];
        all.extend(args);
        let out = run(REST_ATTACH, &all);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
    let out = run(
        REST_ATTACH,
        &[
            "--dry-run",
            "--network-type",
            "ipvpn",
            "--port",
            "tap1",
            "--ip",
            "10.0.0.5",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "--attach or --detach is required"
    );
    let out = run(
        REST_ATTACH,
        &[
            "--dry-run",
            "--attach",
            "--detach",
            "--network-type",
            "ipvpn",
            "--port",
            "tap1",
            "--ip",
            "10.0.0.5",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "not both");
}

#[test]
fn rest_attach_evpn_into_ipvpn() {
    let (body, value, _) = dry_run(&[
        "--attach",
        "--network-type",
        "ipvpn",
        "--port",
        "evpn:net1vm1_evpn",
        "--ip",
        "10.0.0.5",
    ]);
    assert_eq!(value["local_port"], json!({"evpn": {"id": "net1vm1_evpn"}}));
    parse_attach(body.as_bytes()).unwrap();
    let out = run(
        REST_ATTACH,
        &[
            "--dry-run",
            "--attach",
            "--network-type",
            "evpn",
            "--port",
            "evpn:x",
            "--ip",
            "10.0.0.5",
            "--mac",
            "52:54:00:00:00:01",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Can only plug an evpn into an ipvpn"));
}

/// Reference §3.4 (h), with the commands that build the namespace.
#[test]
fn rest_attach_netns_dry_run() {
    let (_, value, commands) = dry_run(&[
        "--attach",
        "--port",
        "netns",
        "--ip",
        "12.11.11.1",
        "--network-type",
        "ipvpn",
        "--vpn-instance-id",
        "test",
        "--rt",
        "64512:78",
    ]);
    assert_eq!(
        value,
        json!({"import_rt": ["64512:78"], "export_rt": ["64512:78"], "local_port": {"linuxif": "ns-test"},
               "vpn_instance_id": "test", "vpn_type": "ipvpn", "gateway_ip": "12.11.11.254",
               "mac_address": "<mac of the netns interface>", "ip_address": "12.11.11.1/24",
               "advertise_subnet": false, "readvertise": null, "attract_traffic": {},
               "lb_consistent_hash_order": 0, "vni": 0, "direction": "both"})
    );
    insta::assert_snapshot!("rest_attach_netns_commands", commands);

    let (_, value, commands) = dry_run(&[
        "--attach",
        "--port",
        "netns:veth-host",
        "--ip",
        "12.11.11.1/28",
        "--network-type",
        "evpn",
        "--netns",
        "ns1",
        "--if2vpn",
        "eth7",
        "--ovs-vlan",
        "42",
        "--mac",
        "52:54:00:00:00:07",
    ]);
    assert_eq!(value["local_port"], json!({"linuxif": "veth-host"}));
    assert_eq!(value["gateway_ip"], "12.11.11.14");
    insta::assert_snapshot!("rest_attach_netns_vlan_commands", commands);

    // Detaching leaves the namespace in place; the veth name is capped at 15 characters.
    let (_, value, commands) = dry_run(&[
        "--detach",
        "--port",
        "netns",
        "--ip",
        "12.11.11.1",
        "--network-type",
        "ipvpn",
    ]);
    assert_eq!(value["local_port"], json!({"linuxif": "ns-ipvpn-bagpip"}));
    assert_eq!(
        commands,
        "using 12.11.11.254 as gateway address\n\
         Local port: ns-ipvpn-bagpip (<mac of the netns interface>)\n\
         would run: ip link show ns-ipvpn-bagpip\n"
    );
}

#[test]
fn rest_attach_posts_to_the_api_port() {
    // The tool always talks to 127.0.0.1.
    let local = FakeServer::start(
        "127.0.0.1:12402",
        vec![
            ("/attach_localport".to_string(), 200, "null".to_string()),
            (
                "/detach_localport".to_string(),
                400,
                "API error: VPN x could not be found".to_string(),
            ),
        ],
    );
    let conf = bgp_conf("rest-attach-post", 12402);
    let args = [
        "--network-type",
        "ipvpn",
        "--port",
        "tap1",
        "--ip",
        "10.0.0.5",
        "--config-file",
        conf.to_str().unwrap(),
    ];
    let (expected_body, _, _) = dry_run(&[
        "--attach",
        "--network-type",
        "ipvpn",
        "--port",
        "tap1",
        "--ip",
        "10.0.0.5",
    ]);

    let mut attach = vec!["--attach"];
    attach.extend_from_slice(&args);
    let out = run(REST_ATTACH, &attach);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "using 10.0.0.254 as gateway address\nrequest: {expected_body}\nresponse: 200 null\n"
        )
    );
    let requests = local.requests();
    let request = requests.last().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/attach_localport")
    );
    assert!(request.head.contains("Content-Type: application/json\r\n"));
    assert_eq!(request.body, expected_body);

    let mut detach = vec!["--detach"];
    detach.extend_from_slice(&args);
    let out = run(REST_ATTACH, &detach);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).ends_with("   API error: VPN x could not be found\n"));
    assert_eq!(
        stderr(&out),
        "bagpipe-rest-attach: error 400, reason: Bad Request\n"
    );
    assert_eq!(local.requests().last().unwrap().path, "/detach_localport");
}

#[test]
fn rest_attach_no_server() {
    let conf = bgp_conf("rest-attach-no-server", 12498);
    let out = run(
        REST_ATTACH,
        &[
            "--attach",
            "--network-type",
            "ipvpn",
            "--port",
            "tap1",
            "--ip",
            "10.0.0.5",
            "--config-file",
            conf.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No server at http://127.0.0.1:12498 : "),
        "{}",
        stderr(&out)
    );
}

// ---- bagpipe-fakerr ----

fn client(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn expect(stream: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0u8; expected.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
}

fn expect_closed(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fakerr's standard output, read as it comes.
struct Log(Arc<Mutex<String>>);

impl Log {
    fn follow(child: &mut Child) -> Log {
        let mut out = child.stdout.take().unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let shared = Arc::clone(&text);
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                shared
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Log(text)
    }

    /// Waits until the log holds `text`, then gives the whole log.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.0.lock().unwrap().clone();
            if log.contains(text) {
                return log;
            }
            assert!(Instant::now() < deadline, "{text:?} not in the log:\n{log}");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn fakerr_relays_between_two_clients() {
    let addr = "127.0.4.3:12403";
    let mut fakerr = Killed(
        Command::new(FAKERR)
            .args(["--listen-address", "127.0.4.3", "--port", "12403"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log = Log::follow(&mut fakerr.0);
    log.wait_for("Fake route reflector listening on 127.0.4.3:12403\n");
    // A BGP KEEPALIVE: marker, length 19, type 4.
    let mut keepalive = vec![0xffu8; 16];
    keepalive.extend_from_slice(&[0, 19, 4]);

    let mut a = client(addr);
    log.wait_for(" is first peer, will buffer data until second peer arrives...\n");
    a.write_all(&keepalive).unwrap();
    log.wait_for("buffering received data (19 bytes)\n");
    let mut b = client(addr);
    expect(&mut b, &keepalive);
    log.wait_for("   sending buffered data to peer 127.0.0.1 (19 bytes)\nnow ready\n");
    b.write_all(b"from b").unwrap();
    expect(&mut a, b"from b");
    a.write_all(b"from a").unwrap();
    expect(&mut b, b"from a");

    // A third client is refused; the two others go on.
    let mut c = client(addr);
    expect_closed(&mut c);
    log.wait_for("Have already 2 peers, not accepting 127.0.0.1\n");
    a.write_all(b"still a").unwrap();
    expect(&mut b, b"still a");

    // A leaving client takes its partner with it; the next two start over.
    a.shutdown(Shutdown::Both).unwrap();
    drop(a);
    expect_closed(&mut b);
    drop(b);
    let before = log.wait_for("Lost peer 127.0.0.1\n");
    // Both connection threads have seen their end before new clients come.
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.wait_for("Lost peer").matches("Lost peer").count() < 2 {
        assert!(Instant::now() < deadline, "{before}");
        thread::sleep(Duration::from_millis(10));
    }
    let mut d = client(addr);
    d.write_all(b"d first").unwrap();
    let buffered = log.wait_for("buffering received data (7 bytes)\n");
    assert_eq!(buffered.matches("is first peer").count(), 2, "{buffered}");
    let mut e = client(addr);
    expect(&mut e, b"d first");
    e.write_all(b"from e").unwrap();
    expect(&mut d, b"from e");
}

// ---- bagpipe-impex2dot ----

#[test]
fn impex2dot_graph() {
    // Two speakers on the same port, as --port is shared.
    let _one = FakeServer::start("127.0.4.5:12405", looking_glass_routes());
    let lg = "/looking-glass";
    let _two = FakeServer::start(
        "127.0.4.6:12405",
        vec![
            route(
                &format!("{lg}/vpns/instances"),
                json!([{"id": "a-rather-long-instance-id", "name": "VRF-3", "href": "{base}/x"}]),
            ),
            route(
                &format!("{lg}/vpns/instances/a-rather-long-instance-id"),
                json!({"route_targets": {"import": ["target:64512:98"], "export": ["target:64512:96"]},
                       "readvertise": {}, "attract_traffic": {},
                       "ports": {"href": "{base}/looking-glass/vpns/instances/a-rather-long-instance-id/ports"}}),
            ),
            route(
                &format!("{lg}/vpns/instances/a-rather-long-instance-id/ports"),
                json!({"tap3": {"endpoints": []}}),
            ),
        ],
    );
    let out = run(
        IMPEX2DOT,
        &[
            "--server",
            "127.0.4.5",
            "--server",
            "127.0.4.6",
            "--port",
            "12405",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("impex2dot", stdout(&out));

    // Graphviz reads it without a complaint, where it is installed.
    if graphviz_installed() {
        let mut dot = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        dot.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let checked = dot.wait_with_output().unwrap();
        assert!(checked.status.success());
        assert_eq!(stderr(&checked), "");
    }
}

fn graphviz_installed() -> bool {
    let found = Command::new("dot").arg("-V").output().is_ok();
    if !found {
        eprintln!("Graphviz is not installed: the SVG checks are skipped");
    }
    found
}

#[test]
fn impex2dot_svg() {
    if !graphviz_installed() {
        return;
    }
    let _server = FakeServer::start("127.0.4.10:12410", looking_glass_routes());
    let svg = temp_file("impex2dot-svg-ok", "placeholder", "").with_file_name("impex.svg");
    let out = run(
        IMPEX2DOT,
        &[
            "--server",
            "127.0.4.10",
            "--port",
            "12410",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg"));
    assert!(text.contains("ipvpn&#45;1") || text.contains("ipvpn-1"));
}

#[test]
fn impex2dot_svg_needs_graphviz() {
    let _server = FakeServer::start("127.0.4.7:12407", looking_glass_routes());
    let empty = temp_file("impex2dot-svg", "placeholder", "");
    let svg = empty.with_file_name("impex.svg");
    let out = Command::new(IMPEX2DOT)
        .args([
            "--server",
            "127.0.4.7",
            "--port",
            "12407",
            "--svg",
            svg.to_str().unwrap(),
        ])
        .env("PATH", empty.parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Graphviz is not installed"),
        "{}",
        stderr(&out)
    );
    assert!(!svg.exists());
}

#[test]
fn impex2dot_no_server() {
    let out = run(IMPEX2DOT, &["--server", "127.0.4.8", "--port", "12408"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out)
        .contains("Error requesting http://127.0.4.8:12408/looking-glass/vpns/instances"));
}

// ---- bagpipe-bgp-cleanup ----

#[test]
fn cleanup_dummy_drivers_of_the_default_configuration() {
    let out = run(CLEANUP, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("cleanup_default", stdout(&out));
}

#[test]
fn cleanup_skips_drivers_not_implemented() {
    let conf = temp_file(
        "cleanup-skip",
        "bgp.conf",
        "[BGP]\nlocal_address=127.0.0.1\nmy_as=64512\n\n\
         [DATAPLANE_DRIVER_IPVPN]\ndataplane_driver=ovs\n\n\
         [DATAPLANE_DRIVER_EVPN]\ndataplane_driver=dummy\n",
    );
    let out = run(CLEANUP, &["--config-file", conf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out).replace(conf.to_str().unwrap(), "<bgp.conf>");
    insta::assert_snapshot!("cleanup_ovs_skipped", text);

    let conf = temp_file(
        "cleanup-skip-linux",
        "bgp.conf",
        "[BGP]\nlocal_address=127.0.0.1\nmy_as=64512\n\n\
         [DATAPLANE_DRIVER_IPVPN]\ndataplane_driver=linux\nmpls_interface=eth0\n",
    );
    let out = run(CLEANUP, &["--config-file", conf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ipvpn: linux driver: skipped: the Linux IP-VPN driver"));
}

#[test]
fn cleanup_bad_config() {
    let out = run(CLEANUP, &["--config-file", "/nonexistent/bgp.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/bgp.conf: cannot read"));
}
