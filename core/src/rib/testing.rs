//! Test doubles for the NLRI and attribute types: the route table is generic, so its tests do
//! not depend on the codec.

use super::route::{RibAttributes, RibNlri};
use super::rtc::RtMembership;
use crate::wire::{Family, RouteTarget};
use std::sync::Arc;

/// A VPN-like NLRI (key: family, RD, prefix; the label is not in the key) or an RT-Constraint
/// NLRI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub(crate) enum TestNlri {
    Vpn {
        family: Family,
        rd: u32,
        prefix: u32,
        label: u32,
    },
    Rtc(RtMembership),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub(crate) enum TestKey {
    Vpn {
        family: Family,
        rd: u32,
        prefix: u32,
    },
    Rtc(RtMembership),
}

impl RibNlri for TestNlri {
    type Key = TestKey;
    fn key(&self) -> TestKey {
        match *self {
            TestNlri::Vpn {
                family, rd, prefix, ..
            } => TestKey::Vpn { family, rd, prefix },
            TestNlri::Rtc(m) => TestKey::Rtc(m),
        }
    }
    fn family(&self) -> Family {
        match self {
            TestNlri::Vpn { family, .. } => *family,
            TestNlri::Rtc(_) => Family::RTC,
        }
    }
    fn rt_membership(&self) -> Option<RtMembership> {
        match self {
            TestNlri::Rtc(m) => Some(*m),
            TestNlri::Vpn { .. } => None,
        }
    }
    fn membership_route(origin_as: u32, route_target: Option<RouteTarget>) -> Self {
        TestNlri::Rtc(match route_target {
            Some(rt) => RtMembership::exact(origin_as, rt),
            None => RtMembership::Default,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub(crate) struct TestAttrs {
    pub next_hop: u32,
    pub local_pref: Option<u32>,
    pub route_targets: Vec<RouteTarget>,
    /// Not part of forwarding (like ORIGINATOR_ID).
    pub originator: u32,
}

impl RibAttributes for TestAttrs {
    fn route_targets(&self) -> Vec<RouteTarget> {
        self.route_targets.clone()
    }
    fn local_pref(&self) -> Option<u32> {
        self.local_pref
    }
    fn same_forwarding(&self, other: &Self) -> bool {
        self.next_hop == other.next_hop
            && self.local_pref == other.local_pref
            && self.route_targets == other.route_targets
    }
}

/// Route target 64512:n.
pub(crate) fn rt(n: u32) -> RouteTarget {
    RouteTarget::As2 {
        asn: 64512,
        number: n,
    }
}

pub(crate) const RT1: u32 = 10;
pub(crate) const RT2: u32 = 20;
pub(crate) const RT3: u32 = 30;

/// A VPN-IPv4 NLRI.
pub(crate) fn vpn(rd: u32, prefix: u32, label: u32) -> TestNlri {
    TestNlri::Vpn {
        family: Family::VPNV4,
        rd,
        prefix,
        label,
    }
}

/// An E-VPN NLRI.
pub(crate) fn evpn(rd: u32, prefix: u32) -> TestNlri {
    TestNlri::Vpn {
        family: Family::EVPN,
        rd,
        prefix,
        label: 0,
    }
}

/// Attributes with a next hop and route targets 64512:n for each n.
pub(crate) fn attrs(next_hop: u32, rts: &[u32]) -> Arc<TestAttrs> {
    Arc::new(TestAttrs {
        next_hop,
        local_pref: None,
        route_targets: rts.iter().map(|n| rt(*n)).collect(),
        originator: 0,
    })
}

/// Attributes with a next hop and LOCAL_PREF.
pub(crate) fn attrs_lp(next_hop: u32, local_pref: u32) -> Arc<TestAttrs> {
    Arc::new(TestAttrs {
        next_hop,
        local_pref: Some(local_pref),
        route_targets: Vec::new(),
        originator: 0,
    })
}
