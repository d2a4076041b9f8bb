//! JUnit XML via the junit-report crate (the user's choice).
//!
//! junit-report writes text as CDATA without splitting `]]>` and passes
//! characters that XML 1.0 forbids (NUL, ESC ... which server banners do
//! contain) straight through, so every string handed to it goes through
//! [`xml_safe`] / [`cdata_safe`] first. Tests parse the output back.
//!
//! Mapping: one `<testsuite>` per suite; testcase `name` = case id,
//! `classname` = `<site>.<kind>` (stable, value-free); warning/critical →
//! `<failure>` (message in attribute and text), error → `<error>`,
//! filtered out → `<skipped>`; phases, metrics, facts and the (already
//! redacted) transcript in `<system-out>`. The `<testsuites>` and
//! `<testsuite>` attributes junit-report cannot set are put right by
//! [`super::junit_attrs`].

use std::fmt::Write as _;

use junit_report::{Duration, OffsetDateTime, Report, TestCase, TestSuite};

use super::{Outputs, Reporter};
use crate::result::{CaseResult, RunSummary, Status};

pub struct JunitFile;

impl Reporter for JunitFile {
    fn name(&self) -> &'static str {
        "junit"
    }
    fn report(&self, run: &RunSummary, out: &Outputs) -> Result<(), String> {
        let xml = render(run, &out.host)?;
        crate::atomic::write(&out.junit, &xml)
            .map_err(|e| format!("cannot write {}: {e}", out.junit.display()))
    }
}

pub use super::xml::{attr_safe, cdata_safe, xml_safe};

/// The JUnit XML of a run that ran on the machine `host`.
pub fn render(run: &RunSummary, host: &str) -> Result<Vec<u8>, String> {
    let mut report = Report::new();
    let ts = OffsetDateTime::from_unix_timestamp(run.started_at.timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut names: Vec<&str> = run.suites.iter().map(String::as_str).collect();
    for r in &run.results {
        if !names.contains(&r.suite.as_str()) {
            names.push(&r.suite);
        }
    }
    for name in names {
        let mut suite = TestSuite::new(&attr_safe(name));
        suite.set_timestamp(ts);
        for r in run.results.iter().filter(|r| r.suite == name) {
            suite.add_testcase(testcase(run, r));
        }
        report.add_testsuite(suite);
    }
    let mut buf = Vec::new();
    report
        .write_xml(&mut buf)
        .map_err(|e| format!("junit: {e}"))?;
    let xml = String::from_utf8(buf).map_err(|e| format!("junit: {e}"))?;
    let mut xml = super::junit_attrs::conventions(&xml, run, host)?;
    xml.push('\n');
    Ok(xml.into_bytes())
}

fn testcase(run: &RunSummary, r: &CaseResult) -> TestCase {
    let name = attr_safe(&r.id);
    let time = Duration::seconds_f64(r.duration_ms.max(0.0) / 1000.0);
    let mut message = r.message.clone();
    if let Some(v) = r.verdict.as_deref().and_then(|k| run.verdict(k)) {
        message = format!("{message} — isolated: {}", v.line());
    }
    let detail = |m: &str| Some(cdata_safe(&failure_text(run, r, m)));
    let mut tc = match r.status {
        Status::Pass => TestCase::success(&name, time),
        Status::Warning | Status::Critical => {
            let mut t = TestCase::failure(&name, time, r.status.as_str(), &attr_safe(&message));
            if let junit_report::TestResult::Failure { cause, .. } = &mut t.result {
                *cause = detail(&message);
            }
            t
        }
        Status::Error => {
            let kind = r
                .observation
                .error
                .as_ref()
                .map(|e| e.kind.as_str())
                .unwrap_or("error");
            let mut t = TestCase::error(&name, time, kind, &attr_safe(&message));
            if let junit_report::TestResult::Error { cause, .. } = &mut t.result {
                *cause = detail(&message);
            }
            t
        }
        Status::Skipped => TestCase::skipped_with_cause(&name, "skipped", &attr_safe(&r.message)),
    };
    tc.set_classname(&attr_safe(&format!("{}.{}", r.site, r.kind)));
    if r.status != Status::Skipped {
        tc.set_system_out(&cdata_safe(&system_out(r)));
    }
    tc
}

/// Failure/error text: the message again (GitLab shows only the text), then
/// the verdict's evidence.
fn failure_text(run: &RunSummary, r: &CaseResult, message: &str) -> String {
    let mut s = message.to_string();
    if let Some(v) = r.verdict.as_deref().and_then(|k| run.verdict(k)) {
        for e in &v.evidence {
            let _ = write!(s, "\nevidence: {e}");
        }
    }
    s
}

/// Phases, metrics, facts, labels and the redacted transcript.
pub fn system_out(r: &CaseResult) -> String {
    let mut s = String::new();
    for (k, v) in &r.labels {
        let _ = writeln!(s, "{k}: {v}");
    }
    for p in &r.observation.phases {
        let _ = writeln!(s, "phase {}: {:.1} ms", p.phase, p.ms);
    }
    for m in &r.observation.metrics {
        let _ = writeln!(s, "metric {}: {} {}", m.name, m.value, m.unit);
    }
    for (k, v) in &r.observation.facts {
        let _ = writeln!(s, "fact {k}: {v}");
    }
    if !r.observation.transcript.is_empty() {
        s.push_str("transcript:\n");
        for l in &r.observation.transcript {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::*;
    use std::collections::BTreeMap;

    fn hostile() -> String {
        let bytes = b"220 evil\x00banner\x1b[31m ]]> <tag a=\"x\"> & \xff\xfe ]]]]>> \x07";
        format!("{}\u{FFFE}\u{FFFF}", String::from_utf8_lossy(bytes))
    }

    fn result(id: &str, status: Status) -> CaseResult {
        let mut o = Observation::default();
        o.phase("connect", 1.5);
        o.fact("banner", hostile());
        o.transcript.push(format!("S: {}", hostile()));
        o.transcript.push("C: AUTH PLAIN <redacted>".into());
        if status == Status::Error {
            o.error = Some(ProbeError {
                phase: "greeting".into(),
                kind: ErrorKind::Protocol,
                message: hostile(),
                host: None,
                protocol: None,
            });
        }
        CaseResult {
            id: id.into(),
            kind: "roundtrip".into(),
            site: "local".into(),
            suite: "local".into(),
            labels: BTreeMap::new(),
            started_at: chrono::Utc::now(),
            duration_ms: 1234.0,
            status,
            message: if status == Status::Pass {
                String::new()
            } else {
                format!("greeting: {}", hostile())
            },
            observation: o,
            verdict: None,
            limits: Default::default(),
        }
    }

    #[test]
    fn hostile_bytes_stay_valid_xml() {
        let run = RunSummary {
            run_id: "r".into(),
            site: "lo\x00cal".into(),
            suites: vec!["local".into(), "other]]>".into()],
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
            duration_ms: 1.0,
            results: vec![
                result("a", Status::Pass),
                result("b", Status::Critical),
                result("c", Status::Error),
                result("d", Status::Skipped),
                result("e]]>\x00", Status::Warning),
            ],
            verdicts: vec![],
            notes: vec![],
        };
        let xml = String::from_utf8(render(&run, "monitor1").unwrap()).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), 5);
        let count = |t: &str| doc.descendants().filter(|n| n.has_tag_name(t)).count();
        assert_eq!(
            (count("failure"), count("error"), count("skipped")),
            (2, 1, 1)
        );
        let fail = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        let msg = fail.attribute("message").unwrap();
        assert!(
            msg.contains("evil\\x00banner\\x1b[31m ]]> <tag a=\"x\"> &"),
            "{msg}"
        );
        assert!(
            msg.contains("\u{FFFD}") && msg.contains("\\u{FFFE}"),
            "{msg}"
        );
        assert!(fail.text().unwrap().contains("greeting: 220 evil"));
        assert_eq!(cases[1].attribute("classname"), Some("local.roundtrip"));
        assert_eq!(cases[1].attribute("time"), Some("1.234"));
        let out = cases[0]
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap();
        assert!(
            out.contains("phase connect: 1.5 ms") && out.contains("C: AUTH PLAIN <redacted>"),
            "{out}"
        );
        assert!(out.contains("]]&gt;"), "{out}");
        assert_eq!(cases[4].attribute("name"), Some("e]]>\\x00"));
    }
}
