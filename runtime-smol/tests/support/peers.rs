//! Real BGP peers for interop tests: GoBGP, FRR bgpd and ExaBGP started as child processes on
//! loopback with their own addresses and ports, stopped by PID, and killed (with their files
//! removed) when dropped, also when a test fails. Recipes: shared/design/testbed.md §2-§4.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a program is installed; tests print why they skip when it is not.
pub fn installed(program: &str) -> bool {
    Path::new(program).is_absolute() && Path::new(program).exists()
        || std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
        })
}

/// A peer process.
pub struct PeerProcess {
    child: Child,
    pub dir: PathBuf,
    pub log: PathBuf,
    name: String,
}

impl PeerProcess {
    fn spawn(name: &str, dir: PathBuf, mut command: Command) -> PeerProcess {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        PeerProcess {
            child,
            dir,
            log,
            name: name.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        wait_until(limit, || self.log().contains(needle))
    }

    /// Sends a signal by PID ("STOP", "CONT", "TERM").
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(&mut self) {
        self.signal("TERM");
        if !wait_until(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        }) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}

/// Starts `command` as a peer process logging to `dir/<name>.log`.
pub fn spawn_process(name: &str, dir: &Path, command: Command) -> PeerProcess {
    PeerProcess::spawn(name, dir.to_path_buf(), command)
}

/// A fresh directory for one test, removed when dropped.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir =
            std::env::temp_dir().join(format!("bagpipe-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test dir");
        TestDir(dir)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The VPN families of a GoBGP peer group or neighbor.
const GOBGP_FAMILIES: [&str; 4] = [
    "l2vpn-evpn",
    "l3vpn-ipv4-unicast",
    "rtc",
    "l3vpn-ipv4-flowspec",
];

fn gobgp_afi_safis(prefix: &str) -> String {
    GOBGP_FAMILIES
        .iter()
        .map(|f| format!("  [[{prefix}.afi-safis]]\n    [{prefix}.afi-safis.config]\n      afi-safi-name = \"{f}\"\n"))
        .collect()
}

/// How GoBGP meets our speaker.
pub enum GobgpPeering<'a> {
    /// GoBGP waits (passive neighbor at `address`): we dial.
    Passive { address: &'a str },
    /// GoBGP dials `address` on `port`.
    Active { address: &'a str, port: u16 },
}

/// GoBGP as a route reflector at `router_id`, listening on `port`, gRPC on `api_port`.
pub struct Gobgp {
    pub process: PeerProcess,
    pub api_port: u16,
    config: PathBuf,
    dir: PathBuf,
}

impl Gobgp {
    pub fn start(
        dir: &Path,
        router_id: &str,
        port: u16,
        api_port: u16,
        peering: GobgpPeering<'_>,
        hold_time: u16,
    ) -> Gobgp {
        let (address, transport) = match peering {
            GobgpPeering::Passive { address } => (
                address,
                format!("  [neighbors.transport.config]\n    local-address = \"{router_id}\"\n    passive-mode = true\n"),
            ),
            GobgpPeering::Active { address, port } => (
                address,
                format!("  [neighbors.transport.config]\n    local-address = \"{router_id}\"\n    remote-port = {port}\n"),
            ),
        };
        let config = format!(
            "[global.config]\n  as = 64512\n  router-id = \"{router_id}\"\n  port = {port}\n  local-address-list = [\"{router_id}\"]\n\n\
             [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{address}\"\n    peer-as = 64512\n\
             {transport}  [neighbors.timers.config]\n    hold-time = {hold_time}\n    keepalive-interval = {}\n    connect-retry = 1\n\
             \x20 [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{router_id}\"\n{}",
            (hold_time / 3).max(1),
            gobgp_afi_safis("neighbors"),
        );
        let path = dir.join(format!("gobgp-{api_port}.toml"));
        std::fs::write(&path, config).expect("gobgp config");
        let process = Self::spawn(dir, &path, api_port);
        Gobgp {
            process,
            api_port,
            config: path,
            dir: dir.to_path_buf(),
        }
    }

    fn spawn(dir: &Path, config: &Path, api_port: u16) -> PeerProcess {
        let mut command = Command::new("gobgpd");
        command
            .arg("-f")
            .arg(config)
            .args(["-p", "--pprof-disable", "--api-hosts"])
            .arg(format!("127.0.0.1:{api_port}"));
        PeerProcess::spawn(&format!("gobgpd-{api_port}"), dir.to_path_buf(), command)
    }

    /// Stops and starts gobgpd again with the same configuration.
    pub fn restart(&mut self) {
        self.process.stop();
        let log = self.process.log();
        self.process = Self::spawn(&self.dir, &self.config, self.api_port);
        // Keep the earlier log in the file for failures.
        let _ = std::fs::write(
            self.dir
                .join(format!("gobgpd-{}-before.log", self.api_port)),
            log,
        );
    }

    /// Runs the gobgp CLI against this daemon.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("gobgp")
            .arg("-p")
            .arg(self.api_port.to_string())
            .args(args)
            .output()
            .expect("gobgp cli");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// The neighbor's details as the CLI prints them.
    pub fn neighbor(&self, address: &str) -> String {
        self.cli(&["neighbor", address])
    }

    /// Whether GoBGP sees `address` Established.
    pub fn is_established(&self, address: &str) -> bool {
        self.neighbor(address).contains("BGP state = ESTABLISHED")
    }
}

/// FRR's bgpd alone (no zebra) at `address`, listening on `port`, with one neighbor.
pub struct Frr {
    pub process: PeerProcess,
    dir: PathBuf,
}

impl Frr {
    pub fn start(
        dir: &Path,
        address: &str,
        port: u16,
        neighbor: &str,
        neighbor_port: Option<u16>,
        hold: u16,
    ) -> Frr {
        let vty = dir.join(format!("frr-{port}"));
        std::fs::create_dir_all(&vty).expect("frr dir");
        let neighbor_port = neighbor_port
            .map(|p| format!(" neighbor {neighbor} port {p}\n"))
            .unwrap_or_else(|| format!(" neighbor {neighbor} passive\n"));
        let config = format!(
            "frr defaults traditional\nhostname frr-test\nlog stdout informational\n!\n\
             router bgp 64512\n bgp router-id {address}\n no bgp default ipv4-unicast\n no bgp ebgp-requires-policy\n bgp log-neighbor-changes\n\
             \x20neighbor {neighbor} remote-as 64512\n{neighbor_port} neighbor {neighbor} update-source {address}\n\
             \x20neighbor {neighbor} timers {} {hold}\n neighbor {neighbor} timers connect 1\n!\n\
             \x20address-family ipv4 vpn\n  neighbor {neighbor} activate\n exit-address-family\n\
             \x20address-family ipv4 flowspec\n  neighbor {neighbor} activate\n exit-address-family\n\
             \x20address-family l2vpn evpn\n  neighbor {neighbor} activate\n exit-address-family\n!\n",
            (hold / 3).max(1)
        );
        let conf = vty.join("bgpd.conf");
        std::fs::write(&conf, config).expect("frr config");
        let mut command = Command::new("/usr/lib/frr/bgpd");
        command
            .args(["-S", "-Z", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(vty.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(&vty)
            .args([
                "-p",
                &port.to_string(),
                "-l",
                address,
                "-P",
                "0",
                "--log",
                "stdout",
            ]);
        let process = PeerProcess::spawn(&format!("bgpd-{port}"), dir.to_path_buf(), command);
        Frr { process, dir: vty }
    }

    pub fn vtysh(&self, command: &str) -> String {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-d", "bgpd", "-c", command])
            .output()
            .expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// FRR's view of the neighbor: `show bgp neighbors ADDRESS json`.
    pub fn neighbor_json(&self, address: &str) -> serde_json::Value {
        let text = self.vtysh(&format!("show bgp neighbors {address} json"));
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    pub fn is_established(&self, address: &str) -> bool {
        self.neighbor_json(address)[address]["bgpState"] == "Established"
    }
}

/// ExaBGP 4.2, passive, at `address`:`port`, with one neighbor.
pub struct Exabgp {
    pub process: PeerProcess,
}

impl Exabgp {
    pub fn start(dir: &Path, address: &str, port: u16, neighbor: &str, hold: u16) -> Exabgp {
        let conf = dir.join(format!("exabgp-{port}.conf"));
        let config = format!(
            "neighbor {neighbor} {{\n  router-id {address};\n  local-address {address};\n  local-as 64512;\n  peer-as 64512;\n\
             \x20 hold-time {hold};\n  passive true;\n  family {{\n    ipv4 mpls-vpn;\n    l2vpn evpn;\n    ipv4 flow-vpn;\n  }}\n}}\n"
        );
        std::fs::write(&conf, config).expect("exabgp config");
        let mut command = Command::new("exabgp");
        command
            .arg(&conf)
            .env("exabgp_daemon_user", "root")
            .env("exabgp_daemon_drop", "false")
            .env("exabgp_api_cli", "false")
            .env("exabgp_log_destination", "stdout")
            .env("exabgp_log_level", "DEBUG")
            .env("exabgp_log_message", "true")
            .env("exabgp_log_packets", "true")
            .env("exabgp_tcp_bind", address)
            .env("exabgp_tcp_port", port.to_string());
        let process = PeerProcess::spawn(&format!("exabgp-{port}"), dir.to_path_buf(), command);
        Exabgp { process }
    }
}

/// One HTTP/1.0 request to `addr` (host:port) with a JSON body: (status, body). Status 0 when the
/// server cannot be reached.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `GET /looking-glass/<path>` of the REST API at `api` (host:port), as JSON (Null when absent).
pub fn looking_glass(api: &str, path: &str) -> serde_json::Value {
    let (_, body) = http(api, "GET", &format!("/looking-glass/{path}"), "");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// The `bagpipe-bgp-sync` binary next to the `bagpipe-bgp` one of this test, built (same
/// profile) when needed.
pub fn sync_daemon_binary() -> PathBuf {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_bagpipe-bgp"));
    let sibling = ours.with_file_name("bagpipe-bgp-sync");
    let release = ours
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "release");
    let mut build = Command::new(env!("CARGO"));
    build.args([
        "build",
        "-q",
        "-p",
        "bagpipe-sync",
        "--bin",
        "bagpipe-bgp-sync",
    ]);
    if release {
        build.arg("--release");
    }
    assert!(
        build.status().is_ok_and(|s| s.success()) && sibling.exists(),
        "cannot build bagpipe-bgp-sync"
    );
    sibling
}

impl Frr {
    /// FRR's bgpd alone (no zebra) as a route reflector at `address`:`port` for `clients`
    /// (passive neighbors: they dial in) in the ipv4 vpn and l2vpn evpn address families; FRR
    /// has no RT-Constraint.
    pub fn start_reflector(dir: &Path, address: &str, port: u16, clients: &[&str]) -> Frr {
        let vty = dir.join(format!("frr-rr-{port}"));
        std::fs::create_dir_all(&vty).expect("frr dir");
        let mut neighbors = String::new();
        let mut activate = String::new();
        for client in clients {
            neighbors.push_str(&format!(
                " neighbor {client} remote-as 64512\n neighbor {client} passive\n neighbor {client} timers 3 9\n"
            ));
            activate.push_str(&format!(
                "  neighbor {client} activate\n  neighbor {client} route-reflector-client\n"
            ));
        }
        let config = format!(
            "frr defaults traditional\nhostname frr-rr\nlog stdout informational\n!\n\
             router bgp 64512\n bgp router-id {address}\n bgp cluster-id {address}\n no bgp default ipv4-unicast\n\
             \x20no bgp ebgp-requires-policy\n bgp log-neighbor-changes\n{neighbors}!\n\
             \x20address-family ipv4 vpn\n{activate} exit-address-family\n\
             \x20address-family l2vpn evpn\n{activate} exit-address-family\n!\n"
        );
        let conf = vty.join("bgpd.conf");
        std::fs::write(&conf, config).expect("frr config");
        let mut command = Command::new("/usr/lib/frr/bgpd");
        command
            .args(["-S", "-Z", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(vty.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(&vty)
            .args([
                "-p",
                &port.to_string(),
                "-l",
                address,
                "-P",
                "0",
                "--log",
                "stdout",
            ]);
        let process = PeerProcess::spawn(&format!("bgpd-rr-{port}"), dir.to_path_buf(), command);
        Frr { process, dir: vty }
    }

    /// A vtysh `show ... json` command, parsed (Null when FRR answers no JSON).
    pub fn vtysh_json(&self, command: &str) -> serde_json::Value {
        serde_json::from_str(&self.vtysh(command)).unwrap_or(serde_json::Value::Null)
    }
}

impl Gobgp {
    /// GoBGP as a route reflector at `router_id`:`port` (gRPC on 127.0.0.1:`api_port`) for any
    /// speaker of 127.0.0.0/8 that dials it (dynamic neighbors), with E-VPN, VPN-IPv4, RTC and
    /// FlowSpec-VPNv4: with RTC negotiated it sends a client only the routes whose RTs it asked
    /// for.
    pub fn start_reflector(dir: &Path, router_id: &str, port: u16, api_port: u16) -> Gobgp {
        let config = format!(
            "[global.config]\n  as = 64512\n  router-id = \"{router_id}\"\n  port = {port}\n  local-address-list = [\"{router_id}\"]\n\n\
             [[peer-groups]]\n  [peer-groups.config]\n    peer-group-name = \"clients\"\n    peer-as = 64512\n\
             \x20 [peer-groups.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{router_id}\"\n{}\n\
             [[dynamic-neighbors]]\n  [dynamic-neighbors.config]\n    prefix = \"127.0.0.0/8\"\n    peer-group = \"clients\"\n",
            gobgp_afi_safis("peer-groups"),
        );
        let path = dir.join(format!("gobgp-rr-{api_port}.toml"));
        std::fs::write(&path, config).expect("gobgp config");
        let process = Self::spawn(dir, &path, api_port);
        Gobgp {
            process,
            api_port,
            config: path,
            dir: dir.to_path_buf(),
        }
    }
}

/// The dataplane operations a daemon's dummy driver applied (looking glass).
pub fn operations(api: &str, vpn_type: &str) -> Vec<serde_json::Value> {
    looking_glass(
        api,
        &format!("vpns/dataplane/drivers/{vpn_type}/operations"),
    )
    .as_array()
    .cloned()
    .unwrap_or_default()
}

/// Whether the daemon's driver applied an operation `name` mentioning `needle`.
pub fn has_operation(api: &str, vpn_type: &str, name: &str, needle: &str) -> bool {
    operations(api, vpn_type)
        .iter()
        .any(|op| op["operation"] == name && op.to_string().contains(needle))
}
