//! What POP3 and IMAP retrieval share: the probe message itself (built,
//! verified), recognising our probe messages by their
//! `X-Healthmon-Probe: TOKEN CASEID` header, the polling backoff, and small
//! timing helpers.
//!
//! Ownership is decided on the parsed header section only, never by substring
//! (IMAP `SEARCH HEADER` is a substring match, POP3 has no search at all): a
//! message is ours when its header names the token of the probe being
//! retrieved, or our exact case id with a token that verifies under this
//! installation's key for that case and site, in a message with that token's
//! probe Message-ID (a leftover of an earlier run of the same case). A header
//! that names our case id otherwise is someone else's (a user's copy,
//! another monitor's probe).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};

use super::tls::TlsInfo;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::suite::resolve::Endpoint;
use crate::token::ProbeKey;

/// Header that marks probe messages (value: `TOKEN CASEID`).
pub const PROBE_HEADER: &str = "X-Healthmon-Probe";
/// Message-IDs of probes are `<TOKEN@DOMAIN>`.
const DOMAIN: &str = "healthmon.invalid";

/// What `pop3::retrieve` and `imap::retrieve` need (see the probe API).
pub struct RetrieveRequest<'a> {
    pub ep: &'a Endpoint,
    pub login: &'a str,
    pub password: &'a crate::secret::Secret,
    /// Unique probe token (Message-ID `<TOKEN@healthmon.invalid>`, header
    /// `X-Healthmon-Probe: TOKEN CASEID`).
    pub token: &'a str,
    /// Leftover probes of this case id (another token that verifies under
    /// `key`) are reaped.
    pub case_id: &'a str,
    /// The site the case belongs to (signed into every token).
    pub site: &'a str,
    /// This installation's probe key. `None`: only `token` itself is ours
    /// (nothing else is ever reaped).
    pub key: Option<&'a ProbeKey>,
    pub step_timeout: Duration,
    pub arrival_deadline: tokio::time::Instant,
    /// RETR/FETCH size cap.
    pub max_message_bytes: usize,
    /// Told when the arrival wait starts (`None`: nobody listens).
    pub waiting: Option<&'a Waiting>,
}

/// A release the runner attaches to a retrieval: it runs once the arrival
/// wait has lasted `grace` (or when the retrieval ends, whichever is first),
/// and gives the runner's concurrency slots back. A session in the arrival
/// wait (an IMAP IDLE, the sleep between POP3 polls) costs the server
/// nothing, and holding its slots made the cases behind a held queue wait
/// out each other's arrival waits, wave after wave.
#[derive(Default)]
pub struct Waiting {
    release: Release,
    grace: Duration,
    armed: std::sync::atomic::AtomicBool,
}

type Release = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

fn fire(r: &Release) {
    // Taken out under the lock, run outside it.
    let f = r.lock().map(|mut g| g.take()).unwrap_or(None);
    if let Some(f) = f {
        f();
    }
}

impl Waiting {
    pub fn after(grace: Duration, f: impl FnOnce() + Send + 'static) -> Self {
        Waiting {
            release: Arc::new(Mutex::new(Some(Box::new(f)))),
            grace,
            armed: Default::default(),
        }
    }

    /// The arrival wait started: release after the grace (once).
    pub fn started(&self) {
        if self.armed.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if self.grace.is_zero() {
            return fire(&self.release);
        }
        let r = self.release.clone();
        let grace = self.grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            fire(&r);
        });
    }
}

impl Drop for Waiting {
    /// The retrieval is over: release now, not when the timer ends.
    fn drop(&mut self) {
        fire(&self.release);
    }
}

impl RetrieveRequest<'_> {
    /// The arrival wait starts (see [`Waiting`]).
    pub fn waiting_started(&self) {
        if let Some(w) = self.waiting {
            w.started();
        }
    }

    /// Whose mail counts as ours for this request.
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            token: self.token,
            case_id: self.case_id,
            site: self.site,
            key: self.key,
        }
    }
}

/// What tells this installation's probes of one case from everyone else's
/// mail.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The probe being retrieved (compared exactly).
    pub token: &'a str,
    pub case_id: &'a str,
    pub site: &'a str,
    pub key: Option<&'a ProbeKey>,
}

/// A retrieved (and deleted) probe.
#[derive(Debug, Clone)]
pub struct Retrieved {
    pub raw: Vec<u8>,
    /// When the probe was first seen in the mailbox.
    pub detected_at: Instant,
    /// Leftover probes of the same case deleted on the way.
    pub reaped: usize,
}

/// What a read-only look for a probe found (isolation's "is it on the
/// store?", asked after the case ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    /// In the mailbox. `delivered_at`: when the store received it (IMAP
    /// INTERNALDATE, POP3 the newest Received header), if it says: a probe
    /// found after the case gave up may simply have arrived late.
    Found {
        delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl Presence {
    pub fn is_found(&self) -> bool {
        matches!(self, Presence::Found { .. })
    }
}

/// The date of the newest (topmost) Received header of a message or header
/// section: when its last hop, the store's delivery, received it.
pub fn newest_received(headers: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    let msg = mail_parser::MessageParser::default().parse_headers(headers)?;
    let d = msg.received_all().next()?.date.as_ref()?;
    chrono::DateTime::from_timestamp(d.to_timestamp(), 0)
}

/// Whose a message is, judged from its header section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Carries our token: the probe this case sent.
    Ours,
    /// Same case id, another token that this installation's key signed for
    /// this case and site, and the Message-ID of a probe of that token: left
    /// behind by an earlier run; reap it (once its whole message is an intact
    /// probe).
    Leftover,
    /// Names our case id, but its token does not verify under our key, or
    /// the Message-ID is not that of a probe of the token (a user's copy of a
    /// probe header, another monitor's probe, a forgery): never touch, only
    /// count.
    Foreign,
    /// Anything else (the user's own mail, other cases' probes): never touch.
    Other,
}

/// The header section of a message (up to the first empty line).
pub fn header_section(msg: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < msg.len() {
        let end = msg[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(msg.len(), |p| start + p + 1);
        if matches!(&msg[start..end], b"\n" | b"\r\n") {
            return &msg[..start];
        }
        start = end;
    }
    msg
}

/// Values of every `X-Healthmon-Probe` header (unfolded, trimmed) in a header
/// section. Non-UTF-8 values are skipped (ours are ASCII).
pub fn probe_header_values(headers: &[u8]) -> Vec<String> {
    header_values(headers, PROBE_HEADER)
}

/// Values of every header `name` (case-insensitive; unfolded, trimmed) in a
/// header section. Non-UTF-8 values are skipped.
fn header_values(headers: &[u8], name: &str) -> Vec<String> {
    let head = header_section(headers);
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    for raw in head.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if folded {
            if let Some(v) = cur.as_mut() {
                v.push(b' ');
                v.extend_from_slice(line);
            }
            continue;
        }
        if let Some(v) = cur.take()
            && let Ok(s) = String::from_utf8(v)
        {
            out.push(s.trim().to_string());
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && line[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(name.as_bytes())
        {
            cur = Some(line[colon + 1..].to_vec());
        }
    }
    if let Some(v) = cur
        && let Ok(s) = String::from_utf8(v)
    {
        out.push(s.trim().to_string());
    }
    out
}

/// The header fields [`classify`] reads (IMAP fetches only these).
pub const CLASSIFY_FIELDS: &str = "X-Healthmon-Probe Message-ID";

/// Classify a message from its header section (at least the
/// [`CLASSIFY_FIELDS`]).
pub fn classify(headers: &[u8], owner: &Owner<'_>) -> Mark {
    classify_token(headers, owner).0
}

/// [`classify`], with the token that made a message `Ours` or a `Leftover`.
/// A leftover's header must carry the Message-ID we give a probe of its
/// token too: a user's message with a copied probe header keeps its own
/// Message-ID, so it is told apart before it is ever fetched (a POP3 RETR
/// may set \Seen on it).
fn classify_token(headers: &[u8], owner: &Owner<'_>) -> (Mark, Option<String>) {
    let mut found = (Mark::Other, None);
    let ids = header_values(headers, "Message-ID");
    for v in probe_header_values(headers) {
        let mut it = v.split_whitespace();
        let (Some(t), cid) = (it.next(), it.next()) else {
            continue;
        };
        // Extra words after the case id mean it is not a header we wrote.
        if it.next().is_some() {
            continue;
        }
        if t == owner.token {
            return (Mark::Ours, Some(t.to_string()));
        }
        if cid != Some(owner.case_id) {
            continue;
        }
        let probe_id = format!("<{t}@{DOMAIN}>");
        if ids.contains(&probe_id)
            && owner
                .key
                .is_some_and(|k| k.verifies(t, owner.case_id, owner.site))
        {
            found = (Mark::Leftover, Some(t.to_string()));
        } else if found.0 == Mark::Other {
            found.0 = Mark::Foreign;
        }
    }
    found
}

/// Is a whole fetched message one of our probes, marked `want`, and intact
/// (Message-ID, header and body lines of the token its header names; see
/// [`verify`])? The evidence every message deleted besides the probe itself
/// must give: a user's message with a copied probe header, even one whose
/// token verifies, has its own Message-ID and body and is not deleted.
pub fn is_intact(raw: &[u8], want: Mark, owner: &Owner<'_>) -> bool {
    match classify_token(raw, owner) {
        (m, Some(t)) if m == want => verify(raw, &t, owner.case_id).is_ok(),
        _ => false,
    }
}

/// Integrity line: FNV-1a 64 over token, case id and payload. Not security —
/// it shows the body survived the trip unchanged.
fn checksum(token: &str, case_id: &str, payload: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token
        .bytes()
        .chain([0])
        .chain(case_id.bytes())
        .chain([0])
        .chain(payload.bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn payload(token: &str) -> String {
    // Long enough to notice truncation; short enough that its body line stays
    // under 76 characters (lettre then keeps the body 7bit): the token's
    // first 34 characters (`hm` + nonce) are unique enough.
    let head = token.get(..34).unwrap_or(token);
    format!("{head}0123456789abcdef")
}

/// The probe message, CRLF line endings, not dot-stuffed.
pub fn build_message(token: &str, case_id: &str, from: &str, to: &str) -> Result<Vec<u8>, String> {
    let from = from.parse().map_err(|e| format!("sender {from}: {e}"))?;
    let to = to.parse().map_err(|e| format!("recipient {to}: {e}"))?;
    let pl = payload(token);
    let body = format!(
        "healthmon round-trip probe for {case_id}.\r\n\
         It is deleted by the monitor when read; you may delete it.\r\n\
         token: {token}\r\n\
         payload: {pl}\r\n\
         checksum: {}\r\n",
        checksum(token, case_id, &pl)
    );
    let m = Message::builder()
        .from(from)
        .to(to)
        .subject(format!("healthmon probe {case_id}"))
        .message_id(Some(format!("<{token}@{DOMAIN}>")))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(PROBE_HEADER),
            format!("{token} {case_id}"),
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    Ok(m.formatted())
}

/// Is this our probe, intact? Checks Message-ID, the probe header and the
/// body's token/payload/checksum lines.
pub fn verify<'a>(
    raw: &'a [u8],
    token: &str,
    case_id: &str,
) -> Result<mail_parser::Message<'a>, String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or("retrieved message does not parse as a mail message")?;
    let want_id = format!("{token}@{DOMAIN}");
    if msg.message_id() != Some(want_id.as_str()) {
        return Err(format!(
            "Message-ID mismatch: got {:?}",
            msg.message_id()
                .map(|s| super::wire::sanitize(s.as_bytes(), 120))
        ));
    }
    let hdr = msg
        .header_raw(PROBE_HEADER)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "));
    if hdr.as_deref() != Some(format!("{token} {case_id}").as_str()) {
        return Err("X-Healthmon-Probe header missing or altered".into());
    }
    let body = msg.body_text(0).unwrap_or_default().into_owned();
    let line = |k: &str| {
        body.lines()
            .find_map(|l| l.trim_end().strip_prefix(k))
            .map(|s| s.trim().to_string())
    };
    let pl = line("payload:").unwrap_or_default();
    if line("token:").as_deref() != Some(token)
        || pl != payload(token)
        || line("checksum:").as_deref() != Some(checksum(token, case_id, &pl).as_str())
    {
        return Err("probe body altered (token/payload/checksum lines do not match)".into());
    }
    Ok(msg)
}

/// Polling delays: ~25 ms doubling up to 500 ms, so a fast delivery is seen
/// fast (measured delivery time is not inflated by a coarse poll) and a slow
/// one does not hammer the server.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

pub const BACKOFF_FIRST: Duration = Duration::from_millis(25);
pub const BACKOFF_MAX: Duration = Duration::from_millis(500);

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: BACKOFF_FIRST,
        }
    }
}

impl Backoff {
    /// The next delay, clipped to the deadline; `None` when it has passed.
    pub fn next_delay(&mut self, deadline: tokio::time::Instant) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return None;
        }
        let d = self.next.min(deadline - now);
        self.next = (self.next * 2).min(BACKOFF_MAX);
        Some(d)
    }
}

/// Milliseconds since `t` (monotonic).
pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Milliseconds between two instants (0 when `b` is before `a`).
pub fn ms_between(a: Instant, b: Instant) -> f64 {
    b.saturating_duration_since(a).as_secs_f64() * 1000.0
}

/// Run a step and record its duration as `phase`, whether it succeeded or not.
pub async fn timed<T>(
    obs: &mut Observation,
    phase: &str,
    fut: impl std::future::Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    let t0 = Instant::now();
    let r = fut.await;
    obs.phase(phase, ms_since(t0));
    r
}

/// TLS facts of a finished handshake.
pub fn record_tls(obs: &mut Observation, info: &TlsInfo) {
    obs.fact("tls_version", info.version.clone());
    obs.fact("tls_cipher", info.cipher.clone());
    if let Some(t) = info.cert_not_after {
        obs.fact("tls_cert_not_after", t.to_string());
    }
    if info.insecure {
        obs.fact("tls_insecure", "true");
    }
}

/// Add a session's received bytes to the `bytes_received` metric (one per
/// observation, summed over polling sessions: evidence that reads stay bounded).
pub fn add_bytes_received(obs: &mut Observation, n: u64) {
    match obs.metrics.iter_mut().find(|m| m.name == "bytes_received") {
        Some(m) => m.value += n as f64,
        None => obs.metric("bytes_received", n as f64, "B"),
    }
}

/// A local (our side) error naming the endpoint.
pub fn local_err(
    ep: &Endpoint,
    protocol: &str,
    phase: &str,
    kind: ErrorKind,
    msg: &str,
) -> ProbeError {
    ProbeError {
        phase: phase.into(),
        kind,
        message: msg.into(),
        host: Some(ep.host.clone()),
        protocol: Some(protocol.into()),
    }
}

/// A request must carry a token and a case id (else nothing could be told
/// apart from the user's mail).
pub fn check_request(req: &RetrieveRequest<'_>, protocol: &str) -> Result<(), ProbeError> {
    if req.token.is_empty() || req.case_id.is_empty() {
        return Err(local_err(
            req.ep,
            protocol,
            "login",
            ErrorKind::Local,
            "empty probe token or case id",
        ));
    }
    Ok(())
}

/// SASL PLAIN initial response (authzid empty), base64.
pub fn sasl_plain(login: &str, password: &crate::secret::Secret) -> String {
    use base64::Engine;
    let mut raw = Vec::with_capacity(login.len() + password.expose().len() + 2);
    raw.push(0);
    raw.extend_from_slice(login.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password.expose().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_received_is_the_topmost_hop() {
        let h = b"Received: from mta1 by store1.example.test (Dovecot) with LMTP id x\r\n\tfor <ims1@example.test>; Tue, 10 Jan 2001 00:05:09 +0100\r\n\
Received: from client by mta1.example.test with ESMTPS id Q1; Tue, 10 Jan 2001 00:05:03 +0100\r\n\
Subject: x\r\n\r\n";
        assert_eq!(
            newest_received(h).map(|d| d.to_rfc3339()),
            Some("2001-01-09T23:05:09+00:00".into())
        );
        assert_eq!(newest_received(b"Subject: no hops\r\n\r\n"), None);
        assert_eq!(newest_received(b"Received: garbage\r\n\r\n"), None);
    }

    const CASE: &str = "rndtrip/ims1/mta1/mmp1/pop3";
    const SITE: &str = "local";

    fn key(n: u8) -> ProbeKey {
        ProbeKey::from_bytes(&[n; crate::token::KEY_LEN])
    }

    /// The probe being retrieved, a leftover of ours, and the owner that
    /// retrieves with key 1.
    struct Fixture {
        key: ProbeKey,
        tok: String,
        old: String,
    }

    impl Fixture {
        fn new() -> Self {
            let key = key(1);
            let (tok, old) = (key.mint(CASE, SITE), key.mint(CASE, SITE));
            Fixture { key, tok, old }
        }
        fn owner(&self) -> Owner<'_> {
            Owner {
                token: &self.tok,
                case_id: CASE,
                site: SITE,
                key: Some(&self.key),
            }
        }
        fn mark(&self, header: &str) -> Mark {
            classify(&msg(header), &self.owner())
        }
    }

    /// The probe header of `t` and `case`, with the Message-ID a probe of
    /// `t` has.
    fn hdr(t: &str, case: &str) -> String {
        format!("X-Healthmon-Probe: {t} {case}\r\nMessage-ID: <{t}@healthmon.invalid>")
    }

    /// A header line, then a body that mentions a probe header.
    fn msg(h: &str) -> Vec<u8> {
        format!("From: a@b\r\n{h}\r\nSubject: x\r\n\r\nX-Healthmon-Probe: hmbody {CASE}\r\n")
            .into_bytes()
    }

    #[test]
    fn ours_leftover_foreign_other() {
        let f = Fixture::new();
        let (tok, old) = (&f.tok, &f.old);
        assert_eq!(
            f.mark(&format!("X-Healthmon-Probe: {tok} {CASE}")),
            Mark::Ours
        );
        assert_eq!(
            f.mark(&format!(
                "x-healthmon-probe:{old} {CASE}\r\nmessage-id:\r\n <{old}@healthmon.invalid>"
            )),
            Mark::Leftover
        );
        // Case id is compared exactly: a longer id that contains ours is not ours.
        assert_eq!(f.mark(&hdr(old, &format!("{CASE}s"))), Mark::Other);
        assert_eq!(f.mark(&hdr(old, &format!("x{CASE}"))), Mark::Other);
        // A token prefix is not our token.
        assert_eq!(
            f.mark(&format!("X-Healthmon-Probe: {tok}0 other")),
            Mark::Other
        );
        // Extra words: not a header we wrote.
        assert_eq!(
            f.mark(&hdr(old, CASE).replacen("\r\n", " extra\r\n", 1)),
            Mark::Other
        );
    }

    #[test]
    fn our_case_id_with_a_token_that_does_not_verify_is_foreign() {
        let f = Fixture::new();
        for t in [
            // The old unsigned shape, and arbitrary words.
            "hm0123456789abcdef0123456789abcdef".to_string(),
            "hello".into(),
            // Another installation's key; our key for another case or site.
            key(2).mint(CASE, SITE),
            f.key.mint("rndtrip/ims2/mta1/mmp1/pop3", SITE),
            f.key.mint(CASE, "other-site"),
        ] {
            assert_eq!(f.mark(&hdr(&t, CASE)), Mark::Foreign, "{t}");
        }
        // A token that verifies, in a message with another Message-ID (a
        // user's copy of a real probe header): not a leftover either.
        let copy = format!("X-Healthmon-Probe: {} {CASE}\r\nMessage-ID: <u1@x>", f.old);
        assert_eq!(f.mark(&copy), Mark::Foreign);
        let no_id = format!("X-Healthmon-Probe: {} {CASE}", f.old);
        assert_eq!(f.mark(&no_id), Mark::Foreign);
        // Without a key nothing verifies: only the probe itself is ours.
        let o = Owner {
            key: None,
            ..f.owner()
        };
        assert_eq!(classify(&msg(&hdr(&f.old, CASE)), &o), Mark::Foreign);
        let tok = format!("X-Healthmon-Probe: {} {CASE}", f.tok);
        assert_eq!(classify(&msg(&tok), &o), Mark::Ours);
    }

    #[test]
    fn a_verifying_header_wins_over_a_foreign_one() {
        let f = Fixture::new();
        let two = format!(
            "X-Healthmon-Probe: hmforged {CASE}\r\n{}",
            hdr(&f.old, CASE)
        );
        assert_eq!(f.mark(&two), Mark::Leftover);
    }

    #[test]
    fn body_mentions_do_not_count() {
        let f = Fixture::new();
        // The only probe header is in the body (after the empty line).
        assert_eq!(f.mark("X-Other: 1"), Mark::Other);
        let lf = format!("A: b\n\nX-Healthmon-Probe: {} {CASE}\n", f.tok);
        assert_eq!(classify(lf.as_bytes(), &f.owner()), Mark::Other);
    }

    #[test]
    fn folded_and_lf_only_headers() {
        let f = Fixture::new();
        let h = format!(
            "Subject: x\nX-Healthmon-Probe:\n\t{}\n  {CASE}\n\nbody",
            f.tok
        );
        assert_eq!(classify(h.as_bytes(), &f.owner()), Mark::Ours);
        assert_eq!(
            probe_header_values(h.as_bytes()),
            vec![format!("{}   {CASE}", f.tok)]
        );
    }

    #[test]
    fn header_section_stops_at_blank_line() {
        assert_eq!(
            header_section(b"A: 1\r\nB: 2\r\n\r\nbody"),
            b"A: 1\r\nB: 2\r\n"
        );
        assert_eq!(header_section(b"A: 1\n\nbody"), b"A: 1\n");
        assert_eq!(header_section(b"A: 1\r\n"), b"A: 1\r\n");
        assert_eq!(header_section(b""), b"");
    }

    #[test]
    fn garbage_never_panics() {
        let f = Fixture::new();
        for g in [
            &b"\xff\xfe:\x00"[..],
            b":",
            b"\n\n\n",
            b"X-Healthmon-Probe",
            b"\r",
        ] {
            assert_eq!(classify(g, &f.owner()), Mark::Other);
        }
    }

    fn built(token: &str, case_id: &str) -> Vec<u8> {
        build_message(
            token,
            case_id,
            "hm@monitor.example.test",
            "ims1@example.test",
        )
        .unwrap()
    }

    #[test]
    fn built_message_verifies_and_tampering_is_caught() {
        let f = Fixture::new();
        let (tok, id) = (&f.tok, CASE);
        let raw = built(tok, id);
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(
            text.contains(&format!("Message-ID: <{tok}@healthmon.invalid>")),
            "{text}"
        );
        let unfolded = text.replace("\r\n ", " ");
        assert!(
            unfolded.contains(&format!("X-Healthmon-Probe: {tok} {id}")),
            "{text}"
        );
        assert!(
            text.contains("Content-Transfer-Encoding: 7bit\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\n\r\n"));
        verify(&raw, tok, id).unwrap();
        // Another token, another case id, a changed body: each rejected.
        assert!(verify(&raw, &f.old, id).is_err());
        assert!(verify(&raw, tok, "rndtrip/ims2/mta1/mmp1/pop3").is_err());
        let bad = text.replace("0123456789abcdef\r\n", "0123456789abcdeF\r\n");
        assert!(
            verify(bad.as_bytes(), tok, id)
                .unwrap_err()
                .contains("altered")
        );
    }

    #[test]
    fn only_an_intact_probe_of_ours_is_intact() {
        let f = Fixture::new();
        let o = f.owner();
        assert!(is_intact(&built(&f.tok, CASE), Mark::Ours, &o));
        assert!(is_intact(&built(&f.old, CASE), Mark::Leftover, &o));
        assert!(!is_intact(&built(&f.old, CASE), Mark::Ours, &o));
        // A user's message carrying a verbatim copy of a real probe's header
        // and Message-ID: the header says leftover, the rest of the message
        // is the user's.
        let copy = format!(
            "From: friend@elsewhere.example\r\n{}\r\nSubject: look\r\n\r\nmy own text\r\n",
            hdr(&f.old, CASE)
        );
        assert_eq!(classify(copy.as_bytes(), &o), Mark::Leftover);
        assert!(!is_intact(copy.as_bytes(), Mark::Leftover, &o));
        // A whole probe signed with another key.
        let theirs = key(2).mint(CASE, SITE);
        assert!(!is_intact(&built(&theirs, CASE), Mark::Leftover, &o));
    }

    #[tokio::test]
    async fn backoff_doubles_to_cap_and_respects_deadline() {
        let mut b = Backoff::default();
        let far = tokio::time::Instant::now() + Duration::from_secs(100);
        let got: Vec<u128> = (0..7)
            .map(|_| b.next_delay(far).unwrap().as_millis())
            .collect();
        assert_eq!(got, vec![25, 50, 100, 200, 400, 500, 500]);
        let past = tokio::time::Instant::now();
        assert_eq!(Backoff::default().next_delay(past), None);
        let near = tokio::time::Instant::now() + Duration::from_millis(10);
        assert!(Backoff::default().next_delay(near).unwrap() <= Duration::from_millis(10));
    }

    #[test]
    fn sasl_plain_encodes_nul_separated() {
        let s = sasl_plain("ims1", &crate::secret::Secret::new("p\"w"));
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        assert_eq!(raw, b"\0ims1\0p\"w");
    }

    proptest::proptest! {
        /// Random header bytes are never taken for our token or a leftover.
        #[test]
        fn classify_random_bytes(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let f = Fixture::new();
            let m = classify(&b, &f.owner());
            proptest::prop_assert!(m != Mark::Ours && m != Mark::Leftover);
            let _ = header_section(&b);
        }
    }
}

#[cfg(test)]
mod waiting_tests {
    use super::Waiting;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    fn flag() -> (Arc<AtomicBool>, impl FnOnce() + Send + 'static) {
        let f = Arc::new(AtomicBool::new(false));
        let g = f.clone();
        (f, move || g.store(true, Ordering::SeqCst))
    }

    #[tokio::test]
    async fn releases_after_the_grace_once_the_wait_started() {
        let (fired, f) = flag();
        let w = Waiting::after(Duration::from_millis(300), f);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!fired.load(Ordering::SeqCst), "not waiting yet: kept");
        let t = Instant::now();
        w.started();
        w.started();
        while !fired.load(Ordering::SeqCst) {
            assert!(t.elapsed() < Duration::from_secs(10), "never released");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "released within the grace"
        );
        drop(w);
    }

    #[tokio::test]
    async fn a_retrieval_that_ends_first_releases_at_once() {
        let (fired, f) = flag();
        let w = Waiting::after(Duration::from_secs(60), f);
        w.started();
        drop(w);
        assert!(fired.load(Ordering::SeqCst));
        let (fired, f) = flag();
        drop(Waiting::after(Duration::from_secs(60), f));
        assert!(
            fired.load(Ordering::SeqCst),
            "never waited: released at the end"
        );
    }
}
