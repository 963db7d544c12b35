//! GoBGP (`gobgpd` + the `gobgp` CLI) as a test peer (testbed.md §2).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{
    find_binary, free_port, parse_json, run_command, wait_until, Daemon, HarnessError, PeerState,
    Poll,
};

/// An address family as GoBGP names it in its configuration (`afi-safi-name`) and CLI (`-a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GobgpFamily {
    /// IPv4 unicast.
    Ipv4Unicast,
    /// L2VPN EVPN (RFC 7432).
    Evpn,
    /// VPN-IPv4 (RFC 4364).
    Vpnv4,
    /// Route Target Constraint (RFC 4684).
    Rtc,
    /// IPv4 flowspec (RFC 8955).
    FlowspecV4,
    /// VPN-IPv4 flowspec (RFC 8955 §8).
    FlowspecVpnv4,
}

impl GobgpFamily {
    /// The five families a BaGPipe-style VPN speaker uses.
    pub const VPN: [GobgpFamily; 5] = [
        GobgpFamily::Evpn,
        GobgpFamily::Vpnv4,
        GobgpFamily::Rtc,
        GobgpFamily::FlowspecV4,
        GobgpFamily::FlowspecVpnv4,
    ];

    /// The `afi-safi-name` in gobgpd's TOML.
    pub fn config_name(self) -> &'static str {
        match self {
            GobgpFamily::Ipv4Unicast => "ipv4-unicast",
            GobgpFamily::Evpn => "l2vpn-evpn",
            GobgpFamily::Vpnv4 => "l3vpn-ipv4-unicast",
            GobgpFamily::Rtc => "rtc",
            GobgpFamily::FlowspecV4 => "ipv4-flowspec",
            GobgpFamily::FlowspecVpnv4 => "l3vpn-ipv4-flowspec",
        }
    }

    /// The `-a` argument of the `gobgp` CLI.
    pub fn cli_name(self) -> &'static str {
        match self {
            GobgpFamily::Ipv4Unicast => "ipv4",
            GobgpFamily::Evpn => "evpn",
            GobgpFamily::Vpnv4 => "vpnv4",
            GobgpFamily::Rtc => "rtc",
            GobgpFamily::FlowspecV4 => "ipv4-flowspec",
            GobgpFamily::FlowspecVpnv4 => "ipv4-l3vpn-flowspec",
        }
    }
}

/// One configured neighbor of a gobgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GobgpNeighbor {
    /// The neighbor's address.
    pub address: Ipv4Addr,
    /// The neighbor's AS.
    pub peer_as: u32,
    /// The TCP port to dial (default 179).
    pub remote_port: Option<u16>,
    /// Never dial; wait for the neighbor to connect.
    pub passive: bool,
    /// Treat the neighbor as a route-reflector client (cluster id = router id).
    pub route_reflector_client: bool,
    /// Families to negotiate.
    pub families: Vec<GobgpFamily>,
}

impl GobgpNeighbor {
    /// A neighbor dialled on port 179 with these families.
    pub fn new(address: Ipv4Addr, peer_as: u32, families: &[GobgpFamily]) -> Self {
        GobgpNeighbor {
            address,
            peer_as,
            remote_port: None,
            passive: false,
            route_reflector_client: false,
            families: families.to_vec(),
        }
    }

    /// Dial the neighbor on `port`.
    pub fn remote_port(mut self, port: u16) -> Self {
        self.remote_port = Some(port);
        self
    }

    /// Wait for the neighbor to connect instead of dialling.
    pub fn passive(mut self) -> Self {
        self.passive = true;
        self
    }

    /// Reflect routes to this neighbor (RFC 4456).
    pub fn route_reflector_client(mut self) -> Self {
        self.route_reflector_client = true;
        self
    }
}

/// A gobgpd configuration: global settings plus neighbors, rendered to TOML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GobgpConfig {
    /// Local AS.
    pub asn: u32,
    /// Router id; also the listen and local address of every session.
    pub address: Ipv4Addr,
    /// The BGP listen port.
    pub port: u16,
    /// The gRPC API port on 127.0.0.1 (used by the `gobgp` CLI).
    pub api_port: u16,
    /// Static neighbors.
    pub neighbors: Vec<GobgpNeighbor>,
    /// Accept any speaker from this prefix (e.g. `"127.0.0.0/8"`) passively, as a
    /// route-reflector client with the given families and the local AS (iBGP).
    pub dynamic_neighbors: Option<(String, Vec<GobgpFamily>)>,
}

impl GobgpConfig {
    /// A configuration on `address` with a free BGP port and a free API port.
    pub fn new(asn: u32, address: Ipv4Addr) -> Result<Self, HarnessError> {
        Ok(GobgpConfig {
            asn,
            address,
            port: free_port(address)?,
            api_port: free_port(Ipv4Addr::LOCALHOST)?,
            neighbors: Vec::new(),
            dynamic_neighbors: None,
        })
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, n: GobgpNeighbor) -> Self {
        self.neighbors.push(n);
        self
    }

    /// Accepts dynamic iBGP route-reflector clients from `prefix` with `families`.
    pub fn dynamic_neighbors(mut self, prefix: &str, families: &[GobgpFamily]) -> Self {
        self.dynamic_neighbors = Some((prefix.to_string(), families.to_vec()));
        self
    }

    /// The gobgpd TOML text.
    pub fn to_toml(&self) -> String {
        let mut t = String::new();
        let a = self.address;
        let _ = writeln!(t, "[global.config]\n  as = {}\n  router-id = \"{a}\"", self.asn);
        let _ = writeln!(t, "  port = {}\n  local-address-list = [\"{a}\"]\n", self.port);
        let families = |t: &mut String, prefix: &str, fams: &[GobgpFamily]| {
            for f in fams {
                let _ = writeln!(
                    t,
                    "  [[{prefix}.afi-safis]]\n    [{prefix}.afi-safis.config]\n      afi-safi-name = \"{}\"",
                    f.config_name()
                );
            }
        };
        for n in &self.neighbors {
            let _ = writeln!(
                t,
                "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}",
                n.address, n.peer_as
            );
            let _ = writeln!(
                t,
                "  [neighbors.transport.config]\n    local-address = \"{a}\""
            );
            if let Some(p) = n.remote_port {
                let _ = writeln!(t, "    remote-port = {p}");
            }
            if n.passive {
                let _ = writeln!(t, "    passive-mode = true");
            }
            if n.route_reflector_client {
                let _ = writeln!(
                    t,
                    "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{a}\""
                );
            }
            families(&mut t, "neighbors", &n.families);
            t.push('\n');
        }
        if let Some((prefix, fams)) = &self.dynamic_neighbors {
            let _ = writeln!(
                t,
                "[[peer-groups]]\n  [peer-groups.config]\n    peer-group-name = \"dyn\"\n    peer-as = {}",
                self.asn
            );
            let _ = writeln!(
                t,
                "  [peer-groups.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{a}\""
            );
            families(&mut t, "peer-groups", fams);
            let _ = writeln!(
                t,
                "\n[[dynamic-neighbors]]\n  [dynamic-neighbors.config]\n    prefix = \"{prefix}\"\n    peer-group = \"dyn\""
            );
        }
        t
    }
}

/// A running gobgpd, driven through the `gobgp` CLI on its API port.
#[derive(Debug)]
pub struct Gobgp {
    daemon: Daemon,
    config: GobgpConfig,
    cli: PathBuf,
}

impl Gobgp {
    /// Writes the configuration, checks it (`gobgpd -d`), starts gobgpd and waits until its API
    /// answers. Fails if a binary is missing: call [`super::require_binary`] first to skip.
    pub fn start(config: GobgpConfig) -> Result<Gobgp, HarnessError> {
        let gobgpd = find_binary("gobgpd").ok_or_else(|| missing("gobgpd"))?;
        let cli = find_binary("gobgp").ok_or_else(|| missing("gobgp"))?;
        let dir = Daemon::make_dir("gobgpd")?;
        let conf = dir.path().join("gobgpd.toml");
        std::fs::write(&conf, config.to_toml())
            .map_err(|e| HarnessError::io(format!("writing {}", conf.display()), e))?;
        let mut check = Command::new(&gobgpd);
        check.arg("-d").arg("-f").arg(&conf);
        run_command(check)?;
        let mut cmd = Command::new(&gobgpd);
        cmd.arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg("--api-hosts")
            .arg(format!("127.0.0.1:{}", config.api_port))
            .arg("--pprof-disable");
        let daemon = Daemon::spawn("gobgpd", cmd, dir)?;
        let mut g = Gobgp {
            daemon,
            config,
            cli,
        };
        wait_until("gobgpd API", Duration::from_secs(15), || {
            if let Err(e) = g.daemon.check_running() {
                return Poll::Ready(Err(e));
            }
            match g.cli(&["global"]) {
                Ok(_) => Poll::Ready(Ok(())),
                Err(e) => Poll::Pending(e.to_string()),
            }
        })??;
        Ok(g)
    }

    /// The configuration it runs.
    pub fn config(&self) -> &GobgpConfig {
        &self.config
    }

    /// Its address (router id, listen and local address).
    pub fn address(&self) -> Ipv4Addr {
        self.config.address
    }

    /// Its BGP listen port.
    pub fn port(&self) -> u16 {
        self.config.port
    }

    /// The daemon (PID, directory, log).
    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Runs `gobgp -p API_PORT ARGS...` and returns its stdout.
    ///
    /// ```no_run
    /// # fn f(g: &bagpipe_conformance::peers::Gobgp) {
    /// g.cli(&["global", "rib", "-a", "evpn", "add", "macadv", "52:54:00:12:34:56", "10.0.0.5",
    ///         "etag", "0", "label", "3000", "rd", "64512:100", "rt", "64512:100",
    ///         "encap", "vxlan"]).unwrap();
    /// # }
    /// ```
    pub fn cli(&self, args: &[&str]) -> Result<String, HarnessError> {
        let mut cmd = Command::new(&self.cli);
        cmd.arg("-p").arg(self.config.api_port.to_string()).args(args);
        run_command(cmd)
    }

    /// Runs the CLI with `-j` and parses its JSON output.
    pub fn cli_json(&self, args: &[&str]) -> Result<serde_json::Value, HarnessError> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.cli(&all)?;
        parse_json(&format!("gobgp {}", all.join(" ")), &out)
    }

    /// The session state towards `neighbor` (`None` when gobgpd does not know the neighbor).
    pub fn session_state(&self, neighbor: Ipv4Addr) -> Result<Option<PeerState>, HarnessError> {
        let v = match self.cli_json(&["neighbor", &neighbor.to_string()]) {
            Ok(v) => v,
            Err(HarnessError::CommandFailed { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let s = &v["state"]["session_state"];
        // The JSON has the gRPC enum number (6 = ESTABLISHED) or, in some versions, its name.
        Ok(match s {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(1) => Some(PeerState::Idle),
                Some(2) => Some(PeerState::Connect),
                Some(3) => Some(PeerState::Active),
                Some(4) => Some(PeerState::OpenSent),
                Some(5) => Some(PeerState::OpenConfirm),
                Some(6) => Some(PeerState::Established),
                _ => None,
            },
            serde_json::Value::String(name) => PeerState::from_name(name),
            _ => None,
        })
    }

    /// Waits until the session with `neighbor` is Established.
    pub fn wait_established(
        &self,
        neighbor: Ipv4Addr,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        wait_until(
            &format!("gobgpd {} -> {neighbor} Established", self.address()),
            timeout,
            || match self.session_state(neighbor) {
                Ok(Some(PeerState::Established)) => Poll::Ready(()),
                Ok(s) => Poll::Pending(format!("{s:?}")),
                Err(e) => Poll::Pending(e.to_string()),
            },
        )
    }

    /// The global RIB of a family as JSON: an object from prefix text to a list of paths.
    pub fn rib(&self, family: GobgpFamily) -> Result<serde_json::Value, HarnessError> {
        self.cli_json(&["global", "rib", "-a", family.cli_name()])
    }

    /// The routes received from `neighbor` (Adj-RIB-In) as JSON.
    pub fn adj_in(
        &self,
        neighbor: Ipv4Addr,
        family: GobgpFamily,
    ) -> Result<serde_json::Value, HarnessError> {
        self.cli_json(&[
            "neighbor",
            &neighbor.to_string(),
            "adj-in",
            "-a",
            family.cli_name(),
        ])
    }

    /// Adds a route to the global RIB: `gobgp global rib -a FAMILY add ARGS...`.
    pub fn add_route(&self, family: GobgpFamily, args: &[&str]) -> Result<(), HarnessError> {
        let mut all = vec!["global", "rib", "-a", family.cli_name(), "add"];
        all.extend_from_slice(args);
        self.cli(&all).map(|_| ())
    }

    /// Withdraws a route: `gobgp global rib -a FAMILY del ARGS...`.
    pub fn del_route(&self, family: GobgpFamily, args: &[&str]) -> Result<(), HarnessError> {
        let mut all = vec!["global", "rib", "-a", family.cli_name(), "del"];
        all.extend_from_slice(args);
        self.cli(&all).map(|_| ())
    }

    /// Waits until the global RIB of `family` has a key containing `needle` (e.g. a prefix or
    /// `"64512:200:10.1.1.0/24"`), and returns that key's paths.
    pub fn wait_rib_contains(
        &self,
        family: GobgpFamily,
        needle: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, HarnessError> {
        wait_until(
            &format!("gobgpd {} RIB {family:?} has {needle}", self.address()),
            timeout,
            || match self.rib(family) {
                Ok(serde_json::Value::Object(m)) => {
                    match m.iter().find(|(k, _)| k.contains(needle)) {
                        Some((_, v)) => Poll::Ready(v.clone()),
                        None => Poll::Pending(format!("keys {:?}", m.keys().collect::<Vec<_>>())),
                    }
                }
                Ok(other) => Poll::Pending(other.to_string()),
                Err(e) => Poll::Pending(e.to_string()),
            },
        )
    }
}

fn missing(name: &str) -> HarnessError {
    HarnessError::io(
        format!("{name} is not installed (use require_binary to skip)"),
        std::io::Error::from(std::io::ErrorKind::NotFound),
    )
}

pub(super) use missing as missing_binary;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_has_neighbor_port_passive_and_families() {
        let cfg = GobgpConfig {
            asn: 64512,
            address: Ipv4Addr::new(127, 0, 0, 1),
            port: 10179,
            api_port: 50051,
            neighbors: vec![GobgpNeighbor::new(
                Ipv4Addr::new(127, 0, 0, 2),
                64512,
                &[GobgpFamily::Evpn],
            )
            .remote_port(10180)
            .passive()],
            dynamic_neighbors: None,
        };
        let t = cfg.to_toml();
        assert!(t.contains("port = 10179"), "{t}");
        assert!(t.contains("neighbor-address = \"127.0.0.2\""), "{t}");
        assert!(t.contains("remote-port = 10180"), "{t}");
        assert!(t.contains("passive-mode = true"), "{t}");
        assert!(t.contains("afi-safi-name = \"l2vpn-evpn\""), "{t}");
    }
}
