//! Route Distinguisher (RFC 4364 §4.2).

use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

/// An 8-octet Route Distinguisher (RFC 4364 §4.2), types 0, 1 and 2; other types kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouteDistinguisher {
    /// Type 0: 2-octet AS number, 4-octet assigned number.
    As2 {
        /// Administrator subfield.
        asn: u16,
        /// Assigned number subfield.
        number: u32,
    },
    /// Type 1: IPv4 address, 2-octet assigned number.
    Ipv4 {
        /// Administrator subfield.
        addr: Ipv4Addr,
        /// Assigned number subfield.
        number: u16,
    },
    /// Type 2: 4-octet AS number, 2-octet assigned number.
    As4 {
        /// Administrator subfield.
        asn: u32,
        /// Assigned number subfield.
        number: u16,
    },
    /// Any other type, kept as received.
    Other {
        /// The type field.
        rd_type: u16,
        /// The value field.
        value: [u8; 6],
    },
}

impl RouteDistinguisher {
    /// The encoded length.
    pub const LEN: usize = 8;

    /// Decodes the 8 octets of an RD. Every value is valid.
    #[inline]
    pub fn from_bytes(b: [u8; 8]) -> Self {
        let rd_type = u16::from_be_bytes([b[0], b[1]]);
        match rd_type {
            0 => RouteDistinguisher::As2 {
                asn: u16::from_be_bytes([b[2], b[3]]),
                number: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            },
            1 => RouteDistinguisher::Ipv4 {
                addr: Ipv4Addr::new(b[2], b[3], b[4], b[5]),
                number: u16::from_be_bytes([b[6], b[7]]),
            },
            2 => RouteDistinguisher::As4 {
                asn: u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                number: u16::from_be_bytes([b[6], b[7]]),
            },
            _ => RouteDistinguisher::Other {
                rd_type,
                value: [b[2], b[3], b[4], b[5], b[6], b[7]],
            },
        }
    }

    /// The 8 octets on the wire.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        match self {
            RouteDistinguisher::As2 { asn, number } => {
                out[2..4].copy_from_slice(&asn.to_be_bytes());
                out[4..8].copy_from_slice(&number.to_be_bytes());
            }
            RouteDistinguisher::Ipv4 { addr, number } => {
                out[..2].copy_from_slice(&1u16.to_be_bytes());
                out[2..6].copy_from_slice(&addr.octets());
                out[6..8].copy_from_slice(&number.to_be_bytes());
            }
            RouteDistinguisher::As4 { asn, number } => {
                out[..2].copy_from_slice(&2u16.to_be_bytes());
                out[2..6].copy_from_slice(&asn.to_be_bytes());
                out[6..8].copy_from_slice(&number.to_be_bytes());
            }
            RouteDistinguisher::Other { rd_type, value } => {
                out[..2].copy_from_slice(&rd_type.to_be_bytes());
                out[2..8].copy_from_slice(&value);
            }
        }
        out
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDistinguisher::As2 { asn, number } => write!(f, "{asn}:{number}"),
            RouteDistinguisher::Ipv4 { addr, number } => write!(f, "{addr}:{number}"),
            RouteDistinguisher::As4 { asn, number } => write!(f, "{asn}L:{number}"),
            RouteDistinguisher::Other { rd_type, value } => {
                write!(f, "type{rd_type}:")?;
                value.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

/// Why a text form of an RD or RT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseAdminValueError(pub String);

impl fmt::Display for ParseAdminValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseAdminValueError {}

/// The administrator part of a textual `admin:number` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Administrator {
    /// A 2-octet AS number (or a number that fits in 2 octets).
    As2(u16),
    /// A 4-octet AS number (written with an `L` suffix, or too large for 2 octets).
    As4(u32),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
}

/// Splits `admin:number` the way BaGPipe-BGP and GoBGP write RDs and RTs: `64512:100`,
/// `10.0.0.1:5`, `4200000000:7` or `65000L:7`. Returns the administrator and the number.
pub fn parse_admin_number(s: &str) -> Result<(Administrator, u64), ParseAdminValueError> {
    let err = |why: &str| ParseAdminValueError(format!("{s:?}: {why}"));
    let (admin, number) = s
        .rsplit_once(':')
        .ok_or_else(|| err("expected ADMIN:NUMBER"))?;
    let number: u64 = number
        .parse()
        .map_err(|_| err("the part after ':' is not a number"))?;
    let admin = if let Ok(ip) = admin.parse::<Ipv4Addr>() {
        Administrator::Ipv4(ip)
    } else if let Some(asn) = admin.strip_suffix('L').or_else(|| admin.strip_suffix('l')) {
        Administrator::As4(asn.parse().map_err(|_| err("bad 4-octet AS number"))?)
    } else {
        let asn: u32 = admin
            .parse()
            .map_err(|_| err("the part before ':' is neither an AS number nor an IPv4 address"))?;
        match u16::try_from(asn) {
            Ok(asn) => Administrator::As2(asn),
            Err(_) => Administrator::As4(asn),
        }
    };
    Ok((admin, number))
}

impl FromStr for RouteDistinguisher {
    type Err = ParseAdminValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let too_big = || ParseAdminValueError(format!("{s:?}: assigned number too large"));
        match parse_admin_number(s)? {
            (Administrator::As2(asn), n) => Ok(RouteDistinguisher::As2 {
                asn,
                number: u32::try_from(n).map_err(|_| too_big())?,
            }),
            (Administrator::As4(asn), n) => Ok(RouteDistinguisher::As4 {
                asn,
                number: u16::try_from(n).map_err(|_| too_big())?,
            }),
            (Administrator::Ipv4(addr), n) => Ok(RouteDistinguisher::Ipv4 {
                addr,
                number: u16::try_from(n).map_err(|_| too_big())?,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rd_types_round_trip_through_bytes_and_text() {
        for text in ["64512:100", "10.0.0.1:5", "4200000000:7"] {
            let rd: RouteDistinguisher = text.parse().unwrap();
            assert_eq!(RouteDistinguisher::from_bytes(rd.to_bytes()), rd);
        }
        assert_eq!(
            "4200000000:7"
                .parse::<RouteDistinguisher>()
                .unwrap()
                .to_string(),
            "4200000000L:7"
        );
        assert_eq!(
            "127.0.0.6:2"
                .parse::<RouteDistinguisher>()
                .unwrap()
                .to_bytes(),
            [0, 1, 127, 0, 0, 6, 0, 2]
        );
        let other = RouteDistinguisher::from_bytes([0, 9, 1, 2, 3, 4, 5, 6]);
        assert_eq!(other.to_bytes(), [0, 9, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn bad_text_is_refused() {
        for bad in [
            "",
            "64512",
            "x:1",
            "10.0.0.1:70000",
            "1:99999999999",
            "4200000000:70000",
        ] {
            assert!(bad.parse::<RouteDistinguisher>().is_err(), "{bad}");
        }
    }
}
