//! The JUnit writer stays valid XML whatever a server sends: NUL, ESC,
//! invalid UTF-8 (lossily decoded), `]]>`, U+FFFE/FFFF — checked by parsing
//! every output back with roxmltree, for fixed and random strings.

use std::collections::BTreeMap;

use healthmon::report::junit::{attr_safe, cdata_safe, render};
use healthmon::result::*;
use proptest::prelude::*;

fn case(id: &str, status: Status, text: &str) -> CaseResult {
    let mut o = Observation::default();
    o.phase("connect", 0.5);
    o.fact("banner", text);
    o.transcript.push(format!("S: {text}"));
    if status == Status::Error {
        o.error = Some(ProbeError {
            phase: "greeting".into(),
            kind: ErrorKind::Protocol,
            message: text.into(),
            host: Some("mta1".into()),
            protocol: Some("smtp".into()),
        });
    }
    let mut labels = BTreeMap::new();
    labels.insert("account".into(), text.to_string());
    CaseResult {
        id: id.into(),
        kind: "roundtrip".into(),
        site: "local".into(),
        suite: "local".into(),
        labels,
        started_at: chrono::Utc::now(),
        duration_ms: 12.0,
        status,
        message: text.into(),
        observation: o,
        verdict: None,
        limits: Default::default(),
    }
}

fn summary(text: &str) -> RunSummary {
    RunSummary {
        run_id: "r1".into(),
        site: "local".into(),
        suites: vec!["local".into()],
        started_at: chrono::Utc::now(),
        finished_at: chrono::Utc::now(),
        duration_ms: 1.0,
        results: vec![
            case("pass", Status::Pass, text),
            case("warn", Status::Warning, text),
            case("crit", Status::Critical, text),
            case("err", Status::Error, text),
            case("skip", Status::Skipped, text),
        ],
        verdicts: vec![],
        notes: vec![],
    }
}

fn check(text: &str) {
    let xml = render(&summary(text)).unwrap();
    let xml = String::from_utf8(xml).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("invalid XML for {text:?}: {e}\n{xml}"));
    let n = |t: &str| doc.descendants().filter(|x| x.has_tag_name(t)).count();
    assert_eq!(
        (n("testcase"), n("failure"), n("error"), n("skipped")),
        (5, 2, 1, 1)
    );
    // Attributes carry the sanitised text exactly (nothing lost but the
    // forbidden characters, which are shown escaped).
    let f = doc
        .descendants()
        .find(|x| x.has_tag_name("failure"))
        .unwrap();
    assert_eq!(f.attribute("message"), Some(attr_safe(text).as_str()));
    // The element text carries the message too (GitLab shows only the text);
    // CDATA keeps line breaks, so compare after XML's CRLF → LF rule.
    let body = f.text().unwrap_or("");
    let want = cdata_safe(text).replace("\r\n", "\n").replace('\r', "\n");
    assert!(body.starts_with(&want), "{body:?} vs {want:?}");
}

#[test]
fn hostile_server_bytes() {
    let raw: &[u8] =
        b"220 \x00\x01\x1b[2J]]>]]]]><![CDATA[x]]>&amp;<a b=\"'\">\xff\xc3\x28\x80\r\n\t end";
    check(&String::from_utf8_lossy(raw));
    check("\u{FFFE}\u{FFFF}\u{7f}\u{85}]]>");
    check("");
}

proptest! {
    #[test]
    fn any_string_stays_valid(s in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check(&s);
        check(&String::from_utf8_lossy(&bytes));
    }
}
