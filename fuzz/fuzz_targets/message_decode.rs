//! Property: framing and decoding any byte stream never panics, and every message that decodes
//! cleanly re-encodes to a message that decodes to the same value (decode, encode, decode;
//! UPDATE attributes compared in canonical order, the order encoding uses).
#![no_main]

use bagpipe_core::wire::message::{decode_message, Framer, Message};
use bagpipe_core::wire::update::Disposition;
use bagpipe_core::wire::DecodeContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = DecodeContext::default();
    let mut framer = Framer::new();
    // Feed in two chunks so that framing across reads is exercised too.
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut frames = framer.push(&data[..split], &ctx);
    frames.extend(framer.push(&data[split..], &ctx));
    for frame in frames.into_iter().flatten() {
        let Ok(message) = frame.decode(&ctx) else {
            continue;
        };
        if let Message::Update(u) = &message {
            if u.disposition != Disposition::Accepted {
                continue;
            }
        }
        let bytes = message.encode(&ctx);
        let again =
            decode_message(bytes[18], &bytes[19..], &ctx).expect("re-encoded message decodes");
        match (&again, &message) {
            (Message::Update(a), Message::Update(b)) => {
                assert_eq!(a.update.withdrawn, b.update.withdrawn);
                assert_eq!(a.update.nlri, b.update.nlri);
                assert_eq!(
                    a.update.attributes.canonical_order(),
                    b.update.attributes.canonical_order()
                );
                assert_eq!(a.disposition, b.disposition);
            }
            _ => assert_eq!(again, message),
        }
    }
});
