//! Diagnostics on stderr carry colour only on a terminal: redirected to a
//! file or a pipe (cron, systemd, a CI log) they are plain text.

use crate::support::modes::free_port;
use crate::support::run::hm;

#[test]
fn stderr_redirected_has_no_ansi_codes() {
    let d = tempfile::tempdir().unwrap();
    let suite = d.path().join("s.yaml");
    // A refused port: the second failing run fires an alert, which is
    // logged as a warning.
    std::fs::write(
        &suite,
        format!(
            "site: t\nhosts:\n  mta9:\n    roles: [mta]\n    address: 127.0.0.1\n    \
             endpoints:\n      smtp: {{port: {}}}\n    checks:\n      - port: {{endpoint: smtp}}\n",
            free_port()
        ),
    )
    .unwrap();
    let reports = d.path().join("reports");
    let args = [
        "-v",
        "run",
        suite.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ];
    hm(&args);
    let out = hm(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alert firing"), "the warning is logged: {err}");
    assert!(
        !err.contains('\x1b'),
        "ANSI codes on a redirected stderr: {err:?}"
    );
}
