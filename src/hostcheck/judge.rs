//! Judging host-check observations: a measured number against its limits.
//!
//! Checks measure first (metrics in the observation), then call these helpers;
//! the worst finding wins and every finding becomes part of the message.

use crate::fmt;
use crate::result::Status;
use crate::suite::model::NumLimit;

/// Compare one number with its limits. Critical is checked before warning
/// (Nagios order); `*_below` alarm on too little.
/// Returns the status and, when not pass, a one-line reason such as
/// `deferred 12 > critical 10`.
pub fn judge_num(name: &str, value: f64, lim: &NumLimit) -> (Status, Option<String>) {
    let v = fmt::num(value);
    if let Some(c) = lim.critical.filter(|c| value > *c) {
        return (
            Status::Critical,
            Some(format!("{name} {v} > critical {}", fmt::num(c))),
        );
    }
    if let Some(c) = lim.critical_below.filter(|c| value < *c) {
        return (
            Status::Critical,
            Some(format!("{name} {v} < critical {}", fmt::num(c))),
        );
    }
    if let Some(w) = lim.warning.filter(|w| value > *w) {
        return (
            Status::Warning,
            Some(format!("{name} {v} > warning {}", fmt::num(w))),
        );
    }
    if let Some(w) = lim.warning_below.filter(|w| value < *w) {
        return (
            Status::Warning,
            Some(format!("{name} {v} < warning {}", fmt::num(w))),
        );
    }
    (Status::Pass, None)
}

/// Accumulates findings of one check: worst status plus the reasons in order.
#[derive(Debug, Default)]
pub struct Findings {
    status: Option<Status>,
    reasons: Vec<String>,
}

impl Findings {
    pub fn add(&mut self, status: Status, reason: impl Into<String>) {
        if status == Status::Pass {
            return;
        }
        self.status = Some(self.status.map_or(status, |s| s.max(status)));
        self.reasons.push(reason.into());
    }
    /// Judge a number and record the finding, if any.
    pub fn num(&mut self, name: &str, value: f64, lim: &NumLimit) {
        if let (st, Some(r)) = judge_num(name, value, lim) {
            self.add(st, r);
        }
    }
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Pass)
    }
    /// `a; b; c` (empty when everything passed).
    pub fn message(&self) -> String {
        self.reasons.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(w: Option<f64>, c: Option<f64>, wb: Option<f64>, cb: Option<f64>) -> NumLimit {
        NumLimit {
            warning: w,
            critical: c,
            warning_below: wb,
            critical_below: cb,
        }
    }

    #[test]
    fn critical_wins_over_warning_and_message_names_limit() {
        let l = lim(Some(5.0), Some(10.0), None, None);
        assert_eq!(
            judge_num("deferred", 12.0, &l),
            (Status::Critical, Some("deferred 12 > critical 10".into()))
        );
        assert_eq!(
            judge_num("deferred", 7.0, &l),
            (Status::Warning, Some("deferred 7 > warning 5".into()))
        );
        assert_eq!(judge_num("deferred", 5.0, &l), (Status::Pass, None));
    }

    #[test]
    fn below_limits_alarm_on_too_little() {
        let l = lim(None, None, Some(10.0), Some(1.0));
        assert_eq!(
            judge_num("pop3", 0.0, &l),
            (Status::Critical, Some("pop3 0 < critical 1".into()))
        );
        assert_eq!(
            judge_num("pop3", 3.5, &l),
            (Status::Warning, Some("pop3 3.5 < warning 10".into()))
        );
        assert_eq!(judge_num("pop3", 10.0, &l), (Status::Pass, None));
    }

    #[test]
    fn findings_keep_worst_and_all_reasons() {
        let mut f = Findings::default();
        assert_eq!(f.status(), Status::Pass);
        f.num("a", 2.0, &lim(Some(1.0), None, None, None));
        f.num("b", 9.0, &lim(None, Some(3.0), None, None));
        f.num("c", 0.0, &lim(Some(1.0), None, None, None));
        assert_eq!(f.status(), Status::Critical);
        assert_eq!(f.message(), "a 2 > warning 1; b 9 > critical 3");
    }
}
