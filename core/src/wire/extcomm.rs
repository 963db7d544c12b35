//! BGP Extended Communities (RFC 4360) that a VPN speaker reads and writes: route targets and
//! their relatives, tunnel encapsulation (RFC 9012 §4.1), E-VPN communities (RFC 7432 §7.5,
//! §7.7, RFC 9135 §8.1), FlowSpec actions (RFC 8955 §7, redirect to IP as GoBGP and FRR send it)
//! and the service-chaining communities of BaGPipe-BGP (draft-ietf-bess-service-chaining). Any
//! other value is kept raw.
//!
//! Decoding is total. A typed value is only chosen when re-encoding gives the same 8 octets
//! (reserved octets zero); otherwise the community stays [`ExtendedCommunity::Unknown`].

use super::label::LabelStackEntry;
use super::mac::MacAddress;
use super::route_target::RouteTarget;
use smallvec::SmallVec;
use std::net::Ipv4Addr;

/// The communities of one EXTENDED_COMMUNITIES attribute. Up to four are held inline: VPN
/// routes carry two to four (route target, encapsulation, sort order, MAC mobility), and a list
/// of their own was one of the three allocations made per decoded UPDATE.
pub type ExtendedCommunities = SmallVec<[ExtendedCommunity; 4]>;

/// A tunnel type of the Encapsulation community and Tunnel Encapsulation attribute (IANA "BGP
/// Tunnel Encapsulation Attribute Tunnel Types", RFC 9012 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelType {
    /// 1: L2TPv3 over IP.
    L2tpv3,
    /// 2: GRE (BaGPipe-BGP's MPLS-over-GRE).
    Gre,
    /// 7: IP in IP.
    IpInIp,
    /// 8: VXLAN (RFC 8365).
    Vxlan,
    /// 9: NVGRE.
    Nvgre,
    /// 10: MPLS.
    Mpls,
    /// 11: MPLS in GRE.
    MplsInGre,
    /// 12: VXLAN GPE.
    VxlanGpe,
    /// 13: MPLS in UDP.
    MplsInUdp,
    /// Any other value.
    Other(u16),
}

impl TunnelType {
    /// The tunnel type for its wire value.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            1 => TunnelType::L2tpv3,
            2 => TunnelType::Gre,
            7 => TunnelType::IpInIp,
            8 => TunnelType::Vxlan,
            9 => TunnelType::Nvgre,
            10 => TunnelType::Mpls,
            11 => TunnelType::MplsInGre,
            12 => TunnelType::VxlanGpe,
            13 => TunnelType::MplsInUdp,
            other => TunnelType::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            TunnelType::L2tpv3 => 1,
            TunnelType::Gre => 2,
            TunnelType::IpInIp => 7,
            TunnelType::Vxlan => 8,
            TunnelType::Nvgre => 9,
            TunnelType::Mpls => 10,
            TunnelType::MplsInGre => 11,
            TunnelType::VxlanGpe => 12,
            TunnelType::MplsInUdp => 13,
            TunnelType::Other(v) => v,
        }
    }
}

/// One extended community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExtendedCommunity {
    /// Route Target (RFC 4360 §4, RFC 5668): subtype 0x02 of types 0x00, 0x01, 0x02.
    RouteTarget {
        /// The route target.
        target: RouteTarget,
    },
    /// Route Origin (RFC 4360 §5): subtype 0x03, in the same three forms.
    RouteOrigin {
        /// The origin, in route-target form.
        origin: RouteTarget,
    },
    /// RT-Record (draft-ietf-bess-service-chaining §2.2): subtype 0x13, the route targets a
    /// route was readvertised from, for loop prevention.
    RtRecord {
        /// The recorded route target.
        target: RouteTarget,
    },
    /// Encapsulation (RFC 9012 §4.1): type 0x03 subtype 0x0c.
    Encapsulation {
        /// The tunnel type.
        tunnel_type: TunnelType,
    },
    /// Consistent Hash Sort Order (draft-ietf-bess-service-chaining §2.3): type 0x03 subtype
    /// 0x14, 4-octet order and 2 reserved octets.
    ConsistentHashSortOrder {
        /// The sort order.
        order: u32,
    },
    /// MAC Mobility (RFC 7432 §7.7): type 0x06 subtype 0x00.
    MacMobility {
        /// The sticky (static) flag.
        sticky: bool,
        /// The sequence number.
        sequence: u32,
    },
    /// ESI Label (RFC 7432 §7.5): type 0x06 subtype 0x01.
    EsiLabel {
        /// The single-active flag.
        single_active: bool,
        /// The ESI label.
        label: LabelStackEntry,
    },
    /// Router's MAC (RFC 9135 §8.1): type 0x06 subtype 0x03.
    RouterMac {
        /// The router's MAC address.
        mac: MacAddress,
    },
    /// FlowSpec traffic-rate in bytes (RFC 8955 §7.3): type 0x80 subtype 0x06.
    TrafficRate {
        /// The informative AS number.
        asn: u16,
        /// The rate as IEEE 754 single-precision bits (kept as bits so values compare exactly).
        rate_bits: u32,
    },
    /// FlowSpec traffic-action (RFC 8955 §7.4): type 0x80 subtype 0x07.
    TrafficAction {
        /// The sample bit.
        sample: bool,
        /// The terminal-action bit.
        terminal: bool,
    },
    /// FlowSpec redirect to a VRF by route target (RFC 8955 §7.5, RFC 7674): subtype 0x08 of
    /// types 0x80 (2-octet AS), 0x81 (IPv4), 0x82 (4-octet AS).
    RedirectToRouteTarget {
        /// The route target of the VRF to redirect to.
        target: RouteTarget,
    },
    /// FlowSpec traffic-marking (RFC 8955 §7.6): type 0x80 subtype 0x09.
    TrafficMarking {
        /// The DSCP value (6 bits).
        dscp: u8,
    },
    /// FlowSpec redirect to the IP next hop of the route (draft-simpson-idr-flowspec-redirect
    /// §2; IANA transitive type 0x08 "Flow spec redirect/mirror to IP next-hop", subtype 0x00):
    /// the target address is the route's next hop (MP_REACH_NLRI or NEXT_HOP); five reserved
    /// octets, then the C (copy) bit in the low bit of the last octet. FRR reads it.
    RedirectToIpNextHop {
        /// The C bit: redirect a copy and forward the original.
        copy: bool,
    },
    /// FlowSpec redirect to an IPv4 address (draft-ietf-idr-flowspec-redirect §3; IANA
    /// transitive IPv4-address-specific type 0x01, subtype 0x0c): the address as global
    /// administrator; the local administrator is reserved but for the C (copy) bit, its low bit.
    RedirectToIpv4 {
        /// The address to redirect to.
        address: Ipv4Addr,
        /// The C bit: redirect a copy and forward the original.
        copy: bool,
    },
    /// Color (RFC 9012 §4.3): type 0x03 subtype 0x0b, 2 flag octets and a 4-octet color, which
    /// steers a route into a tunnel or SR policy of that color.
    Color {
        /// The flags octets (RFC 9256 §8.8.1 uses the CO bits).
        flags: u16,
        /// The color.
        color: u32,
    },
    /// Any other community, as received.
    Unknown {
        /// The 8 octets.
        #[serde(serialize_with = "serialize_hex")]
        raw: [u8; 8],
    },
}

fn serialize_hex<S: serde::Serializer>(raw: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
    let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    s.serialize_str(&text)
}

impl ExtendedCommunity {
    /// Decodes one community; every value decodes (unknown ones raw).
    #[inline]
    pub fn from_bytes(raw: [u8; 8]) -> Self {
        let typed = Self::decode_typed(raw);
        match typed {
            // Route targets and their relatives keep every octet: no re-encoding to check.
            Some(
                c @ (ExtendedCommunity::RouteTarget { .. }
                | ExtendedCommunity::RouteOrigin { .. }
                | ExtendedCommunity::RtRecord { .. }),
            ) => c,
            Some(c) if c.to_bytes() == raw => c,
            _ => ExtendedCommunity::Unknown { raw },
        }
    }

    #[inline]
    fn decode_typed(raw: [u8; 8]) -> Option<Self> {
        let [t, sub, a, b, c, d, e, f] = raw;
        let value = [a, b, c, d, e, f];
        Some(match (t, sub) {
            (0x00..=0x02, 0x02) => ExtendedCommunity::RouteTarget {
                target: RouteTarget::from_parts(t, value)?,
            },
            (0x00..=0x02, 0x03) => ExtendedCommunity::RouteOrigin {
                origin: RouteTarget::from_parts(t, value)?,
            },
            (0x00..=0x02, 0x13) => ExtendedCommunity::RtRecord {
                target: RouteTarget::from_parts(t, value)?,
            },
            (0x03, 0x0c) => ExtendedCommunity::Encapsulation {
                tunnel_type: TunnelType::from_u16(u16::from_be_bytes([e, f])),
            },
            (0x03, 0x14) => ExtendedCommunity::ConsistentHashSortOrder {
                order: u32::from_be_bytes([a, b, c, d]),
            },
            (0x06, 0x00) => ExtendedCommunity::MacMobility {
                sticky: a & 0x01 != 0,
                sequence: u32::from_be_bytes([c, d, e, f]),
            },
            (0x06, 0x01) => ExtendedCommunity::EsiLabel {
                single_active: a & 0x01 != 0,
                label: LabelStackEntry::from_raw(u32::from_be_bytes([0, d, e, f])),
            },
            (0x06, 0x03) => ExtendedCommunity::RouterMac {
                mac: MacAddress(value),
            },
            (0x80, 0x06) => ExtendedCommunity::TrafficRate {
                asn: u16::from_be_bytes([a, b]),
                rate_bits: u32::from_be_bytes([c, d, e, f]),
            },
            (0x80, 0x07) => ExtendedCommunity::TrafficAction {
                sample: f & 0x02 != 0,
                terminal: f & 0x01 != 0,
            },
            (0x80..=0x82, 0x08) => ExtendedCommunity::RedirectToRouteTarget {
                target: RouteTarget::from_parts(t - 0x80, value)?,
            },
            (0x80, 0x09) => ExtendedCommunity::TrafficMarking { dscp: f },
            (0x08, 0x00) => ExtendedCommunity::RedirectToIpNextHop {
                copy: f & 0x01 != 0,
            },
            (0x01, 0x0c) => ExtendedCommunity::RedirectToIpv4 {
                address: Ipv4Addr::new(a, b, c, d),
                copy: f & 0x01 != 0,
            },
            (0x03, 0x0b) => ExtendedCommunity::Color {
                flags: u16::from_be_bytes([a, b]),
                color: u32::from_be_bytes([c, d, e, f]),
            },
            _ => return None,
        })
    }

    /// The 8 octets on the wire.
    #[inline]
    pub fn to_bytes(&self) -> [u8; 8] {
        let with = |t: u8, sub: u8, v: [u8; 6]| {
            let [a, b, c, d, e, f] = v;
            [t, sub, a, b, c, d, e, f]
        };
        match *self {
            ExtendedCommunity::RouteTarget { target } => {
                with(target.type_high(), 0x02, target.value_bytes())
            }
            ExtendedCommunity::RouteOrigin { origin } => {
                with(origin.type_high(), 0x03, origin.value_bytes())
            }
            ExtendedCommunity::RtRecord { target } => {
                with(target.type_high(), 0x13, target.value_bytes())
            }
            ExtendedCommunity::Encapsulation { tunnel_type } => {
                let [e, f] = tunnel_type.to_u16().to_be_bytes();
                [0x03, 0x0c, 0, 0, 0, 0, e, f]
            }
            ExtendedCommunity::ConsistentHashSortOrder { order } => {
                let [a, b, c, d] = order.to_be_bytes();
                [0x03, 0x14, a, b, c, d, 0, 0]
            }
            ExtendedCommunity::MacMobility { sticky, sequence } => {
                let [c, d, e, f] = sequence.to_be_bytes();
                [0x06, 0x00, u8::from(sticky), 0, c, d, e, f]
            }
            ExtendedCommunity::EsiLabel {
                single_active,
                label,
            } => {
                let [d, e, f] = label.to_bytes();
                [0x06, 0x01, u8::from(single_active), 0, 0, d, e, f]
            }
            ExtendedCommunity::RouterMac { mac } => with(0x06, 0x03, mac.0),
            ExtendedCommunity::TrafficRate { asn, rate_bits } => {
                let [a, b] = asn.to_be_bytes();
                let [c, d, e, f] = rate_bits.to_be_bytes();
                [0x80, 0x06, a, b, c, d, e, f]
            }
            ExtendedCommunity::TrafficAction { sample, terminal } => [
                0x80,
                0x07,
                0,
                0,
                0,
                0,
                0,
                u8::from(sample) << 1 | u8::from(terminal),
            ],
            ExtendedCommunity::RedirectToRouteTarget { target } => {
                with(0x80 + target.type_high(), 0x08, target.value_bytes())
            }
            ExtendedCommunity::TrafficMarking { dscp } => [0x80, 0x09, 0, 0, 0, 0, 0, dscp],
            ExtendedCommunity::RedirectToIpNextHop { copy } => {
                [0x08, 0x00, 0, 0, 0, 0, 0, u8::from(copy)]
            }
            ExtendedCommunity::RedirectToIpv4 { address, copy } => {
                let [a, b, c, d] = address.octets();
                [0x01, 0x0c, a, b, c, d, 0, u8::from(copy)]
            }
            ExtendedCommunity::Color { flags, color } => {
                let [a, b] = flags.to_be_bytes();
                let [c, d, e, f] = color.to_be_bytes();
                [0x03, 0x0b, a, b, c, d, e, f]
            }
            ExtendedCommunity::Unknown { raw } => raw,
        }
    }

    /// The route target, when this is a Route Target community.
    pub fn route_target(&self) -> Option<RouteTarget> {
        match self {
            ExtendedCommunity::RouteTarget { target } => Some(*target),
            _ => None,
        }
    }
}

/// An EXTENDED_COMMUNITIES attribute whose length is not a multiple of 8 (RFC 7606 §7.14:
/// treat-as-withdraw).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtendedCommunitiesLengthError {
    /// The attribute length.
    pub len: usize,
}

/// Decodes the value of an EXTENDED_COMMUNITIES attribute (RFC 4360 §2).
pub fn decode_extended_communities(
    value: &[u8],
) -> Result<ExtendedCommunities, ExtendedCommunitiesLengthError> {
    if !value.len().is_multiple_of(8) {
        return Err(ExtendedCommunitiesLengthError { len: value.len() });
    }
    let mut list = ExtendedCommunities::with_capacity(value.len() / 8);
    for c in value.chunks_exact(8) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(c);
        list.push(ExtendedCommunity::from_bytes(raw));
    }
    Ok(list)
}

/// Encodes communities as the value of an EXTENDED_COMMUNITIES attribute.
pub fn encode_extended_communities(list: &[ExtendedCommunity], out: &mut Vec<u8>) {
    for c in list {
        out.extend_from_slice(&c.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt(s: &str) -> RouteTarget {
        s.parse().unwrap()
    }

    #[test]
    fn rfc4360_s4_route_target_and_record_bytes() {
        let c = ExtendedCommunity::RouteTarget {
            target: rt("64512:100"),
        };
        assert_eq!(c.to_bytes(), [0x00, 0x02, 0xfc, 0x00, 0, 0, 0, 100]);
        assert_eq!(ExtendedCommunity::from_bytes(c.to_bytes()), c);
        assert_eq!(c.route_target(), Some(rt("64512:100")));
        let r = ExtendedCommunity::RtRecord {
            target: rt("64512:200"),
        };
        assert_eq!(r.to_bytes(), [0x00, 0x13, 0xfc, 0x00, 0, 0, 0, 200]);
        assert_eq!(r.route_target(), None);
    }

    #[test]
    fn rfc9012_s4_1_encapsulation_vxlan_and_mpls() {
        let vxlan = [0x03, 0x0c, 0, 0, 0, 0, 0, 8];
        assert_eq!(
            ExtendedCommunity::from_bytes(vxlan),
            ExtendedCommunity::Encapsulation {
                tunnel_type: TunnelType::Vxlan
            }
        );
        let mpls = ExtendedCommunity::Encapsulation {
            tunnel_type: TunnelType::Mpls,
        };
        assert_eq!(mpls.to_bytes(), [0x03, 0x0c, 0, 0, 0, 0, 0, 10]);
    }

    #[test]
    fn service_chaining_consistent_hash_sort_order() {
        let c = ExtendedCommunity::ConsistentHashSortOrder { order: 7 };
        assert_eq!(c.to_bytes(), [0x03, 0x14, 0, 0, 0, 7, 0, 0]);
        assert_eq!(ExtendedCommunity::from_bytes(c.to_bytes()), c);
    }

    #[test]
    fn rfc7432_s7_7_mac_mobility_and_rfc9135_router_mac() {
        let m = ExtendedCommunity::MacMobility {
            sticky: true,
            sequence: 5,
        };
        assert_eq!(m.to_bytes(), [0x06, 0x00, 1, 0, 0, 0, 0, 5]);
        let r = ExtendedCommunity::RouterMac {
            mac: "02:00:00:00:00:01".parse().unwrap(),
        };
        assert_eq!(ExtendedCommunity::from_bytes(r.to_bytes()), r);
    }

    #[test]
    fn rfc8955_s7_5_redirect_in_three_forms() {
        for (text, t) in [
            ("64512:300", 0x80),
            ("10.0.0.1:3", 0x81),
            ("4200000000:3", 0x82),
        ] {
            let c = ExtendedCommunity::RedirectToRouteTarget { target: rt(text) };
            let b = c.to_bytes();
            assert_eq!((b[0], b[1]), (t, 0x08));
            assert_eq!(ExtendedCommunity::from_bytes(b), c);
        }
    }

    #[test]
    fn rfc8955_s7_actions() {
        let a = ExtendedCommunity::TrafficAction {
            sample: true,
            terminal: false,
        };
        assert_eq!(a.to_bytes(), [0x80, 0x07, 0, 0, 0, 0, 0, 2]);
        let rate = ExtendedCommunity::TrafficRate {
            asn: 64512,
            rate_bits: 0f32.to_bits(),
        };
        assert_eq!(ExtendedCommunity::from_bytes(rate.to_bytes()), rate);
        let mark = ExtendedCommunity::TrafficMarking { dscp: 46 };
        assert_eq!(mark.to_bytes(), [0x80, 0x09, 0, 0, 0, 0, 0, 46]);
    }

    #[test]
    fn draft_simpson_redirect_to_ip_next_hop_with_copy_bit() {
        // As FRR reads it: type 0x08, subtype 0x00, the C bit in the last octet.
        let c = ExtendedCommunity::from_bytes([0x08, 0x00, 0, 0, 0, 0, 0, 1]);
        assert_eq!(c, ExtendedCommunity::RedirectToIpNextHop { copy: true });
        assert_eq!(
            ExtendedCommunity::RedirectToIpNextHop { copy: false }.to_bytes(),
            [0x08, 0x00, 0, 0, 0, 0, 0, 0]
        );
        // Reserved octets that are not zero keep it raw, so that it re-encodes exactly.
        let raw = [0x08, 0x00, 0, 0, 0, 0, 1, 1];
        assert_eq!(
            ExtendedCommunity::from_bytes(raw),
            ExtendedCommunity::Unknown { raw }
        );
    }

    #[test]
    fn draft_ietf_idr_flowspec_redirect_s3_redirect_to_ipv4() {
        let c = ExtendedCommunity::RedirectToIpv4 {
            address: Ipv4Addr::new(192, 0, 2, 1),
            copy: false,
        };
        assert_eq!(c.to_bytes(), [0x01, 0x0c, 192, 0, 2, 1, 0, 0]);
        assert_eq!(ExtendedCommunity::from_bytes(c.to_bytes()), c);
        assert_eq!(
            ExtendedCommunity::from_bytes([0x01, 0x0c, 192, 0, 2, 1, 0, 1]),
            ExtendedCommunity::RedirectToIpv4 {
                address: Ipv4Addr::new(192, 0, 2, 1),
                copy: true
            }
        );
    }

    #[test]
    fn rfc9012_s4_3_color() {
        let c = ExtendedCommunity::Color {
            flags: 0x4000,
            color: 100,
        };
        assert_eq!(c.to_bytes(), [0x03, 0x0b, 0x40, 0, 0, 0, 0, 100]);
        assert_eq!(ExtendedCommunity::from_bytes(c.to_bytes()), c);
    }

    #[test]
    fn nonzero_reserved_octets_stay_raw() {
        // An encapsulation community with a non-zero reserved octet would not re-encode exactly.
        let raw = [0x03, 0x0c, 0, 1, 0, 0, 0, 8];
        assert_eq!(
            ExtendedCommunity::from_bytes(raw),
            ExtendedCommunity::Unknown { raw }
        );
    }

    #[test]
    fn rfc7606_s7_14_length_not_multiple_of_eight() {
        assert_eq!(
            decode_extended_communities(&[0; 12]),
            Err(ExtendedCommunitiesLengthError { len: 12 })
        );
        assert!(decode_extended_communities(&[]).unwrap().is_empty());
    }

    /// Octets that are mostly typed communities: a known (type, subtype) pair with random or
    /// zero value octets.
    fn community_bytes() -> impl Strategy<Value = [u8; 8]> {
        let known = prop_oneof![
            Just([0x00u8, 0x02]),
            Just([0x01, 0x02]),
            Just([0x02, 0x02]),
            Just([0x01, 0x0c]),
            Just([0x03, 0x0b]),
            Just([0x03, 0x0c]),
            Just([0x03, 0x14]),
            Just([0x06, 0x00]),
            Just([0x06, 0x01]),
            Just([0x06, 0x03]),
            Just([0x08, 0x00]),
            Just([0x80, 0x06]),
            Just([0x80, 0x07]),
            Just([0x80, 0x08]),
            Just([0x81, 0x08]),
            Just([0x82, 0x08]),
            Just([0x80, 0x09]),
        ];
        let value = prop_oneof![
            any::<[u8; 6]>(),
            any::<u8>().prop_map(|v| [0, 0, 0, 0, 0, v]),
            (any::<[u8; 4]>(), any::<u8>()).prop_map(|(a, v)| [a[0], a[1], a[2], a[3], 0, v]),
        ];
        prop_oneof![
            (known, value).prop_map(|([t, s], [a, b, c, d, e, f])| [t, s, a, b, c, d, e, f]),
            any::<[u8; 8]>(),
        ]
    }

    proptest! {
        #[test]
        fn typed_communities_round_trip_exactly(raw in community_bytes()) {
            let c = ExtendedCommunity::from_bytes(raw);
            prop_assert_eq!(c.to_bytes(), raw);
            prop_assert_eq!(ExtendedCommunity::from_bytes(c.to_bytes()), c);
        }

        #[test]
        fn every_community_round_trips_exactly(raw: [u8; 8]) {
            let c = ExtendedCommunity::from_bytes(raw);
            prop_assert_eq!(c.to_bytes(), raw);
        }

        #[test]
        fn lists_round_trip(raws in prop::collection::vec(any::<[u8; 8]>(), 0..10)) {
            let bytes: Vec<u8> = raws.concat();
            let list = decode_extended_communities(&bytes).unwrap();
            let mut out = Vec::new();
            encode_extended_communities(&list, &mut out);
            prop_assert_eq!(out, bytes);
        }
    }
}
