//! DMARC at the external side of an outbound probe: the From domain must
//! be aligned with a domain that passed DKIM or SPF (RFC 7489 3.1), as the
//! suite's record (`suite::dmarc`) asks. Pure; `signed.rs` records the fact.

use super::spf::in_domain;
use crate::suite::dmarc::Dmarc;

/// Strict: the same domain. Relaxed: both under the organizational domain,
/// taken to be the suite's `dmarc.domain` (no public suffix list here).
pub fn aligned(from: &str, authenticated: &str, org: &str, strict: bool) -> bool {
    if strict {
        from.eq_ignore_ascii_case(authenticated)
    } else {
        in_domain(from, org) && in_domain(authenticated, org)
    }
}

/// The `dmarc` fact: `pass (dkim aligned)`, `pass (spf aligned)`, `pass
/// (dkim, spf aligned)`, `fail: neither … (p=…)`, or `none: …` when the
/// record does not cover the From domain. `dkim`/`spf` are the domains that
/// passed (DKIM `d=`, the envelope sender's), if any.
pub fn evaluate(
    from: Option<&str>,
    dkim: Option<&str>,
    spf: Option<&str>,
    domain: &str,
    rec: &Dmarc,
) -> String {
    let Some(from) = from else {
        return "none: the probe has no From domain".into();
    };
    if !in_domain(from, domain) {
        return format!("none: From domain {from} is not under {domain}");
    }
    let mut ok = Vec::new();
    if dkim.is_some_and(|d| aligned(from, d, domain, rec.strict_dkim)) {
        ok.push("dkim");
    }
    if spf.is_some_and(|d| aligned(from, d, domain, rec.strict_spf)) {
        ok.push("spf");
    }
    if ok.is_empty() {
        format!(
            "fail: neither DKIM nor SPF aligned with {from} (p={})",
            rec.policy
        )
    } else {
        format!("pass ({} aligned)", ok.join(", "))
    }
}
