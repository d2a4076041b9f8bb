//! logstats totals against pflogsumm (Debian `pflogsumm`) and against the
//! generator's own count, on a generated log, the checked-in site log and the
//! live test site's Postfix logs.

mod common;

#[path = "fixtures/logstats/gen.rs"]
mod loggen;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use loggen::{PFLOGSUMM_KEYS as KEYS, pflogsumm_total};

fn logstats_json(files: &[&Path]) -> Value {
    let o = Command::new(common::bin())
        .args(["logstats", "--format", "json"])
        .args(files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "logstats failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// pflogsumm's Grand Totals: label → (value, unit). Values above 512k are
/// printed divided by 1024 ("k") or 1048576 ("m"), truncated.
fn pflogsumm(file: &Path, syslog_name: Option<&str>) -> Vec<(String, u64, u64)> {
    let mut c = Command::new("pflogsumm");
    if let Some(n) = syslog_name {
        c.arg(format!("--syslog-name={n}"));
    }
    let o = c
        .arg(file)
        .output()
        .expect("pflogsumm is installed (apt-get install pflogsumm)");
    assert!(
        o.status.success(),
        "pflogsumm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    KEYS.iter()
        .map(|(label, _)| {
            let (v, unit) = pflogsumm_total(&text, label)
                .unwrap_or_else(|| panic!("pflogsumm has no {label:?} total:\n{text}"));
            (label.to_string(), v, unit)
        })
        .collect()
}

/// Every pflogsumm total equals ours (after pflogsumm's unit truncation).
fn assert_agree(ours: &Value, theirs: &[(String, u64, u64)], what: &str) {
    for ((label, key), (_, v, unit)) in KEYS.iter().zip(theirs) {
        let mine = ours["total"][key].as_u64().unwrap();
        assert_eq!(
            mine / unit,
            *v,
            "{what}: {label}: healthmon {mine} vs pflogsumm {v}×{unit}"
        );
    }
}

fn generated(
    dir: &Path,
    name: &str,
    mb: u64,
    hosts: &[&str],
    corrupt: u64,
) -> (PathBuf, loggen::Truth) {
    let p = dir.join(name);
    let mut g = loggen::Gen::new(7 + mb, hosts, 3000);
    g.corrupt_percent = corrupt;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    g.write(&mut w, mb << 20).unwrap();
    g.drain(&mut w).unwrap();
    drop(w);
    (p, g.truth)
}

#[test]
fn generated_log_agrees_with_pflogsumm_and_generator() {
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = generated(dir.path(), "maillog", 12, &["mx1"], 2);
    let ours = logstats_json(&[&log]);
    let t = &ours["total"];
    // The generator's own count (a second, independent oracle).
    assert_eq!(t["received"], truth.received);
    assert_eq!(t["delivered"], truth.delivered);
    assert_eq!(t["deferred"], truth.deferred);
    assert_eq!(t["deferrals"], truth.deferrals);
    assert_eq!(t["bounced"], truth.bounced);
    assert_eq!(t["rejected"], truth.rejected);
    assert_eq!(t["bytes_received"], truth.bytes_received);
    assert_eq!(t["bytes_delivered"], truth.bytes_delivered);
    assert_eq!(ours["lines"]["total"], truth.lines);
    assert_eq!(ours["lines"]["malformed"], truth.malformed);
    assert!(truth.malformed > 0 && truth.deferred > 0 && truth.rejected > 0 && truth.bounced > 0);
    assert_agree(&ours, &pflogsumm(&log, None), "generated log");
    // All queue ids were retired: nothing left in flight after the drain.
    assert_eq!(ours["queue"]["open_at_end"], 0);
    assert_eq!(ours["queue"]["evicted"], 0);
}

#[test]
fn checked_in_site_log_agrees_with_pflogsumm() {
    // Real Postfix 3.7 maillog_file output of the test site (syslog_name postfix-mta1).
    let log = common::root().join("tests/fixtures/logstats/site-mta1.log");
    let ours = logstats_json(&[&log]);
    let theirs = pflogsumm(&log, Some("postfix-mta1"));
    assert_agree(&ours, &theirs, "site-mta1.log");
    let t = &ours["total"];
    assert!(
        t["received"].as_u64().unwrap() >= 3,
        "fixture should hold several messages: {t}"
    );
    assert!(
        t["rejected"].as_u64().unwrap() >= 1,
        "fixture should hold a reject: {t}"
    );
}

/// Send through the live site, then compare on its real logs.
#[test]
fn live_site_logs_agree_with_pflogsumm() {
    let _site = common::site_shared();
    let state = common::site_state();
    for (mta, rcpt) in [
        ("127.0.1.1", "ims1@example.test"),
        ("127.0.1.2", "ims3@example.test"),
        ("127.0.1.1", "nobody-logstats@example.test"),
    ] {
        // Plain port 25, no AUTH: local recipients are accepted, unknown ones rejected.
        let o = Command::new("swaks")
            .args([
                "--server",
                mta,
                "--port",
                "25",
                "--from",
                "logstats-test@example.test",
                "--to",
                rcpt,
            ])
            .args([
                "--header",
                "Subject: healthmon logstats test",
                "--body",
                "logstats",
            ])
            .args(["--timeout", "20"])
            .output()
            .expect("swaks is installed");
        let expect_ok = !rcpt.starts_with("nobody");
        assert_eq!(
            o.status.success(),
            expect_ok,
            "swaks to {rcpt} via {mta}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // Give qmgr/lmtp a moment to log the deliveries.
    let logs: Vec<PathBuf> = ["mta1", "mta2"]
        .iter()
        .map(|h| state.join(format!("log/{h}.log")))
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let all: String = logs
            .iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .collect();
        if all.matches("from=<logstats-test@example.test>").count() >= 2
            && all.contains("logstats-test")
        {
            let d = all.lines().filter(|l| l.contains("status=sent")).count();
            if d >= 2 {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries did not show up in the site logs"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut sum_received = 0;
    for (host, log) in ["mta1", "mta2"].iter().zip(&logs) {
        // Snapshot so both tools read the same bytes while the site keeps logging.
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join(format!("{host}.log"));
        std::fs::copy(log, &snap).unwrap();
        let ours = logstats_json(&[&snap]);
        assert_agree(
            &ours,
            &pflogsumm(&snap, Some(&format!("postfix-{host}"))),
            host,
        );
        sum_received += ours["total"]["received"].as_u64().unwrap();
        if *host == "mta1" {
            assert!(
                ours["total"]["rejected"].as_u64().unwrap() >= 1,
                "the unknown recipient was rejected on mta1"
            );
        }
    }
    assert!(sum_received >= 2);
    // Both logs at once: per-host rows, and they add up to the total.
    let both = logstats_json(&[&logs[0], &logs[1]]);
    let hosts = both["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{}", both["hosts"]);
    for key in ["received", "delivered", "rejected", "bytes_received"] {
        let sum: u64 = hosts.iter().map(|h| h[key].as_u64().unwrap()).sum();
        assert_eq!(sum, both["total"][key].as_u64().unwrap(), "{key}");
    }
}
