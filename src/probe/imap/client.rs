//! IMAP protocol client (RFC 3501/9051 subset; STARTTLS, SASL-IR, LITERAL+,
//! IDLE, UIDPLUS): one session, its commands and its transcript. What to
//! delete and when is [`crate::probe::mailbox`]'s.
//!
//! Own client rather than async-imap: that crate buffers up to 512 MiB per
//! response and logs LOGIN at trace level. Here every response is bounded
//! (line length by `wire`, literals by a per-command cap, at most
//! [`MAX_UNTAGGED`] untagged responses and [`CMD_BUDGET`] bytes per command).

use std::time::{Duration, Instant};

use crate::probe::imap_parse::{self, Arg, Cond, Parsed, Response};
use crate::probe::probe_msg::{self, ms_since, record_tls, timed};
use crate::probe::wire::{self, Conn, MAX_TEXT};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{AuthMech, TlsMode};
use crate::suite::resolve::Endpoint;

pub(super) const PROTO: &str = "imap";
/// Untagged responses accepted while one command runs.
pub const MAX_UNTAGGED: usize = 10_000;
/// Bytes accepted while one command runs (plus its literal cap).
pub const CMD_BUDGET: usize = 16 * 1024 * 1024;
/// Literal cap for everything but the probe's BODY[].
pub(super) const SMALL_LITERAL: usize = 64 * 1024;
/// Line pieces (literals) in one response.
const MAX_PIECES: usize = 64;
/// Re-search this often even without EXISTS growth (a missed notification
/// must not turn into a false "not arrived").
pub(super) const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// Error kind for a NO/BAD/BYE from its response code.
pub fn refusal_kind(cond: Cond, code: Option<&str>, auth: bool) -> ErrorKind {
    let name = code.map(imap_parse::code_name).unwrap_or_default();
    match name.as_str() {
        "UNAVAILABLE" | "INUSE" | "LIMIT" | "OVERQUOTA" => return ErrorKind::TempReject,
        "AUTHENTICATIONFAILED" | "AUTHORIZATIONFAILED" | "EXPIRED" => return ErrorKind::Auth,
        _ => {}
    }
    match cond {
        Cond::Bad => ErrorKind::Protocol,
        _ if auth => ErrorKind::Auth,
        _ => ErrorKind::PermReject,
    }
}

/// A finished command: its tagged status and the untagged responses before it.
pub(super) struct Done {
    cond: Cond,
    code: Option<String>,
    text: String,
    pub(super) untagged: Vec<Response>,
}

pub(super) struct Session<'a> {
    pub(super) conn: Conn,
    ep: &'a Endpoint,
    pub(super) step: Duration,
    pub(super) caps: Vec<String>,
    tag: u32,
    /// Last `* n EXISTS` seen.
    pub(super) exists: Option<u32>,
    /// When EXISTS last grew.
    pub(super) grew_at: Option<Instant>,
    /// How often EXISTS grew (a change counter for the wait loop).
    pub(super) arrivals: u64,
}

impl Session<'_> {
    pub(super) fn has_cap(&self, c: &str) -> bool {
        self.caps.iter().any(|x| x == c)
    }

    pub(super) fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("h{}", self.tag)
    }

    pub(super) fn protocol_err(&self, phase: &str, msg: impl Into<String>) -> ProbeError {
        self.conn.err(phase, ErrorKind::Protocol, msg)
    }

    /// One response (line pieces + literals) before `deadline`.
    pub(super) async fn response(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
        lit_cap: usize,
        budget: &mut usize,
    ) -> Result<Response, ProbeError> {
        let mut r = Response::default();
        loop {
            let line = self.conn.read_line_until(phase, deadline).await?;
            self.charge(phase, budget, line.len() + 2)?;
            r.text.extend_from_slice(&line);
            let n = match imap_parse::literal_len(&line) {
                None => return Ok(r),
                Some(Err(e)) => return Err(self.protocol_err(phase, e)),
                Some(Ok(n)) => n,
            };
            if n > lit_cap {
                return Err(self.protocol_err(
                    phase,
                    format!("server announced a {n}-byte literal (cap {lit_cap} bytes)"),
                ));
            }
            if r.literals.len() >= MAX_PIECES {
                return Err(self.protocol_err(
                    phase,
                    format!("more than {MAX_PIECES} literals in one response"),
                ));
            }
            self.charge(phase, budget, n)?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            r.literals.push(self.conn.read_exact(phase, n, left).await?);
        }
    }

    fn charge(&self, phase: &str, budget: &mut usize, n: usize) -> Result<(), ProbeError> {
        if n > *budget {
            return Err(self.protocol_err(
                phase,
                "server sent more data than any reply to this command needs",
            ));
        }
        *budget -= n;
        Ok(())
    }

    /// Book-keeping every untagged response gets (CAPABILITY, EXISTS).
    /// `Err` on BYE: the server is about to close.
    pub(super) fn note_untagged(&mut self, phase: &str, p: &Parsed) -> Result<(), ProbeError> {
        match p {
            Parsed::Capability(c) => self.caps = c.clone(),
            Parsed::Exists(n) => {
                if self.exists.is_some_and(|old| *n > old) {
                    self.grew_at = Some(Instant::now());
                    self.arrivals += 1;
                }
                self.exists = Some(*n);
            }
            // Count down, so an arrival in the same sync as another
            // session's expunge still shows as growth.
            Parsed::Expunge(_) => self.exists = self.exists.map(|n| n.saturating_sub(1)),
            Parsed::Status {
                cond: Cond::Bye,
                code,
                text,
            } => {
                return Err(self.conn.err(
                    phase,
                    bye_kind(code.as_deref()),
                    format!(
                        "server said BYE: {}",
                        wire::sanitize(text.as_bytes(), MAX_TEXT)
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Read until the tagged completion of `tag`, bounding untagged floods.
    pub(super) async fn complete(
        &mut self,
        phase: &str,
        tag: &str,
        deadline: tokio::time::Instant,
        lit_cap: usize,
        bye_ok: bool,
    ) -> Result<Done, ProbeError> {
        let mut budget = CMD_BUDGET.saturating_add(lit_cap);
        let mut untagged = Vec::new();
        loop {
            let r = self.response(phase, deadline, lit_cap, &mut budget).await?;
            let p = r.parse().map_err(|e| {
                self.protocol_err(phase, format!("{e}: {:?}", wire::sanitize(&r.text, 120)))
            })?;
            match p {
                Parsed::Tagged {
                    tag: t,
                    cond,
                    code,
                    text,
                } => {
                    if t != tag {
                        return Err(self.protocol_err(
                            phase,
                            format!("unexpected tag {:?}", wire::sanitize(t.as_bytes(), 40)),
                        ));
                    }
                    return Ok(Done {
                        cond,
                        code,
                        text: wire::sanitize(text.as_bytes(), MAX_TEXT),
                        untagged,
                    });
                }
                Parsed::Continue(_) => {
                    return Err(self.protocol_err(phase, "unexpected continuation request"));
                }
                other => {
                    if !(bye_ok
                        && matches!(
                            other,
                            Parsed::Status {
                                cond: Cond::Bye,
                                ..
                            }
                        ))
                    {
                        self.note_untagged(phase, &other)?;
                    }
                    if untagged.len() >= MAX_UNTAGGED {
                        return Err(self.protocol_err(
                            phase,
                            format!("more than {MAX_UNTAGGED} untagged responses to one command"),
                        ));
                    }
                    untagged.push(r);
                }
            }
        }
    }

    /// Send `TAG line` (shown redacted) and wait for its completion.
    pub(super) async fn run(
        &mut self,
        phase: &str,
        line: &str,
        lit_cap: usize,
    ) -> Result<Done, ProbeError> {
        let tag = self.next_tag();
        let full = format!("{tag} {line}");
        let deadline = tokio::time::Instant::now() + self.step;
        let shown = wire::redact_command(&full);
        self.conn
            .send_secret_line_until(phase, &full, &shown, deadline)
            .await?;
        self.complete(phase, &tag, deadline, lit_cap, line == "LOGOUT")
            .await
    }

    /// [`Session::run`] that must end in OK.
    pub(super) async fn ok(
        &mut self,
        phase: &str,
        line: &str,
        lit_cap: usize,
    ) -> Result<Done, ProbeError> {
        let d = self.run(phase, line, lit_cap).await?;
        self.expect_ok(phase, line, d, false)
    }

    pub(super) fn expect_ok(
        &self,
        phase: &str,
        line: &str,
        d: Done,
        auth: bool,
    ) -> Result<Done, ProbeError> {
        if d.cond == Cond::Ok {
            return Ok(d);
        }
        let verb = if auth {
            "login".to_string()
        } else {
            verb(line)
        };
        let cond = if d.cond == Cond::No { "NO" } else { "BAD" };
        let code = d
            .code
            .as_deref()
            .map(|c| format!("[{}] ", wire::sanitize(c.as_bytes(), 80)))
            .unwrap_or_default();
        Err(self.conn.err(
            phase,
            refusal_kind(d.cond, d.code.as_deref(), auth),
            format!("{verb} refused: {cond} {code}{}", d.text),
        ))
    }

    async fn capability(&mut self, phase: &str) -> Result<(), ProbeError> {
        self.caps.clear();
        self.ok(phase, "CAPABILITY", SMALL_LITERAL).await?;
        Ok(())
    }

    async fn starttls(&mut self, obs: &mut Observation) -> Result<(), ProbeError> {
        if !self.has_cap("STARTTLS") {
            return Err(self.conn.err(
                "starttls",
                ErrorKind::Capability,
                "STARTTLS required but not offered by the server (no downgrade)",
            ));
        }
        let info = timed(obs, "starttls", async {
            self.ok("starttls", "STARTTLS", SMALL_LITERAL).await?;
            self.conn.upgrade_tls(self.ep, self.step).await
        })
        .await?;
        record_tls(obs, &info);
        // RFC 3501 6.2.1: capabilities learned before TLS are void.
        self.capability("capa").await
    }

    /// Read a `+` continuation request for `tag` (a tagged reply instead is
    /// the server refusing the command).
    pub(super) async fn continuation(
        &mut self,
        phase: &str,
        tag: &str,
        deadline: tokio::time::Instant,
        auth: bool,
    ) -> Result<(), ProbeError> {
        let mut budget = CMD_BUDGET;
        for _ in 0..MAX_UNTAGGED {
            let r = self
                .response(phase, deadline, SMALL_LITERAL, &mut budget)
                .await?;
            match r.parse().map_err(|e| self.protocol_err(phase, e))? {
                Parsed::Continue(_) => return Ok(()),
                Parsed::Tagged {
                    tag: t,
                    cond,
                    code,
                    text,
                } if t == tag => {
                    let d = Done {
                        cond,
                        code,
                        text: wire::sanitize(text.as_bytes(), MAX_TEXT),
                        untagged: vec![],
                    };
                    return Err(self.expect_ok(phase, "", d, auth).err().unwrap_or_else(|| {
                        self.protocol_err(phase, "command completed before its continuation")
                    }));
                }
                Parsed::Tagged { .. } => return Err(self.protocol_err(phase, "unexpected tag")),
                other => self.note_untagged(phase, &other)?,
            }
        }
        Err(self.protocol_err(
            phase,
            format!("more than {MAX_UNTAGGED} untagged responses to one command"),
        ))
    }

    async fn auth(&mut self, login: &str, password: &Secret) -> Result<(), ProbeError> {
        const PH: &str = "auth";
        if login.contains(['\r', '\n', '\0']) || password.expose().contains(['\r', '\n', '\0']) {
            return Err(self.conn.err(
                PH,
                ErrorKind::Local,
                "login or password contains CR, LF or NUL",
            ));
        }
        if self.has_cap("LOGINDISABLED") {
            return Err(self.conn.err(
                PH,
                ErrorKind::Capability,
                "server advertises LOGINDISABLED (it wants TLS first: use tls: starttls or implicit)",
            ));
        }
        let tag = self.next_tag();
        let deadline = tokio::time::Instant::now() + self.step;
        if self.ep.auth == Some(AuthMech::Plain) {
            if !self.has_cap("AUTH=PLAIN") {
                return Err(self.conn.err(
                    PH,
                    ErrorKind::Capability,
                    "AUTHENTICATE PLAIN not offered (no AUTH=PLAIN)",
                ));
            }
            let ir = probe_msg::sasl_plain(login, password);
            let shown = format!("{tag} AUTHENTICATE PLAIN <redacted>");
            if self.has_cap("SASL-IR") {
                let line = format!("{tag} AUTHENTICATE PLAIN {ir}");
                self.conn
                    .send_secret_line_until(PH, &line, &shown, deadline)
                    .await?;
            } else {
                let line = format!("{tag} AUTHENTICATE PLAIN");
                self.conn
                    .send_secret_line_until(PH, &line, &line, deadline)
                    .await?;
                self.continuation(PH, &tag, deadline, true).await?;
                self.conn
                    .send_secret_line_until(PH, &ir, "<redacted>", deadline)
                    .await?;
            }
        } else {
            // LOGIN with quoted strings, or literals for 8-bit values.
            let plus = self.has_cap("LITERAL+");
            let mut line = format!("{tag} LOGIN");
            let mut shown = line.clone();
            for (i, arg) in [
                imap_parse::astring(login),
                imap_parse::astring(password.expose()),
            ]
            .into_iter()
            .enumerate()
            {
                let secret = i == 1;
                line.push(' ');
                shown.push(' ');
                match arg {
                    Arg::Quoted(q) => {
                        line.push_str(&q);
                        shown.push_str(if secret { "<redacted>" } else { &q });
                    }
                    Arg::Literal(b) => {
                        line.push_str(&format!("{{{}{}}}", b.len(), if plus { "+" } else { "" }));
                        shown.push_str(if secret { "<redacted>" } else { "{literal}" });
                        self.conn
                            .send_secret_line_until(PH, &line, &shown, deadline)
                            .await?;
                        if !plus {
                            self.continuation(PH, &tag, deadline, true).await?;
                        }
                        // Literal bytes go on the next "line"; the command goes on after them.
                        line = String::from_utf8_lossy(&b).into_owned();
                        shown = if secret {
                            "<redacted>".into()
                        } else {
                            "{literal}".into()
                        };
                    }
                }
            }
            self.conn
                .send_secret_line_until(PH, &line, &shown, deadline)
                .await?;
        }
        let d = self
            .complete(PH, &tag, deadline, SMALL_LITERAL, false)
            .await?;
        if let Some(c) = d
            .code
            .as_deref()
            .filter(|c| imap_parse::code_name(c) == "CAPABILITY")
        {
            self.caps = imap_parse::capability_words(&c["CAPABILITY".len()..]);
        }
        self.expect_ok(PH, "LOGIN", d, true)?;
        // Capabilities change after login (UIDPLUS, IDLE): know them for sure.
        let got_caps = self.has_cap("IMAP4REV1") || self.has_cap("IMAP4REV2");
        if !got_caps || !self.caps.iter().any(|c| c == "UIDPLUS" || c == "IDLE") {
            self.capability(PH).await?;
        }
        Ok(())
    }

    pub(super) async fn logout(&mut self, obs: &mut Observation) {
        let r = timed(obs, "logout", self.run("logout", "LOGOUT", SMALL_LITERAL)).await;
        if let Err(e) = r {
            // The work is done; a broken LOGOUT is reported, not fatal.
            obs.fact("logout_error", e.to_string());
        }
        self.conn.shutdown().await;
    }

    pub(super) fn flush(&mut self, obs: &mut Observation) {
        obs.transcript.extend(self.conn.take_transcript());
        probe_msg::add_bytes_received(obs, self.conn.bytes_read());
    }
}

/// A BYE mid-session without a telling code is the server going away:
/// temporary.
fn bye_kind(code: Option<&str>) -> ErrorKind {
    match refusal_kind(Cond::Bye, code, false) {
        ErrorKind::PermReject => ErrorKind::TempReject,
        k => k,
    }
}

/// Command name for messages: `SELECT`, `UID STORE`.
fn verb(line: &str) -> String {
    let mut w = line.split(' ');
    match (w.next(), w.next()) {
        (Some(u), Some(v)) if u.eq_ignore_ascii_case("UID") => format!("{u} {v}"),
        (Some(v), _) => v.to_string(),
        _ => String::new(),
    }
}

/// Connect, TLS, greeting, capabilities, STARTTLS when required, and (when
/// `auth`) log in. Every phase timed into `obs`.
pub(super) async fn open<'a>(
    ep: &'a Endpoint,
    auth: Option<(&str, &Secret)>,
    step: Duration,
    obs: &mut Observation,
) -> Result<Session<'a>, ProbeError> {
    let t0 = Instant::now();
    let conn = timed(obs, "connect", Conn::connect_tcp(ep, PROTO, step)).await?;
    let mut s = Session {
        conn,
        ep,
        step,
        caps: Vec::new(),
        tag: 0,
        exists: None,
        grew_at: None,
        arrivals: 0,
    };
    match open_steps(&mut s, auth, obs).await {
        Ok(()) => {
            if auth.is_some() {
                obs.phase("login", ms_since(t0));
            }
            Ok(s)
        }
        Err(e) => {
            s.conn.shutdown().await;
            s.flush(obs);
            Err(e)
        }
    }
}

async fn open_steps(
    s: &mut Session<'_>,
    auth: Option<(&str, &Secret)>,
    obs: &mut Observation,
) -> Result<(), ProbeError> {
    if s.ep.tls == TlsMode::Implicit {
        let info = timed(obs, "tls", s.conn.upgrade_tls(s.ep, s.step)).await?;
        record_tls(obs, &info);
    }
    let t0 = Instant::now();
    let g = greeting(s, obs).await;
    obs.phase("greeting", ms_since(t0));
    g?;
    if s.caps.is_empty() {
        timed(obs, "capa", s.capability("capa")).await?;
    }
    if s.ep.tls == TlsMode::Starttls {
        s.starttls(obs).await?;
    }
    if let Some((login, password)) = auth {
        if s.conn.tls_info().is_none() {
            obs.fact("auth_cleartext", "true");
        }
        timed(obs, "auth", s.auth(login, password)).await?;
    }
    if !s.caps.is_empty() {
        obs.fact("imap_capability", s.caps.join(" "));
    }
    Ok(())
}

async fn greeting(s: &mut Session<'_>, obs: &mut Observation) -> Result<(), ProbeError> {
    const PH: &str = "greeting";
    let deadline = tokio::time::Instant::now() + s.step;
    let mut budget = CMD_BUDGET;
    let r = s.response(PH, deadline, SMALL_LITERAL, &mut budget).await?;
    obs.fact("banner", wire::sanitize(&r.text, MAX_TEXT));
    match r.parse() {
        Ok(Parsed::Status {
            cond: Cond::Ok,
            code,
            ..
        }) => {
            if let Some(c) = code.filter(|c| imap_parse::code_name(c) == "CAPABILITY") {
                s.caps = imap_parse::capability_words(&c["CAPABILITY".len()..]);
            }
            Ok(())
        }
        Ok(Parsed::Status { cond, code, text })
            if matches!(cond, Cond::Bye | Cond::No | Cond::Bad) =>
        {
            Err(s.conn.err(
                PH,
                refusal_kind(cond, code.as_deref(), false),
                format!(
                    "server refused service: {}",
                    wire::sanitize(text.as_bytes(), MAX_TEXT)
                ),
            ))
        }
        Ok(Parsed::Status {
            cond: Cond::Preauth,
            ..
        }) => Err(s.conn.err(
            PH,
            ErrorKind::Protocol,
            "server greeted with PREAUTH: cannot log in as the probe account",
        )),
        _ => Err(s.protocol_err(
            PH,
            format!("not an IMAP greeting: {:?}", wire::sanitize(&r.text, 120)),
        )),
    }
}

/// LOGOUT after success, drop the connection after an error.
pub(super) async fn finish<T>(
    mut s: Session<'_>,
    r: Result<T, ProbeError>,
    obs: &mut Observation,
) -> Result<T, ProbeError> {
    match &r {
        Ok(_) => s.logout(obs).await,
        Err(_) => s.conn.shutdown().await,
    }
    s.flush(obs);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_kinds() {
        assert_eq!(
            refusal_kind(Cond::No, Some("AUTHENTICATIONFAILED"), true),
            ErrorKind::Auth
        );
        assert_eq!(refusal_kind(Cond::No, None, true), ErrorKind::Auth);
        assert_eq!(
            refusal_kind(Cond::No, Some("UNAVAILABLE"), true),
            ErrorKind::TempReject
        );
        assert_eq!(refusal_kind(Cond::No, None, false), ErrorKind::PermReject);
        assert_eq!(refusal_kind(Cond::Bad, None, false), ErrorKind::Protocol);
        assert_eq!(bye_kind(None), ErrorKind::TempReject);
        assert_eq!(bye_kind(Some("UNAVAILABLE")), ErrorKind::TempReject);
        assert_eq!(verb("UID STORE 1 +FLAGS"), "UID STORE");
        assert_eq!(verb("SELECT INBOX"), "SELECT");
    }
}
