//! Property: decoding any UPDATE body under any negotiated context never panics, and an
//! accepted UPDATE re-encodes to one that decodes to the same value (attributes compared in
//! canonical order: encoding puts MP attributes first, then type codes in order).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bagpipe_core::wire::nlri::DECODED_FAMILIES;
use bagpipe_core::wire::update::{decode_update, Disposition};
use bagpipe_core::wire::{DecodeContext, Family};
use libfuzzer_sys::fuzz_target;

const FAMILIES: [Family; 10] = DECODED_FAMILIES;

fn context(u: &mut Unstructured<'_>) -> arbitrary::Result<DecodeContext> {
    let negotiated = u16::arbitrary(u)?;
    let add_path = u16::arbitrary(u)?;
    let pick = |mask: u16| {
        FAMILIES
            .iter()
            .enumerate()
            .filter(move |(i, _)| mask & (1 << i) != 0)
            .map(|(_, f)| *f)
    };
    Ok(DecodeContext {
        four_octet_as: bool::arbitrary(u)?,
        add_path: pick(add_path & negotiated).collect(),
        extended_message: bool::arbitrary(u)?,
        families: pick(negotiated).collect(),
        ibgp: bool::arbitrary(u)?,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(ctx) = context(&mut u) else { return };
    let body = u.take_rest();
    let decoded = decode_update(body, &ctx);
    if decoded.disposition == Disposition::Accepted {
        let again = decode_update(&decoded.update.encode_body(&ctx), &ctx);
        assert_eq!(again.update.withdrawn, decoded.update.withdrawn);
        assert_eq!(again.update.nlri, decoded.update.nlri);
        assert_eq!(
            again.update.attributes.canonical_order(),
            decoded.update.attributes.canonical_order()
        );
    }
});
