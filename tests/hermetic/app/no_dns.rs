//! Loading a suite does no DNS: the alert route check's lookups (is a
//! channel's target a suite host by resolution?) run under `validate` and
//! at daemon start only, never on a run, a `list` or a reload. Observed
//! through the debug line every lookup logs.

use crate::support::site;

use std::process::{Command, Output};

const SUITE: &str = r#"site: nodns
hosts:
  mta1:
    roles: [mta]
    address: mta1.example.invalid
    endpoints:
      smtp: {tls: none}
    checks:
      - port: {endpoint: smtp}
alerting:
  channels:
    mail:
      smtp_relay: {host: relay.example.invalid, port: 587, from: a@example.net, to: [b@example.net]}
  routes:
    - {name: r, channels: [mail]}
"#;

fn healthmon(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(site::bin())
        .arg("-v")
        .args(args)
        .arg(dir.join("s.yaml"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn lookups(o: &Output) -> usize {
    String::from_utf8_lossy(&o.stderr)
        .matches("(alert route check)")
        .count()
}

#[test]
fn run_and_list_do_no_dns_validate_does() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.yaml"), SUITE).unwrap();
    let reports = d.path().join("reports");
    let reports = reports.to_str().unwrap();

    let run = healthmon(
        &[
            "run",
            "--no-alerts",
            "--only",
            "no-such-case",
            "--reports",
            reports,
        ],
        d.path(),
    );
    assert!(run.status.code().is_some_and(|c| c < 3), "{run:?}");
    assert_eq!(lookups(&run), 0, "{}", String::from_utf8_lossy(&run.stderr));
    let list = healthmon(&["list"], d.path());
    assert_eq!(list.status.code(), Some(0), "{list:?}");
    assert_eq!(
        lookups(&list),
        0,
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );

    // validate does the check: the relay, then the host addresses.
    let v = healthmon(&["validate"], d.path());
    assert_eq!(v.status.code(), Some(0), "{v:?}");
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(
        err.contains("resolving relay.example.invalid (alert route check)"),
        "{err}"
    );
}

#[test]
fn daemon_start_does_the_route_check_once() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.yaml"), SUITE).unwrap();
    // Two jobs on one suite: the check runs once per suite, at start.
    std::fs::write(
        d.path().join("schedule.yaml"),
        "jobs:\n  a:\n    every: 5m\n    suites: [s.yaml]\n  b:\n    every: 7m\n    suites: [s.yaml]\n",
    )
    .unwrap();
    let o = Command::new(site::bin())
        .args(["-v", "daemon", "--check"])
        .arg(d.path().join("schedule.yaml"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("resolving relay.example.invalid (alert route check)")
            .count(),
        1,
        "{err}"
    );
}
