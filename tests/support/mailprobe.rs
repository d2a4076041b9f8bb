//! Helpers for the POP3/IMAP probe tests against the real site: endpoints,
//! passwords, probe messages, SMTP submission, and a tiny raw IMAP client
//! for looking at (and seeding) mailboxes the way a user's own client would.

use std::sync::LazyLock;
use std::time::Duration;

use healthmon::probe::imap_parse::{Cond, Parsed, Response};
use healthmon::probe::probe_msg::RetrieveRequest;
use healthmon::probe::smtp;
use healthmon::result::Observation;
use healthmon::secret::Secret;
use healthmon::suite::model::{AuthMech, Proto, TlsMode, TlsSpec};
use healthmon::suite::resolve::Endpoint;
use healthmon::token::ProbeKey;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const STEP: Duration = Duration::from_secs(5);
pub const MAX_BYTES: usize = 256 * 1024;

use super::site::site_state as state;

pub use super::site::Variant;

/// Where a variant's servers are and what verifies them: a with one site
/// CA, b with a self-signed certificate per server.
impl Variant {
    pub fn state(self) -> std::path::PathBuf {
        match self {
            Variant::A => state(),
            Variant::B => super::site::site_b_state(),
        }
    }

    /// The suite's `site:` name, which probe tokens are signed for.
    pub fn site(self) -> &'static str {
        match self {
            Variant::A => SITE,
            Variant::B => "local-b",
        }
    }

    /// The variant's own suite (suites/local.yaml, suites/local-b.yaml).
    pub fn suite_path(self) -> std::path::PathBuf {
        let name = match self {
            Variant::A => "suites/local.yaml",
            Variant::B => "suites/local-b.yaml",
        };
        super::site::root().join(name)
    }

    pub fn address(self, host: &str) -> String {
        let a = address(host);
        match self {
            Variant::A => a.to_string(),
            Variant::B => a.replacen("127.0.", "127.1.", 1),
        }
    }

    /// What verifies the variant's servers: a's CA, b's bundle of
    /// self-signed server certificates.
    pub fn ca_file(self) -> std::path::PathBuf {
        match self {
            Variant::A => state().join("ca/ca.pem"),
            Variant::B => self.state().join("certs/all.pem"),
        }
    }
}

pub fn address(host: &str) -> &'static str {
    match host {
        "mta1" => "127.0.1.1",
        "mta2" => "127.0.1.2",
        "store1" => "127.0.2.1",
        "store2" => "127.0.2.2",
        "mmp1" => "127.0.3.1",
        "mmp2" => "127.0.3.2",
        "lb" => "127.0.5.1",
        "ldap1" => "127.0.4.1",
        _ => panic!("unknown host {host}"),
    }
}

/// An endpoint of the site, verified against the site CA by host name.
pub fn ep(host: &str, proto: Proto, port: u16, tls: TlsMode, auth: Option<AuthMech>) -> Endpoint {
    ep_in(Variant::A, host, proto, port, tls, auth)
}

/// [`ep`] on either site variant.
pub fn ep_in(
    v: Variant,
    host: &str,
    proto: Proto,
    port: u16,
    tls: TlsMode,
    auth: Option<AuthMech>,
) -> Endpoint {
    Endpoint {
        host: host.into(),
        address: v.address(host),
        port,
        proto,
        tls,
        tls_options: TlsSpec {
            ca_file: Some(v.ca_file()),
            insecure: None,
            server_name: Some(format!("{host}.example.test")),
            expiry_warning_days: None,
            pin_sha256: None,
        },
        auth,
    }
}

pub fn pop3(host: &str) -> Endpoint {
    ep(host, Proto::Pop3, 110, TlsMode::Starttls, None)
}

pub fn imap(host: &str) -> Endpoint {
    ep(host, Proto::Imap, 143, TlsMode::Starttls, None)
}

pub fn password(account: &str) -> Secret {
    password_in(Variant::A, account)
}

pub fn password_in(v: Variant, account: &str) -> Secret {
    let p = v.state().join(format!("secrets/{account}.pass"));
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Secret::new(s.trim_end_matches(['\r', '\n']))
}

/// The site name the tests' probes are signed for.
pub const SITE: &str = "local";

/// The tests' own installation key (in memory, one per test binary): what
/// [`req`] retrieves with, so what [`leftover`] signs is reaped.
pub fn key() -> &'static ProbeKey {
    static KEY: LazyLock<ProbeKey> =
        LazyLock::new(|| ProbeKey::generate().expect("randomness for a test key"));
    &KEY
}

/// A fresh token for a probe the test sends itself (found by exact match).
pub fn token() -> String {
    key().mint("test/probe", SITE)
}

/// A leftover of an earlier, killed run of `case_id`: a real probe message
/// signed with [`key`], as a round trip would have sent it. Returns (token,
/// message).
pub fn leftover(case_id: &str, to: &str) -> (String, Vec<u8>) {
    signed_probe(key(), case_id, to)
}

/// A real probe message of `case_id` on [`SITE`] signed with `key`.
pub fn signed_probe(key: &ProbeKey, case_id: &str, to: &str) -> (String, Vec<u8>) {
    signed_probe_in(Variant::A, key, case_id, to)
}

/// [`signed_probe`] for the variant's site name.
pub fn signed_probe_in(v: Variant, key: &ProbeKey, case_id: &str, to: &str) -> (String, Vec<u8>) {
    let t = key.mint(case_id, v.site());
    let m = healthmon::probe::probe_msg::build_message(
        &t,
        case_id,
        "healthmon@monitor.example.test",
        to,
    )
    .expect("probe message");
    (t, m)
}

/// A probe-shaped message (CRLF). The body has a line starting with a dot
/// (SMTP/POP3 dot-stuffing must round-trip it) and a line that mentions
/// another probe header (a body is never taken for a header).
pub fn probe_message(token: &str, case_id: &str, to: &str) -> Vec<u8> {
    format!(
        "From: healthmon@monitor.example.test\r\n\
         To: {to}\r\n\
         Subject: healthmon probe {token}\r\n\
         Message-ID: <{token}@healthmon.invalid>\r\n\
         X-Healthmon-Probe: {token} {case_id}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         probe body {token}\r\n\
         .a line that starts with a dot\r\n\
         X-Healthmon-Probe: {token} not-a-header\r\n\
         end\r\n"
    )
    .into_bytes()
}

/// A user's own message (no probe header).
pub fn user_message(mid: &str, to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: friend@elsewhere.example\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <{mid}>\r\n\r\nHello, this is the user's own mail.\r\n"
    )
    .into_bytes()
}

/// Submit through mta1:25 (STARTTLS) and return when the MTA accepted.
pub async fn submit(to: &str, message: &[u8]) -> std::time::Instant {
    submit_in(Variant::A, to, message).await
}

/// [`submit`] through the variant's mta1.
pub async fn submit_in(v: Variant, to: &str, message: &[u8]) -> std::time::Instant {
    let ep = ep_in(v, "mta1", Proto::Smtp, 25, TlsMode::Starttls, None);
    let req = smtp::SubmitRequest {
        ep: &ep,
        helo: "healthmon.invalid",
        from: "healthmon@monitor.example.test",
        to,
        message,
        auth: None,
        step_timeout: STEP,
    };
    let mut obs = Observation::default();
    match smtp::submit(&req, &mut obs).await {
        Ok(o) => o.accepted_at,
        Err(e) => panic!("submit failed: {e}\n{}", obs.transcript.join("\n")),
    }
}

pub fn req<'a>(
    ep: &'a Endpoint,
    login: &'a str,
    password: &'a Secret,
    token: &'a str,
    case_id: &'a str,
    wait: Duration,
) -> RetrieveRequest<'a> {
    RetrieveRequest {
        ep,
        login,
        password,
        token,
        case_id,
        site: SITE,
        key: Some(key()),
        step_timeout: STEP,
        arrival_deadline: tokio::time::Instant::now() + wait,
        max_message_bytes: MAX_BYTES,
        waiting: None,
    }
}

/// Secrets never reach a transcript, fact or message.
pub fn assert_no_secret(obs: &Observation, password: &Secret) {
    use base64::Engine;
    let pw = password.expose();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pw);
    let all = format!("{:?}", obs);
    assert!(!all.contains(pw), "password leaked into the observation");
    assert!(!all.contains(&b64), "base64 password leaked");
    if let Some(e) = &obs.error {
        assert!(!e.message.contains(pw));
    }
}

/// A minimal IMAP client for the tests' own view of a mailbox (plain text
/// straight to a store, as a user's client on the inside could).
pub struct RawImap {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    n: u32,
}

impl RawImap {
    pub async fn login(host: &str, account: &str) -> RawImap {
        Self::login_in(Variant::A, host, account).await
    }

    pub async fn login_in(v: Variant, host: &str, account: &str) -> RawImap {
        let s = TcpStream::connect((v.address(host), 143)).await.unwrap();
        let (r, w) = s.into_split();
        let mut c = RawImap {
            r: BufReader::new(r),
            w,
            n: 0,
        };
        let g = c.response().await;
        assert!(String::from_utf8_lossy(&g.text).starts_with("* OK"));
        let pw = password_in(v, account);
        let line = format!(
            "LOGIN {account} \"{}\"",
            pw.expose().replace('\\', "\\\\").replace('"', "\\\"")
        );
        c.ok(&line).await;
        c.ok("SELECT INBOX").await;
        c
    }

    async fn response(&mut self) -> Response {
        let mut resp = Response::default();
        loop {
            let mut line = Vec::new();
            let n = tokio::time::timeout(STEP, self.r.read_until(b'\n', &mut line))
                .await
                .expect("IMAP read timed out")
                .unwrap();
            assert!(n > 0, "IMAP server closed the connection");
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            resp.text.extend_from_slice(&line);
            match healthmon::probe::imap_parse::literal_len(&line) {
                Some(Ok(len)) => {
                    let mut buf = vec![0; len];
                    self.r.read_exact(&mut buf).await.unwrap();
                    resp.literals.push(buf);
                }
                _ => return resp,
            }
        }
    }

    /// Run a command; return its untagged responses (must end in OK).
    pub async fn ok(&mut self, line: &str) -> Vec<Response> {
        self.n += 1;
        let tag = format!("t{}", self.n);
        self.w
            .write_all(format!("{tag} {line}\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let r = self.response().await;
            match r.parse().unwrap() {
                Parsed::Tagged {
                    tag: t, cond, text, ..
                } if t == tag => {
                    assert_eq!(cond, Cond::Ok, "{line}: {text}");
                    return out;
                }
                _ => out.push(r),
            }
        }
    }

    /// Append a message with flags (seeding a mailbox as a user's client would).
    pub async fn append(&mut self, flags: &str, msg: &[u8]) {
        self.n += 1;
        let tag = format!("t{}", self.n);
        self.w
            .write_all(format!("{tag} APPEND INBOX ({flags}) {{{}+}}\r\n", msg.len()).as_bytes())
            .await
            .unwrap();
        self.w.write_all(msg).await.unwrap();
        self.w.write_all(b"\r\n").await.unwrap();
        loop {
            let r = self.response().await;
            if let Ok(Parsed::Tagged {
                tag: t, cond, text, ..
            }) = r.parse()
            {
                assert_eq!(t, tag);
                assert_eq!(cond, Cond::Ok, "APPEND: {text}");
                return;
            }
        }
    }

    /// Every message: (uid, message-id, probe header (unfolded) or "", flags
    /// sorted, \Recent dropped).
    pub async fn snapshot(&mut self) -> Vec<(u32, String, String, Vec<String>)> {
        let rs = self
            .ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-HEALTHMON-PROBE)])")
            .await;
        let mut out = Vec::new();
        for r in &rs {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            let mut uid = 0;
            let mut flags = Vec::new();
            let mut mid = String::new();
            let mut probe = String::new();
            for (k, v) in &items {
                match (k.as_str(), v) {
                    ("UID", healthmon::probe::imap_parse::Val::Atom(a)) => uid = a.parse().unwrap(),
                    ("FLAGS", healthmon::probe::imap_parse::Val::List(l)) => {
                        for f in l {
                            if let healthmon::probe::imap_parse::Val::Atom(a) = f
                                && !a.eq_ignore_ascii_case("\\Recent")
                            {
                                flags.push(a.clone());
                            }
                        }
                    }
                    (k, v) if k.starts_with("BODY[HEADER.FIELDS") => {
                        let h =
                            String::from_utf8_lossy(r.bytes(v).unwrap_or_default()).into_owned();
                        // Unfolded: a probe header's case id may sit on a
                        // continuation line after a long token.
                        let h = h.replace("\r\n ", " ").replace("\r\n\t", " ");
                        for l in h.lines() {
                            let lower = l.to_ascii_lowercase();
                            if lower.starts_with("message-id:") {
                                mid = l[11..].trim().to_string();
                            } else if lower.starts_with("x-healthmon-probe:") {
                                probe = l[18..].trim().to_string();
                            }
                        }
                    }
                    _ => {}
                }
            }
            flags.sort();
            out.push((uid, mid, probe, flags));
        }
        out.sort();
        out
    }

    /// UIDs whose Message-ID contains `needle`.
    pub async fn uids_with_mid(&mut self, needle: &str) -> Vec<u32> {
        self.snapshot()
            .await
            .into_iter()
            .filter(|(_, mid, _, _)| mid.contains(needle))
            .map(|(u, ..)| u)
            .collect()
    }

    /// Remove exactly these UIDs (test clean-up), the safe way.
    pub async fn remove(&mut self, uids: &[u32]) {
        if uids.is_empty() {
            return;
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.ok(&format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"))
            .await;
        self.ok(&format!("UID EXPUNGE {set}")).await;
    }

    pub async fn logout(mut self) {
        let _ = self.w.write_all(b"z LOGOUT\r\n").await;
    }
}

/// Wait until a message whose Message-ID contains `needle` is in the mailbox.
pub async fn wait_delivered(host: &str, account: &str, needle: &str) -> u32 {
    wait_delivered_in(Variant::A, host, account, needle).await
}

pub async fn wait_delivered_in(v: Variant, host: &str, account: &str, needle: &str) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut c = RawImap::login_in(v, host, account).await;
        let u = c.uids_with_mid(needle).await;
        c.logout().await;
        if let Some(u) = u.first() {
            return *u;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{needle} never delivered to {account}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
