//! Tests of framing and of every non-UPDATE message, named after the RFC rule they check.

use super::*;
use crate::wire::capability::{Capability, GracefulRestart, GracefulRestartFamily};
use crate::wire::error::{cease_subcode, open_subcode, route_refresh_subcode, ErrorCode};
use crate::wire::family::Family;
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// A header with the given length and type, and `body`.
fn raw_message(length: u16, msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = MARKER.to_vec();
    out.extend_from_slice(&length.to_be_bytes());
    out.push(msg_type);
    out.extend_from_slice(body);
    out
}

/// Feeds `bytes` to a fresh framer in chunks of `chunk` octets and collects every result.
fn frames(bytes: &[u8], chunk: usize, ctx: &DecodeContext) -> Vec<Result<Frame, BgpError>> {
    let mut framer = Framer::new();
    bytes
        .chunks(chunk.max(1))
        .flat_map(|c| framer.push(c, ctx))
        .collect()
}

/// The first error the framer reports for `bytes`, fed all at once and byte by byte.
fn header_error(bytes: &[u8]) -> BgpError {
    let ctx = DecodeContext::default();
    let at_once = frames(bytes, bytes.len(), &ctx);
    let by_byte = frames(bytes, 1, &ctx);
    assert_eq!(at_once, by_byte);
    match at_once.last() {
        Some(Err(e)) => e.clone(),
        other => panic!("no header error: {other:?}"),
    }
}

fn bad_length(length: u16) -> BgpError {
    BgpError::header(header_subcode::BAD_MESSAGE_LENGTH, length.to_be_bytes())
}

// ---- Header (RFC 4271 §4.1, §6.1) ----

#[test]
fn rfc4271_s6_1_marker_not_all_ones_is_connection_not_synchronized() {
    let mut bytes = Message::Keepalive.encode(&DecodeContext::default());
    bytes[7] = 0xfe;
    assert_eq!(
        header_error(&bytes),
        BgpError::header(header_subcode::CONNECTION_NOT_SYNCHRONIZED, Vec::new())
    );
}

#[test]
fn rfc4271_s6_1_length_below_19_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(18, 4, &[])), bad_length(18));
    assert_eq!(header_error(&raw_message(0, 4, &[])), bad_length(0));
}

#[test]
fn rfc4271_s6_1_length_above_4096_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(4097, 2, &[])), bad_length(4097));
}

#[test]
fn rfc8654_s4_extended_message_raises_the_maximum_to_65535() {
    let ctx = DecodeContext {
        extended_message: true,
        ..DecodeContext::default()
    };
    let body = vec![0u8; 65535 - HEADER_LEN];
    let bytes = raw_message(65535, 2, &body);
    let got = frames(&bytes, 4000, &ctx);
    assert_eq!(
        got,
        vec![Ok(Frame {
            msg_type: MessageType::Update,
            body
        })]
    );
}

#[test]
fn rfc8654_s4_open_longer_than_4096_is_bad_message_length_even_with_extended_messages() {
    let ctx = DecodeContext {
        extended_message: true,
        ..DecodeContext::default()
    };
    let got = frames(&raw_message(4097, 1, &[0; 4078]), 1, &ctx);
    assert_eq!(got, vec![Err(bad_length(4097))]);
}

#[test]
fn rfc4271_s6_1_open_shorter_than_29_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(28, 1, &[0; 9])), bad_length(28));
}

#[test]
fn rfc4271_s6_1_update_shorter_than_23_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(22, 2, &[0; 3])), bad_length(22));
}

#[test]
fn rfc4271_s6_1_notification_shorter_than_21_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(20, 3, &[6])), bad_length(20));
}

#[test]
fn rfc4271_s6_1_keepalive_not_19_is_bad_message_length() {
    assert_eq!(header_error(&raw_message(20, 4, &[0])), bad_length(20));
}

#[test]
fn rfc4271_s6_1_unknown_type_is_bad_message_type() {
    assert_eq!(
        header_error(&raw_message(19, 6, &[])),
        BgpError::header(header_subcode::BAD_MESSAGE_TYPE, [6])
    );
    assert_eq!(
        header_error(&raw_message(19, 0, &[])),
        BgpError::header(header_subcode::BAD_MESSAGE_TYPE, [0])
    );
}

#[test]
fn rfc4271_s6_1_length_is_checked_before_type() {
    assert_eq!(header_error(&raw_message(5000, 9, &[])), bad_length(5000));
}

#[test]
fn rfc4271_s6_1_decode_message_applies_the_header_rules_too() {
    let ctx = DecodeContext::default();
    assert_eq!(decode_message(4, &[0], &ctx), Err(bad_length(20)));
    assert_eq!(
        decode_message(7, &[], &ctx),
        Err(BgpError::header(header_subcode::BAD_MESSAGE_TYPE, [7]))
    );
    assert_eq!(
        decode_message(2, &vec![0; 4096], &ctx),
        Err(bad_length(4096 + 19))
    );
    assert_eq!(
        decode_message(2, &vec![0; 70000], &ctx),
        Err(bad_length(65535))
    );
}

#[test]
fn rfc4271_s6_1_framer_reports_the_first_error_once_and_then_ignores_input() {
    let ctx = DecodeContext::default();
    let mut bytes = Message::Keepalive.encode(&ctx);
    bytes.extend(raw_message(19, 9, &[]));
    bytes.extend(Message::Keepalive.encode(&ctx));
    let mut framer = Framer::new();
    let got = framer.push(&bytes, &ctx);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Ok(Frame {
            msg_type: MessageType::Keepalive,
            body: vec![]
        })
    );
    assert_eq!(
        got[1],
        Err(BgpError::header(header_subcode::BAD_MESSAGE_TYPE, [9]))
    );
    assert!(framer.is_failed());
    assert_eq!(framer.buffered(), 0);
    assert!(framer
        .push(&Message::Keepalive.encode(&ctx), &ctx)
        .is_empty());
}

fn sample_messages() -> Vec<Message> {
    vec![
        Message::Open(gobgp_like_open()),
        Message::Keepalive,
        Message::Update(crate::wire::update::decode_update(
            &[0, 0, 0, 0],
            &DecodeContext::default(),
        )),
        Message::RouteRefresh(RouteRefresh::request(Family::EVPN)),
        Message::Notification(Notification::cease_shutdown("maintenance")),
    ]
}

#[test]
fn rfc4271_s4_1_framing_is_the_same_under_every_chunking() {
    let ctx = DecodeContext::default();
    let stream: Vec<u8> = sample_messages()
        .iter()
        .flat_map(|m| m.encode(&ctx))
        .collect();
    let whole = frames(&stream, stream.len(), &ctx);
    let decoded: Vec<Message> = whole
        .iter()
        .map(|f| f.as_ref().unwrap().decode(&ctx).unwrap())
        .collect();
    assert_eq!(decoded, sample_messages());
    for chunk in 1..=stream.len() {
        assert_eq!(frames(&stream, chunk, &ctx), whole, "chunk size {chunk}");
    }
}

// ---- OPEN (RFC 4271 §4.2, §6.2) ----

/// An OPEN as GoBGP sends it for a BaGPipe peer: one capability per parameter; EVPN, VPNv4
/// and RTC; route refresh; graceful restart; 4-octet AS.
fn gobgp_like_open() -> Open {
    Open {
        my_as: 64512,
        hold_time: 90,
        bgp_identifier: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                family: Family::EVPN,
            },
            Capability::Multiprotocol {
                family: Family::VPNV4,
            },
            Capability::Multiprotocol {
                family: Family::RTC,
            },
            Capability::RouteRefresh,
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: Family::EVPN,
                        forwarding_state: false,
                    },
                    GracefulRestartFamily {
                        family: Family::VPNV4,
                        forwarding_state: false,
                    },
                ],
            }),
            Capability::FourOctetAs { asn: 64512 },
        ],
    }
}

const GOBGP_LIKE_OPEN: &str = "
    ffffffff ffffffff ffffffff ffffffff 004f 01
    04 fc00 005a c0000201 32
    02 06 01 04 0019 00 46
    02 06 01 04 0001 00 80
    02 06 01 04 0001 00 84
    02 02 02 00
    02 0c 40 0a 0078 0019 46 00 0001 80 00
    02 06 41 04 0000fc00";

#[test]
fn rfc4271_s4_2_gobgp_like_open_exact_bytes() {
    let ctx = DecodeContext::default();
    let bytes = hex(GOBGP_LIKE_OPEN);
    assert_eq!(Message::Open(gobgp_like_open()).encode(&ctx), bytes);
    let got = frames(&bytes, 1, &ctx);
    assert_eq!(got.len(), 1);
    let frame = got[0].as_ref().unwrap();
    assert_eq!(frame.decode(&ctx), Ok(Message::Open(gobgp_like_open())));
    assert_eq!(gobgp_like_open().asn(), 64512);
}

fn open_body(version: u8, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0xfc, 0x00];
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(u8::try_from(params.len()).unwrap());
    b.extend_from_slice(params);
    b
}

#[test]
fn rfc4271_s6_2_unsupported_version_data_is_largest_supported_version() {
    assert_eq!(
        Open::decode(&open_body(3, 90, [1, 1, 1, 1], &[])),
        Err(BgpError::open(open_subcode::UNSUPPORTED_VERSION, [0, 4]))
    );
}

#[test]
fn rfc4271_s6_2_hold_time_of_one_or_two_seconds_is_unacceptable() {
    for hold in [1, 2] {
        assert_eq!(
            Open::decode(&open_body(4, hold, [1, 1, 1, 1], &[])),
            Err(BgpError::open(
                open_subcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new()
            ))
        );
    }
    for hold in [0, 3, 65535] {
        assert_eq!(
            Open::decode(&open_body(4, hold, [1, 1, 1, 1], &[]))
                .unwrap()
                .hold_time,
            hold
        );
    }
}

#[test]
fn rfc6286_s2_2_zero_bgp_identifier_is_bad_bgp_identifier() {
    assert_eq!(
        Open::decode(&open_body(4, 90, [0, 0, 0, 0], &[])),
        Err(BgpError::open(open_subcode::BAD_BGP_IDENTIFIER, Vec::new()))
    );
}

#[test]
fn rfc4271_s6_2_non_capability_parameter_is_unsupported_optional_parameter() {
    // Type 1 (the deprecated Authentication parameter, RFC 5492 §3).
    assert_eq!(
        Open::decode(&open_body(4, 90, [1, 1, 1, 1], &[1, 1, 0])),
        Err(BgpError::open(
            open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
            Vec::new()
        ))
    );
}

#[test]
fn rfc4271_s6_2_inconsistent_parameter_lengths_are_unspecific() {
    let unspecific = Err(BgpError::open(0, Vec::new()));
    // Optional Parameters Length larger than what follows.
    let mut body = open_body(4, 90, [1, 1, 1, 1], &[2, 2, 2, 0]);
    body[9] = 5;
    assert_eq!(Open::decode(&body), unspecific);
    // ... and smaller.
    body[9] = 3;
    assert_eq!(Open::decode(&body), unspecific);
    // A parameter length running past the parameters.
    assert_eq!(
        Open::decode(&open_body(4, 90, [1, 1, 1, 1], &[2, 3, 2, 0])),
        unspecific
    );
    // A capability length running past its parameter.
    assert_eq!(
        Open::decode(&open_body(4, 90, [1, 1, 1, 1], &[2, 2, 65, 4])),
        unspecific
    );
}

#[test]
fn rfc4271_s6_1_open_body_shorter_than_fixed_part_is_bad_message_length() {
    assert_eq!(Open::decode(&[4, 0, 1]), Err(bad_length(22)));
}

#[test]
fn rfc5492_s4_several_capabilities_per_parameter_and_several_parameters() {
    // One parameter with MP(VPNv4) + route refresh, a second with 4-octet AS.
    let params = hex("02 08 01 04 0001 00 80 02 00   02 06 41 04 00010001");
    let open = Open::decode(&open_body(4, 180, [10, 0, 0, 1], &params)).unwrap();
    assert_eq!(
        open.capabilities,
        vec![
            Capability::Multiprotocol {
                family: Family::VPNV4
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs { asn: 65537 },
        ]
    );
    assert_eq!(open.asn(), 65537);
    // An empty Capabilities parameter is allowed.
    assert_eq!(
        Open::decode(&open_body(4, 180, [10, 0, 0, 1], &[2, 0]))
            .unwrap()
            .capabilities,
        vec![]
    );
}

#[test]
fn rfc9072_s2_extended_optional_parameters_length() {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-octet length and 2-octet parameter
    // lengths.
    let mut body = vec![4, 0xfc, 0x00, 0, 90, 10, 0, 0, 1, 255, 255, 0, 7];
    body.extend(hex("02 0004 02 00 00 00"));
    let caps = vec![
        Capability::RouteRefresh,
        Capability::Unknown {
            code: 0,
            value: vec![],
        },
    ];
    assert_eq!(Open::decode(&body).unwrap().capabilities, caps);
    // Parameters over 255 octets are sent in the extended format and read back.
    let open = Open {
        capabilities: (0..80)
            .map(|i| Capability::FourOctetAs { asn: i })
            .collect(),
        ..gobgp_like_open()
    };
    let encoded = open.encode_body();
    assert_eq!(encoded[9..11], [255, 255]);
    assert_eq!(Open::decode(&encoded), Ok(open));
}

#[test]
fn rfc6793_s4_1_as_trans_in_my_as_when_the_as_needs_four_octets() {
    let caps = vec![Capability::FourOctetAs { asn: 4_200_000_001 }];
    let open = Open::new(4_200_000_001, 180, Ipv4Addr::new(10, 0, 0, 1), caps);
    assert_eq!(open.my_as, open::AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(
        Open::new(64512, 180, Ipv4Addr::new(10, 0, 0, 1), vec![]).my_as,
        64512
    );
}

#[test]
fn rfc4271_s6_2_validate_bad_peer_as_and_rfc6286_same_identifier_for_ibgp() {
    let open = gobgp_like_open();
    let ours = Ipv4Addr::new(192, 0, 2, 2);
    assert_eq!(open.validate(64512, 64512, ours), Ok(()));
    assert_eq!(
        open.validate(64513, 64513, ours),
        Err(BgpError::open(
            open_subcode::BAD_PEER_AS,
            64512u16.to_be_bytes()
        ))
    );
    let same_id = open.bgp_identifier;
    assert_eq!(
        open.validate(64512, 64512, same_id),
        Err(BgpError::open(open_subcode::BAD_BGP_IDENTIFIER, Vec::new()))
    );
    // eBGP peers may share our identifier (RFC 6286 §2.2).
    assert_eq!(open.validate(64512, 65000, same_id), Ok(()));
    assert_eq!(
        Open {
            hold_time: 2,
            ..open.clone()
        }
        .validate(64512, 64512, ours),
        Err(BgpError::open(
            open_subcode::UNACCEPTABLE_HOLD_TIME,
            Vec::new()
        ))
    );
    assert_eq!(open::negotiated_hold_time(180, 90), 90);
}

// ---- NOTIFICATION (RFC 4271 §4.5, RFC 9003) ----

#[test]
fn rfc9003_s2_cease_administrative_shutdown_with_message_exact_bytes() {
    let ctx = DecodeContext::default();
    let bytes = hex("ffffffff ffffffff ffffffff ffffffff 0021 03 06 02 0b 6d61696e74656e616e6365");
    let n = Notification::cease_shutdown("maintenance");
    assert_eq!(Message::Notification(n.clone()).encode(&ctx), bytes);
    assert_eq!(
        decode_message(3, &bytes[19..], &ctx),
        Ok(Message::Notification(n.clone()))
    );
    assert_eq!(n.shutdown_message(), Some("maintenance"));
    assert_eq!(
        n.to_string(),
        "Cease/Administrative Shutdown: \"maintenance\""
    );
}

#[test]
fn rfc9003_s2_malformed_shutdown_communication_is_kept_raw() {
    // Length octet larger than the text.
    let n = Notification::decode(&[6, 2, 5, b'a']);
    assert_eq!(n.data, NotificationData::Raw(vec![5, b'a']));
    // Invalid UTF-8.
    let n = Notification::decode(&[6, 4, 1, 0xff]);
    assert_eq!(n.data, NotificationData::Raw(vec![1, 0xff]));
    // No data at all.
    assert_eq!(
        Notification::decode(&[6, 2]).data,
        NotificationData::Raw(vec![])
    );
    // Administrative Reset carries one too; other subcodes never do.
    assert_eq!(
        Notification::decode(&[6, 4, 2, b'h', b'i']).shutdown_message(),
        Some("hi")
    );
    assert_eq!(
        Notification::decode(&[6, 3, 2, b'h', b'i']).shutdown_message(),
        None
    );
}

#[test]
fn rfc9003_s2_shutdown_communication_is_cut_at_a_character_boundary_to_255_octets() {
    let n = Notification::cease_shutdown(&"€".repeat(100)); // 300 octets
    assert_eq!(n.shutdown_message(), Some("€".repeat(85).as_str()));
    let body = n.encode_body();
    assert_eq!(body[2], 255);
    assert_eq!(Notification::decode(&body), n);
}

#[test]
fn rfc4271_s6_4_notification_decoding_never_fails() {
    let n = Notification::decode(&[99, 7, 1, 2, 3]);
    assert_eq!(n.code, ErrorCode::Other(99));
    assert_eq!(
        n.to_string(),
        "Unknown Error 99/Unknown Subcode 7 (data 010203)"
    );
}

#[test]
fn rfc4271_s4_5_notification_from_bgp_error_and_display() {
    let e = BgpError::header(header_subcode::BAD_MESSAGE_LENGTH, [0x00, 0x12]);
    let n = Notification::from(e.clone());
    assert_eq!(n.encode_body(), [1, 2, 0, 0x12]);
    assert_eq!(n.to_error(), e);
    assert_eq!(
        n.to_string(),
        "Message Header Error/Bad Message Length (data 0012)"
    );
    let n = Notification::from(BgpError::new(ErrorCode::HoldTimerExpired, 0, vec![]));
    assert_eq!(n.to_string(), "Hold Timer Expired");
    let n = Notification::from(BgpError::cease(
        cease_subcode::ADMINISTRATIVE_RESET,
        vec![0],
    ));
    assert_eq!(n.shutdown_message(), Some(""));
    assert_eq!(n.to_string(), "Cease/Administrative Reset: \"\"");
}

// ---- ROUTE-REFRESH (RFC 2918 §3, RFC 7313) ----

#[test]
fn rfc2918_s3_route_refresh_exact_bytes() {
    let ctx = DecodeContext::default();
    let bytes = hex("ffffffff ffffffff ffffffff ffffffff 0017 05 0019 00 46");
    let rr = Message::RouteRefresh(RouteRefresh::request(Family::EVPN));
    assert_eq!(rr.encode(&ctx), bytes);
    assert_eq!(decode_message(5, &bytes[19..], &ctx), Ok(rr));
}

#[test]
fn rfc7313_s3_subtypes_borr_eorr_and_others_kept() {
    let ctx = DecodeContext::default();
    let rr = |subtype| {
        decode_message(5, &[0, 1, subtype, 128], &ctx).map(|m| match m {
            Message::RouteRefresh(rr) => rr.subtype,
            other => panic!("{other:?}"),
        })
    };
    assert_eq!(rr(1), Ok(RouteRefreshSubtype::BeginningOfRouteRefresh));
    assert_eq!(rr(2), Ok(RouteRefreshSubtype::EndOfRouteRefresh));
    assert_eq!(rr(9), Ok(RouteRefreshSubtype::Other(9)));
}

#[test]
fn rfc7313_s5_wrong_length_is_invalid_message_length_with_the_whole_message() {
    let ctx = DecodeContext::default();
    let bytes = raw_message(24, 5, &[0, 1, 1, 128, 0]);
    let got = frames(&bytes, 1, &ctx);
    assert_eq!(got.len(), 1);
    let frame = got[0].as_ref().unwrap();
    assert_eq!(
        frame.decode(&ctx),
        Err(BgpError::new(
            ErrorCode::RouteRefresh,
            route_refresh_subcode::INVALID_MESSAGE_LENGTH,
            bytes.clone()
        ))
    );
    assert_eq!(
        decode_message(5, &[0, 1], &ctx),
        Err(BgpError::new(
            ErrorCode::RouteRefresh,
            route_refresh_subcode::INVALID_MESSAGE_LENGTH,
            raw_message(21, 5, &[0, 1])
        ))
    );
}

// ---- Properties ----

fn open_strategy() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        any::<u16>().prop_filter("legal hold time", |h| *h != 1 && *h != 2),
        any::<u32>().prop_filter("non-zero identifier", |i| *i != 0),
        prop::collection::vec(crate::wire::capability::tests::capability_strategy(), 0..12),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| Open {
            my_as,
            hold_time,
            bgp_identifier: Ipv4Addr::from(id),
            capabilities,
        })
}

fn notification_strategy() -> impl Strategy<Value = Notification> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(c, s, data)| Notification::new(ErrorCode::from_u8(c), s, data)),
        (
            prop_oneof![Just(6u8), Just(0u8)],
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(c, data)| Notification::new(ErrorCode::from_u8(c), 2, data)),
        "\\PC{0,300}".prop_map(|m| Notification::cease_shutdown(&m)),
        "\\PC{0,10}".prop_map(|m| Notification::cease_reset(&m)),
    ]
}

fn message_strategy() -> impl Strategy<Value = Message> {
    prop_oneof![
        open_strategy().prop_map(Message::Open),
        crate::wire::capability::tests::family_strategy().prop_map(|f| {
            let eor = crate::wire::update::Update::end_of_rib(f);
            Message::Update(crate::wire::update::decode_update(
                &eor.encode_body(&DecodeContext::default()),
                &DecodeContext::default(),
            ))
        }),
        notification_strategy().prop_map(Message::Notification),
        Just(Message::Keepalive),
        (
            crate::wire::capability::tests::family_strategy(),
            any::<u8>()
        )
            .prop_map(|(f, s)| {
                Message::RouteRefresh(RouteRefresh {
                    family: f,
                    subtype: RouteRefreshSubtype::from_u8(s),
                })
            }),
    ]
}

proptest! {
    #[test]
    fn rfc4271_s4_every_message_round_trips_through_the_framer(
        messages in prop::collection::vec(message_strategy(), 1..5),
        chunk in 1usize..600,
    ) {
        let ctx = DecodeContext { extended_message: true, ..DecodeContext::default() };
        let stream: Vec<u8> = messages.iter().flat_map(|m| m.encode(&ctx)).collect();
        let got: Vec<Message> = frames(&stream, chunk, &ctx)
            .into_iter()
            .map(|f| f.and_then(|f| f.decode(&ctx)))
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(got, messages);
    }

    #[test]
    fn rfc4271_s4_framer_never_panics_and_stays_bounded(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 0..20),
        valid_marker in any::<bool>(),
        extended in any::<bool>(),
    ) {
        let ctx = DecodeContext { extended_message: extended, ..DecodeContext::default() };
        let mut framer = Framer::new();
        for (i, mut chunk) in chunks.into_iter().enumerate() {
            // Give headers a chance: start the stream with a valid marker.
            if valid_marker && i == 0 {
                let mut head = MARKER.to_vec();
                head.append(&mut chunk);
                chunk = head;
            }
            for f in framer.push(&chunk, &ctx).into_iter().flatten() {
                prop_assert!(HEADER_LEN + f.body.len() <= ctx.max_message_len());
                // Decoding whatever comes out never panics either.
                let _ = f.decode(&ctx);
            }
            prop_assert!(framer.buffered() < ctx.max_message_len());
        }
    }

    #[test]
    fn rfc4271_s4_2_decoding_any_open_body_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        if let Ok(open) = Open::decode(&body) {
            prop_assert_eq!(Open::decode(&open.encode_body()), Ok(open));
        }
    }

    #[test]
    fn rfc4271_s6_4_any_notification_body_decodes_and_round_trips(
        body in prop::collection::vec(any::<u8>(), 2..300)
    ) {
        let n = Notification::decode(&body);
        prop_assert_eq!(n.encode_body(), body);
    }
}

#[test]
fn messages_serialize_to_readable_json_for_the_decode_tool() {
    let open = serde_json::to_value(Message::Open(gobgp_like_open())).unwrap();
    assert_eq!(open["type"], "open");
    assert_eq!(open["message"]["bgp_identifier"], "192.0.2.1");
    assert_eq!(open["message"]["capabilities"][3]["type"], "route_refresh");
    assert_eq!(open["message"]["capabilities"][4]["restart_time"], 120);
    assert_eq!(open["message"]["capabilities"][5]["asn"], 64512);
    let n =
        serde_json::to_value(Message::Notification(Notification::cease_shutdown("bye"))).unwrap();
    assert_eq!(n["message"]["data"]["shutdown"], "bye");
    let rr =
        serde_json::to_value(Message::RouteRefresh(RouteRefresh::request(Family::VPNV4))).unwrap();
    assert_eq!(rr["message"]["subtype"], "normal");
}
