//! Probe tokens: the mark that lets a probe message be found and deleted
//! without touching anything else in the mailbox, and proves that this
//! installation sent it.
//!
//! A token is `hm` + 32 hex digits of random nonce + 32 hex digits of
//! HMAC-SHA256 (truncated to 128 bits) over the nonce, the case id and the
//! site name, under the installation's [`ProbeKey`]. Anyone can copy a
//! header; nobody without the key can make a token that verifies for
//! another nonce, case or site, so a leftover of an earlier run is told apart
//! from a user's message that merely looks like one, and from the probes of
//! a second monitor (another key) probing the same mailbox.

use std::fmt;

use ring::hmac;

/// Bytes of key material (the key file holds exactly these, raw).
pub const KEY_LEN: usize = 32;
const PREFIX: &str = "hm";
const NONCE_HEX: usize = 32;
/// 128 bits of tag: forging one means guessing it (2^-128 per try); the full
/// 256-bit tag would make the token 98 characters for no practical gain.
const MAC_BYTES: usize = 16;
/// Domain separation: these MACs are probe tokens of format 1 and nothing else.
const CONTEXT: &[u8] = b"healthmon probe token v1";

/// The installation's secret for signing probe tokens (kept in the state
/// directory by the app layer: `app::probe_key`). No Display; Debug shows
/// nothing of the key.
pub struct ProbeKey {
    key: hmac::Key,
}

impl fmt::Debug for ProbeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProbeKey(<redacted>)")
    }
}

impl ProbeKey {
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> ProbeKey {
        ProbeKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// A fresh random key held only in memory (tests, benches).
    pub fn generate() -> Result<ProbeKey, String> {
        Ok(ProbeKey::from_bytes(&fresh_key_bytes()?))
    }

    /// A new token for a probe of `case_id` on `site`.
    pub fn mint(&self, case_id: &str, site: &str) -> String {
        let nonce = random_hex(NONCE_HEX / 2);
        let mac = self.tag(&nonce, case_id, site);
        format!("{PREFIX}{nonce}{}", hex(&mac))
    }

    /// Did this key mint `token` for `case_id` on `site`? Malformed tokens
    /// are simply `false`. The tags are compared in constant time.
    pub fn verifies(&self, token: &str, case_id: &str, site: &str) -> bool {
        let Some((nonce, mac)) = split_token(token) else {
            return false;
        };
        let expected = self.tag(nonce, case_id, site);
        // ring compares only whole HMAC tags in constant time, so the two
        // truncated tags are compared through one more HMAC: equal inputs
        // give equal tags, and the timing of that comparison says nothing
        // about the (secret) expected value.
        let reference = hmac::sign(&self.key, &expected);
        hmac::verify(&self.key, &mac, reference.as_ref()).is_ok()
    }

    fn tag(&self, nonce: &str, case_id: &str, site: &str) -> [u8; MAC_BYTES] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(CONTEXT);
        // Length-prefixed fields: ("a b", "c") and ("a", "b c") differ.
        for field in [nonce, case_id, site] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field.as_bytes());
        }
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&ctx.sign().as_ref()[..MAC_BYTES]);
        out
    }
}

/// `(nonce hex, MAC bytes)` of a token of the shape [`ProbeKey::mint`] makes.
fn split_token(token: &str) -> Option<(&str, [u8; MAC_BYTES])> {
    let rest = token.strip_prefix(PREFIX)?;
    if rest.len() != NONCE_HEX + 2 * MAC_BYTES
        || !rest.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let (nonce, mac_hex) = rest.split_at(NONCE_HEX);
    let mut mac = [0u8; MAC_BYTES];
    for (i, b) in mac.iter_mut().enumerate() {
        *b = u8::from_str_radix(&mac_hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some((nonce, mac))
}

/// New key material. It must be random: no clock fallback here.
pub fn fresh_key_bytes() -> Result<[u8; KEY_LEN], String> {
    let mut b = [0u8; KEY_LEN];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness for a new probe key: {e}"))?;
    Ok(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `n` random bytes as lowercase hex (run ids use 3 bytes, nonces 16).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // getrandom only fails when the OS has no entropy source at all; a clock
    // fallback keeps the monitor running (uniqueness, not secrecy, matters
    // here: a nonce needs no secrecy, the key does and never falls back).
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ (std::process::id() as u128) << 64;
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8;
        }
    }
    hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = "rndtrip/ims1/mta1/mmp1/pop3";
    const SITE: &str = "local";

    fn key(n: u8) -> ProbeKey {
        ProbeKey::from_bytes(&[n; KEY_LEN])
    }

    #[test]
    fn minted_tokens_are_distinct_and_verify() {
        let k = key(1);
        let a = k.mint(CASE, SITE);
        let b = k.mint(CASE, SITE);
        assert_ne!(a, b);
        assert_eq!(a.len(), 2 + NONCE_HEX + 2 * MAC_BYTES);
        assert!(a.starts_with("hm") && a[2..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(k.verifies(&a, CASE, SITE));
        assert!(k.verifies(&b, CASE, SITE));
        assert_eq!(random_hex(3).len(), 6);
    }

    #[test]
    fn wrong_key_case_or_site_does_not_verify() {
        let t = key(1).mint(CASE, SITE);
        assert!(
            !key(2).verifies(&t, CASE, SITE),
            "another installation's key"
        );
        assert!(!key(1).verifies(&t, "rndtrip/ims2/mta1/mmp1/pop3", SITE));
        assert!(!key(1).verifies(&t, &format!("{CASE}x"), SITE));
        assert!(!key(1).verifies(&t, CASE, "other-site"));
        // Fields are length-prefixed: moving a character between case id
        // and site is another message.
        let k = key(1);
        let t = k.mint("a/b", "cd");
        assert!(k.verifies(&t, "a/b", "cd"));
        assert!(!k.verifies(&t, "a/bc", "d"));
    }

    #[test]
    fn tampered_nonce_or_mac_does_not_verify() {
        let k = key(1);
        let t = k.mint(CASE, SITE);
        let flip = |i: usize| {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            String::from_utf8(b).unwrap()
        };
        assert!(!k.verifies(&flip(2), CASE, SITE), "first nonce digit");
        assert!(!k.verifies(&flip(2 + NONCE_HEX - 1), CASE, SITE));
        assert!(
            !k.verifies(&flip(2 + NONCE_HEX), CASE, SITE),
            "first MAC digit"
        );
        assert!(!k.verifies(&flip(t.len() - 1), CASE, SITE));
    }

    #[test]
    fn malformed_tokens_do_not_verify() {
        let k = key(1);
        let t = k.mint(CASE, SITE);
        for bad in [
            String::new(),
            "hm".into(),
            // The old unsigned shape: `hm` + 32 hex.
            "hm0123456789abcdef0123456789abcdef".into(),
            t[..t.len() - 1].to_string(),
            format!("{t}0"),
            t.to_uppercase(),
            t.replacen("hm", "xx", 1),
            format!("hm{}", "g".repeat(64)),
            // Multi-byte characters must not panic the hex split.
            format!("hm{}", "é".repeat(32)),
        ] {
            assert!(!k.verifies(&bad, CASE, SITE), "{bad}");
        }
    }
}
