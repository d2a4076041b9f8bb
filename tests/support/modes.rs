//! Helpers of the daemon / cron / lock / metrics / Nagios tests: a fast suite
//! against the live site, a tarpit suite, a daemon child process killed on
//! drop, a tiny HTTP client, promtool.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // run_locked: the lock tests only
pub use super::site::{bin, root, run_locked};

/// A suite of two port checks (mta1 smtp, store2 imap) against the site:
/// a run takes milliseconds.
pub fn fast_suite(dir: &Path) -> PathBuf {
    let ca = root().join("target/mailsite/ca/ca.pem");
    let p = dir.join("fast.yaml");
    let yaml = r#"site: fast
defaults:
  timeout: 10s
  step_timeout: 5s
  tls: {ca_file: CA}
hosts:
  mta1:
    roles: [mta]
    address: 127.0.1.1
    tls: {server_name: mta1.example.test}
    endpoints:
      smtp: {port: 25, tls: starttls}
    checks:
      - port: {endpoint: smtp}
  store2:
    roles: [store]
    address: 127.0.2.2
    tls: {server_name: store2.example.test}
    endpoints:
      imap: {port: 143, tls: starttls}
    checks:
      - port: {endpoint: imap}
"#;
    std::fs::write(&p, yaml.replace("CA", &ca.display().to_string())).unwrap();
    p
}

/// A suite whose one check waits on `port` for a banner for its 3s step
/// timeout: pair it with a listener that never answers (a tarpit).
pub fn slow_suite(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let p = dir.join("slow.yaml");
    std::fs::write(
        &p,
        format!(
            "site: slow\ndefaults:\n  timeout: 10s\n  step_timeout: 3s\nhosts:\n  tarpit:\n    roles: [mta]\n    address: 127.0.0.1\n    endpoints:\n      smtp: {{port: {port}}}\n    checks:\n      - port: {{endpoint: smtp, banner: \"^220\"}}\n"
        ),
    )
    .unwrap();
    p
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET over HTTP/1.0: (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    Ok((status, body))
}

/// GET over HTTP/1.0 with `Authorization: Bearer TOKEN` when given:
/// (status, body); (0, "") when nothing listens.
pub fn http_get_bearer(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let code = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok());
    let body = buf.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (code.unwrap_or(0), body.to_string())
}

/// Poll `f` every 100ms until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if t0.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed (SIGKILL) and reaped on drop unless already waited.
pub struct Proc {
    pub child: Option<Child>,
    pub name: &'static str,
}

impl Proc {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child: Some(child),
            name,
        }
    }
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }
    /// Wait for exit within `limit`; None if still running.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Some(st);
            }
            if t0.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take()
            && c.try_wait().ok().flatten().is_none()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Start `healthmon daemon SCHEDULE --listen 127.0.0.1:PORT`, wait for
/// /healthz. Returns the process and its address.
pub fn start_daemon(schedule: &Path, cwd: &Path) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(cwd.join("daemon.log")).unwrap();
    let p = Proc::spawn(
        "healthmon daemon",
        Command::new(bin())
            .arg("daemon")
            .arg(schedule)
            .arg("--listen")
            .arg(&addr)
            .current_dir(cwd)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log),
    );
    let up = wait_for(Duration::from_secs(20), || {
        http_get(&addr, "/healthz").ok().filter(|(s, _)| *s == 200)
    });
    assert!(
        up.is_some(),
        "daemon did not serve /healthz: {}",
        std::fs::read_to_string(cwd.join("daemon.log")).unwrap_or_default()
    );
    (p, addr)
}

/// /healthz as JSON.
pub fn healthz(addr: &str) -> serde_json::Value {
    let (st, body) = http_get(addr, "/healthz").unwrap();
    assert_eq!(st, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `promtool check metrics` on a text; Err with its output when it complains.
pub fn promtool_check(text: &str) -> Result<(), String> {
    let mut c = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool missing: apt-get install -y prometheus");
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() && out.trim().is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// A counter of one job in /healthz (0 when absent).
pub fn job_field(h: &serde_json::Value, job: &str, k: &str) -> u64 {
    h["jobs"][job][k].as_u64().unwrap_or(0)
}
