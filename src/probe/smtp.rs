//! SMTP/LMTP probe client on tokio.
//!
//! Why not lettre here: lettre fuses connect+banner+EHLO (and STARTTLS with
//! the second EHLO) into single calls, discards the banner text and reads
//! replies without a bound. A probe needs each phase timed on its own, the
//! banner as evidence, and bounded reads. lettre still builds messages and
//! delivers alerts.
//!
//! Phases: connect (TCP), tls (implicit-TLS handshake), greeting, ehlo (both
//! EHLOs when STARTTLS is used), starttls (command + handshake), auth, mail,
//! rcpt, data (DATA command to the final reply), quit.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::time::Instant;

use super::probe_msg::{add_bytes_received, local_err, ms_since, record_tls, sasl_plain, timed};
use super::tls::TlsInfo;
use super::wire::{self, Conn, MAX_TEXT};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{AuthMech, TlsMode};
use crate::suite::resolve::Endpoint;

/// Most lines accepted in one multi-line reply.
pub const MAX_REPLY_LINES: usize = 100;

pub struct SubmitRequest<'a> {
    pub ep: &'a Endpoint,
    pub helo: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    /// CRLF line endings, not dot-stuffed.
    pub message: &'a [u8],
    pub auth: Option<(&'a str, &'a Secret)>,
    pub step_timeout: Duration,
}

pub struct SubmitOutcome {
    pub queue_id: Option<String>,
    /// When the final 250 after DATA arrived.
    pub accepted_at: std::time::Instant,
}

pub struct Greeting {
    /// Greeting reply code (220).
    pub code: u16,
    pub banner: String,
    /// EHLO keywords with parameters, as last advertised (after STARTTLS).
    pub extensions: Vec<String>,
    pub tls: Option<TlsInfo>,
}

/// A complete (possibly multi-line) server reply; text is sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// All lines' text joined with a space.
    pub text: String,
    /// Each line's text without the code.
    pub lines: Vec<String>,
}

impl Reply {
    /// `550 5.7.1 Relay access denied`.
    pub fn line(&self) -> String {
        format!("{} {}", self.code, self.text)
    }
}

/// One line of a reply: code, whether more lines follow, text.
pub fn parse_reply_line(line: &[u8]) -> Result<(u16, bool, &[u8]), String> {
    let bad = || format!("malformed reply line {:?}", wire::sanitize(line, 80));
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let code =
        (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    if !(200..600).contains(&code) {
        return Err(bad());
    }
    match line.get(3) {
        None => Ok((code, false, &[])),
        Some(b' ') => Ok((code, false, &line[4..])),
        Some(b'-') => Ok((code, true, &line[4..])),
        Some(_) => Err(bad()),
    }
}

/// Postfix `250 2.0.0 Ok: queued as 4Xyz`, Exim `250 OK id=1abc-00`, ...
pub fn parse_queue_id(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    // `id=` only as a word of its own (not `InternalId=`).
    let start = lower
        .find("queued as ")
        .map(|i| i + "queued as ".len())
        .or_else(|| {
            lower
                .match_indices("id=")
                .find(|(i, _)| *i == 0 || lower.as_bytes()[i - 1] == b' ')
                .map(|(i, _)| i + 3)
        })?;
    let id: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        .take(64)
        .collect();
    (!id.is_empty()).then_some(id)
}

/// DATA body: leading dots doubled, bare LF made CRLF, final CRLF + `.` CRLF.
pub fn dot_stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 64 + 8);
    let mut line_start = true;
    let mut prev = 0u8;
    for &b in msg {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        line_start = b == b'\n';
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Error kind for a reply outside the expected class.
fn reject_kind(code: u16) -> ErrorKind {
    match code {
        535 => ErrorKind::Auth,
        400..=499 => ErrorKind::TempReject,
        500..=599 => ErrorKind::PermReject,
        _ => ErrorKind::Protocol,
    }
}

/// Addresses and names end up inside commands: no CR/LF, no angle brackets.
fn check_arg(what: &str, v: &str) -> Result<(), String> {
    if v.is_empty() && what == "helo"
        || v.chars()
            .any(|c| c.is_control() || c == '<' || c == '>' || c == ' ')
    {
        return Err(format!(
            "invalid {what} {:?}",
            wire::sanitize(v.as_bytes(), 80)
        ));
    }
    Ok(())
}

/// An open SMTP session: connection, endpoint, per-step timeout.
struct Session<'a> {
    conn: Conn,
    ep: &'a Endpoint,
    step: Duration,
    protocol: &'static str,
    extensions: Vec<String>,
    greeting_code: u16,
}

impl Session<'_> {
    /// Read one reply (all its lines) before `deadline`.
    async fn reply(&mut self, phase: &str, deadline: Instant) -> Result<Reply, ProbeError> {
        let mut lines = Vec::new();
        let mut code = 0;
        loop {
            let raw = self.conn.read_line_until(phase, deadline).await?;
            let (c, more, text) =
                parse_reply_line(&raw).map_err(|e| self.conn.err(phase, ErrorKind::Protocol, e))?;
            if !lines.is_empty() && c != code {
                return Err(self.conn.err(
                    phase,
                    ErrorKind::Protocol,
                    format!("reply code changed from {code} to {c} within one reply"),
                ));
            }
            code = c;
            lines.push(wire::sanitize(text, MAX_TEXT));
            if !more {
                break;
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(self.conn.err(
                    phase,
                    ErrorKind::Protocol,
                    format!("reply longer than {MAX_REPLY_LINES} lines"),
                ));
            }
        }
        let text = wire::sanitize(lines.join(" ").as_bytes(), MAX_TEXT);
        Ok(Reply { code, text, lines })
    }

    /// Send a command and read its reply under one step deadline.
    async fn cmd(&mut self, phase: &str, line: &str) -> Result<Reply, ProbeError> {
        let shown = wire::redact_command(line);
        self.cmd_shown(phase, line, &shown).await
    }

    async fn cmd_shown(
        &mut self,
        phase: &str,
        line: &str,
        shown: &str,
    ) -> Result<Reply, ProbeError> {
        let deadline = Instant::now() + self.step;
        self.conn
            .send_secret_line_until(phase, line, shown, deadline)
            .await?;
        self.reply(phase, deadline).await
    }

    /// The reply must be in the `want` class (2 or 3), else the matching error.
    fn expect(&self, phase: &str, r: Reply, want: u16) -> Result<Reply, ProbeError> {
        if r.code / 100 == want {
            return Ok(r);
        }
        Err(self.conn.err(phase, reject_kind(r.code), r.line()))
    }

    fn has_ext(&self, kw: &str) -> bool {
        self.extensions.iter().any(|e| {
            e.split(' ')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(kw))
        })
    }

    /// SASL mechanisms from `AUTH PLAIN LOGIN` (or the old `AUTH=PLAIN`).
    fn auth_mechs(&self) -> Vec<String> {
        auth_mechs(&self.extensions)
    }

    async fn hello(&mut self, helo: &str, obs: &mut Observation) -> Result<(), ProbeError> {
        let verb = if self.protocol == "lmtp" {
            "LHLO"
        } else {
            "EHLO"
        };
        let mut r = timed(obs, "ehlo", self.cmd("ehlo", &format!("{verb} {helo}"))).await?;
        if verb == "EHLO" && matches!(r.code, 500 | 502) {
            // RFC 5321 4.1.4: a server without ESMTP; HELO, no extensions
            // (so a required STARTTLS then fails as Capability).
            r = timed(obs, "ehlo", self.cmd("ehlo", &format!("HELO {helo}"))).await?;
            self.expect("ehlo", r, 2)?;
            self.extensions.clear();
            return Ok(());
        }
        let r = self.expect("ehlo", r, 2)?;
        self.extensions = r
            .lines
            .iter()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect();
        Ok(())
    }

    /// STARTTLS when the endpoint requires it; never continue in plain text.
    async fn starttls(&mut self, helo: &str, obs: &mut Observation) -> Result<(), ProbeError> {
        if self.ep.tls != TlsMode::Starttls {
            return Ok(());
        }
        if !self.has_ext("STARTTLS") {
            return Err(self.conn.err(
                "starttls",
                ErrorKind::Capability,
                "STARTTLS required but not offered by the server (no downgrade)",
            ));
        }
        let t0 = std::time::Instant::now();
        let res = async {
            let r = self.cmd("starttls", "STARTTLS").await?;
            self.expect("starttls", r, 2)?;
            self.conn.upgrade_tls(self.ep, self.step).await
        }
        .await;
        obs.phase("starttls", ms_since(t0));
        let info = res?;
        record_tls(obs, &info);
        // RFC 3207: forget everything learned before TLS.
        self.extensions.clear();
        self.hello(helo, obs).await
    }

    async fn auth(
        &mut self,
        login: &str,
        password: &Secret,
        obs: &mut Observation,
    ) -> Result<(), ProbeError> {
        let mechs = self.auth_mechs();
        if mechs.is_empty() {
            return Err(self.conn.err(
                "auth",
                ErrorKind::Capability,
                "AUTH not offered by the server",
            ));
        }
        let offered = |m: &str| mechs.iter().any(|x| x.eq_ignore_ascii_case(m));
        let mech = match self.ep.auth {
            Some(AuthMech::Login) => AuthMech::Login,
            Some(AuthMech::Plain) => AuthMech::Plain,
            _ if offered("PLAIN") => AuthMech::Plain,
            _ => AuthMech::Login,
        };
        let name = if mech == AuthMech::Plain {
            "PLAIN"
        } else {
            "LOGIN"
        };
        if !offered(name) {
            return Err(self.conn.err(
                "auth",
                ErrorKind::Capability,
                format!(
                    "AUTH {name} not offered (server offers: {})",
                    mechs.join(" ")
                ),
            ));
        }
        if self.conn.tls_info().is_none() {
            obs.fact("auth_cleartext", "true");
            self.conn
                .note("credentials sent without TLS (endpoint has tls: none)");
        }
        let t0 = std::time::Instant::now();
        let res = async {
            let r = if mech == AuthMech::Plain {
                let ir = sasl_plain(login, password);
                self.cmd_shown("auth", &format!("AUTH PLAIN {ir}"), "AUTH PLAIN <redacted>")
                    .await?
            } else {
                let r = self.cmd("auth", "AUTH LOGIN").await?;
                self.expect("auth", r, 3)?;
                let r = self
                    .cmd_shown("auth", &B64.encode(login), "<base64 login>")
                    .await?;
                self.expect("auth", r, 3)?;
                self.cmd_shown("auth", &B64.encode(password.expose()), "<redacted>")
                    .await?
            };
            self.expect("auth", r, 2)
        }
        .await;
        obs.phase("auth", ms_since(t0));
        res.map(|_| ())
    }

    async fn quit(&mut self, obs: &mut Observation) {
        let t0 = std::time::Instant::now();
        let r = self.cmd("quit", "QUIT").await;
        obs.phase("quit", ms_since(t0));
        if let Err(e) = r {
            // The work is done; a broken QUIT is reported, not fatal.
            obs.fact("quit_error", e.to_string());
        }
        self.conn.shutdown().await;
    }

    /// After a clean rejection the session is still in sync: say goodbye,
    /// briefly. After timeouts or protocol errors just drop the connection.
    async fn close_after(&mut self, e: &ProbeError) {
        if matches!(
            e.kind,
            ErrorKind::TempReject | ErrorKind::PermReject | ErrorKind::Auth | ErrorKind::Capability
        ) {
            self.step = self.step.min(Duration::from_secs(2));
            let _ = self.cmd("quit", "QUIT").await;
        }
        self.conn.shutdown().await;
    }

    fn flush(&mut self, obs: &mut Observation) {
        obs.transcript.extend(self.conn.take_transcript());
        add_bytes_received(obs, self.conn.bytes_read());
    }
}

/// SASL mechanisms from EHLO keywords.
pub fn auth_mechs(extensions: &[String]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for e in extensions {
        let upper = e.to_ascii_uppercase();
        let rest = if let Some(r) = upper.strip_prefix("AUTH ") {
            r
        } else if let Some(r) = upper.strip_prefix("AUTH=") {
            r
        } else {
            continue;
        };
        for m in rest.split_ascii_whitespace() {
            if !v.iter().any(|x| x == m) {
                v.push(m.to_string());
            }
        }
    }
    v
}

fn protocol_of(ep: &Endpoint, lmtp: bool) -> &'static str {
    if lmtp || ep.proto == crate::suite::model::Proto::Lmtp {
        "lmtp"
    } else {
        "smtp"
    }
}

/// Connect, TLS (implicit), greeting, EHLO/LHLO, STARTTLS when required.
async fn open<'a>(
    ep: &'a Endpoint,
    helo: &str,
    protocol: &'static str,
    step: Duration,
    obs: &mut Observation,
) -> Result<Session<'a>, ProbeError> {
    if let Err(e) = check_arg("helo", helo) {
        return Err(local_err(ep, protocol, "ehlo", ErrorKind::Local, &e));
    }
    let conn = timed(obs, "connect", Conn::connect_tcp(ep, protocol, step)).await?;
    let mut s = Session {
        conn,
        ep,
        step,
        protocol,
        extensions: Vec::new(),
        greeting_code: 0,
    };
    match open_session(&mut s, helo, obs).await {
        Ok(()) => Ok(s),
        Err(e) => {
            s.close_after(&e).await;
            s.flush(obs);
            Err(e)
        }
    }
}

async fn open_session(
    s: &mut Session<'_>,
    helo: &str,
    obs: &mut Observation,
) -> Result<(), ProbeError> {
    if s.ep.tls == TlsMode::Implicit {
        let info = timed(obs, "tls", s.conn.upgrade_tls(s.ep, s.step)).await?;
        record_tls(obs, &info);
    }
    let deadline = Instant::now() + s.step;
    let r = timed(obs, "greeting", s.reply("greeting", deadline)).await?;
    obs.fact("banner", r.text.clone());
    s.greeting_code = r.code;
    s.expect("greeting", r, 2)?;
    s.hello(helo, obs).await?;
    s.starttls(helo, obs).await?;
    if !s.extensions.is_empty() {
        obs.fact("esmtp", s.extensions.join(", "));
    }
    Ok(())
}

/// Submit one message: every phase timed, queue id parsed from the final reply.
pub async fn submit(
    req: &SubmitRequest<'_>,
    obs: &mut Observation,
) -> Result<SubmitOutcome, ProbeError> {
    let protocol = protocol_of(req.ep, false);
    for (what, v) in [("sender", req.from), ("recipient", req.to)] {
        if let Err(e) = check_arg(what, v) {
            return Err(local_err(req.ep, protocol, "mail", ErrorKind::Local, &e));
        }
    }
    let mut s = open(req.ep, req.helo, protocol, req.step_timeout, obs).await?;
    let res = submit_steps(&mut s, req, obs).await;
    match res {
        Ok(out) => {
            s.quit(obs).await;
            s.flush(obs);
            Ok(out)
        }
        Err(e) => {
            s.close_after(&e).await;
            s.flush(obs);
            Err(e)
        }
    }
}

async fn submit_steps(
    s: &mut Session<'_>,
    req: &SubmitRequest<'_>,
    obs: &mut Observation,
) -> Result<SubmitOutcome, ProbeError> {
    if let Some((login, password)) = req.auth {
        s.auth(login, password, obs).await?;
    }
    let r = timed(
        obs,
        "mail",
        s.cmd("mail", &format!("MAIL FROM:<{}>", req.from)),
    )
    .await?;
    s.expect("mail", r, 2)?;
    let r = timed(obs, "rcpt", s.cmd("rcpt", &format!("RCPT TO:<{}>", req.to))).await?;
    s.expect("rcpt", r, 2)?;
    let body = dot_stuff(req.message);
    let t0 = std::time::Instant::now();
    let res = async {
        let r = s.cmd("data", "DATA").await?;
        s.expect("data", r, 3)?;
        // The body gets its own step budget: it may be larger than a command.
        let deadline = Instant::now() + s.step;
        s.conn.send_raw_until("data", &body, deadline).await?;
        let r = s.reply("data", deadline).await?;
        let accepted_at = std::time::Instant::now();
        s.expect("data", r, 2).map(|r| (r, accepted_at))
    }
    .await;
    obs.phase("data", ms_since(t0));
    let (r, accepted_at) = res?;
    let queue_id = parse_queue_id(&r.text);
    if let Some(q) = &queue_id {
        obs.fact("queue_id", q.clone());
    }
    obs.fact("data_reply", r.line());
    Ok(SubmitOutcome {
        queue_id,
        accepted_at,
    })
}

/// Connect, greeting, EHLO (LHLO when lmtp), STARTTLS when required, QUIT.
pub async fn greet(
    ep: &Endpoint,
    helo: &str,
    lmtp: bool,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<Greeting, ProbeError> {
    let protocol = protocol_of(ep, lmtp);
    let mut s = open(ep, helo, protocol, step_timeout, obs).await?;
    let g = Greeting {
        code: s.greeting_code,
        banner: obs.facts.get("banner").cloned().unwrap_or_default(),
        extensions: s.extensions.clone(),
        tls: s.conn.tls_info().cloned(),
    };
    s.quit(obs).await;
    s.flush(obs);
    Ok(g)
}

/// Security probe: EHLO, STARTTLS if configured, MAIL FROM, RCPT TO, then
/// RSET + QUIT (never DATA). Returns the RCPT reply, or the MAIL reply when
/// MAIL was already refused; fact `refused_at` names which.
pub async fn try_rcpt(
    ep: &Endpoint,
    helo: &str,
    from: &str,
    to: &str,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<Reply, ProbeError> {
    try_rcpt_auth(ep, helo, from, to, None, step_timeout, obs).await
}

/// [`try_rcpt`] after an optional AUTH (e.g. "authenticated user may not
/// send as someone else").
pub async fn try_rcpt_auth(
    ep: &Endpoint,
    helo: &str,
    from: &str,
    to: &str,
    auth: Option<(&str, &Secret)>,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<Reply, ProbeError> {
    let protocol = protocol_of(ep, false);
    for (what, v) in [("sender", from), ("recipient", to)] {
        if let Err(e) = check_arg(what, v) {
            return Err(local_err(ep, protocol, "mail", ErrorKind::Local, &e));
        }
    }
    let mut s = open(ep, helo, protocol, step_timeout, obs).await?;
    let res = async {
        if let Some((login, password)) = auth {
            s.auth(login, password, obs).await?;
        }
        let r = timed(obs, "mail", s.cmd("mail", &format!("MAIL FROM:<{from}>"))).await?;
        if r.code / 100 != 2 {
            obs.fact("refused_at", "mail");
            return Ok(r);
        }
        let r = timed(obs, "rcpt", s.cmd("rcpt", &format!("RCPT TO:<{to}>"))).await?;
        if r.code / 100 != 2 {
            obs.fact("refused_at", "rcpt");
        }
        Ok(r)
    }
    .await;
    match res {
        Ok(r) => {
            // Abandon the transaction before anything could be sent.
            let _ = s.cmd("rset", "RSET").await;
            s.quit(obs).await;
            s.flush(obs);
            Ok(r)
        }
        Err(e) => {
            s.close_after(&e).await;
            s.flush(obs);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line(b"250-PIPELINING").unwrap(),
            (250, true, &b"PIPELINING"[..])
        );
        assert_eq!(
            parse_reply_line(b"250 OK").unwrap(),
            (250, false, &b"OK"[..])
        );
        assert_eq!(parse_reply_line(b"354").unwrap(), (354, false, &b""[..]));
        assert_eq!(parse_reply_line(b"421 4.3.2 bye").unwrap().0, 421);
        for bad in [
            &b""[..],
            b"25",
            b"2x0 ok",
            b"250_ok",
            b"999 no",
            b"100 no",
            b"\x00\x00\x00 x",
        ] {
            assert!(parse_reply_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn queue_ids_parse() {
        assert_eq!(
            parse_queue_id("2.0.0 Ok: queued as 4Xyz12AbC").as_deref(),
            Some("4Xyz12AbC")
        );
        assert_eq!(
            parse_queue_id("2.0.0 Ok: QUEUED AS 4Xyz (x)").as_deref(),
            Some("4Xyz")
        );
        assert_eq!(
            parse_queue_id("OK id=1abcDe-000123-Xy").as_deref(),
            Some("1abcDe-000123-Xy")
        );
        assert_eq!(
            parse_queue_id("2.6.0 <m@x> [InternalId=123] Queued mail for delivery"),
            None
        );
        assert_eq!(parse_queue_id("Ok: queued as "), None);
        assert_eq!(parse_queue_id("Ok: queued as \\x00evil").as_deref(), None);
        let long = format!("queued as {}", "A".repeat(500));
        assert_eq!(parse_queue_id(&long).unwrap().len(), 64);
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            dot_stuff(b"a\r\n.b\r\n..c\r\n"),
            b"a\r\n..b\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b"no newline"), b"no newline\r\n.\r\n");
        assert_eq!(dot_stuff(b"bare\n.lf\n"), b"bare\r\n..lf\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        // A dot mid-line is data, not a terminator.
        assert_eq!(dot_stuff(b"x.y\r\n"), b"x.y\r\n.\r\n");
    }

    #[test]
    fn auth_mechanisms_from_ehlo() {
        let ext = vec![
            "PIPELINING".to_string(),
            "AUTH PLAIN LOGIN".into(),
            "AUTH=LOGIN".into(),
        ];
        assert_eq!(auth_mechs(&ext), vec!["PLAIN", "LOGIN"]);
        assert!(auth_mechs(&["AUTHX Y".to_string()]).is_empty());
    }

    #[test]
    fn rejections_map_to_kinds() {
        assert_eq!(reject_kind(421), ErrorKind::TempReject);
        assert_eq!(reject_kind(554), ErrorKind::PermReject);
        assert_eq!(reject_kind(535), ErrorKind::Auth);
        assert_eq!(reject_kind(250), ErrorKind::Protocol);
    }

    #[test]
    fn command_arguments_cannot_inject() {
        assert!(check_arg("sender", "a@b.example").is_ok());
        assert!(check_arg("sender", "").is_ok(), "null sender is legal");
        assert!(check_arg("sender", "a@b>\r\nRCPT TO:<x@y").is_err());
        assert!(check_arg("helo", "").is_err());
        assert!(check_arg("helo", "x y").is_err());
    }

    proptest::proptest! {
        #[test]
        fn reply_parser_never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok((code, _, text)) = parse_reply_line(&line) {
                proptest::prop_assert!((200..600).contains(&code));
                proptest::prop_assert!(text.len() + 3 <= line.len());
            }
        }

        #[test]
        fn dot_stuffing_round_trips(lines in proptest::collection::vec("[.a-z ]{0,8}", 0..12)) {
            let msg = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
            let stuffed = dot_stuff(msg.as_bytes());
            let body = &stuffed[..stuffed.len() - 3];
            proptest::prop_assert!(stuffed.ends_with(b".\r\n"));
            // No line of the body is a lone dot: the terminator cannot occur early.
            let text = String::from_utf8(body.to_vec()).unwrap();
            proptest::prop_assert!(!text.split("\r\n").any(|l| l == "."));
            let unstuffed: String = text
                .split_inclusive("\r\n")
                .map(|l| l.strip_prefix('.').unwrap_or(l))
                .collect();
            proptest::prop_assert_eq!(unstuffed, msg);
        }
    }
}
