//! TUNNEL_ENCAPSULATION (RFC 9012): a list of Tunnel TLVs, each a tunnel type and a list of
//! sub-TLVs (encapsulation, remote endpoint, color, ...).
//!
//! Decoding keeps every octet: a sub-TLV of a type we do not implement is kept as
//! [`TunnelSubTlv::Unknown`], one whose value does not parse for its type (or would not re-encode
//! to the same octets, e.g. non-zero reserved bits) as [`TunnelSubTlv::Malformed`], and a Tunnel
//! TLV whose sub-TLVs do not exactly fill it as [`TunnelTlv::Malformed`]. RFC 9012 §13 says such a
//! TLV is disregarded but does not make the attribute malformed; the attribute itself is
//! malformed (RFC 7606 "attribute discard") when it has no valid TLV, when a TLV runs past its
//! end, or when it is not transitive.

use crate::wire::extcomm::TunnelType;
use crate::wire::label::Vni;
use crate::wire::mac::MacAddress;
use crate::wire::reader::Reader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Sub-TLV type codes (IANA "BGP Tunnel Encapsulation Attribute Sub-TLVs", RFC 9012 §3).
pub mod sub_tlv {
    /// Encapsulation (RFC 9012 §3.2).
    pub const ENCAPSULATION: u8 = 1;
    /// Protocol Type (RFC 9012 §3.4.1).
    pub const PROTOCOL_TYPE: u8 = 2;
    /// Color (RFC 9012 §3.4.2).
    pub const COLOR: u8 = 4;
    /// Tunnel Egress Endpoint (RFC 9012 §3.1).
    pub const TUNNEL_EGRESS_ENDPOINT: u8 = 6;
    /// DS Field (RFC 9012 §3.3.1).
    pub const DS_FIELD: u8 = 7;
    /// UDP Destination Port (RFC 9012 §3.3.2).
    pub const UDP_DESTINATION_PORT: u8 = 8;
    /// Embedded Label Handling (RFC 9012 §3.5).
    pub const EMBEDDED_LABEL_HANDLING: u8 = 9;
    /// MPLS Label Stack (RFC 9012 §3.6).
    pub const MPLS_LABEL_STACK: u8 = 10;
    /// Types from this one up have a 2-octet length field (RFC 9012 §2).
    pub const FIRST_LONG: u8 = 128;
}

/// The value of a TUNNEL_ENCAPSULATION attribute (RFC 9012 §2): its Tunnel TLVs in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TunnelEncapsulation {
    /// The Tunnel TLVs.
    pub tunnels: Vec<TunnelTlv>,
}

/// One Tunnel TLV (RFC 9012 §2): tunnel type (2 octets), length (2 octets), sub-TLVs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "tlv", rename_all = "snake_case")]
pub enum TunnelTlv {
    /// A well-formed TLV (its tunnel type may still be one we do not know).
    Tunnel {
        /// The tunnel type.
        tunnel_type: TunnelType,
        /// The sub-TLVs, in order.
        sub_tlvs: Vec<TunnelSubTlv>,
    },
    /// A TLV whose sub-TLVs do not exactly fill it: disregarded (RFC 9012 §13), kept as received.
    Malformed {
        /// The tunnel type.
        tunnel_type: TunnelType,
        /// The TLV's value.
        value: Vec<u8>,
    },
}

/// One sub-TLV of a Tunnel TLV (RFC 9012 §3): type (1 octet), length (1 octet for types below
/// 128, 2 octets from 128 up), value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TunnelSubTlv {
    /// 1: Encapsulation, whose layout depends on the tunnel type (RFC 9012 §3.2).
    Encapsulation {
        /// The encapsulation fields.
        encapsulation: Encapsulation,
    },
    /// 2: Protocol Type, the Ethertype of the payload (RFC 9012 §3.4.1).
    ProtocolType {
        /// The Ethertype.
        ethertype: u16,
    },
    /// 4: Color, a Color extended community (RFC 9012 §3.4.2, §4.3).
    Color {
        /// The community's flags octets.
        flags: u16,
        /// The color value.
        color: u32,
    },
    /// 6: Tunnel Egress Endpoint, the remote end of the tunnel (RFC 9012 §3.1); `None` for
    /// address family 0, which means the next hop of the route.
    RemoteEndpoint {
        /// The endpoint address.
        address: Option<IpAddr>,
    },
    /// 7: DS Field, the DSCP octet of the outer header (RFC 9012 §3.3.1).
    DsField {
        /// The DS octet.
        value: u8,
    },
    /// 8: UDP Destination Port of the outer header (RFC 9012 §3.3.2).
    UdpDestinationPort {
        /// The port.
        port: u16,
    },
    /// 9: Embedded Label Handling (RFC 9012 §3.5): 1 payload, 2 tunnel header.
    EmbeddedLabelHandling {
        /// The value.
        value: u8,
    },
    /// 10: MPLS Label Stack to push (RFC 9012 §3.6): 4-octet label stack entries (label, TC,
    /// S, TTL), kept whole so that they re-encode exactly.
    MplsLabelStack {
        /// The label stack entries.
        entries: Vec<u32>,
    },
    /// A sub-TLV type we do not implement, kept as received (RFC 9012 §13: ignored, propagated).
    Unknown {
        /// The sub-TLV type.
        code: u8,
        /// The value.
        value: Vec<u8>,
    },
    /// A sub-TLV we implement whose value does not parse for its type or has non-zero reserved
    /// bits, kept as received.
    Malformed {
        /// The sub-TLV type.
        code: u8,
        /// The value.
        value: Vec<u8>,
    },
}

/// The value of an Encapsulation sub-TLV, by tunnel type (RFC 9012 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Encapsulation {
    /// VXLAN (tunnel type 8, RFC 9012 §3.2.1): V and M flags, VN-ID, MAC, 2 reserved octets.
    Vxlan {
        /// The VN-ID, when the V bit is set.
        vni: Option<Vni>,
        /// The inner destination MAC, when the M bit is set.
        mac: Option<MacAddress>,
    },
    /// NVGRE (tunnel type 9, RFC 9012 §3.2.2): V and M flags, VSID, MAC, 2 reserved octets.
    Nvgre {
        /// The 24-bit Virtual Subnet ID, when the V bit is set.
        vsid: Option<u32>,
        /// The inner destination MAC, when the M bit is set.
        mac: Option<MacAddress>,
    },
    /// GRE (tunnel type 2) and MPLS-in-GRE (tunnel type 11): the GRE key (RFC 9012 §3.2).
    GreKey {
        /// The GRE key.
        key: u32,
    },
    /// Any other tunnel type's encapsulation, as received.
    Raw {
        /// The value.
        value: Vec<u8>,
    },
}

/// Why a TUNNEL_ENCAPSULATION attribute is malformed; RFC 9012 §13 asks for attribute discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelEncapsulationError {
    /// A Tunnel TLV header or value runs past the end of the attribute.
    Truncated,
    /// No Tunnel TLV is valid (RFC 9012 §13).
    NoValidTlv,
}

impl core::fmt::Display for TunnelEncapsulationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TunnelEncapsulationError::Truncated => "a Tunnel TLV runs past the attribute",
            TunnelEncapsulationError::NoValidTlv => "no valid Tunnel TLV",
        })
    }
}

/// V bit of the VXLAN and NVGRE encapsulation sub-TLVs (RFC 9012 §3.2.1, §3.2.2).
const FLAG_V: u8 = 0x80;
/// M bit of the VXLAN and NVGRE encapsulation sub-TLVs.
const FLAG_M: u8 = 0x40;

impl TunnelEncapsulation {
    /// Decodes an attribute value (RFC 9012 §2, §13).
    pub fn decode(value: &[u8]) -> Result<Self, TunnelEncapsulationError> {
        let mut r = Reader::new(value);
        let mut tunnels = Vec::new();
        while !r.is_empty() {
            let truncated = |_| TunnelEncapsulationError::Truncated;
            let tunnel_type = TunnelType::from_u16(r.u16().map_err(truncated)?);
            let len = r.u16().map_err(truncated)?;
            let body = r.take(usize::from(len)).map_err(truncated)?;
            tunnels.push(match decode_sub_tlvs(tunnel_type, body) {
                Some(sub_tlvs) => TunnelTlv::Tunnel {
                    tunnel_type,
                    sub_tlvs,
                },
                None => TunnelTlv::Malformed {
                    tunnel_type,
                    value: body.to_vec(),
                },
            });
        }
        if !tunnels
            .iter()
            .any(|t| matches!(t, TunnelTlv::Tunnel { .. }))
        {
            return Err(TunnelEncapsulationError::NoValidTlv);
        }
        Ok(TunnelEncapsulation { tunnels })
    }

    /// Appends the attribute value. A TLV longer than its 2-octet length can say is cut.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        for t in &self.tunnels {
            body.clear();
            let tunnel_type = match t {
                TunnelTlv::Tunnel {
                    tunnel_type,
                    sub_tlvs,
                } => {
                    sub_tlvs.iter().for_each(|s| s.encode(&mut body));
                    tunnel_type
                }
                TunnelTlv::Malformed { tunnel_type, value } => {
                    body.extend_from_slice(value);
                    tunnel_type
                }
            };
            body.truncate(usize::from(u16::MAX));
            out.extend_from_slice(&tunnel_type.to_u16().to_be_bytes());
            out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&body);
        }
    }

    /// The remote endpoint of the first tunnel that names one (RFC 9012 §3.1, §6).
    pub fn remote_endpoint(&self) -> Option<IpAddr> {
        self.tunnels.iter().find_map(|t| match t {
            TunnelTlv::Tunnel { sub_tlvs, .. } => sub_tlvs.iter().find_map(|s| match s {
                TunnelSubTlv::RemoteEndpoint { address } => *address,
                _ => None,
            }),
            TunnelTlv::Malformed { .. } => None,
        })
    }
}

/// The sub-TLVs of one Tunnel TLV, or `None` when they do not exactly fill it (RFC 9012 §13).
fn decode_sub_tlvs(tunnel_type: TunnelType, body: &[u8]) -> Option<Vec<TunnelSubTlv>> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    while !r.is_empty() {
        let code = r.u8().ok()?;
        let len = if code >= sub_tlv::FIRST_LONG {
            usize::from(r.u16().ok()?)
        } else {
            usize::from(r.u8().ok()?)
        };
        let value = r.take(len).ok()?;
        out.push(TunnelSubTlv::decode(tunnel_type, code, value));
    }
    Some(out)
}

impl TunnelSubTlv {
    /// The sub-TLV type code.
    pub fn code(&self) -> u8 {
        match self {
            TunnelSubTlv::Encapsulation { .. } => sub_tlv::ENCAPSULATION,
            TunnelSubTlv::ProtocolType { .. } => sub_tlv::PROTOCOL_TYPE,
            TunnelSubTlv::Color { .. } => sub_tlv::COLOR,
            TunnelSubTlv::RemoteEndpoint { .. } => sub_tlv::TUNNEL_EGRESS_ENDPOINT,
            TunnelSubTlv::DsField { .. } => sub_tlv::DS_FIELD,
            TunnelSubTlv::UdpDestinationPort { .. } => sub_tlv::UDP_DESTINATION_PORT,
            TunnelSubTlv::EmbeddedLabelHandling { .. } => sub_tlv::EMBEDDED_LABEL_HANDLING,
            TunnelSubTlv::MplsLabelStack { .. } => sub_tlv::MPLS_LABEL_STACK,
            TunnelSubTlv::Unknown { code, .. } | TunnelSubTlv::Malformed { code, .. } => *code,
        }
    }

    /// Decodes one sub-TLV value of a tunnel of `tunnel_type`. Never fails: a value that does
    /// not parse, or would not re-encode to the same octets, is kept as `Malformed`.
    pub fn decode(tunnel_type: TunnelType, code: u8, value: &[u8]) -> TunnelSubTlv {
        let typed = match code {
            sub_tlv::ENCAPSULATION => Some(TunnelSubTlv::Encapsulation {
                encapsulation: Encapsulation::decode(tunnel_type, value),
            }),
            sub_tlv::PROTOCOL_TYPE => {
                <[u8; 2]>::try_from(value)
                    .ok()
                    .map(|b| TunnelSubTlv::ProtocolType {
                        ethertype: u16::from_be_bytes(b),
                    })
            }
            sub_tlv::COLOR => match value {
                // RFC 9012 §3.4.2: the value is a Color extended community (type 0x03/0x0b).
                [0x03, 0x0b, f0, f1, c0, c1, c2, c3] => Some(TunnelSubTlv::Color {
                    flags: u16::from_be_bytes([*f0, *f1]),
                    color: u32::from_be_bytes([*c0, *c1, *c2, *c3]),
                }),
                _ => None,
            },
            sub_tlv::TUNNEL_EGRESS_ENDPOINT => decode_endpoint(value),
            sub_tlv::DS_FIELD => match value {
                [v] => Some(TunnelSubTlv::DsField { value: *v }),
                _ => None,
            },
            sub_tlv::UDP_DESTINATION_PORT => {
                <[u8; 2]>::try_from(value)
                    .ok()
                    .map(|b| TunnelSubTlv::UdpDestinationPort {
                        port: u16::from_be_bytes(b),
                    })
            }
            sub_tlv::EMBEDDED_LABEL_HANDLING => match value {
                [v] => Some(TunnelSubTlv::EmbeddedLabelHandling { value: *v }),
                _ => None,
            },
            sub_tlv::MPLS_LABEL_STACK if !value.is_empty() && value.len().is_multiple_of(4) => {
                Some(TunnelSubTlv::MplsLabelStack {
                    entries: value
                        .chunks_exact(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                })
            }
            sub_tlv::MPLS_LABEL_STACK => None,
            _ => {
                return TunnelSubTlv::Unknown {
                    code,
                    value: value.to_vec(),
                }
            }
        };
        match typed {
            Some(t) if t.value_bytes() == value => t,
            _ => TunnelSubTlv::Malformed {
                code,
                value: value.to_vec(),
            },
        }
    }

    /// The value octets. An [`Encapsulation`] is written in its own layout whatever the tunnel
    /// type of its TLV: one that does not match it decodes as [`Encapsulation::Raw`].
    fn value_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            TunnelSubTlv::Encapsulation { encapsulation } => encapsulation.encode(&mut out),
            TunnelSubTlv::ProtocolType { ethertype } => {
                out.extend_from_slice(&ethertype.to_be_bytes())
            }
            TunnelSubTlv::Color { flags, color } => {
                out.extend_from_slice(&[0x03, 0x0b]);
                out.extend_from_slice(&flags.to_be_bytes());
                out.extend_from_slice(&color.to_be_bytes());
            }
            TunnelSubTlv::RemoteEndpoint { address } => {
                out.extend_from_slice(&[0; 4]);
                match address {
                    None => out.extend_from_slice(&0u16.to_be_bytes()),
                    Some(IpAddr::V4(a)) => {
                        out.extend_from_slice(&1u16.to_be_bytes());
                        out.extend_from_slice(&a.octets());
                    }
                    Some(IpAddr::V6(a)) => {
                        out.extend_from_slice(&2u16.to_be_bytes());
                        out.extend_from_slice(&a.octets());
                    }
                }
            }
            TunnelSubTlv::DsField { value } | TunnelSubTlv::EmbeddedLabelHandling { value } => {
                out.push(*value)
            }
            TunnelSubTlv::UdpDestinationPort { port } => out.extend_from_slice(&port.to_be_bytes()),
            TunnelSubTlv::MplsLabelStack { entries } => entries
                .iter()
                .for_each(|e| out.extend_from_slice(&e.to_be_bytes())),
            TunnelSubTlv::Unknown { value, .. } | TunnelSubTlv::Malformed { value, .. } => {
                out.extend_from_slice(value)
            }
        }
        out
    }

    /// Appends type, length (1 or 2 octets by type) and value; a value longer than its length
    /// field can say is cut.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let code = self.code();
        let mut value = self.value_bytes();
        out.push(code);
        if code >= sub_tlv::FIRST_LONG {
            value.truncate(usize::from(u16::MAX));
            out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        } else {
            value.truncate(usize::from(u8::MAX));
            out.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
        }
        out.extend_from_slice(&value);
    }
}

/// RFC 9012 §3.1: Reserved (4 octets, zero), Address Family (2 octets: 0, 1 or 2), Address (0,
/// 4 or 16 octets).
fn decode_endpoint(value: &[u8]) -> Option<TunnelSubTlv> {
    let mut r = Reader::new(value);
    let _reserved = r.u32().ok()?;
    let afi = r.u16().ok()?;
    let address = match (afi, r.remaining()) {
        (0, 0) => None,
        (1, 4) => Some(IpAddr::V4(Ipv4Addr::from(r.array::<4>().ok()?))),
        (2, 16) => Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>().ok()?))),
        _ => return None,
    };
    Some(TunnelSubTlv::RemoteEndpoint { address })
}

/// The flags octet, 24-bit identifier, MAC and 2 reserved octets of the VXLAN and NVGRE
/// encapsulation sub-TLVs (RFC 9012 §3.2.1, §3.2.2), when every unused field is zero.
fn decode_vxlan_like(value: &[u8]) -> Option<(Option<u32>, Option<MacAddress>)> {
    let Ok([flags, i0, i1, i2, m0, m1, m2, m3, m4, m5, 0, 0]) = <[u8; 12]>::try_from(value) else {
        return None;
    };
    let id = u32::from_be_bytes([0, i0, i1, i2]);
    let mac = MacAddress([m0, m1, m2, m3, m4, m5]);
    if flags & !(FLAG_V | FLAG_M) != 0 {
        return None;
    }
    let id = if flags & FLAG_V != 0 {
        Some(id)
    } else {
        (id == 0).then_some(None)?
    };
    let mac = if flags & FLAG_M != 0 {
        Some(mac)
    } else {
        (mac == MacAddress::ZERO).then_some(None)?
    };
    Some((id, mac))
}

fn encode_vxlan_like(id: Option<u32>, mac: Option<MacAddress>, out: &mut Vec<u8>) {
    let flags = if id.is_some() { FLAG_V } else { 0 } | if mac.is_some() { FLAG_M } else { 0 };
    out.push(flags);
    out.extend_from_slice(&id.unwrap_or(0).to_be_bytes()[1..]);
    out.extend_from_slice(&mac.unwrap_or(MacAddress::ZERO).0);
    out.extend_from_slice(&[0, 0]);
}

impl Encapsulation {
    /// Decodes the value of an Encapsulation sub-TLV of a tunnel of `tunnel_type`; a layout we
    /// do not implement, or one that does not parse, stays [`Encapsulation::Raw`].
    pub fn decode(tunnel_type: TunnelType, value: &[u8]) -> Encapsulation {
        let typed = match tunnel_type {
            TunnelType::Vxlan => decode_vxlan_like(value).map(|(id, mac)| Encapsulation::Vxlan {
                vni: id.and_then(Vni::new),
                mac,
            }),
            TunnelType::Nvgre => {
                decode_vxlan_like(value).map(|(vsid, mac)| Encapsulation::Nvgre { vsid, mac })
            }
            TunnelType::Gre | TunnelType::MplsInGre => {
                <[u8; 4]>::try_from(value)
                    .ok()
                    .map(|b| Encapsulation::GreKey {
                        key: u32::from_be_bytes(b),
                    })
            }
            _ => None,
        };
        typed.unwrap_or_else(|| Encapsulation::Raw {
            value: value.to_vec(),
        })
    }

    /// Appends the value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Encapsulation::Vxlan { vni, mac } => encode_vxlan_like(vni.map(Vni::value), *mac, out),
            Encapsulation::Nvgre { vsid, mac } => {
                encode_vxlan_like(vsid.map(|v| v & Vni::MAX), *mac, out)
            }
            Encapsulation::GreKey { key } => out.extend_from_slice(&key.to_be_bytes()),
            Encapsulation::Raw { value } => out.extend_from_slice(value),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tlv(tunnel_type: u16, sub: &[(u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (code, value) in sub {
            body.push(*code);
            if *code >= 128 {
                body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            } else {
                body.push(value.len() as u8);
            }
            body.extend_from_slice(value);
        }
        let mut out = tunnel_type.to_be_bytes().to_vec();
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn encoded(t: &TunnelEncapsulation) -> Vec<u8> {
        let mut out = Vec::new();
        t.encode(&mut out);
        out
    }

    #[test]
    fn rfc9012_s3_2_1_vxlan_with_remote_endpoint_and_color() {
        let bytes = tlv(
            8,
            &[
                (1, &[0xc0, 0, 0x0b, 0xb8, 2, 0, 0, 0, 0, 1, 0, 0]),
                (6, &[0, 0, 0, 0, 0, 1, 192, 0, 2, 1]),
                (4, &[0x03, 0x0b, 0, 0, 0, 0, 0, 100]),
            ],
        );
        let t = TunnelEncapsulation::decode(&bytes).unwrap();
        assert_eq!(
            t,
            TunnelEncapsulation {
                tunnels: vec![TunnelTlv::Tunnel {
                    tunnel_type: TunnelType::Vxlan,
                    sub_tlvs: vec![
                        TunnelSubTlv::Encapsulation {
                            encapsulation: Encapsulation::Vxlan {
                                vni: Vni::new(3000),
                                mac: Some(MacAddress([2, 0, 0, 0, 0, 1])),
                            }
                        },
                        TunnelSubTlv::RemoteEndpoint {
                            address: Some("192.0.2.1".parse().unwrap())
                        },
                        TunnelSubTlv::Color {
                            flags: 0,
                            color: 100
                        },
                    ]
                }]
            }
        );
        assert_eq!(t.remote_endpoint(), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(encoded(&t), bytes);
    }

    #[test]
    fn rfc9012_s3_2_nvgre_and_mpls_in_gre_encapsulations() {
        let nvgre = tlv(9, &[(1, &[0x80, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0])]);
        let t = TunnelEncapsulation::decode(&nvgre).unwrap();
        assert!(matches!(
            &t.tunnels[0],
            TunnelTlv::Tunnel { sub_tlvs, .. } if sub_tlvs[0] == TunnelSubTlv::Encapsulation {
                encapsulation: Encapsulation::Nvgre { vsid: Some(7), mac: None }
            }
        ));
        assert_eq!(encoded(&t), nvgre);
        let gre = tlv(11, &[(1, &[0, 0, 0, 42]), (8, &[0x19, 0xeb])]);
        let t = TunnelEncapsulation::decode(&gre).unwrap();
        assert_eq!(
            t.tunnels,
            vec![TunnelTlv::Tunnel {
                tunnel_type: TunnelType::MplsInGre,
                sub_tlvs: vec![
                    TunnelSubTlv::Encapsulation {
                        encapsulation: Encapsulation::GreKey { key: 42 }
                    },
                    TunnelSubTlv::UdpDestinationPort { port: 6635 },
                ]
            }]
        );
        assert_eq!(encoded(&t), gre);
    }

    #[test]
    fn rfc9012_s13_unknown_and_malformed_sub_tlvs_are_kept_raw() {
        // A VXLAN encapsulation with a non-zero reserved octet, an endpoint with AFI 1 and 16
        // octets, an unknown sub-TLV with a 2-octet length, and a 3-octet label stack.
        let bytes = tlv(
            8,
            &[
                (1, &[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]),
                (6, &[0; 22]),
                (200, &[1, 2, 3]),
                (10, &[0, 0, 1]),
            ],
        );
        let t = TunnelEncapsulation::decode(&bytes).unwrap();
        let TunnelTlv::Tunnel { sub_tlvs, .. } = &t.tunnels[0] else {
            panic!("not a tunnel: {t:?}");
        };
        assert_eq!(
            sub_tlvs[0],
            TunnelSubTlv::Encapsulation {
                encapsulation: Encapsulation::Raw {
                    value: vec![0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]
                }
            }
        );
        assert_eq!(
            sub_tlvs[1],
            TunnelSubTlv::Malformed {
                code: 6,
                value: vec![0; 22]
            }
        );
        assert_eq!(
            sub_tlvs[2],
            TunnelSubTlv::Unknown {
                code: 200,
                value: vec![1, 2, 3]
            }
        );
        assert!(matches!(
            sub_tlvs[3],
            TunnelSubTlv::Malformed { code: 10, .. }
        ));
        assert_eq!(encoded(&t), bytes);
    }

    #[test]
    fn rfc9012_s13_tlv_not_filled_by_its_sub_tlvs_is_disregarded() {
        // A first TLV whose sub-TLV claims 5 octets where 2 are left, then a valid one.
        let mut bytes = vec![0, 8, 0, 4, 7, 5, 0, 0];
        bytes.extend(tlv(10, &[(7, &[46])]));
        let t = TunnelEncapsulation::decode(&bytes).unwrap();
        assert_eq!(
            t.tunnels[0],
            TunnelTlv::Malformed {
                tunnel_type: TunnelType::Vxlan,
                value: vec![7, 5, 0, 0]
            }
        );
        assert_eq!(encoded(&t), bytes);
    }

    #[test]
    fn rfc9012_s13_no_valid_tlv_or_overrun_is_malformed() {
        assert_eq!(
            TunnelEncapsulation::decode(&[]),
            Err(TunnelEncapsulationError::NoValidTlv)
        );
        assert_eq!(
            TunnelEncapsulation::decode(&[0, 8, 0, 2, 7, 5]),
            Err(TunnelEncapsulationError::NoValidTlv)
        );
        assert_eq!(
            TunnelEncapsulation::decode(&[0, 8, 0, 9, 7, 1, 0]),
            Err(TunnelEncapsulationError::Truncated)
        );
        assert_eq!(
            TunnelEncapsulation::decode(&[0, 8, 0]),
            Err(TunnelEncapsulationError::Truncated)
        );
    }

    /// Attribute values built from random sub-TLVs (typed codes with random values, and unknown
    /// codes) under random and known tunnel types.
    pub(crate) fn tunnel_encapsulation_bytes() -> impl Strategy<Value = Vec<u8>> {
        let code = prop_oneof![1u8..=10, any::<u8>()];
        let value = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..24),
            // Well-formed VXLAN/NVGRE encapsulations and endpoints.
            (any::<bool>(), any::<[u8; 3]>(), any::<[u8; 6]>()).prop_map(|(v, id, mac)| {
                let mut b = vec![if v { 0xc0 } else { 0x40 }];
                b.extend_from_slice(if v { &id } else { &[0, 0, 0] });
                b.extend_from_slice(&mac);
                b.extend_from_slice(&[0, 0]);
                b
            }),
            any::<[u8; 4]>().prop_map(|a| [&[0, 0, 0, 0, 0, 1][..], &a].concat()),
        ];
        let tunnel_type = prop_oneof![Just(2u16), Just(8), Just(9), Just(11), any::<u16>()];
        let one = (
            tunnel_type,
            prop::collection::vec((code, value), 0..5),
            any::<bool>(),
        )
            .prop_map(|(t, subs, corrupt)| {
                let subs: Vec<(u8, &[u8])> = subs.iter().map(|(c, v)| (*c, v.as_slice())).collect();
                let mut b = tlv(t, &subs);
                if corrupt && b.len() > 4 {
                    // Claim one octet less: the sub-TLVs no longer fill the TLV exactly.
                    b[3] = b[3].wrapping_sub(1);
                    b.pop();
                }
                b
            });
        prop::collection::vec(one, 1..4).prop_map(|l| l.concat())
    }

    proptest! {
        #[test]
        fn rfc9012_whatever_decodes_re_encodes_exactly(bytes in tunnel_encapsulation_bytes()) {
            if let Ok(t) = TunnelEncapsulation::decode(&bytes) {
                prop_assert_eq!(encoded(&t), bytes);
            }
        }

        #[test]
        fn rfc9012_decoding_any_octets_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(t) = TunnelEncapsulation::decode(&bytes) {
                prop_assert_eq!(encoded(&t), bytes);
            }
        }
    }
}
