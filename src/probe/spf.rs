//! SPF at the external side of an outbound probe, without DNS: the address
//! the external MX received the probe from and the envelope sender's domain,
//! checked against the record the suite says the site publishes
//! (`suite::spf`). Pure functions; `signed.rs` records the fact.

use crate::suite::spf::{Directive, Mechanism, Qualifier};
use std::net::IpAddr;

/// RFC 7208's results that a DNS-free evaluation can reach. `None` stands
/// for "nothing to check" (no sending address found, another envelope
/// domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfResult {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
        }
    }
}

/// The first directive that matches `ip` decides; none matching is neutral
/// (RFC 7208 4.7). Also returns the deciding directive.
pub fn check_host(ip: IpAddr, record: &[Directive]) -> (SpfResult, Option<&Directive>) {
    let ip = unmapped(ip);
    let Some(d) = record.iter().find(|d| matches(&d.mechanism, ip)) else {
        return (SpfResult::Neutral, None);
    };
    let r = match d.qualifier {
        Qualifier::Pass => SpfResult::Pass,
        Qualifier::Fail => SpfResult::Fail,
        Qualifier::SoftFail => SpfResult::SoftFail,
        Qualifier::Neutral => SpfResult::Neutral,
    };
    (r, Some(d))
}

fn matches(m: &Mechanism, ip: IpAddr) -> bool {
    match m {
        Mechanism::All => true,
        Mechanism::Ip(net, len) => in_network(ip, *net, *len),
    }
}

/// `ip` is in `net/len`; an address of the other family never is.
pub fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// An IPv4 client seen on an IPv6 socket (`::ffff:a.b.c.d`) is checked as
/// the IPv4 address it is.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address the external side received the probe from: oldest first,
/// the first Received header added by a host outside `site_domain` (the
/// hand-over, as `roundtrip::mark_internet_hops` finds it) names the site's
/// MTA in its `from` part. Not simply the topmost header: the external
/// side's own hops (MX → mailbox store over LMTP) come after it.
pub fn sending_ip(msg: &mail_parser::Message<'_>, site_domain: &str) -> Option<IpAddr> {
    let site = site_domain.to_ascii_lowercase();
    let recv: Vec<_> = msg.received_all().collect();
    let handover = recv.iter().rev().find(|r| match &r.by {
        Some(mail_parser::Host::Name(n)) => !in_domain(n, &site),
        Some(mail_parser::Host::IpAddr(_)) | None => true,
    })?;
    handover.from_ip
}

/// `name` is `domain` or below it (case-insensitive).
pub fn in_domain(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    !domain.is_empty() && (name == domain || name.ends_with(&format!(".{domain}")))
}

/// The envelope sender's domain from `Return-Path` (`None` for the null
/// sender `<>` or no header).
pub fn envelope_domain(msg: &mail_parser::Message<'_>) -> Option<String> {
    let rp = msg.header_raw("Return-Path")?.trim();
    let addr = rp.trim_start_matches('<').trim_end_matches('>');
    let (_, domain) = addr.rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}
