//! IP addresses and prefixes in the API (reference §3.2 `ip_address`, `gateway_ip`, §2.6
//! classifier prefixes). BaGPipe-BGP reads them with Python netaddr's `IPNetwork`, which takes
//! `a.b.c.d`, `a.b.c.d/len`, `a.b.c.d/netmask` and IPv6 `addr[/len]`, host bits allowed.

use super::error::{ApiError, ApiProblem};
use super::read::string;
use core::fmt;
use ipnetwork::IpNetwork;
use serde_json::Value;
use std::net::IpAddr;

/// An endpoint's address (reference §3.2 `ip_address`): an address with a prefix length, `/32`
/// (or `/128`) when none is given. The prefix length of an instance's first attachment is its
/// subnet length; `advertise_subnet` decides whether the route is for the host or the prefix
/// (reference §2.2 `vif_plugged` 2.).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EndpointIp {
    /// The address and prefix length, host bits kept (`10.0.0.5/24` stays `10.0.0.5/24`).
    pub prefix: IpNetwork,
    /// The text as given. BaGPipe-BGP keys endpoints by this exact string (reference §2.2
    /// "Endpoint model", §3.3 "Must use the same `ip_address` string as the attach"), so
    /// `10.0.0.5` and `10.0.0.5/32` are two endpoints there; kept for whoever needs that.
    pub text: String,
}

impl fmt::Debug for EndpointIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (given as {:?})", self.prefix, self.text)
    }
}

fn malformed(field: &str, text: &str) -> ApiError {
    ApiError::new(
        field,
        ApiProblem::MalformedIpAddress {
            value: text.to_string(),
        },
    )
}

/// An address with an optional `/len` or `/netmask`, as netaddr's `IPNetwork` reads it.
pub(crate) fn prefix(text: &str, field: &str) -> Result<IpNetwork, ApiError> {
    text.parse::<IpNetwork>()
        .map_err(|_| malformed(field, text))
}

/// `ip_address`: a string, address with or without a prefix length.
pub(crate) fn endpoint_ip(v: &Value, field: &str) -> Result<EndpointIp, ApiError> {
    let text = string(v, field)?;
    Ok(EndpointIp {
        prefix: prefix(text, field)?,
        text: text.to_string(),
    })
}

/// An address without a prefix length (`gateway_ip`, reference §3.2).
pub(crate) fn address(v: &Value, field: &str) -> Result<IpAddr, ApiError> {
    let text = string(v, field)?;
    text.parse::<IpAddr>().map_err(|_| malformed(field, text))
}
