//! Last line of defence: whatever a probe or a server echoed, no account
//! password (raw, base64, or inside an AUTH PLAIN blob) reaches a report.

use crate::result::RunSummary;
use crate::suite::LoadedSuite;

/// Replace every account password of `suites` in the run's text by `<redacted>`.
pub fn scrub_secrets(run: &mut RunSummary, suites: &[LoadedSuite]) {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut needles: Vec<String> = Vec::new();
    for s in suites {
        for acct in s.spec.accounts.keys() {
            let Some(pw) = s.spec.secret_ref(acct).and_then(|r| r.resolve().ok()) else {
                continue;
            };
            let pw = pw.expose();
            let login = s.spec.login(acct).unwrap_or_default();
            needles.push(pw.to_string());
            needles.push(b64(pw));
            needles.push(b64(&format!("\0{login}\0{pw}")));
            needles.push(b64(&format!("{login}\0{login}\0{pw}")));
        }
    }
    // Very short passwords would shred ordinary text; they are not scrubbed
    // (validate warns about them) — transcripts are redacted at the source anyway.
    needles.retain(|n| n.len() >= 4);
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    if needles.is_empty() {
        return;
    }
    let fix = |t: &mut String| {
        for n in &needles {
            if t.contains(n.as_str()) {
                *t = t.replace(n.as_str(), "<redacted>");
            }
        }
    };
    for r in &mut run.results {
        fix(&mut r.message);
        let o = &mut r.observation;
        o.facts.values_mut().for_each(fix);
        o.transcript.iter_mut().for_each(fix);
        if let Some(e) = &mut o.error {
            fix(&mut e.message);
        }
    }
    for v in &mut run.verdicts {
        fix(&mut v.reason);
        v.evidence.iter_mut().for_each(fix);
    }
    run.notes.iter_mut().for_each(fix);
}
