//! What the external side of an outbound probe says about authentication,
//! recorded as facts: the site's DKIM signature checked against the suite's
//! key (`dkim:`), SPF for the address the probe came from (`spf:`), DMARC
//! alignment of the From domain (`dmarc:`), and the receiving side's own
//! `Authentication-Results`. Measures only: the judge makes a missing or
//! broken signature, an SPF fail/softfail and a DMARC fail warnings.

use super::dkim::{Outcome, PublicKey, verify};
use super::spf::{SpfResult, check_host, envelope_domain, sending_ip};
use crate::result::Observation;
use crate::suite::model::{DkimSpec, DmarcSpec, SpfSpec, SuiteSpec};

/// Key files are small TXT records: more is not a key.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// What the suite says the site publishes; each one given is checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Published<'a> {
    pub dkim: Option<&'a DkimSpec>,
    pub spf: Option<&'a SpfSpec>,
    pub dmarc: Option<&'a DmarcSpec>,
}

impl<'a> Published<'a> {
    pub fn of(s: &'a SuiteSpec) -> Self {
        Self {
            dkim: s.dkim.as_ref(),
            spf: s.spf.as_ref(),
            dmarc: s.dmarc.as_ref(),
        }
    }

    pub fn any(&self) -> bool {
        self.dkim.is_some() || self.spf.is_some() || self.dmarc.is_some()
    }
}

/// Facts `dkim` (`pass d=… s=…`, `missing: …`, `fail: …`), `spf` (`pass
/// ip=… domain=…`, `fail: …`, …), `dmarc` (`pass (dkim aligned)`, `fail:
/// …`) for what `p` declares, and `authentication_results` (when the
/// receiver added one).
pub fn record(
    raw: &[u8],
    msg: &mail_parser::Message<'_>,
    p: &Published<'_>,
    obs: &mut Observation,
) {
    let dkim_pass = p.dkim.and_then(|d| dkim(raw, d, obs));
    let spf_pass = p.spf.and_then(|s| spf(msg, s, obs));
    if let Some(d) = p.dmarc {
        let fact = match crate::suite::dmarc::parse(&d.record) {
            Err(e) => format!("none: dmarc.record: {e}"),
            Ok(rec) => {
                let from = msg
                    .from()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .and_then(|a| a.rsplit_once('@'))
                    .map(|(_, d)| d);
                super::dmarc::evaluate(
                    from,
                    dkim_pass.as_deref(),
                    spf_pass.as_deref(),
                    &d.domain,
                    &rec,
                )
            }
        };
        obs.fact("dmarc", fact);
    }
    if let Some(ar) = msg.header_raw("Authentication-Results") {
        obs.fact(
            "authentication_results",
            super::wire::sanitize(ar.trim().as_bytes(), 300),
        );
    }
}

/// Records `dkim`; the signing domain when it passed.
fn dkim(raw: &[u8], spec: &DkimSpec, obs: &mut Observation) -> Option<String> {
    let (fact, pass) = match key(spec) {
        Err(e) => (
            format!("fail: key file {}: {e}", spec.key_file.display()),
            None,
        ),
        Ok(k) => match verify(raw, &spec.domain, Some(&spec.selector), &k) {
            Outcome::Pass { domain, selector } => {
                (format!("pass d={domain} s={selector}"), Some(domain))
            }
            Outcome::Missing => (
                format!(
                    "missing: no DKIM-Signature of d={} s={}: the site did not sign",
                    spec.domain, spec.selector
                ),
                None,
            ),
            Outcome::Fail(why) => (format!("fail: d={}: {why}", spec.domain), None),
        },
    };
    obs.fact("dkim", fact);
    pass
}

/// Records `spf`; the envelope sender's domain when it passed.
fn spf(msg: &mail_parser::Message<'_>, spec: &SpfSpec, obs: &mut Observation) -> Option<String> {
    let domain = spec.domain.to_ascii_lowercase();
    let (fact, pass) = match (
        crate::suite::spf::parse(&spec.record),
        envelope_domain(msg),
        sending_ip(msg, &domain),
    ) {
        (Err(e), _, _) => (format!("none: spf.record: {e}"), false),
        (_, None, _) => (
            "none: no envelope sender domain (Return-Path)".into(),
            false,
        ),
        (_, Some(env), _) if env != domain => (
            format!("none: envelope sender domain {env} is not {domain}"),
            false,
        ),
        (_, _, None) => (
            format!("none: no Received header names the address {domain}'s MTA sent from"),
            false,
        ),
        (Ok(rec), Some(_), Some(ip)) => match check_host(ip, &rec) {
            (SpfResult::Pass, _) => (format!("pass ip={ip} domain={domain}"), true),
            (r, d) => (
                format!(
                    "{}: {ip} not allowed by {} ({})",
                    r.as_str(),
                    spec.record.trim(),
                    d.map_or("no mechanism matched", |d| d.text.as_str())
                ),
                false,
            ),
        },
    };
    obs.fact("spf", fact);
    pass.then_some(domain)
}

fn key(spec: &DkimSpec) -> Result<PublicKey, String> {
    use std::io::Read;
    let f = std::fs::File::open(&spec.key_file).map_err(|e| e.to_string())?;
    let mut text = String::new();
    f.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    PublicKey::from_record(&text)
}
