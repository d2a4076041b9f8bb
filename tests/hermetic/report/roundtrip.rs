//! Round trips of whole runs through the report writers (issue 10,
//! property tests). Others live next to their code: Nagios range
//! parse/print and perfdata quoting in `report/nagios.rs`, suite → expand
//! determinism and YAML round trip in `case/expand.rs`, JUnit validity for
//! any server text in `report/junit.rs`, wire/pop3/imap/smtp parsers in
//! their modules' proptests.
//!
//! - JUnit written then parsed back: one testcase per result, in order, with
//!   its (sanitised) id as name, its duration as `time`, and exactly the
//!   failure / error / skipped element its status calls for.
//! - JSON results written then read back: the same run, value for value
//!   (floats within a few ULP, see `same`).

use std::collections::BTreeMap;

use healthmon::report::junit::{attr_safe, render};
use healthmon::result::*;
use proptest::prelude::*;

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pass),
        Just(Status::Warning),
        Just(Status::Critical),
        Just(Status::Error),
        Just(Status::Skipped),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/._-]{1,30}",
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn case() -> impl Strategy<Value = CaseResult> {
    (
        text(),
        status(),
        0.0f64..1e7,
        text(),
        prop_oneof![Just("local"), Just("other")],
        proptest::collection::btree_map("[a-z]{1,8}", text(), 0..3),
    )
        .prop_map(|(id, status, ms, msg, suite, labels)| {
            let mut o = Observation::default();
            o.phase("connect", ms / 3.0);
            o.metric("bytes_received", 1234.0, "B");
            o.fact("banner", msg.clone());
            o.transcript.push(format!("S: {msg}"));
            if status == Status::Error {
                o.error = Some(ProbeError {
                    phase: "greeting".into(),
                    kind: ErrorKind::Protocol,
                    message: msg.clone(),
                    host: Some("mta1".into()),
                    protocol: Some("smtp".into()),
                });
            }
            CaseResult {
                id,
                kind: "roundtrip".into(),
                site: "local".into(),
                suite: suite.into(),
                labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
                started_at: chrono::DateTime::from_timestamp(1_736_500_000, 0).unwrap(),
                duration_ms: ms,
                status,
                message: msg,
                observation: o,
                verdict: None,
                limits: Default::default(),
            }
        })
}

fn run(results: Vec<CaseResult>) -> RunSummary {
    RunSummary {
        run_id: "20250110T000000Z-abcdef".into(),
        site: "local".into(),
        suites: vec!["local".into(), "other".into()],
        started_at: chrono::DateTime::from_timestamp(1_736_500_000, 0).unwrap(),
        finished_at: chrono::DateTime::from_timestamp(1_736_500_060, 0).unwrap(),
        duration_ms: 60_000.0,
        results,
        verdicts: vec![],
        notes: vec![],
    }
}

/// Equal JSON, floats within a few ULP: serde_json is built without its
/// `float_roundtrip` feature, so parsing may be off by one ULP (a timing of
/// 1595993.984072568 ms reads back as 1595993.9840725681).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (V::Array(x), V::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn junit_written_then_parsed_back(results in proptest::collection::vec(case(), 0..12)) {
        let run = run(results);
        let xml = String::from_utf8(render(&run, "monitor1").unwrap()).unwrap();
        let doc = roxmltree::Document::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        // Suites in order, each with its own results in order.
        let mut want: Vec<&CaseResult> = Vec::new();
        for s in ["local", "other"] {
            want.extend(run.results.iter().filter(|r| r.suite == s));
        }
        let got: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        prop_assert_eq!(got.len(), want.len());
        for (node, r) in got.iter().zip(&want) {
            let name = attr_safe(&r.id);
            prop_assert_eq!(node.attribute("name"), Some(name.as_str()));
            let child = |t: &str| node.children().filter(|c| c.has_tag_name(t)).count();
            let expect = match r.status {
                Status::Pass => (0, 0, 0),
                Status::Warning | Status::Critical => (1, 0, 0),
                Status::Error => (0, 1, 0),
                Status::Skipped => (0, 0, 1),
            };
            prop_assert_eq!((child("failure"), child("error"), child("skipped")), expect, "{:?}", r.status);
            if r.status != Status::Skipped {
                let t: f64 = node.attribute("time").unwrap().parse().unwrap();
                prop_assert!((t - r.duration_ms / 1000.0).abs() < 1e-3, "time {} for {} ms", t, r.duration_ms);
            }
        }
        for s in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
            let n = s.children().filter(|c| c.has_tag_name("testcase")).count();
            let n = n.to_string();
            prop_assert_eq!(s.attribute("tests"), Some(n.as_str()));
        }
    }

    #[test]
    fn json_results_written_then_read_back(results in proptest::collection::vec(case(), 0..8)) {
        let run = run(results);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("run.json");
        healthmon::atomic::write(&p, healthmon::report::json::to_json(&run).as_bytes()).unwrap();
        let back = healthmon::report::json::read(&p).map_err(TestCaseError::fail)?;
        let (a, b) = (serde_json::to_value(&run).unwrap(), serde_json::to_value(&back).unwrap());
        prop_assert!(same(&a, &b), "{a:#}\n{b:#}");
    }
}
