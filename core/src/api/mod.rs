//! BaGPipe-BGP's REST API requests, typed: `POST /attach_localport` and
//! `POST /detach_localport` bodies (reference-bagpipe-bgp.md §3), parsed and validated into
//! [`AttachRequest`] and [`DetachRequest`], or refused with an [`ApiError`] that names the field
//! and the problem. No HTTP and no VPN logic here: the runtime feeds the body in and maps the
//! error to a status with [`ApiError::http_status`].
//!
//! What is accepted is what BaGPipe-BGP accepts from the Neutron agent and `bagpipe-rest-attach`
//! (reference §3.2-§3.6), with the same defaults and the same tolerance:
//! - unknown fields are ignored (BaGPipe-BGP receives the body as `**params`);
//! - a field given as `null` is present (`'ip_address' in params`), except where BaGPipe-BGP
//!   only tests a value's truthiness (`readvertise`, `attract_traffic`, `vni`, `direction`,
//!   `linuxbr`), where `null`, `0`, `""`, `[]`, `{}` all mean "not given";
//! - `import_rt`/`export_rt` as a list or a comma-separated string; `local_port` as an object or
//!   an interface name; `mac_address` in any netaddr EUI-48 form; `ip_address` with or without a
//!   prefix length.
//!
//! Where BaGPipe-BGP lets a value through unchecked and then fails on it later (an HTTP 500, or
//! an exception in a worker thread), it is refused here with a 400: a wrong JSON type, a number
//! out of its field's range, a malformed RT, gateway, prefix, port range or protocol.
//! [`ApiError::reference`] says, for every error, what BaGPipe-BGP answers instead.
//! Checks that need state (VPN not found, MAC bound to another port, VNI in use, driver
//! support of a direction) belong to the VPN layer, not here.

mod address;
mod attach;
mod chaining;
mod detach;
mod error;
mod local_port;
mod mac_text;
mod read;
mod route_targets;

pub use crate::config::VpnType;
pub use address::EndpointIp;
pub use attach::{parse_attach, AttachRequest, Direction, Fallback};
pub use chaining::{AttractTraffic, IpProtocol, PortMatch, Readvertise, TrafficClassifier};
pub use detach::{parse_detach, DetachRequest};
pub use error::{ApiError, ApiProblem, ErrorClass, JsonKind, ReferenceAnswer};
pub use local_port::{EvpnPlug, LocalPort, OvsPort};

use crate::wire::MacAddress;
use core::fmt;
use read::{show, string, wrong_type, Obj};
use serde_json::{Map, Value};

/// The external identifier of a VPN instance (reference §3.2 `vpn_instance_id`, §2.1): every
/// attachment with the same id shares one instance. Any string, the empty one included.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VpnInstanceId(pub String);

impl VpnInstanceId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VpnInstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The body as a JSON object. A body that is not JSON is BaGPipe-BGP's 400 "No local port
/// details received" (reference §3.1); JSON that is not an object is refused too.
fn body(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(wrong_type("", "a JSON object", &other)),
        Err(e) => Err(ApiError::new(
            "",
            ApiProblem::NotJson {
                detail: e.to_string(),
            },
        )),
    }
}

/// The fields attach and detach share, checked in BaGPipe-BGP's order
/// (`VPNManager._check_instance_type`, then `VPNInstance.validate_convert_params`, reference
/// §2.1, §2.2): `vpn_type`; the presence of the required fields; `local_port`; `mac_address`;
/// `ip_address`; `advertise_subnet`.
struct Common {
    vpn_type: VpnType,
    vpn_instance_id: VpnInstanceId,
    mac_address: MacAddress,
    local_port: LocalPort,
    ip_address: Option<EndpointIp>,
    advertise_subnet: bool,
}

/// `vpn_type`: `"ipvpn"` or `"evpn"` (reference §3.1, §3.2).
fn vpn_type(obj: Obj<'_>) -> Result<VpnType, ApiError> {
    let v = obj
        .get("vpn_type")
        .ok_or_else(|| ApiError::new("vpn_type", ApiProblem::MissingVpnType))?;
    match v.as_str() {
        Some("ipvpn") => Ok(VpnType::Ipvpn),
        Some("evpn") => Ok(VpnType::Evpn),
        Some(other) => Err(ApiError::new(
            "vpn_type",
            ApiProblem::UnknownVpnType {
                value: other.chars().take(64).collect(),
            },
        )),
        None => Err(ApiError::new(
            "vpn_type",
            ApiProblem::UnknownVpnType { value: show(v) },
        )),
    }
}

fn common(obj: Obj<'_>, also_required: &[&str]) -> Result<Common, ApiError> {
    let vpn_type = vpn_type(obj)?;
    let mut required = vec!["vpn_instance_id", "mac_address", "local_port"];
    required.extend_from_slice(also_required);
    if vpn_type == VpnType::Ipvpn {
        // reference §2.3: an IP-VPN endpoint always has an address.
        required.push("ip_address");
    }
    for key in required {
        obj.required(key)?;
    }
    let local_port = local_port::parse(obj.required("local_port")?)?;
    let mac_text = string(obj.required("mac_address")?, "mac_address")?;
    let mac_address = mac_text::parse_mac(mac_text).ok_or_else(|| {
        ApiError::new(
            "mac_address",
            ApiProblem::MalformedMacAddress {
                value: mac_text.to_string(),
            },
        )
    })?;
    let ip_address = obj
        .get("ip_address")
        .map(|v| address::endpoint_ip(v, "ip_address"))
        .transpose()?;
    let advertise_subnet = match obj.get("advertise_subnet") {
        None => false,
        Some(v) => read::boolean(v, "advertise_subnet")?,
    };
    let vpn_instance_id =
        VpnInstanceId(string(obj.required("vpn_instance_id")?, "vpn_instance_id")?.to_string());
    Ok(Common {
        vpn_type,
        vpn_instance_id,
        mac_address,
        local_port,
        ip_address,
        advertise_subnet,
    })
}

#[cfg(test)]
mod tests;
