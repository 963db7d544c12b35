//! Labeled VPN-IP NLRI (RFC 4364 §4.3.4, RFC 4659 §3.2, RFC 8277 §2): a label stack, a route
//! distinguisher and a prefix, behind one length octet counted in bits.

use super::prefix::IpPrefix;
use super::NlriErrorKind;
use crate::wire::label::{LabelStack, LabelStackEntry};
use crate::wire::rd::RouteDistinguisher;
use crate::wire::reader::Reader;

/// Most labels a VPN NLRI may carry before its bottom of stack: enough for any VPN use, and small
/// enough that the length always fits its octet.
pub const MAX_LABELS: usize = LabelStack::CAPACITY;

/// A VPN-IPv4 or VPN-IPv6 route (RFC 4364 §4.3.4, RFC 4659 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct VpnRoute {
    /// The route distinguisher.
    pub rd: RouteDistinguisher,
    /// The address prefix; its family decides VPN-IPv4 or VPN-IPv6.
    pub prefix: IpPrefix,
    /// The label stack as sent (1 to [`MAX_LABELS`] entries). Not part of the route's key: in a
    /// withdrawal it may be 0x800000 (RFC 8277 §2.4) or 0x000000 (RFC 3107 §3). Held inline
    /// ([`LabelStack`]); it reads as a slice.
    pub labels: LabelStack,
}

impl VpnRoute {
    /// A route, or `None` when `labels` is empty, longer than [`MAX_LABELS`], or too long with
    /// the prefix for the one-octet length in bits (RFC 4364 §4.3.4).
    pub fn new(
        rd: RouteDistinguisher,
        prefix: IpPrefix,
        labels: Vec<LabelStackEntry>,
    ) -> Option<Self> {
        let bits = labels.len() * 24 + RouteDistinguisher::LEN * 8 + usize::from(prefix.len());
        let labels = LabelStack::from_slice(&labels)?;
        (!labels.is_empty() && bits <= usize::from(u8::MAX)).then_some(VpnRoute {
            rd,
            prefix,
            labels,
        })
    }

    #[inline(always)]
    pub(super) fn decode(r: &mut Reader<'_>, v6: bool) -> Result<Self, NlriErrorKind> {
        let total = r.u8().map_err(NlriErrorKind::Truncated)?;
        let too_short = NlriErrorKind::VpnLengthTooShort { len: total };
        let mut bits = usize::from(total);
        let mut labels = LabelStack::new();
        loop {
            if bits < 24 {
                return Err(too_short);
            }
            let entry = LabelStackEntry::from_raw(r.u24().map_err(NlriErrorKind::Truncated)?);
            bits -= 24;
            labels
                .push(entry)
                .map_err(|_| NlriErrorKind::TooManyLabels)?;
            // The bottom-of-stack bit ends the stack; so do the withdrawal values, which lack it.
            if entry.bottom_of_stack() || entry.raw() == 0x80_0000 || entry.raw() == 0 {
                break;
            }
            if labels.len() == MAX_LABELS {
                return Err(NlriErrorKind::TooManyLabels);
            }
        }
        if bits < RouteDistinguisher::LEN * 8 {
            return Err(too_short);
        }
        bits -= RouteDistinguisher::LEN * 8;
        let rd = RouteDistinguisher::from_bytes(r.array().map_err(NlriErrorKind::Truncated)?);
        let prefix_len = u8::try_from(bits).map_err(|_| too_short)?;
        let prefix = IpPrefix::read_address(r, prefix_len, v6)?;
        Ok(VpnRoute { rd, prefix, labels })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let bits =
            self.labels.len() * 24 + RouteDistinguisher::LEN * 8 + usize::from(self.prefix.len());
        // Valid values (see `new`) always fit; saturate rather than panic on a hand-built one.
        out.push(u8::try_from(bits).unwrap_or(u8::MAX));
        for l in self.labels.iter() {
            out.extend_from_slice(&l.to_bytes());
        }
        out.extend_from_slice(&self.rd.to_bytes());
        self.prefix.write_address(out);
    }

    pub(super) fn encoded_len(&self) -> usize {
        1 + self.labels.len() * 3 + RouteDistinguisher::LEN + self.prefix.wire_octets()
    }
}
