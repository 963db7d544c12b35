//! Address families (RFC 4760 §1): AFI and SAFI, and the pairs a BGP VPN speaker uses.

use core::fmt;

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Afi {
    /// 1: IPv4.
    Ipv4,
    /// 2: IPv6.
    Ipv6,
    /// 25: L2VPN (E-VPN, RFC 7432 §20).
    L2vpn,
    /// Any other value, kept as received.
    Other(u16),
}

impl Afi {
    /// The AFI for its wire value.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            1 => Afi::Ipv4,
            2 => Afi::Ipv6,
            25 => Afi::L2vpn,
            other => Afi::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
            Afi::L2vpn => 25,
            Afi::Other(v) => v,
        }
    }
}

/// Subsequent Address Family Identifier (IANA "SAFI Values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Safi {
    /// 1: unicast.
    Unicast,
    /// 2: multicast.
    Multicast,
    /// 4: labeled unicast (RFC 8277).
    Labeled,
    /// 70: E-VPN (RFC 7432).
    Evpn,
    /// 128: MPLS-labeled VPN (RFC 4364, RFC 4659).
    MplsVpn,
    /// 132: route target constraint (RFC 4684).
    RouteTargetConstraint,
    /// 133: flow specification (RFC 8955, RFC 8956).
    FlowSpec,
    /// 134: flow specification for VPNs (RFC 8955 §8).
    FlowSpecVpn,
    /// Any other value, kept as received.
    Other(u8),
}

impl Safi {
    /// The SAFI for its wire value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Safi::Unicast,
            2 => Safi::Multicast,
            4 => Safi::Labeled,
            70 => Safi::Evpn,
            128 => Safi::MplsVpn,
            132 => Safi::RouteTargetConstraint,
            133 => Safi::FlowSpec,
            134 => Safi::FlowSpecVpn,
            other => Safi::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Safi::Unicast => 1,
            Safi::Multicast => 2,
            Safi::Labeled => 4,
            Safi::Evpn => 70,
            Safi::MplsVpn => 128,
            Safi::RouteTargetConstraint => 132,
            Safi::FlowSpec => 133,
            Safi::FlowSpecVpn => 134,
            Safi::Other(v) => v,
        }
    }
}

/// An (AFI, SAFI) pair (RFC 4760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Family = Family::new(Afi::Ipv4, Safi::Unicast);
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Family = Family::new(Afi::Ipv6, Safi::Unicast);
    /// VPN-IPv4 (1/128, RFC 4364).
    pub const VPNV4: Family = Family::new(Afi::Ipv4, Safi::MplsVpn);
    /// VPN-IPv6 (2/128, RFC 4659).
    pub const VPNV6: Family = Family::new(Afi::Ipv6, Safi::MplsVpn);
    /// L2VPN E-VPN (25/70, RFC 7432).
    pub const EVPN: Family = Family::new(Afi::L2vpn, Safi::Evpn);
    /// Route target constraint (1/132, RFC 4684).
    pub const RTC: Family = Family::new(Afi::Ipv4, Safi::RouteTargetConstraint);
    /// IPv4 flow specification (1/133, RFC 8955).
    pub const FLOWSPEC_V4: Family = Family::new(Afi::Ipv4, Safi::FlowSpec);
    /// IPv6 flow specification (2/133, RFC 8956).
    pub const FLOWSPEC_V6: Family = Family::new(Afi::Ipv6, Safi::FlowSpec);
    /// VPN-IPv4 flow specification (1/134, RFC 8955 §8).
    pub const FLOWSPEC_VPNV4: Family = Family::new(Afi::Ipv4, Safi::FlowSpecVpn);
    /// VPN-IPv6 flow specification (2/134, RFC 8956).
    pub const FLOWSPEC_VPNV6: Family = Family::new(Afi::Ipv6, Safi::FlowSpecVpn);

    /// The pair `afi`/`safi`.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Family { afi, safi }
    }

    /// The pair for wire values.
    pub const fn from_wire(afi: u16, safi: u8) -> Self {
        Family::new(Afi::from_u16(afi), Safi::from_u8(safi))
    }

    /// A short name in GoBGP's vocabulary (`l2vpn-evpn`, `l3vpn-ipv4-unicast`, `rtc`, ...);
    /// `afi-N-safi-M` for families without a name.
    pub fn name(self) -> String {
        let known = match (self.afi, self.safi) {
            (Afi::Ipv4, Safi::Unicast) => "ipv4-unicast",
            (Afi::Ipv6, Safi::Unicast) => "ipv6-unicast",
            (Afi::Ipv4, Safi::Labeled) => "ipv4-labelled-unicast",
            (Afi::Ipv6, Safi::Labeled) => "ipv6-labelled-unicast",
            (Afi::Ipv4, Safi::MplsVpn) => "l3vpn-ipv4-unicast",
            (Afi::Ipv6, Safi::MplsVpn) => "l3vpn-ipv6-unicast",
            (Afi::L2vpn, Safi::Evpn) => "l2vpn-evpn",
            (Afi::Ipv4, Safi::RouteTargetConstraint) => "rtc",
            (Afi::Ipv4, Safi::FlowSpec) => "ipv4-flowspec",
            (Afi::Ipv6, Safi::FlowSpec) => "ipv6-flowspec",
            (Afi::Ipv4, Safi::FlowSpecVpn) => "l3vpn-ipv4-flowspec",
            (Afi::Ipv6, Safi::FlowSpecVpn) => "l3vpn-ipv6-flowspec",
            _ => "",
        };
        if known.is_empty() {
            format!("afi-{}-safi-{}", self.afi.to_u16(), self.safi.to_u8())
        } else {
            known.to_string()
        }
    }

    /// The family for a name as returned by [`Family::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        const KNOWN: [Family; 12] = [
            Family::IPV4_UNICAST,
            Family::IPV6_UNICAST,
            Family::new(Afi::Ipv4, Safi::Labeled),
            Family::new(Afi::Ipv6, Safi::Labeled),
            Family::VPNV4,
            Family::VPNV6,
            Family::EVPN,
            Family::RTC,
            Family::FLOWSPEC_V4,
            Family::FLOWSPEC_V6,
            Family::FLOWSPEC_VPNV4,
            Family::FLOWSPEC_VPNV6,
        ];
        KNOWN.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for v in 0..=u8::MAX {
            assert_eq!(Safi::from_u8(v).to_u8(), v);
        }
        for v in [0u16, 1, 2, 25, 26, 65535] {
            assert_eq!(Afi::from_u16(v).to_u16(), v);
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(Family::from_name("l2vpn-evpn"), Some(Family::EVPN));
        assert_eq!(Family::from_name(&Family::RTC.name()), Some(Family::RTC));
        assert_eq!(Family::from_wire(3, 9).name(), "afi-3-safi-9");
        assert_eq!(Family::from_name("afi-3-safi-9"), None);
    }
}
