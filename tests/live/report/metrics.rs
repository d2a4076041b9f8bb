//! Prometheus: the textfile of a real run passes `promtool check metrics`,
//! and a real Prometheus scrapes the daemon on loopback.

use crate::support::site;

use std::process::Command;
use std::time::Duration;

use crate::support::modes::*;

#[test]
fn textfile_of_a_real_run_passes_promtool() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let tf = d.path().join("textfile");
    let o = Command::new(bin())
        .arg("run")
        .arg(root().join("suites/local.yaml"))
        .args(["--only", "rndtrip/ims1/mta1/mmp1/*", "--only", "security/*"])
        .arg("--reports")
        .arg(d.path().join("reports"))
        .arg("--textfile")
        .arg(&tf)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&tf)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Atomic rename: only the final file, no temp leftovers. An `--only`
    // run is a part of the suite: its file is named by its filter's hash.
    assert_eq!(names.len(), 1, "{names:?}");
    let filter = names[0]
        .strip_prefix("healthmon_local_filter_")
        .and_then(|n| n.strip_suffix(".prom"))
        .unwrap_or_else(|| panic!("{names:?}"));
    let text = std::fs::read_to_string(tf.join(&names[0])).unwrap();
    promtool_check(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
    let base = format!(r#"site="local",suite="local",selection="filter={filter}""#);
    for want in [
        format!(
            r#"healthmon_probe_success{{{base},case="rndtrip/ims1/mta1/mmp1/pop3",kind="roundtrip",component="roundtrip"}}"#
        ),
        r#"phase="delivery"}"#.to_string(),
        "healthmon_tls_cert_expiry_timestamp_seconds{".to_string(),
        "healthmon_check_state{".to_string(),
        format!("healthmon_last_run_timestamp_seconds{{{base}}}"),
    ] {
        assert!(text.contains(&want), "missing {want}:\n{text}");
    }
    // No sample timestamps: `name{labels} value` only; no secrets, no ids.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = match l.rsplit_once('}') {
            Some((_, v)) => v,
            None => l.split_once(' ').unwrap().1,
        };
        assert_eq!(
            value.split_whitespace().count(),
            1,
            "timestamp or junk in: {l}"
        );
    }
    let pass = std::fs::read_to_string(root().join("target/mailsite/secrets/ims1.pass")).unwrap();
    assert!(!text.contains(pass.trim()));
    // The cert expiry is a plausible unix time in the future.
    let exp: f64 = text
        .lines()
        .find(|l| l.starts_with("healthmon_tls_cert_expiry_timestamp_seconds{"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(exp > chrono::Utc::now().timestamp() as f64, "{exp}");
}

/// A Prometheus server in a temp dir, killed on drop.
struct Prometheus {
    _p: Proc,
    addr: String,
}

fn start_prometheus(dir: &std::path::Path, target: &str) -> Prometheus {
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: healthmon\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let p = Proc::spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(log),
    );
    Prometheus { _p: p, addr }
}

#[test]
fn real_prometheus_scrapes_the_daemon() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    fast_suite(d.path());
    let sched = d.path().join("schedule.yaml");
    std::fs::write(
        &sched,
        "reports: reports\njobs:\n  fast:\n    every: 1s\n    suites: [fast.yaml]\n",
    )
    .unwrap();
    let (_daemon, addr) = start_daemon(&sched, d.path());
    let prom = start_prometheus(d.path(), &addr);
    let got = wait_for(Duration::from_secs(90), || {
        let (st, body) =
            http_get(&prom.addr, "/api/v1/query?query=healthmon_probe_success").ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let res = v["data"]["result"].as_array()?.clone();
        (st == 200 && res.len() == 2).then_some(res)
    })
    .unwrap_or_else(|| {
        panic!(
            "prometheus returned no healthmon_probe_success samples: {}",
            std::fs::read_to_string(d.path().join("prometheus.log")).unwrap_or_default()
        )
    });
    let mut cases: Vec<String> = got
        .iter()
        .map(|s| s["metric"]["case"].as_str().unwrap().to_string())
        .collect();
    cases.sort();
    assert_eq!(cases, ["host/mta1/port", "host/store2/port"]);
    for s in &got {
        assert_eq!(s["value"][1], "1", "{s}");
        assert_eq!(s["metric"]["job"], "healthmon");
    }
    // The scrape itself is healthy (Prometheus parsed the exposition).
    let (_, up) = http_get(&prom.addr, "/api/v1/query?query=up").unwrap();
    assert!(
        up.contains(r#""value":["#) && up.contains(r#","1"]"#),
        "{up}"
    );
}
