//! POP3 probe client (RFC 1939, CAPA/RESP-CODES RFC 2449/3206, STLS RFC 2595,
//! SASL PLAIN RFC 5034).
//!
//! Own client because no maintained tokio POP3 crate does STLS with bounded
//! reads. POP3 shows each session a snapshot of the mailbox, so waiting for a
//! probe means logging in again with backoff (~25 ms doubling to 500 ms).
//!
//! Safety rules (the mailbox belongs to a customer):
//! - only the newest [`SCAN_NEWEST`] messages are looked at, by number,
//!   whatever STAT/LIST announce (a hostile or huge mailbox costs bounded time
//!   and memory);
//! - a message is ours only when its header section (TOP n 0, then again on
//!   RETR) carries our token, or our exact case id with another token
//!   (a leftover); DELE touches nothing else;
//! - deletions commit only on QUIT: on any doubt the session is dropped
//!   without QUIT, which leaves the mailbox untouched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::probe_msg::{self, Backoff, Mark, local_err, ms_between, ms_since, record_tls, timed};
use super::wire::{self, Conn, MAX_TEXT};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{AuthMech, TlsMode};
use crate::suite::resolve::Endpoint;

pub use super::probe_msg::{RetrieveRequest, Retrieved};

const PROTO: &str = "pop3";
/// Newest messages scanned per session (by message number, descending).
pub const SCAN_NEWEST: u64 = 200;
/// Up to this many messages a plain `UIDL` listing is read; above it, one
/// `UIDL n` per scanned message (the listing would be huge).
pub const FULL_UIDL_MAX: u64 = 2000;
/// Header bytes kept from `TOP n 0` (more is read and dropped, up to
/// [`TOP_HARD_CAP`]).
const TOP_KEEP: usize = 64 * 1024;
const TOP_HARD_CAP: usize = 4 * 1024 * 1024;
/// CAPA listing bounds.
const CAPA_LINES: usize = 256;
const CAPA_BYTES: usize = 32 * 1024;
/// UIDL cache entries kept across polling sessions.
const CACHE_MAX: usize = 100_000;

/// A POP3 status line: `+OK text` or `-ERR text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok(String),
    Err(String),
}

/// Parse a status line; `None` when it is neither `+OK` nor `-ERR`.
pub fn parse_status(line: &[u8]) -> Option<Status> {
    let text = |rest: &[u8]| wire::sanitize(rest.trim_ascii(), MAX_TEXT);
    let up: Vec<u8> = line.iter().take(4).map(u8::to_ascii_uppercase).collect();
    if up.starts_with(b"+OK") {
        Some(Status::Ok(text(&line[3..])))
    } else if up.starts_with(b"-ERR") {
        Some(Status::Err(text(&line[4..])))
    } else {
        None
    }
}

/// Error kind for a `-ERR` (RFC 2449/3206 response codes say "temporary").
pub fn err_kind(text: &str, auth: bool) -> ErrorKind {
    let code = text
        .strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .unwrap_or("")
        .to_ascii_uppercase();
    match code.as_str() {
        "SYS/TEMP" | "IN-USE" | "LOGIN-DELAY" => ErrorKind::TempReject,
        "AUTH" => ErrorKind::Auth,
        _ if auth => ErrorKind::Auth,
        _ => ErrorKind::PermReject,
    }
}

/// `+OK count size` → (count, size).
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// A `UIDL` line (`n uid`) → (n, uid). The uid is 1..70 printable chars.
pub fn parse_uidl(line: &[u8]) -> Option<(u64, String)> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_ascii_whitespace();
    let n = it.next()?.parse().ok()?;
    let uid = it.next()?;
    if uid.len() > 70 || !uid.bytes().all(|b| (0x21..0x7f).contains(&b)) || it.next().is_some() {
        return None;
    }
    Some((n, uid.to_string()))
}

/// Accumulates a multi-line response body: dot-unstuffing, CRLF line ends,
/// a cap on kept bytes and a hard cap on bytes read.
#[derive(Debug)]
pub struct MultiLine {
    pub data: Vec<u8>,
    keep: usize,
    hard: usize,
    seen: usize,
    lines: usize,
    max_lines: usize,
    pub truncated: bool,
}

/// What one pushed line meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    More,
    Done,
}

impl MultiLine {
    /// Keep at most `keep` bytes; more than `hard` bytes or `max_lines`
    /// lines is an error.
    pub fn new(keep: usize, hard: usize, max_lines: usize) -> Self {
        MultiLine {
            data: Vec::new(),
            keep,
            hard,
            seen: 0,
            lines: 0,
            max_lines,
            truncated: false,
        }
    }

    pub fn lines(&self) -> usize {
        self.lines
    }

    pub fn push(&mut self, line: &[u8]) -> Result<Push, String> {
        if line == b"." {
            return Ok(Push::Done);
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        self.lines += 1;
        if self.lines > self.max_lines {
            return Err(format!(
                "multi-line response longer than {} lines",
                self.max_lines
            ));
        }
        self.seen += line.len() + 2;
        if self.seen > self.hard {
            return Err(format!(
                "multi-line response larger than {} bytes",
                self.hard
            ));
        }
        if self.data.len() + line.len() + 2 <= self.keep {
            self.data.extend_from_slice(line);
            self.data.extend_from_slice(b"\r\n");
        } else {
            self.truncated = true;
        }
        Ok(Push::More)
    }
}

/// An open, logged-in (or not yet) POP3 session.
struct Session<'a> {
    conn: Conn,
    ep: &'a Endpoint,
    step: Duration,
    caps: Vec<String>,
    /// When the login completed (the session's mailbox snapshot).
    logged_in_at: Option<Instant>,
    /// Transcript so far, with message contents (TOP/RETR bodies: the
    /// user's own mail headers) replaced by a line count.
    log: Vec<String>,
}

impl Session<'_> {
    async fn status(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Status, ProbeError> {
        let line = self.conn.read_line_until(phase, deadline).await?;
        parse_status(&line).ok_or_else(|| {
            self.conn.err(
                phase,
                ErrorKind::Protocol,
                format!("expected +OK or -ERR, got {:?}", wire::sanitize(&line, 120)),
            )
        })
    }

    /// Send a command (shown as `shown`) and read its status line.
    async fn cmd_shown(
        &mut self,
        phase: &str,
        line: &str,
        shown: &str,
    ) -> Result<Status, ProbeError> {
        let deadline = tokio::time::Instant::now() + self.step;
        self.conn
            .send_secret_line_until(phase, line, shown, deadline)
            .await?;
        self.status(phase, deadline).await
    }

    /// A command that must answer `+OK`.
    async fn ok(&mut self, phase: &str, line: &str) -> Result<String, ProbeError> {
        match self
            .cmd_shown(phase, line, &wire::redact_command(line))
            .await?
        {
            Status::Ok(t) => Ok(t),
            Status::Err(t) => {
                let verb = line.split(' ').next().unwrap_or(line);
                Err(self
                    .conn
                    .err(phase, err_kind(&t, false), format!("{verb}: -ERR {t}")))
            }
        }
    }

    /// Read a multi-line body into `ml` before the step deadline. Its lines
    /// stay out of the transcript (they may be a customer's mail).
    async fn body(&mut self, phase: &str, ml: &mut MultiLine) -> Result<(), ProbeError> {
        self.keep_transcript();
        let r = self.body_lines(phase, ml, |_| Ok(())).await;
        let n = self.conn.take_transcript().len();
        self.push_log(format!("S: <{n} lines, content not shown>"));
        r
    }

    /// The lines of a multi-line body, each also given to `each` (raw).
    async fn body_lines(
        &mut self,
        phase: &str,
        ml: &mut MultiLine,
        mut each: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), ProbeError> {
        let deadline = tokio::time::Instant::now() + self.step;
        loop {
            let line = self.conn.read_line_until(phase, deadline).await?;
            let r = ml.push(&line).and_then(|p| {
                if p == Push::More {
                    each(&line)?;
                }
                Ok(p)
            });
            match r {
                Ok(Push::Done) => return Ok(()),
                Ok(Push::More) => {}
                Err(e) => return Err(self.conn.err(phase, ErrorKind::Protocol, e)),
            }
        }
    }

    /// CAPA (optional in POP3: a server without it gets an empty list).
    async fn capa(&mut self, phase: &str) -> Result<(), ProbeError> {
        self.caps.clear();
        if let Status::Ok(_) = self.cmd_shown(phase, "CAPA", "CAPA").await? {
            let mut ml = MultiLine::new(CAPA_BYTES, CAPA_BYTES, CAPA_LINES);
            self.body_lines(phase, &mut ml, |_| Ok(())).await?;
            self.caps = String::from_utf8_lossy(&ml.data)
                .lines()
                .map(|l| l.trim().to_ascii_uppercase())
                .filter(|l| !l.is_empty())
                .collect();
        }
        Ok(())
    }

    fn has_cap(&self, name: &str) -> bool {
        self.caps.iter().any(|c| c.split(' ').next() == Some(name))
    }

    fn sasl_mechs(&self) -> Option<Vec<&str>> {
        self.caps
            .iter()
            .find(|c| c.starts_with("SASL"))
            .map(|c| c.split(' ').skip(1).collect())
    }

    async fn stls(&mut self, obs: &mut Observation) -> Result<(), ProbeError> {
        if !self.has_cap("STLS") {
            return Err(self.conn.err(
                "starttls",
                ErrorKind::Capability,
                "STLS required but not offered by the server (no downgrade)",
            ));
        }
        let info = timed(obs, "starttls", async {
            self.ok("starttls", "STLS").await?;
            self.conn.upgrade_tls(self.ep, self.step).await
        })
        .await?;
        record_tls(obs, &info);
        // RFC 2595: capabilities learned before TLS are void.
        self.capa("capa").await
    }

    async fn auth(&mut self, login: &str, password: &Secret) -> Result<(), ProbeError> {
        const PH: &str = "auth";
        if login.contains([' ', '\r', '\n', '\0']) || password.expose().contains(['\r', '\n', '\0'])
        {
            return Err(self.conn.err(
                PH,
                ErrorKind::Local,
                "login or password contains CR, LF, NUL or (login) space",
            ));
        }
        // USER/PASS unless PLAIN is asked for, or the server lists
        // capabilities without USER but with SASL PLAIN.
        let plain = match self.ep.auth {
            Some(AuthMech::Plain) => true,
            Some(_) => false,
            None => {
                !self.caps.is_empty()
                    && !self.has_cap("USER")
                    && self.sasl_mechs().is_some_and(|m| m.contains(&"PLAIN"))
            }
        };
        let reply = if plain {
            if let Some(m) = self.sasl_mechs()
                && !m.contains(&"PLAIN")
            {
                return Err(self.conn.err(
                    PH,
                    ErrorKind::Capability,
                    format!("SASL PLAIN not offered (server offers: {})", m.join(" ")),
                ));
            }
            let ir = probe_msg::sasl_plain(login, password);
            let line = format!("AUTH PLAIN {ir}");
            if line.len() <= 255 {
                self.cmd_shown(PH, &line, "AUTH PLAIN <redacted>").await?
            } else {
                // RFC 2449 caps command lines at 255 octets: no initial response.
                let deadline = tokio::time::Instant::now() + self.step;
                self.conn
                    .send_secret_line_until(PH, "AUTH PLAIN", "AUTH PLAIN", deadline)
                    .await?;
                let l = self.conn.read_line_until(PH, deadline).await?;
                if !l.starts_with(b"+") || l.starts_with(b"+OK") {
                    return Err(self.conn.err(
                        PH,
                        ErrorKind::Protocol,
                        "no SASL continuation after AUTH PLAIN",
                    ));
                }
                self.cmd_shown(PH, &ir, "<redacted>").await?
            }
        } else {
            if let Status::Err(t) = self
                .cmd_shown(PH, &format!("USER {login}"), &format!("USER {login}"))
                .await?
            {
                return Err(self
                    .conn
                    .err(PH, err_kind(&t, true), format!("USER: -ERR {t}")));
            }
            self.cmd_shown(
                PH,
                &format!("PASS {}", password.expose()),
                "PASS <redacted>",
            )
            .await?
        };
        match reply {
            Status::Ok(_) => Ok(()),
            Status::Err(t) => {
                Err(self
                    .conn
                    .err(PH, err_kind(&t, true), format!("login refused: -ERR {t}")))
            }
        }
    }

    /// `STAT` → message count.
    async fn stat(&mut self, phase: &str) -> Result<u64, ProbeError> {
        let t = self.ok(phase, "STAT").await?;
        parse_stat(&t).map(|(n, _)| n).ok_or_else(|| {
            self.conn.err(
                phase,
                ErrorKind::Protocol,
                format!("unparsable STAT reply {t:?}"),
            )
        })
    }

    /// UIDLs of messages `lowest..=count` (None when UIDL is unsupported).
    async fn uidls(
        &mut self,
        phase: &str,
        lowest: u64,
        count: u64,
    ) -> Result<Option<HashMap<u64, String>>, ProbeError> {
        let mut map = HashMap::new();
        if count <= FULL_UIDL_MAX {
            if let Status::Err(_) = self.cmd_shown(phase, "UIDL", "UIDL").await? {
                return Ok(None);
            }
            self.keep_transcript();
            let r = self.uidl_listing(phase, lowest, count, &mut map).await;
            let n = self.conn.take_transcript().len();
            self.push_log(format!("S: <{n} UIDL lines>"));
            r?;
        } else {
            for n in (lowest..=count).rev() {
                let line = format!("UIDL {n}");
                match self.cmd_shown(phase, &line, &line).await? {
                    Status::Err(_) if map.is_empty() => return Ok(None),
                    Status::Err(_) => {}
                    Status::Ok(t) => {
                        if let Some((m, uid)) = parse_uidl(t.as_bytes()).filter(|(m, _)| *m == n) {
                            map.insert(m, uid);
                        }
                    }
                }
            }
        }
        Ok(Some(map))
    }

    /// Read a `UIDL` listing, keeping the entries of messages `lowest..=count`.
    async fn uidl_listing(
        &mut self,
        phase: &str,
        lowest: u64,
        count: u64,
        map: &mut HashMap<u64, String>,
    ) -> Result<(), ProbeError> {
        let mut ml = MultiLine::new(0, usize::MAX, count as usize);
        let each = |line: &[u8]| {
            let (n, uid) = parse_uidl(line)
                .ok_or_else(|| format!("bad UIDL line {:?}", wire::sanitize(line, 80)))?;
            if n >= lowest && n <= count {
                map.insert(n, uid);
            }
            Ok(())
        };
        self.body_lines(phase, &mut ml, each)
            .await
            .map_err(|mut e| {
                e.message = format!("UIDL (STAT announced {count} messages): {}", e.message);
                e
            })
    }

    /// `TOP n 0` → header section; `None` when the server refuses it.
    async fn top(&mut self, phase: &str, n: u64) -> Result<Option<Vec<u8>>, ProbeError> {
        let line = format!("TOP {n} 0");
        if let Status::Err(_) = self.cmd_shown(phase, &line, &line).await? {
            return Ok(None);
        }
        let mut ml = MultiLine::new(TOP_KEEP, TOP_HARD_CAP, usize::MAX);
        self.body(phase, &mut ml).await?;
        Ok(Some(ml.data))
    }

    /// Find our message and leftovers among the newest messages.
    async fn scan(
        &mut self,
        req: &RetrieveRequest<'_>,
        cache: &mut HashMap<String, Mark>,
    ) -> Result<Scan, ProbeError> {
        const PH: &str = "delivery";
        let count = self.stat(PH).await?;
        let lowest = count.saturating_sub(SCAN_NEWEST) + 1;
        let mut scan = Scan::default();
        if count == 0 {
            return Ok(scan);
        }
        let uidls = self.uidls(PH, lowest, count).await?;
        if cache.len() > CACHE_MAX {
            cache.clear();
        }
        for n in (lowest..=count).rev() {
            let uid = uidls.as_ref().and_then(|m| m.get(&n));
            let mark = match uid.and_then(|u| cache.get(u)) {
                Some(m) => *m,
                None => {
                    let Some(head) = self.top(PH, n).await? else {
                        // Expunged meanwhile, or no TOP: never ours to touch.
                        continue;
                    };
                    let m = probe_msg::classify(&head, req.token, req.case_id);
                    if let Some(u) = uid {
                        cache.insert(u.clone(), m);
                    }
                    m
                }
            };
            match mark {
                Mark::Ours => scan.ours.push(n),
                Mark::Leftover => scan.leftovers.push(n),
                Mark::Other => {}
            }
        }
        Ok(scan)
    }

    /// RETR with dot-unstuffing and the size cap.
    async fn retr(&mut self, n: u64, cap: usize) -> Result<Vec<u8>, ProbeError> {
        const PH: &str = "fetch";
        self.ok(PH, &format!("RETR {n}")).await?;
        let mut ml = MultiLine::new(cap, cap, usize::MAX);
        self.body(PH, &mut ml).await?;
        Ok(ml.data)
    }

    async fn quit(&mut self, phase: &str) -> Result<(), ProbeError> {
        let r = self.ok(phase, "QUIT").await;
        self.conn.shutdown().await;
        r.map(|_| ())
    }

    /// Leave without QUIT: POP3 then commits nothing (no DELE takes effect).
    async fn drop_session(&mut self) {
        self.conn.shutdown().await;
    }

    fn keep_transcript(&mut self) {
        for l in self.conn.take_transcript() {
            self.push_log(l);
        }
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() < wire::MAX_TRANSCRIPT {
            self.log.push(line);
        } else if self.log.len() == wire::MAX_TRANSCRIPT {
            self.log.push("* further transcript lines omitted".into());
        }
    }

    fn flush(&mut self, obs: &mut Observation) {
        self.keep_transcript();
        obs.transcript.append(&mut self.log);
        probe_msg::add_bytes_received(obs, self.conn.bytes_read());
    }
}

#[derive(Debug, Default)]
struct Scan {
    /// Message numbers carrying our token (normally one; two = duplicate).
    ours: Vec<u64>,
    leftovers: Vec<u64>,
}

/// Connect, TLS, greeting, CAPA, STLS when required, and (when `login`)
/// authenticate. Every phase timed into `obs`.
async fn open<'a>(
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
        logged_in_at: None,
        log: Vec::new(),
    };
    match open_steps(&mut s, auth, obs).await {
        Ok(()) => {
            if auth.is_some() {
                obs.phase("login", ms_since(t0));
                s.logged_in_at = Some(Instant::now());
            }
            Ok(s)
        }
        Err(e) => {
            s.drop_session().await;
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
    let deadline = tokio::time::Instant::now() + s.step;
    let g = timed(obs, "greeting", s.status("greeting", deadline)).await?;
    match g {
        Status::Ok(t) => obs.fact("banner", t),
        Status::Err(t) => {
            obs.fact("banner", format!("-ERR {t}"));
            return Err(s.conn.err(
                "greeting",
                err_kind(&t, false),
                format!("server refused service: -ERR {t}"),
            ));
        }
    }
    timed(obs, "capa", s.capa("capa")).await?;
    if s.ep.tls == TlsMode::Starttls {
        s.stls(obs).await?;
    }
    if !s.caps.is_empty() {
        obs.fact("pop3_capa", s.caps.join(", "));
    }
    if let Some((login, password)) = auth {
        if s.conn.tls_info().is_none() {
            obs.fact("auth_cleartext", "true");
        }
        timed(obs, "auth", s.auth(login, password)).await?;
    }
    Ok(())
}

/// Login and look for the token once (no wait, no delete).
pub async fn probe_present(
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<bool, ProbeError> {
    let mut s = open(
        req.ep,
        Some((req.login, req.password)),
        req.step_timeout,
        obs,
    )
    .await?;
    let r = s.scan(req, &mut HashMap::new()).await;
    finish_readonly(s, r, obs)
        .await
        .map(|sc| !sc.ours.is_empty())
}

/// QUIT after a session that changed nothing (or drop it after an error).
async fn finish_readonly<T>(
    mut s: Session<'_>,
    r: Result<T, ProbeError>,
    obs: &mut Observation,
) -> Result<T, ProbeError> {
    let r = match r {
        Ok(v) => timed(obs, "logout", s.quit("logout")).await.map(|_| v),
        Err(e) => {
            s.drop_session().await;
            Err(e)
        }
    };
    s.flush(obs);
    r
}

/// Login only (a wrong password must give `Err(kind == Auth)`).
pub async fn login_check(
    ep: &Endpoint,
    login: &str,
    password: &Secret,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<(), ProbeError> {
    let s = open(ep, Some((login, password)), step_timeout, obs).await?;
    finish_readonly(s, Ok(()), obs).await
}

/// Greeting + CAPA (after STLS when the endpoint requires it), no login.
pub async fn capabilities(
    ep: &Endpoint,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<Vec<String>, ProbeError> {
    let s = open(ep, None, step_timeout, obs).await?;
    let caps = s.caps.clone();
    finish_readonly(s, Ok(caps), obs).await
}

/// Wait for the probe (re-login with backoff), fetch it, delete it and any
/// leftovers of this case, QUIT to commit.
pub async fn retrieve(
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Retrieved, ProbeError> {
    probe_msg::check_request(req, PROTO)?;
    let mut cache = HashMap::new();
    let mut backoff = Backoff::default();
    let mut polls = 0u32;
    let mut s = open(
        req.ep,
        Some((req.login, req.password)),
        req.step_timeout,
        obs,
    )
    .await?;
    let wait_from = s.logged_in_at.unwrap_or_else(Instant::now);
    loop {
        let found = match s.scan(req, &mut cache).await {
            Ok(sc) => sc,
            Err(e) => {
                s.drop_session().await;
                s.flush(obs);
                return Err(e);
            }
        };
        if !found.ours.is_empty() {
            let detected_at = s.logged_in_at.unwrap_or_else(Instant::now);
            obs.phase("delivery", ms_between(wait_from, detected_at));
            if polls > 0 {
                obs.fact("polls", polls.to_string());
                obs.transcript.push(format!("* {polls} polling sessions (transcripts omitted); the one that found the probe:"));
            }
            return take(s, req, found, detected_at, obs).await;
        }
        // Nothing yet: end this snapshot politely, then log in again.
        let quit = s.quit("delivery").await;
        if polls == 0 {
            s.flush(obs);
        } else {
            probe_msg::add_bytes_received(obs, s.conn.bytes_read());
        }
        quit?;
        let Some(delay) = backoff.next_delay(req.arrival_deadline) else {
            obs.phase("delivery", ms_since(wait_from));
            obs.fact("polls", polls.to_string());
            return Err(local_err(
                req.ep,
                PROTO,
                "delivery",
                ErrorKind::NotArrived,
                &format!(
                    "probe not found after {} ms ({polls} polls)",
                    ms_since(wait_from) as u64
                ),
            ));
        };
        tokio::time::sleep(delay).await;
        polls += 1;
        // Polling sessions time into a scratch observation: `login` and
        // friends describe the first login only; the wait is `delivery`.
        let mut scratch = Observation::default();
        s = match open(
            req.ep,
            Some((req.login, req.password)),
            req.step_timeout,
            &mut scratch,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                obs.transcript
                    .push(format!("* polling session {polls} failed"));
                obs.transcript.extend(scratch.transcript);
                return Err(e);
            }
        };
    }
}

/// In the session that saw our message: RETR it, verify it, DELE it, its
/// duplicates and this case's leftovers, QUIT to commit.
async fn take(
    mut s: Session<'_>,
    req: &RetrieveRequest<'_>,
    found: Scan,
    detected_at: Instant,
    obs: &mut Observation,
) -> Result<Retrieved, ProbeError> {
    let r = take_steps(&mut s, req, &found, obs).await;
    if r.is_err() {
        // Doubt: leave without QUIT, nothing is deleted.
        s.drop_session().await;
    }
    s.flush(obs);
    let raw = r?;
    Ok(Retrieved {
        raw,
        detected_at,
        reaped: found.leftovers.len(),
    })
}

async fn take_steps(
    s: &mut Session<'_>,
    req: &RetrieveRequest<'_>,
    found: &Scan,
    obs: &mut Observation,
) -> Result<Vec<u8>, ProbeError> {
    let n = found.ours[0];
    let raw = timed(obs, "fetch", s.retr(n, req.max_message_bytes)).await?;
    // TOP said it is ours; the full message must say so too.
    if probe_msg::classify(&raw, req.token, req.case_id) != Mark::Ours {
        return Err(s.conn.err(
            "fetch",
            ErrorKind::Corrupt,
            format!("message {n} lost its probe header between TOP and RETR"),
        ));
    }
    if found.ours.len() > 1 {
        obs.fact("duplicates", (found.ours.len() - 1).to_string());
    }
    if !found.leftovers.is_empty() {
        obs.fact("reaped", found.leftovers.len().to_string());
    }
    timed(obs, "delete", async {
        for m in found.ours.iter().chain(&found.leftovers) {
            s.ok("delete", &format!("DELE {m}")).await?;
        }
        Ok(())
    })
    .await?;
    // QUIT is the commit: a failing QUIT means nothing was deleted.
    timed(obs, "logout", s.quit("delete")).await?;
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"+OK Dovecot ready."),
            Some(Status::Ok("Dovecot ready.".into()))
        );
        assert_eq!(parse_status(b"+ok"), Some(Status::Ok("".into())));
        assert_eq!(
            parse_status(b"-ERR [AUTH] bad"),
            Some(Status::Err("[AUTH] bad".into()))
        );
        assert_eq!(
            parse_status(b"-ERR \x00\x1b]]>\xff"),
            Some(Status::Err("\\x00\\x1B]]\\x3E\\xFF".into()))
        );
        assert_eq!(parse_status(b"* OK imap"), None);
        assert_eq!(parse_status(b""), None);
        assert_eq!(parse_status(b"+"), None);
    }

    #[test]
    fn err_kinds_from_response_codes() {
        assert_eq!(
            err_kind("[SYS/TEMP] Account is temporarily unavailable.", true),
            ErrorKind::TempReject
        );
        assert_eq!(err_kind("[IN-USE] locked", false), ErrorKind::TempReject);
        assert_eq!(
            err_kind("[AUTH] Authentication failed.", true),
            ErrorKind::Auth
        );
        assert_eq!(err_kind("Authentication failed.", true), ErrorKind::Auth);
        assert_eq!(err_kind("go away", false), ErrorKind::PermReject);
        assert_eq!(err_kind("[", false), ErrorKind::PermReject);
    }

    #[test]
    fn stat_and_uidl() {
        assert_eq!(parse_stat("2 640"), Some((2, 640)));
        assert_eq!(
            parse_stat("3000000 999999999999"),
            Some((3_000_000, 999_999_999_999))
        );
        assert_eq!(parse_stat("x 1"), None);
        assert_eq!(parse_stat("-1 0"), None);
        assert_eq!(parse_stat(""), None);
        assert_eq!(
            parse_uidl(b"1 00000001abcdef"),
            Some((1, "00000001abcdef".into()))
        );
        assert_eq!(parse_uidl(b"7  x"), Some((7, "x".into())));
        assert_eq!(parse_uidl(b"7"), None);
        assert_eq!(parse_uidl(b"7 a b"), None);
        assert_eq!(parse_uidl(b"x a"), None);
        assert_eq!(parse_uidl(&[b'1', b' ', 0xff]), None);
        assert_eq!(parse_uidl(format!("1 {}", "a".repeat(71)).as_bytes()), None);
    }

    #[test]
    fn multiline_unstuffs_and_ends_at_dot() {
        let mut ml = MultiLine::new(1000, 1000, 100);
        for l in [&b"Subject: x"[..], b"", b"..leading dot", b".", b"after"] {
            if ml.push(l).unwrap() == Push::Done {
                break;
            }
        }
        assert_eq!(ml.data, b"Subject: x\r\n\r\n.leading dot\r\n");
        assert_eq!(ml.lines(), 3);
        assert!(!ml.truncated);
    }

    #[test]
    fn multiline_caps() {
        // Kept bytes capped, hard cap is an error.
        let mut ml = MultiLine::new(10, 30, 100);
        assert_eq!(ml.push(b"12345678").unwrap(), Push::More);
        assert_eq!(ml.push(b"12345678").unwrap(), Push::More);
        assert!(ml.truncated);
        assert_eq!(ml.data, b"12345678\r\n");
        assert!(ml.push(b"12345678901234").is_err());
        // Line count cap.
        let mut ml = MultiLine::new(0, usize::MAX, 2);
        ml.push(b"1 a").unwrap();
        ml.push(b"2 b").unwrap();
        assert!(ml.push(b"3 c").is_err());
        // An exact-size message fits.
        let mut ml = MultiLine::new(5, 5, 10);
        assert_eq!(ml.push(b"abc").unwrap(), Push::More);
        assert_eq!(ml.push(b".").unwrap(), Push::Done);
        assert_eq!(ml.data, b"abc\r\n");
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_status(&line);
            let _ = parse_uidl(&line);
            let _ = parse_stat(&String::from_utf8_lossy(&line));
            let mut ml = MultiLine::new(64, 128, 4);
            for l in line.split(|b| *b == b'\n') {
                if ml.push(l).is_err() { break; }
            }
            proptest::prop_assert!(ml.data.len() <= 64);
        }
    }
}
