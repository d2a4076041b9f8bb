//! Probe tokens: the unique mark that lets a probe message be found and
//! deleted without touching anything else in the mailbox.

/// `hm` + 32 hex digits (128 random bits). Random, not time-based: two
/// monitors probing one mailbox at once must never claim each other's mail.
pub fn new_token() -> String {
    format!("hm{}", random_hex(16))
}

/// `n` random bytes as lowercase hex (run ids use 3 bytes).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // getrandom only fails when the OS has no entropy source at all; a clock
    // fallback keeps the monitor running (uniqueness, not secrecy, matters here).
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
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// True for strings `new_token` can produce (used when reaping leftovers).
pub fn is_token(s: &str) -> bool {
    s.len() == 34 && s.starts_with("hm") && s[2..].bytes().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tokens_are_well_formed_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert!(is_token(&a), "{a}");
        assert!(is_token(&b), "{b}");
        assert_ne!(a, b);
        assert!(!is_token("hmxyz"));
        assert_eq!(random_hex(3).len(), 6);
    }
}
