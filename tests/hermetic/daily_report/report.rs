//! The daily report from results files: exact text layout (the seed's boxed
//! tables), CSV/JSON content, the four formats through the CLI, and the HTML
//! page rendered by headless Chromium with its SVG charts' data points.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use healthmon::daily_report::{self, formats::FormatsFile};
use healthmon::result::*;

fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, day, h, m, 0).unwrap()
}

pub(super) fn rt(
    id: &str,
    status: Status,
    ms: f64,
    verdict: Option<&str>,
    t: DateTime<Utc>,
) -> CaseResult {
    CaseResult {
        id: id.into(),
        kind: "roundtrip".into(),
        site: "local".into(),
        suite: "local".into(),
        labels: BTreeMap::new(),
        started_at: t,
        duration_ms: ms,
        status,
        message: match status {
            Status::Pass => String::new(),
            Status::Warning => format!("total {ms:.0}ms > warning 2500ms"),
            _ => "retrieve: connection refused (refused)".into(),
        },
        observation: Observation::default(),
        verdict: verdict.map(String::from),
        limits: Default::default(),
    }
}

fn host_case(t: DateTime<Utc>, deferred: f64, status: Status) -> CaseResult {
    let mut obs = Observation::default();
    obs.metric("active", 1.0, "");
    obs.metric("deferred", deferred, "");
    obs.metric("hold", 0.0, "");
    obs.metric("cpu_idle", 90.0 - deferred, "%");
    let mut labels = BTreeMap::new();
    labels.insert("host".to_string(), "mta1".to_string());
    labels.insert("check".to_string(), "queue".to_string());
    CaseResult {
        id: "host/mta1/queue".into(),
        kind: "host".into(),
        site: "local".into(),
        suite: "local".into(),
        labels,
        started_at: t,
        duration_ms: 15.0,
        status,
        message: if status == Status::Pass {
            String::new()
        } else {
            format!("deferred {deferred} > 10")
        },
        observation: obs,
        verdict: None,
        limits: Default::default(),
    }
}

const P1: &str = "rndtrip/ims1/mta1/mmp1/pop3";
const P2: &str = "rndtrip/ims3/mta2/mmp2/imap";

pub(super) fn summary(
    id: &str,
    t: DateTime<Utc>,
    results: Vec<CaseResult>,
    verdicts: Vec<Verdict>,
) -> RunSummary {
    RunSummary {
        run_id: id.into(),
        site: "local".into(),
        suites: vec!["local".into()],
        started_at: t,
        finished_at: t + chrono::Duration::seconds(30),
        duration_ms: 30000.0,
        results,
        verdicts,
        notes: vec![],
    }
}

/// 2025-01-10: four runs (00:05, 06:05, 06:10, 12:05); store2 imap fails at
/// 06:05 and 06:10, recovered at 12:05. History: 01-07..01-09, same hours, faster.
fn fixture(reports: &Path) -> usize {
    let dir = reports.join("results");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |r: &RunSummary| {
        std::fs::write(
            dir.join(format!("{}.json", r.run_id)),
            serde_json::to_vec(r).unwrap(),
        )
        .unwrap()
    };
    let v = Verdict {
        host: "store2".into(),
        protocol: "imap".into(),
        reason: "IMAP refused on store2".into(),
        evidence: vec!["store2:143 refused".into()],
        confidence: Confidence::Isolated,
        cases: vec![P2.into()],
    };
    let day = [
        (at(10, 0, 5), 1000.0, Status::Pass, 2.0),
        (at(10, 6, 5), 1200.0, Status::Error, 25.0),
        (at(10, 6, 10), 3000.0, Status::Error, 12.0),
        (at(10, 12, 5), 1100.0, Status::Pass, 3.0),
    ];
    for (i, (t, ms, s2, q)) in day.iter().enumerate() {
        let failing = *s2 != Status::Pass;
        let results = vec![
            rt(
                P1,
                if *ms > 2500.0 {
                    Status::Warning
                } else {
                    Status::Pass
                },
                *ms,
                None,
                *t,
            ),
            rt(
                P2,
                *s2,
                if failing { 30000.0 } else { ms + 500.0 },
                failing.then_some("store2"),
                *t,
            ),
            host_case(
                *t,
                *q,
                if *q > 10.0 {
                    Status::Critical
                } else {
                    Status::Pass
                },
            ),
        ];
        write(&summary(
            &format!("day-{i}"),
            *t,
            results,
            if failing { vec![v.clone()] } else { vec![] },
        ));
    }
    for d in 7..10 {
        for (h, m) in [(0, 5), (6, 5), (12, 5)] {
            let t = at(d, h, m);
            let results = vec![
                rt(P1, Status::Pass, 700.0, None, t),
                rt(P2, Status::Pass, 800.0, None, t),
            ];
            write(&summary(&format!("hist-{d}-{h}"), t, results, vec![]));
        }
    }
    // Another day outside the window and a broken file: ignored / noted.
    write(&summary(
        "later",
        at(11, 1, 0),
        vec![rt(P1, Status::Pass, 5.0, None, at(11, 1, 0))],
        vec![],
    ));
    std::fs::write(dir.join("broken.json"), b"{").unwrap();
    day.len()
}

fn build(reports: &Path) -> daily_report::DailyReport {
    daily_report::build(&daily_report::Options {
        reports: reports.to_path_buf(),
        date: NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(),
        site: Some("local".into()),
        formats: FormatsFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/report_formats.yaml"),
        )
        .unwrap(),
        state_dir: None,
    })
}

const EXPECTED_TEXT: &str = include_str!("../../fixtures/daily/report_expected.txt");

#[test]
fn text_report_matches_the_seed_table_layout() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let r = build(d.path());
    let text = daily_report::render_text::render(&r);
    let text = text.replace(&d.path().display().to_string(), "<reports>");
    assert_eq!(text, EXPECTED_TEXT, "\n--- got ---\n{text}");
}

#[test]
fn numbers_incidents_baseline_and_csv() {
    let d = tempfile::tempdir().unwrap();
    let runs = fixture(d.path());
    let r = build(d.path());
    assert_eq!(r.runs, runs);
    assert_eq!(r.baseline_runs, 9);
    let p1 = r.paths.iter().find(|p| p.path == P1).unwrap();
    // The 3000 ms run only warned: a failure, but the mail was delivered.
    assert_eq!((p1.runs, p1.failures, p1.availability), (4, 1, 100.0));
    assert_eq!(
        (p1.min_ms, p1.p50_ms, p1.p95_ms, p1.max_ms),
        (Some(1000.0), Some(1100.0), Some(3000.0), Some(3000.0))
    );
    assert_eq!(p1.base_p50_ms, Some(700.0));
    assert_eq!(p1.deviations, ["latency"]);
    let p2 = r.paths.iter().find(|p| p.path == P2).unwrap();
    assert_eq!((p2.runs, p2.failures, p2.availability), (4, 2, 50.0));
    assert_eq!(p2.deviations, ["latency", "availability"]);
    // One incident for the verdict (not one per path), closed by the 12:05
    // pass; the queue check's; P1's latency warning.
    let inc: Vec<_> = r
        .incidents
        .iter()
        .map(|i| (i.key.as_str(), i.failed_runs, i.duration_s, i.open))
        .collect();
    assert_eq!(
        inc,
        [
            ("host/mta1/queue", 2, 6 * 3600, false),
            ("store2", 2, 6 * 3600, false),
            (P1, 1, 6 * 3600 - 300, false)
        ]
    );
    let q = r.peaks.iter().find(|p| p.metric == "deferred").unwrap();
    assert_eq!(
        (q.max, q.max_at, q.group.as_str()),
        (25.0, at(10, 6, 5), "queue")
    );
    assert_eq!(r.queues.len(), 3, "active, deferred, hold series");
    assert!(r.notes.iter().any(|n| n.contains("broken.json")));
    let csv = daily_report::render_csv::render(&r);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[1],
        "2025-01-10,local,rndtrip/ims1/mta1/mmp1/pop3,roundtrip,4,1,100.0,1000.0,1100.0,3000.0,3000.0,700.0,100.0,latency"
    );
    let json: serde_json::Value =
        serde_json::from_str(&daily_report::render_json::render(&r)).unwrap();
    assert_eq!(json["incidents"][1]["key"], "store2");
}

#[test]
fn cli_writes_all_four_formats() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "report",
            "--date",
            "2025-01-10",
            "--format",
            "all",
            "--reports",
        ])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for ext in ["txt", "csv", "json", "html"] {
        let p = d.path().join(format!("daily/2025-01-10.{ext}"));
        let body = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(body.contains("rndtrip/ims1/mta1/mmp1/pop3"), "{ext}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "--format", "pdf", "--reports"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("unknown format pdf (declared: csv, html, json, text)")
    );
}

use crate::support::status::chromium;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The part of the DOM inside `<svg id="ID" ...> ... </svg>`.
fn svg<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no svg {id}"));
    let end = dom[start..].find("</svg>").unwrap() + start;
    &dom[start..end]
}

#[test]
fn html_renders_in_headless_chromium_with_heatmap_and_chart_points() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let r = build(d.path());
    let html = daily_report::render_html::render(&r);
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !external.contains("http://") && !external.contains("https://"),
        "no external assets"
    );
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained"
    );
    let page = d.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let png = d.path().join("shot.png");
    let dom = chromium(&format!("file://{}", page.display()), Some(&png));
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "screenshot trivial ({size} bytes)");
    // HEALTHMON_KEEP_REPORT=DIR keeps the page and screenshot for a look.
    if let Some(keep) = std::env::var_os("HEALTHMON_KEEP_REPORT") {
        let keep = std::path::PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&png, keep.join("report.png")).unwrap();
        std::fs::copy(&page, keep.join("report.html")).unwrap();
    }
    assert!(dom.contains("healthmon daily report"), "{dom:.500}");

    // Heatmap: both paths misbehaved, so a row each, the 50% one first; no
    // fold. P2's 06:00 (both runs errors) is a 0% cell with its numbers.
    let heat = svg(&dom, "heatmap");
    assert_eq!(count(heat, "class=\"row\""), 2);
    let p2 = heat.find(&format!("data-path=\"{P2}\"")).unwrap();
    let p1 = heat.find(&format!("data-path=\"{P1}\"")).unwrap();
    assert!(p2 < p1, "worst first");
    assert!(!heat.contains("more healthy paths"));
    assert!(heat.contains("<title>06:00 0.0% of 2 runs, p95 - ms (baseline 800 ms)</title>"));
    // P1's 06:00 p95 (3000 ms) is over twice 1.5 × its baseline (700 ms).
    assert!(heat.contains("<title>06:00 100.0% of 2 runs, p95 3000 ms (baseline 700 ms)</title>"));
    // No case here names a submit or retrieve host: no small multiples.
    assert!(!dom.contains("class=\"mult\""));
    // Queue chart: active, deferred, hold of mta1, 4 samples each.
    let q = svg(&dom, "queues");
    assert_eq!(count(q, "<polyline"), 3);
    assert_eq!(count(q, "<circle"), 12);
    assert!(dom.contains("<td>store2</td>"));
    // The table lists the worst path first.
    let table = &dom[dom.find("Paths, worst first").unwrap()..];
    assert!(table.find(P2).unwrap() < table.find(P1).unwrap());
}

#[test]
fn line_chart_margin_fits_its_longest_y_label() {
    let day = at(10, 0, 0);
    let series = vec![healthmon::daily_report::stats::Series {
        name: "slow".into(),
        unit: "ms".into(),
        points: vec![healthmon::daily_report::stats::Point {
            t: at(10, 6, 0),
            v: Some(123456.7),
            status: "pass".into(),
        }],
    }];
    let svg = daily_report::render_html::chart("c", "c", &series, day);
    let labels: Vec<(f64, usize)> = svg
        .split("<text x=\"")
        .skip(1)
        .filter(|t| t.contains("text-anchor=\"end\""))
        .map(|t| {
            let x: f64 = t[..t.find('"').unwrap()].parse().unwrap();
            let text = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
            (x, text.chars().count())
        })
        .collect();
    assert_eq!(labels.len(), 3, "{svg}");
    assert!(
        labels.iter().any(|(_, n)| *n >= 12),
        "123456.70 ms: {labels:?}"
    );
    // 11 px sans-serif: no character is wider than 7 px.
    for (x, n) in labels {
        assert!(x - 7.0 * n as f64 >= 0.0, "label of {n} chars ends at {x}");
    }
}
