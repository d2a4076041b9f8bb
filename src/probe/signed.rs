//! What the external side of an outbound probe says about authentication:
//! the site's DKIM signature checked against the suite's key (`dkim:`), and
//! the receiving side's own `Authentication-Results`, recorded as facts.
//! Measures only: the judge makes a missing or broken signature a warning.

use super::dkim::{Outcome, PublicKey, verify};
use crate::result::Observation;
use crate::suite::model::DkimSpec;

/// Key files are small TXT records: more is not a key.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Facts `dkim` (`pass d=… s=…`, `missing: …`, `fail: …`) and
/// `authentication_results` (when the receiver added one).
pub fn record(raw: &[u8], msg: &mail_parser::Message<'_>, spec: &DkimSpec, obs: &mut Observation) {
    let fact = match key(spec) {
        Err(e) => format!("fail: key file {}: {e}", spec.key_file.display()),
        Ok(k) => match verify(raw, &spec.domain, Some(&spec.selector), &k) {
            Outcome::Pass { domain, selector } => format!("pass d={domain} s={selector}"),
            Outcome::Missing => format!(
                "missing: no DKIM-Signature of d={} s={}: the site did not sign",
                spec.domain, spec.selector
            ),
            Outcome::Fail(why) => format!("fail: d={}: {why}", spec.domain),
        },
    };
    obs.fact("dkim", fact);
    if let Some(ar) = msg.header_raw("Authentication-Results") {
        obs.fact(
            "authentication_results",
            super::wire::sanitize(ar.trim().as_bytes(), 300),
        );
    }
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
