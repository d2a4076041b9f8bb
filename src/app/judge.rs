//! The run's judge step around the kinds' own judges: it records in each
//! result the limits the case is judged against, and applies the one-off
//! `--warning/--critical` ranges. Reporters read limits only from results.

use crate::case::{CaseKind, TestCase};
use crate::nagios_range::{Range, num};
use crate::result::{CaseLimits, RunSummary, Status};
use crate::suite::checks::CheckSpec;
use crate::suite::model::NumLimit;

/// `--warning/--critical`: (warning, critical) ranges on each case's total
/// time in milliseconds.
pub type TotalRanges = (Option<Range>, Option<Range>);

/// The limits `c` is judged against, from its expanded spec.
pub fn limits(c: &TestCase) -> CaseLimits {
    match &c.kind {
        CaseKind::Roundtrip(rt) => CaseLimits {
            phases: rt.thresholds.clone(),
            ..CaseLimits::default()
        },
        CaseKind::Host(h) => CaseLimits {
            metrics: check_limits(&h.check).into_iter().collect(),
            ..CaseLimits::default()
        },
        CaseKind::Security(_) | CaseKind::Agent(_) => CaseLimits::default(),
    }
}

/// Limits per metric of a host check. Only the kinds whose limits the status
/// page has always shown record them (the others' limits live in their
/// messages; showing them is a visible change left for later).
fn check_limits(c: &CheckSpec) -> Vec<(String, NumLimit)> {
    if c.limits_on_status_page() {
        c.limits()
    } else {
        vec![]
    }
}

/// Apply `--warning/--critical` ranges to every measured case's total time
/// (milliseconds). Round trips are judged again without the suite's `total`
/// limit (the range replaces it); other kinds can only get worse. Errors and
/// skipped cases keep their status. Every result records the ranges.
pub fn apply_total(run: &mut RunSummary, total: TotalRanges) {
    if total.0.is_none() && total.1.is_none() {
        return;
    }
    for r in &mut run.results {
        r.limits.total = total;
        if matches!(r.status, Status::Skipped | Status::Error) {
            continue;
        }
        if r.kind == "roundtrip" {
            let mut t = r.limits.phases.clone();
            t.remove("total");
            (r.status, r.message) = crate::judge::judge(&r.observation, &t);
        }
        let v = r.observation.phase_ms("total").unwrap_or(r.duration_ms);
        let hit = [
            (total.1, Status::Critical, "critical"),
            (total.0, Status::Warning, "warning"),
        ]
        .into_iter()
        .find(|(rg, _, _)| rg.is_some_and(|rg| rg.alerts(v)));
        if let Some((Some(rg), st, name)) = hit {
            let line = format!("total {}ms alerts on {name} range {rg}", num(v));
            if st > r.status {
                r.status = st;
                r.message = line;
            } else if st == r.status {
                r.message = if r.message.is_empty() {
                    line
                } else {
                    format!("{}; {line}", r.message)
                };
            }
        }
    }
}
