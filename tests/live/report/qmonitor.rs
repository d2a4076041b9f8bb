//! qmonitor.log from real host-check results of mta1 and ldap1.

use crate::support::site;

use std::collections::BTreeMap;

use crate::support::check::*;
use healthmon::hostcheck::Snapshot;
use healthmon::report::qmonitor;
use healthmon::result::{CaseResult, RunSummary, Status};

async fn results(host: &str, snap: &Snapshot) -> Vec<CaseResult> {
    let suite = local_suite();
    let mut out = Vec::new();
    for c in suite.hosts[host].checks.clone() {
        let kind = c.kind().to_string();
        let o = run_with(&suite, host, c, snap).await;
        let labels = BTreeMap::from([
            ("host".to_string(), host.to_string()),
            ("check".to_string(), kind.clone()),
        ]);
        out.push(CaseResult {
            id: format!("host/{host}/{kind}"),
            kind: "host".into(),
            site: "local".into(),
            suite: "local".into(),
            labels,
            started_at: chrono::Utc::now(),
            duration_ms: 0.0,
            status: o.status,
            message: o.message,
            observation: o.observation,
            verdict: None,
            limits: Default::default(),
        });
    }
    out
}

#[tokio::test]
async fn rows_from_real_checks_fill_only_measured_columns() {
    let _site = site::site_shared();
    let snap = Snapshot::new();
    let mut all = results("mta1", &snap).await;
    all.extend(results("ldap1", &snap).await);
    for r in &all {
        assert_eq!(r.status, Status::Pass, "{}: {}", r.id, r.message);
    }
    // The classic table has no steal column (a VM's hypervisor share).
    let steal = all
        .iter()
        .find(|r| r.id == "host/mta1/system")
        .and_then(|r| r.observation.metrics.iter().find(|m| m.name == "cpu_steal"))
        .map(|m| m.value)
        .expect("cpu_steal measured");
    let now = chrono::Utc::now();
    let run = RunSummary {
        run_id: "t".into(),
        site: "local".into(),
        suites: vec!["local".into()],
        started_at: now,
        finished_at: now,
        duration_ms: 0.0,
        results: all,
        verdicts: vec![],
        notes: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    qmonitor::append(dir.path(), "mta1", &run).unwrap();
    qmonitor::append(dir.path(), "ldap1", &run).unwrap();
    let text = std::fs::read_to_string(dir.path().join(qmonitor::FILE)).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.len() > 6 && l.as_bytes()[3] == b':' && l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    let (mta, ldap) = (&rows[0], &rows[1]);
    // Time act held swap Scanrate us sys wt id smtp imap pop3 ldap http
    assert_eq!(&mta[1..3], &["0", "0"], "{text}");
    assert!(mta[3].ends_with('k'), "{text}");
    let swap: f64 = mta[3].trim_end_matches('k').parse().unwrap();
    let swap_proc: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("SwapFree:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    assert!(
        (swap - swap_proc).abs() <= swap_proc * 0.05 + 1024.0,
        "swap {swap} vs {swap_proc}"
    );
    let cpu: f64 = mta[5..9].iter().map(|v| v.parse::<f64>().unwrap()).sum();
    assert!(
        (97.0..=102.0).contains(&(cpu + steal)),
        "rounded CPU split plus steal {steal} sums to ~100: {text}"
    );
    assert!(mta[9].parse::<u32>().is_ok(), "mta1 serves smtp: {text}");
    assert_eq!(
        &mta[10..],
        &["", "", "", ""],
        "mta1 has no imap/pop3/ldap/http: {text}"
    );
    // ldap1: no queue, ldap connections only; the same shared CPU sample.
    assert_eq!(&ldap[1..3], &["", ""], "{text}");
    assert_eq!(&ldap[4..9], &mta[4..9]);
    assert_eq!(&ldap[9..12], &["", "", ""], "{text}");
    assert!(ldap[12].parse::<u32>().is_ok(), "{text}");
    assert_eq!(text.matches("instance name = ").count(), 2, "{text}");
}
