//! Secrets never reach any output, end to end (issue 10). The site is
//! restarted with distinctive passwords (HM_PASS_IMS1..4 + `mailsite up`),
//! ims2's store is made to reject its password (`badpass`, so failing logins
//! and their error paths are exercised too), and then every output of every
//! command is searched for each password in plain text and in base64 at all
//! three alignments (which covers AUTH PLAIN `\0user\0pass`, AUTH LOGIN and
//! any other blob the password could be embedded in):
//!
//! - `healthmon -vv run` of the whole local suite, RUST_LOG=trace, with
//!   `--format json`, `text` and `nagios`: stdout and stderr;
//! - the reports directory: systest.log, qmonitor.log (when written), JUnit,
//!   last-run.json, results/*.json, the Prometheus textfile (`--textfile`);
//! - `alert process` through a command channel: the notice JSON on its
//!   stdin, its HEALTHMON_* environment, the alert state file;
//! - the daily report in every format (`report --format all`) and on stdout;
//! - `validate --resolve` (banner/TLS/AUTH probes of every endpoint).
//!
//! hermetic/secret.rs checks the needles themselves and that lettre is built
//! without its `tracing` feature (which logs SMTP commands, AUTH included, at
//! trace level).
//!
//! `quick.rs` is the quick version of this on the shared site with the
//! default passwords; this one takes the site exclusively for ~2 minutes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::run::*;
use crate::support::secrets::needles;
use healthmon::result::Status;

/// Restores the site on drop (also on panic): repairs `badpass` and runs
/// `mailsite up` without HM_PASS_*, which brings the default passwords back.
struct DefaultPasswords;

impl Drop for DefaultPasswords {
    fn drop(&mut self) {
        let site = root().join("tests/site/mailsite");
        let _ = Command::new(&site)
            .args(["repair", "badpass", "ims2"])
            .status();
        let mut up = Command::new(&site);
        up.arg("up");
        for i in 1..=4 {
            up.env_remove(format!("HM_PASS_IMS{i}"));
        }
        let ok = up.output().is_ok_and(|o| o.status.success());
        assert!(
            ok || std::thread::panicking(),
            "mailsite up (restore) failed"
        );
    }
}

/// Restart the site with distinctive passwords; the guard puts them back.
fn distinctive_passwords() -> (DefaultPasswords, Vec<(String, String)>) {
    let guard = DefaultPasswords;
    let tag = &healthmon::token::random_hex(5);
    let pws: Vec<(String, String)> = (1..=4)
        .map(|i| (format!("ims{i}"), format!("Qz{i}{tag}_Sec.r3t-{i}x")))
        .collect();
    let mut up = Command::new(root().join("tests/site/mailsite"));
    up.arg("up");
    for (i, (_, pw)) in pws.iter().enumerate() {
        up.env(format!("HM_PASS_IMS{}", i + 1), pw);
    }
    let o = up.output().unwrap();
    assert!(
        o.status.success(),
        "mailsite up with new passwords: {}",
        show(&o)
    );
    assert_eq!(passwords(), pws, "the site did not take the new passwords");
    (guard, pws)
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Trace level everywhere, also asked for explicitly for the crates that
/// `logging::init` caps at info because they can log credentials.
const RUST_LOG: &str = "trace,lettre=trace,ldap3=trace,rustls=trace,tokio_rustls=trace,\
                        hyper=trace,reqwest=trace,async_imap=trace";

/// `healthmon -vv ARGS` with RUST_LOG at trace.
fn hm_trace(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("-vv")
        .args(args)
        .env("RUST_LOG", RUST_LOG)
        .current_dir(root())
        .output()
        .unwrap()
}

/// local.yaml plus an alert route to a command channel recording into `rec`.
fn suite_with_alerts(rec: &Path) -> (tempfile::TempDir, PathBuf) {
    let script = crate::support::alert::recorder_script(rec);
    suite_copy(move |t| {
        format!(
            "{t}\nalerting:\n  failure_threshold: 1\n  channels:\n    \
             script: {{command: {{program: {}, timeout: 10s}}}}\n  routes:\n    \
             - {{name: ops, channels: [script]}}\n",
            script.display()
        )
    })
}

#[test]
fn distinctive_passwords_never_appear_in_any_output() {
    let _g = site_exclusive();
    let (_restore, pws) = distinctive_passwords();
    mailsite(&["fault", "badpass", "ims2"]);

    let rec = tempfile::tempdir().unwrap();
    let (_d, suite) = suite_with_alerts(rec.path());
    let s = suite.to_str().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let r = reports.path().to_str().unwrap();
    let prom = reports.path().join("prom");
    let state = reports.path().join("state");
    let mut outs: Vec<(String, Output)> = Vec::new();

    for fmt in ["json", "text", "nagios"] {
        let mut args = vec!["run", s, "--reports", r, "--format", fmt];
        if fmt == "json" {
            args.extend(["--textfile", prom.to_str().unwrap()]);
        }
        let o = hm_trace(&args);
        // Failures (ims2) but no config or internal error; in Nagios mode
        // refused logins are CRITICAL (2), never UNKNOWN (3).
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "run --format {fmt}: {}",
            show(&o)
        );
        outs.push((format!("run --format {fmt}"), o));
    }
    let run = last_run(reports.path());

    // The secrets were really in play: ims1 logged in with its new password
    // through every path, ims2 was refused, AUTH lines are redacted.
    let by = |acct: &str, ok: bool| {
        run.results
            .iter()
            .filter(|c| c.id.starts_with(&format!("rndtrip/{acct}/")))
            .filter(|c| matches!(c.status, Status::Pass | Status::Warning) == ok)
            .count()
    };
    assert!(
        by("ims1", true) >= 18,
        "ims1 logged in on {} paths",
        by("ims1", true)
    );
    assert!(
        by("ims2", false) >= 18,
        "ims2 failed on {} paths only",
        by("ims2", false)
    );
    let redacted = run
        .results
        .iter()
        .flat_map(|c| &c.observation.transcript)
        .filter(|l| l.contains("<redacted>"))
        .count();
    assert!(redacted > 20, "only {redacted} redacted credential lines");

    let st = state.to_str().unwrap();
    let last = reports.path().join("last-run.json");
    let o = hm_trace(&[
        "alert",
        "process",
        "--results",
        last.to_str().unwrap(),
        "--state-dir",
        st,
        s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    outs.push(("alert process".into(), o));
    assert!(
        !crate::support::alert::recorded(rec.path()).is_empty(),
        "no alert reached the command channel"
    );

    let today = chrono::Utc::now().date_naive().to_string();
    let o = hm_trace(&[
        "report",
        s,
        "--reports",
        r,
        "--date",
        &today,
        "--format",
        "all",
        "--state-dir",
        st,
    ]);
    assert_eq!(o.status.code(), Some(0), "report: {}", show(&o));
    outs.push(("report".into(), o));
    let o = hm_trace(&[
        "report",
        s,
        "--reports",
        r,
        "--date",
        &today,
        "--stdout",
        "--state-dir",
        st,
    ]);
    assert_eq!(o.status.code(), Some(0), "report --stdout: {}", show(&o));
    outs.push(("report --stdout".into(), o));

    let o = hm_trace(&["validate", "--resolve", s]);
    outs.push(("validate --resolve".into(), o));

    // Everything written or printed.
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
    for (what, o) in &outs {
        texts.push((format!("{what}: stdout"), o.stdout.clone()));
        texts.push((format!("{what}: stderr"), o.stderr.clone()));
    }
    let mut files = Vec::new();
    all_files(reports.path(), &mut files);
    all_files(rec.path(), &mut files);
    for want in [
        "systest.log",
        "junit.xml",
        "last-run.json",
        "stdin.log",
        "env.log",
    ] {
        assert!(files.iter().any(|f| f.ends_with(want)), "no {want} written");
    }
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "prom"))
    );
    assert!(
        files.iter().any(|f| f.starts_with(&state)),
        "no alert state file"
    );
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("/daily/")),
        "no daily report file"
    );
    for f in files {
        texts.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }

    let mut hits = Vec::new();
    for (login, pw) in &pws {
        for needle in needles(pw) {
            for (what, data) in &texts {
                if String::from_utf8_lossy(data).contains(&needle) {
                    hits.push(format!("{login}'s password as {needle:?} in {what}"));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} leaks:\n{}",
        hits.len(),
        hits.join("\n")
    );
}
