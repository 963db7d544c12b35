use super::*;
use crate::wire::label::{Label, LabelStackEntry, Vni};
use crate::wire::mac::MacAddress;
use crate::wire::rd::RouteDistinguisher;
use crate::wire::route_target::RouteTarget;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn round_trip(family: Family, entry: &PathNlri) -> Vec<u8> {
    let mut out = Vec::new();
    encode_nlri(entry, &mut out);
    assert_eq!(out.len(), encoded_len(entry), "encoded_len of {entry:?}");
    let back = decode_nlri(family, &out, entry.path_id.is_some()).unwrap();
    assert_eq!(back, vec![entry.clone()]);
    out
}

fn kind(family: Family, bytes: &[u8]) -> NlriErrorKind {
    decode_nlri(family, bytes, false).unwrap_err().kind
}

#[test]
fn rfc4364_s4_3_4_vpnv4_route_exact_bytes() {
    // 127.0.0.6:2:10.50.0.11/32 label 18, as BaGPipe-BGP advertises an IP-VPN port.
    let route = VpnRoute::new(
        "127.0.0.6:2".parse().unwrap(),
        IpPrefix::V4(Ipv4Prefix::new(Ipv4Addr::new(10, 50, 0, 11), 32).unwrap()),
        vec![LabelStackEntry::from_label(Label::new(18).unwrap(), true)],
    )
    .unwrap();
    let bytes = round_trip(Family::VPNV4, &PathNlri::new(Nlri::Vpn(route)));
    assert_eq!(
        bytes,
        [
            24 + 64 + 32,
            0x00,
            0x01,
            0x21,
            0,
            1,
            127,
            0,
            0,
            6,
            0,
            2,
            10,
            50,
            0,
            11
        ]
    );
}

#[test]
fn rfc8277_s2_4_withdrawal_label_ends_the_stack() {
    // Label 0x800000 has no bottom-of-stack bit but ends the stack in a withdrawal.
    let bytes = [
        24 + 64 + 24,
        0x80,
        0x00,
        0x00,
        0,
        0,
        0xfc,
        0,
        0,
        0,
        0,
        1,
        10,
        1,
        1,
    ];
    let got = decode_nlri(Family::VPNV4, &bytes, false).unwrap();
    let Nlri::Vpn(v) = &got[0].nlri else {
        panic!("{got:?}")
    };
    assert_eq!(v.labels, vec![LabelStackEntry::WITHDRAW]);
    assert_eq!(v.prefix.to_string(), "10.1.1.0/24");
}

#[test]
fn rfc4364_s4_3_4_route_too_long_for_the_length_octet_is_refused() {
    let p = IpPrefix::V6(Ipv6Prefix::new(Ipv6Addr::LOCALHOST, 128).unwrap());
    let l = LabelStackEntry::from_label(Label::new(16).unwrap(), true);
    assert!(VpnRoute::new(RouteDistinguisher::from_bytes([0; 8]), p, vec![l; 2]).is_some());
    assert!(VpnRoute::new(RouteDistinguisher::from_bytes([0; 8]), p, vec![l; 3]).is_none());
}

#[test]
fn rfc4364_vpn_length_errors() {
    // Too short for a label and an RD.
    assert_eq!(
        kind(Family::VPNV4, &[80, 0, 1, 0x21, 0, 0, 0, 0, 0, 0, 0]),
        NlriErrorKind::VpnLengthTooShort { len: 80 }
    );
    // Prefix longer than 32 bits after label and RD.
    let mut long = vec![24 + 64 + 33, 0, 1, 0x21];
    long.extend([0; 8 + 5]);
    assert_eq!(
        kind(Family::VPNV4, &long),
        NlriErrorKind::PrefixLengthTooLong { len: 33, max: 32 }
    );
    // A stack that never reaches its bottom.
    let mut stack = vec![255];
    stack.extend([0, 0x10, 0x20].repeat(6));
    assert_eq!(kind(Family::VPNV4, &stack), NlriErrorKind::TooManyLabels);
    // Truncated.
    assert!(matches!(
        kind(Family::VPNV4, &[24 + 64 + 32, 0, 1, 0x21, 0]),
        NlriErrorKind::Truncated(_)
    ));
}

#[test]
fn rfc8365_s5_1_3_mac_ip_route_with_vni_label() {
    let route = EvpnRoute::MacIpAdvertisement {
        rd: "127.0.0.2:100".parse().unwrap(),
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac: "52:54:00:12:34:56".parse().unwrap(),
        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))),
        label1: LabelStackEntry::from_vni(Vni::new(3000).unwrap()),
        label2: None,
    };
    let bytes = round_trip(Family::EVPN, &PathNlri::new(Nlri::Evpn(route)));
    assert_eq!(&bytes[..2], &[2, 37]);
    assert_eq!(
        &bytes[bytes.len() - 3..],
        &[0x00, 0x0b, 0xb8],
        "VNI 3000 as 24 bits"
    );
    assert_eq!(&bytes[24..31], &[48, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
}

#[test]
fn rfc7432_s7_3_inclusive_multicast_exact_bytes() {
    let route = EvpnRoute::InclusiveMulticast {
        rd: "127.0.0.6:0".parse().unwrap(),
        ethernet_tag: 0,
        originator: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 6)),
    };
    let bytes = round_trip(Family::EVPN, &PathNlri::new(Nlri::Evpn(route)));
    assert_eq!(
        bytes,
        [3, 17, 0, 1, 127, 0, 0, 6, 0, 0, 0, 0, 0, 0, 32, 127, 0, 0, 6]
    );
}

#[test]
fn rfc7432_s7_evpn_errors() {
    // MAC length other than 48.
    let mut mac = vec![2, 33];
    mac.extend([0; 22]);
    mac.push(40);
    mac.extend([0; 10]);
    assert_eq!(kind(Family::EVPN, &mac), NlriErrorKind::MacLength(40));
    // IP length 24 in a type 3 route.
    let mut ip = vec![3, 15];
    ip.extend([0; 12]);
    ip.push(24);
    ip.extend([0; 2]);
    assert_eq!(kind(Family::EVPN, &ip), NlriErrorKind::IpLength(24));
    // Type 1 with a wrong length.
    let mut ead = vec![1, 24];
    ead.extend([0; 24]);
    assert_eq!(
        kind(Family::EVPN, &ead),
        NlriErrorKind::EvpnLength {
            route_type: 1,
            len: 24
        }
    );
    // Type 5 with a length that is neither 34 nor 58.
    let mut t5 = vec![5, 40];
    t5.extend([0; 40]);
    assert_eq!(
        kind(Family::EVPN, &t5),
        NlriErrorKind::EvpnLength {
            route_type: 5,
            len: 40
        }
    );
    // Length octet beyond the field.
    assert!(matches!(
        kind(Family::EVPN, &[2, 40, 0, 0]),
        NlriErrorKind::Truncated(_)
    ));
}

#[test]
fn rfc7432_s7_unknown_route_type_is_kept() {
    let bytes = [9, 3, 1, 2, 3];
    let got = decode_nlri(Family::EVPN, &bytes, false).unwrap();
    assert_eq!(
        got[0].nlri,
        Nlri::Evpn(EvpnRoute::Unknown {
            code: 9,
            value: vec![1, 2, 3]
        })
    );
    round_trip(Family::EVPN, &got[0]);
}

#[test]
fn rfc4684_s4_default_membership_is_one_zero_octet() {
    let bytes = round_trip(
        Family::RTC,
        &PathNlri::new(Nlri::Rtc(RtcMembership::Default)),
    );
    assert_eq!(bytes, [0]);
}

#[test]
fn rfc4684_s4_full_membership_exact_bytes() {
    let rt: RouteTarget = "64512:100".parse().unwrap();
    let m = RtcMembership::exact(64512, rt);
    assert_eq!(m.route_target(), Some(rt));
    let bytes = round_trip(Family::RTC, &PathNlri::new(Nlri::Rtc(m)));
    assert_eq!(
        bytes,
        [96, 0, 0, 0xfc, 0, 0x00, 0x02, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x64]
    );
}

#[test]
fn rfc4684_s4_partial_prefix_and_invalid_lengths() {
    // 48 bits: origin AS and the type/subtype octets only.
    let got = decode_nlri(Family::RTC, &[48, 0, 0, 0xfc, 0, 0x00, 0x02], false).unwrap();
    assert!(matches!(
        got[0].nlri,
        Nlri::Rtc(RtcMembership::Prefix { len: 48, .. })
    ));
    round_trip(Family::RTC, &got[0]);
    for len in [1u8, 16, 31, 97, 255] {
        let mut b = vec![len];
        b.extend([0; 12]);
        assert_eq!(
            kind(Family::RTC, &b),
            NlriErrorKind::RtcLength(len),
            "length {len}"
        );
    }
}

#[test]
fn rfc4271_s4_3_ipv4_prefix_and_host_bits() {
    // 10.1.1.77/24 on the wire decodes to 10.1.1.0/24.
    let got = decode_nlri(Family::IPV4_UNICAST, &[24, 10, 1, 1], false).unwrap();
    assert_eq!(
        got[0].nlri,
        Nlri::Ipv4Unicast(Ipv4Prefix::new(Ipv4Addr::new(10, 1, 1, 0), 24).unwrap())
    );
    assert_eq!(
        kind(Family::IPV4_UNICAST, &[33, 1, 2, 3, 4, 5]),
        NlriErrorKind::PrefixLengthTooLong { len: 33, max: 32 }
    );
    assert_eq!(
        kind(Family::IPV6_UNICAST, &[129]),
        NlriErrorKind::PrefixLengthTooLong { len: 129, max: 128 }
    );
}

#[test]
fn rfc7911_s3_path_identifier_precedes_each_nlri() {
    let bytes = [0, 0, 0, 7, 8, 10, 0, 0, 0, 9, 0];
    let got = decode_nlri(Family::IPV4_UNICAST, &bytes, true).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].path_id, Some(7));
    assert_eq!(got[1].path_id, Some(9));
    assert_eq!(
        got[1].nlri,
        Nlri::Ipv4Unicast(Ipv4Prefix::new(Ipv4Addr::UNSPECIFIED, 0).unwrap())
    );
    let err = decode_nlri(Family::IPV4_UNICAST, &[0, 0], true).unwrap_err();
    assert_eq!(err.offset, 0);
}

#[test]
fn unsupported_families_are_refused_not_guessed() {
    let l2vpn_flowspec = Family::from_wire(25, 133);
    assert!(!is_supported(l2vpn_flowspec));
    assert_eq!(
        kind(l2vpn_flowspec, &[1, 2]),
        NlriErrorKind::UnsupportedFamily
    );
    for f in [
        Family::EVPN,
        Family::RTC,
        Family::VPNV6,
        Family::FLOWSPEC_V4,
        Family::FLOWSPEC_VPNV6,
    ] {
        assert!(is_supported(f), "{f}");
    }
}

#[test]
fn rfc8955_s4_destination_prefix_and_tcp_exact_bytes() {
    // GoBGP: `match destination 10.1.1.0/24 protocol tcp`.
    let bytes = [8, 1, 24, 10, 1, 1, 3, 0x81, 6];
    let got = decode_nlri(Family::FLOWSPEC_V4, &bytes, false).unwrap();
    let Nlri::FlowSpec(rule) = &got[0].nlri else {
        panic!()
    };
    assert_eq!(rule.components.len(), 2);
    assert_eq!(
        rule.components[1],
        FlowComponent::Numeric {
            code: component::IP_PROTOCOL,
            ops: vec![NumericOp {
                and: false,
                lt: false,
                gt: false,
                eq: true,
                value_len: 1,
                value: 6
            }]
        }
    );
    assert_eq!(round_trip(Family::FLOWSPEC_V4, &got[0]), bytes);
}

#[test]
fn rfc8955_s8_flowspec_vpn_carries_an_rd_first() {
    let mut bytes = vec![8 + 4, 0, 1, 127, 0, 0, 2, 0, 200];
    bytes.extend([1, 16, 10, 1]);
    let got = decode_nlri(Family::FLOWSPEC_VPNV4, &bytes, false).unwrap();
    let Nlri::FlowSpec(rule) = &got[0].nlri else {
        panic!()
    };
    assert_eq!(rule.rd.unwrap().to_string(), "127.0.0.2:200");
    assert_eq!(got[0].nlri.family(), Family::FLOWSPEC_VPNV4);
    assert_eq!(round_trip(Family::FLOWSPEC_VPNV4, &got[0]), bytes);
}

#[test]
fn rfc8956_s3_1_ipv6_prefix_with_offset() {
    // 2001:db8::/32 with offset 0, then next header = 58.
    let bytes = [10, 1, 32, 0, 0x20, 0x01, 0x0d, 0xb8, 3, 0x81, 58];
    let got = decode_nlri(Family::FLOWSPEC_V6, &bytes, false).unwrap();
    let Nlri::FlowSpec(rule) = &got[0].nlri else {
        panic!()
    };
    let expected = FlowPrefix {
        len: 32,
        offset: 0,
        pattern: vec![0x20, 1, 0xd, 0xb8],
    };
    assert_eq!(
        rule.components[0],
        FlowComponent::Prefix {
            code: 1,
            prefix: expected
        }
    );
    round_trip(Family::FLOWSPEC_V6, &got[0]);
}

#[test]
fn rfc8955_s4_1_two_octet_length_over_239() {
    // 80 port values of 3 octets each: 240 octets of components plus the type.
    let mut body = vec![component::DESTINATION_PORT];
    for i in 0..80u16 {
        body.extend([if i == 79 { 0x91 } else { 0x11 }, 0, i as u8]);
    }
    let mut bytes = vec![0xf0 | (body.len() >> 8) as u8, body.len() as u8];
    bytes.extend(&body);
    let got = decode_nlri(Family::FLOWSPEC_V4, &bytes, false).unwrap();
    assert_eq!(round_trip(Family::FLOWSPEC_V4, &got[0]), bytes);
}

#[test]
fn rfc8955_s4_2_errors() {
    // Components out of order.
    assert_eq!(
        kind(Family::FLOWSPEC_V4, &[6, 3, 0x81, 6, 1, 8, 10]),
        NlriErrorKind::FlowSpecComponentOrder(1)
    );
    // Unknown component type; flow label in IPv4.
    assert_eq!(
        kind(Family::FLOWSPEC_V4, &[3, 14, 0x81, 1]),
        NlriErrorKind::FlowSpecComponentType(14)
    );
    assert_eq!(
        kind(Family::FLOWSPEC_V4, &[3, 13, 0x81, 1]),
        NlriErrorKind::FlowSpecComponentType(13)
    );
    // Operator list without end bit runs out.
    assert!(matches!(
        kind(Family::FLOWSPEC_V4, &[3, 3, 0x01, 6]),
        NlriErrorKind::Truncated(_)
    ));
    // No components.
    assert_eq!(
        kind(Family::FLOWSPEC_V4, &[0]),
        NlriErrorKind::FlowSpecEmpty
    );
    // Prefix longer than the address.
    assert_eq!(
        kind(Family::FLOWSPEC_V4, &[3, 1, 33, 0]),
        NlriErrorKind::PrefixLengthTooLong { len: 33, max: 32 }
    );
}

fn rd() -> impl Strategy<Value = RouteDistinguisher> {
    any::<[u8; 8]>().prop_map(RouteDistinguisher::from_bytes)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn prefix() -> impl Strategy<Value = IpPrefix> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(o, l)| IpPrefix::V4(Ipv4Prefix::new(o.into(), l).unwrap())),
        (any::<[u8; 16]>(), 0u8..=128)
            .prop_map(|(o, l)| IpPrefix::V6(Ipv6Prefix::new(o.into(), l).unwrap())),
    ]
}

fn label() -> impl Strategy<Value = LabelStackEntry> {
    (0u32..(1 << 24)).prop_map(LabelStackEntry::from_raw)
}

fn vpn() -> impl Strategy<Value = Nlri> {
    // Entries before the last lack the bottom-of-stack bit (and are not withdrawal values).
    (
        rd(),
        prefix(),
        prop::collection::vec(1u32..(1 << 20), 0..3),
        label(),
    )
        .prop_filter_map("fits the length octet", |(rd, prefix, upper, last)| {
            let mut labels: Vec<_> = upper
                .into_iter()
                .map(|l| LabelStackEntry::from_raw(l << 4))
                .collect();
            labels.push(LabelStackEntry::from_raw(last.raw() | 1));
            VpnRoute::new(rd, prefix, labels).map(Nlri::Vpn)
        })
}

fn evpn() -> impl Strategy<Value = Nlri> {
    let esi = any::<[u8; 10]>().prop_map(Esi);
    prop_oneof![
        (rd(), esi.clone(), any::<u32>(), label()).prop_map(|(rd, esi, ethernet_tag, label)| {
            EvpnRoute::EthernetAutoDiscovery {
                rd,
                esi,
                ethernet_tag,
                label,
            }
        }),
        (
            rd(),
            esi.clone(),
            any::<u32>(),
            any::<[u8; 6]>(),
            prop::option::of(ip()),
            label(),
            prop::option::of(label())
        )
            .prop_map(|(rd, esi, ethernet_tag, mac, ip, label1, label2)| {
                EvpnRoute::MacIpAdvertisement {
                    rd,
                    esi,
                    ethernet_tag,
                    mac: MacAddress(mac),
                    ip,
                    label1,
                    label2,
                }
            }),
        (rd(), any::<u32>(), ip()).prop_map(|(rd, ethernet_tag, originator)| {
            EvpnRoute::InclusiveMulticast {
                rd,
                ethernet_tag,
                originator,
            }
        }),
        (rd(), esi.clone(), ip()).prop_map(|(rd, esi, originator)| EvpnRoute::EthernetSegment {
            rd,
            esi,
            originator
        }),
        (
            rd(),
            esi,
            any::<u32>(),
            prefix(),
            any::<[u8; 16]>(),
            label()
        )
            .prop_map(|(rd, esi, ethernet_tag, prefix, g, label)| {
                let gateway = match prefix {
                    IpPrefix::V4(_) => IpAddr::V4(Ipv4Addr::new(g[0], g[1], g[2], g[3])),
                    IpPrefix::V6(_) => IpAddr::V6(Ipv6Addr::from(g)),
                };
                EvpnRoute::IpPrefix {
                    rd,
                    esi,
                    ethernet_tag,
                    prefix,
                    gateway,
                    label,
                }
            }),
        (6u8.., prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(code, value)| EvpnRoute::Unknown { code, value }),
    ]
    .prop_map(Nlri::Evpn)
}

fn rtc() -> impl Strategy<Value = Nlri> {
    prop_oneof![
        Just(RtcMembership::Default),
        (any::<u32>(), 32u8..=96, any::<[u8; 8]>()).prop_map(|(origin_as, len, raw)| {
            // Decode normalises bits beyond the prefix; build the value the same way.
            let mut bytes = vec![len];
            bytes.extend(origin_as.to_be_bytes());
            bytes.extend(&raw[..usize::from(len - 32).div_ceil(8)]);
            let mut r = Reader::new(&bytes);
            RtcMembership::decode(&mut r).unwrap()
        }),
    ]
    .prop_map(Nlri::Rtc)
}

fn flowspec() -> impl Strategy<Value = Nlri> {
    let numeric = (any::<(bool, bool, bool, bool)>(), 0u32..4, any::<u64>()).prop_map(
        |((and, lt, gt, eq), l, v)| {
            let value_len = 1u8 << l;
            let value = if value_len == 8 {
                v
            } else {
                v & ((1u64 << (8 * u32::from(value_len))) - 1)
            };
            NumericOp {
                and,
                lt,
                gt,
                eq,
                value_len,
                value,
            }
        },
    );
    let bitmask = (any::<(bool, bool, bool)>(), 0u32..4, any::<u64>()).prop_map(
        |((and, not, matches), l, v)| {
            let value_len = 1u8 << l;
            let value = if value_len == 8 {
                v
            } else {
                v & ((1u64 << (8 * u32::from(value_len))) - 1)
            };
            BitmaskOp {
                and,
                not,
                matches,
                value_len,
                value,
            }
        },
    );
    (
        any::<bool>(),
        prop::option::of(rd()),
        prop::collection::btree_set(1u8..=13, 1..6),
        prop::collection::vec(numeric, 1..4),
        prop::collection::vec(bitmask, 1..4),
        any::<[u8; 16]>(),
        0u8..=32,
    )
        .prop_map(|(ipv6, rd, codes, nops, bops, addr, plen)| {
            let components = codes
                .into_iter()
                .filter(|c| ipv6 || *c != component::FLOW_LABEL)
                .map(|code| match code {
                    1 | 2 => {
                        let n = usize::from(plen).div_ceil(8);
                        let mut pattern = addr[..n].to_vec();
                        if plen % 8 != 0 {
                            if let Some(l) = pattern.last_mut() {
                                *l &= 0xff << (8 - plen % 8);
                            }
                        }
                        FlowComponent::Prefix {
                            code,
                            prefix: FlowPrefix {
                                len: plen,
                                offset: 0,
                                pattern,
                            },
                        }
                    }
                    9 | 12 => FlowComponent::Bitmask {
                        code,
                        ops: bops.clone(),
                    },
                    _ => FlowComponent::Numeric {
                        code,
                        ops: nops.clone(),
                    },
                })
                .collect::<Vec<_>>();
            (ipv6, rd, components)
        })
        .prop_filter("at least one component", |(_, _, c)| !c.is_empty())
        .prop_map(|(ipv6, rd, components)| {
            Nlri::FlowSpec(FlowSpecRule {
                ipv6,
                rd,
                components,
            })
        })
}

fn any_nlri() -> impl Strategy<Value = Nlri> {
    prop_oneof![
        flowspec(),
        prefix().prop_map(|p| match p {
            IpPrefix::V4(p) => Nlri::Ipv4Unicast(p),
            IpPrefix::V6(p) => Nlri::Ipv6Unicast(p),
        }),
        vpn(),
        evpn(),
        rtc(),
    ]
}

proptest! {
    #[test]
    fn every_nlri_round_trips(nlri in any_nlri(), path_id in prop::option::of(any::<u32>())) {
        let family = nlri.family();
        round_trip(family, &PathNlri { path_id, nlri });
    }

    #[test]
    fn lists_round_trip(list in prop::collection::vec(evpn(), 0..8)) {
        let entries: Vec<_> = list.into_iter().map(PathNlri::new).collect();
        let mut out = Vec::new();
        entries.iter().for_each(|e| encode_nlri(e, &mut out));
        prop_assert_eq!(decode_nlri(Family::EVPN, &out, false).unwrap(), entries);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), add_path: bool, which in 0usize..8) {
        let family = [Family::IPV4_UNICAST, Family::IPV6_UNICAST, Family::VPNV4, Family::VPNV6, Family::EVPN, Family::RTC, Family::FLOWSPEC_V4, Family::FLOWSPEC_VPNV6][which];
        if let Ok(list) = decode_nlri(family, &bytes, add_path) {
            // What decodes re-encodes to something that decodes to the same value.
            let mut out = Vec::new();
            list.iter().for_each(|e| encode_nlri(e, &mut out));
            prop_assert_eq!(decode_nlri(family, &out, add_path).unwrap(), list);
        }
    }
}
