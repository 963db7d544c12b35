//! Validation rules shared by both file formats: AS numbers, ports, timers, peer addresses,
//! driver options, and the rules between keys (duplicate peers, passive peers with no listener).

use super::daemon::{DaemonConfig, DriverKind, DriverOption, LocalAddress, VpnType};
use super::error::ConfigProblem;
use std::net::IpAddr;
use std::time::Duration;

/// RFC 6793 §9: AS_TRANS stands in for a 4-octet AS in 2-octet fields; it is never an AS.
const AS_TRANS: i64 = 23456;

/// An AS number in `1..=max`, not AS_TRANS.
pub fn check_as(value: i64, max: u32, written: &str) -> Result<u32, ConfigProblem> {
    let bad = || ConfigProblem::InvalidAs {
        value: written.to_string(),
        max,
    };
    if value == AS_TRANS {
        return Err(bad());
    }
    match u32::try_from(value) {
        Ok(asn) if asn >= 1 && asn <= max => Ok(asn),
        _ => Err(bad()),
    }
}

/// A TCP port, 1..=65535.
pub fn check_port(value: i64, written: &str) -> Result<u16, ConfigProblem> {
    match u16::try_from(value) {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ConfigProblem::InvalidPort {
            value: written.to_string(),
        }),
    }
}

/// RFC 4271 §4.2: "Hold Time MUST be either zero or at least three seconds", in 16 bits.
pub fn check_hold_time(seconds: i64) -> Result<Duration, ConfigProblem> {
    match u16::try_from(seconds) {
        Ok(s) if s == 0 || s >= 3 => Ok(Duration::from_secs(u64::from(s))),
        _ => Err(ConfigProblem::InvalidHoldTime { seconds }),
    }
}

/// A number of seconds in `min..=max`.
pub fn check_seconds(value: i64, min: i64, max: i64) -> Result<Duration, ConfigProblem> {
    if (min..=max).contains(&value) {
        Ok(Duration::from_secs(value.unsigned_abs()))
    } else {
        Err(ConfigProblem::OutOfRange {
            value: value.to_string(),
            min,
            max,
        })
    }
}

/// A peer's (or a listen) address: a unicast IP address.
pub fn parse_unicast_address(text: &str) -> Result<IpAddr, ConfigProblem> {
    let address: IpAddr = text
        .trim()
        .parse()
        .map_err(|_| ConfigProblem::InvalidAddress {
            value: text.to_string(),
        })?;
    check_unicast(address)?;
    Ok(address)
}

/// An address that can be a session endpoint.
pub fn check_unicast(address: IpAddr) -> Result<(), ConfigProblem> {
    let reason = if address.is_unspecified() {
        Some("unspecified address")
    } else if address.is_multicast() {
        Some("multicast address")
    } else if matches!(address, IpAddr::V4(v4) if v4.is_broadcast()) {
        Some("broadcast address")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigProblem::UnusableAddress { address, reason }),
        None => Ok(()),
    }
}

/// A local address: a unicast IP address or an interface name.
pub fn parse_local_address(text: &str) -> Result<LocalAddress, ConfigProblem> {
    let address = LocalAddress::parse(text.trim())?;
    if let LocalAddress::Ip(ip) = address {
        check_unicast(ip)?;
    }
    Ok(address)
}

/// oslo.config's boolean words, case-insensitive.
pub fn parse_bool(text: &str) -> Result<bool, ConfigProblem> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigProblem::WrongType {
            expected: "a boolean (true/false, yes/no, on/off, 1/0)",
            found: text.to_string(),
        }),
    }
}

/// A decimal integer.
pub fn parse_int(text: &str) -> Result<i64, ConfigProblem> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ConfigProblem::WrongType {
            expected: "an integer",
            found: text.to_string(),
        })
}

/// oslo.config's list: comma separated, items trimmed, optional surrounding brackets, empty
/// items dropped.
pub fn parse_list(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(trimmed);
    inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// The type of a known driver option (BaGPipe-BGP's driver options, reference §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A boolean.
    Bool,
    /// An integer in a range.
    Integer {
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Free text.
    Text,
    /// One of a set of words (kept lower-case).
    Choice(&'static [&'static str]),
    /// A list of strings.
    List,
}

/// The type of `name` for this driver, or `None` for an option the driver does not have.
pub fn known_option(vpn_type: VpnType, driver: DriverKind, name: &str) -> Option<OptionKind> {
    use OptionKind::*;
    let kind = match (vpn_type, driver, name) {
        (VpnType::Ipvpn, DriverKind::Ovs | DriverKind::Linux, "mpls_interface") => Text,
        (VpnType::Ipvpn, DriverKind::Ovs, "mpls_over_gre") => Choice(&["auto", "true", "false"]),
        (VpnType::Ipvpn, DriverKind::Ovs, "proxy_arp" | "arp_responder" | "vxlan_encap") => Bool,
        (_, DriverKind::Ovs, "ovs_bridge") => Text,
        (VpnType::Ipvpn, DriverKind::Ovs, "input_table") => Integer { min: 0, max: 254 },
        (VpnType::Ipvpn, DriverKind::Ovs, "ovs_table_id_start") => Integer { min: 0, max: 253 },
        (VpnType::Ipvpn, DriverKind::Ovs, "gre_tunnel") => Text,
        (VpnType::Ipvpn, DriverKind::Ovs, "gre_tunnel_options" | "hash_fields") => List,
        (VpnType::Ipvpn, DriverKind::Ovs, "ovsbr_interfaces_mtu") => Integer {
            min: 68,
            max: 65535,
        },
        (VpnType::Ipvpn, DriverKind::Ovs, "hash_method") => Choice(&["dp_hash", "hash"]),
        (VpnType::Ipvpn, DriverKind::Ovs, "hash_method_param") => Integer {
            min: 0,
            max: u64::MAX,
        },
        (VpnType::Evpn, DriverKind::Linux, "vxlan_dst_port") => Integer { min: 1, max: 65535 },
        // Seconds after start before what an earlier run left and no instance claimed again is
        // removed (restart safety; 0: at once, BaGPipe-BGP's reset_state). At most a day.
        (_, _, "stale_cleanup_delay") => Integer {
            min: 0,
            max: 86_400,
        },
        _ => return None,
    };
    Some(kind)
}

/// A known option's value from its text (INI).
pub fn option_from_text(kind: OptionKind, text: &str) -> Result<DriverOption, ConfigProblem> {
    let text = text.trim();
    match kind {
        OptionKind::Bool => parse_bool(text).map(DriverOption::Bool),
        OptionKind::Integer { min, max } => {
            let value = text.parse::<u64>().map_err(|_| ConfigProblem::WrongType {
                expected: "a non-negative integer",
                found: text.to_string(),
            })?;
            check_range(value, min, max, text)
        }
        OptionKind::Text => Ok(DriverOption::Text(text.to_string())),
        OptionKind::Choice(allowed) => {
            let lower = text.to_ascii_lowercase();
            if allowed.contains(&lower.as_str()) {
                Ok(DriverOption::Text(lower))
            } else {
                Err(ConfigProblem::InvalidChoice {
                    value: text.to_string(),
                    allowed,
                })
            }
        }
        OptionKind::List => Ok(DriverOption::List(parse_list(text))),
    }
}

/// An integer option within its range.
pub fn check_range(
    value: u64,
    min: u64,
    max: u64,
    written: &str,
) -> Result<DriverOption, ConfigProblem> {
    if (min..=max).contains(&value) {
        Ok(DriverOption::Integer(value))
    } else {
        Err(ConfigProblem::OutOfRange {
            value: written.to_string(),
            min: i64::try_from(min).unwrap_or(i64::MAX),
            max: i64::try_from(max).unwrap_or(i64::MAX),
        })
    }
}

/// Rules across keys, checked once a configuration is complete. `peer_key(i, field)` names a
/// peer's key in the file's format; `listen_key` names the listen setting.
pub fn check_consistency(
    config: &DaemonConfig,
    peer_key: impl Fn(usize, &str) -> String,
) -> Result<(), (String, ConfigProblem)> {
    for (i, peer) in config.peers.iter().enumerate() {
        if let Some(first) = config.peers[..i]
            .iter()
            .position(|p| p.address == peer.address)
        {
            return Err((
                peer_key(i, "address"),
                ConfigProblem::DuplicatePeer {
                    address: peer.address,
                    first: peer_key(first, "address"),
                },
            ));
        }
        let local = peer.local_address.or(match config.local_address {
            LocalAddress::Ip(ip) => Some(ip),
            LocalAddress::Interface(_) => None,
        });
        if local == Some(peer.address) {
            return Err((
                peer_key(i, "address"),
                ConfigProblem::PeerIsLocal {
                    address: peer.address,
                },
            ));
        }
        if peer.passive && config.listen.is_none() {
            return Err((peer_key(i, "passive"), ConfigProblem::PassiveWithoutListen));
        }
        if peer.families.is_empty() {
            return Err((peer_key(i, "families"), ConfigProblem::NoFamilies));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4271_s4_2_hold_time_is_zero_or_at_least_three_seconds() {
        assert_eq!(check_hold_time(0), Ok(Duration::ZERO));
        assert_eq!(check_hold_time(3), Ok(Duration::from_secs(3)));
        assert_eq!(check_hold_time(65535), Ok(Duration::from_secs(65535)));
        for bad in [1, 2, -1, 65536] {
            assert_eq!(
                check_hold_time(bad),
                Err(ConfigProblem::InvalidHoldTime { seconds: bad })
            );
        }
    }

    #[test]
    fn rfc6793_s9_as_trans_and_zero_are_not_an_as() {
        assert_eq!(check_as(64512, 65535, "64512"), Ok(64512));
        assert_eq!(check_as(4_200_000_000, u32::MAX, "x"), Ok(4_200_000_000));
        for bad in [0, 23456, 65536, -5] {
            assert!(check_as(bad, 65535, "v").is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ports_are_one_to_65535() {
        assert_eq!(check_port(179, "179"), Ok(179));
        assert!(check_port(0, "0").is_err());
        assert!(check_port(65536, "65536").is_err());
    }

    #[test]
    fn oslo_booleans_and_lists() {
        for t in ["True", "yes", "ON", "1"] {
            assert_eq!(parse_bool(t), Ok(true));
        }
        for f in ["False", "no", "off", "0"] {
            assert_eq!(parse_bool(f), Ok(false));
        }
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_list(" a, b ,,c"), vec!["a", "b", "c"]);
        assert_eq!(parse_list("[x,y]"), vec!["x", "y"]);
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn peer_addresses_must_be_unicast() {
        assert!(parse_unicast_address("192.0.2.1").is_ok());
        assert!(parse_unicast_address("2001:db8::1").is_ok());
        for bad in [
            "0.0.0.0",
            "224.0.0.5",
            "255.255.255.255",
            "::",
            "ff02::1",
            "rr1",
            "1.2.3",
        ] {
            assert!(parse_unicast_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn driver_options_are_typed_when_known() {
        let k = known_option(VpnType::Ipvpn, DriverKind::Ovs, "proxy_arp").unwrap();
        assert_eq!(option_from_text(k, "True"), Ok(DriverOption::Bool(true)));
        let k = known_option(VpnType::Ipvpn, DriverKind::Ovs, "mpls_over_gre").unwrap();
        assert_eq!(
            option_from_text(k, "Auto"),
            Ok(DriverOption::Text("auto".into()))
        );
        assert!(option_from_text(k, "sometimes").is_err());
        let k = known_option(VpnType::Ipvpn, DriverKind::Ovs, "input_table").unwrap();
        assert!(option_from_text(k, "255").is_err());
        assert_eq!(
            known_option(VpnType::Evpn, DriverKind::Dummy, "proxy_arp"),
            None
        );
    }
}
