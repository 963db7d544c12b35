//! The route engine over the wire codec's types: the route key of every NLRI (RFC 4364 §4.1,
//! RFC 7432 §7, RFC 9136 §3.2, RFC 4684 §4, RFC 8955 §5) and the attributes a stored route keeps.

use super::route::{RibAttributes, RibNlri};
use super::rtc::RtMembership;
use crate::wire::attr::{code, NextHop, PathAttribute, PathAttributes};
use crate::wire::extcomm::ExtendedCommunity;
use crate::wire::family::Family;
use crate::wire::nlri::{
    Esi, EvpnRoute, FlowSpecRule, IpPrefix, Ipv4Prefix, Ipv6Prefix, Nlri, PathNlri, RtcMembership,
};
use crate::wire::update::Update;
use crate::wire::{MacAddress, RouteDistinguisher, RouteTarget};
use core::cmp::Ordering;
use std::net::IpAddr;

/// What identifies a route within its family: the NLRI without the fields that are not part of
/// the key (labels; for E-VPN MAC/IP the ESI too, RFC 7432 §7.2). Two routes with one key from
/// one source replace each other.
///
/// Ordered as if `Ord` were derived (variant, then fields), by integer comparisons: the derived
/// order compares addresses octet by octet, which was a sixth of the time spent on a received
/// route (Adj-RIB-In lookups).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NlriKey {
    /// IPv4 unicast.
    Ipv4(Ipv4Prefix),
    /// IPv6 unicast.
    Ipv6(Ipv6Prefix),
    /// VPN-IPv4/IPv6: RD and prefix (RFC 4364 §4.1).
    Vpn(RouteDistinguisher, IpPrefix),
    /// E-VPN Ethernet A-D: RD, ESI, Ethernet tag (RFC 7432 §7.1).
    EvpnAutoDiscovery(RouteDistinguisher, Esi, u32),
    /// E-VPN MAC/IP: RD, Ethernet tag, MAC, IP (RFC 7432 §7.2).
    EvpnMacIp(RouteDistinguisher, u32, MacAddress, Option<IpAddr>),
    /// E-VPN inclusive multicast: RD, Ethernet tag, originator (RFC 7432 §7.3).
    EvpnMulticast(RouteDistinguisher, u32, IpAddr),
    /// E-VPN Ethernet segment: RD, ESI, originator (RFC 7432 §7.4).
    EvpnSegment(RouteDistinguisher, Esi, IpAddr),
    /// E-VPN IP prefix: RD, Ethernet tag, prefix (RFC 9136 §3.2).
    EvpnPrefix(RouteDistinguisher, u32, IpPrefix),
    /// E-VPN route of another type: all of it.
    EvpnOther(u8, Vec<u8>),
    /// RT-Constraint: the whole NLRI (RFC 4684 §4).
    Rtc(RtcMembership),
    /// FlowSpec: the whole rule, RD included (RFC 8955 §5).
    FlowSpec(FlowSpecRule),
}

impl NlriKey {
    fn variant(&self) -> u8 {
        match self {
            NlriKey::Ipv4(_) => 0,
            NlriKey::Ipv6(_) => 1,
            NlriKey::Vpn(..) => 2,
            NlriKey::EvpnAutoDiscovery(..) => 3,
            NlriKey::EvpnMacIp(..) => 4,
            NlriKey::EvpnMulticast(..) => 5,
            NlriKey::EvpnSegment(..) => 6,
            NlriKey::EvpnPrefix(..) => 7,
            NlriKey::EvpnOther(..) => 8,
            NlriKey::Rtc(_) => 9,
            NlriKey::FlowSpec(_) => 10,
        }
    }
}

impl Ord for NlriKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use NlriKey as K;
        match (self, other) {
            (K::Vpn(rd, p), K::Vpn(rd2, p2)) => cmp_rd(rd, rd2).then_with(|| cmp_ip_prefix(p, p2)),
            (K::EvpnMacIp(rd, tag, mac, ip), K::EvpnMacIp(rd2, tag2, mac2, ip2)) => cmp_rd(rd, rd2)
                .then_with(|| tag.cmp(tag2))
                .then_with(|| mac.cmp(mac2))
                .then_with(|| match (ip, ip2) {
                    (Some(a), Some(b)) => cmp_ip(a, b),
                    (a, b) => a.is_some().cmp(&b.is_some()),
                }),
            (K::Ipv4(a), K::Ipv4(b)) => cmp_ipv4_prefix(a, b),
            (K::Ipv6(a), K::Ipv6(b)) => cmp_ipv6_prefix(a, b),
            (K::EvpnAutoDiscovery(rd, esi, tag), K::EvpnAutoDiscovery(rd2, esi2, tag2)) => {
                cmp_rd(rd, rd2).then_with(|| (esi, tag).cmp(&(esi2, tag2)))
            }
            (K::EvpnMulticast(rd, tag, ip), K::EvpnMulticast(rd2, tag2, ip2)) => cmp_rd(rd, rd2)
                .then_with(|| tag.cmp(tag2))
                .then_with(|| cmp_ip(ip, ip2)),
            (K::EvpnSegment(rd, esi, ip), K::EvpnSegment(rd2, esi2, ip2)) => cmp_rd(rd, rd2)
                .then_with(|| esi.cmp(esi2))
                .then_with(|| cmp_ip(ip, ip2)),
            (K::EvpnPrefix(rd, tag, p), K::EvpnPrefix(rd2, tag2, p2)) => cmp_rd(rd, rd2)
                .then_with(|| tag.cmp(tag2))
                .then_with(|| cmp_ip_prefix(p, p2)),
            (K::EvpnOther(c, v), K::EvpnOther(c2, v2)) => (c, v).cmp(&(c2, v2)),
            (K::Rtc(a), K::Rtc(b)) => a.cmp(b),
            (K::FlowSpec(a), K::FlowSpec(b)) => a.cmp(b),
            _ => self.variant().cmp(&other.variant()),
        }
    }
}

impl PartialOrd for NlriKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The derived order of [`RouteDistinguisher`] (variant, then fields), by integers.
#[inline]
pub(crate) fn cmp_rd(a: &RouteDistinguisher, b: &RouteDistinguisher) -> Ordering {
    fn rank(rd: &RouteDistinguisher) -> (u8, u64) {
        match *rd {
            RouteDistinguisher::As2 { asn, number } => {
                (0, u64::from(asn) << 32 | u64::from(number))
            }
            RouteDistinguisher::Ipv4 { addr, number } => {
                (1, u64::from(u32::from(addr)) << 16 | u64::from(number))
            }
            RouteDistinguisher::As4 { asn, number } => {
                (2, u64::from(asn) << 16 | u64::from(number))
            }
            RouteDistinguisher::Other { rd_type, value } => {
                let mut v = [0u8; 8];
                v[2..].copy_from_slice(&value);
                (3, u64::from(rd_type) << 48 | u64::from_be_bytes(v))
            }
        }
    }
    rank(a).cmp(&rank(b))
}

/// The order of [`IpAddr`] (IPv4 first), by integers.
pub(crate) fn cmp_ip(a: &IpAddr, b: &IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(*a).cmp(&u32::from(*b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(*a).cmp(&u128::from(*b)),
        (a, b) => a.is_ipv6().cmp(&b.is_ipv6()),
    }
}

fn cmp_ipv4_prefix(a: &Ipv4Prefix, b: &Ipv4Prefix) -> Ordering {
    (u32::from(a.addr), a.len).cmp(&(u32::from(b.addr), b.len))
}

fn cmp_ipv6_prefix(a: &Ipv6Prefix, b: &Ipv6Prefix) -> Ordering {
    (u128::from(a.addr), a.len).cmp(&(u128::from(b.addr), b.len))
}

/// The derived order of [`IpPrefix`] (IPv4 first, address, length), by integers.
#[inline]
pub(crate) fn cmp_ip_prefix(a: &IpPrefix, b: &IpPrefix) -> Ordering {
    match (a, b) {
        (IpPrefix::V4(a), IpPrefix::V4(b)) => cmp_ipv4_prefix(a, b),
        (IpPrefix::V6(a), IpPrefix::V6(b)) => cmp_ipv6_prefix(a, b),
        (IpPrefix::V4(_), IpPrefix::V6(_)) => Ordering::Less,
        (IpPrefix::V6(_), IpPrefix::V4(_)) => Ordering::Greater,
    }
}

impl RibNlri for Nlri {
    type Key = NlriKey;

    fn key(&self) -> NlriKey {
        match self {
            Nlri::Ipv4Unicast(p) => NlriKey::Ipv4(*p),
            Nlri::Ipv6Unicast(p) => NlriKey::Ipv6(*p),
            Nlri::Vpn(v) => NlriKey::Vpn(v.rd, v.prefix),
            Nlri::Evpn(e) => match e {
                EvpnRoute::EthernetAutoDiscovery {
                    rd,
                    esi,
                    ethernet_tag,
                    ..
                } => NlriKey::EvpnAutoDiscovery(*rd, *esi, *ethernet_tag),
                EvpnRoute::MacIpAdvertisement {
                    rd,
                    ethernet_tag,
                    mac,
                    ip,
                    ..
                } => NlriKey::EvpnMacIp(*rd, *ethernet_tag, *mac, *ip),
                EvpnRoute::InclusiveMulticast {
                    rd,
                    ethernet_tag,
                    originator,
                } => NlriKey::EvpnMulticast(*rd, *ethernet_tag, *originator),
                EvpnRoute::EthernetSegment {
                    rd,
                    esi,
                    originator,
                } => NlriKey::EvpnSegment(*rd, *esi, *originator),
                EvpnRoute::IpPrefix {
                    rd,
                    ethernet_tag,
                    prefix,
                    ..
                } => NlriKey::EvpnPrefix(*rd, *ethernet_tag, *prefix),
                EvpnRoute::Unknown { code, value } => NlriKey::EvpnOther(*code, value.clone()),
            },
            Nlri::Rtc(m) => NlriKey::Rtc(*m),
            Nlri::FlowSpec(f) => NlriKey::FlowSpec(f.clone()),
        }
    }

    fn family(&self) -> Family {
        Nlri::family(self)
    }

    fn rt_membership(&self) -> Option<RtMembership> {
        match self {
            Nlri::Rtc(RtcMembership::Default) => Some(RtMembership::Default),
            Nlri::Rtc(RtcMembership::Prefix {
                origin_as,
                len,
                target,
            }) => RtMembership::from_prefix(*len, *origin_as, *target),
            _ => None,
        }
    }

    fn membership_route(origin_as: u32, route_target: Option<RouteTarget>) -> Self {
        Nlri::Rtc(match route_target {
            Some(rt) => RtcMembership::exact(origin_as, rt),
            None => RtcMembership::Default,
        })
    }
}

/// The attributes a stored route keeps: its next hop and the UPDATE's path attributes without
/// MP_REACH_NLRI/MP_UNREACH_NLRI. Every route of one UPDATE shares one of these.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteAttributes {
    /// The next hop: from MP_REACH_NLRI, or the NEXT_HOP attribute for IPv4 unicast.
    pub next_hop: NextHop,
    /// The other path attributes.
    pub attributes: PathAttributes,
}

impl RouteAttributes {
    /// The attributes of the routes an UPDATE announces, and those routes (the classic NLRI,
    /// then MP_REACH_NLRI's), taken out of the UPDATE: every route of the UPDATE shares the
    /// attributes, which are moved rather than copied (a copy was a twentieth of the time spent
    /// on an UPDATE with one route).
    pub fn take_from(update: Update) -> (Self, Vec<PathNlri>) {
        let Update {
            nlri: mut routes,
            attributes,
            ..
        } = update;
        let classic_next_hop = attributes.get(code::NEXT_HOP).and_then(|a| match a {
            PathAttribute::NextHop(a) => Some(NextHop::Ipv4(*a)),
            _ => None,
        });
        // The first MP_REACH_NLRI counts, as `PathAttributes::mp_reach` finds it.
        let mut mp_reach = None;
        let mut list = attributes.list;
        list.retain_mut(|a| match a {
            PathAttribute::MpReach(m) => {
                if mp_reach.is_none() {
                    mp_reach = Some((
                        std::mem::replace(&mut m.next_hop, NextHop::None),
                        std::mem::take(&mut m.nlri),
                    ));
                }
                false
            }
            PathAttribute::MpUnreach(_) => false,
            _ => true,
        });
        // The routes keep these for as long as they are stored: no spare room beyond the slot
        // MP_REACH_NLRI leaves (the decoder sizes the list exactly; a reallocation to recover
        // one slot would cost more than the copy this function avoids).
        if list.capacity() > list.len() + 1 {
            list.shrink_to_fit();
        }
        let next_hop = match mp_reach {
            Some((next_hop, mp_routes)) => {
                if routes.is_empty() {
                    routes = mp_routes;
                } else {
                    routes.extend(mp_routes);
                }
                next_hop
            }
            None => classic_next_hop.unwrap_or(NextHop::None),
        };
        let attributes = RouteAttributes {
            next_hop,
            attributes: PathAttributes { list },
        };
        (attributes, routes)
    }
}

impl RibAttributes for RouteAttributes {
    fn route_targets(&self) -> Vec<RouteTarget> {
        self.attributes
            .extended_communities()
            .iter()
            .filter_map(ExtendedCommunity::route_target)
            .collect()
    }

    fn local_pref(&self) -> Option<u32> {
        self.attributes.local_pref()
    }

    fn mac_mobility(&self) -> Option<(bool, u32)> {
        self.attributes
            .extended_communities()
            .iter()
            .find_map(|c| match c {
                ExtendedCommunity::MacMobility { sticky, sequence } => Some((*sticky, *sequence)),
                _ => None,
            })
    }

    /// Reference §1.6: next hop, PMSI tunnel, MED, extended communities and LOCAL_PREF decide
    /// forwarding; AS_PATH, ORIGINATOR_ID, CLUSTER_LIST and the like do not.
    fn same_forwarding(&self, other: &Self) -> bool {
        let forwarding = |a: &Self| {
            (
                a.next_hop.clone(),
                a.attributes.pmsi_tunnel().cloned(),
                a.attributes.get(code::MED).cloned(),
                a.attributes.extended_communities().to_vec(),
                a.attributes.local_pref(),
            )
        };
        forwarding(self) == forwarding(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::{InstanceId, PeerSession, RibConfig, RouteEvent, RouteTable, Subscription};
    use crate::speaker::PeerId;
    use crate::time::Instant;
    use crate::wire::update::{decode_update, Disposition};
    use crate::wire::DecodeContext;
    use std::sync::Arc;

    /// The E-VPN MAC/IP UPDATE GoBGP sent in conformance/vectors/gobgp (body after the header):
    /// ORIGIN, AS_PATH, LOCAL_PREF, then MP_REACH, then RT 64512:100 and VXLAN encapsulation.
    fn gobgp_mac_ip(ip_last: u8, vni: u8) -> Vec<u8> {
        let nlri = [
            2, 37, 0, 1, 127, 0, 0, 2, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 48, 0x52,
            0x54, 0, 0x12, 0x34, 0x56, 32, 10, 0, 0, ip_last, 0, 0x0b, vni,
        ];
        let mut mp = vec![0, 25, 70, 4, 127, 0, 0, 2, 0];
        mp.extend(nlri);
        let mut attrs = vec![
            0x40,
            1,
            1,
            2,
            0x40,
            2,
            0,
            0x40,
            5,
            4,
            0,
            0,
            0,
            100,
            0x90,
            14,
            0,
            mp.len() as u8,
        ];
        attrs.extend(mp);
        attrs.extend([
            0xc0, 16, 16, 0, 2, 0xfc, 0, 0, 0, 0, 100, 3, 0x0c, 0, 0, 0, 0, 0, 8,
        ]);
        let mut body = vec![0, 0, 0, attrs.len() as u8];
        body.extend(attrs);
        body
    }

    #[test]
    fn rfc7432_s7_2_mac_ip_key_ignores_label_and_esi() {
        let ctx = DecodeContext {
            families: [Family::EVPN].into(),
            ..DecodeContext::default()
        };
        let a = decode_update(&gobgp_mac_ip(5, 0xb8), &ctx).update;
        let b = decode_update(&gobgp_mac_ip(5, 0xb9), &ctx).update;
        let c = decode_update(&gobgp_mac_ip(6, 0xb8), &ctx).update;
        let nlri = |u: &Update| u.attributes.mp_reach().unwrap().nlri[0].nlri.clone();
        assert_eq!(
            nlri(&a).key(),
            nlri(&b).key(),
            "a new VNI is the same route, changed"
        );
        assert_ne!(nlri(&a), nlri(&b));
        assert_ne!(
            nlri(&a).key(),
            nlri(&c).key(),
            "another IP is another route"
        );
    }

    #[test]
    fn rfc4684_membership_routes_convert_both_ways() {
        let rt: RouteTarget = "64512:100".parse().unwrap();
        let n = <Nlri as RibNlri>::membership_route(64512, Some(rt));
        assert_eq!(n.rt_membership(), Some(RtMembership::exact(64512, rt)));
        assert_eq!(
            <Nlri as RibNlri>::membership_route(64512, None).rt_membership(),
            Some(RtMembership::Default)
        );
    }

    #[test]
    fn a_decoded_gobgp_update_reaches_the_subscribed_instance() {
        let ctx = DecodeContext {
            families: [Family::EVPN].into(),
            ..DecodeContext::default()
        };
        let decoded = decode_update(&gobgp_mac_ip(5, 0xb8), &ctx);
        assert_eq!(decoded.disposition, Disposition::Accepted);
        let (attrs, routes) = RouteAttributes::take_from(decoded.update.clone());
        let attrs = Arc::new(attrs);
        assert_eq!(attrs.next_hop, NextHop::Ipv4("127.0.0.2".parse().unwrap()));
        assert_eq!(routes, decoded.update.attributes.mp_reach().unwrap().nlri);
        assert!(attrs.attributes.mp_reach().is_none());
        let rt: RouteTarget = "64512:100".parse().unwrap();
        assert_eq!(attrs.route_targets(), vec![rt]);

        let empty = Arc::new(RouteAttributes {
            next_hop: NextHop::None,
            attributes: PathAttributes::default(),
        });
        let mut table: RouteTable<Nlri, RouteAttributes> =
            RouteTable::new(RibConfig::new(64512), empty);
        let instance = InstanceId(1);
        table.subscribe(instance, Subscription::new(Family::EVPN, rt));
        let peer = PeerId(0);
        table.peer_up(
            Instant::ZERO,
            peer,
            PeerSession {
                families: [Family::EVPN].into(),
                graceful_restart: None,
            },
        );
        for n in &decoded.update.attributes.mp_reach().unwrap().nlri {
            table
                .peer_announce(peer, n.nlri.clone(), attrs.clone())
                .unwrap();
        }
        let event = table
            .poll_instance_event()
            .expect("the instance gets the route");
        assert_eq!(event.instance, instance);
        let RouteEvent::Advertised(route) = event.event else {
            panic!("{:?}", event.event)
        };
        assert!(matches!(
            route.nlri(),
            Nlri::Evpn(EvpnRoute::MacIpAdvertisement { .. })
        ));
        assert_eq!(route.route_targets(), &[rt]);
    }

    /// The integer comparisons give the order `Ord` derived on the fields' types would.
    #[test]
    fn key_order_is_the_derived_order() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        let rds = [
            RouteDistinguisher::As2 { asn: 1, number: 7 },
            RouteDistinguisher::As2 { asn: 2, number: 0 },
            RouteDistinguisher::Ipv4 {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                number: 9,
            },
            RouteDistinguisher::Ipv4 {
                addr: Ipv4Addr::new(9, 255, 0, 1),
                number: 10,
            },
            RouteDistinguisher::As4 {
                asn: 70000,
                number: 1,
            },
            RouteDistinguisher::Other {
                rd_type: 9,
                value: [1, 2, 3, 4, 5, 6],
            },
        ];
        let v4 = |a: [u8; 4], len| {
            IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::from(a), len).unwrap_or_else(|| unreachable!()))
        };
        let prefixes = [
            v4([10, 0, 0, 0], 8),
            v4([10, 0, 0, 0], 24),
            v4([9, 1, 0, 0], 16),
            v4([200, 1, 2, 0], 24),
            IpPrefix::V6(
                Ipv6Prefix::new(Ipv6Addr::LOCALHOST, 128).unwrap_or_else(|| unreachable!()),
            ),
        ];
        let ips = [
            None,
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            Some(IpAddr::V4(Ipv4Addr::new(9, 0, 0, 3))),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        let macs = [
            MacAddress([0, 0, 0, 0, 0, 1]),
            MacAddress([2, 0, 0, 0, 0, 0]),
        ];
        let mut keys = Vec::new();
        for rd in rds {
            for p in prefixes {
                keys.push(NlriKey::Vpn(rd, p));
                keys.push(NlriKey::EvpnPrefix(rd, 1, p));
            }
            for ip in ips {
                for mac in macs {
                    keys.push(NlriKey::EvpnMacIp(rd, 0, mac, ip));
                }
                if let Some(ip) = ip {
                    keys.push(NlriKey::EvpnMulticast(rd, 0, ip));
                }
            }
        }
        for a in &keys {
            for b in &keys {
                let derived = match (a, b) {
                    (NlriKey::Vpn(r, p), NlriKey::Vpn(r2, p2)) => (r, p).cmp(&(r2, p2)),
                    (NlriKey::EvpnPrefix(r, t, p), NlriKey::EvpnPrefix(r2, t2, p2)) => {
                        (r, t, p).cmp(&(r2, t2, p2))
                    }
                    (NlriKey::EvpnMacIp(r, t, m, i), NlriKey::EvpnMacIp(r2, t2, m2, i2)) => {
                        (r, t, m, i).cmp(&(r2, t2, m2, i2))
                    }
                    (NlriKey::EvpnMulticast(r, t, i), NlriKey::EvpnMulticast(r2, t2, i2)) => {
                        (r, t, i).cmp(&(r2, t2, i2))
                    }
                    _ => a.variant().cmp(&b.variant()),
                };
                assert_eq!(a.cmp(b), derived, "{a:?} vs {b:?}");
            }
        }
    }
}
