//! POP3 protocol client (RFC 1939, CAPA/RESP-CODES RFC 2449/3206, STLS
//! RFC 2595, SASL PLAIN RFC 5034): one session, its commands and its
//! transcript. What to delete and when is [`crate::probe::mailbox`]'s.
//!
//! Own client because no maintained tokio POP3 crate does STLS with bounded
//! reads. Only the newest [`SCAN_NEWEST`] messages are looked at, by number,
//! whatever STAT/LIST announce (a hostile or huge mailbox costs bounded time
//! and memory).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::reply::{MultiLine, Push, Reply, err_kind, parse_reply, parse_stat, parse_uidl};
use crate::probe::mailbox::{Commit, Fetched};
use crate::probe::probe_msg::{self, Mark, RetrieveRequest, ms_since, record_tls, timed};
use crate::probe::wire::{self, Conn};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{AuthMech, TlsMode};
use crate::suite::resolve::Endpoint;

pub(super) const PROTO: &str = "pop3";
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
/// Why a server without TOP is an error (see [`Session::scan`]).
const NO_TOP: &str = "healthmon reads only headers to find its probe and will not RETR every message (that downloads the mailbox's mail and may mark it read)";

/// An open, logged-in (or not yet) POP3 session.
pub(super) struct Session<'a> {
    pub(super) conn: Conn,
    ep: &'a Endpoint,
    step: Duration,
    pub(super) caps: Vec<String>,
    /// When the login completed (the session's mailbox snapshot).
    pub(super) logged_in_at: Option<Instant>,
    /// Transcript so far, with message contents (TOP/RETR bodies: the
    /// user's own mail headers) replaced by a line count.
    log: wire::Transcript,
}

impl Session<'_> {
    async fn status(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Reply, ProbeError> {
        let line = self.conn.read_line_until(phase, deadline).await?;
        parse_reply(&line).ok_or_else(|| {
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
    ) -> Result<Reply, ProbeError> {
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
            Reply::Ok(t) => Ok(t),
            Reply::Err(t) => {
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
        if let Reply::Ok(_) = self.cmd_shown(phase, "CAPA", "CAPA").await? {
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
            if let Reply::Err(t) = self
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
            Reply::Ok(_) => Ok(()),
            Reply::Err(t) => {
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
            if let Reply::Err(_) = self.cmd_shown(phase, "UIDL", "UIDL").await? {
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
                    Reply::Err(_) if map.is_empty() => return Ok(None),
                    Reply::Err(_) => {}
                    Reply::Ok(t) => {
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

    /// `TOP n 0` → header section; `Err(text)` when the server refuses it.
    pub(super) async fn top(
        &mut self,
        phase: &str,
        n: u64,
    ) -> Result<Result<Vec<u8>, String>, ProbeError> {
        let line = format!("TOP {n} 0");
        if let Reply::Err(t) = self.cmd_shown(phase, &line, &line).await? {
            return Ok(Err(t));
        }
        let mut ml = MultiLine::new(TOP_KEEP, TOP_HARD_CAP, usize::MAX);
        self.body(phase, &mut ml).await?;
        Ok(Ok(ml.data))
    }

    /// Find our message and leftovers among the newest messages.
    ///
    /// Needs `TOP`: it is the only way POP3 has to read a message's header
    /// without its body. Falling back to RETR would download each of the
    /// newest messages (the user's mail, up to the size cap) on every poll
    /// and, on servers such as Dovecot, mark them read: nothing an operator
    /// wants from a monitor. So a server without TOP (not in CAPA, or
    /// refusing it) is reported as what it is, a missing capability, at once
    /// instead of being polled until "not arrived".
    pub(super) async fn scan(
        &mut self,
        req: &RetrieveRequest<'_>,
        cache: &mut HashMap<String, Mark>,
    ) -> Result<Scan, ProbeError> {
        const PH: &str = "delivery";
        if !self.caps.is_empty() && !self.has_cap("TOP") {
            return Err(self.conn.err(
                "capa",
                ErrorKind::Capability,
                format!("server does not support TOP (not in CAPA); {NO_TOP}"),
            ));
        }
        let count = self.stat(PH).await?;
        let lowest = count.saturating_sub(SCAN_NEWEST) + 1;
        let mut scan = Scan::default();
        let owner = req.owner();
        if count == 0 {
            return Ok(scan);
        }
        let uidls = self.uidls(PH, lowest, count).await?;
        if cache.len() > CACHE_MAX {
            cache.clear();
        }
        // TOPs answered and refused in this scan, and the last refusal.
        let (mut answered, mut refused) = (0u64, None::<(u64, String)>);
        for n in (lowest..=count).rev() {
            let uid = uidls.as_ref().and_then(|m| m.get(&n));
            let mark = match uid.and_then(|u| cache.get(u)) {
                Some(m) => *m,
                None => {
                    let head = match self.top(PH, n).await? {
                        Ok(head) => head,
                        // Expunged meanwhile (or no TOP, decided below):
                        // never ours to touch.
                        Err(t) => {
                            refused = Some((refused.map_or(0, |r| r.0) + 1, t));
                            continue;
                        }
                    };
                    answered += 1;
                    let m = probe_msg::classify(&head, &owner);
                    if let Some(u) = uid {
                        cache.insert(u.clone(), m);
                    }
                    m
                }
            };
            match mark {
                Mark::Ours => scan.ours.push(n),
                Mark::Leftover => scan.leftovers.push(n),
                Mark::Foreign => scan.foreign.push(n),
                Mark::Other => {}
            }
        }
        // One vanished message is refused; a server refusing every TOP it
        // was asked does not do TOP — unless it advertised TOP in CAPA (a
        // server without it was refused above): then every refusal is a
        // message expunged meanwhile by another session (Dovecot: "-ERR
        // Message 1 expunged."), e.g. the only one in the mailbox.
        if let Some((n, t)) = refused
            && answered == 0
            && self.caps.is_empty()
        {
            return Err(self.conn.err(
                PH,
                ErrorKind::Capability,
                format!(
                    "server does not support TOP (refused for all {n} messages tried: -ERR {t}); {NO_TOP}"
                ),
            ));
        }
        Ok(scan)
    }

    /// RETR with dot-unstuffing and the size cap; `Gone` on `-ERR`.
    pub(super) async fn retr(&mut self, n: u64, cap: usize) -> Result<Fetched, ProbeError> {
        const PH: &str = "fetch";
        let line = format!("RETR {n}");
        if let Reply::Err(t) = self.cmd_shown(PH, &line, &line).await? {
            let e = self
                .conn
                .err(PH, err_kind(&t, false), format!("RETR: -ERR {t}"));
            return Ok(Fetched::Gone(e));
        }
        let mut ml = MultiLine::new(cap, cap, usize::MAX);
        self.body(PH, &mut ml).await?;
        Ok(Fetched::Message(ml.data))
    }

    /// `DELE n`: marked, removed only when QUIT commits.
    pub(super) async fn dele(&mut self, n: u64) -> Result<(), ProbeError> {
        self.ok("delete", &format!("DELE {n}")).await.map(|_| ())
    }

    pub(super) async fn quit(&mut self, phase: &str) -> Result<(), ProbeError> {
        let r = self.ok(phase, "QUIT").await;
        self.conn.shutdown().await;
        r.map(|_| ())
    }

    /// The QUIT that commits the DELEs (RFC 1939's UPDATE state). `-ERR` is
    /// the server saying it did not remove them all: an error. No status
    /// line at all (timeout, connection closed, garbage) is `ReplyLost`:
    /// the server may well have committed before the reply went missing.
    pub(super) async fn commit_quit(&mut self) -> Result<Commit, ProbeError> {
        const PH: &str = "delete";
        let r = self.cmd_shown(PH, "QUIT", "QUIT").await;
        self.conn.shutdown().await;
        match r {
            Ok(Reply::Ok(_)) => Ok(Commit::Done),
            Ok(Reply::Err(t)) => Err(self.conn.err(
                PH,
                err_kind(&t, false),
                format!("QUIT: -ERR {t} (deletions not committed)"),
            )),
            Err(e) => Ok(Commit::ReplyLost(e)),
        }
    }

    /// Leave without QUIT: POP3 then commits nothing (no DELE takes effect).
    pub(super) async fn drop_session(&mut self) {
        self.conn.shutdown().await;
    }

    fn keep_transcript(&mut self) {
        for l in self.conn.take_transcript() {
            self.push_log(l);
        }
    }

    fn push_log(&mut self, line: String) {
        self.log.push(line);
    }

    pub(super) fn flush(&mut self, obs: &mut Observation) {
        self.keep_transcript();
        obs.transcript.extend(self.log.take());
        probe_msg::add_bytes_received(obs, self.conn.bytes_read());
    }
}

/// What one scan of the newest messages found, by parsed header.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Message numbers carrying our token (normally one; two = duplicate).
    pub(super) ours: Vec<u64>,
    pub(super) leftovers: Vec<u64>,
    /// Our case id with a token that does not verify: never touched.
    pub(super) foreign: Vec<u64>,
}

/// Connect, TLS, greeting, CAPA, STLS when required, and (when `login`)
/// authenticate. Every phase timed into `obs`.
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
        logged_in_at: None,
        log: wire::Transcript::default(),
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
        Reply::Ok(t) => obs.fact("banner", t),
        Reply::Err(t) => {
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

/// QUIT after a session that changed nothing (or drop it after an error).
/// The session's result stands whatever QUIT answers: there was nothing to
/// commit, so a QUIT without a reply is reported (`logout_error`), not fatal.
pub(super) async fn finish_readonly<T>(
    mut s: Session<'_>,
    r: Result<T, ProbeError>,
    obs: &mut Observation,
) -> Result<T, ProbeError> {
    match &r {
        Ok(_) => {
            if let Err(e) = timed(obs, "logout", s.quit("logout")).await {
                obs.fact("logout_error", e.to_string());
            }
        }
        Err(_) => s.drop_session().await,
    }
    s.flush(obs);
    r
}
