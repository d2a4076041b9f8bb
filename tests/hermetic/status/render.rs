//! Status page rendering and API, in-process: hostile strings escaped in
//! text and attributes, cell colours by status, the matrix layout, the
//! API's JSON against the run it came from, case history, auth.

use crate::support::status::*;
use healthmon::result::{RunSummary, Status};
use healthmon::status::{model, page};

const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'";

fn sample() -> RunSummary {
    let ok = path("ims3 store2 mta1 mmp1 pop3", Status::Pass, 150.0);
    let warn = path("ims3 store2 mta2 mmp1 pop3", Status::Warning, 1500.0);
    let crit = path("ims3 store2 mta1 mmp1 imap", Status::Critical, 9000.0);
    let err1 = path("ims1 store1 mta1 store1 imap", Status::Error, 20.0);
    let err2 = path("ims1 store1 mta2 store1 imap", Status::Error, 25.0);
    let mut skipped = path("ims1 store1 mta1 mmp1 pop3", Status::Skipped, 0.0);
    skipped.message = "not selected".into();
    let q = host_check("mta1", "queue", Status::Critical, &[("deferred", 42.0)]);
    let v = verdict("store1", "imap", &[&err1, &err2]);
    run(
        "r2",
        t(600),
        vec![ok, warn, crit, err1, err2, skipped, q],
        vec![v],
    )
}

fn hostile() -> RunSummary {
    // Account and submit host names hostile too (they become data-* and titles).
    let mut c = path("A store1 S mmp1 imap", Status::Error, 10.0);
    c.labels.insert("account".into(), HOSTILE.into());
    c.labels.insert("submit".into(), HOSTILE.into());
    c.id = format!("rndtrip/{HOSTILE}/{HOSTILE}/mmp1/imap");
    c.message = HOSTILE.into();
    c.observation.fact("banner", HOSTILE);
    c.observation.phase(HOSTILE, 1.0);
    if let Some(e) = c.observation.error.as_mut() {
        e.message = HOSTILE.into();
        e.host = Some(HOSTILE.into());
    }
    c.verdict = Some(format!("{HOSTILE}/imap"));
    let mut h = host_check(HOSTILE, "system", Status::Warning, &[(HOSTILE, 1.0)]);
    h.message = HOSTILE.into();
    let mut v = verdict(HOSTILE, "imap", &[&c]);
    v.reason = HOSTILE.into();
    v.evidence = vec![HOSTILE.into()];
    let mut r = run("r-<hostile>", t(0), vec![c, h], vec![v]);
    r.site = HOSTILE.into();
    r.suites = vec![HOSTILE.into()];
    r.notes = vec![HOSTILE.into()];
    r
}

fn inputs(runs: Vec<RunSummary>) -> model::Inputs {
    let st = state_with(runs);
    let mut inp = healthmon::status::gather(&st);
    inp.now = t(900);
    inp
}

fn full_page(inp: &model::Inputs) -> String {
    let doc = model::build(inp);
    let hist = page::history(&healthmon::status::history(inp, &doc));
    page::render(&doc, &hist, 30)
}

#[test]
fn hostile_strings_are_escaped_in_text_and_attributes() {
    let inp = inputs(vec![hostile()]);
    let html = full_page(&inp);
    let tags = tags(&html);
    // Exactly one script element, the same-origin one; no img at all.
    let scripts: Vec<_> = tags.iter().filter(|(n, _)| n == "script").collect();
    assert_eq!(scripts.len(), 1, "{scripts:?}");
    assert_eq!(
        scripts[0].1,
        vec![("src".to_string(), "status.js".to_string())]
    );
    assert!(
        !tags.iter().any(|(n, _)| n == "img"),
        "an <img> got through"
    );
    // No event-handler attribute anywhere, no attribute broken out of its quotes.
    for (n, attrs) in &tags {
        for (a, v) in attrs {
            assert!(!a.starts_with("on"), "<{n} {a}={v}>");
            assert!(!v.contains('"') && !v.contains('<'), "<{n} {a}={v}>");
        }
    }
    // The text is there, escaped, in text and in attributes (title, data-*).
    let escaped =
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;";
    assert!(html.matches(escaped).count() >= 8, "{html}");
    assert!(html.contains(&format!("data-account=\"{escaped}\"")));
    assert!(html.contains(&format!("data-host=\"{escaped}\"")));
    assert!(html.contains(&format!("title=\"rndtrip/{escaped}/")));
    // The fragments are escaped too.
    let doc = model::build(&inp);
    let live = page::live(&doc);
    assert!(!tags_of(&live).iter().any(|n| n == "script" || n == "img"));
}

fn tags_of(html: &str) -> Vec<String> {
    tags(html).into_iter().map(|t| t.0).collect()
}

#[test]
fn cells_are_coloured_by_status_in_a_fixed_grid() {
    let inp = inputs(vec![sample()]);
    let doc = model::build(&inp);
    // Two grids (ims3 on store2 first: appearance order), rows = submit
    // hosts, columns = retrieve host × protocol.
    assert_eq!(doc.matrix.len(), 2);
    let g = &doc.matrix[0];
    assert_eq!((g.account.as_str(), g.store.as_str()), ("ims3", "store2"));
    let rows: Vec<&str> = g.rows.iter().map(|r| r.submit.as_str()).collect();
    assert_eq!(rows, ["mta1", "mta2"]);
    let cols: Vec<(&str, &str)> = g
        .cols
        .iter()
        .map(|c| (c.retrieve.as_str(), c.protocol.as_str()))
        .collect();
    assert_eq!(cols, [("mmp1", "pop3"), ("mmp1", "imap")]);
    assert_eq!(g.cell(1, 1), None, "mta2 -> mmp1 imap was not run");
    let html = page::live(&doc);
    // The cell for mta2 -> mmp1 imap is the empty placeholder.
    assert!(html.contains("<span class=\"none\""));
    for (id, st) in [
        ("rndtrip/ims3/mta1/mmp1/pop3", "pass"),
        ("rndtrip/ims3/mta2/mmp1/pop3", "warning"),
        ("rndtrip/ims3/mta1/mmp1/imap", "critical"),
        ("rndtrip/ims1/mta1/store1/imap", "error"),
        ("rndtrip/ims1/mta1/mmp1/pop3", "notrun"),
    ] {
        let tag = format!("<details class=\"cell st-{st}\" data-case=\"{id}\"");
        assert!(html.contains(&tag), "{tag} missing");
    }
    // Each status has its own solid colour in the stylesheet.
    let full = full_page(&inp);
    let mut seen = std::collections::HashSet::new();
    for s in [
        Status::Pass,
        Status::Warning,
        Status::Critical,
        Status::Error,
        Status::Skipped,
    ] {
        let rule = format!(
            ".{}>summary,.badge.{}{{background:{}}}",
            page::class(s),
            page::class(s),
            page::color(s)
        );
        assert!(full.contains(&rule), "{rule}");
        assert!(seen.insert(page::color(s)), "colour of {s} not distinct");
    }
    assert!(full.contains(&format!(
        "width:{}px;height:{}px",
        page::CELL_W,
        page::CELL_H
    )));
    // The error cell says why, with its phases and the verdict in its details.
    let cell = html
        .split("data-case=\"rndtrip/ims1/mta1/store1/imap\"")
        .nth(1)
        .unwrap()
        .split("</details>")
        .next()
        .unwrap();
    assert!(cell.contains("title=\"rndtrip/ims1/mta1/store1/imap — error — 20 ms — login: connection refused — verdict store1\""), "{cell}");
    assert!(cell.contains("<b>Last error</b>: phase <code>login</code>, refused at store1 imap: connection refused"), "{cell}");
    assert!(
        cell.contains("<code>store1</code> store1 refuses imap"),
        "{cell}"
    );
    assert!(
        cell.contains("<tr><td>submit</td><td class=\"n\">10.0</td></tr>"),
        "{cell}"
    );
    // Without JS: a meta refresh inside <noscript>; with: the same-origin script.
    assert!(full.contains("<noscript><meta http-equiv=\"refresh\" content=\"30\"></noscript>"));
    // No external asset: nothing is loaded from anywhere but this origin.
    for (n, attrs) in tags(&full) {
        for (a, v) in attrs {
            if ["src", "href", "action", "data"].contains(&a.as_str()) {
                assert!(!v.contains(':') && !v.starts_with("//"), "<{n} {a}={v}>");
            }
        }
    }
}

#[test]
fn skipped_case_shows_its_previous_result_and_verdict_since() {
    let old = path("ims1 store1 mta1 mmp1 pop3", Status::Critical, 7000.0);
    let e1 = path("ims1 store1 mta1 store1 imap", Status::Error, 20.0);
    let r1 = run(
        "r1",
        t(0),
        vec![old, e1.clone()],
        vec![verdict("store1", "imap", &[&e1])],
    );
    let r2 = sample();
    let inp = inputs(vec![r1, r2]);
    let doc = model::build(&inp);
    let g = doc.matrix.iter().find(|g| g.account == "ims1").unwrap();
    let c = g
        .cells
        .iter()
        .find(|c| c.case.id == "rndtrip/ims1/mta1/mmp1/pop3")
        .unwrap();
    assert_eq!(
        (c.case.status, c.case.current, c.case.run_id.as_str()),
        (Status::Critical, false, "r1")
    );
    // The verdict is open since the first of the two runs naming it.
    assert_eq!(doc.verdicts.len(), 1);
    let v = &doc.verdicts[0];
    assert_eq!(
        (v.key.as_str(), v.open, v.state.as_str()),
        ("store1", true, "open")
    );
    assert_eq!(v.since, t(0));
    // A later run without it: resolved, still listed, after open ones.
    let r3 = run(
        "r3",
        t(1200),
        vec![path("ims1 store1 mta1 store1 imap", Status::Pass, 30.0)],
        vec![],
    );
    let mut runs = vec![run(
        "r1",
        t(0),
        vec![e1.clone()],
        vec![verdict("store1", "imap", &[&e1])],
    )];
    runs.push(r3);
    let doc = model::build(&inputs(runs));
    assert_eq!(doc.verdicts[0].state, "resolved");
    assert!(!doc.verdicts[0].open);
}

#[test]
fn api_json_is_the_runs_structured_results() {
    let r = sample();
    let st = state_with(vec![r.clone()]);
    let addr = serve(st);
    let (code, head, body) = get(&addr, "/api/v1/status", "");
    assert_eq!(code, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let doc: model::StatusDoc = serde_json::from_str(&body).unwrap();
    assert_eq!(doc.runs.len(), 1);
    assert_eq!(doc.runs[0].run_id, r.run_id);
    assert_eq!(doc.runs[0].worst, r.worst());
    // Every result of the run is in the document exactly once, equal field by field.
    let mut views: Vec<&model::CaseView> = doc
        .matrix
        .iter()
        .flat_map(|g| g.cells.iter().map(|c| &c.case))
        .collect();
    views.extend(doc.hosts.iter().flat_map(|h| &h.checks));
    views.extend(&doc.others);
    assert_eq!(views.len(), r.results.len());
    for res in &r.results {
        let v = views
            .iter()
            .find(|v| v.id == res.id)
            .unwrap_or_else(|| panic!("{} missing", res.id));
        assert_eq!(v.status, res.status, "{}", res.id);
        assert_eq!(v.message, res.message);
        assert_eq!(v.phases, res.observation.phases);
        assert_eq!(v.error, res.observation.error);
        assert_eq!(v.verdict, res.verdict);
        assert_eq!(v.labels, res.labels);
        assert_eq!(v.facts, res.observation.facts);
        assert_eq!(v.started_at, res.started_at);
        if res.status != Status::Skipped {
            assert_eq!(
                v.total_ms,
                res.observation.phase_ms("total").unwrap_or(res.duration_ms)
            );
            assert_eq!(v.run_id, r.run_id);
        }
        let m: Vec<(String, f64)> = v
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.value))
            .collect();
        let want: Vec<(String, f64)> = res
            .observation
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.value))
            .collect();
        assert_eq!(m, want);
    }
    assert_eq!(doc.verdicts.len(), 1);
    assert_eq!(doc.verdicts[0].verdict, r.verdicts[0]);
    // The JSON keeps the verdict's own fields at top level (flattened).
    let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(raw["verdicts"][0]["host"], "store1");
    assert_eq!(raw["verdicts"][0]["key"], "store1");

    // The page is built from the same document: same cells, same statuses.
    let (code, head, html) = get(&addr, "/", "");
    assert_eq!(code, 200);
    let h = head.to_ascii_lowercase();
    assert!(
        h.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    assert!(h.contains("x-content-type-options: nosniff"));
    for v in doc.matrix.iter().flat_map(|g| &g.cells) {
        assert!(html.contains(&format!(
            "class=\"cell {}\" data-case=\"{}\"",
            page::class(v.case.status),
            v.case.id
        )));
    }
    let (code, _, live) = get(&addr, "/fragment/live", "");
    assert_eq!(code, 200);
    let cells = |h: &str| -> Vec<(String, Vec<(String, String)>)> {
        tags(h).into_iter().filter(|t| t.0 == "details").collect()
    };
    assert_eq!(
        cells(&live),
        cells(&html),
        "the live fragment is the page's live part"
    );
    assert_eq!(
        cells(&live).len(),
        r.results.iter().filter(|r| r.kind == "roundtrip").count()
    );
    let (code, head, js) = get(&addr, "/status.js", "");
    assert_eq!(code, 200);
    assert!(head.contains("text/javascript"));
    assert!(js.contains("fragment/live"));
}

#[test]
fn case_history_over_runs() {
    let a = sample();
    let mut b = sample();
    b.run_id = "r3".into();
    b.started_at = t(900);
    for r in &mut b.results {
        r.started_at = t(900);
        if r.id == "rndtrip/ims1/mta1/store1/imap" {
            r.status = Status::Pass;
            r.observation.error = None;
        }
    }
    let addr = serve(state_with(vec![a, b]));
    let (code, _, body) = get(
        &addr,
        "/api/v1/cases/rndtrip/ims1/mta1/store1/imap/history",
        "",
    );
    assert_eq!(code, 200, "{body}");
    let h: Vec<model::CaseHistory> = serde_json::from_str(&body).unwrap();
    assert_eq!(h.len(), 1);
    let st: Vec<(String, Status)> = h[0]
        .points
        .iter()
        .map(|p| (p.run_id.clone(), p.status))
        .collect();
    assert_eq!(
        st,
        [
            ("r2".to_string(), Status::Error),
            ("r3".to_string(), Status::Pass)
        ]
    );
    assert_eq!(h[0].points[0].verdict.as_deref(), Some("store1"));
    // Skipped runs leave no point; unknown ids and a missing suffix are 404.
    let (_, _, body) = get(
        &addr,
        "/api/v1/cases/rndtrip/ims1/mta1/mmp1/pop3/history",
        "",
    );
    let h: Vec<model::CaseHistory> = serde_json::from_str(&body).unwrap();
    assert!(h[0].points.is_empty());
    assert_eq!(get(&addr, "/api/v1/cases/nope/x/history", "").0, 404);
    assert_eq!(
        get(&addr, "/api/v1/cases/rndtrip/ims1/mta1/store1/imap", "").0,
        404
    );
}

#[test]
fn history_charts_are_inline_svg_per_account_and_queue() {
    let mut a = sample();
    a.started_at = t(0);
    let inp = inputs(vec![a, sample()]);
    let doc = model::build(&inp);
    let h = healthmon::status::history(&inp, &doc);
    let titles: Vec<&str> = h.latency.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(titles, ["ims3 on store2", "ims1 on store1"]);
    assert_eq!(h.queues.len(), 1);
    assert_eq!(h.queues[0].name, "mta1 deferred");
    let svg = page::history(&h);
    assert_eq!(svg.matches("<svg ").count(), 3);
    // Ticks are clock times of the rolling window ending at `now` (t(900) = 08:15 UTC).
    assert!(
        svg.contains(">08:00</text>") || svg.contains(">08:15</text>"),
        "{svg}"
    );
}

#[test]
fn daemon_check_refuses_unusable_status_auth() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("s.yaml"),
        "site: s\nhosts:\n  mta1:\n    roles: [mta]\n    address: 127.0.1.1\n    checks:\n      - port: {endpoint: smtp}\n",
    )
    .unwrap();
    let sched = d.path().join("schedule.yaml");
    let check = |status: &str| {
        std::fs::write(
            &sched,
            format!("{status}jobs:\n  j:\n    every: 1m\n    suites: [s.yaml]\n"),
        )
        .unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
            .args(["daemon", "--check"])
            .arg(&sched)
            .output()
            .unwrap()
    };
    let o = check("status:\n  auth:\n    basic: {user: ops, password_file: missing.pass}\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(healthmon::exit::CONFIG), "{err}");
    assert!(
        err.contains("status.auth.basic: file") && err.contains("missing.pass"),
        "{err}"
    );
    let o = check("status:\n  auth:\n    bearer: {token_env: HM_TEST_STATUS_TOKEN_UNSET}\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("status.auth.bearer: env HM_TEST_STATUS_TOKEN_UNSET"),
        "{err}"
    );
    let o = check("status:\n  auth:\n    bearer: {token_env: HM_TEST_STATUS_TOKEN}\n");
    assert_eq!(o.status.code(), Some(healthmon::exit::CONFIG));
    std::fs::write(d.path().join("tok"), "t").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path().join("tok"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = check("status:\n  auth:\n    bearer: {token_file: tok}\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn verdict_state_follows_the_alert_state() {
    use healthmon::alert::state::{AlertStatus, KeyState};
    let e1 = path("ims1 store1 mta1 store1 imap", Status::Error, 20.0);
    let r = run(
        "r1",
        t(0),
        vec![e1.clone()],
        vec![verdict("store1", "imap", &[&e1])],
    );
    let state_of = |status: AlertStatus, first: i64, notified: Option<i64>| {
        let mut inp = inputs(vec![r.clone()]);
        inp.reminder
            .insert("local".into(), std::time::Duration::from_secs(3600));
        let ks = KeyState {
            status,
            consecutive_failures: 3,
            first_seen: Some(t(first)),
            last_notified: notified.map(t),
            severity: "error".into(),
            ..KeyState::default()
        };
        inp.alerts
            .entry("isp".into())
            .or_default()
            .insert("store1".into(), ks);
        let doc = model::build(&inp);
        let v = doc.verdicts[0].clone();
        (v.state, v.since, v.alert.map(|a| a.status))
    };
    // Fired at the second run: firing; an hour after the first failure a
    // reminder went out: reminded. `since` is the alert's first failure.
    assert_eq!(
        state_of(AlertStatus::Firing, -300, Some(0)),
        ("firing".into(), t(-300), Some(AlertStatus::Firing))
    );
    assert_eq!(state_of(AlertStatus::Firing, -3600, Some(0)).0, "reminded");
    assert_eq!(state_of(AlertStatus::Pending, 0, None).0, "pending");
    // No alert state at all (alerts kept elsewhere): open.
    let doc = model::build(&inputs(vec![r.clone()]));
    assert_eq!(
        (
            doc.verdicts[0].state.as_str(),
            doc.verdicts[0].alert.is_none()
        ),
        ("open", true)
    );
    // The page says so, in the verdict row.
    let html = page::live(&doc);
    assert!(
        html.contains("data-key=\"store1\" data-state=\"open\""),
        "{html}"
    );
}
