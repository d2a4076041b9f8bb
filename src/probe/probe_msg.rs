//! What POP3 and IMAP retrieval share: recognising our probe messages by
//! their `X-Healthmon-Probe: TOKEN CASEID` header, the polling backoff, and
//! small timing helpers.
//!
//! Ownership is decided on the parsed header section only, never by substring
//! (IMAP `SEARCH HEADER` is a substring match, POP3 has no search at all): a
//! message is deleted only when its header names our token, or our exact case
//! id with another token (a leftover of an earlier run of the same case).

use std::time::{Duration, Instant};

use super::tls::TlsInfo;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::suite::resolve::Endpoint;

/// Header that marks probe messages (value: `TOKEN CASEID`).
pub const PROBE_HEADER: &str = "X-Healthmon-Probe";

/// What `pop3::retrieve` and `imap::retrieve` need (see the probe API).
pub struct RetrieveRequest<'a> {
    pub ep: &'a Endpoint,
    pub login: &'a str,
    pub password: &'a crate::secret::Secret,
    /// Unique probe token (Message-ID `<TOKEN@healthmon.invalid>`, header
    /// `X-Healthmon-Probe: TOKEN CASEID`).
    pub token: &'a str,
    /// Leftover probes of this case id (another token) are reaped.
    pub case_id: &'a str,
    pub step_timeout: Duration,
    pub arrival_deadline: tokio::time::Instant,
    /// RETR/FETCH size cap.
    pub max_message_bytes: usize,
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
    /// Same case id, another token: left behind by an earlier run; reap it.
    Leftover,
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
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = &line[..colon];
            if name
                .trim_ascii()
                .eq_ignore_ascii_case(PROBE_HEADER.as_bytes())
            {
                cur = Some(line[colon + 1..].to_vec());
            }
        }
    }
    if let Some(v) = cur
        && let Ok(s) = String::from_utf8(v)
    {
        out.push(s.trim().to_string());
    }
    out
}

/// Classify a message from its header section.
pub fn classify(headers: &[u8], token: &str, case_id: &str) -> Mark {
    let mut mark = Mark::Other;
    for v in probe_header_values(headers) {
        let mut it = v.split_whitespace();
        let (Some(t), cid) = (it.next(), it.next()) else {
            continue;
        };
        // Extra words after the case id mean it is not a header we wrote.
        if it.next().is_some() {
            continue;
        }
        if t == token {
            return Mark::Ours;
        }
        if cid == Some(case_id) && crate::token::is_token(t) {
            mark = Mark::Leftover;
        }
    }
    mark
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

    const TOK: &str = "hm0123456789abcdef0123456789abcdef";
    const OLD: &str = "hmffffffffffffffffffffffffffffffff";
    const CASE: &str = "rndtrip/ims1/mta1/mmp1/pop3";

    fn msg(h: &str) -> Vec<u8> {
        format!("From: a@b\r\n{h}\r\nSubject: x\r\n\r\nX-Healthmon-Probe: {TOK} {CASE}\r\n")
            .into_bytes()
    }

    #[test]
    fn ours_leftover_other() {
        assert_eq!(
            classify(&msg(&format!("X-Healthmon-Probe: {TOK} {CASE}")), TOK, CASE),
            Mark::Ours
        );
        assert_eq!(
            classify(&msg(&format!("x-healthmon-probe:{OLD} {CASE}")), TOK, CASE),
            Mark::Leftover
        );
        // Case id is compared exactly: a longer id that contains ours is not ours.
        assert_eq!(
            classify(
                &msg(&format!("X-Healthmon-Probe: {OLD} {CASE}s")),
                TOK,
                CASE
            ),
            Mark::Other
        );
        assert_eq!(
            classify(
                &msg(&format!("X-Healthmon-Probe: {OLD} x{CASE}")),
                TOK,
                CASE
            ),
            Mark::Other
        );
        // A token prefix is not our token.
        assert_eq!(
            classify(&msg(&format!("X-Healthmon-Probe: {TOK}0 other")), TOK, CASE),
            Mark::Other
        );
        // Something that is not a token is never reaped.
        assert_eq!(
            classify(&msg(&format!("X-Healthmon-Probe: hello {CASE}")), TOK, CASE),
            Mark::Other
        );
        assert_eq!(
            classify(
                &msg(&format!("X-Healthmon-Probe: {OLD} {CASE} extra")),
                TOK,
                CASE
            ),
            Mark::Other
        );
    }

    #[test]
    fn body_mentions_do_not_count() {
        // The only probe header is in the body (after the empty line).
        assert_eq!(classify(&msg("X-Other: 1"), TOK, CASE), Mark::Other);
        let lf = format!("A: b\n\nX-Healthmon-Probe: {TOK} {CASE}\n");
        assert_eq!(classify(lf.as_bytes(), TOK, CASE), Mark::Other);
    }

    #[test]
    fn folded_and_lf_only_headers() {
        let h = format!("Subject: x\nX-Healthmon-Probe:\n\t{TOK}\n  {CASE}\n\nbody");
        assert_eq!(classify(h.as_bytes(), TOK, CASE), Mark::Ours);
        assert_eq!(
            probe_header_values(h.as_bytes()),
            vec![format!("{TOK}   {CASE}")]
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
        for g in [
            &b"\xff\xfe:\x00"[..],
            b":",
            b"\n\n\n",
            b"X-Healthmon-Probe",
            b"\r",
        ] {
            assert_eq!(classify(g, TOK, CASE), Mark::Other);
        }
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
        /// Random header bytes are never taken for our token.
        #[test]
        fn classify_random_bytes(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            proptest::prop_assert_ne!(classify(&b, TOK, CASE), Mark::Ours);
            let _ = header_section(&b);
        }
    }
}
