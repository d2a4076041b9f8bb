//! IMAP responses: the parser behind every server answer, literal markers,
//! response codes and capability lists. Input: the response text, then
//! literal payloads separated by 0xFF 0x00.
#![no_main]

use healthmon::probe::imap_parse::{Parsed, Response, capability_words, code_name, literal_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xff);
    let text = parts.next().unwrap_or_default().to_vec();
    let literals: Vec<Vec<u8>> = parts.map(<[u8]>::to_vec).collect();
    if let Some(Ok(n)) = literal_len(&text) {
        let _ = n;
    }
    let r = Response { text, literals };
    match r.parse() {
        Ok(Parsed::Fetch { items, .. }) => {
            for (_, v) in &items {
                let _ = r.bytes(v);
            }
        }
        Ok(Parsed::Tagged { code: Some(c), .. } | Parsed::Status { code: Some(c), .. }) => {
            let _ = code_name(&c);
            let _ = capability_words(&c);
        }
        _ => {}
    }
});
