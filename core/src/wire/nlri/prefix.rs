//! IP prefixes as they stand in NLRI (RFC 4271 §4.3, RFC 4760 §5): a length in bits, then the
//! fewest octets that hold it.

use super::NlriErrorKind;
use crate::wire::reader::Reader;
use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 prefix. Bits beyond the length are zero: decoding clears them, so that two encodings
/// of one prefix compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Ipv4Prefix {
    /// Network address, host bits zero.
    pub addr: Ipv4Addr,
    /// Prefix length, 0 to 32.
    pub len: u8,
}

/// An IPv6 prefix, host bits zero (see [`Ipv4Prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Ipv6Prefix {
    /// Network address, host bits zero.
    pub addr: Ipv6Addr,
    /// Prefix length, 0 to 128.
    pub len: u8,
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum IpPrefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

fn mask_bits<const N: usize>(mut octets: [u8; N], len: u8) -> [u8; N] {
    let len = usize::from(len);
    for (i, b) in octets.iter_mut().enumerate() {
        let start = i * 8;
        if start >= len {
            *b = 0;
        } else if start + 8 > len {
            *b &= 0xffu8 << (8 - (len - start));
        }
    }
    octets
}

impl Ipv4Prefix {
    /// The prefix `addr/len` with host bits cleared, or `None` when `len > 32`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Self> {
        (len <= 32).then(|| Ipv4Prefix {
            addr: Ipv4Addr::from(mask_bits(addr.octets(), len)),
            len,
        })
    }
}

impl Ipv6Prefix {
    /// The prefix `addr/len` with host bits cleared, or `None` when `len > 128`.
    pub fn new(addr: Ipv6Addr, len: u8) -> Option<Self> {
        (len <= 128).then(|| Ipv6Prefix {
            addr: Ipv6Addr::from(mask_bits(addr.octets(), len)),
            len,
        })
    }
}

impl IpPrefix {
    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        match self {
            IpPrefix::V4(p) => p.len,
            IpPrefix::V6(p) => p.len,
        }
    }

    /// Whether this is the zero-length (default) prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        match self {
            IpPrefix::V4(p) => IpAddr::V4(p.addr),
            IpPrefix::V6(p) => IpAddr::V6(p.addr),
        }
    }

    /// Octets the address part takes on the wire: ceil(len / 8).
    pub fn wire_octets(&self) -> usize {
        usize::from(self.len()).div_ceil(8)
    }

    /// Writes the significant octets of the address (without the length octet).
    pub fn write_address(&self, out: &mut Vec<u8>) {
        let n = self.wire_octets();
        match self {
            IpPrefix::V4(p) => out.extend_from_slice(&p.addr.octets()[..n]),
            IpPrefix::V6(p) => out.extend_from_slice(&p.addr.octets()[..n]),
        }
    }

    /// Reads `len_bits` bits of an address of the family of `v6` (the length was read already).
    #[inline(always)]
    pub(crate) fn read_address(
        r: &mut Reader<'_>,
        len_bits: u8,
        v6: bool,
    ) -> Result<Self, NlriErrorKind> {
        let max = if v6 { 128 } else { 32 };
        if len_bits > max {
            return Err(NlriErrorKind::PrefixLengthTooLong { len: len_bits, max });
        }
        let n = usize::from(len_bits).div_ceil(8);
        let bytes = r.take(n).map_err(NlriErrorKind::Truncated)?;
        // The address is assembled in a register, host bits cleared by a mask: no copy through
        // memory (which costs a store-forwarding stall per route).
        if v6 {
            let mut v = 0u128;
            for (i, b) in bytes.iter().enumerate() {
                v |= u128::from(*b) << (120 - 8 * i);
            }
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len_bits))
                .unwrap_or(0);
            Ok(IpPrefix::V6(Ipv6Prefix {
                addr: Ipv6Addr::from(v & mask),
                len: len_bits,
            }))
        } else {
            let mut v = 0u32;
            for (i, b) in bytes.iter().enumerate() {
                v |= u32::from(*b) << (24 - 8 * i);
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(len_bits)).unwrap_or(0);
            Ok(IpPrefix::V4(Ipv4Prefix {
                addr: Ipv4Addr::from(v & mask),
                len: len_bits,
            }))
        }
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpPrefix::V4(p) => p.fmt(f),
            IpPrefix::V6(p) => p.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_address_clears_host_bits_like_new() {
        for (bytes, len) in [
            (&[10, 1, 1, 77][..], 24u8),
            (&[10, 255][..], 9),
            (&[][..], 0),
            (&[1, 2, 3, 4][..], 32),
        ] {
            let mut r = Reader::new(bytes);
            let read = IpPrefix::read_address(&mut r, len, false).unwrap();
            let mut o = [0u8; 4];
            o[..bytes.len()].copy_from_slice(bytes);
            assert_eq!(
                read,
                IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::from(o), len).unwrap())
            );
        }
        let mut r = Reader::new(&[0x20, 0x01, 0x0d, 0xb8, 0xff]);
        assert_eq!(
            IpPrefix::read_address(&mut r, 36, true)
                .unwrap()
                .to_string(),
            "2001:db8:f000::/36"
        );
        let mut r = Reader::new(&[0xff; 16]);
        assert_eq!(
            IpPrefix::read_address(&mut r, 128, true).unwrap().len(),
            128
        );
    }

    #[test]
    fn host_bits_are_cleared() {
        let p = Ipv4Prefix::new(Ipv4Addr::new(10, 1, 1, 77), 24).unwrap();
        assert_eq!(p.to_string(), "10.1.1.0/24");
        let p = Ipv4Prefix::new(Ipv4Addr::new(10, 255, 1, 77), 9).unwrap();
        assert_eq!(p.to_string(), "10.128.0.0/9");
        assert_eq!(Ipv4Prefix::new(Ipv4Addr::UNSPECIFIED, 33), None);
        assert_eq!(Ipv6Prefix::new(Ipv6Addr::UNSPECIFIED, 129), None);
    }
}
