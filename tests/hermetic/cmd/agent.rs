//! `healthmon agent` as a process, without a site: it refuses another
//! machine's host, a network address without a token and a host without an
//! `agent:` entry; it serves its host's latest results and refuses queue
//! look-ups that are not a validated id of one of its hosts.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::modes::*;

/// A suite with one host `faraway` (never this machine's name) whose port
/// check talks to a banner server; `agent` is its agent entry (or none).
fn suite(dir: &Path, agent: &str) -> std::path::PathBuf {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(b"220 fake ESMTP\r\n");
        }
    });
    let p = dir.join("site.yaml");
    std::fs::write(
        &p,
        format!(
            "site: agents\nhosts:\n  faraway:\n    roles: [mta]\n    address: 127.0.0.1\n{agent}    endpoints:\n      smtp: {{port: {port}}}\n    checks:\n      - port: {{endpoint: smtp, banner: \"^220\"}}\n"
        ),
    )
    .unwrap();
    p
}

fn agent(dir: &Path, suite: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("agent")
        .arg(suite)
        .args(extra)
        .arg("--reports")
        .arg(dir.join("reports"))
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

fn refused(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn refuses_another_machines_host_an_open_network_port_and_no_agent_entry() {
    let d = tempfile::tempdir().unwrap();
    let s = suite(d.path(), "");
    let e = refused(&mut agent(d.path(), &s, &["--host", "faraway"]));
    assert!(e.contains("--host faraway is not this machine"), "{e}");
    let e = refused(&mut agent(d.path(), &s, &[]));
    assert!(e.contains("no host of"), "{e}");
    let e = refused(&mut agent(
        d.path(),
        &s,
        &["--host", "faraway", "--allow-other-host"],
    ));
    assert!(e.contains("no hosts.<name>.agent entry"), "{e}");
    let e = refused(&mut agent(
        d.path(),
        &s,
        &[
            "--host",
            "faraway",
            "--allow-other-host",
            "--listen",
            "0.0.0.0:1",
        ],
    ));
    assert!(e.contains("beyond loopback) needs a token"), "{e}");
}

fn get(addr: &str, path: &str, token: &str) -> (u16, String) {
    http_get_bearer(addr, path, Some(token))
}

#[test]
fn serves_latest_results_and_only_validated_queue_lookups() {
    let d = tempfile::tempdir().unwrap();
    let port = free_port();
    let tok = d.path().join("agent.token");
    std::fs::write(&tok, "hermetic-agent-token\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o600)).unwrap();
    let entry = format!(
        "    agent: {{url: \"http://127.0.0.1:{port}\", token_file: agent.token, interval: 1s}}\n"
    );
    let s = suite(d.path(), &entry);
    let log = std::fs::File::create(d.path().join("agent.log")).unwrap();
    let _p = Proc::spawn(
        "healthmon agent",
        agent(d.path(), &s, &["--host", "faraway", "--allow-other-host"])
            .stdout(Stdio::null())
            .stderr(log),
    );
    let addr = format!("127.0.0.1:{port}");
    let doc = wait_for(Duration::from_secs(20), || {
        let (st, body) = get(&addr, "/api/v1/agent/results", "hermetic-agent-token");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (st == 200 && !v["results"].as_array()?.is_empty()).then_some(v)
    })
    .expect("no results served");
    assert_eq!(doc["hosts"], serde_json::json!(["faraway"]));
    assert_eq!(doc["interval_ms"], 1000);
    assert_eq!(doc["suite_digest"].as_str().unwrap().len(), 64);
    let r = &doc["results"][0];
    assert_eq!(
        (r["id"].as_str(), r["status"].as_str()),
        (Some("host/faraway/port"), Some("pass"))
    );
    // Runs go on every interval: a later answer has a newer run.
    let first = doc["run"]["run_id"].clone();
    let later = wait_for(Duration::from_secs(20), || {
        let (_, body) = get(&addr, "/api/v1/agent/results", "hermetic-agent-token");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["run"]["run_id"] != first).then_some(())
    });
    assert!(later.is_some(), "the agent ran only once");
    // The local record is written as by `run --host`.
    assert!(d.path().join("reports/qmonitor.log").exists());
    // Queue look-ups: only a validated id of one of our hosts.
    let q = |host: &str, id: &str| {
        get(
            &addr,
            &format!("/api/v1/agent/queue?host={host}&queue_id={id}"),
            "hermetic-agent-token",
        )
        .0
    };
    assert_eq!(q("faraway", "ABC%3Brm%20-rf"), 400);
    assert_eq!(q("faraway", "ab"), 400);
    assert_eq!(q("mta9", "ABCDEF123"), 404);
    // A valid id on a host without a queue check: answered, not run.
    let (st, body) = get(
        &addr,
        "/api/v1/agent/queue?host=faraway&queue_id=ABCDEF123",
        "hermetic-agent-token",
    );
    assert_eq!(st, 200);
    assert!(body.contains("no queue check"), "{body}");
    // Without the token: refused (even on loopback, since one is set).
    assert_eq!(get(&addr, "/api/v1/agent/results", "nope").0, 401);
    assert_eq!(get(&addr, "/metrics", "nope").0, 401);
}
