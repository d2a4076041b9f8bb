//! `healthmon check`, the Nagios plugin, as Nagios runs it, against
//! in-process fakes and closed ports: a site that cannot be reached is
//! CRITICAL (exit 2); the plugin's own failures — bad arguments, an invalid
//! configuration, the run lock held, reports that cannot be written, its
//! `-t` timeout — are UNKNOWN (exit 3) with one status line on stdout; the
//! exit code is never outside 0-3. (Real outages of the site:
//! live/cmd/check.rs; the output grammar: report/nagios.rs.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fakes::FakeServer;
use crate::support::modes::{free_port, run_locked};
use crate::support::nagios::{PluginRun, plugin};
use crate::support::site::hold_run_lock;

/// One host `mta9` with a port check (banner `^220`) on `port`; the step
/// timeout is long, so a silent server holds the case for 20 s. `extra` is
/// appended (an `alerting:` section).
fn port_suite(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let p = dir.join("nagios.yaml");
    std::fs::write(
        &p,
        format!(
            "site: nagios\ndefaults:\n  timeout: 30s\n  step_timeout: 20s\nhosts:\n  mta9:\n    \
             roles: [mta]\n    address: 127.0.0.1\n    endpoints:\n      smtp: {{port: {port}}}\n    \
             checks:\n      - port: {{endpoint: smtp, banner: \"^220\"}}\n{extra}"
        ),
    )
    .unwrap();
    p
}

/// `healthmon check SUITE --reports DIR <extra>`.
fn check(suite: &Path, reports: &Path, extra: &[&str]) -> PluginRun {
    let mut a = vec![
        "check",
        suite.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    plugin(&a)
}

/// Async tests run the plugin off the runtime's threads (the fakes live on it).
async fn check_async(
    suite: PathBuf,
    reports: PathBuf,
    extra: &'static [&'static str],
) -> PluginRun {
    tokio::task::spawn_blocking(move || check(&suite, &reports, extra))
        .await
        .unwrap()
}

fn first_line(r: &PluginRun) -> &str {
    r.stdout.lines().next().unwrap_or("")
}

#[test]
fn a_refused_port_is_critical_not_unknown() {
    let d = tempfile::tempdir().unwrap();
    let suite = port_suite(d.path(), free_port(), "");
    let reports = d.path().join("reports");
    let r = check(&suite, &reports, &["--no-alerts"]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(
        first_line(&r).starts_with("HEALTHMON CRITICAL - 1 of 1 cases failed: host/mta9/port |"),
        "{r:#?}"
    );
    let case = r
        .stdout
        .lines()
        .find(|l| l.starts_with("CRITICAL host/mta9/port: connect: "))
        .unwrap_or_else(|| panic!("no long-text line for the case: {r:#?}"));
    assert!(case.ends_with("(refused)"), "{case}");
    assert!(!r.stdout.contains("UNKNOWN"), "{r:#?}");

    // `run` keeps its own statuses and exit codes: an error, exit 2.
    let o = std::process::Command::new(crate::support::site::bin())
        .arg("run")
        .arg(&suite)
        .args(["--no-alerts", "--format", "json", "--reports"])
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(healthmon::exit::ERROR));
    let run: healthmon::result::RunSummary = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run.results[0].status, healthmon::result::Status::Error);
}

#[test]
fn an_invalid_configuration_is_unknown_with_a_status_line() {
    let d = tempfile::tempdir().unwrap();
    // A typo and an inline password typed as a number: the status line
    // names the place, never the value.
    let suite = d.path().join("bad.yaml");
    std::fs::write(
        &suite,
        "site: bad\nhots: {}\naccounts:\n  a1: {login: a1, password: 98127361, store: s1}\n",
    )
    .unwrap();
    let reports = d.path().join("reports");
    let r = check(&suite, &reports, &[]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert_eq!(r.stdout.lines().count(), 1, "one status line: {r:#?}");
    assert!(
        first_line(&r).starts_with("HEALTHMON UNKNOWN - invalid configuration: "),
        "{r:#?}"
    );
    assert!(first_line(&r).contains("bad.yaml:"), "{r:#?}");
    assert!(first_line(&r).ends_with("(details on stderr)"), "{r:#?}");
    assert!(!r.stdout.contains("98127361"), "{r:#?}");
    assert!(r.stderr.contains("hots"), "the details: {r:#?}");

    // A suite file that does not exist.
    let r = check(&d.path().join("missing.yaml"), &reports, &[]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(first_line(&r).starts_with("HEALTHMON UNKNOWN - invalid configuration: "));
    // --host naming no host of the suite.
    let suite = port_suite(d.path(), free_port(), "");
    let r = check(&suite, &reports, &["--host", "nosuch"]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(first_line(&r).starts_with("HEALTHMON UNKNOWN - --host nosuch: "));
}

#[test]
fn bad_arguments_are_unknown_not_clap_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let suite = port_suite(d.path(), free_port(), "");
    let s = suite.to_str().unwrap();
    for args in [
        vec!["check", s, "--critical", "20:10"],
        vec!["check"],
        vec!["check", s, "-t", "0"],
        vec!["check", s, "--no-such-flag"],
        vec!["-v", "run", s, "--format", "nagios", "--slot", "61"],
    ] {
        let r = plugin(&args);
        assert_eq!(r.code, 3, "{args:?}: {r:#?}");
        assert!(
            first_line(&r).starts_with("HEALTHMON UNKNOWN - bad arguments: "),
            "{args:?}: {r:#?}"
        );
        assert!(r.stderr.starts_with("error: "), "{args:?}: {r:#?}");
    }
    // Outside plugin mode clap keeps its usual exit code.
    let o = std::process::Command::new(crate::support::site::bin())
        .args(["run", s, "--slot", "61"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    // Help is not an error.
    let o = std::process::Command::new(crate::support::site::bin())
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("-t, --timeout <SECONDS>"), "{help}");
}

#[test]
fn the_run_lock_held_is_unknown() {
    let d = tempfile::tempdir().unwrap();
    let suite = port_suite(d.path(), free_port(), "");
    let reports = d.path().join("reports");
    let _lock = hold_run_lock(&reports);
    let r = check(&suite, &reports, &["--no-alerts"]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(
        first_line(&r).starts_with("HEALTHMON UNKNOWN - another run holds the lock in "),
        "{r:#?}"
    );
}

/// A run that passes but cannot write its reports is UNKNOWN with the
/// reason — never `OK` with exit 4 — and a reports directory that cannot be
/// made is UNKNOWN before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_that_cannot_be_written_are_unknown_never_ok() {
    let f = FakeServer::start(|mut p| async move {
        p.say("220 fake.example.test ESMTP").await;
        p.silence().await;
    })
    .await;
    let d = tempfile::tempdir().unwrap();
    let suite = port_suite(d.path(), f.addr.port(), "");

    // Writable: the case passes, OK.
    let good = d.path().join("good");
    let r = check_async(suite.clone(), good, &["--no-alerts"]).await;
    assert_eq!(r.code, 0, "{r:#?}");

    // `results` is a file: the run's JSON record cannot be written (root
    // ignores permission bits, a file in the way stops it too).
    let reports = d.path().join("blocked");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(reports.join("results"), "in the way").unwrap();
    let r = check_async(suite.clone(), reports, &["--no-alerts"]).await;
    assert_eq!(r.code, 3, "{r:#?}");
    let first = first_line(&r);
    assert!(first.starts_with("HEALTHMON UNKNOWN - "), "{r:#?}");
    assert!(first.contains("report failed: "), "{r:#?}");
    assert!(first.contains("; 1 of 1 cases passed |"), "{r:#?}");
    assert!(!r.stdout.contains("HEALTHMON OK"), "{r:#?}");

    // The reports directory itself cannot be made: nothing runs.
    let r = check_async(
        suite.clone(),
        d.path().join("blocked/results/x"),
        &["--no-alerts"],
    )
    .await;
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(
        first_line(&r).starts_with("HEALTHMON UNKNOWN - cannot use the reports directory: "),
        "{r:#?}"
    );
    assert_eq!(
        f.rec.connections.load(std::sync::atomic::Ordering::Relaxed),
        2
    );

    // `run` keeps exit 4 for the same failure.
    let o = tokio::process::Command::new(crate::support::site::bin())
        .arg("run")
        .arg(&suite)
        .args(["--no-alerts", "--reports"])
        .arg(d.path().join("blocked"))
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(healthmon::exit::INTERNAL));
}

/// `-t` bounds the whole run: a server that accepts and never speaks holds
/// the case for 20 s, the plugin gives up after 2 s — UNKNOWN, exit 3, the
/// run lock free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_is_unknown_within_its_bound() {
    let f = FakeServer::start(|mut p| async move { p.silence().await }).await;
    let d = tempfile::tempdir().unwrap();
    let suite = port_suite(d.path(), f.addr.port(), "");
    let reports = d.path().join("reports");
    let r = check_async(suite, reports.clone(), &["--no-alerts", "-t", "2"]).await;
    assert_eq!(r.code, 3, "{r:#?}");
    assert_eq!(
        r.stdout, "HEALTHMON UNKNOWN - plugin timed out after 2s\n",
        "{r:#?}"
    );
    assert!(
        r.took >= Duration::from_secs(2) && r.took < Duration::from_millis(3500),
        "took {:?}",
        r.took
    );
    assert!(f.rec.connections.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    assert!(!run_locked(&reports));
}

/// An alert command that would sleep for a minute neither outlives the
/// plugin nor swallows its answer: the alert step ends a second before `-t`,
/// the command is killed, its notice is spooled for the next run, and the
/// plugin still reports the outage (CRITICAL) in time.
#[test]
fn the_timeout_leaves_no_child_running() {
    let d = tempfile::tempdir().unwrap();
    let pidfile = d.path().join("child.pid");
    let script = d.path().join("page.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > {}.tmp\nmv {0}.tmp {0}\nexec sleep 60\n",
            pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let alerting = format!(
        "alerting:\n  failure_threshold: 1\n  channels:\n    page: {{command: {{program: {}, timeout: 60s}}}}\n  \
         routes:\n    - {{name: ops, channels: [page]}}\n",
        script.display()
    );
    // A refused port fails at once; the alert for it then runs the script.
    let suite = port_suite(d.path(), free_port(), &alerting);
    let reports = d.path().join("reports");
    let r = check(&suite, &reports, &["-t", "2"]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stdout.starts_with("HEALTHMON CRITICAL"), "{r:#?}");
    assert!(r.took < Duration::from_millis(2500), "took {:?}", r.took);
    let spooled = std::fs::read_dir(reports.join("state/spool"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(spooled >= 1, "the cut-off notice was not spooled: {r:#?}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap_or_else(|e| panic!("the alert command never ran ({e}): {r:#?}"))
        .trim()
        .parse()
        .unwrap();
    // Gone, or a zombie waiting for init to reap it.
    let gone = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    };
    let t0 = std::time::Instant::now();
    while !gone() && t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(), "the alert command {pid} outlived the plugin");
    assert!(!run_locked(&reports));
}

/// A run stuck where the async deadline cannot reach it — here opening a
/// suite that is a FIFO nobody writes — still ends: the backstop prints the
/// timeout's status line one second after `-t`.
#[test]
fn a_run_stuck_outside_the_runtime_still_times_out() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("suite.yaml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let r = check(&fifo, &d.path().join("reports"), &["-t", "1"]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert_eq!(r.stdout, "HEALTHMON UNKNOWN - plugin timed out after 1s\n");
    assert!(
        r.took >= Duration::from_secs(2) && r.took < Duration::from_secs(4),
        "took {:?}",
        r.took
    );
}
