use super::*;
use crate::wire::error::update_subcode as sub;
use crate::wire::family::Family;
use proptest::prelude::*;

fn ctx() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        families: [Family::EVPN, Family::VPNV4, Family::RTC].into(),
        ..DecodeContext::default()
    }
}

fn round_trip(attr: PathAttribute, c: &DecodeContext) {
    let mut out = Vec::new();
    attr.encode(c, &mut out);
    let (f, code, value) = if out[0] & flags::EXTENDED_LENGTH != 0 {
        (out[0], out[1], &out[4..])
    } else {
        (out[0], out[1], &out[3..])
    };
    assert_eq!(decode_attribute(f, code, value, c).unwrap(), attr);
}

#[test]
fn rfc4271_s5_1_1_origin_values() {
    assert_eq!(
        decode_attribute(0x40, code::ORIGIN, &[2], &ctx()).unwrap(),
        PathAttribute::Origin(Origin::Incomplete)
    );
    let e = decode_attribute(0x40, code::ORIGIN, &[3], &ctx()).unwrap_err();
    assert_eq!(
        (e.action, e.subcode),
        (
            AttributeAction::TreatAsWithdraw,
            sub::INVALID_ORIGIN_ATTRIBUTE
        )
    );
}

#[test]
fn rfc7606_s7_2_malformed_as_path_is_treat_as_withdraw() {
    for bad in [
        &[2u8, 2, 0, 0, 0x01][..],
        &[5, 1, 0, 0, 0, 1],
        &[2, 0],
        &[2],
    ] {
        let e = decode_attribute(0x40, code::AS_PATH, bad, &ctx()).unwrap_err();
        assert_eq!(
            (e.action, e.subcode),
            (AttributeAction::TreatAsWithdraw, sub::MALFORMED_AS_PATH),
            "{bad:?}"
        );
    }
    let ok = decode_attribute(
        0x40,
        code::AS_PATH,
        &[2, 2, 0, 0, 0xfc, 0, 0, 0, 0xfc, 1],
        &ctx(),
    )
    .unwrap();
    let PathAttribute::AsPath(p) = ok else {
        panic!()
    };
    assert_eq!(p.to_string(), "64512 64513");
}

#[test]
fn rfc6793_s6_malformed_as4_path_is_discarded() {
    let e = decode_attribute(0xc0, code::AS4_PATH, &[2, 2, 0, 0], &ctx()).unwrap_err();
    assert_eq!(e.action, AttributeAction::Discard);
}

#[test]
fn rfc7606_s7_per_attribute_length_rules() {
    let c = ctx();
    let act =
        |code, v: &[u8], c: &DecodeContext| decode_attribute(0, code, v, c).unwrap_err().action;
    assert_eq!(
        act(code::NEXT_HOP, &[1, 2, 3], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.3
    assert_eq!(
        act(code::MED, &[1, 2, 3], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.4
    assert_eq!(
        act(code::LOCAL_PREF, &[1], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.5 iBGP
    assert_eq!(
        act(code::ATOMIC_AGGREGATE, &[1], &c),
        AttributeAction::Discard
    ); // §7.6
    assert_eq!(
        act(code::AGGREGATOR, &[1, 2, 3, 4, 5, 6], &c),
        AttributeAction::Discard
    ); // §7.7 (4-octet: 8)
    assert_eq!(
        act(code::COMMUNITIES, &[1, 2, 3], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.8
    assert_eq!(
        act(code::ORIGINATOR_ID, &[1], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.9
    assert_eq!(
        act(code::CLUSTER_LIST, &[1, 2], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.10
    assert_eq!(
        act(code::EXTENDED_COMMUNITIES, &[0; 7], &c),
        AttributeAction::TreatAsWithdraw
    ); // §7.14
    assert_eq!(
        act(code::LARGE_COMMUNITIES, &[0; 11], &c),
        AttributeAction::TreatAsWithdraw
    ); // RFC 8092 §6
    let ebgp = DecodeContext {
        ibgp: false,
        ..ctx()
    };
    assert_eq!(act(code::LOCAL_PREF, &[1], &ebgp), AttributeAction::Discard); // §7.5 eBGP
    assert_eq!(
        act(code::CLUSTER_LIST, &[1], &ebgp),
        AttributeAction::Discard
    );
}

#[test]
fn rfc7606_s7_11_mp_reach_with_bad_next_hop_length_resets() {
    // EVPN with a 5-octet next hop.
    let v = [0, 25, 70, 5, 1, 2, 3, 4, 5, 0];
    let e = decode_attribute(0x80, code::MP_REACH_NLRI, &v, &ctx()).unwrap_err();
    assert_eq!(e.action, AttributeAction::SessionReset);
}

#[test]
fn rfc7606_s5_3_unparsable_mp_nlri_resets() {
    let v = [0, 25, 70, 4, 10, 0, 0, 1, 0, 2, 40, 0];
    let e = decode_attribute(0x80, code::MP_REACH_NLRI, &v, &ctx()).unwrap_err();
    assert_eq!(e.action, AttributeAction::SessionReset);
    assert!(e.nlri.is_some());
}

#[test]
fn rfc4760_s7_family_not_negotiated_is_kept_raw_not_reset() {
    // FlowSpec with garbage NLRI: not decoded, not an error.
    let v = [0, 1, 133, 0, 0, 0xde, 0xad];
    let PathAttribute::MpReach(m) =
        decode_attribute(0x80, code::MP_REACH_NLRI, &v, &ctx()).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.undecoded_nlri, vec![0xde, 0xad]);
    assert!(m.nlri.is_empty());
}

#[test]
fn rfc6514_s5_pmsi_ingress_replication() {
    let v = [0, 6, 0, 0x0b, 0xb8, 127, 0, 0, 6];
    let PathAttribute::PmsiTunnel(p) =
        decode_attribute(0xc0, code::PMSI_TUNNEL, &v, &ctx()).unwrap()
    else {
        panic!()
    };
    assert_eq!(p.label.vni().value(), 3000);
    assert_eq!(
        p.ingress_replication_endpoint(),
        Some("127.0.0.6".parse().unwrap())
    );
}

#[test]
fn rfc4271_s5_unknown_optional_transitive_gets_partial_on_readvertisement() {
    let a = decode_attribute(0xc0, 99, &[1, 2], &ctx()).unwrap();
    assert_eq!(a.for_readvertisement().flags(), 0xe0);
    let non_transitive = decode_attribute(0x80, 98, &[1], &ctx()).unwrap();
    assert_eq!(non_transitive.for_readvertisement().flags(), 0x80);
}

#[test]
fn rfc4271_s4_3_extended_length_used_over_255_octets() {
    let big = PathAttribute::Communities((0..100).collect());
    let mut out = Vec::new();
    big.encode(&ctx(), &mut out);
    assert_eq!(out[0] & flags::EXTENDED_LENGTH, flags::EXTENDED_LENGTH);
    assert_eq!(u16::from_be_bytes([out[2], out[3]]), 400);
    round_trip(big, &ctx());
}

#[test]
fn rfc6793_s4_2_2_as_trans_in_two_octet_sessions() {
    let path = AsPath {
        segments: vec![AsPathSegment {
            kind: SegmentKind::Sequence,
            asns: vec![4_200_000_000, 64512],
        }],
    };
    let mut out = Vec::new();
    path.encode(false, &mut out);
    assert_eq!(out, [2, 2, 0x5b, 0xa0, 0xfc, 0x00]);
}

fn any_attribute() -> impl Strategy<Value = PathAttribute> {
    let asn_list = prop::collection::vec(any::<u32>(), 1..5);
    prop_oneof![
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ]
        .prop_map(PathAttribute::Origin),
        prop::collection::vec((0usize..4, asn_list), 0..4).prop_map(|segs| PathAttribute::AsPath(
            AsPath {
                segments: segs
                    .into_iter()
                    .map(|(k, asns)| AsPathSegment {
                        kind: [
                            SegmentKind::Set,
                            SegmentKind::Sequence,
                            SegmentKind::ConfedSequence,
                            SegmentKind::ConfedSet
                        ][k],
                        asns
                    })
                    .collect()
            }
        )),
        any::<[u8; 4]>().prop_map(|a| PathAttribute::NextHop(a.into())),
        any::<u32>().prop_map(PathAttribute::Med),
        any::<u32>().prop_map(PathAttribute::LocalPref),
        Just(PathAttribute::AtomicAggregate),
        (any::<u32>(), any::<[u8; 4]>()).prop_map(|(asn, a)| PathAttribute::Aggregator(
            Aggregator {
                asn,
                address: a.into()
            }
        )),
        prop::collection::vec(any::<u32>(), 1..80).prop_map(PathAttribute::Communities),
        any::<[u8; 4]>().prop_map(|a| PathAttribute::OriginatorId(a.into())),
        prop::collection::vec(any::<[u8; 4]>(), 1..5)
            .prop_map(|l| PathAttribute::ClusterList(l.into_iter().map(Into::into).collect())),
        prop::collection::vec(any::<[u8; 8]>(), 0..40).prop_map(|l| {
            PathAttribute::ExtendedCommunities(
                l.into_iter().map(ExtendedCommunity::from_bytes).collect(),
            )
        }),
        (
            any::<u8>(),
            any::<u8>(),
            0u32..(1 << 24),
            prop::collection::vec(any::<u8>(), 0..17)
        )
            .prop_map(|(f, t, l, id)| {
                PathAttribute::PmsiTunnel(PmsiTunnel {
                    flags: f,
                    tunnel_type: t,
                    label: LabelStackEntry::from_raw(l),
                    tunnel_id: id,
                })
            }),
        prop::collection::vec(any::<[u32; 3]>(), 1..30).prop_map(PathAttribute::LargeCommunities),
        super::tunnel_encap::tests::tunnel_encapsulation_bytes().prop_filter_map(
            "no valid Tunnel TLV",
            |b| TunnelEncapsulation::decode(&b)
                .ok()
                .map(PathAttribute::TunnelEncapsulation)
        ),
        (
            prop_oneof![Just(0x80u8), Just(0xc0), Just(0xe0)],
            40u8..=255,
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_filter("known codes", |(_, c, _)| !matches!(
                *c,
                code::LARGE_COMMUNITIES
            ))
            .prop_map(|(flags, code, value)| PathAttribute::Unknown { flags, code, value }),
    ]
}

proptest! {
    #[test]
    fn every_attribute_round_trips(attr in any_attribute()) {
        round_trip(attr, &ctx());
    }

    #[test]
    fn decode_attribute_never_panics(f: u8, c: u8, value in prop::collection::vec(any::<u8>(), 0..64), four: bool, ibgp: bool) {
        let cx = DecodeContext { four_octet_as: four, ibgp, ..ctx() };
        let _ = decode_attribute(f, c, &value, &cx);
    }
}
