//! The attach/detach request `bagpipe-rest-attach` sends (reference §3.2–3.4, §4.3), with the
//! defaults BaGPipe-BGP's tool fills in. Members are serialized in the order the original tool
//! sends them.

use serde::Serialize;
use std::net::IpAddr;

/// `--rt` default of an IP-VPN attachment.
pub const DEFAULT_IPVPN_RT: &str = "64512:512";
/// `--rt` default of an E-VPN attachment.
pub const DEFAULT_EVPN_RT: &str = "64512:513";
/// `--mac` default of an IP-VPN attachment.
pub const DEFAULT_IPVPN_MAC: &str = "52:54:00:99:99:22";
/// `--vpn-instance-id` default, after `<type>-`.
pub const DEFAULT_VPN_INSTANCE_ID: &str = "bagpipe-test";
/// Prefix of the host side of the veth pair of `--port netns`.
pub const VPN2NS_INTERFACE_PREFIX: &str = "ns-";
/// Linux interface names are at most this long (`IFNAMSIZ - 1`).
pub const LINUX_DEV_LEN: usize = 15;
/// Prefix length added to an `--ip` without one.
pub const DEFAULT_PREFIX_LEN: u8 = 24;

/// The VPN type (`--network-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkType {
    /// IP-VPN: a VRF.
    Ipvpn,
    /// E-VPN: an EVI.
    Evpn,
}

impl NetworkType {
    /// `ipvpn` / `evpn`, as in the API's `vpn_type`.
    pub const fn name(self) -> &'static str {
        match self {
            NetworkType::Ipvpn => "ipvpn",
            NetworkType::Evpn => "evpn",
        }
    }

    /// The RT used when no RT option is given.
    pub const fn default_rt(self) -> &'static str {
        match self {
            NetworkType::Ipvpn => DEFAULT_IPVPN_RT,
            NetworkType::Evpn => DEFAULT_EVPN_RT,
        }
    }
}

/// The request body (reference §3.2; the detach request carries the same members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachRequest {
    /// RTs imported by the instance.
    pub import_rt: Vec<String>,
    /// RTs the instance exports.
    pub export_rt: Vec<String>,
    /// The port.
    pub local_port: LocalPort,
    /// External id of the instance.
    pub vpn_instance_id: String,
    /// `ipvpn` / `evpn`.
    pub vpn_type: &'static str,
    /// Gateway of the instance's subnet.
    pub gateway_ip: String,
    /// The endpoint's MAC.
    pub mac_address: String,
    /// The endpoint's address, with its prefix length.
    pub ip_address: String,
    /// Advertise the prefix rather than a host route.
    pub advertise_subnet: bool,
    /// `null` unless `--readv-to-rt` is given.
    pub readvertise: Option<Readvertise>,
    /// `{}` unless `--redirect-rts` is given.
    pub attract_traffic: AttractTraffic,
    /// Consistent-hash sort order of the endpoint.
    pub lb_consistent_hash_order: u32,
    /// Forced VNI / label (0: allocate).
    pub vni: u32,
    /// LOCAL_PREF of the endpoint's routes, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// `both`, `to-port` or `from-port`.
    pub direction: String,
}

/// `local_port`: an interface (optionally plugged in OVS) or an EVI plugged into a VRF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalPort {
    /// The interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linuxif: Option<String>,
    /// OVS port details (`--ovs-preplug`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ovs: Option<OvsPort>,
    /// The EVI to plug (`--port evpn:<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evpn: Option<EvpnRef>,
}

/// `local_port.ovs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OvsPort {
    /// The OVS port.
    pub port_name: String,
    /// Already in the bridge.
    pub plugged: bool,
    /// Only this VLAN of the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
}

/// `local_port.evpn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvpnRef {
    /// External id of the EVI.
    pub id: String,
}

/// `readvertise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readvertise {
    /// RTs whose routes are readvertised.
    pub from_rt: Vec<String>,
    /// RTs they are readvertised with.
    pub to_rt: Vec<String>,
}

/// `attract_traffic`; every member absent serializes as `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttractTraffic {
    /// RTs of the FlowSpec redirect routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_rts: Option<Vec<String>>,
    /// The traffic to attract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<Classifier>,
    /// RT of the static destination routes. BaGPipe-BGP's tool sent this as `to`, a key the
    /// server ignores; the server reads `to_rt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_rt: Option<Vec<String>>,
    /// Prefixes advertised with `to_rt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_destination_prefixes: Option<Vec<String>>,
}

/// The traffic classifier (reference §2.6), with the API's camelCase member names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Classifier {
    /// Source prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_prefix: Option<String>,
    /// Destination prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_prefix: Option<String>,
    /// Source port or `min:max` range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<String>,
    /// Destination port or range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<String>,
    /// IP protocol name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl Classifier {
    /// True when no option was given.
    pub fn is_empty(&self) -> bool {
        *self == Classifier::default()
    }
}

/// Import and export RTs: `--rt` goes to both, `--import-rt` / `--export-rt` to one; the type's
/// default RT when none of the three is given.
pub fn route_targets(
    network_type: NetworkType,
    rts: &[String],
    import_only: &[String],
    export_only: &[String],
) -> (Vec<String>, Vec<String>) {
    let both: Vec<String> = if rts.is_empty() && import_only.is_empty() && export_only.is_empty() {
        vec![network_type.default_rt().to_string()]
    } else {
        rts.to_vec()
    };
    let import = both.iter().chain(import_only).cloned().collect();
    let export = both.iter().chain(export_only).cloned().collect();
    (import, export)
}

/// `--ip` with `/24` added when it has no prefix length.
pub fn with_default_prefix_len(ip: &str) -> String {
    let has_len = ip
        .rsplit_once('/')
        .is_some_and(|(_, len)| !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()));
    if has_len {
        ip.to_string()
    } else {
        format!("{ip}/{DEFAULT_PREFIX_LEN}")
    }
}

/// The default gateway of `addr/len`: the last usable address, i.e. the second-to-last address
/// of the subnet (BaGPipe-BGP's `IPNetwork(ip)[-2]`).
pub fn default_gateway(ip_with_len: &str) -> Result<IpAddr, String> {
    let (addr, len) = ip_with_len
        .split_once('/')
        .ok_or_else(|| format!("{ip_with_len}: expected <address>/<prefix length>"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{ip_with_len}: {addr:?} is not an IP address"))?;
    let len: u32 = len
        .parse()
        .map_err(|_| format!("{ip_with_len}: {len:?} is not a prefix length"))?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if len > bits {
        return Err(format!("{ip_with_len}: prefix length above {bits}"));
    }
    if bits - len < 1 {
        return Err(format!(
            "{ip_with_len}: a /{len} has no second-to-last address; give --gateway-ip"
        ));
    }
    // Host bits all ones (the last address), minus one.
    let host_mask: u128 = if bits - len >= 128 {
        u128::MAX
    } else {
        (1u128 << (bits - len)) - 1
    };
    Ok(match addr {
        IpAddr::V4(v4) => {
            let last = u128::from(u32::from(v4)) | host_mask;
            IpAddr::V4(u32::try_from(last - 1).unwrap_or(u32::MAX).into())
        }
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) | host_mask).wrapping_sub(1).into()),
    })
}

/// The host side of the veth pair to namespace `netns`: `ns-<netns>`, cut to the Linux limit.
pub fn vpn2ns_if_name(netns: &str) -> String {
    let mut name = format!("{VPN2NS_INTERFACE_PREFIX}{netns}");
    while name.len() > LINUX_DEV_LEN {
        name.pop();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_is_the_second_to_last_address() {
        for (ip, gw) in [
            ("12.11.11.1/24", "12.11.11.254"),
            ("10.0.0.5/16", "10.0.255.254"),
            ("10.0.0.4/30", "10.0.0.6"),
            ("10.0.0.4/31", "10.0.0.4"),
            ("0.0.0.0/0", "255.255.255.254"),
            ("2001:db8::5/64", "2001:db8::ffff:ffff:ffff:fffe"),
        ] {
            assert_eq!(default_gateway(ip).unwrap().to_string(), gw, "{ip}");
        }
        assert!(default_gateway("10.0.0.1/32").is_err());
        assert!(default_gateway("10.0.0.1/33").is_err());
        assert!(default_gateway("bad/24").is_err());
    }

    #[test]
    fn prefix_length_added_when_missing() {
        assert_eq!(with_default_prefix_len("12.11.11.1"), "12.11.11.1/24");
        assert_eq!(with_default_prefix_len("12.11.11.1/32"), "12.11.11.1/32");
    }

    #[test]
    fn default_rts_only_without_any_rt_option() {
        let none: Vec<String> = vec![];
        let one = vec!["1:1".to_string()];
        assert_eq!(
            route_targets(NetworkType::Evpn, &none, &none, &none),
            (vec!["64512:513".to_string()], vec!["64512:513".to_string()])
        );
        assert_eq!(
            route_targets(NetworkType::Ipvpn, &none, &one, &none),
            (one.clone(), vec![])
        );
    }

    #[test]
    fn veth_name_is_capped() {
        assert_eq!(vpn2ns_if_name("test"), "ns-test");
        assert_eq!(vpn2ns_if_name("ipvpn-bagpipe-test"), "ns-ipvpn-bagpip");
    }

    #[test]
    fn empty_attract_traffic_is_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&AttractTraffic::default()).unwrap(),
            "{}"
        );
    }
}
