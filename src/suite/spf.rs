//! An SPF record as the suite writes it (`spf.record`, RFC 7208 syntax),
//! parsed by validation (to name what healthmon cannot evaluate) and by
//! `probe::signed` where an outbound probe is checked (a few terms). Only
//! what needs no DNS is accepted: healthmon never looks up
//! `include:`, `a`, `mx`, `ptr`, `exists:` or `redirect=` — the suite
//! gives the addresses they stand for as `ip4:`/`ip6:` instead.

use std::net::IpAddr;

/// `+` pass, `-` fail, `~` softfail, `?` neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    /// `ip4:` or `ip6:` network and prefix length.
    Ip(IpAddr, u8),
}

/// One mechanism with its qualifier and the text it was written as
/// (messages quote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    pub text: String,
}

/// The mechanisms that need DNS, refused by name.
const NEEDS_DNS: &[&str] = &["include", "a", "mx", "ptr", "exists"];

/// The record's directives in order; an error names the first term that is
/// not SPF or needs DNS.
pub fn parse(record: &str) -> Result<Vec<Directive>, String> {
    let mut terms = record.split_ascii_whitespace();
    if !terms
        .next()
        .is_some_and(|v| v.eq_ignore_ascii_case("v=spf1"))
    {
        return Err("an SPF record starts with `v=spf1`".into());
    }
    let mut out = Vec::new();
    for t in terms {
        if let Some((name, _)) = t.split_once('=') {
            if name.eq_ignore_ascii_case("redirect") {
                return Err(format!("`{t}` needs DNS"));
            }
            // exp= and unknown modifiers do not change the result (RFC 7208 6).
            continue;
        }
        out.push(directive(t)?);
    }
    Ok(out)
}

fn directive(t: &str) -> Result<Directive, String> {
    let (qualifier, rest) = match t.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &t[1..]),
        b'-' => (Qualifier::Fail, &t[1..]),
        b'~' => (Qualifier::SoftFail, &t[1..]),
        b'?' => (Qualifier::Neutral, &t[1..]),
        _ => (Qualifier::Pass, t),
    };
    let (name, arg) = match rest.find([':', '/']) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let name = name.to_ascii_lowercase();
    let mechanism = match (name.as_str(), arg) {
        ("all", None) => Mechanism::All,
        ("ip4", Some(a)) => {
            ip(a, true).ok_or_else(|| format!("`{t}` is not ip4:ADDRESS[/0-32]"))?
        }
        ("ip6", Some(a)) => {
            ip(a, false).ok_or_else(|| format!("`{t}` is not ip6:ADDRESS[/0-128]"))?
        }
        (n, _) if NEEDS_DNS.contains(&n) => return Err(format!("`{t}` needs DNS")),
        _ => return Err(format!("`{t}` is not an SPF mechanism")),
    };
    Ok(Directive {
        qualifier,
        mechanism,
        text: t.to_string(),
    })
}

/// `:ADDRESS[/LEN]` of the right family.
fn ip(arg: &str, v4: bool) -> Option<Mechanism> {
    let arg = arg.strip_prefix(':')?;
    let (addr, len) = match arg.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (arg, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (addr.is_ipv4() == v4 && len <= max).then_some(Mechanism::Ip(addr, len))
}
