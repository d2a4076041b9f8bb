//! Agents on every host of the loopback site (each on its own address, under
//! its own hostname) and a central monitor that pulls them: the central JSON,
//! qmonitor.log and status page show every host's checks; a stopped agent
//! is an `agent/<host>` error with its checks errors, then recovers; a
//! wrong token is refused and logged without the token.

use std::path::Path;
use std::time::Duration;

use crate::support::agents::{self, HOSTS, TOKEN, case, central_run};
use crate::support::modes::{http_get, start_daemon, wait_for};
use crate::support::site;

const PULL: [&str; 4] = ["--only", "host/*", "--only", "agent/*"];

/// Central runs until every listed agent answered with results.
fn wait_agents_ready(suite: &Path, reports: &Path, hosts: &[&str]) -> serde_json::Value {
    wait_for(Duration::from_secs(60), || {
        let doc = central_run(suite, reports, &PULL);
        hosts
            .iter()
            .all(|h| case(&doc, &format!("agent/{h}")).0 == "pass")
            .then_some(doc)
    })
    .expect("agents never all answered")
}

#[test]
fn every_hosts_checks_reach_the_central_json_qmonitor_and_status_page() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let running = agents::start_all(d.path(), &suite, port);
    let reports = d.path().join("central");
    let names: Vec<&str> = HOSTS.iter().map(|(h, _)| *h).collect();
    let doc = wait_agents_ready(&suite, &reports, &names);
    let results = doc["results"].as_array().unwrap();
    for (h, _) in HOSTS {
        // Every declared check of the host came from its agent, measured.
        let mine: Vec<&serde_json::Value> = results
            .iter()
            .filter(|r| r["id"].as_str().unwrap().starts_with(&format!("host/{h}/")))
            .collect();
        assert!(!mine.is_empty(), "no checks of {h}");
        for r in &mine {
            assert_ne!(r["status"], "error", "{h}: {r}");
            assert_ne!(r["status"], "skipped", "{h}: {r}");
            assert!(r["observation"]["facts"]["agent_age"].is_string(), "{r}");
        }
    }
    // Each agent ran only its own host's checks, chosen by its hostname.
    for a in &running {
        let log = a.log();
        assert!(
            log.contains(&format!("agent: serving host checks of {}", a.host)),
            "{log}"
        );
    }
    // qmonitor.log on the central monitor has a row for every host.
    let q = std::fs::read_to_string(reports.join("qmonitor.log")).unwrap();
    for (h, _) in HOSTS {
        assert!(q.contains(h), "{h} missing from qmonitor.log:\n{q}");
    }
    // The central status page and /metrics show every host's checks.
    let sched = d.path().join("schedule.yaml");
    std::fs::write(
        &sched,
        format!(
            "reports: central-daemon\njobs:\n  pull:\n    every: 2s\n    suites: [{}]\n    only: [\"host/*\", \"agent/*\"]\n",
            suite.display()
        ),
    )
    .unwrap();
    let (_daemon, addr) = start_daemon(&sched, d.path());
    let status = wait_for(Duration::from_secs(30), || {
        let (_, body) = http_get(&addr, "/api/v1/status").ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["hosts"].as_array()?.len() >= HOSTS.len()).then_some(v)
    })
    .expect("the status page never showed every host");
    for (h, _) in HOSTS {
        let row = status["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["host"] == h)
            .unwrap_or_else(|| panic!("{h} not on the status page"));
        let ids: Vec<&str> = row["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&format!("agent/{h}").as_str()), "{ids:?}");
        assert!(
            ids.iter().any(|i| i.starts_with(&format!("host/{h}/"))),
            "{ids:?}"
        );
    }
    let (_, metrics) = http_get(&addr, "/metrics").unwrap();
    assert!(metrics.contains("host/mta1/queue"), "{metrics}");
    assert!(metrics.contains("agent/store2"), "{metrics}");
}

#[test]
fn a_stopped_agent_is_an_agent_error_and_its_checks_errors_then_it_recovers() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let reports = d.path().join("central");
    let only = ["--only", "host/store2/*", "--only", "agent/store2"];
    let a = agents::start(d.path(), &suite, "store2", port);
    wait_agents_ready(&suite, &reports, &["store2"]);
    drop(a); // SIGKILL: the machine's agent is gone.
    let doc = central_run(&suite, &reports, &only);
    let (st, msg) = case(&doc, "agent/store2");
    assert_eq!(st, "error", "{msg}");
    assert!(
        msg.contains(&format!("127.0.2.2:{port}")) && msg.contains("connect"),
        "{msg}"
    );
    let (st, msg) = case(&doc, "host/store2/system");
    assert_eq!(st, "error");
    assert!(msg.contains("store2's agent did not answer"), "{msg}");
    // Not silently missing from the record, the alerts or the daily report.
    let q = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(q.contains("agent/store2") && q.contains("<error"), "{q}");
    let alerts = std::fs::read_to_string(reports.join("state/alert-state.json")).unwrap();
    assert!(alerts.contains("\"agent/store2\""), "{alerts}");
    let o = std::process::Command::new(crate::support::site::bin())
        .arg("report")
        .arg(&suite)
        .arg("--reports")
        .arg(&reports)
        .args(["--format", "json", "--stdout", "--date"])
        .arg(chrono::Utc::now().date_naive().to_string())
        .output()
        .unwrap();
    let daily: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let failing: Vec<&str> = daily["host_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["case"].as_str().unwrap())
        .collect();
    assert!(failing.contains(&"agent/store2"), "{failing:?}");
    assert!(failing.contains(&"host/store2/system"), "{failing:?}");
    // The agent comes back (first run at start): fresh results again.
    let _a = agents::start(d.path(), &suite, "store2", port);
    let doc = wait_agents_ready(&suite, &reports, &["store2"]);
    assert_eq!(case(&doc, "host/store2/system").0, "pass");
}

#[test]
fn a_wrong_token_is_refused_and_logged_without_the_token() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let a = agents::start(d.path(), &suite, "mta2", port);
    // The central monitor's copy of the token is wrong.
    let other = tempfile::tempdir().unwrap();
    let wrong = "Zq9-wrong-token-for-the-test";
    let central = agents::agent_suite(other.path(), port);
    std::fs::write(other.path().join("agent.token"), format!("{wrong}\n")).unwrap();
    let reports = d.path().join("central");
    let doc = central_run(&central, &reports, &["--only", "*/mta2*"]);
    let (st, msg) = case(&doc, "agent/mta2");
    assert_eq!(st, "error");
    assert!(msg.contains("refused our token (401"), "{msg}");
    assert_eq!(case(&doc, "host/mta2/queue").0, "error");
    let log = a.log();
    assert!(log.contains("refused /api/v1/agent/results"), "{log}");
    assert!(!log.contains("Zq9") && !log.contains(TOKEN), "{log}");
    let out = serde_json::to_string(&doc).unwrap();
    assert!(!out.contains("Zq9") && !out.contains(TOKEN));
}

#[test]
fn validate_resolve_checks_every_agent_answers_the_same_suite() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let _a = agents::start(d.path(), &suite, "mta1", port);
    let _b = agents::start(d.path(), &suite, "store1", port);
    wait_agents_ready(&suite, &d.path().join("central"), &["mta1", "store1"]);
    let resolve = |s: &Path| {
        let o = std::process::Command::new(crate::support::site::bin())
            .args(["validate", "--resolve"])
            .arg(s)
            .current_dir(crate::support::site::root())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = resolve(&suite);
    assert_eq!(code, Some(2), "lb's agent is not running: {out}");
    assert!(
        out.contains(&format!("ok   mta1 agent https://127.0.1.1:{port}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok   store1 agent http://127.0.2.1:{port}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("FAIL lb agent http://127.0.5.1:{port}")),
        "{out}"
    );
    // The central monitor's copy of the suite differs: every agent says so.
    let other = d.path().join("edited.yaml");
    let text = std::fs::read_to_string(&suite).unwrap();
    std::fs::write(&other, format!("{text}\n# edited on the monitor only\n")).unwrap();
    let (_, out) = resolve(&other);
    assert!(
        out.contains(&format!("FAIL mta1 agent https://127.0.1.1:{port}")),
        "{out}"
    );
    assert!(out.contains("suite digest differs"), "{out}");
}
