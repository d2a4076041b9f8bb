//! Password needles: a password in plain text and in base64 at every
//! alignment, to grep outputs for.

use base64::Engine as _;

/// Substrings that appear in any base64 text containing `pw` at offset
/// 0, 1 or 2 mod 3, plus `pw` itself.
pub fn needles(pw: &str) -> Vec<String> {
    let mut out = vec![pw.to_string()];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        for k in 0..3usize {
            let mut b = vec![0u8; k];
            b.extend_from_slice(pw.as_bytes());
            let enc = engine.encode(&b);
            // Characters whose 6 bits all come from `pw`.
            let first = (4 * k).div_ceil(3);
            let last = 8 * (k + pw.len()) / 6;
            out.push(enc[first..last].to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}
