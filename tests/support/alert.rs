//! Alert and report-sending fixtures: synthetic run summaries, a suite built
//! from YAML, a tiny HTTP receiver that records requests, a command channel
//! script that records stdin and environment, an SMTP sink.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use healthmon::result::*;
use healthmon::suite::model::SuiteSpec;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

pub const HOSTS: &str = r#"
site: local
hosts:
  mta1: {roles: [mta], address: 127.0.1.1}
  mmp1: {roles: [mmp], address: 127.0.3.1}
  store1: {roles: [store], address: 127.0.2.1}
  store2: {roles: [store], address: 127.0.2.2}
"#;

/// Suite from the hosts above plus an `alerting:` YAML block.
pub fn suite(alerting_yaml: &str) -> SuiteSpec {
    let text = format!("{HOSTS}{alerting_yaml}");
    serde_yaml::with::singleton_map_recursive::deserialize(serde_yaml::Deserializer::from_str(
        &text,
    ))
    .unwrap_or_else(|e| panic!("bad test suite: {e}\n{text}"))
}

pub fn t(min: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_736_500_000 + min * 60, 0).unwrap()
}

pub fn case(id: &str, status: Status, verdict: Option<&str>, at: DateTime<Utc>) -> CaseResult {
    let mut labels = BTreeMap::new();
    labels.insert("account".to_string(), "ims1".to_string());
    let mut obs = Observation::default();
    obs.phase("connect", 12.0);
    obs.phase("delivery", 800.0);
    CaseResult {
        id: id.into(),
        kind: "roundtrip".into(),
        site: "local".into(),
        suite: "local".into(),
        labels,
        started_at: at,
        duration_ms: 1234.0,
        status,
        message: if status == Status::Pass {
            String::new()
        } else {
            "retrieve: connection refused (refused)".into()
        },
        observation: obs,
        verdict: verdict.map(String::from),
        limits: Default::default(),
    }
}

/// A run at minute `min`: two paths through store1 failing with the verdict
/// store1 when `failing`, one healthy path through store2 always.
pub fn run(min: i64, failing: bool) -> RunSummary {
    let at = t(min);
    let bad = if failing {
        Status::Critical
    } else {
        Status::Pass
    };
    let v = failing.then_some("store1");
    let results = vec![
        case("rndtrip/ims1/mta1/mmp1/imap", bad, v, at),
        case("rndtrip/ims2/mta1/mmp1/imap", bad, v, at),
        case("rndtrip/ims3/mta1/mmp1/imap", Status::Pass, None, at),
    ];
    let verdicts = if failing {
        vec![Verdict {
            host: "store1".into(),
            protocol: "imap".into(),
            reason: "IMAP refused on store1".into(),
            evidence: vec!["store1:143 connection refused".into()],
            confidence: Confidence::Isolated,
            cases: vec![
                "rndtrip/ims1/mta1/mmp1/imap".into(),
                "rndtrip/ims2/mta1/mmp1/imap".into(),
            ],
        }]
    } else {
        vec![]
    };
    summary(min, results, verdicts)
}

/// A 20 s run `run-MIN` of site and suite `local` at minute `min`.
pub fn summary(min: i64, results: Vec<CaseResult>, verdicts: Vec<Verdict>) -> RunSummary {
    let at = t(min);
    RunSummary {
        run_id: format!("run-{min}"),
        site: "local".into(),
        suites: vec!["local".into()],
        started_at: at,
        finished_at: at + chrono::Duration::seconds(20),
        duration_ms: 20000.0,
        results,
        verdicts,
        notes: vec![],
    }
}

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP/1.1 receiver on 127.0.0.1:0 that records every request and
/// answers with the current `status`.
pub struct Receiver {
    pub url: String,
    pub reqs: Arc<Mutex<Vec<Req>>>,
    pub status: Arc<Mutex<u16>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let reqs = Arc::new(Mutex::new(vec![]));
        let status = Arc::new(Mutex::new(200u16));
        let (r2, s2) = (reqs.clone(), status.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = l.accept().await else {
                    return;
                };
                let (r3, s3) = (r2.clone(), s2.clone());
                tokio::spawn(async move {
                    loop {
                        let Some(req) = read_req(&mut sock).await else {
                            return;
                        };
                        r3.lock().unwrap().push(req);
                        let code = *s3.lock().unwrap();
                        let resp = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n");
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, reqs, status }
    }
    pub fn take(&self) -> Vec<Req> {
        std::mem::take(&mut *self.reqs.lock().unwrap())
    }
    pub fn set_status(&self, s: u16) {
        *self.status.lock().unwrap() = s;
    }
}

async fn read_req(sock: &mut tokio::net::TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut b).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let first: Vec<&str> = lines.next()?.split(' ').collect();
    let mut headers = BTreeMap::new();
    for l in lines.filter(|l| !l.is_empty()) {
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut b).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&b[..n]);
    }
    Some(Req {
        method: first[0].into(),
        path: first.get(1).unwrap_or(&"").to_string(),
        headers,
        body,
    })
}

/// A command-channel script: appends stdin (one JSON per line) to
/// `<dir>/stdin.log` and the HEALTHMON_* environment to `<dir>/env.log`;
/// exits with the code in `<dir>/exit` (0 when missing).
pub fn recorder_script(dir: &Path) -> PathBuf {
    let p = dir.join("record.sh");
    let d = dir.display();
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\ncat >> {d}/stdin.log\necho >> {d}/stdin.log\nenv | grep '^HEALTHMON_' | sort >> {d}/env.log\necho --- >> {d}/env.log\nexit $(cat {d}/exit 2>/dev/null || echo 0)\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// JSON bodies the recorder script received, in order.
pub fn recorded(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("stdin.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[derive(Default, Debug)]
pub struct Mail {
    pub auth: Vec<String>,
    pub from: String,
    pub rcpt: Vec<String>,
    pub data: String,
}

/// Minimal SMTP server: EHLO with AUTH PLAIN, records one transaction per connection.
pub async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(vec![]));
    let m2 = mails.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            let m3 = m2.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                let mut mail = Mail::default();
                w.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_string();
                    let up = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if up.starts_with("EHLO") {
                        b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                    } else if up.starts_with("AUTH") {
                        mail.auth.push(cmd.clone());
                        b"235 ok\r\n"
                    } else if up.starts_with("MAIL FROM") {
                        mail.from = cmd.clone();
                        b"250 ok\r\n"
                    } else if up.starts_with("RCPT TO") {
                        mail.rcpt.push(cmd.clone());
                        b"250 ok\r\n"
                    } else if up == "DATA" {
                        w.write_all(b"354 go\r\n").await.unwrap();
                        loop {
                            line.clear();
                            r.read_line(&mut line).await.unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            // Undo dot-stuffing (RFC 5321 4.5.2).
                            mail.data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        }
                        m3.lock().unwrap().push(std::mem::take(&mut mail));
                        b"250 queued\r\n"
                    } else if up == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}
