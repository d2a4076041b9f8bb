//! Judge: observation + thresholds → status and a one-line message.
//!
//! Probes measure, the judge decides (hurl's split). An observation with an
//! error is `Error` (could not measure) whatever the timings say; otherwise
//! every timed phase with a limit is compared and the worst breach wins.

use crate::fmt::ms_compact;
use crate::result::{Observation, SecurityOutcome, Status};
use crate::suite::model::{Limit, Thresholds};

pub use crate::result::{RETRIEVE_SIDE, SHARED_PHASES, SMTP_PHASES};
/// Phases of a POP3/IMAP retrieval that do not overlap (`login` already
/// contains the retrieve side's connect/greeting/starttls/auth).
pub const RETRIEVE_PHASES: &[&str] = &["login", "delivery", "fetch", "delete", "logout"];

/// Judge a measured case against its thresholds.
pub fn judge(obs: &Observation, thresholds: &Thresholds) -> (Status, String) {
    if let Some(e) = &obs.error {
        return (Status::Error, format!("{}: {}", e.phase, e.message));
    }
    let mut worst = Status::Pass;
    let mut lines: Vec<String> = Vec::new();
    for (phase, limit) in thresholds {
        for (name, ms) in values(obs, phase) {
            let Some((st, line)) = breach(&name, ms, limit) else {
                continue;
            };
            if st > worst {
                worst = st;
                lines.clear();
            }
            if st == worst {
                lines.push(line);
            }
        }
    }
    // A site that stopped signing (or whose signature breaks on the way),
    // sends from an address its SPF refuses or fails DMARC is a warning
    // before it is a deliverability outage (probe::signed).
    for (name, bad) in AUTH_WARNINGS {
        if let Some(f) = obs.facts.get(*name).filter(|f| bad(f)) {
            if worst == Status::Pass {
                worst = Status::Warning;
            }
            lines.push(format!("{name} {f}"));
        }
    }
    (worst, lines.join("; "))
}

/// External-side authentication facts and which of their values warn; the
/// fact's name leads the message line, which isolation reads as the
/// component (`isolate::rules`). SPF neutral/none is no claim either way.
type Bad = fn(&str) -> bool;
const AUTH_WARNINGS: &[(&str, Bad)] = &[
    ("dkim", |f| !f.starts_with("pass")),
    ("spf", |f| {
        f.starts_with("fail") || f.starts_with("softfail")
    }),
    ("dmarc", |f| f.starts_with("fail")),
];

/// Every measured value of `phase` with the name the message gives it: each
/// recorded occurrence (a roundtrip has two `connect`s, one per side — each
/// must meet the limit; the retrieve side's is `retrieve connect`), else a
/// derived aggregate (`submit`, `retrieve`).
fn values(obs: &Observation, phase: &str) -> Vec<(String, f64)> {
    // A round trip records `submit` when the SMTP side is done: what
    // follows is the POP3/IMAP session.
    let retrieve_from = obs.phases.iter().position(|p| p.phase == "submit");
    let recorded: Vec<(String, f64)> = obs
        .phases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.phase == phase)
        .map(|(i, p)| {
            let retrieve_side =
                SHARED_PHASES.contains(&phase) && retrieve_from.is_some_and(|s| i > s);
            let name = if retrieve_side {
                format!("{RETRIEVE_SIDE} {phase}")
            } else {
                phase.to_string()
            };
            (name, p.ms)
        })
        .collect();
    if !recorded.is_empty() {
        return recorded;
    }
    derived(obs, phase)
        .map(|ms| (phase.to_string(), ms))
        .into_iter()
        .collect()
}

/// `submit` = SMTP phases before the retrieve side starts; `retrieve` = the
/// non-overlapping retrieve phases.
pub fn derived(obs: &Observation, phase: &str) -> Option<f64> {
    let split = obs
        .phases
        .iter()
        .position(|p| RETRIEVE_PHASES.contains(&p.phase.as_str()))
        .unwrap_or(obs.phases.len());
    let (smtp, retr) = obs.phases.split_at(split);
    let sum = |ps: &[crate::result::PhaseTiming], names: &[&str]| {
        let v: Vec<f64> = ps
            .iter()
            .filter(|p| names.contains(&p.phase.as_str()))
            .map(|p| p.ms)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    match phase {
        "submit" => sum(smtp, SMTP_PHASES),
        "retrieve" => sum(retr, RETRIEVE_PHASES),
        _ => None,
    }
}

fn breach(phase: &str, ms: f64, limit: &Limit) -> Option<(Status, String)> {
    let over = |d: Option<crate::suite::duration::Dur>| d.filter(|d| ms > d.ms());
    if let Some(c) = over(limit.critical) {
        return Some((
            Status::Critical,
            format!("{phase} {} > critical {c}", ms_compact(ms)),
        ));
    }
    over(limit.warning).map(|w| {
        (
            Status::Warning,
            format!("{phase} {} > warning {w}", ms_compact(ms)),
        )
    })
}

/// Security cases have no thresholds: refused = pass, accepted = critical,
/// could not test = error.
pub fn judge_security(obs: &Observation, outcome: Option<&SecurityOutcome>) -> (Status, String) {
    if let Some(e) = &obs.error {
        return (Status::Error, format!("{}: {}", e.phase, e.message));
    }
    match outcome {
        Some(SecurityOutcome::Refused(_)) => (Status::Pass, String::new()),
        Some(SecurityOutcome::Accepted(what)) => (Status::Critical, what.clone()),
        None => (Status::Error, "security probe returned no outcome".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{ErrorKind, ProbeError};
    use crate::suite::duration::Dur;

    fn obs(phases: &[(&str, f64)]) -> Observation {
        let mut o = Observation::default();
        for (p, ms) in phases {
            o.phase(p, *ms);
        }
        o
    }

    fn th(rows: &[(&str, Option<u64>, Option<u64>)]) -> Thresholds {
        rows.iter()
            .map(|(p, w, c)| {
                (
                    p.to_string(),
                    Limit {
                        warning: w.map(Dur::from_ms),
                        critical: c.map(Dur::from_ms),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn table() {
        let rt = [
            ("connect", 5.0),
            ("ehlo", 2.0),
            ("data", 30.0),
            ("login", 40.0),
            ("connect", 700.0),
            ("delivery", 12_300.0),
            ("fetch", 3.0),
            ("total", 13_100.0),
        ];
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, &[(&str, Option<u64>, Option<u64>)], Status, &str)] = &[
            ("no thresholds", &[], Status::Pass, ""),
            (
                "under limits",
                &[("total", Some(20_000), Some(30_000))],
                Status::Pass,
                "",
            ),
            (
                "delivery critical",
                &[("delivery", Some(3000), Some(10_000))],
                Status::Critical,
                "delivery 12.3s > critical 10s",
            ),
            (
                "warning only",
                &[("total", Some(13_000), Some(20_000))],
                Status::Warning,
                "total 13.1s > warning 13s",
            ),
            (
                "critical outranks warning, both named when equal",
                &[
                    ("total", Some(1000), None),
                    ("delivery", None, Some(10_000)),
                    ("fetch", None, Some(1)),
                ],
                Status::Critical,
                "delivery 12.3s > critical 10s; fetch 3ms > critical 1ms",
            ),
            (
                "each connect judged on its own (retrieve side is slow)",
                &[("connect", Some(500), None)],
                Status::Warning,
                "connect 700ms > warning 500ms",
            ),
            (
                "derived submit = smtp phases only",
                &[("submit", None, Some(36))],
                Status::Critical,
                "submit 37ms > critical 36ms",
            ),
            (
                "derived retrieve = login+delivery+fetch",
                &[("retrieve", Some(12_342), None)],
                Status::Warning,
                "retrieve 12.3s > warning 12342ms",
            ),
            (
                "phase not measured",
                &[("quit", Some(1), Some(1))],
                Status::Pass,
                "",
            ),
            (
                "equal is not over",
                &[("fetch", Some(3), None)],
                Status::Pass,
                "",
            ),
        ];
        for (name, t, st, msg) in cases {
            let (s, m) = judge(&obs(&rt), &th(t));
            assert_eq!((s, m.as_str()), (*st, *msg), "{name}");
        }
    }

    /// External-side authentication: a non-pass DKIM, an SPF fail or
    /// softfail and a DMARC fail warn, each named by its fact; SPF
    /// neutral/none and DMARC none do not.
    #[test]
    fn authentication_facts_warn() {
        let judged = |facts: &[(&str, &str)]| {
            let mut o = Observation::default();
            for (k, v) in facts {
                o.fact(k, *v);
            }
            judge(&o, &Thresholds::default())
        };
        for (facts, st, msg) in [
            (
                &[
                    ("spf", "pass ip=127.1.1.1 domain=example.test"),
                    ("dmarc", "pass (dkim aligned)"),
                ][..],
                Status::Pass,
                "",
            ),
            (
                &[(
                    "spf",
                    "neutral: 10.0.0.1 not allowed by v=spf1 (no mechanism matched)",
                )][..],
                Status::Pass,
                "",
            ),
            (
                &[
                    ("spf", "none: no envelope sender domain (Return-Path)"),
                    ("dmarc", "none: the probe has no From domain"),
                ][..],
                Status::Pass,
                "",
            ),
            (
                &[("spf", "fail: 10.0.0.1 not allowed by v=spf1 -all (-all)")][..],
                Status::Warning,
                "spf fail: 10.0.0.1 not allowed by v=spf1 -all (-all)",
            ),
            (
                &[("spf", "softfail: x")][..],
                Status::Warning,
                "spf softfail: x",
            ),
            (
                &[(
                    "dmarc",
                    "fail: neither DKIM nor SPF aligned with example.test (p=reject)",
                )][..],
                Status::Warning,
                "dmarc fail: neither DKIM nor SPF aligned with example.test (p=reject)",
            ),
            (
                &[
                    ("dkim", "missing: x"),
                    ("spf", "fail: y"),
                    ("dmarc", "fail: z"),
                ][..],
                Status::Warning,
                "dkim missing: x; spf fail: y; dmarc fail: z",
            ),
        ] {
            assert_eq!(judged(facts), (st, msg.to_string()), "{facts:?}");
        }
    }

    #[test]
    fn retrieve_side_occurrences_of_shared_phases_are_named_so() {
        // A round trip: SMTP side, the `submit` mark, then the POP3 side.
        let rt = obs(&[
            ("connect", 5.0),
            ("greeting", 3.0),
            ("auth", 4.0),
            ("submit", 40.0),
            ("connect", 700.0),
            ("greeting", 2.0),
            ("auth", 900.0),
            ("login", 1700.0),
        ]);
        let limits = th(&[
            ("connect", Some(500), None),
            ("auth", None, Some(800)),
            ("greeting", Some(1), None),
        ]);
        assert_eq!(
            judge(&rt, &limits),
            (
                Status::Critical,
                "retrieve auth 900ms > critical 800ms".to_string()
            )
        );
        let (st, m) = judge(&rt, &th(&[("connect", Some(500), None)]));
        assert_eq!(
            (st, m.as_str()),
            (Status::Warning, "retrieve connect 700ms > warning 500ms")
        );
        // The SMTP side keeps the plain name.
        let (_, m) = judge(&rt, &th(&[("greeting", Some(2), None)]));
        assert_eq!(m, "greeting 3ms > warning 2ms");
    }

    #[test]
    fn error_wins_over_timings() {
        let mut o = obs(&[("total", 99_999.0)]);
        o.error = Some(ProbeError {
            phase: "login".into(),
            kind: ErrorKind::Refused,
            message: "connection refused".into(),
            host: Some("store1".into()),
            protocol: Some("imap".into()),
        });
        let (s, m) = judge(&o, &th(&[("total", Some(1), Some(2))]));
        assert_eq!(s, Status::Error);
        assert_eq!(m, "login: connection refused");
    }

    #[test]
    fn security_table() {
        let o = Observation::default();
        let refused = SecurityOutcome::Refused("554 5.7.1 Relay access denied".into());
        let accepted = SecurityOutcome::Accepted("open relay: RCPT accepted".into());
        assert_eq!(judge_security(&o, Some(&refused)).0, Status::Pass);
        assert_eq!(
            judge_security(&o, Some(&accepted)),
            (Status::Critical, "open relay: RCPT accepted".into())
        );
        assert_eq!(judge_security(&o, None).0, Status::Error);
        let e = Observation {
            error: Some(ProbeError {
                phase: "connect".into(),
                kind: ErrorKind::Timeout,
                message: "timed out".into(),
                host: None,
                protocol: None,
            }),
            ..Default::default()
        };
        assert_eq!(judge_security(&e, Some(&refused)).0, Status::Error);
    }
}
