//! A scriptable fake SMTP/LMTP server on top of [`super::FakeServer`].

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{FakeServer, Peer};

/// How the fake behaves; every field has a sane default.
#[derive(Clone)]
pub struct Script {
    /// Raw greeting bytes (with CRLF).
    pub greeting: Vec<u8>,
    /// EHLO keywords after the domain line (STARTTLS hidden after TLS).
    pub ext: Vec<String>,
    /// TLS for STARTTLS (and for `implicit`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub implicit: bool,
    /// Password AUTH accepts (any login); None: every AUTH gets 535.
    pub password: Option<String>,
    pub login: String,
    pub mail_reply: String,
    pub rcpt_reply: String,
    pub data_reply: String,
    /// DATA bodies as received (dot-stuffed, without the final `.`).
    pub bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            greeting: b"220 fake.example.test ESMTP\r\n".to_vec(),
            ext: vec!["PIPELINING".into(), "8BITMIME".into()],
            tls: None,
            implicit: false,
            password: None,
            login: "ims1".into(),
            mail_reply: "250 2.1.0 Ok".into(),
            rcpt_reply: "250 2.1.5 Ok".into(),
            data_reply: "250 2.0.0 Ok: queued as 4FakeQ1d".into(),
            bodies: Arc::default(),
        }
    }
}

impl Script {
    pub async fn start(self) -> FakeServer {
        let s = Arc::new(self);
        FakeServer::start(move |p| serve(s.clone(), p)).await
    }
}

fn b64(s: &str) -> String {
    String::from_utf8_lossy(&B64.decode(s.trim()).unwrap_or_default()).into_owned()
}

pub async fn serve(s: Arc<Script>, mut p: Peer) {
    let mut in_tls = false;
    if s.implicit {
        if !p
            .start_tls(s.tls.as_ref().expect("implicit needs tls"))
            .await
        {
            return;
        }
        in_tls = true;
    }
    if !p.send(&s.greeting).await {
        return;
    }
    while let Some(line) = p.line().await {
        let mut words = line.splitn(3, ' ');
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let arg = words.next().unwrap_or("").to_string();
        let ok = match verb.as_str() {
            "EHLO" | "LHLO" => {
                let mut r = String::from("250-fake.example.test\r\n");
                let ext: Vec<&String> = s
                    .ext
                    .iter()
                    .filter(|e| !(in_tls && e.eq_ignore_ascii_case("STARTTLS")))
                    .collect();
                for (i, e) in ext.iter().enumerate() {
                    let sep = if i + 1 == ext.len() { ' ' } else { '-' };
                    r.push_str(&format!("250{sep}{e}\r\n"));
                }
                if ext.is_empty() {
                    r = "250 fake.example.test\r\n".into();
                }
                p.send(r.as_bytes()).await
            }
            "STARTTLS" => match &s.tls {
                Some(a) if !in_tls => {
                    p.say("220 2.0.0 Ready to start TLS").await;
                    if !p.start_tls(a).await {
                        return;
                    }
                    in_tls = true;
                    true
                }
                _ => p.say("454 4.7.0 TLS not available").await,
            },
            "AUTH" => {
                let mech = arg.to_ascii_uppercase();
                let given = if mech == "PLAIN" {
                    let ir = line.splitn(3, ' ').nth(2).unwrap_or("").to_string();
                    let raw = b64(&ir);
                    let parts: Vec<&str> = raw.split('\0').collect();
                    parts
                        .get(1)
                        .zip(parts.get(2))
                        .map(|(l, p)| (l.to_string(), p.to_string()))
                } else if mech == "LOGIN" {
                    p.say("334 VXNlcm5hbWU6").await;
                    let l = p.line().await.map(|x| b64(&x));
                    p.say("334 UGFzc3dvcmQ6").await;
                    let pw = p.line().await.map(|x| b64(&x));
                    l.zip(pw)
                } else {
                    None
                };
                let good = given.is_some_and(|(l, pw)| {
                    l == s.login && s.password.as_deref() == Some(pw.as_str())
                });
                if good {
                    p.say("235 2.7.0 Authentication successful").await
                } else {
                    p.say("535 5.7.8 Error: authentication failed").await
                }
            }
            "MAIL" => p.say(&s.mail_reply).await,
            "RCPT" => p.say(&s.rcpt_reply).await,
            "DATA" => {
                p.say("354 End data with <CR><LF>.<CR><LF>").await;
                let Some(body) = p.data_body().await else {
                    return;
                };
                s.bodies.lock().unwrap().push(body);
                p.say(&s.data_reply).await
            }
            "RSET" | "NOOP" => p.say("250 2.0.0 Ok").await,
            "QUIT" => {
                p.say("221 2.0.0 Bye").await;
                p.close().await;
                return;
            }
            _ => p.say("502 5.5.2 Error: command not recognized").await,
        };
        if !ok {
            return;
        }
    }
}
