//! Helpers for the `healthmon run` integration tests (included with
//! `#[path = "run_support.rs"] mod support;`). Built alone it has no tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "common/mod.rs"]
mod common;
pub use common::*;

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

/// Starts a stopped host again when dropped (also on panic).
pub struct Restart(pub &'static str);
impl Drop for Restart {
    fn drop(&mut self) {
        let _ = std::process::Command::new(root().join("tests/site/mailsite"))
            .args(["start", self.0])
            .status();
    }
}
