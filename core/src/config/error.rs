//! What can be wrong with a configuration, and where: every error names the file, the key
//! (`section.key`, or `peers[1].hold_time` in TOML) and the problem.

use core::fmt;
use std::net::IpAddr;

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// The file (or other source name) the text came from.
    pub source: String,
    /// The key at fault: `BGP.my_as` in `bgp.conf`, `bgp.local_as` or `peers[0].port` in TOML;
    /// the section alone for a whole-section problem; empty for a file-level syntax error.
    pub key: String,
    /// What is wrong.
    pub problem: ConfigProblem,
}

impl ConfigError {
    /// An error at `key` of `source`.
    pub fn new(source: &str, key: impl Into<String>, problem: ConfigProblem) -> Self {
        ConfigError {
            source: source.to_string(),
            key: key.into(),
            problem,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The problem itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConfigProblem {
    /// The text is not valid INI or TOML.
    Syntax {
        /// 1-based line of the fault (0 when unknown).
        line: usize,
        /// The parser's explanation.
        message: String,
    },
    /// A required key is absent.
    Missing,
    /// A key or section this format does not have (TOML is strict: typos are errors).
    Unknown,
    /// The value has the wrong type.
    WrongType {
        /// What was expected (`an integer`, `a boolean`, ...).
        expected: &'static str,
        /// The value as written.
        found: String,
    },
    /// An AS number outside `1..=max`, or AS_TRANS (RFC 6793 §9: 23456 is not an AS).
    InvalidAs {
        /// The value as written.
        value: String,
        /// The largest AS the format accepts (65535 for `bgp.conf`, like BaGPipe-BGP).
        max: u32,
    },
    /// Not an IP address (or, where allowed, an interface name).
    InvalidAddress {
        /// The value as written.
        value: String,
    },
    /// An address that cannot be used here (unspecified, multicast, broadcast, not IPv4 ...).
    UnusableAddress {
        /// The address.
        address: IpAddr,
        /// Why.
        reason: &'static str,
    },
    /// A TCP port outside 1..=65535.
    InvalidPort {
        /// The value as written.
        value: String,
    },
    /// RFC 4271 §4.2: the hold time is zero or at least three seconds (and fits 16 bits).
    InvalidHoldTime {
        /// The value in seconds.
        seconds: i64,
    },
    /// A number outside its range.
    OutOfRange {
        /// The value as written.
        value: String,
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A family name that is not known (GoBGP's names: `l2vpn-evpn`, `l3vpn-ipv4-unicast`, `rtc`, ...).
    UnknownFamily {
        /// The name as written.
        name: String,
    },
    /// A peer with no family at all.
    NoFamilies,
    /// A dataplane driver name this VPN type has no driver for.
    UnknownDriver {
        /// The name as written.
        name: String,
        /// `ipvpn` or `evpn`.
        vpn_type: &'static str,
    },
    /// A value outside a fixed set of choices.
    InvalidChoice {
        /// The value as written.
        value: String,
        /// The accepted values.
        allowed: &'static [&'static str],
    },
    /// The same peer address twice.
    DuplicatePeer {
        /// The address.
        address: IpAddr,
        /// The key of its first occurrence.
        first: String,
    },
    /// A peer whose address is our own local address.
    PeerIsLocal {
        /// The address.
        address: IpAddr,
    },
    /// A passive peer while the speaker listens on no port: the session could never come up.
    PassiveWithoutListen,
    /// The value is not a valid interface name (1 to 15 characters, no `/`, no space).
    InvalidInterfaceName {
        /// The value as written.
        value: String,
    },
    /// The interface named by a local address does not exist or has no address of the needed kind.
    InterfaceUnresolved {
        /// The interface name.
        name: String,
    },
    /// Two settings that cannot hold together.
    Conflict {
        /// Why.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::Syntax { line, message } if *line > 0 => {
                write!(f, "syntax error at line {line}: {message}")
            }
            ConfigProblem::Syntax { message, .. } => write!(f, "syntax error: {message}"),
            ConfigProblem::Missing => f.write_str("required key is missing"),
            ConfigProblem::Unknown => f.write_str("unknown key"),
            ConfigProblem::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found:?}")
            }
            ConfigProblem::InvalidAs { value, max } => {
                write!(f, "invalid AS number {value:?}: must be 1..={max} and not 23456 (AS_TRANS)")
            }
            ConfigProblem::InvalidAddress { value } => write!(f, "invalid address {value:?}"),
            ConfigProblem::UnusableAddress { address, reason } => {
                write!(f, "address {address} cannot be used: {reason}")
            }
            ConfigProblem::InvalidPort { value } => {
                write!(f, "invalid TCP port {value:?}: must be 1..=65535")
            }
            ConfigProblem::InvalidHoldTime { seconds } => write!(
                f,
                "invalid hold time {seconds}: must be 0 or 3..=65535 seconds (RFC 4271 section 4.2)"
            ),
            ConfigProblem::OutOfRange { value, min, max } => {
                write!(f, "value {value:?} out of range {min}..={max}")
            }
            ConfigProblem::UnknownFamily { name } => write!(
                f,
                "unknown address family {name:?} (known: l2vpn-evpn, l3vpn-ipv4-unicast, rtc, \
                 l3vpn-ipv4-flowspec, ipv4-flowspec, l3vpn-ipv6-unicast, ipv4-unicast, ...)"
            ),
            ConfigProblem::NoFamilies => f.write_str("a peer needs at least one address family"),
            ConfigProblem::UnknownDriver { name, vpn_type } => {
                write!(f, "unknown {vpn_type} dataplane driver {name:?} (known: dummy, ovs, linux)")
            }
            ConfigProblem::InvalidChoice { value, allowed } => {
                write!(f, "invalid value {value:?} (allowed: {})", allowed.join(", "))
            }
            ConfigProblem::DuplicatePeer { address, first } => {
                write!(f, "peer {address} is configured twice (first at {first})")
            }
            ConfigProblem::PeerIsLocal { address } => {
                write!(f, "peer {address} is our own local address")
            }
            ConfigProblem::PassiveWithoutListen => f.write_str(
                "a passive peer needs the speaker to listen: set bgp.listen_port (and bgp.listen_address)",
            ),
            ConfigProblem::InvalidInterfaceName { value } => write!(
                f,
                "{value:?} is neither an IP address nor an interface name (1 to 15 characters, no '/' or space)"
            ),
            ConfigProblem::InterfaceUnresolved { name } => {
                write!(f, "interface {name:?} not found or has no usable address")
            }
            ConfigProblem::Conflict { reason } => f.write_str(reason),
        }
    }
}
