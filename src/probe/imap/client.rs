//! IMAP protocol client (RFC 3501/9051 subset; STARTTLS, SASL-IR, LITERAL+,
//! IDLE, UIDPLUS): one session, its commands and its transcript. What to
//! delete and when is [`crate::probe::mailbox`]'s.
//!
//! Own client rather than async-imap: that crate buffers up to 512 MiB per
//! response and logs LOGIN at trace level. Here every response is bounded
//! (line length by `wire`, literals by a per-command cap, at most
//! [`MAX_UNTAGGED`] untagged responses and [`CMD_BUDGET`] bytes per command).

use std::time::{Duration, Instant};

use crate::probe::imap_parse::{self, Arg, Cond, Parsed, Response, Val};
use crate::probe::mailbox::Fetched;
use crate::probe::probe_msg::{self, Backoff, Mark, RetrieveRequest, ms_since, record_tls, timed};
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
const SMALL_LITERAL: usize = 64 * 1024;
/// Line pieces (literals) in one response.
const MAX_PIECES: usize = 64;
/// Candidates looked at per search (newest UIDs first).
const MAX_CANDIDATES: usize = 500;
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
struct Done {
    cond: Cond,
    code: Option<String>,
    text: String,
    untagged: Vec<Response>,
}

pub(super) struct Session<'a> {
    pub(super) conn: Conn,
    ep: &'a Endpoint,
    step: Duration,
    pub(super) caps: Vec<String>,
    tag: u32,
    /// Last `* n EXISTS` seen.
    exists: Option<u32>,
    /// When EXISTS last grew.
    pub(super) grew_at: Option<Instant>,
    /// How often EXISTS grew (a change counter for the wait loop).
    pub(super) arrivals: u64,
}

impl Session<'_> {
    pub(super) fn has_cap(&self, c: &str) -> bool {
        self.caps.iter().any(|x| x == c)
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("h{}", self.tag)
    }

    pub(super) fn protocol_err(&self, phase: &str, msg: impl Into<String>) -> ProbeError {
        self.conn.err(phase, ErrorKind::Protocol, msg)
    }

    /// One response (line pieces + literals) before `deadline`.
    async fn response(
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
    fn note_untagged(&mut self, phase: &str, p: &Parsed) -> Result<(), ProbeError> {
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
    async fn complete(
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
    async fn run(&mut self, phase: &str, line: &str, lit_cap: usize) -> Result<Done, ProbeError> {
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
    async fn ok(&mut self, phase: &str, line: &str, lit_cap: usize) -> Result<Done, ProbeError> {
        let d = self.run(phase, line, lit_cap).await?;
        self.expect_ok(phase, line, d, false)
    }

    fn expect_ok(&self, phase: &str, line: &str, d: Done, auth: bool) -> Result<Done, ProbeError> {
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
    async fn continuation(
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

    /// SELECT (read-write, for deleting) or EXAMINE (read-only) INBOX.
    pub(super) async fn select(&mut self, phase: &str, write: bool) -> Result<(), ProbeError> {
        let verb = if write { "SELECT" } else { "EXAMINE" };
        self.exists = None;
        let d = self
            .ok(phase, &format!("{verb} INBOX"), SMALL_LITERAL)
            .await?;
        // The EXISTS of SELECT is the baseline, not a growth.
        let _ = d;
        self.grew_at = None;
        if self.exists.is_none() {
            self.exists = Some(0);
        }
        Ok(())
    }

    /// `UID SEARCH HEADER X-Healthmon-Probe "<needle>"` → UIDs (newest first, capped).
    async fn search(&mut self, phase: &str, needle: &str) -> Result<Vec<u32>, ProbeError> {
        let Arg::Quoted(q) = imap_parse::astring(needle) else {
            return Err(self.conn.err(
                phase,
                ErrorKind::Local,
                "search text is not printable ASCII",
            ));
        };
        let d = self
            .ok(
                phase,
                &format!("UID SEARCH HEADER {} {q}", probe_msg::PROBE_HEADER),
                SMALL_LITERAL,
            )
            .await?;
        let mut uids = Vec::new();
        for r in &d.untagged {
            if let Ok(Parsed::Search(v)) = r.parse() {
                uids.extend(v);
            }
        }
        uids.sort_unstable_by(|a, b| b.cmp(a));
        uids.dedup();
        uids.truncate(MAX_CANDIDATES);
        Ok(uids)
    }

    /// Fetch the probe header of each candidate and classify it.
    async fn classify(
        &mut self,
        phase: &str,
        uids: &[u32],
        req: &RetrieveRequest<'_>,
    ) -> Result<Vec<(u32, Mark)>, ProbeError> {
        if uids.is_empty() {
            return Ok(vec![]);
        }
        let line = format!(
            "UID FETCH {} (UID BODY.PEEK[HEADER.FIELDS ({})])",
            imap_parse::uid_set(uids),
            probe_msg::PROBE_HEADER
        );
        let d = self.ok(phase, &line, SMALL_LITERAL).await?;
        let mut out = Vec::new();
        for r in &d.untagged {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            let uid = fetch_uid(&items);
            let head = items
                .iter()
                .find(|(k, _)| k.starts_with("BODY[HEADER.FIELDS"))
                .and_then(|(_, v)| r.bytes(v));
            if let (Some(uid), Some(head)) = (uid, head)
                && uids.contains(&uid)
            {
                out.push((uid, probe_msg::classify(head, req.token, req.case_id)));
            }
        }
        Ok(out)
    }

    /// UIDs whose probe header carries `want` (searched by `needle`, each
    /// candidate's header then parsed), ascending.
    pub(super) async fn marked(
        &mut self,
        phase: &str,
        needle: &str,
        want: Mark,
        req: &RetrieveRequest<'_>,
    ) -> Result<Vec<u32>, ProbeError> {
        let cands = self.search(phase, needle).await?;
        let marks = self.classify(phase, &cands, req).await?;
        let mut v: Vec<u32> = marks
            .into_iter()
            .filter(|(_, m)| *m == want)
            .map(|(u, _)| u)
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// One wait slice of the backoff schedule (~25 ms doubling to 500 ms).
    /// With IDLE the slice is spent idling (a server that pushes EXISTS at
    /// once wakes us at once) and ended with DONE, whose completion makes the
    /// server sync and report arrivals: Dovecot delays IDLE pushes by up to
    /// 0.5 s, which would otherwise inflate the measured delivery time.
    /// Without IDLE: sleep, then NOOP. Returns false once the deadline passed.
    pub(super) async fn wait_slice(
        &mut self,
        deadline: tokio::time::Instant,
        backoff: &mut Backoff,
    ) -> Result<bool, ProbeError> {
        const PH: &str = "delivery";
        let Some(d) = backoff.next_delay(deadline) else {
            return Ok(false);
        };
        if !self.has_cap("IDLE") {
            tokio::time::sleep(d).await;
            self.ok(PH, "NOOP", SMALL_LITERAL).await?;
            return Ok(true);
        }
        let tag = self.next_tag();
        let line = format!("{tag} IDLE");
        let step_deadline = tokio::time::Instant::now() + self.step;
        self.conn
            .send_secret_line_until(PH, &line, &line, step_deadline)
            .await?;
        let before = self.arrivals;
        self.continuation(PH, &tag, step_deadline, false).await?;
        let until = tokio::time::Instant::now() + d;
        let mut budget = CMD_BUDGET;
        let mut seen = 0usize;
        while self.arrivals == before {
            let r = match self.response(PH, until, SMALL_LITERAL, &mut budget).await {
                Ok(r) => r,
                Err(e) if e.kind == ErrorKind::Timeout && tokio::time::Instant::now() >= until => {
                    break;
                }
                Err(e) => return Err(e),
            };
            let p = r.parse().map_err(|e| self.protocol_err(PH, e))?;
            if matches!(p, Parsed::Tagged { .. } | Parsed::Continue(_)) {
                return Err(self.protocol_err(PH, "unexpected tagged response while idling"));
            }
            self.note_untagged(PH, &p)?;
            seen += 1;
            if seen >= MAX_UNTAGGED {
                return Err(self.protocol_err(
                    PH,
                    format!("more than {MAX_UNTAGGED} untagged responses while idling"),
                ));
            }
        }
        let done_deadline = tokio::time::Instant::now() + self.step;
        self.conn
            .send_secret_line_until(PH, "DONE", "DONE", done_deadline)
            .await?;
        let d = self
            .complete(PH, &tag, done_deadline, SMALL_LITERAL, false)
            .await?;
        self.expect_ok(PH, "IDLE", d, false)?;
        Ok(true)
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

fn fetch_uid(items: &[(String, Val)]) -> Option<u32> {
    items
        .iter()
        .find(|(k, _)| k == "UID")
        .and_then(|(_, v)| match v {
            Val::Atom(a) => a.parse().ok(),
            _ => None,
        })
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

/// The commands that read and delete messages by UID.
impl Session<'_> {
    /// `UID FETCH uid (UID BODY.PEEK[])` (no \Seen change); `Gone` when
    /// the server returns no such message.
    pub(super) async fn fetch_body(&mut self, uid: u32, cap: usize) -> Result<Fetched, ProbeError> {
        const PH: &str = "fetch";
        let d = self
            .ok(PH, &format!("UID FETCH {uid} (UID BODY.PEEK[])"), cap)
            .await?;
        for r in d.untagged {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            if fetch_uid(&items) != Some(uid) {
                continue;
            }
            if let Some((_, v)) = items.iter().find(|(k, _)| k == "BODY[]") {
                let i = match v {
                    Val::Lit(i) => *i,
                    _ => {
                        return r
                            .bytes(v)
                            .map(|b| Fetched::Message(b.to_vec()))
                            .ok_or_else(|| self.protocol_err(PH, "BODY[] is NIL"));
                    }
                };
                let mut lits = r.literals;
                return Ok(Fetched::Message(std::mem::take(&mut lits[i])));
            }
        }
        Ok(Fetched::Gone(self.protocol_err(
            PH,
            format!("UID FETCH {uid} returned no BODY[]"),
        )))
    }

    /// `UID STORE uids +FLAGS.SILENT (\Deleted)`: marked, not yet removed.
    pub(super) async fn store_deleted(&mut self, uids: &[u32]) -> Result<(), ProbeError> {
        let set = imap_parse::uid_set(uids);
        let line = format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)");
        self.ok("delete", &line, SMALL_LITERAL).await.map(|_| ())
    }

    /// `UID EXPUNGE uids` (UIDPLUS): removes exactly these, never the
    /// user's own \Deleted mail (a plain EXPUNGE or CLOSE would).
    pub(super) async fn uid_expunge(&mut self, uids: &[u32]) -> Result<(), ProbeError> {
        let set = imap_parse::uid_set(uids);
        let line = format!("UID EXPUNGE {set}");
        self.ok("delete", &line, SMALL_LITERAL).await.map(|_| ())
    }
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

    #[test]
    fn fetch_uid_reads_atom() {
        let items = vec![("UID".to_string(), Val::Atom("42".into()))];
        assert_eq!(fetch_uid(&items), Some(42));
        assert_eq!(fetch_uid(&[("UID".to_string(), Val::Nil)]), None);
        assert_eq!(fetch_uid(&[]), None);
    }
}
