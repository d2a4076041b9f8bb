//! The central side of agents without a site: a host with an `agent:` whose
//! agent is gone is an `agent/<host>` error and its checks are errors,
//! never run here; but on the machine that *is* the host, `run --host`
//! measures it directly.

use std::process::Command;

use crate::support::modes::*;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// Host `name` with a `files` check that passes and an agent nobody runs.
fn suite(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let port = free_port();
    let p = dir.join("site.yaml");
    std::fs::write(
        &p,
        format!(
            "site: remote\nhosts:\n  {name}:\n    roles: [mta]\n    address: 127.0.0.1\n    agent: {{url: \"http://127.0.0.1:{port}\"}}\n    checks:\n      - files: {{paths: [{{path: site.yaml, exists: true}}]}}\n"
        ),
    )
    .unwrap();
    p
}

fn run(dir: &std::path::Path, suite: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let o = Command::new(bin())
        .arg("run")
        .arg(suite)
        .args(args)
        .args(["--format", "json", "--reports"])
        .arg(dir.join("reports"))
        .current_dir(dir)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap()
}

fn status<'a>(doc: &'a serde_json::Value, id: &str) -> &'a str {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["status"].as_str())
        .unwrap_or("missing")
}

#[test]
fn another_machines_checks_are_pulled_this_machines_are_measured() {
    let d = tempfile::tempdir().unwrap();
    // A host that is not this machine: pulled from its (dead) agent.
    let s = suite(d.path(), "faraway");
    let doc = run(d.path(), &s, &[]);
    assert_eq!(status(&doc, "agent/faraway"), "error");
    assert_eq!(status(&doc, "host/faraway/files"), "error");
    // This machine under its own name: its checks run here.
    let me = hostname();
    let me = me.split('.').next().unwrap();
    let s = suite(d.path(), me);
    let doc = run(d.path(), &s, &["--host", me]);
    assert_eq!(status(&doc, &format!("host/{me}/files")), "pass", "{doc}");
}
