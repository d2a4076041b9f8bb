//! The line-oriented connection every text protocol probe speaks through.
//!
//! Rules enforced here so no protocol client can forget them:
//! - every step has a deadline (a whole line, not a byte, must arrive in time:
//!   a server dripping one byte per second still times out);
//! - every read is bounded: a line longer than [`MAX_LINE`] is a protocol
//!   error, and at most `MAX_LINE + 2` bytes are buffered while looking for it;
//! - server text is sanitised before it reaches a message, fact or transcript;
//! - client lines carrying secrets are shown redacted in the transcript.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::tls::{self, TlsInfo};
use crate::result::{ErrorKind, ProbeError};
use crate::suite::model::TlsMode;
use crate::suite::resolve::Endpoint;

/// Longest protocol line accepted (without CRLF).
pub const MAX_LINE: usize = 8192;
/// Transcript lines kept per connection.
pub const MAX_TRANSCRIPT: usize = 200;
/// Longest server text kept in one transcript line, fact or message.
pub const MAX_TEXT: usize = 512;

/// Anything a connection can run over: plain TCP or a TLS stream.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Printable text from untrusted bytes, at most `max` bytes plus a marker.
///
/// Control characters, invalid UTF-8, bidi overrides and XML-invalid
/// noncharacters become `\xNN` / `\u{NNNN}`; `]]>` is broken up so the text
/// can never close a CDATA section in a report.
pub fn sanitize(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let push = |s: &str, out: &mut String| -> bool {
        if out.len() + s.len() > max {
            return false;
        }
        out.push_str(s);
        true
    };
    let mut complete = true;
    'outer: for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let esc;
            let s: &str = if (c as u32) < 0x80 && c.is_control() {
                esc = format!("\\x{:02X}", c as u32);
                &esc
            } else if c.is_control() || is_hostile_unicode(c) {
                esc = format!("\\u{{{:04X}}}", c as u32);
                &esc
            } else if c == '>' && out.ends_with("]]") {
                "\\x3E"
            } else {
                esc = c.to_string();
                &esc
            };
            if !push(s, &mut out) {
                complete = false;
                break 'outer;
            }
        }
        for b in chunk.invalid() {
            if !push(&format!("\\x{b:02X}"), &mut out) {
                complete = false;
                break 'outer;
            }
        }
    }
    if !complete {
        out.push_str("…[truncated]");
    }
    out
}

/// Bidi overrides/isolates, BOM and XML-invalid noncharacters.
fn is_hostile_unicode(c: char) -> bool {
    matches!(c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF | 0xFFFE | 0xFFFF)
}

/// A bounded transcript: the first half of [`MAX_TRANSCRIPT`] lines and the
/// latest half are kept, with one line counting what was dropped between.
/// The start shows the session, the end the step that failed (or the
/// deletions that committed) — a head-only cut would hide exactly that.
#[derive(Debug, Default)]
pub struct Transcript {
    head: Vec<String>,
    tail: std::collections::VecDeque<String>,
    omitted: usize,
}

impl Transcript {
    pub fn push(&mut self, line: String) {
        if self.head.len() < MAX_TRANSCRIPT / 2 {
            self.head.push(line);
            return;
        }
        if self.tail.len() == MAX_TRANSCRIPT - MAX_TRANSCRIPT / 2 {
            self.tail.pop_front();
            self.omitted += 1;
        }
        self.tail.push_back(line);
    }

    /// Everything kept, in order; the transcript is empty afterwards.
    pub fn take(&mut self) -> Vec<String> {
        let mut t = std::mem::take(&mut self.head);
        if self.omitted > 0 {
            t.push(format!("* {} transcript lines omitted", self.omitted));
            self.omitted = 0;
        }
        t.extend(std::mem::take(&mut self.tail));
        t
    }
}

/// How a client command line is shown in a transcript: credentials replaced
/// by `<redacted>` (SMTP/POP3 AUTH, POP3 PASS, IMAP LOGIN/AUTHENTICATE).
pub fn redact_command(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let upper = |i: usize| {
        words
            .get(i)
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let keep = |n: usize| -> String {
        let mut s = words[..n.min(words.len())].join(" ");
        s.push_str(" <redacted>");
        s
    };
    match upper(0).as_str() {
        "PASS" if words.len() > 1 => return keep(1),
        "AUTH" if words.len() > 2 => return keep(2),
        "APOP" if words.len() > 2 => return keep(2),
        _ => {}
    }
    // IMAP: `TAG LOGIN user pass`, `TAG AUTHENTICATE MECH initial-response`.
    match upper(1).as_str() {
        "LOGIN" if words.len() > 3 => keep(3),
        "AUTHENTICATE" if words.len() > 3 => keep(3),
        _ => line.to_string(),
    }
}

/// Ask the kernel to ACK what arrives next at once. Without it, a server's
/// small post-handshake records (TLS 1.3 session tickets) wait for our
/// delayed ACK (40 ms on Linux) and Nagle on the server holds its next reply
/// behind them: a 40 ms artefact in the EHLO-after-STARTTLS timing.
fn quick_ack(fd: Option<std::os::fd::RawFd>) {
    #[cfg(target_os = "linux")]
    if let Some(fd) = fd {
        let one: libc::c_int = 1;
        // SAFETY: fd is the live socket owned by this Conn's stream; the
        // option value is a c_int of the size passed.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// Why no address of a name could be connected to.
enum Failed {
    /// Every attempt still open at the deadline (the addresses tried).
    Timeout(String),
    /// The last refusal, when every address refused.
    Refused(std::net::SocketAddr, std::io::Error),
}

/// Delay before racing the next address (RFC 8305's connection attempt delay).
const NEXT_ADDRESS_AFTER: Duration = Duration::from_millis(250);

/// Happy eyeballs within one deadline: try the addresses in order, starting
/// the next one when the previous refuses or has not answered within
/// [`NEXT_ADDRESS_AFTER`], earlier attempts kept running; the first to
/// connect wins and the others are dropped. A dead first address (SYNs
/// dropped) thus no longer hides a live second one.
async fn connect_any(
    addrs: &[std::net::SocketAddr],
    deadline: Instant,
) -> Result<tokio::net::TcpStream, Failed> {
    let mut racing = tokio::task::JoinSet::new();
    let mut next = addrs.iter().copied();
    let mut tried = Vec::new();
    let mut last_refused = None;
    loop {
        if let Some(a) = next.next() {
            tried.push(a.to_string());
            racing.spawn(async move { (a, tokio::net::TcpStream::connect(a).await) });
        }
        let more = tried.len() < addrs.len();
        let start_next = if more {
            (Instant::now() + NEXT_ADDRESS_AFTER).min(deadline)
        } else {
            deadline
        };
        loop {
            tokio::select! {
                done = racing.join_next(), if !racing.is_empty() => match done {
                    Some(Ok((_, Ok(s)))) => return Ok(s),
                    Some(Ok((a, Err(e)))) => {
                        last_refused = Some((a, e));
                        if racing.is_empty() {
                            if !more {
                                let (a, e) = last_refused.expect("just set");
                                return Err(Failed::Refused(a, e));
                            }
                            break;
                        }
                    }
                    // A connect task cannot panic; treat it as gone.
                    Some(Err(_)) | None => {}
                },
                _ = tokio::time::sleep_until(start_next) => {
                    if Instant::now() >= deadline {
                        if racing.is_empty() {
                            if let Some((a, e)) = last_refused {
                                return Err(Failed::Refused(a, e));
                            }
                        }
                        return Err(Failed::Timeout(tried.join(", ")));
                    }
                    break;
                }
            }
        }
    }
}

/// One probe connection: plain or TLS stream, bounded read buffer, transcript.
pub struct Conn {
    stream: Option<Box<dyn Stream>>,
    buf: Vec<u8>,
    transcript: Transcript,
    bytes_read: u64,
    /// The TCP socket under any TLS layer (for TCP_QUICKACK).
    fd: Option<std::os::fd::RawFd>,
    host: String,
    protocol: &'static str,
    tls: Option<TlsInfo>,
}

impl Conn {
    /// TCP connect (and the TLS handshake when `ep.tls == Implicit`).
    pub async fn connect(
        ep: &Endpoint,
        protocol: &'static str,
        step_timeout: Duration,
    ) -> Result<Conn, ProbeError> {
        let mut c = Conn::connect_tcp(ep, protocol, step_timeout).await?;
        if ep.tls == TlsMode::Implicit {
            c.upgrade_tls(ep, step_timeout).await?;
        }
        Ok(c)
    }

    /// TCP only, even for implicit-TLS endpoints (callers that time the
    /// handshake separately call [`Conn::upgrade_tls`] next).
    pub async fn connect_tcp(
        ep: &Endpoint,
        protocol: &'static str,
        step_timeout: Duration,
    ) -> Result<Conn, ProbeError> {
        let s = tcp_connect(ep, protocol, step_timeout).await?;
        let fd = Some(std::os::fd::AsRawFd::as_raw_fd(&s));
        Ok(Conn {
            stream: Some(Box::new(s)),
            buf: Vec::new(),
            transcript: Transcript::default(),
            bytes_read: 0,
            fd,
            host: ep.host.clone(),
            protocol,
            tls: None,
        })
    }

    /// TLS handshake on the open connection (implicit TLS, or after the
    /// server accepted STARTTLS/STLS). Verification per `ep.tls_options`.
    pub async fn upgrade_tls(
        &mut self,
        ep: &Endpoint,
        step_timeout: Duration,
    ) -> Result<TlsInfo, ProbeError> {
        // Implicit TLS is its own phase; otherwise the handshake follows STARTTLS/STLS.
        let phase = if ep.tls == TlsMode::Implicit {
            "tls"
        } else {
            "starttls"
        };
        if !self.buf.is_empty() {
            // Bytes pipelined before the handshake could be injected by a
            // man in the middle (CVE-2011-0411 class): never act on them.
            return Err(self.err(
                phase,
                ErrorKind::Protocol,
                "server sent data before the TLS handshake",
            ));
        }
        let config = tls::client_config(&ep.tls_options)
            .map_err(|e| self.err(phase, ErrorKind::Local, e))?;
        let name = tls::server_name(ep).map_err(|e| self.err(phase, ErrorKind::Local, e))?;
        let insecure = ep.insecure();
        let plain = self
            .stream
            .take()
            .ok_or_else(|| self.err(phase, ErrorKind::Local, "connection already closed"))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
        let hs = tokio::time::timeout(step_timeout, connector.connect(name, plain)).await;
        let stream = match hs {
            Err(_) => {
                return Err(self.err(
                    phase,
                    ErrorKind::Timeout,
                    format!(
                        "TLS handshake timed out after {} ms",
                        step_timeout.as_millis()
                    ),
                ));
            }
            Ok(Err(e)) => {
                let words = tls::handshake_error(&e);
                return Err(self.err(
                    phase,
                    ErrorKind::Tls,
                    format!("TLS handshake failed: {words}"),
                ));
            }
            Ok(Ok(s)) => s,
        };
        let info = tls::info(stream.get_ref().1, insecure);
        self.note(&format!("TLS {} {}", info.version, info.cipher));
        if insecure {
            self.note("TLS certificate NOT verified (insecure: true)");
        }
        self.stream = Some(Box::new(stream));
        self.tls = Some(info.clone());
        Ok(info)
    }

    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// Bytes received from the server so far (memory-bound checks, metrics).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// One line without CRLF, at most [`MAX_LINE`] bytes, within `step_timeout`.
    pub async fn read_line(
        &mut self,
        phase: &str,
        step_timeout: Duration,
    ) -> Result<Vec<u8>, ProbeError> {
        self.read_line_until(phase, Instant::now() + step_timeout)
            .await
    }

    /// [`Conn::read_line`] with an absolute deadline (a multi-line reply
    /// shares one deadline for all its lines).
    pub async fn read_line_until(
        &mut self,
        phase: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>, ProbeError> {
        let started = Instant::now();
        match tokio::time::timeout_at(deadline, self.read_line_inner(phase)).await {
            Ok(r) => r,
            Err(_) => Err(self.timeout_err(phase, started, "waiting for a line")),
        }
    }

    async fn read_line_inner(&mut self, phase: &str) -> Result<Vec<u8>, ProbeError> {
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > MAX_LINE {
                    return Err(self.too_long(phase));
                }
                self.log("S: ", &line);
                return Ok(line);
            }
            scanned = self.buf.len();
            // Room for MAX_LINE bytes plus CRLF, never more.
            let room = (MAX_LINE + 2).saturating_sub(self.buf.len());
            if room == 0 {
                return Err(self.too_long(phase));
            }
            self.fill(phase, room.min(4096)).await?;
        }
    }

    /// Read up to `max` more bytes into the buffer; EOF is a protocol error.
    async fn fill(&mut self, phase: &str, max: usize) -> Result<(), ProbeError> {
        let mut chunk = [0u8; 4096];
        let max = max.min(chunk.len());
        let Some(stream) = self.stream.as_mut() else {
            return Err(self.err(phase, ErrorKind::Protocol, "connection closed"));
        };
        // Only while the stream (and so the fd) is alive.
        quick_ack(self.fd);
        match stream.read(&mut chunk[..max]).await {
            Ok(0) => {
                let msg = if self.buf.is_empty() {
                    "connection closed by server".to_string()
                } else {
                    format!(
                        "connection closed by server mid-line after {:?}",
                        sanitize(&self.buf, 80)
                    )
                };
                self.stream = None;
                Err(self.err(phase, ErrorKind::Protocol, msg))
            }
            Ok(n) => {
                self.bytes_read += n as u64;
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(self.err(phase, ErrorKind::Protocol, format!("read failed: {e}"))),
        }
    }

    /// Read exactly `n` bytes (IMAP literals); the caller caps `n`.
    pub async fn read_exact(
        &mut self,
        phase: &str,
        n: usize,
        step_timeout: Duration,
    ) -> Result<Vec<u8>, ProbeError> {
        let started = Instant::now();
        let fut = async {
            while self.buf.len() < n {
                let want = n - self.buf.len();
                self.fill(phase, want).await?;
            }
            Ok::<_, ProbeError>(self.buf.drain(..n).collect::<Vec<u8>>())
        };
        match tokio::time::timeout(step_timeout, fut).await {
            Ok(Ok(v)) => {
                self.push_transcript(format!("S: <{n} bytes>"));
                Ok(v)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.timeout_err(phase, started, &format!("reading {n} bytes"))),
        }
    }

    /// Send `line` + CRLF. The transcript shows it through [`redact_command`].
    pub async fn send_line(
        &mut self,
        phase: &str,
        line: &str,
        step_timeout: Duration,
    ) -> Result<(), ProbeError> {
        let shown = redact_command(line);
        self.send_secret_line(phase, line, &shown, step_timeout)
            .await
    }

    /// Send a line holding a secret; the transcript shows `shown` instead.
    pub async fn send_secret_line(
        &mut self,
        phase: &str,
        line: &str,
        shown: &str,
        step_timeout: Duration,
    ) -> Result<(), ProbeError> {
        self.send_secret_line_until(phase, line, shown, Instant::now() + step_timeout)
            .await
    }

    /// [`Conn::send_secret_line`] with an absolute deadline.
    pub async fn send_secret_line_until(
        &mut self,
        phase: &str,
        line: &str,
        shown: &str,
        deadline: Instant,
    ) -> Result<(), ProbeError> {
        if line.contains(['\r', '\n']) {
            return Err(self.err(
                phase,
                ErrorKind::Local,
                "refusing to send a command containing CR/LF",
            ));
        }
        self.push_transcript(format!("C: {}", sanitize(shown.as_bytes(), MAX_TEXT)));
        let mut data = Vec::with_capacity(line.len() + 2);
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
        self.write_until(phase, &data, deadline).await
    }

    /// Raw bytes (message DATA); the transcript shows `C: <n bytes>`.
    pub async fn send_raw(
        &mut self,
        phase: &str,
        data: &[u8],
        step_timeout: Duration,
    ) -> Result<(), ProbeError> {
        self.send_raw_until(phase, data, Instant::now() + step_timeout)
            .await
    }

    /// [`Conn::send_raw`] with an absolute deadline.
    pub async fn send_raw_until(
        &mut self,
        phase: &str,
        data: &[u8],
        deadline: Instant,
    ) -> Result<(), ProbeError> {
        self.push_transcript(format!("C: <{} bytes>", data.len()));
        self.write_until(phase, data, deadline).await
    }

    async fn write_until(
        &mut self,
        phase: &str,
        data: &[u8],
        deadline: Instant,
    ) -> Result<(), ProbeError> {
        let started = Instant::now();
        let Some(stream) = self.stream.as_mut() else {
            return Err(self.err(phase, ErrorKind::Protocol, "connection closed"));
        };
        let fut = async {
            stream.write_all(data).await?;
            stream.flush().await
        };
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.err(phase, ErrorKind::Protocol, format!("write failed: {e}"))),
            Err(_) => Err(self.timeout_err(phase, started, "sending")),
        }
    }

    /// A `ProbeError` naming this connection's host and protocol.
    pub fn err(&self, phase: &str, kind: ErrorKind, msg: impl Into<String>) -> ProbeError {
        let msg: String = msg.into();
        ProbeError {
            phase: phase.into(),
            kind,
            message: sanitize(msg.as_bytes(), 2 * MAX_TEXT),
            host: Some(self.host.clone()),
            protocol: Some(self.protocol.into()),
        }
    }

    fn timeout_err(&self, phase: &str, started: Instant, what: &str) -> ProbeError {
        let mut msg = format!(
            "timed out after {} ms {what}",
            started.elapsed().as_millis()
        );
        if !self.buf.is_empty() {
            msg.push_str(&format!(" (partial: {:?})", sanitize(&self.buf, 80)));
        }
        self.err(phase, ErrorKind::Timeout, msg)
    }

    fn too_long(&self, phase: &str) -> ProbeError {
        self.err(
            phase,
            ErrorKind::Protocol,
            format!("line longer than {MAX_LINE} bytes"),
        )
    }

    /// A `* ` note in the transcript (TLS facts, skipped steps).
    pub fn note(&mut self, text: &str) {
        self.push_transcript(format!("* {text}"));
    }

    fn log(&mut self, prefix: &str, bytes: &[u8]) {
        let line = format!("{prefix}{}", sanitize(bytes, MAX_TEXT));
        self.transcript.push(line);
    }

    fn push_transcript(&mut self, line: String) {
        self.transcript.push(line);
    }

    /// The transcript so far (bounded, see [`Transcript`]).
    pub fn take_transcript(&mut self) -> Vec<String> {
        self.transcript.take()
    }

    /// Close politely (TLS close_notify); errors are irrelevant by now.
    pub async fn shutdown(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), s.shutdown()).await;
        }
    }
}

/// Resolve `ep` and connect to the first address that answers, within
/// `step_timeout` in all; Nagle off (small command/reply exchanges: it
/// would add delay to timings). Errors are `connect` errors of `protocol`.
pub async fn tcp_connect(
    ep: &Endpoint,
    protocol: &'static str,
    step_timeout: Duration,
) -> Result<tokio::net::TcpStream, ProbeError> {
    let err = |kind, msg: String| ProbeError {
        phase: "connect".into(),
        kind,
        message: msg,
        host: Some(ep.host.clone()),
        protocol: Some(protocol.into()),
    };
    let deadline = Instant::now() + step_timeout;
    let addr = ep.addr();
    let addrs: Vec<_> =
        match tokio::time::timeout_at(deadline, tokio::net::lookup_host(&addr)).await {
            // A resolver that does not answer is a resolution failure
            // (isolation tells the monitor's resolver from the site).
            Err(_) => {
                return Err(err(
                    ErrorKind::Resolve,
                    format!("resolving {addr} timed out"),
                ));
            }
            Ok(Err(e)) => {
                return Err(err(
                    ErrorKind::Resolve,
                    format!("cannot resolve {addr}: {e}"),
                ));
            }
            Ok(Ok(a)) => a.collect(),
        };
    if addrs.is_empty() {
        return Err(err(
            ErrorKind::Resolve,
            format!("{addr} resolved to no address"),
        ));
    }
    match connect_any(&addrs, deadline).await {
        Err(Failed::Timeout(tried)) => Err(err(
            ErrorKind::Timeout,
            format!(
                "connect to {tried} timed out after {} ms",
                step_timeout.as_millis()
            ),
        )),
        Err(Failed::Refused(a, e)) => Err(err(ErrorKind::Refused, format!("connect to {a}: {e}"))),
        Ok(s) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback address whose SYNs are dropped: a listener with a backlog
    /// of 0 whose accept queue is already full (never accepted), so a new
    /// connect hangs like one to a dead host. The fds stay open for the test.
    fn black_hole() -> (
        std::net::SocketAddr,
        Vec<std::net::TcpStream>,
        std::net::TcpListener,
    ) {
        use std::os::fd::AsRawFd;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: a valid listening socket; listen() only changes its backlog.
        assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
        let a = l.local_addr().unwrap();
        let mut held = vec![];
        for _ in 0..4 {
            match std::net::TcpStream::connect_timeout(&a, Duration::from_millis(200)) {
                Ok(s) => held.push(s),
                Err(_) => break,
            }
        }
        // It really is a black hole (a refusal would make the tests below vacuous).
        let probe = std::net::TcpStream::connect_timeout(&a, Duration::from_millis(300));
        assert!(
            matches!(&probe, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
            "{probe:?}"
        );
        (a, held, l)
    }

    #[tokio::test]
    async fn a_dead_first_address_does_not_hide_a_live_second_one() {
        let (dead, _held, _l) = black_hole();
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        let t0 = Instant::now();
        let s = connect_any(&[dead, live_addr], t0 + Duration::from_secs(3))
            .await
            .unwrap_or_else(|_| panic!("the live address was not tried"));
        assert_eq!(s.peer_addr().unwrap(), live_addr);
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn a_refusing_first_address_moves_on_at_once_and_all_dead_times_out() {
        let refusing = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        let t0 = Instant::now();
        assert!(
            connect_any(&[refusing, live_addr], t0 + Duration::from_secs(3))
                .await
                .is_ok()
        );
        assert!(t0.elapsed() < NEXT_ADDRESS_AFTER, "{:?}", t0.elapsed());
        match connect_any(&[refusing], Instant::now() + Duration::from_secs(3)).await {
            Err(Failed::Refused(a, _)) => assert_eq!(a, refusing),
            _ => panic!("a refusal is reported as one"),
        }
        let (dead, _held, _l) = black_hole();
        let t0 = Instant::now();
        match connect_any(&[dead, dead], t0 + Duration::from_millis(600)).await {
            Err(Failed::Timeout(tried)) => assert!(tried.contains(&dead.to_string())),
            _ => panic!("a black hole must time out"),
        }
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(600) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[test]
    fn sanitize_escapes_controls_and_invalid_utf8() {
        assert_eq!(sanitize(b"220 ok\x00\x1b[31m", 100), "220 ok\\x00\\x1B[31m");
        assert_eq!(sanitize(b"a\xffb", 100), "a\\xFFb");
        assert_eq!(sanitize("gr\u{fc}\u{df}e".as_bytes(), 100), "grüße");
        assert_eq!(sanitize(b"x]]>y", 100), "x]]\\x3Ey");
        assert_eq!(sanitize("a\u{202e}b".as_bytes(), 100), "a\\u{202E}b");
        assert_eq!(sanitize("\u{85}".as_bytes(), 100), "\\u{0085}");
    }

    #[test]
    fn sanitize_bounds_length() {
        let s = sanitize(&[b'a'; 10_000], 100);
        assert!(s.starts_with(&"a".repeat(100)));
        assert!(s.ends_with("[truncated]"));
        assert!(s.len() < 120);
        // An escape is never cut in half.
        let s = sanitize(&[0u8; 50], 10);
        assert_eq!(s, "\\x00\\x00…[truncated]");
    }

    #[test]
    fn redaction_hides_credentials() {
        let cases = [
            ("AUTH PLAIN AGltczEAc2VjcmV0", "AUTH PLAIN <redacted>"),
            ("auth login aW1zMQ==", "auth login <redacted>"),
            ("AUTH LOGIN", "AUTH LOGIN"),
            ("PASS hunter2", "PASS <redacted>"),
            ("PASS two words", "PASS <redacted>"),
            ("a1 LOGIN ims1 hunter2", "a1 LOGIN ims1 <redacted>"),
            ("a1 login ims1 \"hunt er2\"", "a1 login ims1 <redacted>"),
            (
                "a2 AUTHENTICATE PLAIN AGltczE=",
                "a2 AUTHENTICATE PLAIN <redacted>",
            ),
            (
                "APOP ims1 c4c9334bac560ecc979e58001b3e22fb",
                "APOP ims1 <redacted>",
            ),
            ("MAIL FROM:<a@b>", "MAIL FROM:<a@b>"),
            ("USER ims1", "USER ims1"),
        ];
        for (line, shown) in cases {
            assert_eq!(redact_command(line), shown, "{line}");
        }
    }

    proptest::proptest! {
        #[test]
        fn sanitize_output_is_always_safe(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600), max in 1usize..300) {
            let s = sanitize(&bytes, max);
            proptest::prop_assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
            proptest::prop_assert!(!s.contains("]]>"));
            proptest::prop_assert!(s.len() <= max + "…[truncated]".len());
        }

        #[test]
        fn redaction_never_shows_the_last_word(user in "[a-z0-9]{1,12}", pw in "[!-~]{1,40}") {
            let cases = [
                (format!("PASS {pw}"), "PASS <redacted>".to_string()),
                (format!("AUTH PLAIN {pw}"), "AUTH PLAIN <redacted>".to_string()),
                (format!("a1 LOGIN {user} {pw}"), format!("a1 LOGIN {user} <redacted>")),
            ];
            for (line, shown) in cases {
                proptest::prop_assert_eq!(redact_command(&line), shown);
            }
        }
    }
}

#[cfg(test)]
mod transcript_tests {
    use super::{MAX_TRANSCRIPT, Transcript};

    #[test]
    fn keeps_the_start_and_the_end() {
        let mut t = Transcript::default();
        for i in 0..1000 {
            t.push(format!("line {i}"));
        }
        let v = t.take();
        assert_eq!(v.len(), MAX_TRANSCRIPT + 1);
        assert_eq!(v[0], "line 0");
        assert_eq!(v[MAX_TRANSCRIPT / 2], "* 800 transcript lines omitted");
        assert_eq!(v.last().map(String::as_str), Some("line 999"));
        assert!(t.take().is_empty());
        // Short transcripts are kept whole, no marker.
        t.push("a".into());
        assert_eq!(t.take(), vec!["a".to_string()]);
    }
}
