//! queue check: the Sun counters sample is parsed per channel (checks run
//! on suites/local.yaml, which needs the site's files: live/check/queue.rs).

use healthmon::hostcheck::queue::parse_sun_counters;

use crate::support::site;

fn fixture() -> std::path::PathBuf {
    site::root().join("tests/fixtures/checks/sun-qm-counters.txt")
}

#[test]
fn sun_counters_sample_is_parsed_per_channel() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let q = parse_sun_counters(&text).unwrap();
    let got: Vec<(&str, u64)> = q.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        got,
        vec![
            ("conversion", 0),
            ("ims-ms", 37),
            ("tcp_intranet", 2),
            ("tcp_local", 418)
        ]
    );
}

/// Issue 15: the walk counts a probe in `active`, then `postqueue -j` (run
/// after it) lists nothing because the probe was delivered in between. That
/// is a drained queue, not "cannot tell the oldest message's age": the check
/// passes. A `postqueue` that really fails still makes it an error.
#[test]
fn a_queue_that_drains_between_walk_and_postqueue_passes() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let q = d.path().join("q");
    for sub in ["active", "deferred", "hold", "incoming", "maildrop"] {
        std::fs::create_dir_all(q.join(sub)).unwrap();
    }
    std::fs::write(q.join("active/4XYZ123"), "probe").unwrap();
    let bin = d.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let suite = d.path().join("s.yaml");
    std::fs::write(
        &suite,
        format!(
            "site: q\nhosts:\n  mta1:\n    roles: [mta]\n    address: 127.0.0.1\n    \
             checks: [{{queue: {{mta: postfix, config_dir: {}, oldest_warning: 1h}}}}]\n",
            q.display()
        ),
    )
    .unwrap();
    let run = |script: &str| {
        let p = bin.join("postqueue");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new(site::bin())
            .args([
                "run",
                "--no-alerts",
                "--only",
                "host/*",
                "--format",
                "json",
                "--reports",
            ])
            .arg(d.path().join("r"))
            .arg(&suite)
            .env("PATH", path)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let r = &v["results"][0];
        (
            r["status"].as_str().unwrap_or("").to_string(),
            r["message"].to_string(),
        )
    };
    // Drained: postqueue lists nothing.
    let (status, msg) = run("#!/bin/sh\nexit 0\n");
    assert_eq!(status, "pass", "{msg}");
    // Unavailable: postqueue fails while the walk saw a message.
    let (status, msg) = run("#!/bin/sh\necho 'postqueue: fatal: no' >&2\nexit 1\n");
    assert_eq!(status, "error", "{msg}");
    assert!(msg.contains("oldest"), "{msg}");
}
