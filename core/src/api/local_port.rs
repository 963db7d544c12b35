//! `local_port`: where an endpoint is plugged (reference §3.2, §2.1 "EVPN→IPVPN plug", §3.6).

use super::error::{ApiError, ApiProblem};
use super::read::{
    boolean, integer_or_decimal_string, object, opt_string, string, wrong_type, Obj,
};
use serde_json::Value;

/// The largest 802.1Q VLAN id.
const VLAN_MAX: u64 = 4095;

/// The port an endpoint is plugged on (reference §3.2 `local_port`). Given as a string, it is
/// `{"linuxif": <string>}`. BaGPipe-BGP keeps the whole dict as the port's identity: a MAC
/// plugged again with a different `local_port` is refused (reference §2.2 `vif_plugged` 1.);
/// compare two `LocalPort`s for that. Keys other than those below are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalPort {
    /// `linuxif`: interface name, or an opaque key (the OVS agent sends `"patch2tun:<vlan>"`,
    /// reference §3.6). `null` is taken as absent.
    pub linuxif: Option<String>,
    /// `vlan`: the network's local VLAN in br-tun/br-int, needed by the E-VPN `ovs` driver.
    pub vlan: Option<u16>,
    /// `ovs`: how the IP-VPN `ovs` driver finds the port.
    pub ovs: Option<OvsPort>,
    /// `evpn`: for an IP-VPN attachment, the E-VPN instance to plug into the VRF instead of an
    /// interface (reference §2.1).
    pub evpn: Option<EvpnPlug>,
}

/// `local_port.ovs` (reference §3.2): the OVS port of an IP-VPN attachment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OvsPort {
    /// `plugged`: the port is already in the OVS bridge. The IP-VPN `ovs` driver requires the
    /// key when `ovs` is given; other drivers ignore `ovs`, so absence is kept as `None`.
    pub plugged: Option<bool>,
    /// `port_name`: interface to plug, or to look up (ignored when `port_number` is given).
    pub port_name: Option<String>,
    /// `port_number`: the OVS port number (an integer or a numeric string); wins over the name.
    pub port_number: Option<u32>,
    /// `vlan`: only this VLAN of the port is attached; also pushed on egress.
    pub vlan: Option<u16>,
    /// `to_vm_port_number`: documented, unused by BaGPipe-BGP.
    pub to_vm_port_number: Option<u32>,
    /// `to_vm_port_name`: documented, unused by BaGPipe-BGP.
    pub to_vm_port_name: Option<String>,
}

/// `local_port.evpn` (reference §2.1): plug an existing E-VPN instance into this IP-VPN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvpnPlug {
    /// `id`: the `vpn_instance_id` of the E-VPN instance.
    pub id: String,
    /// `ovs_port_name`: an interface already plugged into the E-VPN; requires
    /// `local_port.ovs.plugged` and an OVS port name or number. Without it a veth pair is made.
    pub ovs_port_name: Option<String>,
}

fn vlan(obj: Obj<'_>, key: &str) -> Result<Option<u16>, ApiError> {
    obj.get_non_null(key)
        .map(|v| integer_or_decimal_string(v, &obj.field(key), 0, VLAN_MAX).map(|n| n as u16))
        .transpose()
}

fn port_number(obj: Obj<'_>, key: &str) -> Result<Option<u32>, ApiError> {
    obj.get_non_null(key)
        .map(|v| {
            integer_or_decimal_string(v, &obj.field(key), 0, u64::from(u32::MAX)).map(|n| n as u32)
        })
        .transpose()
}

fn ovs_port(v: &Value, field: &str) -> Result<OvsPort, ApiError> {
    let obj = object(v, field)?;
    Ok(OvsPort {
        plugged: obj
            .get_non_null("plugged")
            .map(|v| boolean(v, &obj.field("plugged")))
            .transpose()?,
        port_name: opt_string(obj, "port_name")?,
        port_number: port_number(obj, "port_number")?,
        vlan: vlan(obj, "vlan")?,
        to_vm_port_number: port_number(obj, "to_vm_port_number")?,
        to_vm_port_name: opt_string(obj, "to_vm_port_name")?,
    })
}

fn evpn_plug(v: &Value, field: &str) -> Result<EvpnPlug, ApiError> {
    let obj = object(v, field)?;
    let id = obj.required("id")?;
    Ok(EvpnPlug {
        id: string(id, &obj.field("id"))?.to_string(),
        ovs_port_name: opt_string(obj, "ovs_port_name")?,
    })
}

/// Parses `local_port`: a string (the interface name) or an object with `linuxif` or `evpn`
/// (reference §2.2 `validate_convert_params`: "Mandatory key is missing in local_port parameter
/// (linuxif, or evpn)").
pub(crate) fn parse(v: &Value) -> Result<LocalPort, ApiError> {
    const FIELD: &str = "local_port";
    let obj = match v {
        Value::String(s) => {
            return Ok(LocalPort {
                linuxif: Some(s.clone()),
                ..LocalPort::default()
            })
        }
        Value::Object(_) => object(v, FIELD)?,
        other => return Err(wrong_type(FIELD, "a string or an object", other)),
    };
    if obj.get_non_null("linuxif").is_none() && obj.get("evpn").is_none() {
        return Err(ApiError::new(FIELD, ApiProblem::LocalPortWithoutInterface));
    }
    let evpn_field = obj.field("evpn");
    let ovs_field = obj.field("ovs");
    Ok(LocalPort {
        linuxif: opt_string(obj, "linuxif")?,
        vlan: vlan(obj, "vlan")?,
        ovs: obj
            .get_non_null("ovs")
            .map(|v| ovs_port(v, &ovs_field))
            .transpose()?,
        evpn: obj
            .get("evpn")
            .map(|v| evpn_plug(v, &evpn_field))
            .transpose()?,
    })
}
