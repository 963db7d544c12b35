//! NLRI of every family a BGP VPN speaker uses: IPv4/IPv6 unicast (RFC 4271 §4.3, RFC 4760),
//! VPN-IPv4/VPN-IPv6 (RFC 4364 §4.3.4, RFC 4659), E-VPN (RFC 7432 §7, RFC 9136) and
//! RT-Constraint (RFC 4684 §4), each optionally preceded by an add-path identifier (RFC 7911 §3).
//! and FlowSpec (RFC 8955, RFC 8956), plain and for VPNs.

mod evpn;
mod flowspec;
mod prefix;
mod rtc;
mod vpn;

pub use evpn::{Esi, EvpnRoute};
pub use flowspec::{component, BitmaskOp, FlowComponent, FlowPrefix, FlowSpecRule, NumericOp};
pub use prefix::{IpPrefix, Ipv4Prefix, Ipv6Prefix};
pub use rtc::RtcMembership;
pub use vpn::VpnRoute;

use super::family::{Afi, Family, Safi};
use super::reader::{Reader, Truncated};
use core::fmt;

/// One route key, without its add-path identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nlri {
    /// IPv4 unicast (1/1).
    Ipv4Unicast(Ipv4Prefix),
    /// IPv6 unicast (2/1).
    Ipv6Unicast(Ipv6Prefix),
    /// VPN-IPv4 (1/128) or VPN-IPv6 (2/128).
    Vpn(VpnRoute),
    /// E-VPN (25/70).
    Evpn(EvpnRoute),
    /// Route target membership (1/132).
    Rtc(RtcMembership),
    /// Flow specification (1/133, 2/133) and FlowSpec-VPN (1/134, 2/134).
    FlowSpec(FlowSpecRule),
}

impl Nlri {
    /// The family this NLRI belongs to.
    pub fn family(&self) -> Family {
        match self {
            Nlri::Ipv4Unicast(_) => Family::IPV4_UNICAST,
            Nlri::Ipv6Unicast(_) => Family::IPV6_UNICAST,
            Nlri::Vpn(v) => match v.prefix {
                IpPrefix::V4(_) => Family::VPNV4,
                IpPrefix::V6(_) => Family::VPNV6,
            },
            Nlri::Evpn(_) => Family::EVPN,
            Nlri::Rtc(_) => Family::RTC,
            Nlri::FlowSpec(f) => match (f.ipv6, f.rd.is_some()) {
                (false, false) => Family::FLOWSPEC_V4,
                (true, false) => Family::FLOWSPEC_V6,
                (false, true) => Family::FLOWSPEC_VPNV4,
                (true, true) => Family::FLOWSPEC_VPNV6,
            },
        }
    }
}

/// An NLRI with the path identifier it carries when add-path is negotiated (RFC 7911 §3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PathNlri {
    /// The path identifier, when add-path is in force for the family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The route key.
    #[serde(flatten)]
    pub nlri: Nlri,
}

impl PathNlri {
    /// An NLRI without path identifier.
    pub fn new(nlri: Nlri) -> Self {
        PathNlri {
            path_id: None,
            nlri,
        }
    }
}

/// What is wrong with an NLRI field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NlriErrorKind {
    /// The field ended inside an NLRI.
    Truncated(#[serde(skip)] Truncated),
    /// A prefix length larger than the address.
    PrefixLengthTooLong {
        /// The length read.
        len: u8,
        /// The largest length of the family.
        max: u8,
    },
    /// A VPN NLRI length too short for its labels and route distinguisher (RFC 4364 §4.3.4).
    VpnLengthTooShort {
        /// The length read, in bits.
        len: u8,
    },
    /// More labels than any VPN route carries before the bottom of stack.
    TooManyLabels,
    /// An E-VPN route whose length does not fit its route type (RFC 7432 §7).
    EvpnLength {
        /// The route type.
        route_type: u8,
        /// The length read.
        len: u8,
    },
    /// A MAC address length other than 48 (RFC 7432 §7.2).
    MacLength(u8),
    /// An IP address length other than those the route type allows.
    IpLength(u8),
    /// An RT-Constraint prefix length of 1 to 31 or above 96 (RFC 4684 §4).
    RtcLength(u8),
    /// FlowSpec components out of increasing type order (RFC 8955 §4.2); the offending type.
    FlowSpecComponentOrder(u8),
    /// An unknown FlowSpec component type (RFC 8955 §4.2).
    FlowSpecComponentType(u8),
    /// A FlowSpec NLRI without components.
    FlowSpecEmpty,
    /// A family this decoder does not understand.
    UnsupportedFamily,
}

/// An NLRI field that cannot be parsed: RFC 7606 §5.3 calls for a session reset or AFI/SAFI
/// disable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NlriError {
    /// The family being decoded.
    pub family: Family,
    /// Offset of the failing NLRI within the field.
    pub offset: usize,
    /// What is wrong.
    pub kind: NlriErrorKind,
}

impl fmt::Display for NlriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed {} NLRI at offset {}: ",
            self.family, self.offset
        )?;
        match &self.kind {
            NlriErrorKind::Truncated(t) => write!(f, "{t}"),
            NlriErrorKind::PrefixLengthTooLong { len, max } => {
                write!(f, "prefix length {len} exceeds {max}")
            }
            NlriErrorKind::VpnLengthTooShort { len } => {
                write!(f, "VPN NLRI length {len} too short")
            }
            NlriErrorKind::TooManyLabels => f.write_str("label stack without bottom of stack"),
            NlriErrorKind::EvpnLength { route_type, len } => {
                write!(f, "E-VPN route type {route_type} with length {len}")
            }
            NlriErrorKind::MacLength(l) => write!(f, "MAC address length {l} (must be 48)"),
            NlriErrorKind::IpLength(l) => write!(f, "IP address length {l}"),
            NlriErrorKind::RtcLength(l) => write!(f, "RT-Constraint prefix length {l}"),
            NlriErrorKind::FlowSpecComponentOrder(t) => {
                write!(f, "FlowSpec component type {t} out of order")
            }
            NlriErrorKind::FlowSpecComponentType(t) => {
                write!(f, "unknown FlowSpec component type {t}")
            }
            NlriErrorKind::FlowSpecEmpty => f.write_str("FlowSpec NLRI without components"),
            NlriErrorKind::UnsupportedFamily => f.write_str("family not supported"),
        }
    }
}

impl std::error::Error for NlriError {}

/// Every family [`decode_nlri`] understands.
pub const DECODED_FAMILIES: [Family; 10] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::VPNV4,
    Family::VPNV6,
    Family::EVPN,
    Family::RTC,
    Family::FLOWSPEC_V4,
    Family::FLOWSPEC_V6,
    Family::FLOWSPEC_VPNV4,
    Family::FLOWSPEC_VPNV6,
];

/// Whether [`decode_nlri`] understands `family`.
pub fn is_supported(family: Family) -> bool {
    DECODED_FAMILIES.contains(&family)
}

/// Decodes a whole NLRI field (the UPDATE NLRI or withdrawn field, or the NLRI of an
/// MP_REACH_NLRI or MP_UNREACH_NLRI) of `family`, with path identifiers when `add_path`.
pub fn decode_nlri(
    family: Family,
    bytes: &[u8],
    add_path: bool,
) -> Result<Vec<PathNlri>, NlriError> {
    // The family is matched once, outside the per-route loop, so that each family's loop is
    // compiled with its route decoder inlined (no per-route dispatch, no intermediate copies).
    match (family.afi, family.safi) {
        (Afi::Ipv4, Safi::Unicast) => decode_all(family, bytes, add_path, |r| {
            let len = r.u8().map_err(NlriErrorKind::Truncated)?;
            match IpPrefix::read_address(r, len, false)? {
                IpPrefix::V4(p) => Ok(Nlri::Ipv4Unicast(p)),
                IpPrefix::V6(_) => Err(NlriErrorKind::UnsupportedFamily),
            }
        }),
        (Afi::Ipv6, Safi::Unicast) => decode_all(family, bytes, add_path, |r| {
            let len = r.u8().map_err(NlriErrorKind::Truncated)?;
            match IpPrefix::read_address(r, len, true)? {
                IpPrefix::V6(p) => Ok(Nlri::Ipv6Unicast(p)),
                IpPrefix::V4(_) => Err(NlriErrorKind::UnsupportedFamily),
            }
        }),
        (Afi::Ipv4, Safi::MplsVpn) => decode_all(family, bytes, add_path, |r| {
            VpnRoute::decode(r, false).map(Nlri::Vpn)
        }),
        (Afi::Ipv6, Safi::MplsVpn) => decode_all(family, bytes, add_path, |r| {
            VpnRoute::decode(r, true).map(Nlri::Vpn)
        }),
        (Afi::L2vpn, Safi::Evpn) => decode_all(family, bytes, add_path, |r| {
            EvpnRoute::decode(r).map(Nlri::Evpn)
        }),
        (Afi::Ipv4, Safi::RouteTargetConstraint) => decode_all(family, bytes, add_path, |r| {
            RtcMembership::decode(r).map(Nlri::Rtc)
        }),
        (afi @ (Afi::Ipv4 | Afi::Ipv6), safi @ (Safi::FlowSpec | Safi::FlowSpecVpn)) => {
            decode_all(family, bytes, add_path, |r| {
                FlowSpecRule::decode(r, afi == Afi::Ipv6, safi == Safi::FlowSpecVpn)
                    .map(Nlri::FlowSpec)
            })
        }
        _ => decode_all(family, bytes, add_path, |_| {
            Err(NlriErrorKind::UnsupportedFamily)
        }),
    }
}

/// The loop of [`decode_nlri`] for one family's route decoder.
#[inline(always)]
fn decode_all(
    family: Family,
    bytes: &[u8],
    add_path: bool,
    mut decode_one: impl FnMut(&mut Reader<'_>) -> Result<Nlri, NlriErrorKind>,
) -> Result<Vec<PathNlri>, NlriError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::with_capacity(count_routes(family, bytes, add_path));
    while !r.is_empty() {
        let offset = bytes.len() - r.remaining();
        let err = |kind| NlriError {
            family,
            offset,
            kind,
        };
        let path_id = if add_path {
            Some(r.u32().map_err(|t| err(NlriErrorKind::Truncated(t)))?)
        } else {
            None
        };
        let nlri = decode_one(&mut r).map_err(err)?;
        out.push(PathNlri { path_id, nlri });
    }
    Ok(out)
}

/// How many routes `bytes` holds, found by walking the length fields only, so that the route
/// list is allocated once. Stops at the first length that runs past the end (decoding then
/// reports the error); 0 for families whose length is not so simple (FlowSpec). Never more than
/// one route per octet, so the allocation is bounded by the input.
fn count_routes(family: Family, bytes: &[u8], add_path: bool) -> usize {
    let id = if add_path { 4 } else { 0 };
    let mut at = 0;
    let mut n = 0;
    while at < bytes.len() {
        let Some(&len) = bytes.get(at + id) else {
            break;
        };
        let route = match family.safi {
            // One length octet in bits (RFC 4271 §4.3, RFC 4364 §4.3.4, RFC 4684 §4).
            Safi::Unicast | Safi::MplsVpn | Safi::RouteTargetConstraint => {
                1 + usize::from(len).div_ceil(8)
            }
            // Route type, then one length octet in octets (RFC 7432 §7).
            Safi::Evpn => match bytes.get(at + id + 1) {
                Some(&len) => 2 + usize::from(len),
                None => break,
            },
            _ => return 0,
        };
        at += id + route;
        n += 1;
    }
    n
}

/// Appends the encoding of `entry` (its path identifier first, when it has one).
pub fn encode_nlri(entry: &PathNlri, out: &mut Vec<u8>) {
    if let Some(id) = entry.path_id {
        out.extend_from_slice(&id.to_be_bytes());
    }
    match &entry.nlri {
        Nlri::Ipv4Unicast(p) => {
            let p = IpPrefix::V4(*p);
            out.push(p.len());
            p.write_address(out);
        }
        Nlri::Ipv6Unicast(p) => {
            let p = IpPrefix::V6(*p);
            out.push(p.len());
            p.write_address(out);
        }
        Nlri::Vpn(v) => v.encode(out),
        Nlri::Evpn(e) => e.encode(out),
        Nlri::Rtc(m) => m.encode(out),
        Nlri::FlowSpec(f) => f.encode(out),
    }
}

/// Exactly the number of octets [`encode_nlri`] writes for `entry`.
pub fn encoded_len(entry: &PathNlri) -> usize {
    let id = if entry.path_id.is_some() { 4 } else { 0 };
    id + match &entry.nlri {
        Nlri::Ipv4Unicast(p) => 1 + IpPrefix::V4(*p).wire_octets(),
        Nlri::Ipv6Unicast(p) => 1 + IpPrefix::V6(*p).wire_octets(),
        Nlri::Vpn(v) => v.encoded_len(),
        Nlri::Evpn(e) => e.encoded_len(),
        Nlri::Rtc(m) => m.encoded_len(),
        Nlri::FlowSpec(f) => f.encoded_len(),
    }
}

#[cfg(test)]
mod tests;
