//! The route engine over the wire codec's types: the route key of every NLRI (RFC 4364 §4.1,
//! RFC 7432 §7, RFC 9136 §3.2, RFC 4684 §4, RFC 8955 §5) and the attributes a stored route keeps.

use super::route::{RibAttributes, RibNlri};
use super::rtc::RtMembership;
use crate::wire::attr::{code, NextHop, PathAttribute, PathAttributes};
use crate::wire::extcomm::ExtendedCommunity;
use crate::wire::family::Family;
use crate::wire::nlri::{
    Esi, EvpnRoute, FlowSpecRule, IpPrefix, Ipv4Prefix, Ipv6Prefix, Nlri, RtcMembership,
};
use crate::wire::update::Update;
use crate::wire::{MacAddress, RouteDistinguisher, RouteTarget};
use std::net::IpAddr;

/// What identifies a route within its family: the NLRI without the fields that are not part of
/// the key (labels; for E-VPN MAC/IP the ESI too, RFC 7432 §7.2). Two routes with one key from
/// one source replace each other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// The attributes of the routes an UPDATE announces.
    pub fn from_update(update: &Update) -> Self {
        let next_hop = match (
            update.attributes.mp_reach(),
            update.attributes.get(code::NEXT_HOP),
        ) {
            (Some(mp), _) => mp.next_hop.clone(),
            (None, Some(PathAttribute::NextHop(a))) => NextHop::Ipv4(*a),
            _ => NextHop::None,
        };
        let list = update
            .attributes
            .list
            .iter()
            .filter(|a| !matches!(a, PathAttribute::MpReach(_) | PathAttribute::MpUnreach(_)))
            .cloned()
            .collect();
        RouteAttributes {
            next_hop,
            attributes: PathAttributes { list },
        }
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
        let attrs = Arc::new(RouteAttributes::from_update(&decoded.update));
        assert_eq!(attrs.next_hop, NextHop::Ipv4("127.0.0.2".parse().unwrap()));
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
}
