//! `POST /attach_localport` (reference §3.2): plug an endpoint into a VPN instance, creating the
//! instance on first use.

use super::address::{address, EndpointIp};
use super::chaining::{self, AttractTraffic, Readvertise};
use super::error::{ApiError, ApiProblem};
use super::local_port::LocalPort;
use super::mac_text::parse_mac;
use super::read::{
    integer, integer_or_decimal_string, is_falsy, object, opt_string, show, string, Obj,
};
use super::route_targets::instance_rts;
use super::{body, common, VpnInstanceId, VpnType};
use crate::wire::{MacAddress, RouteTarget, Vni};
use serde_json::Value;
use std::net::IpAddr;

/// An attach request (reference §3.2), validated. Fields keep the API's names; which of them
/// only matter when the request creates the instance is said per field (reference §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachRequest {
    /// `vpn_type`: a VRF (`ipvpn`) or an EVI (`evpn`).
    pub vpn_type: VpnType,
    /// `vpn_instance_id`: the instance's external id.
    pub vpn_instance_id: VpnInstanceId,
    /// `mac_address`: the endpoint's MAC.
    pub mac_address: MacAddress,
    /// `local_port`: where the endpoint is. For an `evpn` attachment `linuxif` is always given;
    /// for an `ipvpn` one with `local_port.evpn`, `linuxif` is absent or empty.
    pub local_port: LocalPort,
    /// `import_rt`: the instance's import RTs, duplicates removed; replaces the previous set on
    /// every attach.
    pub import_rt: Vec<RouteTarget>,
    /// `export_rt`: the instance's export RTs, as `import_rt`.
    pub export_rt: Vec<RouteTarget>,
    /// `ip_address`: always given for `ipvpn`; optional for `evpn` (MAC-only endpoint).
    pub ip_address: Option<EndpointIp>,
    /// `gateway_ip`: the instance's gateway. The key is required for `ipvpn`, but its value may
    /// be `null` (a Neutron subnet without gateway); used at creation only.
    pub gateway_ip: Option<IpAddr>,
    /// `advertise_subnet`: advertise the whole `ip_address` prefix (with a per-endpoint RD)
    /// rather than a host route; default false.
    pub advertise_subnet: bool,
    /// `lb_consistent_hash_order`: the Consistent Hash Sort Order of the endpoint's routes
    /// (draft-ietf-bess-service-chaining §2.3); default 0.
    pub lb_consistent_hash_order: u32,
    /// `local_pref`: LOCAL_PREF of the endpoint's routes (RFC 4271 §5.1.5); `None` means 100.
    pub local_pref: Option<u32>,
    /// `vni`: force the instance's VNI (or label) instead of allocating one; `0` or `null` is
    /// `None`. Creation only.
    pub vni: Option<Vni>,
    /// `direction`: which way traffic is forwarded; absent, `null` or `""` is `both`.
    pub direction: Direction,
    /// `linuxbr`: an existing Linux bridge for the E-VPN; ignored (`None`) for `ipvpn`.
    /// Creation only.
    pub linuxbr: Option<String>,
    /// `readvertise`; creation only.
    pub readvertise: Option<Readvertise>,
    /// `attract_traffic`, when enabled (see [`AttractTraffic`]); creation only.
    pub attract_traffic: Option<AttractTraffic>,
    /// `fallback`: where the VRF sends traffic it has no route for (OVS IP-VPN driver).
    pub fallback: Option<Fallback>,
    /// `instance_description`: free text shown in the looking glass; each attach overwrites it.
    pub instance_description: Option<String>,
    /// `description`: the endpoint's description, any JSON (the agent sends
    /// `{"port": "<uuid>"}`); `null` is `None`.
    pub description: Option<Value>,
}

/// `direction` (reference §3.2, §2.2 `vif_plugged` 4.-5.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `both`: a route is advertised; traffic to and from the port.
    #[default]
    Both,
    /// `to-port`: a route is advertised; only traffic towards the port.
    ToPort,
    /// `from-port`: no route is advertised; only traffic from the port.
    FromPort,
}

impl Direction {
    /// The API's name: `both`, `to-port` or `from-port`.
    pub const fn name(self) -> &'static str {
        match self {
            Direction::Both => "both",
            Direction::ToPort => "to-port",
            Direction::FromPort => "from-port",
        }
    }

    /// Whether traffic is forwarded to the port, and so a route advertised.
    pub const fn forwards_to_port(self) -> bool {
        matches!(self, Direction::Both | Direction::ToPort)
    }

    /// Whether traffic from the port is forwarded.
    pub const fn forwards_from_port(self) -> bool {
        matches!(self, Direction::Both | Direction::FromPort)
    }
}

/// `fallback` (reference §3.2, §6.4): on a VRF lookup miss, rewrite the MACs and send the frame
/// out of an OVS port. The OVS driver installs it only when `src_mac`, `dst_mac` and
/// `ovs_port_number` are all given, and ignores it otherwise; other drivers ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fallback {
    /// `src_mac`: the new source MAC (the agent sends `00:00:5e:2a:10:00`).
    pub src_mac: Option<MacAddress>,
    /// `dst_mac`: the new destination MAC (the Neutron router's).
    pub dst_mac: Option<MacAddress>,
    /// `ovs_port_number`: the OVS port to send to.
    pub ovs_port_number: Option<u32>,
    /// `ovs_port_name`: documented as unsupported by BaGPipe-BGP.
    pub ovs_port_name: Option<String>,
    /// `ovs_resubmit`: `"(<port>,<table>)"`, documented as unsupported by BaGPipe-BGP.
    pub ovs_resubmit: Option<String>,
}

/// `direction`: falsy means `both` (`params.get('direction') or BOTH`).
fn direction(obj: Obj<'_>) -> Result<Direction, ApiError> {
    let Some(v) = obj.get("direction").filter(|v| !is_falsy(v)) else {
        return Ok(Direction::Both);
    };
    match v.as_str() {
        Some("both") => Ok(Direction::Both),
        Some("to-port") => Ok(Direction::ToPort),
        Some("from-port") => Ok(Direction::FromPort),
        _ => Err(ApiError::new(
            "direction",
            ApiProblem::InvalidDirection { value: show(v) },
        )),
    }
}

fn mac(v: &Value, field: &str) -> Result<MacAddress, ApiError> {
    let text = string(v, field)?;
    parse_mac(text).ok_or_else(|| {
        ApiError::new(
            field,
            ApiProblem::MalformedMacAddress {
                value: text.to_string(),
            },
        )
    })
}

fn fallback(v: &Value) -> Result<Fallback, ApiError> {
    let obj = object(v, "fallback")?;
    let opt_mac = |key: &str| {
        obj.get_non_null(key)
            .map(|v| mac(v, &obj.field(key)))
            .transpose()
    };
    Ok(Fallback {
        src_mac: opt_mac("src_mac")?,
        dst_mac: opt_mac("dst_mac")?,
        ovs_port_number: obj
            .get_non_null("ovs_port_number")
            .map(|v| {
                integer_or_decimal_string(v, "fallback.ovs_port_number", 0, u32::MAX.into())
                    .map(|n| n as u32)
            })
            .transpose()?,
        ovs_port_name: opt_string(obj, "ovs_port_name")?,
        ovs_resubmit: opt_string(obj, "ovs_resubmit")?,
    })
}

/// Checks of an E-VPN plugged into an IP-VPN, and of an E-VPN attachment's interface
/// (reference §2.1 "EVPN→IPVPN plug").
fn check_plug(vpn_type: VpnType, port: &LocalPort) -> Result<(), ApiError> {
    let linuxif = port.linuxif.as_deref().filter(|s| !s.is_empty());
    match (vpn_type, &port.evpn) {
        (VpnType::Evpn, _) if port.linuxif.is_none() => Err(ApiError::new(
            "local_port.linuxif",
            ApiProblem::EvpnAttachWithoutLinuxif,
        )),
        (VpnType::Ipvpn, Some(_)) if linuxif.is_some() => Err(ApiError::new(
            "local_port.linuxif",
            ApiProblem::EvpnPlugWithLinuxif,
        )),
        (VpnType::Ipvpn, Some(plug)) if plug.ovs_port_name.is_some() => {
            let preplugged = port.ovs.as_ref().is_some_and(|ovs| {
                ovs.plugged == Some(true)
                    && (ovs.port_name.as_deref().is_some_and(|n| !n.is_empty())
                        || ovs.port_number.is_some_and(|n| n != 0))
            });
            if preplugged {
                Ok(())
            } else {
                Err(ApiError::new(
                    "local_port.evpn.ovs_port_name",
                    ApiProblem::EvpnPlugPortNotPreplugged,
                ))
            }
        }
        _ => Ok(()),
    }
}

/// Parses and validates an attach request body (reference §3.2), with BaGPipe-BGP's checks in
/// its order (`validate_convert_attach_params`, then `plug_vif_to_vpn`, then instance creation,
/// reference §2.1-§2.3). Never panics.
pub fn parse_attach(bytes: &[u8]) -> Result<AttachRequest, ApiError> {
    let map = body(bytes)?;
    let obj = Obj::root(&map);
    let common = common(obj, &["import_rt", "export_rt"])?;
    let direction = direction(obj)?;
    let gateway_ip = match (common.vpn_type, obj.get("gateway_ip")) {
        (VpnType::Ipvpn, None) => {
            return Err(ApiError::new("gateway_ip", ApiProblem::Missing));
        }
        (_, None | Some(Value::Null)) => None,
        (_, Some(v)) => Some(address(v, "gateway_ip")?),
    };
    let import_rt = instance_rts(obj.required("import_rt")?, "import_rt")?;
    let export_rt = instance_rts(obj.required("export_rt")?, "export_rt")?;
    let readvertise = match obj.get("readvertise") {
        Some(v) => chaining::readvertise(v)?,
        None => None,
    };
    let attract_traffic = match obj.get("attract_traffic") {
        Some(v) => chaining::attract_traffic(v, readvertise.as_ref())?,
        None => None,
    };
    check_plug(common.vpn_type, &common.local_port)?;
    let vni = match obj.get("vni").filter(|v| !is_falsy(v)) {
        None => None,
        Some(v) => Vni::new(integer(v, "vni", 0, Vni::MAX.into())? as u32),
    };
    let linuxbr = match (common.vpn_type, obj.get("linuxbr")) {
        (VpnType::Evpn, Some(v)) if !is_falsy(v) => Some(string(v, "linuxbr")?.to_string()),
        _ => None,
    };
    let local_pref = obj
        .get_non_null("local_pref")
        .map(|v| integer(v, "local_pref", 0, u32::MAX.into()).map(|n| n as u32))
        .transpose()?;
    let lb_consistent_hash_order = match obj.get("lb_consistent_hash_order") {
        None => 0,
        Some(v) => integer(v, "lb_consistent_hash_order", 0, u32::MAX.into())? as u32,
    };
    let fallback = obj.get_non_null("fallback").map(fallback).transpose()?;
    let instance_description = opt_string(obj, "instance_description")?;
    let description = obj.get_non_null("description").cloned();
    Ok(AttachRequest {
        vpn_type: common.vpn_type,
        vpn_instance_id: common.vpn_instance_id,
        mac_address: common.mac_address,
        local_port: common.local_port,
        import_rt,
        export_rt,
        ip_address: common.ip_address,
        gateway_ip,
        advertise_subnet: common.advertise_subnet,
        lb_consistent_hash_order,
        local_pref,
        vni,
        direction,
        linuxbr,
        readvertise,
        attract_traffic,
        fallback,
        instance_description,
        description,
    })
}
