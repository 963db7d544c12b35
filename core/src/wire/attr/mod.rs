//! Path attributes (RFC 4271 §4.3, §5) and the ones VPN routes carry: MP_REACH_NLRI and
//! MP_UNREACH_NLRI (RFC 4760), EXTENDED_COMMUNITIES (RFC 4360), AS4_PATH and AS4_AGGREGATOR
//! (RFC 6793), LARGE_COMMUNITIES (RFC 8092), PMSI_TUNNEL (RFC 6514 §5), TUNNEL_ENCAPSULATION
//! (RFC 9012), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456). Unknown attributes are kept with their
//! flags.
//!
//! [`decode_attribute`] classifies every malformation by the action RFC 7606 §7 asks for.

mod as_path;
mod mp;
mod tunnel_encap;

pub use as_path::{AsPath, AsPathSegment, SegmentKind};
pub use mp::{MpReach, MpUnreach, NextHop};
pub use tunnel_encap::{
    sub_tlv, Encapsulation, TunnelEncapsulation, TunnelEncapsulationError, TunnelSubTlv, TunnelTlv,
};

use super::context::DecodeContext;
use super::extcomm::{
    decode_extended_communities, encode_extended_communities, ExtendedCommunities,
    ExtendedCommunity,
};
use super::label::LabelStackEntry;
use super::nlri::NlriError;
use super::reader::Reader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional (vs well-known).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (2-octet length field).
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED_COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// PMSI_TUNNEL (RFC 6514).
    pub const PMSI_TUNNEL: u8 = 22;
    /// TUNNEL_ENCAPSULATION (RFC 9012).
    pub const TUNNEL_ENCAPSULATION: u8 = 23;
    /// LARGE_COMMUNITIES (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// 0: IGP.
    Igp,
    /// 1: EGP.
    Egp,
    /// 2: INCOMPLETE.
    Incomplete,
}

/// AGGREGATOR / AS4_AGGREGATOR (RFC 4271 §5.1.7, RFC 6793 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating router's identifier.
    pub address: Ipv4Addr,
}

/// PMSI_TUNNEL (RFC 6514 §5): how an E-VPN inclusive multicast route says BUM traffic reaches
/// its originator; BaGPipe-BGP sends Ingress Replication (type 6) with the VNI in the label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PmsiTunnel {
    /// Flags (bit 0: Leaf Information Required).
    pub flags: u8,
    /// Tunnel type (6: Ingress Replication).
    pub tunnel_type: u8,
    /// The label field: an MPLS label, or a VNI for VXLAN (RFC 8365 §5.1.3).
    pub label: LabelStackEntry,
    /// The tunnel identifier (for ingress replication, the endpoint's address).
    pub tunnel_id: Vec<u8>,
}

impl PmsiTunnel {
    /// Tunnel type Ingress Replication (RFC 6514 §5).
    pub const INGRESS_REPLICATION: u8 = 6;

    /// The ingress-replication endpoint, when this tunnel is one.
    pub fn ingress_replication_endpoint(&self) -> Option<IpAddr> {
        if self.tunnel_type != Self::INGRESS_REPLICATION {
            return None;
        }
        match self.tunnel_id.len() {
            4 => <[u8; 4]>::try_from(self.tunnel_id.as_slice())
                .ok()
                .map(|o| IpAddr::V4(o.into())),
            16 => <[u8; 16]>::try_from(self.tunnel_id.as_slice())
                .ok()
                .map(|o| IpAddr::V6(Ipv6Addr::from(o))),
            _ => None,
        }
    }
}

/// One path attribute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "attribute", content = "value", rename_all = "snake_case")]
pub enum PathAttribute {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH, with 2- or 4-octet ASNs per the session.
    AsPath(AsPath),
    /// NEXT_HOP (IPv4 unicast).
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC.
    Med(u32),
    /// LOCAL_PREF.
    LocalPref(u32),
    /// ATOMIC_AGGREGATE.
    AtomicAggregate,
    /// AGGREGATOR.
    Aggregator(Aggregator),
    /// COMMUNITIES (RFC 1997).
    Communities(Vec<u32>),
    /// ORIGINATOR_ID (RFC 4456).
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST (RFC 4456).
    ClusterList(Vec<Ipv4Addr>),
    /// MP_REACH_NLRI (RFC 4760 §3).
    MpReach(MpReach),
    /// MP_UNREACH_NLRI (RFC 4760 §4).
    MpUnreach(MpUnreach),
    /// EXTENDED_COMMUNITIES (RFC 4360).
    ExtendedCommunities(ExtendedCommunities),
    /// AS4_PATH (RFC 6793).
    As4Path(AsPath),
    /// AS4_AGGREGATOR (RFC 6793).
    As4Aggregator(Aggregator),
    /// PMSI_TUNNEL (RFC 6514).
    PmsiTunnel(PmsiTunnel),
    /// LARGE_COMMUNITIES (RFC 8092): (global administrator, local data 1, local data 2).
    LargeCommunities(Vec<[u32; 3]>),
    /// TUNNEL_ENCAPSULATION (RFC 9012).
    TunnelEncapsulation(TunnelEncapsulation),
    /// Any other attribute, kept with its flags.
    Unknown {
        /// The flags as received (extended-length bit excluded: it is chosen on encoding).
        flags: u8,
        /// The type code.
        code: u8,
        /// The value.
        value: Vec<u8>,
    },
}

impl PathAttribute {
    /// The type code.
    pub fn code(&self) -> u8 {
        match self {
            PathAttribute::Origin(_) => code::ORIGIN,
            PathAttribute::AsPath(_) => code::AS_PATH,
            PathAttribute::NextHop(_) => code::NEXT_HOP,
            PathAttribute::Med(_) => code::MED,
            PathAttribute::LocalPref(_) => code::LOCAL_PREF,
            PathAttribute::AtomicAggregate => code::ATOMIC_AGGREGATE,
            PathAttribute::Aggregator(_) => code::AGGREGATOR,
            PathAttribute::Communities(_) => code::COMMUNITIES,
            PathAttribute::OriginatorId(_) => code::ORIGINATOR_ID,
            PathAttribute::ClusterList(_) => code::CLUSTER_LIST,
            PathAttribute::MpReach(_) => code::MP_REACH_NLRI,
            PathAttribute::MpUnreach(_) => code::MP_UNREACH_NLRI,
            PathAttribute::ExtendedCommunities(_) => code::EXTENDED_COMMUNITIES,
            PathAttribute::As4Path(_) => code::AS4_PATH,
            PathAttribute::As4Aggregator(_) => code::AS4_AGGREGATOR,
            PathAttribute::PmsiTunnel(_) => code::PMSI_TUNNEL,
            PathAttribute::LargeCommunities(_) => code::LARGE_COMMUNITIES,
            PathAttribute::TunnelEncapsulation(_) => code::TUNNEL_ENCAPSULATION,
            PathAttribute::Unknown { code, .. } => *code,
        }
    }

    /// The flags this attribute is sent with (RFC 4271 §4.3; extended length added on encoding).
    pub fn flags(&self) -> u8 {
        use flags::{OPTIONAL, TRANSITIVE};
        match self {
            PathAttribute::Origin(_)
            | PathAttribute::AsPath(_)
            | PathAttribute::NextHop(_)
            | PathAttribute::LocalPref(_)
            | PathAttribute::AtomicAggregate => TRANSITIVE,
            PathAttribute::Med(_)
            | PathAttribute::OriginatorId(_)
            | PathAttribute::ClusterList(_)
            | PathAttribute::MpReach(_)
            | PathAttribute::MpUnreach(_) => OPTIONAL,
            PathAttribute::Aggregator(_)
            | PathAttribute::Communities(_)
            | PathAttribute::ExtendedCommunities(_)
            | PathAttribute::As4Path(_)
            | PathAttribute::As4Aggregator(_)
            | PathAttribute::PmsiTunnel(_)
            | PathAttribute::LargeCommunities(_)
            | PathAttribute::TunnelEncapsulation(_) => OPTIONAL | TRANSITIVE,
            PathAttribute::Unknown { flags, .. } => *flags & !flags::EXTENDED_LENGTH,
        }
    }

    /// Writes the value (without flags, code and length).
    fn write_value(&self, ctx: &DecodeContext, out: &mut Vec<u8>) {
        match self {
            PathAttribute::Origin(o) => out.push(match o {
                Origin::Igp => 0,
                Origin::Egp => 1,
                Origin::Incomplete => 2,
            }),
            PathAttribute::AsPath(p) => p.encode(ctx.four_octet_as, out),
            PathAttribute::As4Path(p) => p.encode(true, out),
            PathAttribute::NextHop(a) | PathAttribute::OriginatorId(a) => {
                out.extend_from_slice(&a.octets())
            }
            PathAttribute::Med(v) | PathAttribute::LocalPref(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            PathAttribute::AtomicAggregate => {}
            PathAttribute::Aggregator(a) => {
                if ctx.four_octet_as {
                    out.extend_from_slice(&a.asn.to_be_bytes());
                } else {
                    out.extend_from_slice(
                        &u16::try_from(a.asn)
                            .unwrap_or(as_path::AS_TRANS)
                            .to_be_bytes(),
                    );
                }
                out.extend_from_slice(&a.address.octets());
            }
            PathAttribute::As4Aggregator(a) => {
                out.extend_from_slice(&a.asn.to_be_bytes());
                out.extend_from_slice(&a.address.octets());
            }
            PathAttribute::Communities(list) => list
                .iter()
                .for_each(|c| out.extend_from_slice(&c.to_be_bytes())),
            PathAttribute::ClusterList(list) => {
                list.iter().for_each(|c| out.extend_from_slice(&c.octets()))
            }
            PathAttribute::MpReach(m) => m.encode(out),
            PathAttribute::MpUnreach(m) => m.encode(out),
            PathAttribute::ExtendedCommunities(list) => encode_extended_communities(list, out),
            PathAttribute::PmsiTunnel(p) => {
                out.push(p.flags);
                out.push(p.tunnel_type);
                out.extend_from_slice(&p.label.to_bytes());
                out.extend_from_slice(&p.tunnel_id);
            }
            PathAttribute::LargeCommunities(list) => {
                for c in list {
                    c.iter()
                        .for_each(|v| out.extend_from_slice(&v.to_be_bytes()));
                }
            }
            PathAttribute::TunnelEncapsulation(t) => t.encode(out),
            PathAttribute::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }

    /// Appends the whole attribute: flags, type code, length (extended when over 255), value.
    ///
    /// The value is written in place behind a one-octet length, which is widened afterwards in
    /// the rare case the value is longer than 255 octets: no scratch buffer per attribute.
    pub fn encode(&self, ctx: &DecodeContext, out: &mut Vec<u8>) {
        let flags = self.flags();
        let start = out.len();
        out.extend_from_slice(&[flags, self.code(), 0]);
        self.write_value(ctx, out);
        let len = out.len() - start - 3;
        match u8::try_from(len) {
            Ok(short) => {
                if let Some(b) = out.get_mut(start + 2) {
                    *b = short;
                }
            }
            Err(_) => {
                let long = u16::try_from(len).unwrap_or(u16::MAX);
                if let Some(b) = out.get_mut(start) {
                    *b = flags | flags::EXTENDED_LENGTH;
                }
                out.splice(start + 2..start + 3, long.to_be_bytes());
            }
        }
    }

    /// The attribute as re-advertised to another peer: an unrecognised optional transitive
    /// attribute gets the Partial bit (RFC 4271 §5).
    pub fn for_readvertisement(&self) -> Self {
        match self {
            PathAttribute::Unknown {
                flags: f,
                code,
                value,
            } if f & flags::OPTIONAL != 0 && f & flags::TRANSITIVE != 0 => PathAttribute::Unknown {
                flags: f | flags::PARTIAL,
                code: *code,
                value: value.clone(),
            },
            other => other.clone(),
        }
    }
}

/// What RFC 7606 §7 (and RFC 6793 §6, RFC 4271 §6.3) asks for when an attribute is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeAction {
    /// Drop the attribute, keep the routes (RFC 7606 §2 "attribute discard").
    Discard,
    /// Withdraw the UPDATE's routes (RFC 7606 §2 "treat-as-withdraw").
    TreatAsWithdraw,
    /// Reset the session with a NOTIFICATION (RFC 4271 §6.3; RFC 7606 §3(j), §7.11).
    SessionReset,
}

/// A malformed attribute and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttributeError {
    /// The attribute's type code.
    pub code: u8,
    /// What to do.
    pub action: AttributeAction,
    /// The UPDATE error subcode a NOTIFICATION would carry (RFC 4271 §6.3).
    pub subcode: u8,
    /// Why, for logs.
    pub reason: String,
    /// The NLRI error, when the attribute's NLRI could not be parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nlri: Option<NlriError>,
}

/// Decodes one attribute's value. `flags` and `code` are as received.
pub fn decode_attribute(
    flags: u8,
    code: u8,
    value: &[u8],
    ctx: &DecodeContext,
) -> Result<PathAttribute, AttributeError> {
    use crate::wire::error::update_subcode as sub;
    use AttributeAction::{Discard, SessionReset, TreatAsWithdraw};
    // RFC 7606 §7: some attributes are withdrawn from iBGP peers but discarded from eBGP ones.
    let ibgp_taw = if ctx.ibgp { TreatAsWithdraw } else { Discard };
    let err = |action, subcode, reason: String| AttributeError {
        code,
        action,
        subcode,
        reason,
        nlri: None,
    };
    let len_err = |action, expected: &str| {
        err(
            action,
            sub::ATTRIBUTE_LENGTH_ERROR,
            format!("length {} (expected {expected})", value.len()),
        )
    };
    // RFC 7606 §3(j), §7.11: a malformed MP attribute resets the session.
    let mp_err = |(reason, nlri): (String, Option<NlriError>)| AttributeError {
        code,
        action: SessionReset,
        subcode: sub::OPTIONAL_ATTRIBUTE_ERROR,
        reason,
        nlri,
    };
    let ipv4 = |v: &[u8]| <[u8; 4]>::try_from(v).map(Ipv4Addr::from);
    let mut r = Reader::new(value);
    match code {
        code::ORIGIN => match value {
            [0] => Ok(PathAttribute::Origin(Origin::Igp)),
            [1] => Ok(PathAttribute::Origin(Origin::Egp)),
            [2] => Ok(PathAttribute::Origin(Origin::Incomplete)),
            [v] => Err(err(
                TreatAsWithdraw,
                sub::INVALID_ORIGIN_ATTRIBUTE,
                format!("ORIGIN value {v}"),
            )),
            _ => Err(len_err(TreatAsWithdraw, "1")),
        },
        code::AS_PATH => AsPath::decode(value, ctx.four_octet_as)
            .map(PathAttribute::AsPath)
            .map_err(|why| err(TreatAsWithdraw, sub::MALFORMED_AS_PATH, why)),
        code::AS4_PATH => AsPath::decode(value, true)
            .map(PathAttribute::As4Path)
            .map_err(|why| err(Discard, sub::OPTIONAL_ATTRIBUTE_ERROR, why)),
        code::NEXT_HOP => ipv4(value)
            .map(PathAttribute::NextHop)
            .map_err(|_| len_err(TreatAsWithdraw, "4")),
        code::MED => r
            .u32()
            .ok()
            .filter(|_| value.len() == 4)
            .map(PathAttribute::Med)
            .ok_or_else(|| len_err(TreatAsWithdraw, "4")),
        code::LOCAL_PREF => r
            .u32()
            .ok()
            .filter(|_| value.len() == 4)
            .map(PathAttribute::LocalPref)
            .ok_or_else(|| len_err(ibgp_taw, "4")),
        code::ATOMIC_AGGREGATE if value.is_empty() => Ok(PathAttribute::AtomicAggregate),
        code::ATOMIC_AGGREGATE => Err(len_err(Discard, "0")),
        code::AGGREGATOR | code::AS4_AGGREGATOR => {
            let wide = code == code::AS4_AGGREGATOR || ctx.four_octet_as;
            let expected = if wide { 8 } else { 6 };
            if value.len() != expected {
                return Err(len_err(Discard, if wide { "8" } else { "6" }));
            }
            let asn = if wide {
                r.u32()
            } else {
                r.u16().map(u32::from)
            };
            let address = r.array::<4>().map(Ipv4Addr::from);
            match (asn, address) {
                (Ok(asn), Ok(address)) if code == code::AGGREGATOR => {
                    Ok(PathAttribute::Aggregator(Aggregator { asn, address }))
                }
                (Ok(asn), Ok(address)) => {
                    Ok(PathAttribute::As4Aggregator(Aggregator { asn, address }))
                }
                _ => Err(len_err(Discard, "6 or 8")),
            }
        }
        code::COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(4) => {
            Ok(PathAttribute::Communities(
                value
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ))
        }
        code::COMMUNITIES => Err(len_err(TreatAsWithdraw, "a non-zero multiple of 4")),
        code::ORIGINATOR_ID => ipv4(value)
            .map(PathAttribute::OriginatorId)
            .map_err(|_| len_err(ibgp_taw, "4")),
        code::CLUSTER_LIST if !value.is_empty() && value.len().is_multiple_of(4) => {
            Ok(PathAttribute::ClusterList(
                value
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect(),
            ))
        }
        code::CLUSTER_LIST => Err(len_err(ibgp_taw, "a non-zero multiple of 4")),
        code::MP_REACH_NLRI => MpReach::decode(value, ctx)
            .map(PathAttribute::MpReach)
            .map_err(mp_err),
        code::MP_UNREACH_NLRI => MpUnreach::decode(value, ctx)
            .map(PathAttribute::MpUnreach)
            .map_err(mp_err),
        code::EXTENDED_COMMUNITIES => decode_extended_communities(value)
            .map(PathAttribute::ExtendedCommunities)
            .map_err(|_| len_err(TreatAsWithdraw, "a multiple of 8")),
        code::LARGE_COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(12) => {
            Ok(PathAttribute::LargeCommunities(
                value
                    .chunks_exact(12)
                    .map(|c| {
                        let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                        [w(0), w(4), w(8)]
                    })
                    .collect(),
            ))
        }
        code::LARGE_COMMUNITIES => Err(len_err(TreatAsWithdraw, "a non-zero multiple of 12")),
        code::PMSI_TUNNEL => {
            let head = (r.u8(), r.u8(), r.u24());
            match head {
                (Ok(pmsi_flags), Ok(tunnel_type), Ok(label)) => {
                    Ok(PathAttribute::PmsiTunnel(PmsiTunnel {
                        flags: pmsi_flags,
                        tunnel_type,
                        label: LabelStackEntry::from_raw(label),
                        tunnel_id: r.take_rest().to_vec(),
                    }))
                }
                _ => Err(len_err(TreatAsWithdraw, "at least 5")),
            }
        }
        // RFC 9012 §13: a TUNNEL_ENCAPSULATION without the transitive bit, or without any valid
        // Tunnel TLV, is discarded.
        code::TUNNEL_ENCAPSULATION if flags & flags::TRANSITIVE == 0 => Err(err(
            Discard,
            sub::OPTIONAL_ATTRIBUTE_ERROR,
            "TUNNEL_ENCAPSULATION without the transitive bit".into(),
        )),
        code::TUNNEL_ENCAPSULATION => TunnelEncapsulation::decode(value)
            .map(PathAttribute::TunnelEncapsulation)
            .map_err(|e| {
                err(
                    Discard,
                    sub::OPTIONAL_ATTRIBUTE_ERROR,
                    format!("TUNNEL_ENCAPSULATION: {e}"),
                )
            }),
        _ => Ok(PathAttribute::Unknown {
            flags: flags & !flags::EXTENDED_LENGTH,
            code,
            value: value.to_vec(),
        }),
    }
}

/// Where an attribute of type `code` goes in the canonical order: MP_REACH_NLRI, MP_UNREACH_NLRI,
/// then by type code (RFC 7606 §5.1).
fn canonical_rank(code: u8) -> (u8, u8) {
    match code {
        code::MP_REACH_NLRI => (0, 0),
        code::MP_UNREACH_NLRI => (0, 1),
        c => (1, c),
    }
}

/// The attributes of an UPDATE, in the order received (or to be sent).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct PathAttributes {
    /// The attributes.
    pub list: Vec<PathAttribute>,
}

impl PathAttributes {
    /// The first attribute with `code`.
    pub fn get(&self, code: u8) -> Option<&PathAttribute> {
        self.list.iter().find(|a| a.code() == code)
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::Origin(o) => Some(*o),
            _ => None,
        })
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::LocalPref(v) => Some(*v),
            _ => None,
        })
    }

    /// All extended communities.
    pub fn extended_communities(&self) -> &[ExtendedCommunity] {
        self.list
            .iter()
            .find_map(|a| match a {
                PathAttribute::ExtendedCommunities(l) => Some(l.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// The MP_REACH_NLRI attribute.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::MpReach(m) => Some(m),
            _ => None,
        })
    }

    /// The MP_UNREACH_NLRI attribute.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::MpUnreach(m) => Some(m),
            _ => None,
        })
    }

    /// The PMSI_TUNNEL attribute.
    pub fn pmsi_tunnel(&self) -> Option<&PmsiTunnel> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::PmsiTunnel(p) => Some(p),
            _ => None,
        })
    }

    /// The TUNNEL_ENCAPSULATION attribute (RFC 9012).
    pub fn tunnel_encapsulation(&self) -> Option<&TunnelEncapsulation> {
        self.list.iter().find_map(|a| match a {
            PathAttribute::TunnelEncapsulation(t) => Some(t),
            _ => None,
        })
    }

    /// The attributes in the order they are encoded: MP_REACH_NLRI and MP_UNREACH_NLRI first
    /// (RFC 7606 §5.1), then by type code. Two attribute lists that differ only in the order a
    /// peer sent them in have the same canonical order.
    pub fn canonical_order(&self) -> Vec<&PathAttribute> {
        let mut order: Vec<&PathAttribute> = self.list.iter().collect();
        order.sort_by_key(|a| canonical_rank(a.code()));
        order
    }

    /// Encodes every attribute in [`PathAttributes::canonical_order`].
    pub fn encode(&self, ctx: &DecodeContext, out: &mut Vec<u8>) {
        // Lists we build, and most we receive, are in canonical order already: then no sorted
        // copy is needed.
        if self.list.is_sorted_by_key(|a| canonical_rank(a.code())) {
            self.list.iter().for_each(|a| a.encode(ctx, out));
        } else {
            self.canonical_order()
                .into_iter()
                .for_each(|a| a.encode(ctx, out));
        }
    }
}

#[cfg(test)]
mod tests;
