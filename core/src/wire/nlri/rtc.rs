//! Route Target membership NLRI (RFC 4684 §4).

use super::NlriErrorKind;
use crate::wire::reader::Reader;
use crate::wire::route_target::RouteTarget;

/// An RT-Constraint NLRI: the default (zero-length, "send me everything") or an origin AS with
/// a route-target prefix of 0 to 64 bits (RFC 4684 §4). Lengths 1 to 31 cannot hold the origin
/// AS and are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RtcMembership {
    /// The zero-length default route target membership.
    Default,
    /// An origin AS and the first `len - 32` bits of a route target extended community.
    Prefix {
        /// The AS that originated the membership.
        origin_as: u32,
        /// Prefix length in bits, 32 to 96.
        len: u8,
        /// The route target community's 8 octets, bits beyond the prefix zero.
        target: [u8; 8],
    },
}

impl RtcMembership {
    /// The full (96-bit) membership of `origin_as` in `rt`.
    pub fn exact(origin_as: u32, rt: RouteTarget) -> Self {
        RtcMembership::Prefix {
            origin_as,
            len: 96,
            target: rt.to_extended_community_bytes(),
        }
    }

    /// The route target, for a full-length membership of a route-target community.
    pub fn route_target(&self) -> Option<RouteTarget> {
        match self {
            RtcMembership::Prefix {
                len: 96, target, ..
            } if target[1] == RouteTarget::SUBTYPE => {
                let [t, _, a, b, c, d, e, f] = *target;
                RouteTarget::from_parts(t, [a, b, c, d, e, f])
            }
            _ => None,
        }
    }

    pub(super) fn decode(r: &mut Reader<'_>) -> Result<Self, NlriErrorKind> {
        let len = r.u8().map_err(NlriErrorKind::Truncated)?;
        match len {
            0 => Ok(RtcMembership::Default),
            32..=96 => {
                let origin_as = r.u32().map_err(NlriErrorKind::Truncated)?;
                let n = usize::from(len - 32).div_ceil(8);
                let bytes = r.take(n).map_err(NlriErrorKind::Truncated)?;
                let mut target = [0u8; 8];
                target[..n].copy_from_slice(bytes);
                let rest = len - 32;
                if rest % 8 != 0 {
                    if let Some(last) = target.get_mut(n - 1) {
                        *last &= 0xffu8 << (8 - rest % 8);
                    }
                }
                Ok(RtcMembership::Prefix {
                    origin_as,
                    len,
                    target,
                })
            }
            other => Err(NlriErrorKind::RtcLength(other)),
        }
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RtcMembership::Default => out.push(0),
            RtcMembership::Prefix {
                origin_as,
                len,
                target,
            } => {
                let len = (*len).clamp(32, 96);
                out.push(len);
                out.extend_from_slice(&origin_as.to_be_bytes());
                out.extend_from_slice(&target[..usize::from(len - 32).div_ceil(8)]);
            }
        }
    }

    pub(super) fn encoded_len(&self) -> usize {
        match self {
            RtcMembership::Default => 1,
            RtcMembership::Prefix { len, .. } => {
                5 + usize::from((*len).clamp(32, 96) - 32).div_ceil(8)
            }
        }
    }
}
