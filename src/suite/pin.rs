//! `tls.pin_sha256` values: the suite checks them, the TLS verifier uses them.

use base64::Engine;

/// A `pin_sha256` value: 64 hex digits (colons allowed, as `openssl x509
/// -fingerprint -sha256` prints them) or base64 of the 32 bytes, optionally
/// prefixed `sha256//` (curl's `--pinnedpubkey`).
pub fn parse_pin(s: &str) -> Result<[u8; 32], String> {
    let t = s.trim();
    let t = t.strip_prefix("sha256//").unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != ':').collect();
    let bytes = if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect::<Vec<u8>>()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .map_err(|_| "not 64 hex digits or base64 of a SHA-256".to_string())?
    };
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{} bytes, a SHA-256 has 32", bytes.len()))
}
