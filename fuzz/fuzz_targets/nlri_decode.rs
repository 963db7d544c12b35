//! Property: decoding any NLRI field of any supported family, with or without add-path, never
//! panics, and what decodes re-encodes (with `encoded_len` exact) to the same value.
#![no_main]

use bagpipe_core::wire::nlri::{decode_nlri, encode_nlri, encoded_len, DECODED_FAMILIES};
use bagpipe_core::wire::Family;
use libfuzzer_sys::fuzz_target;

const FAMILIES: [Family; 10] = DECODED_FAMILIES;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let family = FAMILIES[usize::from(selector & 0x0f) % FAMILIES.len()];
    let add_path = selector & 0x80 != 0;
    let Ok(list) = decode_nlri(family, bytes, add_path) else {
        return;
    };
    let mut out = Vec::new();
    for entry in &list {
        let before = out.len();
        encode_nlri(entry, &mut out);
        assert_eq!(out.len() - before, encoded_len(entry));
    }
    assert_eq!(
        decode_nlri(family, &out, add_path).expect("re-encoded NLRI decode"),
        list
    );
});
