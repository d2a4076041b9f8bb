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
    let xml = render(&summary(text), "monitor1").unwrap();
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

/// What Jenkins, GitLab and the Ant schema read on the suite level: counts
/// (with `skipped`) on each `<testsuite>` and in aggregate on
/// `<testsuites>`; `hostname` the machine that ran; `time` the run's wall
/// time, not the sum of concurrent cases; a zone-less ISO timestamp; the
/// site in `package` and `<properties>`.
#[test]
fn suite_attributes_follow_the_consumers() {
    let mut run = summary("ok");
    run.suites.push("edge & <b>".into());
    let mut other = case("other/pass", Status::Pass, "ok");
    other.suite = "edge & <b>".into();
    let mut other_skip = case("other/skip", Status::Skipped, "ok");
    other_skip.suite = "edge & <b>".into();
    run.results.push(other);
    run.results.push(other_skip);
    run.duration_ms = 4_250.0;
    for r in &mut run.results {
        r.duration_ms = 3_000.0; // seven cases: their sum is 21 s
    }
    let xml = String::from_utf8(render(&run, "monitor1.example.net").unwrap()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let attrs = |n: roxmltree::Node, keys: &[&str]| -> Vec<String> {
        keys.iter()
            .map(|k| {
                n.attribute(*k)
                    .unwrap_or_else(|| panic!("no {k} in {xml}"))
                    .to_string()
            })
            .collect()
    };
    let counts = ["tests", "failures", "errors", "skipped", "time"];
    assert_eq!(attrs(root, &counts), ["7", "2", "1", "2", "4.250"]);
    assert_eq!(root.attribute("name"), Some("healthmon local"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(attrs(suites[0], &counts), ["5", "2", "1", "1", "4.250"]);
    assert_eq!(attrs(suites[1], &counts), ["2", "0", "0", "1", "4.250"]);
    assert_eq!(suites[1].attribute("name"), Some("edge & <b>"));
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$").unwrap();
    for s in &suites {
        assert_eq!(s.attribute("hostname"), Some("monitor1.example.net"));
        assert_eq!(s.attribute("package"), Some("local"));
        assert!(stamp.is_match(s.attribute("timestamp").unwrap()), "{xml}");
        let first = s.children().find(|n| n.is_element()).unwrap();
        assert_eq!(
            first.tag_name().name(),
            "properties",
            "properties first: {xml}"
        );
        let site = first
            .children()
            .find(|p| p.attribute("name") == Some("site"))
            .unwrap();
        assert_eq!(site.attribute("value"), Some("local"));
        // The sums over the testcases agree with the attributes.
        let n = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(n.to_string(), s.attribute("tests").unwrap());
    }
    assert!(stamp.is_match(root.attribute("timestamp").unwrap()));
}

/// `xmllint --schema` on `xml`: Ok, or the validator's complaint.
fn xmllint(schema: &str, xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit")
        .join(schema);
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint must be installed (apt-get install libxml2-utils; tests/run does)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The whole output validates against both schemas (the Ant layout and the
/// Jenkins one, tests/fixtures/junit/), also when a server's text looks like
/// the report's own tags; and the schemas have teeth: what Jenkins or Ant
/// would misread is rejected.
#[test]
fn validates_against_the_ant_and_jenkins_schemas() {
    let mut run = summary("<testsuite name=\"x\"></testsuite></testsuites> ]]> \u{1b}[31m");
    run.suites.push("empty suite".into());
    let xml = String::from_utf8(render(&run, "monitor1").unwrap()).unwrap();
    for schema in ["ant.xsd", "jenkins.xsd"] {
        xmllint(schema, &xml).unwrap_or_else(|e| panic!("{schema}: {e}\n{xml}"));
    }
    // The server's look-alike tags stayed text: still five cases in one
    // suite plus the empty one.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .count();
    assert_eq!(suites, 2, "{xml}");
    let bent = [
        (
            "time in milliseconds",
            xml.replacen("time=\"0.012\"", "time=\"12ms\"", 1),
        ),
        ("no hostname", xml.replacen(" hostname=\"monitor1\"", "", 1)),
        (
            "a zoned timestamp",
            regex::Regex::new(r#"(<testsuite [^>]*timestamp="[^"]*)""#)
                .unwrap()
                .replace(&xml, "${1}Z\"")
                .into_owned(),
        ),
        (
            "no suite-level system-err",
            xml.replacen("<system-err/>", "", 1),
        ),
    ];
    for (what, x) in &bent {
        assert_ne!(x, &xml, "{what}: the bend did not apply");
        assert!(xmllint("ant.xsd", x).is_err(), "ant.xsd accepts {what}");
    }
    assert!(
        xmllint("jenkins.xsd", &bent[0].1).is_err(),
        "jenkins.xsd accepts a time with a unit"
    );
}
