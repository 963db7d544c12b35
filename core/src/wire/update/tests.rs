use super::*;
use crate::wire::attr::{MpReach, NextHop, Origin};
use crate::wire::error::ErrorCode;
use crate::wire::extcomm::ExtendedCommunity;
use crate::wire::nlri::{Nlri, RtcMembership};
use proptest::prelude::*;

fn ctx() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        families: [
            Family::IPV4_UNICAST,
            Family::EVPN,
            Family::VPNV4,
            Family::RTC,
        ]
        .into(),
        ..DecodeContext::default()
    }
}

/// The body of an UPDATE (after the header) with these raw attributes and classic NLRI.
fn body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend((withdrawn.len() as u16).to_be_bytes());
    b.extend(withdrawn);
    b.extend((attrs.len() as u16).to_be_bytes());
    b.extend(attrs);
    b.extend(nlri);
    b
}

const ORIGIN: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH: [u8; 3] = [0x40, 2, 0];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 10, 0, 0, 1];
const LOCAL_PREF: [u8; 7] = [0x40, 5, 4, 0, 0, 0, 100];

fn good_attrs() -> Vec<u8> {
    [&ORIGIN[..], &AS_PATH, &NEXT_HOP, &LOCAL_PREF].concat()
}

fn action(d: &DecodedUpdate) -> &'static str {
    match d.disposition {
        Disposition::Accepted => "accepted",
        Disposition::AttributeDiscard { .. } => "discard",
        Disposition::TreatAsWithdraw { .. } => "treat-as-withdraw",
        Disposition::SessionReset { .. } => "reset",
    }
}

#[test]
fn rfc4271_s4_3_well_formed_update_is_accepted() {
    let d = decode_update(&body(&[], &good_attrs(), &[24, 10, 1, 1]), &ctx());
    assert_eq!(action(&d), "accepted");
    assert_eq!(d.update.nlri.len(), 1);
    assert_eq!(d.update.attributes.origin(), Some(Origin::Igp));
}

#[test]
fn rfc7606_s7_1_origin_bad_value_treat_as_withdraw() {
    let attrs = [&[0x40, 1, 1, 7][..], &AS_PATH, &NEXT_HOP, &LOCAL_PREF].concat();
    let d = decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx());
    assert_eq!(action(&d), "treat-as-withdraw");
    assert_eq!(
        d.update.all_routes().len(),
        1,
        "the routes to withdraw are exposed"
    );
}

#[test]
fn rfc7606_s3_d_missing_well_known_is_treat_as_withdraw_only_with_nlri() {
    let attrs = [&AS_PATH[..], &NEXT_HOP, &LOCAL_PREF].concat();
    assert_eq!(
        action(&decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx())),
        "treat-as-withdraw"
    );
    // Without reachable NLRI nothing is missing.
    assert_eq!(
        action(&decode_update(&body(&[24, 10, 1, 1], &[], &[]), &ctx())),
        "accepted"
    );
}

#[test]
fn rfc7606_s3_c_flags_conflict_is_treat_as_withdraw() {
    // ORIGIN sent as optional.
    let attrs = [&[0xc0, 1, 1, 0][..], &AS_PATH, &NEXT_HOP, &LOCAL_PREF].concat();
    assert_eq!(
        action(&decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx())),
        "treat-as-withdraw"
    );
}

#[test]
fn rfc9012_s13_tunnel_encapsulation_errors_are_attribute_discard() {
    // A VXLAN Tunnel TLV with a remote endpoint 192.0.2.1.
    let tlv = [0, 8, 0, 12, 6, 10, 0, 0, 0, 0, 0, 1, 192, 0, 2, 1];
    let attr = |flags: u8, value: &[u8]| [&[flags, 23, value.len() as u8][..], value].concat();
    let with = |extra: Vec<u8>| {
        decode_update(
            &body(&[], &[good_attrs(), extra].concat(), &[24, 10, 1, 1]),
            &ctx(),
        )
    };
    let d = with(attr(0xc0, &tlv));
    assert_eq!(action(&d), "accepted");
    assert_eq!(
        d.update
            .attributes
            .tunnel_encapsulation()
            .and_then(|t| t.remote_endpoint()),
        Some("192.0.2.1".parse().unwrap())
    );
    for (why, flags, value) in [
        ("not transitive", 0x80u8, &tlv[..]),
        ("well-known flags", 0x40, &tlv[..]),
        ("no valid TLV", 0xc0, &tlv[..6]),
        (
            "TLV overruns the attribute",
            0xc0,
            &[0, 8, 0, 20, 7, 1, 0][..],
        ),
    ] {
        let d = with(attr(flags, value));
        assert_eq!(action(&d), "discard", "{why}");
        assert_eq!(d.update.nlri.len(), 1, "{why}");
        assert!(
            d.update.attributes.tunnel_encapsulation().is_none(),
            "{why}"
        );
    }
}

#[test]
fn rfc7606_s3_g_duplicate_attribute_keeps_the_first() {
    let attrs = [&good_attrs()[..], &[0x40, 1, 1, 2]].concat();
    let d = decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx());
    assert_eq!(action(&d), "accepted");
    assert_eq!(d.update.attributes.origin(), Some(Origin::Igp));
}

#[test]
fn rfc7606_s3_g_duplicate_mp_reach_resets() {
    let mp = [0x80, 14, 9, 0, 1, 132, 4, 10, 0, 0, 1, 0];
    let attrs = [&good_attrs()[..], &mp, &mp].concat();
    let d = decode_update(&body(&[], &attrs, &[]), &ctx());
    let Disposition::SessionReset { error, .. } = &d.disposition else {
        panic!("{d:?}")
    };
    assert_eq!(
        (error.code, error.subcode),
        (ErrorCode::Update, sub::MALFORMED_ATTRIBUTE_LIST)
    );
}

#[test]
fn rfc7606_s4_attribute_overrunning_total_length_is_treat_as_withdraw() {
    let mut attrs = good_attrs();
    attrs.extend([0xc0, 8, 8, 0, 0]); // COMMUNITIES claiming 8 octets, 2 present
    let d = decode_update(&body(&[], &attrs, &[]), &ctx());
    assert_eq!(action(&d), "treat-as-withdraw");
}

#[test]
fn rfc4271_s6_3_withdrawn_length_overrun_resets() {
    let d = decode_update(&[0, 10, 1], &ctx());
    let Disposition::SessionReset { error, .. } = &d.disposition else {
        panic!()
    };
    assert_eq!(error.subcode, sub::MALFORMED_ATTRIBUTE_LIST);
}

#[test]
fn rfc4271_s6_3_unrecognised_well_known_resets_with_the_attribute_as_data() {
    let attrs = [&good_attrs()[..], &[0x40, 30, 1, 9]].concat();
    let d = decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx());
    let Disposition::SessionReset { error, .. } = &d.disposition else {
        panic!()
    };
    assert_eq!(
        (error.subcode, error.data.as_slice()),
        (
            sub::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            &[0x40, 30, 1, 9][..]
        )
    );
}

#[test]
fn rfc7606_s5_3_invalid_network_field_resets() {
    let d = decode_update(&body(&[], &good_attrs(), &[33, 1, 2, 3, 4, 5]), &ctx());
    let Disposition::SessionReset { error, .. } = &d.disposition else {
        panic!()
    };
    assert_eq!(error.subcode, sub::INVALID_NETWORK_FIELD);
}

#[test]
fn rfc7606_s3_h_strongest_disposition_wins() {
    // A discard (ATOMIC_AGGREGATE length) and a treat-as-withdraw (MED length).
    let attrs = [&good_attrs()[..], &[0x40, 6, 1, 0], &[0x80, 4, 1, 0]].concat();
    assert_eq!(
        action(&decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx())),
        "treat-as-withdraw"
    );
    let attrs = [&good_attrs()[..], &[0x40, 6, 1, 0]].concat();
    let d = decode_update(&body(&[], &attrs, &[24, 10, 1, 1]), &ctx());
    let Disposition::AttributeDiscard { discarded } = &d.disposition else {
        panic!()
    };
    assert_eq!(discarded[0].code, 6);
}

#[test]
fn rfc4724_s2_end_of_rib_round_trips() {
    for family in [Family::IPV4_UNICAST, Family::EVPN, Family::RTC] {
        let bytes = Update::end_of_rib(family).encode(&ctx());
        let d = decode_update(&bytes[19..], &ctx());
        assert_eq!(action(&d), "accepted");
        assert_eq!(d.update.as_end_of_rib(), Some(family));
    }
    assert_eq!(
        Update::end_of_rib(Family::EVPN).encode(&ctx()).len(),
        19 + 4 + 6
    );
}

#[test]
fn rfc7606_s5_1_mp_attributes_are_encoded_first() {
    let mut u = Update::default();
    u.attributes.list.push(PathAttribute::Origin(Origin::Igp));
    u.attributes.list.push(PathAttribute::MpReach(MpReach {
        family: Family::RTC,
        next_hop: NextHop::Ipv4("10.0.0.1".parse().unwrap()),
        nlri: vec![PathNlri::new(Nlri::Rtc(RtcMembership::Default))],
        undecoded_nlri: vec![],
    }));
    let bytes = u.encode(&ctx());
    assert_eq!(bytes[19 + 4 + 1], code::MP_REACH_NLRI);
}

#[test]
fn vpn_update_round_trips_exactly() {
    let mut u = Update::default();
    u.attributes.list.push(PathAttribute::MpReach(MpReach {
        family: Family::RTC,
        next_hop: NextHop::Ipv4("10.0.0.1".parse().unwrap()),
        nlri: vec![PathNlri::new(Nlri::Rtc(RtcMembership::exact(
            64512,
            "64512:100".parse().unwrap(),
        )))],
        undecoded_nlri: vec![],
    }));
    u.attributes.list.push(PathAttribute::Origin(Origin::Igp));
    u.attributes
        .list
        .push(PathAttribute::AsPath(Default::default()));
    u.attributes.list.push(PathAttribute::LocalPref(100));
    u.attributes
        .list
        .push(PathAttribute::ExtendedCommunities(smallvec::smallvec![
            ExtendedCommunity::RouteTarget {
                target: "64512:100".parse().unwrap(),
            },
        ]));
    let bytes = u.encode(&ctx());
    let d = decode_update(&bytes[19..], &ctx());
    assert_eq!(action(&d), "accepted");
    assert_eq!(d.update, u);
    assert_eq!(d.update.encode(&ctx()), bytes);
}

#[test]
fn attributes_in_any_order_re_encode_in_canonical_order() {
    // The crash input the update_decode fuzz target found: MP_REACH after other attributes.
    let mp = [0x80, 14, 9, 0, 1, 132, 4, 10, 0, 0, 1, 0];
    let attrs = [&good_attrs()[..], &mp].concat();
    let d = decode_update(&body(&[], &attrs, &[]), &ctx());
    assert_eq!(action(&d), "accepted");
    let again = decode_update(&d.update.encode_body(&ctx()), &ctx());
    assert_ne!(
        again.update.attributes, d.update.attributes,
        "order differs"
    );
    assert_eq!(
        again.update.attributes.canonical_order(),
        d.update.attributes.canonical_order()
    );
    assert_eq!(again.update.attributes.list[0].code(), code::MP_REACH_NLRI);
}

proptest! {
    #[test]
    fn decode_update_never_panics(body in prop::collection::vec(any::<u8>(), 0..200), four: bool, ibgp: bool, add_path: bool) {
        let mut cx = DecodeContext { four_octet_as: four, ibgp, ..ctx() };
        if add_path {
            cx.add_path = cx.families.clone();
        }
        let d = decode_update(&body, &cx);
        if matches!(d.disposition, Disposition::Accepted) {
            // What is accepted re-encodes to an UPDATE that decodes to the same value.
            let again = decode_update(&d.update.encode(&cx)[19..], &cx);
            prop_assert_eq!(again.update.attributes.canonical_order(), d.update.attributes.canonical_order());
            prop_assert_eq!(again.update.nlri, d.update.nlri);
        }
    }
}
