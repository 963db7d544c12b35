//! Flow specification NLRI (RFC 8955 §4 for IPv4, RFC 8956 §3 for IPv6), plain (SAFI 133) and
//! for VPNs with a route distinguisher first (SAFI 134, RFC 8955 §8).

use super::NlriErrorKind;
use crate::wire::rd::RouteDistinguisher;
use crate::wire::reader::{Reader, Truncated};

/// Component type codes (RFC 8955 §4.2.2, RFC 8956 §3).
pub mod component {
    /// Destination prefix.
    pub const DESTINATION_PREFIX: u8 = 1;
    /// Source prefix.
    pub const SOURCE_PREFIX: u8 = 2;
    /// IP protocol (IPv4) or next header (IPv6).
    pub const IP_PROTOCOL: u8 = 3;
    /// Source or destination port.
    pub const PORT: u8 = 4;
    /// Destination port.
    pub const DESTINATION_PORT: u8 = 5;
    /// Source port.
    pub const SOURCE_PORT: u8 = 6;
    /// ICMP type.
    pub const ICMP_TYPE: u8 = 7;
    /// ICMP code.
    pub const ICMP_CODE: u8 = 8;
    /// TCP flags (bitmask).
    pub const TCP_FLAGS: u8 = 9;
    /// Packet length.
    pub const PACKET_LENGTH: u8 = 10;
    /// DSCP.
    pub const DSCP: u8 = 11;
    /// Fragment (bitmask).
    pub const FRAGMENT: u8 = 12;
    /// Flow label (IPv6 only, RFC 8956 §3.7).
    pub const FLOW_LABEL: u8 = 13;
}

/// A prefix component: for IPv6 an offset and a pattern (RFC 8956 §3.1); IPv4 has offset 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FlowPrefix {
    /// Prefix length in bits.
    pub len: u8,
    /// Offset in bits (IPv6 only).
    pub offset: u8,
    /// The pattern octets (bits `offset..len`), bits beyond the pattern zero.
    pub pattern: Vec<u8>,
}

/// One numeric operator and value (RFC 8955 §4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NumericOp {
    /// AND with the previous term (otherwise OR).
    pub and: bool,
    /// Less than.
    pub lt: bool,
    /// Greater than.
    pub gt: bool,
    /// Equal.
    pub eq: bool,
    /// Value length in octets: 1, 2, 4 or 8.
    pub value_len: u8,
    /// The value.
    pub value: u64,
}

/// One bitmask operator and value (RFC 8955 §4.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct BitmaskOp {
    /// AND with the previous term (otherwise OR).
    pub and: bool,
    /// Logical negation.
    pub not: bool,
    /// Match: all bits set (otherwise any bit).
    pub matches: bool,
    /// Value length in octets: 1, 2, 4 or 8.
    pub value_len: u8,
    /// The bitmask.
    pub value: u64,
}

/// One component of a flow specification.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "component", rename_all = "snake_case")]
pub enum FlowComponent {
    /// Type 1 or 2: a prefix.
    Prefix {
        /// The type code.
        code: u8,
        /// The prefix.
        prefix: FlowPrefix,
    },
    /// A numeric component (types 3-8, 10, 11, 13).
    Numeric {
        /// The type code.
        code: u8,
        /// The operators, in order.
        ops: Vec<NumericOp>,
    },
    /// A bitmask component (types 9 and 12).
    Bitmask {
        /// The type code.
        code: u8,
        /// The operators, in order.
        ops: Vec<BitmaskOp>,
    },
}

impl FlowComponent {
    /// The component's type code.
    pub fn code(&self) -> u8 {
        match self {
            FlowComponent::Prefix { code, .. }
            | FlowComponent::Numeric { code, .. }
            | FlowComponent::Bitmask { code, .. } => *code,
        }
    }
}

/// A flow specification: its components in increasing type order, and an RD for FlowSpec-VPN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FlowSpecRule {
    /// Whether this is an IPv6 rule (AFI 2).
    pub ipv6: bool,
    /// The route distinguisher of a FlowSpec-VPN rule (SAFI 134).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rd: Option<RouteDistinguisher>,
    /// The components.
    pub components: Vec<FlowComponent>,
}

/// The largest NLRI length (RFC 8955 §4.1: 0xfff).
const MAX_LEN: usize = 0xfff;

fn value_len(op: u8) -> u8 {
    1 << ((op >> 4) & 0x03)
}

fn len_bits(value_len: u8) -> u8 {
    match value_len {
        1 => 0,
        2 => 1,
        4 => 2,
        _ => 3,
    }
}

fn read_value(r: &mut Reader<'_>, len: u8) -> Result<u64, Truncated> {
    Ok(match len {
        1 => u64::from(r.u8()?),
        2 => u64::from(r.u16()?),
        4 => u64::from(r.u32()?),
        _ => r.u64()?,
    })
}

fn write_value(out: &mut Vec<u8>, len: u8, v: u64) {
    let b = v.to_be_bytes();
    out.extend_from_slice(&b[8 - usize::from(len)..]);
}

impl FlowSpecRule {
    pub(super) fn decode(r: &mut Reader<'_>, ipv6: bool, vpn: bool) -> Result<Self, NlriErrorKind> {
        let t = NlriErrorKind::Truncated;
        let first = r.u8().map_err(t)?;
        let len = if first >= 0xf0 {
            usize::from(first & 0x0f) << 8 | usize::from(r.u8().map_err(t)?)
        } else {
            usize::from(first)
        };
        let body = r.take(len).map_err(t)?;
        let mut b = Reader::new(body);
        let rd = if vpn {
            Some(RouteDistinguisher::from_bytes(b.array().map_err(t)?))
        } else {
            None
        };
        let mut components: Vec<FlowComponent> = Vec::new();
        while !b.is_empty() {
            let code = b.u8().map_err(t)?;
            if components.last().is_some_and(|c| c.code() >= code) {
                // RFC 8955 §4.2: components must be in strictly increasing type order.
                return Err(NlriErrorKind::FlowSpecComponentOrder(code));
            }
            components.push(Self::decode_component(&mut b, code, ipv6)?);
        }
        if components.is_empty() {
            return Err(NlriErrorKind::FlowSpecEmpty);
        }
        Ok(FlowSpecRule {
            ipv6,
            rd,
            components,
        })
    }

    fn decode_component(
        b: &mut Reader<'_>,
        code: u8,
        ipv6: bool,
    ) -> Result<FlowComponent, NlriErrorKind> {
        let t = NlriErrorKind::Truncated;
        match code {
            component::DESTINATION_PREFIX | component::SOURCE_PREFIX => {
                let len = b.u8().map_err(t)?;
                let offset = if ipv6 { b.u8().map_err(t)? } else { 0 };
                let max = if ipv6 { 128 } else { 32 };
                if len > max || offset > len {
                    return Err(NlriErrorKind::PrefixLengthTooLong { len, max });
                }
                let bits = len - offset;
                let n = usize::from(bits).div_ceil(8);
                let mut pattern = b.take(n).map_err(t)?.to_vec();
                if bits % 8 != 0 {
                    if let Some(last) = pattern.last_mut() {
                        *last &= 0xffu8 << (8 - bits % 8);
                    }
                }
                Ok(FlowComponent::Prefix {
                    code,
                    prefix: FlowPrefix {
                        len,
                        offset,
                        pattern,
                    },
                })
            }
            component::TCP_FLAGS | component::FRAGMENT => {
                let mut ops = Vec::new();
                loop {
                    let op = b.u8().map_err(t)?;
                    let value_len = value_len(op);
                    let value = read_value(b, value_len).map_err(t)?;
                    ops.push(BitmaskOp {
                        and: op & 0x40 != 0,
                        not: op & 0x02 != 0,
                        matches: op & 0x01 != 0,
                        value_len,
                        value,
                    });
                    if op & 0x80 != 0 {
                        break;
                    }
                }
                Ok(FlowComponent::Bitmask { code, ops })
            }
            3..=8 | 10 | 11 => Self::numeric(b, code),
            component::FLOW_LABEL if ipv6 => Self::numeric(b, code),
            other => Err(NlriErrorKind::FlowSpecComponentType(other)),
        }
    }

    fn numeric(b: &mut Reader<'_>, code: u8) -> Result<FlowComponent, NlriErrorKind> {
        let t = NlriErrorKind::Truncated;
        let mut ops = Vec::new();
        loop {
            let op = b.u8().map_err(t)?;
            let value_len = value_len(op);
            let value = read_value(b, value_len).map_err(t)?;
            ops.push(NumericOp {
                and: op & 0x40 != 0,
                lt: op & 0x04 != 0,
                gt: op & 0x02 != 0,
                eq: op & 0x01 != 0,
                value_len,
                value,
            });
            if op & 0x80 != 0 {
                return Ok(FlowComponent::Numeric { code, ops });
            }
        }
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(rd) = &self.rd {
            out.extend_from_slice(&rd.to_bytes());
        }
        for c in &self.components {
            out.push(c.code());
            match c {
                FlowComponent::Prefix { prefix, .. } => {
                    out.push(prefix.len);
                    if self.ipv6 {
                        out.push(prefix.offset);
                    }
                    out.extend_from_slice(&prefix.pattern);
                }
                FlowComponent::Numeric { ops, .. } => {
                    for (i, op) in ops.iter().enumerate() {
                        let end = if i + 1 == ops.len() { 0x80 } else { 0 };
                        out.push(
                            end | u8::from(op.and) << 6
                                | len_bits(op.value_len) << 4
                                | u8::from(op.lt) << 2
                                | u8::from(op.gt) << 1
                                | u8::from(op.eq),
                        );
                        write_value(&mut out, op.value_len, op.value);
                    }
                }
                FlowComponent::Bitmask { ops, .. } => {
                    for (i, op) in ops.iter().enumerate() {
                        let end = if i + 1 == ops.len() { 0x80 } else { 0 };
                        out.push(
                            end | u8::from(op.and) << 6
                                | len_bits(op.value_len) << 4
                                | u8::from(op.not) << 1
                                | u8::from(op.matches),
                        );
                        write_value(&mut out, op.value_len, op.value);
                    }
                }
            }
        }
        out.truncate(MAX_LEN);
        out
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let body = self.body();
        if body.len() < 0xf0 {
            out.push(body.len() as u8);
        } else {
            out.push(0xf0 | (body.len() >> 8) as u8);
            out.push(body.len() as u8);
        }
        out.extend_from_slice(&body);
    }

    pub(super) fn encoded_len(&self) -> usize {
        let n = self.body().len();
        n + if n < 0xf0 { 1 } else { 2 }
    }
}
