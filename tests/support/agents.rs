//! `healthmon agent` processes for tests: one per site host, each bound to
//! its host's own address on a port nothing else uses and started under its
//! own hostname (`unshare --uts` + `hostname`), as on separate machines; a
//! suite generated from `suites/local-agents.yaml` for that port and a
//! fresh token; the central monitor's run and its JSON.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::modes::{Proc, wait_for};
use super::site::{bin, root};

/// The token every agent of a generated suite requires.
pub const TOKEN: &str = "agent-token-Q7x9-not-a-real-secret";

/// Every host of the loopback site and its address.
pub const HOSTS: [(&str, &str); 8] = [
    ("lb", "127.0.5.1"),
    ("ldap1", "127.0.4.1"),
    ("mmp1", "127.0.3.1"),
    ("mmp2", "127.0.3.2"),
    ("mta1", "127.0.1.1"),
    ("mta2", "127.0.1.2"),
    ("store1", "127.0.2.1"),
    ("store2", "127.0.2.2"),
];

/// A port free on every host address (none of them has it bound).
pub fn free_port_on_all() -> u16 {
    loop {
        let p = super::modes::free_port();
        if HOSTS
            .iter()
            .all(|(_, a)| std::net::TcpListener::bind((*a, p)).is_ok())
        {
            return p;
        }
    }
}

/// `suites/local-agents.yaml` for `port`, with absolute paths and the
/// token in `dir/agent.token` (0600). Written to `dir/agents.yaml`.
pub fn agent_suite(dir: &Path, port: u16) -> PathBuf {
    let tok = dir.join("agent.token");
    std::fs::write(&tok, format!("{TOKEN}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(root().join("suites/local-agents.yaml")).unwrap();
    let text = text
        .replace(":9783", &format!(":{port}"))
        .replace("../target/agent.token", &tok.display().to_string())
        .replace("../", &format!("{}/", root().display()));
    let p = dir.join("agents.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// One running agent.
pub struct Agent {
    pub host: &'static str,
    pub addr: String,
    pub log: PathBuf,
    pub proc: Proc,
}

impl Agent {
    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Start `host`'s agent under its own hostname, reports in `dir/<host>`;
/// waits until it accepts connections.
pub fn start(dir: &Path, suite: &Path, host: &'static str, port: u16) -> Agent {
    let addr = HOSTS.iter().find(|(h, _)| *h == host).unwrap().1;
    let log = dir.join(format!("{host}.log"));
    let script = format!("hostname {host} && exec \"$0\" agent \"$1\" --reports \"$2\"",);
    let proc = Proc::spawn(
        "healthmon agent",
        Command::new("unshare")
            .args(["--uts", "sh", "-c", &script])
            .arg(bin())
            .arg(suite)
            .arg(dir.join(host))
            .current_dir(root())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let a = Agent {
        host,
        addr: format!("{addr}:{port}"),
        log,
        proc,
    };
    let up = wait_for(Duration::from_secs(20), || {
        TcpStream::connect(&a.addr).ok().map(|_| ())
    });
    assert!(up.is_some(), "agent {host} did not listen: {}", a.log());
    a
}

/// Every host's agent.
pub fn start_all(dir: &Path, suite: &Path, port: u16) -> Vec<Agent> {
    HOSTS
        .iter()
        .map(|(h, _)| start(dir, suite, h, port))
        .collect()
}

/// `healthmon run SUITE ARGS... --reports DIR --format json` from the repo
/// root: the parsed results document.
pub fn central_run(suite: &Path, reports: &Path, args: &[&str]) -> serde_json::Value {
    let o = Command::new(bin())
        .arg("run")
        .arg(suite)
        .args(args)
        .arg("--reports")
        .arg(reports)
        .args(["--format", "json"])
        .current_dir(root())
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON from the central run ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// (status, message) of case `id` in a results document.
pub fn case<'a>(doc: &'a serde_json::Value, id: &str) -> (&'a str, &'a str) {
    let r = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"));
    (
        r["status"].as_str().unwrap_or(""),
        r["message"].as_str().unwrap_or(""),
    )
}

/// GET over plain HTTP/1.0 with the agents' bearer token: (status, body).
pub fn get_with_token(addr: &str, path: &str) -> (u16, String) {
    super::modes::http_get_bearer(addr, path, Some(TOKEN))
}
