//! `healthmon cron` lines as cron runs them (`/bin/sh -c`, an empty
//! environment, cwd /): a job's failure leaves a trace in
//! `<reports>/cron.log`, and `--env-file` gives the jobs the suite's
//! password variables. (Real runs of the printed lines: live/cmd/cron.rs.)

use std::process::Command;

use crate::support::modes::free_port;
use crate::support::site::bin;

/// The `*/5` line of `healthmon cron SUITE --central [extra]`.
fn rotation_line(suite: &std::path::Path, reports: &std::path::Path, extra: &[&str]) -> String {
    let o = Command::new(bin())
        .args(["cron", suite.to_str().unwrap(), "--central", "--reports"])
        .arg(reports)
        .args(extra)
        .env_remove("HM_CRON_PASS")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("*/5 "))
        .unwrap_or_else(|| panic!("no */5 line:\n{text}"));
    line.splitn(6, ' ').nth(5).unwrap().to_string()
}

fn as_cron(command: &str) {
    let st = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(st.code().is_some(), "{st:?}");
}

#[test]
fn cron_jobs_log_their_failures_and_read_their_secrets_from_the_env_file() {
    let d = tempfile::tempdir().unwrap();
    let suite = d.path().join("s.yaml");
    let p = free_port();
    std::fs::write(
        &suite,
        format!(
            "site: c\ndefaults: {{timeout: 5s}}\nhosts:\n  mta1: {{roles: [mta], address: 127.0.0.1, endpoints: {{smtp: {{port: {p}}}}}}}\n  \
             store1: {{roles: [store], address: 127.0.0.1, endpoints: {{imap: {{port: {p}}}}}}}\n\
             accounts:\n  a1: {{address: a1@example.test, store: store1, password_env: HM_CRON_PASS}}\n\
             roundtrip:\n  matrix:\n    - {{submit: [mta1], retrieve: [store], protocol: [imap]}}\n"
        ),
    )
    .unwrap();
    let reports = d.path().join("reports");
    let log = reports.join("cron.log");

    // Without the env file: the job cannot load the suite, and says so in
    // cron.log (cron mail is off).
    let line = rotation_line(&suite, &reports, &[]);
    assert!(
        line.ends_with(&format!(" >>{}/cron.log 2>&1", reports.display())),
        "{line}"
    );
    as_cron(&line);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("`HM_CRON_PASS` is not set"), "{text}");
    assert!(!text.contains("s3cret-value"), "{text}");

    // A missing env file is logged too.
    let env = d.path().join("healthmon.env");
    let line = rotation_line(&suite, &reports, &["--env-file", env.to_str().unwrap()]);
    std::fs::remove_file(&log).unwrap();
    as_cron(&line);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("healthmon.env"),
        "the shell's complaint: {text}"
    );

    // With it, the suite loads: the run itself goes on (and fails on the
    // closed port, which is not a configuration problem).
    std::fs::write(&env, "HM_CRON_PASS=s3cret-value\n").unwrap();
    std::fs::remove_file(&log).unwrap();
    as_cron(&line);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("is not set"), "{text}");
    assert!(!text.contains("s3cret-value"), "{text}");
    assert!(
        reports.join("last-run.json").is_file(),
        "the job ran: {text}"
    );
}
