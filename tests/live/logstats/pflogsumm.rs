//! logstats totals against pflogsumm (Debian `pflogsumm`) on the live test
//! site's Postfix logs (generated and checked-in logs:
//! hermetic/logstats/pflogsumm.rs).

use std::path::PathBuf;
use std::process::Command;

use crate::support::pflogsumm::*;
use crate::support::site;

/// Send through the live site, then compare on its real logs.
#[test]
fn live_site_logs_agree_with_pflogsumm() {
    let _site = site::site_shared();
    let state = site::site_state();
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
        assert_agree_within(
            &ours,
            &pflogsumm(&snap, Some(&format!("postfix-{host}"))),
            host,
            reused_queue_id_bytes(&snap),
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
