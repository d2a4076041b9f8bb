//! Results: what probes observed and what the judge made of it.
//!
//! The split follows hurl: an [`Observation`] is raw measurement (probes never
//! judge), a [`CaseResult`] is the verdict on one case. *Failure* (a threshold
//! or expectation was not met: warning/critical) and *error* (the case could
//! not measure at all) are different statuses and travel separately all the
//! way to JUnit (`<failure>` vs `<error>`) and exit codes (1 vs 2).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::nagios_range::Range;
use crate::suite::model::{NumLimit, Thresholds};

/// Outcome of one case, ordered by severity (used to compute the worst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skipped,
    Pass,
    Warning,
    Critical,
    /// Could not measure (refused, timeout, protocol error).
    Error,
}

impl Status {
    /// Exit code of a finished run whose worst status is `self`. An error
    /// outranks a failure: a run that could not measure something must not
    /// look "only" failed.
    pub fn exit_code(self) -> i32 {
        use crate::exit::{ERROR, FAILED, OK};
        match self {
            Status::Pass | Status::Skipped => OK,
            Status::Warning | Status::Critical => FAILED,
            Status::Error => ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Error => "error",
        }
    }
    /// A failure in the hurl sense: the expectation was not met.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Warning | Status::Critical)
    }
    pub fn is_bad(self) -> bool {
        matches!(self, Status::Warning | Status::Critical | Status::Error)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Nagios plugin state (monitoring-plugins guidelines). UNKNOWN is the
/// plugin's own failure (configuration, arguments, lock, internal error, a
/// local problem such as an unreadable password file), never the site's: a
/// site that refuses, times out, breaks the protocol or loses the probe is
/// CRITICAL, as `check_smtp` says of an unreachable MTA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NagiosState {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl NagiosState {
    /// The plugin's exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn code(self) -> i32 {
        match self {
            NagiosState::Ok => 0,
            NagiosState::Warning => 1,
            NagiosState::Critical => 2,
            NagiosState::Unknown => 3,
        }
    }

    /// The status word of the plugin output.
    pub fn word(self) -> &'static str {
        match self {
            NagiosState::Ok => "OK",
            NagiosState::Warning => "WARNING",
            NagiosState::Critical => "CRITICAL",
            NagiosState::Unknown => "UNKNOWN",
        }
    }

    /// The worse of two states, in the order of monitoring-plugins'
    /// `max_state_alt`: OK < UNKNOWN < WARNING < CRITICAL. A case that could
    /// not run is not hidden by passing ones, and it does not hide an outage.
    pub fn worst(self, other: NagiosState) -> NagiosState {
        let rank = |s: NagiosState| match s {
            NagiosState::Ok => 0,
            NagiosState::Unknown => 1,
            NagiosState::Warning => 2,
            NagiosState::Critical => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// How a measurement could not be made. Drives isolation (refused vs timeout
/// vs auth) without parsing message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// DNS/address problem before any connection.
    Resolve,
    /// TCP connection refused or reset at connect.
    Refused,
    /// A deadline passed (connect, read, or waiting for arrival).
    Timeout,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// The server said no with a 4xx (temporary) reply.
    TempReject,
    /// The server said no with a 5xx (permanent) reply or -ERR / NO / BAD.
    PermReject,
    /// Credentials refused.
    Auth,
    /// The server broke the protocol: garbage, oversize reply, closed mid-reply.
    Protocol,
    /// The message was accepted but never arrived before the deadline.
    NotArrived,
    /// The retrieved message was not intact.
    Corrupt,
    /// A required capability (STARTTLS, UIDPLUS, AUTH) was not offered.
    Capability,
    /// Local problem: missing secret, command failed to start, I/O.
    Local,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Resolve => "resolve",
            ErrorKind::Refused => "refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::TempReject => "temp_reject",
            ErrorKind::PermReject => "perm_reject",
            ErrorKind::Auth => "auth",
            ErrorKind::Protocol => "protocol",
            ErrorKind::NotArrived => "not_arrived",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Capability => "capability",
            ErrorKind::Local => "local",
        }
    }
}

/// A probe's failure to measure: which phase, how, and the (sanitised,
/// bounded, secret-free) text the server or OS gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeError {
    pub phase: String,
    pub kind: ErrorKind,
    pub message: String,
    /// Host name (suite name) the failing step talked to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Protocol of the failing step (smtp, pop3, imap, lmtp, ldap ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.phase,
            self.message,
            self.kind.as_str()
        )
    }
}

/// One timed phase, in order of occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTiming {
    pub phase: String,
    /// Milliseconds, from a monotonic clock.
    pub ms: f64,
}

/// A named number a probe or host check measured (queue depth, cpu idle ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    /// Unit as in Nagios perfdata: "", "ms", "s", "%", "B", "KB", "c".
    #[serde(default)]
    pub unit: String,
}

/// Everything a probe measured. Probes fill this and never decide pass/fail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub phases: Vec<PhaseTiming>,
    pub metrics: Vec<Metric>,
    /// Free facts worth reporting: queue id, server banner, TLS version,
    /// certificate expiry, late probes reaped ... (already sanitised).
    pub facts: BTreeMap<String, String>,
    /// Redacted protocol transcript (`C: ` / `S: ` lines), bounded.
    pub transcript: Vec<String>,
    /// Set when the probe could not complete its measurement.
    pub error: Option<ProbeError>,
}

impl Observation {
    pub fn phase(&mut self, phase: &str, ms: f64) {
        self.phases.push(PhaseTiming {
            phase: phase.to_string(),
            ms,
        });
    }
    pub fn metric(&mut self, name: &str, value: f64, unit: &str) {
        self.metrics.push(Metric {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
        });
    }
    pub fn fact(&mut self, k: &str, v: impl Into<String>) {
        self.facts.insert(k.to_string(), v.into());
    }
    pub fn phase_ms(&self, phase: &str) -> Option<f64> {
        self.phases
            .iter()
            .filter(|p| p.phase == phase)
            .map(|p| p.ms)
            .reduce(|a, b| a + b)
    }
    pub fn metric_value(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }
}

/// Phases of an SMTP submission, in the order the probe records them.
pub const SMTP_PHASES: &[&str] = &[
    "connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "quit",
];

/// Phases both sides of a round trip record: the SMTP session and the
/// POP3/IMAP session each connect, greet, maybe TLS and authenticate.
pub const SHARED_PHASES: &[&str] = &["connect", "tls", "greeting", "starttls", "auth"];

/// What the judge calls a retrieve-side occurrence of a shared phase in its
/// message (`retrieve connect 700ms > warning 500ms`), so neither a reader
/// nor isolation takes it for the submit host's SMTP.
pub const RETRIEVE_SIDE: &str = "retrieve";

/// Which component a diagnosis blames. One per root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Host name from the suite (or `account:ims3` for a credential fault).
    pub host: String,
    /// Protocol or role at fault: smtp, lmtp, imap, pop3, ldap, queue, auth ...
    pub protocol: String,
    /// One line, human.
    pub reason: String,
    /// Evidence lines (what was measured that supports the reason).
    pub evidence: Vec<String>,
    pub confidence: Confidence,
    /// Case ids this verdict explains.
    pub cases: Vec<String>,
}

/// The component of a host a verdict protocol names, for the verdict key:
/// empty when the fault is the host's whole service — mail access on an MMP
/// or store (pop3, imap or both), the directory on an LDAP host, the
/// credentials of an account — else the protocol or role itself (`lmtp`,
/// `queue`, `smtp`, `dns` ...). The protocol set of a verdict may change from
/// run to run (one protocol's follow-up flaps); its component does not.
pub fn component_of(protocol: &str) -> &str {
    let whole = !protocol.is_empty()
        && protocol
            .split('/')
            .all(|p| matches!(p, "pop3" | "imap" | "ldap" | "auth"));
    if whole { "" } else { protocol }
}

impl Verdict {
    /// Stable identity for alerting, the same run after run for one fault:
    /// host + component (`mmp1`, `store1/lmtp`, `mta1/queue`, `ldap1`,
    /// `account:ims3`, `monitor/dns`), never the protocol set, the follow-up
    /// detail or a value.
    pub fn key(&self) -> String {
        match component_of(&self.protocol) {
            "" => self.host.clone(),
            c => format!("{}/{c}", self.host),
        }
    }
    /// `store1: lmtp: deliveries deferred — evidence (isolated)`.
    pub fn line(&self) -> String {
        let mut s = format!("{}: {}: {}", self.host, self.protocol, self.reason);
        if let Some(e) = self.evidence.first() {
            s.push_str(" — ");
            s.push_str(e);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Isolated,
    Suspected,
}

/// Final word on one case: pure data, all reporters read only this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    /// `roundtrip`, `security`, `host` ...
    pub kind: String,
    pub site: String,
    pub suite: String,
    /// Attributes of the case (account, submit, retrieve, protocol, host, check).
    pub labels: BTreeMap<String, String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub status: Status,
    /// One line: why it is not pass (empty on pass).
    pub message: String,
    pub observation: Observation,
    /// Key of the isolation verdict that explains this case, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// What the case was judged against. Not in the results JSON: that
    /// file's shape stays as it was and none of its readers needs limits.
    #[serde(skip)]
    pub limits: CaseLimits,
}

/// The limits a case was judged against, recorded with its result by the
/// run's judge step so that reporters never go back to the suite (which a
/// daemon reload may have changed since).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseLimits {
    /// Round trips: the suite's limit per timed phase.
    pub phases: Thresholds,
    /// `--warning/--critical`: (warning, critical) ranges on the total time
    /// in ms; where given, they replaced the suite's `total` limit.
    pub total: (Option<Range>, Option<Range>),
    /// Host checks: the limits per metric.
    pub metrics: BTreeMap<String, NumLimit>,
}

impl CaseResult {
    pub fn label(&self, k: &str) -> &str {
        self.labels.get(k).map(String::as_str).unwrap_or("")
    }

    /// The case's Nagios state. An error the site caused (refused, timeout,
    /// TLS, protocol, rejected, auth, not arrived, corrupt, missing
    /// capability, unresolvable name) is CRITICAL; an error of our own
    /// ([`ErrorKind::Local`]: missing secret, bad local configuration, a
    /// command that cannot start) or one without a recorded cause (a
    /// panicking case: a bug) is UNKNOWN.
    pub fn nagios_state(&self) -> NagiosState {
        match self.status {
            Status::Pass | Status::Skipped => NagiosState::Ok,
            Status::Warning => NagiosState::Warning,
            Status::Critical => NagiosState::Critical,
            Status::Error => match &self.observation.error {
                Some(e) if e.kind != ErrorKind::Local => NagiosState::Critical,
                _ => NagiosState::Unknown,
            },
        }
    }

    /// The alert identity of this (failing) case: its verdict's key; without
    /// a verdict (isolation off or out of budget) the key it failed under
    /// before (`previous`, so an outage keeps one identity through a run
    /// that could not isolate it), else `unisolated:SUBMIT->RETRIEVE` for a
    /// round trip (stable whatever the protocol or account) and the case id
    /// for anything else.
    pub fn alert_key(&self, previous: Option<&str>) -> String {
        if let Some(v) = &self.verdict {
            return v.clone();
        }
        if let Some(p) = previous {
            return p.to_string();
        }
        let (submit, retrieve) = (self.label("submit"), self.label("retrieve"));
        if self.kind == "roundtrip" && !submit.is_empty() && !retrieve.is_empty() {
            format!("unisolated:{submit}->{retrieve}")
        } else {
            self.id.clone()
        }
    }
}

/// Everything one run produced; the single input of every reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub site: String,
    pub suites: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub results: Vec<CaseResult>,
    pub verdicts: Vec<Verdict>,
    /// Notes about the run itself (insecure TLS used, lock contention ...).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl RunSummary {
    /// The run's suites' names, comma-joined (the key of a suite's runs in
    /// the daemon and the `suite` label of its metrics).
    pub fn suite_key(&self) -> String {
        if self.suites.is_empty() {
            self.site.clone()
        } else {
            self.suites.join(",")
        }
    }
    pub fn worst(&self) -> Status {
        self.results
            .iter()
            .map(|r| r.status)
            .max()
            .unwrap_or(Status::Pass)
    }
    /// The run's Nagios state: the worst state of its cases
    /// ([`NagiosState::worst`]); UNKNOWN when no case ran (a selection that
    /// matches nothing checks nothing).
    pub fn nagios_state(&self) -> NagiosState {
        self.results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .map(CaseResult::nagios_state)
            .reduce(NagiosState::worst)
            .unwrap_or(NagiosState::Unknown)
    }
    pub fn count(&self, s: Status) -> usize {
        self.results.iter().filter(|r| r.status == s).count()
    }
    pub fn verdict(&self, key: &str) -> Option<&Verdict> {
        self.verdicts.iter().find(|v| v.key() == key)
    }
}

/// What a security probe saw: the site refused (good) or accepted (bad).
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityOutcome {
    /// Refused as it must be; the text is the server's reply.
    Refused(String),
    /// Accepted what it must refuse; the text says what.
    Accepted(String),
}

/// Results for unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// Case `id` with `status`; `kind` gives it an error of its `connect`
    /// phase (message `connect: refused`).
    pub fn case(id: &str, status: Status, kind: Option<ErrorKind>) -> CaseResult {
        CaseResult {
            id: id.into(),
            kind: "host".into(),
            site: "s".into(),
            suite: "s".into(),
            labels: BTreeMap::new(),
            started_at: Utc::now(),
            duration_ms: 2.0,
            status,
            message: kind.map_or(String::new(), |_| "connect: refused".into()),
            observation: Observation {
                error: kind.map(|kind| ProbeError {
                    phase: "connect".into(),
                    kind,
                    message: "refused".into(),
                    host: None,
                    protocol: None,
                }),
                ..Observation::default()
            },
            verdict: None,
            limits: CaseLimits::default(),
        }
    }

    /// A run of suite `s` made of `results`.
    pub fn summary(results: Vec<CaseResult>) -> RunSummary {
        RunSummary {
            run_id: "r".into(),
            site: "s".into(),
            suites: vec!["s".into()],
            started_at: Utc::now(),
            finished_at: Utc::now(),
            duration_ms: 3.0,
            results,
            verdicts: vec![],
            notes: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{case as named, summary as run};
    use super::*;

    fn case(status: Status, kind: Option<ErrorKind>) -> CaseResult {
        named("c", status, kind)
    }

    #[test]
    fn site_errors_are_critical_own_errors_unknown() {
        use ErrorKind::*;
        for k in [
            Resolve, Refused, Timeout, Tls, TempReject, PermReject, Auth, Protocol, NotArrived,
            Corrupt, Capability,
        ] {
            let c = case(Status::Error, Some(k));
            assert_eq!(c.nagios_state(), NagiosState::Critical, "{k:?}");
        }
        assert_eq!(
            case(Status::Error, Some(Local)).nagios_state(),
            NagiosState::Unknown
        );
        // No recorded cause: a panicking case (our bug).
        assert_eq!(
            case(Status::Error, None).nagios_state(),
            NagiosState::Unknown
        );
        for (s, want) in [
            (Status::Pass, NagiosState::Ok),
            (Status::Skipped, NagiosState::Ok),
            (Status::Warning, NagiosState::Warning),
            (Status::Critical, NagiosState::Critical),
        ] {
            assert_eq!(case(s, None).nagios_state(), want, "{s}");
        }
    }

    #[test]
    fn codes_and_words() {
        let all = [
            NagiosState::Ok,
            NagiosState::Warning,
            NagiosState::Critical,
            NagiosState::Unknown,
        ];
        let got: Vec<(i32, &str)> = all.iter().map(|s| (s.code(), s.word())).collect();
        assert_eq!(
            got,
            [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
        );
    }

    #[test]
    fn run_state_is_the_worst_in_max_state_alt_order() {
        use NagiosState as N;
        let local = || case(Status::Error, Some(ErrorKind::Local));
        let pass = || case(Status::Pass, None);
        // An unmeasurable case is not hidden by passing ones...
        assert_eq!(run(vec![pass(), local()]).nagios_state(), N::Unknown);
        // ...and does not hide a warning or an outage.
        let warn = case(Status::Warning, None);
        assert_eq!(run(vec![local(), warn]).nagios_state(), N::Warning);
        let refused = case(Status::Error, Some(ErrorKind::Refused));
        assert_eq!(
            run(vec![local(), refused, pass()]).nagios_state(),
            N::Critical
        );
        assert_eq!(run(vec![pass(), pass()]).nagios_state(), N::Ok);
        // Nothing ran: nothing was checked.
        assert_eq!(run(vec![]).nagios_state(), N::Unknown);
        let skipped = case(Status::Skipped, None);
        assert_eq!(run(vec![skipped]).nagios_state(), N::Unknown);
        for a in [N::Ok, N::Warning, N::Critical, N::Unknown] {
            for b in [N::Ok, N::Warning, N::Critical, N::Unknown] {
                assert_eq!(a.worst(b), b.worst(a), "{a:?} {b:?}");
            }
        }
    }
}
