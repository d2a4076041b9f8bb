//! Prometheus textfiles: a full run and a `--host` run of one site keep a
//! file each, and the two together are what node_exporter's textfile
//! collector accepts (no family with two HELP/TYPE texts, no series twice;
//! merged, `promtool check metrics` is clean). Host-check measurements are
//! gauges in base units.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use healthmon::report::metrics;
use healthmon::result::{CaseResult, Observation, Status};

use crate::support::modes::promtool_check;
use crate::support::site::bin;

/// A site of host checks only: `mon` (system, files on our own temp dir)
/// and `mta` (a port check on a listener of this test).
fn suite(dir: &Path, port: u16) -> std::path::PathBuf {
    std::fs::write(dir.join("f.txt"), "123456789").unwrap();
    let p = dir.join("tf.yaml");
    let d = dir.display();
    std::fs::write(
        &p,
        format!(
            "site: tf\ndefaults:\n  timeout: 10s\n  step_timeout: 3s\nhosts:\n  mon:\n    roles: [mta]\n    address: 127.0.0.1\n    checks:\n      - system: {{interval: 100ms}}\n      - files:\n          disks: [{{mount: /}}]\n          paths: [{{path: {d}/f.txt, max_size: 1000}}]\n  mta:\n    roles: [mta]\n    address: 127.0.0.1\n    endpoints:\n      smtp: {{port: {port}}}\n    checks:\n      - port: {{endpoint: smtp}}\n"
        ),
    )
    .unwrap();
    p
}

fn run(suite: &Path, dir: &Path, extra: &[&str]) {
    let o = Command::new(bin())
        .arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(dir.join("reports"))
        .arg("--textfile")
        .arg(dir.join("textfile"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Per family: (HELP, TYPE, sample lines), as the textfile collector
/// gathers every file's families into one exposition.
type Families = BTreeMap<String, (String, String, Vec<String>)>;

fn gather(into: &mut Families, text: &str) {
    let mut cur = String::new();
    for l in text.lines() {
        if let Some(h) = l.strip_prefix("# HELP ") {
            let (name, help) = h.split_once(' ').unwrap();
            cur = name.to_string();
            let f = into.entry(cur.clone()).or_default();
            assert!(f.0.is_empty() || f.0 == help, "{name}: two HELP texts");
            f.0 = help.to_string();
        } else if let Some(t) = l.strip_prefix("# TYPE ") {
            let (name, ty) = t.split_once(' ').unwrap();
            let f = into.get_mut(name).unwrap();
            assert!(f.1.is_empty() || f.1 == ty, "{name}: two TYPEs");
            f.1 = ty.to_string();
        } else {
            let series = l.rsplit_once(' ').unwrap().0;
            assert!(series.starts_with(cur.as_str()), "{l} outside {cur}");
            let f = into.get_mut(&cur).unwrap();
            assert!(
                !f.2.iter().any(|s| s.rsplit_once(' ').unwrap().0 == series),
                "series in two files: {series}"
            );
            f.2.push(l.to_string());
        }
    }
}

fn render(f: &Families) -> String {
    let mut out = String::new();
    for (name, (help, ty, samples)) in f {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {ty}\n"));
        for s in samples {
            out.push_str(s);
            out.push('\n');
        }
    }
    out
}

fn value(text: &str, series: &str) -> f64 {
    let l = text
        .lines()
        .find(|l| l.rsplit_once(' ').is_some_and(|(s, _)| s == series))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"));
    l.rsplit_once(' ').unwrap().1.parse().unwrap()
}

#[test]
fn a_host_run_and_a_full_run_keep_their_own_textfile() {
    let d = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = suite(d.path(), listener.local_addr().unwrap().port());
    let tf = d.path().join("textfile");
    run(&s, d.path(), &[]);
    run(&s, d.path(), &["--host", "mon"]);
    let mut names: Vec<String> = std::fs::read_dir(&tf)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Written by rename: no temp files left beside them.
    assert_eq!(names, ["healthmon_tf.prom", "healthmon_tf_host_mon.prom"]);
    let full = std::fs::read_to_string(tf.join("healthmon_tf.prom")).unwrap();
    let host = std::fs::read_to_string(tf.join("healthmon_tf_host_mon.prom")).unwrap();
    for (text, sel) in [(&full, "all"), (&host, "host=mon")] {
        promtool_check(text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
        let base = format!(r#"site="tf",suite="tf",selection="{sel}""#);
        let ok = format!(
            r#"healthmon_probe_success{{{base},case="host/mon/system",kind="host",component="mon"}}"#
        );
        assert_eq!(value(text, &ok), 1.0, "{text}");
        let size = format!(
            r#"healthmon_host_file_size_bytes{{{base},case="host/mon/files",host="mon",check="files",path="{}/f.txt"}}"#,
            d.path().display()
        );
        assert_eq!(value(text, &size), 9.0);
    }
    // The host run ran only mon's checks; the full run also mta's.
    assert!(full.contains(r#"case="host/mta/port""#), "{full}");
    assert!(!host.contains(r#"case="host/mta/port""#), "{host}");

    // Together, as node_exporter gathers them: one HELP/TYPE per family,
    // no series twice, and the merged exposition passes promtool.
    let mut all = Families::new();
    gather(&mut all, &full);
    gather(&mut all, &host);
    let merged = render(&all);
    promtool_check(&merged).unwrap_or_else(|e| panic!("promtool: {e}\n{merged}"));
    assert_eq!(all["healthmon_last_run_timestamp_seconds"].2.len(), 2);

    // Another full run rewrites its own file only.
    run(&s, d.path(), &[]);
    let again = std::fs::read_to_string(tf.join("healthmon_tf_host_mon.prom")).unwrap();
    assert_eq!(again, host);
    assert_ne!(
        std::fs::read_to_string(tf.join("healthmon_tf.prom")).unwrap(),
        full
    );
}

fn host_result(check: &str, metrics: &[(&str, f64, &str)], facts: &[(&str, &str)]) -> CaseResult {
    let mut o = Observation::default();
    for (n, v, u) in metrics {
        o.metric(n, *v, u);
    }
    for (k, v) in facts {
        o.fact(k, *v);
    }
    CaseResult {
        id: format!("host/mta1/{check}"),
        kind: "host".into(),
        site: "isp".into(),
        suite: "isp".into(),
        labels: [("host", "mta1"), ("check", check)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        started_at: chrono::Utc::now(),
        duration_ms: 3.0,
        status: Status::Warning,
        message: "queue id 4Xb9 stuck: password=hunter2".into(),
        observation: o,
        verdict: None,
        limits: Default::default(),
    }
}

#[test]
fn host_measurements_are_gauges_in_base_units() {
    let results = vec![
        host_result(
            "system",
            &[
                ("cpu_user", 25.0, "%"),
                ("cpu_idle", 70.0, "%"),
                ("mem_available_kb", 2048.0, "KB"),
                ("swap_free_kb", 1.0, "KB"),
                ("scan_rate", 12.0, ""),
                ("load5", 0.5, ""),
            ],
            &[("mem_total_kb", "4096"), ("swap_total_kb", "8")],
        ),
        host_result(
            "processes",
            &[
                ("master_count", 2.0, ""),
                ("master_rss_mb", 1.5, "MB"),
                ("master_cpu_percent", 150.0, "%"),
            ],
            &[],
        ),
        host_result(
            "files",
            &[
                ("free_percent:/var", 12.5, "%"),
                ("inodes_free_percent:/var", 50.0, "%"),
                ("age_s:/var/log/maillog", 30.0, "s"),
                ("size_b:/var/log/maillog", 4096.0, "B"),
                ("count:/var/spool/x", 7.0, ""),
            ],
            &[],
        ),
        host_result(
            "queue",
            &[("deferred", 7.0, ""), ("oldest_age", 600.0, "s")],
            &[("deferral_reasons", "4Xb9: connection refused")],
        ),
        host_result("connections", &[("smtp", 3.0, ""), ("imap", 0.0, "")], &[]),
        host_result(
            "ldap",
            &[
                ("latency", 250.0, "ms"),
                ("accounts_found", 1.0, ""),
                ("replication_lag:ldap2", 4.0, "s"),
            ],
            &[],
        ),
        host_result(
            "deferrals",
            &[
                ("deferred_domains", 2.0, ""),
                ("worst_domain_messages", 5.0, ""),
                ("oldest_deferring", 90.0, "s"),
            ],
            &[],
        ),
        host_result(
            "agent",
            &[
                ("pull_ms", 12.5, "ms"),
                ("pull_bytes", 2048.0, "bytes"),
                ("age_s", 95.0, "s"),
            ],
            &[],
        ),
        // A unit a row does not expect is not exported under that row.
        host_result("port", &[("latency", 2.0, "s")], &[]),
    ];
    let run = crate::support::status::run("r1", chrono::Utc::now(), results, vec![]);
    let t = metrics::render(&[&run]);
    promtool_check(&t).unwrap_or_else(|e| panic!("promtool: {e}\n{t}"));
    let l = |check: &str, extra: &str| {
        format!(
            r#"site="isp",suite="local",case="host/mta1/{check}",host="mta1",check="{check}"{extra}"#
        )
    };
    for (family, check, extra, want) in [
        (
            "healthmon_host_cpu_ratio",
            "system",
            r#",mode="user""#,
            0.25,
        ),
        ("healthmon_host_cpu_ratio", "system", r#",mode="idle""#, 0.7),
        (
            "healthmon_host_memory_available_bytes",
            "system",
            "",
            2048.0 * 1024.0,
        ),
        (
            "healthmon_host_memory_total_bytes",
            "system",
            "",
            4096.0 * 1024.0,
        ),
        ("healthmon_host_swap_free_bytes", "system", "", 1024.0),
        ("healthmon_host_swap_total_bytes", "system", "", 8192.0),
        ("healthmon_host_page_scans_per_second", "system", "", 12.0),
        (
            "healthmon_host_load_average",
            "system",
            r#",minutes="5""#,
            0.5,
        ),
        (
            "healthmon_host_processes",
            "processes",
            r#",process="master""#,
            2.0,
        ),
        (
            "healthmon_host_process_resident_memory_bytes",
            "processes",
            r#",process="master""#,
            1.5 * 1048576.0,
        ),
        (
            "healthmon_host_process_cpu_ratio",
            "processes",
            r#",process="master""#,
            1.5,
        ),
        (
            "healthmon_host_filesystem_free_ratio",
            "files",
            r#",mount="/var""#,
            0.125,
        ),
        (
            "healthmon_host_filesystem_inodes_free_ratio",
            "files",
            r#",mount="/var""#,
            0.5,
        ),
        (
            "healthmon_host_file_age_seconds",
            "files",
            r#",path="/var/log/maillog""#,
            30.0,
        ),
        (
            "healthmon_host_file_size_bytes",
            "files",
            r#",path="/var/log/maillog""#,
            4096.0,
        ),
        (
            "healthmon_host_directory_entries",
            "files",
            r#",path="/var/spool/x""#,
            7.0,
        ),
        (
            "healthmon_host_queue_oldest_message_age_seconds",
            "queue",
            "",
            600.0,
        ),
        (
            "healthmon_host_connections",
            "connections",
            r#",protocol="smtp""#,
            3.0,
        ),
        (
            "healthmon_host_connections",
            "connections",
            r#",protocol="imap""#,
            0.0,
        ),
        ("healthmon_host_ldap_latency_seconds", "ldap", "", 0.25),
        ("healthmon_host_ldap_accounts_found", "ldap", "", 1.0),
        (
            "healthmon_host_ldap_replication_lag_seconds",
            "ldap",
            r#",replica="ldap2""#,
            4.0,
        ),
        ("healthmon_host_deferred_domains", "deferrals", "", 2.0),
        (
            "healthmon_host_deferred_worst_domain_messages",
            "deferrals",
            "",
            5.0,
        ),
        (
            "healthmon_host_deferred_oldest_age_seconds",
            "deferrals",
            "",
            90.0,
        ),
        ("healthmon_agent_pull_duration_seconds", "agent", "", 0.0125),
        ("healthmon_agent_pull_bytes", "agent", "", 2048.0),
        ("healthmon_agent_results_age_seconds", "agent", "", 95.0),
    ] {
        let series = format!("{family}{{{}}}", l(check, extra));
        assert_eq!(value(&t, &series), want, "{series}");
    }
    assert!(!t.contains("healthmon_host_port_latency_seconds"), "{t}");
    // Pass/fail is still there; no text, no ids, no secret in any label.
    assert!(t.contains(r#"healthmon_check_state{site="isp",suite="local",case="host/mta1/queue""#));
    for bad in ["4Xb9", "hunter2", "refused", "r1"] {
        assert!(!t.contains(bad), "{bad} in\n{t}");
    }
}

/// The example alert rules shipped in etc/ are valid for Prometheus.
#[test]
fn example_rules_pass_promtool() {
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/prometheus/healthmon-rules.yml");
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool (apt-get install prometheus; tests/run does)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SUCCESS: 3 rules found"), "{text}");
}
