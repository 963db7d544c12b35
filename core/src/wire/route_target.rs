//! Route Target (RFC 4360 §4, RFC 5668): the key by which VPN routes are imported and exported.

use super::rd::{ParseAdminValueError, RouteDistinguisher};
use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

/// A Route Target extended community value, in its three forms (RFC 4360 §4 types 0x00/0x01
/// subtype 0x02, RFC 5668 type 0x02 subtype 0x02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouteTarget {
    /// 2-octet AS specific (type 0x00): `asn:number`.
    As2 {
        /// Global administrator.
        asn: u16,
        /// Local administrator.
        number: u32,
    },
    /// IPv4 address specific (type 0x01): `addr:number`.
    Ipv4 {
        /// Global administrator.
        addr: Ipv4Addr,
        /// Local administrator.
        number: u16,
    },
    /// 4-octet AS specific (type 0x02, RFC 5668): `asnL:number`.
    As4 {
        /// Global administrator.
        asn: u32,
        /// Local administrator.
        number: u16,
    },
}

impl RouteTarget {
    /// The route-target subtype (RFC 4360 §4).
    pub const SUBTYPE: u8 = 0x02;

    /// The high-order type octet for this form, transitive (RFC 4360 §3).
    pub const fn type_high(self) -> u8 {
        match self {
            RouteTarget::As2 { .. } => 0x00,
            RouteTarget::Ipv4 { .. } => 0x01,
            RouteTarget::As4 { .. } => 0x02,
        }
    }

    /// The 6-octet value part (global and local administrator).
    pub fn value_bytes(self) -> [u8; 6] {
        let mut v = [0u8; 6];
        match self {
            RouteTarget::As2 { asn, number } => {
                v[..2].copy_from_slice(&asn.to_be_bytes());
                v[2..].copy_from_slice(&number.to_be_bytes());
            }
            RouteTarget::Ipv4 { addr, number } => {
                v[..4].copy_from_slice(&addr.octets());
                v[4..].copy_from_slice(&number.to_be_bytes());
            }
            RouteTarget::As4 { asn, number } => {
                v[..4].copy_from_slice(&asn.to_be_bytes());
                v[4..].copy_from_slice(&number.to_be_bytes());
            }
        }
        v
    }

    /// The route target for a type octet (high type, ignoring the transitive bit's meaning) and
    /// the 6 value octets; `None` for a type that is not a route-target form.
    pub fn from_parts(type_high: u8, value: [u8; 6]) -> Option<Self> {
        let [a, b, c, d, e, f] = value;
        match type_high & 0x3f {
            0x00 => Some(RouteTarget::As2 {
                asn: u16::from_be_bytes([a, b]),
                number: u32::from_be_bytes([c, d, e, f]),
            }),
            0x01 => Some(RouteTarget::Ipv4 {
                addr: Ipv4Addr::new(a, b, c, d),
                number: u16::from_be_bytes([e, f]),
            }),
            0x02 => Some(RouteTarget::As4 {
                asn: u32::from_be_bytes([a, b, c, d]),
                number: u16::from_be_bytes([e, f]),
            }),
            _ => None,
        }
    }

    /// The whole 8-octet extended community (type, subtype 0x02, value).
    pub fn to_extended_community_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[0] = self.type_high();
        out[1] = Self::SUBTYPE;
        out[2..].copy_from_slice(&self.value_bytes());
        out
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteTarget::As2 { asn, number } => write!(f, "{asn}:{number}"),
            RouteTarget::Ipv4 { addr, number } => write!(f, "{addr}:{number}"),
            RouteTarget::As4 { asn, number } => write!(f, "{asn}L:{number}"),
        }
    }
}

impl FromStr for RouteTarget {
    type Err = ParseAdminValueError;

    /// Parses `64512:100`, `10.0.0.1:5`, `4200000000:7` or `65000L:7`: the same three
    /// administrator forms, with the same field sizes, as a route distinguisher (RFC 4364 §4.2).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<RouteDistinguisher>()? {
            RouteDistinguisher::As2 { asn, number } => RouteTarget::As2 { asn, number },
            RouteDistinguisher::Ipv4 { addr, number } => RouteTarget::Ipv4 { addr, number },
            RouteDistinguisher::As4 { asn, number } => RouteTarget::As4 { asn, number },
            RouteDistinguisher::Other { .. } => {
                return Err(ParseAdminValueError(format!("{s:?}: not a route target")))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4360_s4_route_target_forms_round_trip() {
        for text in ["64512:100", "10.0.0.1:5", "4200000000:7"] {
            let rt: RouteTarget = text.parse().unwrap();
            let b = rt.to_extended_community_bytes();
            assert_eq!(b[1], RouteTarget::SUBTYPE);
            let back = RouteTarget::from_parts(b[0], b[2..].try_into().unwrap()).unwrap();
            assert_eq!(back, rt);
        }
        assert_eq!(
            "64512:100"
                .parse::<RouteTarget>()
                .unwrap()
                .to_extended_community_bytes(),
            [0x00, 0x02, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x64]
        );
        assert!("1.2.3.4:70000".parse::<RouteTarget>().is_err());
        assert_eq!(RouteTarget::from_parts(0x06, [0; 6]), None);
    }
}
