//! `POST /detach_localport` (reference §3.3): unplug an endpoint from a VPN instance.

use super::address::EndpointIp;
use super::error::ApiError;
use super::local_port::LocalPort;
use super::read::Obj;
use super::{body, common, VpnInstanceId, VpnType};
use crate::wire::MacAddress;

/// A detach request (reference §3.3), validated. The fields are checked as for an attach
/// (`validate_convert_params`, reference §2.2): `advertise_subnet`, if given, must still be a
/// boolean; other attach fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachRequest {
    /// `vpn_type`: the instance's type.
    pub vpn_type: VpnType,
    /// `vpn_instance_id`: the instance's external id.
    pub vpn_instance_id: VpnInstanceId,
    /// `mac_address`: the endpoint's MAC.
    pub mac_address: MacAddress,
    /// `local_port`: as given at attach time; for an IP-VPN with `local_port.evpn`, the
    /// E-VPN↔IP-VPN link is torn down once unused (reference §3.3).
    pub local_port: LocalPort,
    /// `ip_address`: required for `ipvpn`; for `evpn`, `None` is the wildcard: every address of
    /// that MAC, then the MAC-only endpoint (reference §3.3, §2.2 `vif_unplugged`).
    pub ip_address: Option<EndpointIp>,
}

/// Parses and validates a detach request body (reference §3.3). Never panics.
pub fn parse_detach(bytes: &[u8]) -> Result<DetachRequest, ApiError> {
    let map = body(bytes)?;
    let common = common(Obj::root(&map), &[])?;
    Ok(DetachRequest {
        vpn_type: common.vpn_type,
        vpn_instance_id: common.vpn_instance_id,
        mac_address: common.mac_address,
        local_port: common.local_port,
        ip_address: common.ip_address,
    })
}
