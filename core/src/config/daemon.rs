//! The daemon's whole configuration as read from a file (either format), before the runtime
//! resolves interface names: the speaker and its peers, where to listen, the REST API, the
//! dataplane drivers and logging.

use super::error::{ConfigError, ConfigProblem};
use super::speaker::{PeerConfig, SpeakerConfig};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Which syntax a configuration is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFormat {
    /// bagpipe-rs' own TOML format.
    Toml,
    /// BaGPipe-BGP's `bgp.conf` (oslo.config INI).
    BagpipeIni,
}

impl ConfigFormat {
    /// The format of a file: by extension (`.conf`/`.ini` → INI, `.toml` → TOML), else by content
    /// (a `[BGP]` section header, in any case, means `bgp.conf`).
    pub fn detect(file_name: &str, text: &str) -> Self {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".toml") {
            return ConfigFormat::Toml;
        }
        if lower.ends_with(".conf") || lower.ends_with(".ini") {
            return ConfigFormat::BagpipeIni;
        }
        let has_bgp_section = text
            .lines()
            .any(|line| line.trim().eq_ignore_ascii_case("[bgp]") && line.trim() != "[bgp]");
        if has_bgp_section {
            ConfigFormat::BagpipeIni
        } else {
            ConfigFormat::Toml
        }
    }
}

/// The speaker's own address: an IP address, or the name of an interface whose first address
/// the runtime looks up (BaGPipe-BGP's `local_address = eth0`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalAddress {
    /// A literal address.
    Ip(IpAddr),
    /// An interface name; its first IPv4 address (else its first address) is used.
    Interface(String),
}

impl LocalAddress {
    /// An IP address if `value` parses as one, else an interface name (Linux rules: 1 to 15
    /// bytes, no `/`, no whitespace, not `.` or `..`).
    pub fn parse(value: &str) -> Result<Self, ConfigProblem> {
        if let Ok(ip) = value.parse::<IpAddr>() {
            return Ok(LocalAddress::Ip(ip));
        }
        let looks_numeric = value
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ':');
        let valid_name = !value.is_empty()
            && value.len() <= 15
            && value != "."
            && value != ".."
            && !looks_numeric
            && !value
                .chars()
                .any(|c| c == '/' || c.is_whitespace() || c.is_control());
        if valid_name {
            Ok(LocalAddress::Interface(value.to_string()))
        } else {
            Err(ConfigProblem::InvalidInterfaceName {
                value: value.to_string(),
            })
        }
    }

    /// The address to use, given the addresses of an interface (as the runtime found them):
    /// the first IPv4 one, like BaGPipe-BGP, else the first one.
    pub fn resolve(&self, interface_addresses: impl Fn(&str) -> Vec<IpAddr>) -> Option<IpAddr> {
        match self {
            LocalAddress::Ip(ip) => Some(*ip),
            LocalAddress::Interface(name) => {
                let addresses = interface_addresses(name);
                addresses
                    .iter()
                    .find(|a| a.is_ipv4())
                    .or_else(|| addresses.first())
                    .copied()
            }
        }
    }
}

/// Where the speaker accepts BGP connections (RFC 4271 §8.2.1.1: passive peers dial us).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListenConfig {
    /// The address to bind; the speaker's local address when `None`.
    pub address: Option<IpAddr>,
    /// The TCP port.
    pub port: u16,
}

/// The REST API's socket (BaGPipe-BGP `[API] host`, `port`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiConfig {
    /// Host address or name (`127.0.0.1`, `0.0.0.0`, `localhost`).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            host: "127.0.0.1".to_string(),
            port: 8082,
        }
    }
}

/// The two VPN types, each with its own dataplane driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VpnType {
    /// IP-VPN (RFC 4364).
    Ipvpn,
    /// E-VPN (RFC 7432).
    Evpn,
}

impl VpnType {
    /// `ipvpn` or `evpn`.
    pub const fn name(self) -> &'static str {
        match self {
            VpnType::Ipvpn => "ipvpn",
            VpnType::Evpn => "evpn",
        }
    }
}

/// A dataplane driver, by the name BaGPipe-BGP loads it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Programs nothing; records operations.
    Dummy,
    /// Open vSwitch.
    Ovs,
    /// Linux kernel (VXLAN + bridge for E-VPN, VRF + MPLS for IP-VPN).
    Linux,
}

impl DriverKind {
    /// The driver for a configured name: `dummy`, `ovs`, `linux`, or one of BaGPipe-BGP's legacy
    /// class paths (`mpls_ovs_dataplane.MPLSOVSDataplaneDriver`, ...), recognised by class name.
    pub fn from_name(name: &str, vpn_type: VpnType) -> Option<Self> {
        let class = name.rsplit('.').next().unwrap_or(name);
        let kind = match (class.to_ascii_lowercase().as_str(), vpn_type) {
            ("dummy" | "dummydataplanedriver", _) => DriverKind::Dummy,
            ("ovs", _) => DriverKind::Ovs,
            ("linux", _) => DriverKind::Linux,
            ("mplsovsdataplanedriver", VpnType::Ipvpn) => DriverKind::Ovs,
            ("mplslinuxdataplanedriver", VpnType::Ipvpn) => DriverKind::Linux,
            ("ovsdataplanedriver", VpnType::Evpn) => DriverKind::Ovs,
            ("linuxvxlandataplanedriver", VpnType::Evpn) => DriverKind::Linux,
            _ => return None,
        };
        Some(kind)
    }

    /// `dummy`, `ovs` or `linux`.
    pub const fn name(self) -> &'static str {
        match self {
            DriverKind::Dummy => "dummy",
            DriverKind::Ovs => "ovs",
            DriverKind::Linux => "linux",
        }
    }
}

/// A driver option's value: typed when the option is known, else kept as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum DriverOption {
    /// A boolean option (`proxy_arp`, ...).
    Bool(bool),
    /// An integer option (`input_table`, ...).
    Integer(u64),
    /// A string option, or an unknown option as written.
    Text(String),
    /// A list option (`gre_tunnel_options`, ...).
    List(Vec<String>),
}

/// One VPN type's driver (`[DATAPLANE_DRIVER_IPVPN]` / `[dataplane.ipvpn]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriverConfig {
    /// Which driver.
    pub driver: DriverKind,
    /// The tunnel source / next hop in routes; the speaker's local address when `None`
    /// (BaGPipe-BGP `dataplane_local_address`).
    pub local_address: Option<LocalAddress>,
    /// The driver's other options, by name.
    pub options: BTreeMap<String, DriverOption>,
}

impl DriverConfig {
    /// A driver with no option set.
    pub fn new(driver: DriverKind) -> Self {
        DriverConfig {
            driver,
            local_address: None,
            options: BTreeMap::new(),
        }
    }
}

/// Both drivers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataplaneConfig {
    /// IP-VPN driver.
    pub ipvpn: DriverConfig,
    /// E-VPN driver.
    pub evpn: DriverConfig,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            ipvpn: DriverConfig::new(DriverKind::Dummy),
            evpn: DriverConfig::new(DriverKind::Dummy),
        }
    }
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    Info,
    /// Debug.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Accepted names.
    pub const NAMES: &'static [&'static str] = &["error", "warn", "info", "debug", "trace"];

    /// The level for a name (case-insensitive; `warning` is `warn`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "error" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            "trace" => Some(LogLevel::Trace),
            _ => None,
        }
    }

    /// The name (as `tracing` filters spell it).
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Accepted names.
    pub const NAMES: &'static [&'static str] = &["text", "json"];

    /// The format for a name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Logging; each unset field leaves the choice to the command line and then the default
/// (info, text, standard error).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoggingConfig {
    /// Verbosity.
    pub level: Option<LogLevel>,
    /// Line format.
    pub format: Option<LogFormat>,
    /// A file to append to instead of standard error.
    pub file: Option<String>,
}

/// The whole configuration of the daemon, validated, with interface names not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DaemonConfig {
    /// The syntax it was read from.
    pub format: ConfigFormat,
    /// Our AS.
    pub local_as: u32,
    /// Our BGP Identifier; the local address (which must then be IPv4) when `None`.
    pub router_id: Option<Ipv4Addr>,
    /// Our address: session source, next hop, RD prefix.
    pub local_address: LocalAddress,
    /// Where to accept connections; nowhere when `None` (BaGPipe-BGP never listens).
    pub listen: Option<ListenConfig>,
    /// The peers, in order.
    pub peers: Vec<PeerConfig>,
    /// The REST API's socket.
    pub api: ApiConfig,
    /// The dataplane drivers.
    pub dataplane: DataplaneConfig,
    /// Logging.
    pub logging: LoggingConfig,
    /// Things that were accepted but are worth telling the operator (ignored keys and sections
    /// of a `bgp.conf`, obsolete settings), for the runtime to log.
    pub warnings: Vec<String>,
}

/// A configuration with every address resolved: what the runtime runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResolvedConfig {
    /// The core's configuration.
    pub speaker: SpeakerConfig,
    /// The socket to listen on, if any.
    pub listen: Option<SocketAddr>,
    /// The IP-VPN dataplane's local address.
    pub ipvpn_local_address: IpAddr,
    /// The E-VPN dataplane's local address.
    pub evpn_local_address: IpAddr,
}

impl DaemonConfig {
    /// Resolve interface names with `interface_addresses` (the runtime's view of the host) and
    /// give the core's configuration. `source` names the file, for errors.
    pub fn resolve(
        &self,
        source: &str,
        interface_addresses: impl Fn(&str) -> Vec<IpAddr>,
    ) -> Result<ResolvedConfig, ConfigError> {
        let (section_local, section_router_id, ipvpn_key, evpn_key) = match self.format {
            ConfigFormat::BagpipeIni => (
                "BGP.local_address",
                "BGP.local_address",
                "DATAPLANE_DRIVER_IPVPN.dataplane_local_address",
                "DATAPLANE_DRIVER_EVPN.dataplane_local_address",
            ),
            ConfigFormat::Toml => (
                "bgp.local_address",
                "bgp.router_id",
                "dataplane.ipvpn.local_address",
                "dataplane.evpn.local_address",
            ),
        };
        let unresolved = |key: &str, address: &LocalAddress| {
            let name = match address {
                LocalAddress::Interface(name) => name.clone(),
                LocalAddress::Ip(ip) => ip.to_string(),
            };
            ConfigError::new(source, key, ConfigProblem::InterfaceUnresolved { name })
        };
        let local = self
            .local_address
            .resolve(&interface_addresses)
            .ok_or_else(|| unresolved(section_local, &self.local_address))?;
        let router_id = match (self.router_id, local) {
            (Some(id), _) => id,
            (None, IpAddr::V4(v4)) => v4,
            (None, IpAddr::V6(v6)) => {
                return Err(ConfigError::new(
                    source,
                    section_router_id,
                    ConfigProblem::UnusableAddress {
                        address: IpAddr::V6(v6),
                        reason: "the BGP identifier is an IPv4 address: set router_id",
                    },
                ))
            }
        };
        let driver_address = |driver: &DriverConfig, key: &str| match &driver.local_address {
            None => Ok(local),
            Some(address) => address
                .resolve(&interface_addresses)
                .ok_or_else(|| unresolved(key, address)),
        };
        let ipvpn_local_address = driver_address(&self.dataplane.ipvpn, ipvpn_key)?;
        let evpn_local_address = driver_address(&self.dataplane.evpn, evpn_key)?;
        Ok(ResolvedConfig {
            speaker: SpeakerConfig {
                local_as: self.local_as,
                router_id,
                local_address: local,
                peers: self.peers.clone(),
            },
            listen: self
                .listen
                .as_ref()
                .map(|l| SocketAddr::new(l.address.unwrap_or(local), l.port)),
            ipvpn_local_address,
            evpn_local_address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_chosen_by_extension_then_content() {
        assert_eq!(
            ConfigFormat::detect("/etc/bagpipe-bgp/bgp.conf", ""),
            ConfigFormat::BagpipeIni
        );
        assert_eq!(
            ConfigFormat::detect("x.toml", "[BGP]\n"),
            ConfigFormat::Toml
        );
        assert_eq!(
            ConfigFormat::detect("x", "# c\n[BGP]\nmy_as=1\n"),
            ConfigFormat::BagpipeIni
        );
        assert_eq!(
            ConfigFormat::detect("x", "[bgp]\nlocal_as=1\n"),
            ConfigFormat::Toml
        );
    }

    #[test]
    fn local_address_is_an_ip_or_an_interface_name() {
        assert_eq!(
            LocalAddress::parse("10.0.0.1"),
            Ok(LocalAddress::Ip("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            LocalAddress::parse("eth0"),
            Ok(LocalAddress::Interface("eth0".into()))
        );
        for bad in [
            "",
            "a/b",
            "has space",
            "0123456789abcdef",
            "10.0.0.300",
            ".",
        ] {
            assert!(LocalAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn interface_resolves_to_its_first_ipv4_address() {
        let addresses = |name: &str| -> Vec<IpAddr> {
            if name == "eth0" {
                vec!["fe80::1".parse().unwrap(), "192.0.2.7".parse().unwrap()]
            } else {
                vec![]
            }
        };
        let eth0 = LocalAddress::Interface("eth0".into());
        assert_eq!(eth0.resolve(addresses), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(
            LocalAddress::Interface("eth9".into()).resolve(addresses),
            None
        );
    }

    #[test]
    fn legacy_driver_class_paths_are_recognised() {
        assert_eq!(
            DriverKind::from_name("mpls_ovs_dataplane.MPLSOVSDataplaneDriver", VpnType::Ipvpn),
            Some(DriverKind::Ovs)
        );
        assert_eq!(
            DriverKind::from_name(
                "bagpipe.bgp.vpn.evpn.linux_vxlan.LinuxVXLANDataplaneDriver",
                VpnType::Evpn
            ),
            Some(DriverKind::Linux)
        );
        assert_eq!(
            DriverKind::from_name("DUMMY", VpnType::Evpn),
            Some(DriverKind::Dummy)
        );
        assert_eq!(
            DriverKind::from_name("mpls_ovs_dataplane.MPLSOVSDataplaneDriver", VpnType::Evpn),
            None
        );
        assert_eq!(DriverKind::from_name("vpp", VpnType::Ipvpn), None);
    }
}
