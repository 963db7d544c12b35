//! Golden vectors: every BGP message of the real captures in `vectors/` (GoBGP, FRR, ExaBGP),
//! stored as hex in `vectors/messages/*.hex` (see `vectors/README.md`), is
//!
//! 1. decoded with the [`DecodeContext`] its receiver would use, negotiated from the two OPENs of
//!    its session (RFC 5492 §3);
//! 2. decoded without error and, for an UPDATE, with the disposition `accepted` (RFC 7606);
//! 3. snapshot-tested as JSON with insta (one snapshot per capture, messages in capture order);
//! 4. re-encoded byte for byte, except the messages listed in [`NOT_CANONICAL`] with the reason,
//!    which must re-encode to the same value (decode, encode, decode gives the same message).

use bagpipe_core::wire::capability::negotiate;
use bagpipe_core::wire::message::{decode_message, Message, Open, HEADER_LEN, MARKER};
use bagpipe_core::wire::update::Disposition;
use bagpipe_core::wire::DecodeContext;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// GoBGP puts every capability in one Capabilities optional parameter; RFC 5492 §4 allows that
/// or one parameter per capability, and our encoder writes one per capability (as FRR and ExaBGP).
const ONE_CAPABILITIES_PARAMETER: &str = "all capabilities in one optional parameter";
/// RFC 4271 §4.3 lets a sender set the Extended Length bit on any attribute; our encoder sets it
/// only when the value is longer than 255 octets. ExaBGP sets it on MP_UNREACH_NLRI, FRR on
/// MP_REACH_NLRI and AS_PATH.
const EXTENDED_LENGTH: &str = "Extended Length bit on a short attribute";
/// Our encoder sends MP_REACH_NLRI/MP_UNREACH_NLRI first, then by type code (RFC 7606 §5.1);
/// GoBGP sends MP_REACH_NLRI after ORIGIN, AS_PATH and LOCAL_PREF, ExaBGP sends it last.
const ATTRIBUTE_ORDER: &str = "attributes not in canonical order";

/// Messages whose encoding is not the one our encoder gives, by (file, index), and why. Every
/// other message re-encodes byte for byte. Run with `GOLDEN_LIST=1` to print every message
/// that does not re-encode exactly, instead of checking this list.
const NOT_CANONICAL: &[(&str, usize, &str)] = &[
    (
        "frr-exabgp-vpnv4-flowspec.hex",
        0,
        ONE_CAPABILITIES_PARAMETER,
    ),
    ("frr-exabgp-vpnv4-flowspec.hex", 4, EXTENDED_LENGTH),
    ("frr-exabgp-vpnv4-flowspec.hex", 5, EXTENDED_LENGTH),
    ("frr-exabgp-vpnv4-flowspec.hex", 6, EXTENDED_LENGTH),
    ("frr-exabgp-vpnv4-flowspec.hex", 7, EXTENDED_LENGTH),
    (
        "frr-exabgp-vpnv4-flowspec.hex",
        9,
        ONE_CAPABILITIES_PARAMETER,
    ),
    ("frr-exabgp-vpnv4-flowspec.hex", 12, EXTENDED_LENGTH),
    ("frr-exabgp-vpnv4-flowspec.hex", 13, ATTRIBUTE_ORDER),
    ("frr-exabgp-vpnv4-flowspec.hex", 14, ATTRIBUTE_ORDER),
    (
        "gobgp-evpn-vpnv4-flowspec.hex",
        0,
        ONE_CAPABILITIES_PARAMETER,
    ),
    (
        "gobgp-evpn-vpnv4-flowspec.hex",
        1,
        ONE_CAPABILITIES_PARAMETER,
    ),
    ("gobgp-evpn-vpnv4-flowspec.hex", 4, ATTRIBUTE_ORDER),
    ("gobgp-evpn-vpnv4-flowspec.hex", 5, ATTRIBUTE_ORDER),
    ("gobgp-evpn-vpnv4-flowspec.hex", 6, ATTRIBUTE_ORDER),
    ("gobgp-evpn-vpnv4-flowspec.hex", 7, ATTRIBUTE_ORDER),
    ("gobgp-evpn-vpnv4-flowspec.hex", 8, ATTRIBUTE_ORDER),
];

/// One message of a `.hex` file.
struct Vector {
    index: usize,
    src: String,
    dst: String,
    /// Who sent it, as the file's comment names the peer.
    from: String,
    to: String,
    bytes: Vec<u8>,
}

fn messages_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/messages")
}

fn unhex(line: &str) -> Vec<u8> {
    assert!(
        line.len().is_multiple_of(2),
        "odd number of hex digits: {line}"
    );
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// `# <index> <src> (<peer>) -> <dst> (<peer>) <type>` then the message in hex.
fn read_vectors(name: &str) -> Vec<Vector> {
    let text = std::fs::read_to_string(messages_dir().join(name)).expect("vector file");
    let mut out = Vec::new();
    let mut pending: Option<(usize, String, String, String, String)> = None;
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let words: Vec<&str> = comment.split(' ').collect();
            if let Some(index) = words.first().and_then(|w| w.parse::<usize>().ok()) {
                let arrow = words.iter().position(|w| *w == "->").expect("arrow");
                let peer = |ws: &[&str]| ws.join(" ").trim_matches(['(', ')']).to_string();
                pending = Some((
                    index,
                    words[1].to_string(),
                    words[arrow + 1].to_string(),
                    peer(&words[2..arrow]),
                    peer(&words[arrow + 2..words.len() - 1]),
                ));
            }
            continue;
        }
        let (index, src, dst, from, to) = pending.take().expect("a comment before each message");
        out.push(Vector {
            index,
            src,
            dst,
            from,
            to,
            bytes: unhex(line.trim()),
        });
    }
    out
}

/// The TCP connection a message belongs to (its two endpoints, in either direction).
fn connection(v: &Vector) -> (String, String) {
    if v.src < v.dst {
        (v.src.clone(), v.dst.clone())
    } else {
        (v.dst.clone(), v.src.clone())
    }
}

/// The context the receiver of a message from `sender` decodes it with: what its OPEN and the
/// sender's OPEN negotiated (RFC 5492 §3, RFC 7911 §5 for the direction of ADD-PATH); before the
/// OPENs, the default context.
fn receiver_context(opens: &BTreeMap<String, Open>, v: &Vector) -> DecodeContext {
    match (opens.get(&v.dst), opens.get(&v.src)) {
        (Some(receiver), Some(sender)) => {
            negotiate(
                &receiver.capabilities,
                &sender.capabilities,
                receiver.asn() == sender.asn(),
            )
            .decode
        }
        _ => DecodeContext::default(),
    }
}

fn check_file(name: &str) -> Value {
    let vectors = read_vectors(name);
    assert!(!vectors.is_empty(), "{name}: no messages");
    let mut opens: BTreeMap<String, Open> = BTreeMap::new();
    let mut snapshot = Vec::new();
    let mut not_canonical_seen = Vec::new();
    for v in &vectors {
        let what = format!("{name} #{} ({} -> {})", v.index, v.from, v.to);
        // RFC 4271 §4.1: marker, length, type.
        assert!(v.bytes.len() >= HEADER_LEN, "{what}: shorter than a header");
        assert_eq!(v.bytes[..16], MARKER, "{what}: marker");
        let length = usize::from(u16::from_be_bytes([v.bytes[16], v.bytes[17]]));
        assert_eq!(length, v.bytes.len(), "{what}: length field");
        let ctx = receiver_context(&opens, v);
        let message = decode_message(v.bytes[18], &v.bytes[HEADER_LEN..], &ctx)
            .unwrap_or_else(|e| panic!("{what}: does not decode: {e:?}"));
        match &message {
            Message::Open(open) => {
                // A new OPEN from an endpoint starts its session afresh.
                opens.insert(v.src.clone(), open.clone());
            }
            Message::Update(decoded) => {
                assert_eq!(
                    decoded.disposition,
                    Disposition::Accepted,
                    "{what}: disposition"
                );
                assert!(
                    decoded.ignored_families.is_empty(),
                    "{what}: families ignored: {:?}",
                    decoded.ignored_families
                );
            }
            _ => {}
        }
        let encoded = message.encode(&ctx);
        let listed = NOT_CANONICAL
            .iter()
            .find(|(file, index, _)| *file == name && *index == v.index);
        if std::env::var_os("GOLDEN_LIST").is_some() {
            if encoded != v.bytes {
                eprintln!(
                    "MISMATCH {what}\n  got  {}\n  want {}",
                    hex(&encoded),
                    hex(&v.bytes)
                );
            }
            continue;
        }
        match listed {
            None => assert_eq!(
                hex(&encoded),
                hex(&v.bytes),
                "{what}: does not re-encode byte for byte"
            ),
            Some((_, _, why)) => {
                assert_ne!(
                    encoded, v.bytes,
                    "{what} re-encodes exactly: remove it from NOT_CANONICAL ({why})"
                );
                let again = decode_message(encoded[18], &encoded[HEADER_LEN..], &ctx)
                    .unwrap_or_else(|e| panic!("{what}: re-encoding does not decode: {e:?}"));
                assert_eq!(
                    canonical(again),
                    canonical(message.clone()),
                    "{what}: re-encoding changes the value"
                );
                not_canonical_seen.push(v.index);
            }
        }
        let (a, b) = connection(v);
        snapshot.push(json!({
            "index": v.index,
            "connection": format!("{a} {b}"),
            "from": v.from,
            "to": v.to,
            "message": message,
        }));
    }
    let expected: Vec<usize> = NOT_CANONICAL
        .iter()
        .filter(|(file, _, _)| *file == name)
        .map(|(_, index, _)| *index)
        .collect();
    assert_eq!(
        not_canonical_seen, expected,
        "{name}: NOT_CANONICAL entries"
    );
    Value::Array(snapshot)
}

/// The message with its attributes in canonical order (RFC 7606 §5.1): the order a peer sent
/// them in is not part of their value.
fn canonical(mut message: Message) -> Message {
    if let Message::Update(decoded) = &mut message {
        let attributes = &mut decoded.update.attributes;
        attributes.list = attributes.canonical_order().into_iter().cloned().collect();
    }
    message
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn gobgp_evpn_vpnv4_flowspec_session() {
    insta::assert_json_snapshot!(check_file("gobgp-evpn-vpnv4-flowspec.hex"));
}

#[test]
fn frr_exabgp_vpnv4_flowspec_sessions() {
    insta::assert_json_snapshot!(check_file("frr-exabgp-vpnv4-flowspec.hex"));
}

#[test]
fn every_vector_file_is_tested() {
    let mut files: Vec<String> = std::fs::read_dir(messages_dir())
        .expect("vectors/messages")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hex"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "frr-exabgp-vpnv4-flowspec.hex",
            "gobgp-evpn-vpnv4-flowspec.hex"
        ]
    );
}
