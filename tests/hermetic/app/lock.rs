//! The run lock, from the outside: two overlapping runs on one reports
//! directory — exactly one runs; a killed holder releases the lock. The run
//! holding the lock checks a tarpit (an in-test listener that never sends a
//! banner), so it stays busy for its 3s step timeout.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::modes::*;

fn run_cmd(suite: &std::path::Path, reports: &std::path::Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(reports)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Wait until the run holds the lock. The file appears just before the
/// flock; probing only after a pause keeps the probe from stealing it.
fn held(reports: &std::path::Path, who: &str) {
    wait_for(Duration::from_secs(10), || {
        reports.join(".healthmon.lock").exists().then_some(())
    })
    .unwrap_or_else(|| panic!("run {who} never created the lock file"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(run_locked(reports), "run {who} does not hold the lock");
}

#[test]
fn overlapping_runs_exactly_one_runs() {
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    // Accepted by the kernel, never answered: a banner wait that times out.
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let suite = slow_suite(d.path(), tarpit.local_addr().unwrap().port());
    let mut a = Proc::spawn("run A", &mut run_cmd(&suite, &reports));
    held(&reports, "A");
    let b = run_cmd(&suite, &reports).output().unwrap();
    let err = String::from_utf8_lossy(&b.stderr);
    assert_eq!(b.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another run of this suite holds the lock"),
        "{err}"
    );
    let st = a.wait_timeout(Duration::from_secs(60)).expect("run A hung");
    // A ran its check for real: the tarpit never answers, so an error (2).
    assert_eq!(st.code(), Some(2), "{st:?}");
    // Exactly one run produced results.
    let n = std::fs::read_dir(reports.join("results")).unwrap().count();
    assert_eq!(n, 1);

    // A holder killed by SIGKILL releases the lock (flock dies with it).
    let mut c = Proc::spawn("run C", &mut run_cmd(&suite, &reports));
    held(&reports, "C");
    c.signal(libc::SIGKILL);
    c.wait_timeout(Duration::from_secs(10))
        .expect("run C not dead");
    assert!(!run_locked(&reports));
    let e = run_cmd(&suite, &reports).output().unwrap();
    assert!(
        matches!(e.status.code(), Some(0..=2)),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
    assert_eq!(
        std::fs::read_dir(reports.join("results")).unwrap().count(),
        2
    );
}
