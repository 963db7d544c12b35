//! The REST API transport against reference-bagpipe-bgp.md §3.1 and §4.1, over real sockets on
//! 127.0.0.x: a fake engine thread drives the server as the sync runtime does (a `Waker` in a
//! poll loop), and a tiny std client (and curl, when installed) checks statuses and bodies.

use bagpipe_sync::http::{
    ping_value, ApiCall, ApiReply, ApiServer, Limits, PendingRequest, ReplyHandle, Waker,
};
use rustix::event::{PollFd, PollFlags, Timespec};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// --- the fake engine -----------------------------------------------------------------------------

/// A server with a fake engine: attach → 200 `null`; detach of `unknown` → 400 API error;
/// looking glass: `missing` → 404, `hang` → never answered, `drop` → handle dropped, `later` →
/// answered from another thread, anything else → `{"path", "base_url"}` echoed.
struct Api {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<ApiCall>>>,
    stop: Arc<AtomicBool>,
    engine: Option<JoinHandle<()>>,
}

impl Api {
    fn start(ip: &str, limits: Limits) -> Api {
        let waker = Waker::new().expect("self-pipe");
        let bind: SocketAddr = format!("{ip}:0").parse().expect("address");
        let server = ApiServer::start_with_limits(bind, ping_value(), limits, waker.notifier())
            .expect("bind");
        let addr = server.local_addr();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let engine = {
            let (calls, stop) = (calls.clone(), stop.clone());
            std::thread::spawn(move || engine_loop(server, waker, calls, stop))
        };
        Api {
            addr,
            calls,
            stop,
            engine: Some(engine),
        }
    }

    fn calls(&self) -> Vec<ApiCall> {
        self.calls.lock().expect("calls").clone()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
    }
}

fn engine_loop(
    server: ApiServer,
    waker: Waker,
    calls: Arc<Mutex<Vec<ApiCall>>>,
    stop: Arc<AtomicBool>,
) {
    let mut unanswered: Vec<ReplyHandle> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&waker, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        waker.drain();
        while let Some(PendingRequest { call, reply }) = server.poll_request() {
            calls.lock().expect("calls").push(call.clone());
            match call {
                ApiCall::Attach(_) => {
                    reply.send(ApiReply::ok());
                }
                ApiCall::Detach(d) if d.vpn_instance_id.as_str() == "unknown" => {
                    reply.send(ApiReply::api_error(format!(
                        "VPN {} could not be found",
                        d.vpn_instance_id
                    )));
                }
                ApiCall::Detach(_) => {
                    reply.send(ApiReply::ok());
                }
                ApiCall::LookingGlass { path, base_url } => {
                    match path.first().map(String::as_str) {
                        Some("missing") => {
                            reply.send(ApiReply::text(
                                404,
                                format!(
                                    "No such looking glass object: missing at \
                                     {base_url}/looking-glass"
                                ),
                            ));
                        }
                        Some("hang") => unanswered.push(reply),
                        Some("drop") => drop(reply),
                        Some("later") => {
                            std::thread::spawn(move || {
                                std::thread::sleep(Duration::from_millis(100));
                                reply.send(ApiReply::json(json!("late")));
                            });
                        }
                        _ => {
                            reply.send(ApiReply::json(json!({"path": path, "base_url": base_url})));
                        }
                    }
                }
            }
        }
    }
}

// --- the client ----------------------------------------------------------------------------------

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends `raw` as is and reads the response until the server closes.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream.write_all(raw).expect("send");
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("response");
    let text = String::from_utf8(bytes).expect("UTF-8 response");
    // A 100 Continue may come first.
    let text = text
        .strip_prefix("HTTP/1.1 100 Continue\r\n\r\n")
        .unwrap_or(&text);
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// An HTTP/1.1 request with a Host header and, with a body, a Content-Length.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Answer {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: test\r\n");
    if let Some(body) = body {
        raw.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    raw.push_str("\r\n");
    raw.push_str(body.unwrap_or(""));
    exchange(addr, raw.as_bytes())
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    call(addr, "GET", path, None)
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> Answer {
    call(addr, "POST", path, Some(&body.to_string()))
}

// --- §3.4 example payloads (copied from core/src/api/tests.rs) -----------------------------------

fn attach_examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "a",
            json!({
              "vpn_type": "ipvpn", "vpn_instance_id": "ipvpn_6f1c…-network-uuid",
              "mac_address": "fa:16:3e:11:22:33", "ip_address": "10.0.0.5", "gateway_ip": "10.0.0.1",
              "local_port": {"linuxif": "patch2tun:3",
                             "ovs": {"plugged": true, "port_number": 2, "vlan": 3}},
              "import_rt": ["64512:100"], "export_rt": ["64512:100"], "local_pref": 200,
              "fallback": {"dst_mac": "fa:16:3e:aa:bb:cc", "src_mac": "00:00:5e:2a:10:00",
                           "ovs_port_number": 3},
              "description": {"port": "0b1e…-port-uuid"},
              "instance_description": "BGPVPN ipvpn associations for net 6f1c… (10.0.0.1)"
            }),
        ),
        (
            "b",
            json!({
              "vpn_type": "evpn", "vpn_instance_id": "evpn_6f1c…-network-uuid",
              "mac_address": "fa:16:3e:11:22:33", "ip_address": "10.0.0.5", "gateway_ip": "10.0.0.1",
              "local_port": {"linuxif": "patch2tun:3", "vlan": 3}, "vni": 101,
              "import_rt": ["64512:10"], "export_rt": ["64512:10"],
              "description": {"port": "0b1e…"},
              "instance_description": "BGPVPN evpn associations for net 6f1c… (10.0.0.1)"
            }),
        ),
        (
            "c",
            json!({
              "vpn_type": "ipvpn",
              "vpn_instance_id": "ipvpn_portassoc_<assoc-uuid>_prefix_192_168_10_0_24",
              "direction": "to-port", "mac_address": "fa:16:3e:11:22:33",
              "ip_address": "192.168.10.0/24", "advertise_subnet": true, "gateway_ip": "10.0.0.1",
              "local_port": {"linuxif": "patch2tun:3",
                             "ovs": {"plugged": true, "port_number": 2, "vlan": 3}},
              "import_rt": ["64512:99"], "export_rt": ["64512:98"], "local_pref": 44,
              "description": {"port": "0b1e…"},
              "instance_description": "BGPVPN Port association: prefix route 192.168.10.0/24 to BGPVPN …"
            }),
        ),
        (
            "d",
            json!({
              "vpn_type": "ipvpn",
              "vpn_instance_id": "ipvpn_portassoc_<assoc-uuid>_bgpvpn_<leaked-bgpvpn-uuid>",
              "direction": "to-port",
              "mac_address": "fa:16:3e:11:22:33", "ip_address": "10.0.0.5", "gateway_ip": "10.0.0.1",
              "local_port": {"linuxif": "patch2tun:3",
                             "ovs": {"plugged": true, "port_number": 2, "vlan": 3}},
              "import_rt": ["64512:99"], "export_rt": ["64512:98"],
              "readvertise": {"from_rt": ["64512:96"], "to_rt": ["64512:98"]},
              "local_pref": 44
            }),
        ),
        (
            "f",
            json!({"vpn_type": "evpn", "vpn_instance_id": "evpn_<net-uuid>",
             "mac_address": "fa:16:3e:11:22:33", "ip_address": "10.0.0.5",
             "local_port": {"linuxif": "tap0b1e1234-56"}, "linuxbr": "brq6f1c1234-56", "vni": 101,
             "import_rt": ["64512:101"], "export_rt": ["64512:101"]}),
        ),
        (
            "g",
            json!({"vpn_type": "ipvpn", "vpn_instance_id": "ipvpn_<net-uuid>",
             "mac_address": "fa:16:3e:44:55:66", "ip_address": "30.0.0.5", "gateway_ip": "30.0.0.1",
             "local_port": {"linuxif": "brq<net-uuid-prefix>"},
             "import_rt": ["64512:5001"], "export_rt": ["64512:5002"],
             "readvertise": {"from_rt": ["64512:2"], "to_rt": ["64512:5100"]},
             "attract_traffic": {"redirect_rts": ["64512:5200"],
                                 "classifier": {"destinationPort": "80", "protocol": "tcp",
                                                "destinationPrefix": "12.0.0.0/24"},
                                 "to_rt": ["64512:5100"],
                                 "static_destination_prefixes": ["12.0.0.0/24"]},
             "lb_consistent_hash_order": 0}),
        ),
        (
            "h",
            json!({"import_rt": ["64512:78"], "export_rt": ["64512:78"],
             "local_port": {"linuxif": "ns-test"}, "vpn_instance_id": "test", "vpn_type": "ipvpn",
             "gateway_ip": "12.11.11.254", "mac_address": "52:54:00:99:99:22",
             "ip_address": "12.11.11.1/24", "advertise_subnet": false, "readvertise": null,
             "attract_traffic": {}, "lb_consistent_hash_order": 0, "vni": 0, "direction": "both"}),
        ),
        (
            "i",
            json!({"vpn_type": "ipvpn", "vpn_instance_id": "net1vm1_ipvpn",
             "mac_address": "52:54:00:99:99:22", "ip_address": "11.11.11.1/24",
             "gateway_ip": "11.11.11.254", "import_rt": "64512:512", "export_rt": "64512:512",
             "local_port": {"evpn": {"id": "net1vm1_evpn"}}}),
        ),
    ]
}

/// (e) Detach sent by the OVS agent.
fn detach_example_e() -> Value {
    json!({"vpn_type": "ipvpn", "vpn_instance_id": "ipvpn_6f1c…", "mac_address": "fa:16:3e:11:22:33",
     "ip_address": "10.0.0.5", "local_port": {"linuxif": "patch2tun:3"}})
}

fn short_limits() -> Limits {
    Limits {
        read_timeout: Duration::from_millis(500),
        engine_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

// --- §3.1 routes ---------------------------------------------------------------------------------

#[test]
fn s3_1_root_is_an_empty_object_and_refuses_writes() {
    let api = Api::start("127.0.0.71", Limits::default());
    let a = get(api.addr, "/");
    assert_eq!((a.status, a.json()), (200, json!({})));
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/json")
    );
    for method in ["POST", "PUT", "DELETE"] {
        let a = call(api.addr, method, "/", Some("{}"));
        assert_eq!(a.status, 405, "{method}");
        assert_eq!(a.header("allow").as_deref(), Some("GET, HEAD"));
    }
    let head = call(api.addr, "HEAD", "/", None);
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("content-length").as_deref(), Some("2"));
}

#[test]
fn s3_1_ping_is_one_integer_per_process() {
    let api = Api::start("127.0.0.72", Limits::default());
    let first = get(api.addr, "/ping");
    assert_eq!(first.status, 200);
    let value = first.json();
    assert!(value.is_u64(), "{value}");
    assert_eq!(value, json!(ping_value()));
    for _ in 0..5 {
        assert_eq!(get(api.addr, "/ping").json(), value);
    }
    // pecan's PingController has a generic index only: every method answers it.
    assert_eq!(call(api.addr, "POST", "/ping", None).json(), value);
    assert!(api.calls().is_empty(), "ping never reaches the engine");
}

#[test]
fn s3_4_the_example_payloads_are_accepted() {
    let api = Api::start("127.0.0.73", Limits::default());
    let examples = attach_examples();
    for (name, body) in &examples {
        let a = post(api.addr, "/attach_localport", body);
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, "null"),
            "example ({name}): {a:?}"
        );
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("application/json")
        );
    }
    let a = post(api.addr, "/detach_localport", &detach_example_e());
    assert_eq!(
        (a.status, a.body.as_str()),
        (200, "null"),
        "example (e): {a:?}"
    );

    let calls = api.calls();
    assert_eq!(calls.len(), examples.len() + 1);
    for ((name, body), call) in examples.iter().zip(&calls) {
        match call {
            ApiCall::Attach(a) => assert_eq!(
                Some(a.vpn_instance_id.as_str()),
                body["vpn_instance_id"].as_str(),
                "example ({name})"
            ),
            other => panic!("example ({name}) became {other:?}"),
        }
    }
    match calls.last() {
        Some(ApiCall::Detach(d)) => assert_eq!(d.vpn_instance_id.as_str(), "ipvpn_6f1c…"),
        other => panic!("example (e) became {other:?}"),
    }
}

#[test]
fn s3_1_attach_and_detach_answer_get_and_refuse_put_delete() {
    let api = Api::start("127.0.0.74", Limits::default());
    for path in [
        "/attach_localport",
        "/detach_localport",
        "/attach_localport/",
    ] {
        let a = get(api.addr, path);
        assert_eq!((a.status, a.json()), (200, json!({})), "{path}");
        for method in ["PUT", "DELETE"] {
            let a = call(api.addr, method, path, Some("{}"));
            assert_eq!(a.status, 405, "{method} {path}");
            assert_eq!(a.header("allow").as_deref(), Some("GET, HEAD, POST"));
        }
    }
    assert!(api.calls().is_empty());
}

#[test]
fn s3_1_unreadable_bodies_are_400_with_the_message() {
    let api = Api::start("127.0.0.75", Limits::default());
    let (_, a) = &attach_examples()[0];
    let mut without_vpn_type = a.clone();
    without_vpn_type
        .as_object_mut()
        .map(|o| o.remove("vpn_type"));
    let mut without_mac = a.clone();
    without_mac.as_object_mut().map(|o| o.remove("mac_address"));
    let mut bad_mac = a.clone();
    bad_mac["mac_address"] = json!("not-a-mac");
    let mut detach_without_ip = detach_example_e();
    detach_without_ip
        .as_object_mut()
        .map(|o| o.remove("ip_address"));

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "/attach_localport",
            "{".into(),
            "No local port details received",
        ),
        (
            "/attach_localport",
            "".into(),
            "No local port details received",
        ),
        (
            "/detach_localport",
            "vpn_type=ipvpn".into(),
            "No local port details received",
        ),
        (
            "/attach_localport",
            "[]".into(),
            "API error: the request body must be a JSON object",
        ),
        (
            "/attach_localport",
            without_vpn_type.to_string(),
            "API error: missing instance_type",
        ),
        (
            "/attach_localport",
            without_mac.to_string(),
            "API error: Missing parameter: 'mac_address'",
        ),
        (
            "/attach_localport",
            bad_mac.to_string(),
            "API error: MAC address not-a-mac",
        ),
        (
            "/detach_localport",
            detach_without_ip.to_string(),
            "API error: Missing parameter: 'ip_address'",
        ),
    ];
    for (path, body, message) in cases {
        let a = call(api.addr, "POST", path, Some(&body));
        assert_eq!(a.status, 400, "{path} {body}");
        assert!(a.body.starts_with(message), "{path} {body}: {:?}", a.body);
    }
    // No Content-Length: no body (RFC 9112 §6.3), which is not JSON.
    let a = exchange(api.addr, b"POST /attach_localport HTTP/1.0\r\n\r\n");
    assert_eq!(a.status, 400);
    assert!(a.body.starts_with("No local port details received"));
    assert!(
        api.calls().is_empty(),
        "refused bodies never reach the engine"
    );
}

#[test]
fn s3_1_engine_errors_are_relayed() {
    let api = Api::start("127.0.0.76", Limits::default());
    let mut unknown = detach_example_e();
    unknown["vpn_instance_id"] = json!("unknown");
    let a = post(api.addr, "/detach_localport", &unknown);
    assert_eq!(
        (a.status, a.body.as_str()),
        (400, "API error: VPN unknown could not be found")
    );
}

#[test]
fn unknown_paths_are_404() {
    let api = Api::start("127.0.0.77", Limits::default());
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/attach"),
        ("GET", "/ping/extra"),
        ("GET", "/looking-glassy"),
        ("DELETE", "/x/y"),
    ] {
        assert_eq!(
            call(api.addr, method, path, None).status,
            404,
            "{method} {path}"
        );
    }
}

// --- §4.1 looking glass --------------------------------------------------------------------------

#[test]
fn s4_1_looking_glass_is_forwarded_with_path_and_base_url() {
    let api = Api::start("127.0.0.78", Limits::default());
    let a = get(api.addr, "/looking-glass/vpns/instances/net%201?x=y");
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({"path": ["vpns", "instances", "net 1"], "base_url": format!("http://{}", api.addr)})
    );
    assert_eq!(
        get(api.addr, "/looking-glass").json(),
        json!({"path": [], "base_url": format!("http://{}", api.addr)})
    );
    // hrefs follow the Host the client used.
    let a = exchange(
        api.addr,
        b"GET /looking-glass/summary HTTP/1.1\r\nHost: bagpipe.example:8082\r\n\r\n",
    );
    assert_eq!(a.json()["base_url"], json!("http://bagpipe.example:8082"));
    // HTTP/1.0 without Host: the address the client reached.
    let a = exchange(api.addr, b"GET /looking-glass/summary HTTP/1.0\r\n\r\n");
    assert_eq!(a.json()["base_url"], json!(format!("http://{}", api.addr)));
}

#[test]
fn s4_1_looking_glass_404_and_late_answers_are_relayed() {
    let api = Api::start("127.0.0.79", Limits::default());
    let a = get(api.addr, "/looking-glass/missing/thing");
    assert_eq!(a.status, 404);
    assert_eq!(
        a.body,
        format!(
            "No such looking glass object: missing at http://{}/looking-glass",
            api.addr
        )
    );
    let a = get(api.addr, "/looking-glass/later");
    assert_eq!((a.status, a.json()), (200, json!("late")));
}

#[test]
fn s3_1_looking_glass_refuses_writes() {
    let api = Api::start("127.0.0.80", Limits::default());
    for method in ["POST", "PUT", "DELETE"] {
        let a = call(api.addr, method, "/looking-glass/summary", Some("{}"));
        assert_eq!(a.status, 405, "{method}");
    }
    assert!(api.calls().is_empty());
}

#[test]
fn engine_silence_is_503_and_a_dropped_reply_is_500() {
    let api = Api::start("127.0.0.81", short_limits());
    let started = Instant::now();
    let a = get(api.addr, "/looking-glass/hang");
    assert_eq!(a.status, 503);
    assert!(a.body.contains("did not answer"), "{:?}", a.body);
    assert!(started.elapsed() < Duration::from_secs(5));
    let a = get(api.addr, "/looking-glass/drop");
    assert_eq!((a.status, a.body.as_str()), (500, "Server error"));
}

// --- HTTP limits ---------------------------------------------------------------------------------

#[test]
fn oversized_bodies_are_413() {
    let api = Api::start("127.0.0.82", Limits::default());
    // Announced and sent: the whole body goes out, the answer still arrives.
    let body = format!("{{\"x\": \"{}\"}}", "a".repeat(2 << 20));
    let a = call(api.addr, "POST", "/attach_localport", Some(&body));
    assert_eq!(a.status, 413);
    // Announced only.
    let a = exchange(
        api.addr,
        b"POST /attach_localport HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
    );
    assert_eq!(a.status, 413);
    // Just under the limit is read (and refused for its content, not its size).
    let body = format!("{{\"x\": \"{}\"}}", "a".repeat((1 << 20) - 16));
    assert_eq!(
        call(api.addr, "POST", "/attach_localport", Some(&body)).status,
        400
    );
}

#[test]
fn slow_clients_get_408() {
    let api = Api::start("127.0.0.83", short_limits());
    for partial in [
        &b"GET /ping HTTP/1.1\r\nHost: x\r\n"[..],
        &b"POST /attach_localport HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"vpn"[..],
    ] {
        let started = Instant::now();
        let mut stream = TcpStream::connect(api.addr).expect("connect");
        stream.write_all(partial).expect("send");
        let a = read_answer(&mut stream);
        assert_eq!(a.status, 408);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // A client that connects and says nothing is closed too.
    let mut idle = TcpStream::connect(api.addr).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(read_answer(&mut idle).status, 408);
}

#[test]
fn malformed_requests_are_refused() {
    let api = Api::start("127.0.0.84", Limits::default());
    assert_eq!(exchange(api.addr, b"garbage\r\n\r\n").status, 400);
    assert_eq!(
        exchange(
            api.addr,
            b"POST /attach_localport HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        .status,
        411
    );
    assert_eq!(
        exchange(
            api.addr,
            b"POST /attach_localport HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
        )
        .status,
        400
    );
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(exchange(api.addr, raw.as_bytes()).status, 431);
}

#[test]
fn expect_100_continue_is_honoured() {
    let api = Api::start("127.0.0.85", Limits::default());
    let body = detach_example_e().to_string();
    let mut stream = TcpStream::connect(api.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST /detach_localport HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).expect("send body");
    assert_eq!(read_answer(&mut stream).status, 200);
}

#[test]
fn fifty_concurrent_clients_are_all_answered() {
    for max_connections in [64, 4] {
        let api = Api::start(
            "127.0.0.86",
            Limits {
                max_connections,
                ..Limits::default()
            },
        );
        let examples = Arc::new(attach_examples());
        let addr = api.addr;
        let clients: Vec<_> = (0..50)
            .map(|i| {
                let examples = examples.clone();
                std::thread::spawn(move || match i % 3 {
                    0 => post(addr, "/attach_localport", &examples[i % examples.len()].1).status,
                    1 => get(addr, &format!("/looking-glass/client/{i}")).status,
                    _ => get(addr, "/ping").status,
                })
            })
            .collect();
        for client in clients {
            assert_eq!(client.join().expect("client"), 200, "max {max_connections}");
        }
        let calls = api.calls().len();
        assert_eq!(calls, 17 + 17, "max {max_connections}");
    }
}

// --- curl, as operators use it -------------------------------------------------------------------

fn curl(args: &[&str], stdin: Option<&str>) -> Option<(u16, String)> {
    let mut command = std::process::Command::new("curl");
    command
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().ok()?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).ok()?;
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.parse().ok()?, body.to_string()))
}

#[test]
fn curl_as_an_operator_would() {
    if curl(&["--version"], None).is_none() {
        eprintln!("curl is not installed: skipped");
        return;
    }
    let api = Api::start("127.0.0.87", Limits::default());
    let base = format!("http://{}", api.addr);
    let ping = curl(&[&format!("{base}/ping")], None);
    assert_eq!(ping, Some((200, ping_value().to_string())));
    // Over 1 KiB: curl sends `Expect: 100-continue` and waits for it.
    let mut body = attach_examples()[0].1.clone();
    body["description"] = json!({"port": "x".repeat(2000)});
    let body = body.to_string();
    let attach = curl(
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
            &format!("{base}/attach_localport"),
        ],
        Some(&body),
    );
    assert_eq!(attach, Some((200, "null".to_string())));
    let refused = curl(
        &[
            "-X",
            "POST",
            "-d",
            "not json",
            &format!("{base}/attach_localport"),
        ],
        None,
    );
    assert!(
        matches!(&refused, Some((400, m)) if m.starts_with("No local port details received")),
        "{refused:?}"
    );
    let lg = curl(&[&format!("{base}/looking-glass/summary")], None);
    assert_eq!(
        lg.map(|(code, body)| (code, serde_json::from_str::<Value>(&body).ok())),
        Some((200, Some(json!({"path": ["summary"], "base_url": base}))))
    );
    assert_eq!(
        curl(&["-X", "DELETE", &format!("{base}/looking-glass")], None).map(|(c, _)| c),
        Some(405)
    );
}
