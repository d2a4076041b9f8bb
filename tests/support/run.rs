//! Helpers for tests that start `healthmon run` as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use healthmon::result::RunSummary;

pub use super::site::*;

/// Run `healthmon <args>` from the repository root.
pub fn hm(args: &[&str]) -> Output {
    std::process::Command::new(bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("run healthmon")
}

/// `healthmon run SUITE --reports DIR <extra>`.
pub fn run(suite: &Path, reports: &Path, extra: &[&str]) -> Output {
    let mut a = vec![
        "run".to_string(),
        suite.display().to_string(),
        "--reports".into(),
        reports.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    hm(&a)
}

pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn last_run(reports: &Path) -> healthmon::result::RunSummary {
    healthmon::report::json::read(&reports.join("last-run.json")).unwrap()
}

pub fn local_suite() -> PathBuf {
    root().join("suites/local.yaml")
}

/// A copy of suites/local.yaml in a temp dir, relative paths made absolute,
/// then `edit`ed (e.g. a lower threshold).
pub fn suite_copy(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(local_suite()).unwrap();
    let abs = format!("{}/", root().display());
    let text = text
        .replace("../target/", &format!("{abs}target/"))
        .replace("../etc/", &format!("{abs}etc/"));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("local.yaml");
    std::fs::write(&p, edit(text)).unwrap();
    (d, p)
}

/// Account passwords of the site.
pub fn passwords() -> Vec<(String, String)> {
    (1..=4)
        .map(|i| {
            let login = format!("ims{i}");
            let p = site_state().join(format!("secrets/{login}.pass"));
            let pw = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (login, pw.trim_end_matches(['\r', '\n']).to_string())
        })
        .collect()
}

/// Every report in `dir` is whole: JUnit parses as XML with `cases`
/// testcases, last-run.json and each results file parse as a run.
pub fn assert_reports_whole(dir: &Path, cases: usize) -> RunSummary {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("junit.xml: {e}"));
    // Cases not selected are listed as skipped; count the ones that ran.
    let n = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| !n.children().any(|c| c.has_tag_name("skipped")))
        .count();
    assert_eq!(n, cases, "testcases that ran, in junit.xml");
    for e in std::fs::read_dir(dir.join("results")).unwrap() {
        let p = e.unwrap().path();
        healthmon::report::json::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    // systest.log has rows for round trips only.
    if let Ok(log) = std::fs::read_to_string(dir.join("systest.log")) {
        assert!(log.ends_with('\n'), "systest.log ends mid-line");
    }
    last_run(dir)
}

pub fn no_panic(o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{}",
        show(o)
    );
}

/// `healthmon run SUITE --reports DIR`, output piped, backtraces on.
pub fn run_cmd(suite: &Path, reports: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(reports)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}
