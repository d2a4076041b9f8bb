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

/// Host `faraway` whose agent listens on `port` with basic auth.
fn basic_suite(dir: &std::path::Path, port: u16, pw_file: &str) -> std::path::PathBuf {
    let p = dir.join(format!("basic-{pw_file}.yaml"));
    std::fs::write(
        &p,
        format!(
            "site: remote\nhosts:\n  faraway:\n    roles: [mta]\n    address: 127.0.0.1\n    agent: {{url: \"http://127.0.0.1:{port}\", basic: {{user: central, password_file: {pw_file}}}}}\n    checks:\n      - files: {{paths: [{{path: site.yaml, exists: true}}]}}\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn an_agent_with_basic_auth_is_pulled_and_a_wrong_password_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("site.yaml"), "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (f, pw) in [("good.pass", "basic-Pw-1\n"), ("bad.pass", "Zq9-basic\n")] {
        std::fs::write(d.path().join(f), pw).unwrap();
        std::fs::set_permissions(d.path().join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = free_port();
    let agent_suite = basic_suite(d.path(), port, "good.pass");
    let log = std::fs::File::create(d.path().join("agent.log")).unwrap();
    let _agent = Proc::spawn(
        "healthmon agent",
        Command::new(bin())
            .arg("agent")
            .arg(&agent_suite)
            .args(["--host", "faraway", "--allow-other-host", "--reports"])
            .arg(d.path().join("agent-reports"))
            .current_dir(d.path())
            .stdout(std::process::Stdio::null())
            .stderr(log),
    );
    let doc = wait_for(std::time::Duration::from_secs(20), || {
        let doc = run(d.path(), &agent_suite, &[]);
        (status(&doc, "agent/faraway") == "pass").then_some(doc)
    })
    .expect("the agent was never pulled");
    assert_eq!(status(&doc, "host/faraway/files"), "pass");
    // The central monitor's password is wrong: refused, logged without it.
    let wrong = basic_suite(d.path(), port, "bad.pass");
    let doc = run(d.path(), &wrong, &[]);
    assert_eq!(status(&doc, "agent/faraway"), "error");
    assert_eq!(status(&doc, "host/faraway/files"), "error");
    let log = std::fs::read_to_string(d.path().join("agent.log")).unwrap();
    assert!(log.contains("wrong credentials"), "{log}");
    assert!(!log.contains("Zq9") && !log.contains("basic-Pw-1"), "{log}");
}
