//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) with the next hops of the VPN families
//! (RFC 4364 §4.3.2, RFC 4659 §3.2.1, RFC 7432 §7, RFC 4684 §4).

use crate::wire::context::DecodeContext;
use crate::wire::family::{Family, Safi};
use crate::wire::nlri::{decode_nlri, encode_nlri, is_supported, NlriError, PathNlri};
use crate::wire::rd::RouteDistinguisher;
use crate::wire::reader::Reader;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The next hop of an MP_REACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextHop {
    /// No next hop (length 0, as FlowSpec sends).
    None,
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 global address and optional link-local address (RFC 2545 §3).
    Ipv6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
    /// A VPN-IPv4 next hop: an RD (zero) and an IPv4 address (RFC 4364 §4.3.2).
    VpnIpv4 {
        /// The route distinguisher (zero in practice).
        rd: RouteDistinguisher,
        /// The address.
        addr: Ipv4Addr,
    },
    /// A VPN-IPv6 next hop (RFC 4659 §3.2.1), optionally with a link-local address.
    VpnIpv6 {
        /// The route distinguisher (zero in practice), used for both addresses.
        rd: RouteDistinguisher,
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
    /// Any other form, as received.
    Raw(Vec<u8>),
}

impl NextHop {
    fn decode(bytes: &[u8], vpn: bool) -> NextHop {
        let v4 = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from);
        let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
        let rd = |b: &[u8]| {
            <[u8; 8]>::try_from(b)
                .ok()
                .map(RouteDistinguisher::from_bytes)
        };
        let parsed = match (vpn, bytes.len()) {
            (_, 0) => Some(NextHop::None),
            (false, 4) => v4(bytes).map(NextHop::Ipv4),
            (false, 16) => v6(bytes).map(|global| NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            (false, 32) => {
                v6(&bytes[..16])
                    .zip(v6(&bytes[16..]))
                    .map(|(global, ll)| NextHop::Ipv6 {
                        global,
                        link_local: Some(ll),
                    })
            }
            (true, 12) => rd(&bytes[..8])
                .zip(v4(&bytes[8..]))
                .map(|(rd, addr)| NextHop::VpnIpv4 { rd, addr }),
            (true, 24) => {
                rd(&bytes[..8])
                    .zip(v6(&bytes[8..]))
                    .map(|(rd, global)| NextHop::VpnIpv6 {
                        rd,
                        global,
                        link_local: None,
                    })
            }
            (true, 48) if bytes[..8] == bytes[24..32] => rd(&bytes[..8])
                .zip(v6(&bytes[8..24]))
                .zip(v6(&bytes[32..]))
                .map(|((rd, global), ll)| NextHop::VpnIpv6 {
                    rd,
                    global,
                    link_local: Some(ll),
                }),
            _ => None,
        };
        parsed.unwrap_or_else(|| NextHop::Raw(bytes.to_vec()))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            NextHop::None => {}
            NextHop::Ipv4(a) => out.extend_from_slice(&a.octets()),
            NextHop::Ipv6 { global, link_local } => {
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&ll.octets());
                }
            }
            NextHop::VpnIpv4 { rd, addr } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&addr.octets());
            }
            NextHop::VpnIpv6 {
                rd,
                global,
                link_local,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&rd.to_bytes());
                    out.extend_from_slice(&ll.octets());
                }
            }
            NextHop::Raw(b) => out.extend_from_slice(b),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            NextHop::None => 0,
            NextHop::Ipv4(_) => 4,
            NextHop::Ipv6 { link_local, .. } => 16 + link_local.map_or(0, |_| 16),
            NextHop::VpnIpv4 { .. } => 12,
            NextHop::VpnIpv6 { link_local, .. } => 24 + link_local.map_or(0, |_| 24),
            NextHop::Raw(b) => b.len(),
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MpReach {
    /// The family.
    pub family: Family,
    /// The next hop.
    pub next_hop: NextHop,
    /// The routes, for a family this speaker decodes and negotiated.
    pub nlri: Vec<PathNlri>,
    /// The NLRI octets of a family not decoded or not negotiated, kept as received.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecoded_nlri: Vec<u8>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MpUnreach {
    /// The family.
    pub family: Family,
    /// The withdrawn routes, for a family this speaker decodes and negotiated.
    pub withdrawn: Vec<PathNlri>,
    /// The NLRI octets of a family not decoded or not negotiated, kept as received.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecoded_nlri: Vec<u8>,
}

/// Whether the NLRI of `family` are decoded on this session: a family that was not negotiated
/// is logged and ignored, never a reason to reset (peer-bug-history row 14).
fn decodes(family: Family, ctx: &DecodeContext) -> bool {
    is_supported(family) && ctx.families.contains(&family)
}

type MpError = (String, Option<NlriError>);

fn nlri_field(
    family: Family,
    bytes: &[u8],
    ctx: &DecodeContext,
    decoded: bool,
) -> Result<(Vec<PathNlri>, Vec<u8>), MpError> {
    if decoded {
        decode_nlri(family, bytes, ctx.has_add_path(family))
            .map(|l| (l, Vec::new()))
            .map_err(|e| (e.to_string(), Some(e)))
    } else {
        Ok((Vec::new(), bytes.to_vec()))
    }
}

impl MpReach {
    pub(super) fn decode(value: &[u8], ctx: &DecodeContext) -> Result<Self, MpError> {
        let mut r = Reader::new(value);
        let short = |_| ("MP_REACH_NLRI too short".to_string(), None);
        let family = Family::from_wire(r.u16().map_err(short)?, r.u8().map_err(short)?);
        let nh_len = r.u8().map_err(short)?;
        let nh = r.take(usize::from(nh_len)).map_err(short)?;
        let _reserved = r.u8().map_err(short)?;
        let next_hop = NextHop::decode(nh, family.safi == Safi::MplsVpn);
        let decoded = decodes(family, ctx);
        // RFC 7606 §7.11: a next-hop length that does not fit the family is a reset.
        if decoded && matches!(next_hop, NextHop::Raw(_)) {
            return Err((
                format!("next hop length {nh_len} is invalid for {family}"),
                None,
            ));
        }
        let (nlri, undecoded_nlri) = nlri_field(family, r.rest(), ctx, decoded)?;
        Ok(MpReach {
            family,
            next_hop,
            nlri,
            undecoded_nlri,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.to_u16().to_be_bytes());
        out.push(self.family.safi.to_u8());
        out.push(u8::try_from(self.next_hop.encoded_len()).unwrap_or(u8::MAX));
        self.next_hop.encode(out);
        out.push(0);
        self.nlri.iter().for_each(|n| encode_nlri(n, out));
        out.extend_from_slice(&self.undecoded_nlri);
    }
}

impl MpUnreach {
    pub(super) fn decode(value: &[u8], ctx: &DecodeContext) -> Result<Self, MpError> {
        let mut r = Reader::new(value);
        let short = |_| ("MP_UNREACH_NLRI too short".to_string(), None);
        let family = Family::from_wire(r.u16().map_err(short)?, r.u8().map_err(short)?);
        let (withdrawn, undecoded_nlri) = nlri_field(family, r.rest(), ctx, decodes(family, ctx))?;
        Ok(MpUnreach {
            family,
            withdrawn,
            undecoded_nlri,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.to_u16().to_be_bytes());
        out.push(self.family.safi.to_u8());
        self.withdrawn.iter().for_each(|n| encode_nlri(n, out));
        out.extend_from_slice(&self.undecoded_nlri);
    }
}
