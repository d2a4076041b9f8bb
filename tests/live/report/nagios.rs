//! Nagios plugin mode: the output of real runs parses per the
//! monitoring-plugins guidelines (status line, long text, perfdata grammar,
//! label quoting, 19-character uniqueness), the status word matches the exit
//! code, and --warning/--critical ranges act on the total time (property
//! tests: hermetic/report/nagios.rs).

use std::process::Command;

use crate::support::modes::*;
use crate::support::nagios::*;
use crate::support::site;

/// `healthmon check` (the plugin) of ims1's paths through mta1.
fn nagios_run(extra: &[&str], reports: &std::path::Path) -> (String, i32) {
    let o = Command::new(bin())
        .arg("check")
        .arg(root().join("suites/local.yaml"))
        .args(["--only", "rndtrip/ims1/mta1/*"])
        .args(extra)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let code = o.status.code().expect("killed by a signal");
    assert!(
        (0..=3).contains(&code),
        "exit {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (String::from_utf8(o.stdout).unwrap(), code)
}

#[test]
fn real_run_output_parses_per_plugin_guidelines() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    // By default a summary: counts, the worst round trip with its limits.
    let (out, code) = nagios_run(&[], d.path());
    let perf = check_output(&out, code);
    let labels: Vec<&str> = perf.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "cases",
            "failed",
            "duration",
            "warning",
            "critical",
            "error",
            "rndtrip total max",
            "rndtrip total p50",
            "delivery max"
        ],
        "{out}"
    );
    assert_eq!(&perf[6].fields[..2], ["5000", "15000"], "{out}");
    assert!(out.len() <= 1024, "{} bytes: {out}", out.len());

    // 6 paths with --perfdata cases: a total per case plus phases, with the
    // suite's limits as ranges.
    let (out, code) = nagios_run(&["--perfdata", "cases", "--max-output", "0"], d.path());
    let perf = check_output(&out, code);
    let totals: Vec<&Perf> = perf
        .iter()
        .filter(|p| p.label.ends_with("/pop3") || p.label.ends_with("/imap"))
        .collect();
    assert_eq!(totals.len(), 6, "{out}");
    for t in &totals {
        assert!(t.value.ends_with("ms"));
        assert_eq!(&t.fields[..2], ["5000", "15000"], "{}", t.label);
    }
    assert!(perf.iter().any(|p| p.label.ends_with(" delivery")), "{out}");
    assert!(out.lines().next().unwrap().contains("of 6 cases"), "{out}");

    // --critical 1: every total above 1 ms is critical → CRITICAL, exit 2.
    let (out, code) = nagios_run(&["--critical", "1"], d.path());
    assert_eq!(code, 2, "{out}");
    check_output(&out, code);
    assert!(
        out.starts_with("HEALTHMON CRITICAL - 6 of 6 cases failed: rndtrip/ims1/mta1/"),
        "{out}"
    );
    assert!(out.contains("alerts on critical range 1"), "{out}");

    // --warning @0:3600000 (inside an hour: always) and a generous critical.
    let (out, code) = nagios_run(
        &[
            "--warning",
            "@0:3600000",
            "--critical",
            "600000",
            "--perfdata",
            "cases",
        ],
        d.path(),
    );
    assert_eq!(code, 1, "{out}");
    let perf = check_output(&out, code);
    let t = perf
        .iter()
        .find(|p| p.label.ends_with("mmp1/pop3"))
        .unwrap();
    assert_eq!(&t.fields[..2], ["@0:3600000", "600000"]);

    // `run --format nagios` is the same plugin.
    let o = Command::new(bin())
        .arg("run")
        .arg(root().join("suites/local.yaml"))
        .args(["--format", "nagios", "--only", "security/*", "--reports"])
        .arg(d.path())
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    check_output(&String::from_utf8(o.stdout).unwrap(), code);
}
